package store

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signoff-app/signoff/approvals"
)

// FromPool wraps a pool its test configured (a tracer, a size) as a DB.
func FromPool(pool *pgxpool.Pool) *DB { return &DB{pool: pool} }

// MarkOutboxSQL is MarkOutboxBatch's statement, whose plan a test checks.
const MarkOutboxSQL = markOutboxSQL

// Hold holds sql back in tx, as the audit entry and the outbox rows are.
func Hold(t approvals.Tx, sql string) { t.(*tx).tx.hold(sql, nil) }

package store

import "github.com/jackc/pgx/v5/pgxpool"

// FromPool wraps a pool its test configured (a tracer, a size) as a DB.
func FromPool(pool *pgxpool.Pool) *DB { return &DB{pool: pool} }

// MarkOutboxSQL is MarkOutboxBatch's statement, whose plan a test checks.
const MarkOutboxSQL = markOutboxSQL

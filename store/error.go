package store

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signoff-app/signoff/approvals"
)

// SQLSTATEs raised by the schema's triggers (class "SO", for Signoff). The
// approver invariants are the core's to check, with its own words; a trigger
// that catches a breach has found a bug, reported as an internal error.
const (
	codeApproverRule    = "SO001" // an approver without access, or with the wrong role for the tier
	codeTierNeedsOne    = "SO002" // an account needs a tier's approval but would have no approver in it
	codeAuditAppendOnly = "SO003" // an UPDATE, DELETE or TRUNCATE on the audit log
)

// Standard SQLSTATEs this package maps.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeCheckViolation       = "23514"
	codeNotNullViolation     = "23502"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeTooManyConnections   = "53300"
)

// violations gives, for the statement at hand, the error that breaking a
// named constraint means, with a message that names the thing (the caller
// knows the email, handle or slug; the database error does not say it).
type violations map[string]approvals.Error

// dbError converts any error from pgx into an *approvals.Error, keeping the
// cause in Err. It decides on SQLSTATE codes and constraint names, never on
// message text. An *approvals.Error passes through unchanged.
func dbError(err error, v violations) error {
	if err == nil {
		return nil
	}
	var ae *approvals.Error
	if errors.As(err, &ae) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if tmpl, ok := v[pgErr.ConstraintName]; ok && pgErr.ConstraintName != "" {
			tmpl.Err = err
			return &tmpl
		}
		return pgError(pgErr, err)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &approvals.Error{Code: approvals.ENOTFOUND, Message: "not found", Err: err}
	}
	return connError(err)
}

// pgError maps a server error with no caller-specific meaning.
func pgError(pgErr *pgconn.PgError, err error) error {
	e := &approvals.Error{Code: approvals.EINTERNAL, Message: "internal error", Err: err}
	switch code := pgErr.Code; {
	case code == codeApproverRule, code == codeTierNeedsOne:
		// Left EINTERNAL: the core checks these first.
	case code == codeAuditAppendOnly:
		e.Code, e.Message = approvals.EINVALID, pgErr.Message
	case code == codeUniqueViolation && pgErr.ConstraintName == "slack_deliveries_pkey":
		// Only RecordDelivery inserts without ON CONFLICT: its request was
		// acted on before.
		e.Code, e.Reason, e.Message = approvals.ECONFLICT, approvals.ReasonDelivered, "this request was acted on already"
	case code == codeUniqueViolation:
		e.Code, e.Message = approvals.ECONFLICT, uniqueMessage(pgErr.ConstraintName)
	case code == codeForeignKeyViolation && pgErr.ConstraintName == "drafts_current_revision_fkey":
		// Checked at commit: the caller set a draft's revision and never
		// stored that revision. A bug, not something a user can fix.
	case code == codeForeignKeyViolation:
		// An insert or update naming something that does not exist (or lives
		// in another workspace). Deletes of referenced rows have their own
		// entry in the caller's violations.
		e.Code, e.Message = approvals.ENOTFOUND, foreignKeyMessage(pgErr.ConstraintName)
	case code == codeCheckViolation:
		e.Code, e.Message = approvals.EINVALID, checkMessage(pgErr.ConstraintName)
	case code == codeNotNullViolation:
		e.Code, e.Message = approvals.EINVALID, "missing "+pgErr.ColumnName
	case strings.HasPrefix(code, "22"): // data exception: bad value, too long, out of range
		e.Code, e.Message = approvals.EINVALID, "invalid value"
	case code == codeSerializationFailure, code == codeDeadlockDetected:
		e.Code, e.Message = approvals.ECONFLICT, "the change collided with a concurrent one; try again"
	case strings.HasPrefix(code, "08"), // connection exception
		code == codeTooManyConnections,
		code == "57P01", code == "57P02", code == "57P03": // shutting down, crashed, starting up
		e.Code, e.Message = approvals.EUNAVAILABLE, unavailable
	}
	return e
}

const unavailable = "the database is unavailable; try again shortly"

// connError maps an error that is not from the server's SQL: the pool, the
// network or the context.
func connError(err error) error {
	var ae *approvals.Error
	if errors.As(err, &ae) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server answered a connection attempt with an error (too many
		// connections, starting up, bad password).
		return pgError(pgErr, err)
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		// The caller gave up; nobody is waiting for a message.
		return &approvals.Error{Code: approvals.EINTERNAL, Message: "request canceled", Err: err}
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return &approvals.Error{Code: approvals.EUNAVAILABLE, Message: unavailable, Err: err}
	}
	return &approvals.Error{Code: approvals.EINTERNAL, Message: "internal error", Err: err}
}

// notFound returns an ENOTFOUND error with a message naming what was looked for.
func notFound(err error, format string, args ...any) error {
	e := approvals.Errorf(approvals.ENOTFOUND, format, args...)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return dbError(err, nil)
	}
	e.Err = err
	return e
}

// uniqueMessage is the fallback message for a unique violation when the
// caller gave none for the constraint.
func uniqueMessage(constraint string) string {
	switch constraint {
	case "workspaces_slug_key":
		return "this workspace slug is taken"
	case "workspaces_slack_team_key":
		return "this Slack team is already bound to a workspace"
	case "members_email_key":
		return "this email is already a member of this workspace"
	case "members_slack_user_key":
		return "this Slack user is already linked to a member of this workspace"
	case "groups_name_key":
		return "a group with this name already exists in this workspace"
	case "accounts_handle_key":
		return "an account with this handle already exists in this workspace"
	case "decisions_once_key":
		return "this approver already decided this revision in this tier"
	}
	return "this already exists"
}

// foreignKeyMessage is the fallback message for a reference to a missing row.
func foreignKeyMessage(constraint string) string {
	switch {
	case strings.Contains(constraint, "_account_fkey"):
		return "no such account in this workspace"
	case strings.Contains(constraint, "_member_fkey"), strings.Contains(constraint, "_author_fkey"),
		strings.Contains(constraint, "_approver_fkey"), strings.Contains(constraint, "_created_by_fkey"):
		return "no such member in this workspace"
	case strings.Contains(constraint, "_group_fkey"):
		return "no such group in this workspace"
	case strings.Contains(constraint, "_draft_fkey"):
		return "no such draft in this workspace"
	case strings.Contains(constraint, "revision_fkey"):
		return "no such revision of this draft"
	case strings.Contains(constraint, "workspace"):
		return "no such workspace"
	}
	return "something it refers to does not exist"
}

// checkMessage says in words what a check constraint requires.
func checkMessage(constraint string) string {
	switch constraint {
	case "workspaces_slug_format":
		return "a workspace slug is 1 to 63 lowercase letters, digits and dashes, starting with a letter or digit"
	case "workspaces_name_check", "accounts_name_check", "groups_name_check":
		return "a name must not be blank"
	case "members_email_format":
		return "an email address must look like name@example.com"
	case "members_role_check":
		return "a role is owner, admin, editor or client"
	case "accounts_handle_format":
		return "an account handle is 1 to 63 lowercase letters, digits, dots, dashes and underscores, starting with a letter or digit"
	case "accounts_internal_rule_check", "accounts_client_rule_check",
		"revisions_internal_rule_check", "revisions_client_rule_check":
		return "a rule is any or all"
	case "accounts_network_check":
		names := make([]string, 0, len(approvals.Networks()))
		for _, n := range approvals.Networks() {
			names = append(names, string(n))
		}
		return "a network is one of " + strings.Join(names, ", ")
	case "accounts_remind_after_check":
		return "a reminder interval must not be negative"
	case "accounts_remind_max_check":
		return "the number of reminders is 0 to 100"
	case "accounts_deadline_policy_check":
		return "a deadline policy is none, expire, auto-approve or escalate"
	case "accounts_deadline_margin_check":
		return "a deadline margin must not be negative"
	case "accounts_decide_within_check":
		return "decide-within must be positive"
	case "accounts_escalate_backup_check":
		return "the deadline policy escalate needs a backup approver; change the account's policy or backup approver first"
	case "decisions_policy_check":
		return "only a deadline policy decides without an approver, and only to approve"
	case "grants_caps_check":
		return "capabilities are view, comment, create and manage"
	case "grants_grantee_check":
		return "a grant goes to a member or to a group, not both"
	case "approvers_tier_check", "decisions_tier_check":
		return "a tier is internal or client"
	case "drafts_state_check":
		return "unknown draft state"
	case "drafts_revision_check", "revisions_number_check":
		return "revision numbers start at 1"
	case "revisions_text_check":
		return "a post's text must not be blank and is at most 10,000 characters"
	case "decisions_verdict_check":
		return "a verdict is approve or reject"
	case "decisions_reject_comment_check":
		return "a reject needs a comment saying what to change"
	case "decisions_comment_length_check":
		return "a comment is at most 4,000 characters"
	case "comments_author_check":
		return "only the system may comment without an author"
	case "comments_text_check":
		return "a comment must not be blank and is at most 4,000 characters"
	case "decisions_channel_check", "comments_channel_check":
		return "unknown channel"
	case "audit_log_outcome_check":
		return "an audit outcome is ok or refused"
	case "outbox_state_check":
		return "an outbox state is pending, sent or dead"
	}
	return "invalid value (" + constraint + ")"
}

// collect scans every row with scan (which takes a pgx.Row, so one scanner
// serves QueryRow and Query) and closes rows. It returns nil for no rows.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbError(err, nil)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, nil)
	}
	return out, nil
}

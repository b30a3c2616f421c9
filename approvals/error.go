package approvals

import (
	"errors"
	"fmt"
)

// Error codes. Every adapter maps them to its own medium (exit status, HTTP
// status, an ephemeral Slack message); the core never speaks in those terms.
const (
	ECONFLICT     = "conflict"     // the action collides with the current state
	EINTERNAL     = "internal"     // a bug or an outage; the message is not for users
	EINVALID      = "invalid"      // the input is malformed or breaks a rule
	ENOTFOUND     = "not_found"    // the thing does not exist (or may not be seen)
	EUNAUTHORIZED = "unauthorized" // the actor may not do this
	EUNAVAILABLE  = "unavailable"  // a dependency (the database) is down; try again
)

// Reasons refine a code (mostly ECONFLICT) for channels that show a
// different page per case.
const (
	ReasonRevised   = "revised"   // the decision targets an older revision
	ReasonDecided   = "decided"   // the tier or the draft was already decided
	ReasonWithdrawn = "withdrawn" // the draft was withdrawn
	ReasonExpired   = "expired"   // the draft or the request expired
	// ReasonDeactivated refines EUNAUTHORIZED: the member acting (often by
	// an emailed link) was deactivated, so the link is no longer valid.
	ReasonDeactivated = "deactivated"
	// ReasonKeyReused refines EINVALID: an idempotency key came back with
	// another request than the one it was first used with.
	ReasonKeyReused = "key_reused"
	// ReasonDelivered refines ECONFLICT: the request that carried a
	// decision (a Slack delivery, see DecideInput.Delivery) was acted on
	// before, so this one changed nothing and needs no answer.
	ReasonDelivered = "delivered"
)

// Error is the one error type the core returns for anything a user can act on.
type Error struct {
	Code    string
	Message string
	// Reason refines Code (see the Reason constants); empty when there is none.
	Reason string
	// Revision is the draft's current revision when Reason is ReasonRevised,
	// or 0 when the actor may not see it yet.
	Revision int
	// Decision is the decision that settled the matter when Reason is
	// ReasonDecided, so channels can say who decided, when and how.
	Decision *Decision
	// Err is the underlying cause, for logs; never shown to users.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the *Error's message,
// or a generic one for internal errors (their text may hold secrets).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorReason returns the Reason of the first *Error in err's chain.
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

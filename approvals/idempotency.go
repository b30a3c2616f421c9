package approvals

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Idempotent submissions: an API client that retries a submission (after a
// timeout, a dropped connection) sends the same Idempotency-Key, and gets
// the first answer again instead of a second draft. The key, a hash of the
// request and the answer are written in the submission's transaction, so a
// submission is never recorded without its key or the key without it.

// IdempotencyTTL is how long a key answers for; after it the key is free
// again and its row may be pruned.
const IdempotencyTTL = 24 * time.Hour

// MaxIdempotencyKeyLen is the longest key accepted, in bytes.
const MaxIdempotencyKeyLen = 255

// IdempotencyKey names one submission of an API token: the key the client
// chose and the SHA-256 of the request it sent with it.
type IdempotencyKey struct {
	Key         string
	RequestHash []byte
}

// IdempotencyRecord is a stored key: which token sent it, with what
// request, the draft the submission made and the answer it got (a Handoff,
// as JSON). DraftID and Response are empty until the submission is made,
// which is in the transaction that claimed the key.
type IdempotencyRecord struct {
	TokenID     int64
	Key         string
	RequestHash []byte
	DraftID     int64
	Response    []byte
	CreatedAt   time.Time
}

// IdempotencyTx is the persistence of idempotency keys; Tx embeds it.
type IdempotencyTx interface {
	// ClaimIdempotencyKey inserts r unless the token has the key already
	// from after since (an older row is replaced), and returns nil when it
	// claimed the key or the row that holds it. A claim of a key another
	// transaction claimed waits for that transaction to end.
	ClaimIdempotencyKey(ctx context.Context, r *IdempotencyRecord, since time.Time) (*IdempotencyRecord, error)
	// SaveIdempotencyKey records r's draft and response on the key it claimed.
	SaveIdempotencyKey(ctx context.Context, r *IdempotencyRecord) error
}

// Submission is the answer to SubmitOnce: the draft as the API shows it,
// with the submission's notes, and whether it is the answer to an earlier
// call with the same key.
type Submission struct {
	Draft    *Handoff
	Replayed bool
}

// SubmitOnce is Submit for an API token with an idempotency key: the first
// call with a key submits and records its answer; a later call of the same
// token with the same key and request, within IdempotencyTTL, submits
// nothing and gets that answer again (Replayed), even while the first call
// is still running. Keys are per token.
// Errors: those of Submit; EINVALID with ReasonKeyReused when the key came
// with another request, EINVALID for a malformed key, EUNAUTHORIZED without
// a member's API token.
func (s *Service) SubmitOnce(ctx context.Context, a Actor, in DraftInput, key IdempotencyKey) (*Submission, error) {
	k := &keyedSubmission{IdempotencyKey: key}
	if _, err := s.submit(ctx, a, in, k); err != nil {
		return nil, err
	}
	return &Submission{Draft: k.answer, Replayed: k.replayed}, nil
}

// keyedSubmission carries an idempotency key through submit; a nil one
// does nothing.
type keyedSubmission struct {
	IdempotencyKey
	answer   *Handoff
	replayed bool
}

func validIdempotencyKey(k string) error {
	if k == "" || len(k) > MaxIdempotencyKeyLen {
		return Errorf(EINVALID, "an idempotency key is 1 to %d characters", MaxIdempotencyKeyLen)
	}
	for _, c := range []byte(k) {
		if c < 0x21 || c > 0x7e {
			return Errorf(EINVALID, "an idempotency key is printable ASCII without spaces (a UUID, say)")
		}
	}
	return nil
}

// claim claims the key for this submission, or, when an earlier one holds
// it, loads that submission's answer and reports true: submit then does
// nothing more.
func (k *keyedSubmission) claim(ctx context.Context, s *Service, tx Tx, p *principal, e *AuditEntry) (bool, error) {
	if k == nil {
		return false, nil
	}
	if p.token == nil {
		return false, Errorf(EUNAUTHORIZED, "idempotency keys are for API tokens")
	}
	if err := validIdempotencyKey(k.Key); err != nil {
		return false, err
	}
	if len(k.RequestHash) != 32 {
		return false, Errorf(EINTERNAL, "idempotency request hash is %d bytes, not 32", len(k.RequestHash))
	}
	now := s.now()
	prev, err := tx.ClaimIdempotencyKey(ctx, &IdempotencyRecord{TokenID: p.token.ID, Key: k.Key, RequestHash: k.RequestHash, CreatedAt: now}, now.Add(-IdempotencyTTL))
	if err != nil || prev == nil {
		return false, err
	}
	if !bytes.Equal(prev.RequestHash, k.RequestHash) {
		return false, &Error{Code: EINVALID, Reason: ReasonKeyReused, Message: fmt.Sprintf(
			"Idempotency-Key %q was already used at %s with a different request body; resend the first body to get its answer again, or use a new key for a new draft",
			k.Key, prev.CreatedAt.UTC().Format(time.RFC3339))}
	}
	var h Handoff
	if err := json.Unmarshal(prev.Response, &h); err != nil {
		return false, &Error{Code: EINTERNAL, Message: "internal error", Err: fmt.Errorf("idempotency key %q of token %d: stored answer: %w", k.Key, p.token.ID, err)}
	}
	k.answer, k.replayed = &h, true
	e.Action, e.DraftID, e.Detail = "draft.submit.replay", prev.DraftID, "idempotency key "+k.Key
	return true, nil
}

// record stores the answer to the submission of d (v is its view) on the
// claimed key.
func (k *keyedSubmission) record(ctx context.Context, s *Service, tx Tx, p *principal, d *Draft, v *DraftView) error {
	if k == nil {
		return nil
	}
	var rec *HandoffRecord
	if d.State == StateApproved {
		var err error
		if rec, err = tx.HandoffByDraft(ctx, p.ws.ID, d.ID); err != nil {
			return err
		}
	}
	h, err := s.handoffView(ctx, tx, p, d, rec)
	if err != nil {
		return err
	}
	h.Notes = v.Notes
	body, err := json.Marshal(h)
	if err != nil {
		return &Error{Code: EINTERNAL, Message: "internal error", Err: err}
	}
	k.answer = h
	return tx.SaveIdempotencyKey(ctx, &IdempotencyRecord{TokenID: p.token.ID, Key: k.Key, DraftID: d.ID, Response: body})
}

package approvals

import "context"

// RecordRefusal audits an attempt a channel refused before it could reach
// the core (a forged Slack signature, a tampered link token): who is known
// is in a, what and why in action and detail. It never fails the caller;
// a failure to write is logged.
func (s *Service) RecordRefusal(ctx context.Context, a Actor, action, detail string) {
	e := &AuditEntry{At: s.now(), Actor: a.label(), Channel: a.Channel, Action: action, Outcome: OutcomeRefused, Detail: detail, Meta: a.Meta, WorkspaceID: a.WorkspaceID}
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.AppendAudit(ctx, e) })
	if err != nil {
		s.Logger.ErrorContext(ctx, "audit refused attempt", "action", action, "err", err)
	}
}

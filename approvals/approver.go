package approvals

import (
	"context"
	"fmt"
)

// The approver invariants, checked here under the account's lock with the
// words users read; the schema's triggers check them again at commit as a
// backstop (a breach there is a bug, reported as an internal error):
//   - an approver's role fits the tier (internal: owner or admin; client:
//     client), and they have access to the account;
//   - an account that needs a tier's approval keeps an approver in it.

// approverProblem says why m cannot be an approver of the account in tier
// with the given access, or "" when they can.
func approverProblem(m *Member, acc *Account, tier Tier, access Access) string {
	if t, ok := m.Role.ApproverTier(); !ok || t != tier {
		want := "owners or admins"
		if tier == TierClient {
			want = "clients"
		}
		return fmt.Sprintf("%s cannot be %s %s approver of account %q: %s approvers must be %s, and %s is %s %s",
			m.Email, article(string(tier)), tier, acc.Handle, tier, want, m.Email, article(string(m.Role)), m.Role)
	}
	if !access.Can(CapView) {
		return fmt.Sprintf("%s cannot be %s %s approver of account %q: they have no access to it; grant access first",
			m.Email, article(string(tier)), tier, acc.Handle)
	}
	return ""
}

func article(word string) string {
	if word != "" && (word[0] == 'a' || word[0] == 'e' || word[0] == 'i' || word[0] == 'o' || word[0] == 'u') {
		return "an"
	}
	return "a"
}

// requireApprovers refuses a change that would leave one of accs, as they
// are in memory, needing a tier's approval with no approver in it (as the
// transaction has them).
func (s *Service) requireApprovers(ctx context.Context, tx Tx, ws *Workspace, accs []*Account) error {
	if len(accs) == 0 {
		return nil
	}
	ids := make([]int64, len(accs))
	for i, acc := range accs {
		ids[i] = acc.ID
	}
	byAccount, err := tx.ApproversOf(ctx, ws.ID, ids)
	if err != nil {
		return err
	}
	for _, acc := range accs {
		for _, t := range Tiers {
			if acc.Needs(t) && len(byAccount[acc.ID][t]) == 0 {
				return Errorf(EINVALID, "account %q needs %s approval but would have no %s approver; add another %s approver first or turn %s approval off",
					acc.Handle, t, t, t, t)
			}
		}
	}
	return nil
}

// requireWorkspaceApprovers is requireApprovers for every account of the
// workspace, after a change that may reach many (a member or a group
// membership removed).
func (s *Service) requireWorkspaceApprovers(ctx context.Context, tx Tx, ws *Workspace) error {
	accs, err := tx.Accounts(ctx, ws.ID)
	if err != nil {
		return err
	}
	return s.requireApprovers(ctx, tx, ws, accs)
}

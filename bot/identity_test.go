package bot_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/signoff-app/signoff/approvals"
)

// answer runs "/signoff text" as user and returns the ephemeral answer.
func (h *harness) answer(user, text string) string {
	h.t.Helper()
	w := h.command(user, chanAcme, text)
	var msg struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &msg) != nil {
		h.t.Fatalf("/signoff %s by %s: %d %q", text, user, w.Code, w.Body.String())
	}
	return msg.Text
}

// linkEmails counts the Slack link confirmations queued to the address.
func (h *harness) linkEmails(to string) int {
	h.t.Helper()
	var n int
	h.must(h.db.Pool().QueryRow(h.ctx, `SELECT count(*) FROM outbox WHERE channel = 'email' AND payload->>'event' = $1 AND payload->>'target' = $2`,
		string(approvals.EventSlackLinkRequested), to).Scan(&n))
	return n
}

func TestSlackIdentity(t *testing.T) {
	h := newHarness(t)
	op := approvals.Operator(h.slug)
	_, err := h.svc.AddMember(h.ctx, op, "olivia@agency.test", "Olivia Owner", approvals.RoleOwner)
	h.must(err)
	const (
		uConnect = "U0CONNECT" // a Slack Connect user of another organisation
		uGuest   = "U0GUEST"   // a guest of the agency's own team
		uOlivia  = "U0OLIVIA"  // the owner, a full member of the team
	)
	h.slack.AddUser(uConnect, "olivia@agency.test", map[string]any{"team_id": "T0CLIENTORG"})
	h.slack.AddUser(uGuest, "olivia@agency.test", map[string]any{"is_restricted": true})

	tests := []struct {
		name, user, want string
		wantEmails       int // confirmations queued to the owner so far
	}{
		{"Slack Connect stranger with the owner's email", uConnect, "emailed a one-time confirmation link to olivia@agency.test", 1},
		{"guest with the owner's email", uGuest, "emailed a one-time confirmation link", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.answer(tt.user, "list"); !strings.Contains(got, tt.want) {
				t.Errorf("answer %q lacks %q", got, tt.want)
			}
			if _, err := h.svc.SlackMember(h.ctx, team, tt.user); approvals.ErrorCode(err) != approvals.ENOTFOUND {
				t.Errorf("%s was linked: %v", tt.user, err)
			}
			if n := h.linkEmails("olivia@agency.test"); n != tt.wantEmails {
				t.Errorf("confirmation emails to the owner = %d, want %d", n, tt.wantEmails)
			}
		})
	}

	t.Run("own-team owner is linked", func(t *testing.T) {
		h.slack.AddUser(uOlivia, "olivia@agency.test", nil)
		if got := h.answer(uOlivia, "link"); !strings.Contains(got, "linked to Olivia Owner") {
			t.Errorf("answer %q", got)
		}
		m, err := h.svc.SlackMember(h.ctx, team, uOlivia)
		if err != nil || m.Email != "olivia@agency.test" {
			t.Fatalf("SlackMember = %v, %v", m, err)
		}
	})

	t.Run("admin unlink sticks", func(t *testing.T) {
		unlink := ""
		_, err := h.svc.SetMember(h.ctx, op, "olivia@agency.test", approvals.MemberSettings{SlackUserID: &unlink})
		h.must(err)
		if got := h.answer(uOlivia, "list"); !strings.Contains(got, "admin unlinked Slack user "+uOlivia) {
			t.Errorf("answer %q", got)
		}
		if _, err := h.svc.SlackMember(h.ctx, team, uOlivia); approvals.ErrorCode(err) != approvals.ENOTFOUND {
			t.Errorf("relinked after the admin's unlink: %v", err)
		}
	})

	t.Run("deactivated member can no longer act", func(t *testing.T) {
		if got := h.answer(uViewer, "link"); !strings.Contains(got, "linked to Vi Viewer") {
			t.Fatalf("link answered %q", got)
		}
		_, err := h.svc.DeactivateMember(h.ctx, op, "vi@client.test")
		h.must(err)
		if got := h.answer(uViewer, "list"); !strings.Contains(got, "deactivated") {
			t.Errorf("answer %q does not say the member was deactivated", got)
		}
		if _, err := h.svc.SlackMember(h.ctx, team, uViewer); approvals.ErrorCode(err) != approvals.ENOTFOUND {
			t.Errorf("deactivated member still linked: %v", err)
		}
	})
}

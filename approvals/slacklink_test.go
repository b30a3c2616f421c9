package approvals_test

import (
	"testing"

	"github.com/signoff-app/signoff/approvals"
)

const agencyTeam = "T0AGENCY"

// slackFixture is the standard workspace bound to the Slack team agencyTeam.
func slackFixture(t *testing.T) *fixture {
	f := standard(t)
	team := agencyTeam
	f.Must(f.Svc.SetWorkspace(f.Ctx, f.Op(), approvals.WorkspaceSettings{SlackTeamID: &team}))
	return f
}

// linkRequests returns the IDs of the Slack link confirmations queued by
// email to the member, oldest first.
func (f *fixture) linkRequests(email string) []int64 {
	f.T.Helper()
	rows, err := f.DB.Pool().Query(f.Ctx, `
		SELECT (payload->>'link_request_id')::bigint FROM outbox
		WHERE channel = 'email' AND payload->>'event' = $1 AND payload->>'target' = $2 ORDER BY id`,
		string(approvals.EventSlackLinkRequested), email)
	f.OK(err)
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		f.OK(rows.Scan(&id))
		out = append(out, id)
	}
	f.OK(rows.Err())
	return out
}

func (f *fixture) memberByEmail(email string) *approvals.Member {
	f.T.Helper()
	ms, err := f.Svc.Members(f.Ctx, f.Op())
	f.OK(err)
	for _, m := range ms {
		if m.Email == email {
			return m
		}
	}
	f.T.Fatalf("no member %s", email)
	return nil
}

func TestLinkSlackUserTrust(t *testing.T) {
	f := slackFixture(t)
	tests := []struct {
		name      string
		email     string
		user      approvals.SlackUser
		wantLink  bool
		wantEmail bool     // a confirmation link was emailed to the member
		wantMsg   []string // in the refusal
	}{
		{"own team, confirmed email", "admin@acme.test",
			approvals.SlackUser{ID: "U0ADMIN", TeamID: agencyTeam, Email: "Admin@acme.test", EmailConfirmed: true}, true, false, nil},
		{"Slack Connect stranger with the owner's email", "owner@acme.test",
			approvals.SlackUser{ID: "U0STRANGER", TeamID: "T0OTHERORG", Email: "owner@acme.test", EmailConfirmed: true}, false, true,
			[]string{"not linked yet", "emailed", "owner@acme.test"}},
		{"own-team guest", "c1@client.test",
			approvals.SlackUser{ID: "U0GUEST", TeamID: agencyTeam, Email: "c1@client.test", EmailConfirmed: true, Restricted: true}, false, true,
			[]string{"confirmation link"}},
		{"own-team single-channel guest", "c2@client.test",
			approvals.SlackUser{ID: "U0GUEST2", TeamID: agencyTeam, Email: "c2@client.test", EmailConfirmed: true, UltraRestricted: true}, false, true,
			[]string{"confirmation link"}},
		{"no team in users.info", "c3@client.test",
			approvals.SlackUser{ID: "U0NOTEAM", Email: "c3@client.test", EmailConfirmed: true}, false, true, nil},
		{"bot", "ed@acme.test",
			approvals.SlackUser{ID: "U0BOT", TeamID: agencyTeam, Email: "ed@acme.test", EmailConfirmed: true, Bot: true}, false, false,
			[]string{"no confirmed email"}},
		{"unconfirmed email", "admin2@acme.test",
			approvals.SlackUser{ID: "U0UNCONF", TeamID: agencyTeam, Email: "admin2@acme.test"}, false, false,
			[]string{"no confirmed email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := f.Svc.LinkSlackUser(f.Ctx, agencyTeam, tt.user)
			if tt.wantLink {
				f.OK(err)
				if m.Email != tt.email || m.SlackUserID != tt.user.ID {
					t.Fatalf("linked %s to %s, want %s", m.SlackUserID, m.Email, tt.email)
				}
			} else {
				wantCode(t, err, approvals.EUNAUTHORIZED, tt.wantMsg...)
			}
			got, err := f.Svc.SlackMember(f.Ctx, agencyTeam, tt.user.ID)
			if tt.wantLink != (err == nil) {
				t.Errorf("SlackMember after linking: %v, %v; want linked=%v", got, err, tt.wantLink)
			}
			if n := len(f.linkRequests(tt.email)); (n == 1) != tt.wantEmail || n > 1 {
				t.Errorf("confirmation emails to %s = %d, want emailed=%v", tt.email, n, tt.wantEmail)
			}
		})
	}

	t.Run("asking again within minutes sends no second email", func(t *testing.T) {
		u := approvals.SlackUser{ID: "U0STRANGER", TeamID: "T0OTHERORG", Email: "owner@acme.test", EmailConfirmed: true}
		_, err := f.Svc.LinkSlackUser(f.Ctx, agencyTeam, u)
		wantCode(t, err, approvals.EUNAUTHORIZED, "emailed")
		if n := len(f.linkRequests("owner@acme.test")); n != 1 {
			t.Errorf("confirmation emails = %d, want 1", n)
		}
	})
}

func TestSlackLinkConfirmation(t *testing.T) {
	f := slackFixture(t)
	owner := f.memberByEmail("owner@acme.test")
	stranger := approvals.SlackUser{ID: "U0CONNECT", TeamID: "T0CLIENTORG", Email: "owner@acme.test", EmailConfirmed: true}
	_, err := f.Svc.LinkSlackUser(f.Ctx, agencyTeam, stranger)
	wantCode(t, err, approvals.EUNAUTHORIZED, "emailed")
	reqs := f.linkRequests("owner@acme.test")
	if len(reqs) != 1 {
		t.Fatalf("confirmation emails = %d, want 1", len(reqs))
	}
	byLink := approvals.Actor{WorkspaceID: owner.WorkspaceID, MemberID: owner.ID, Channel: approvals.ChannelEmail}

	// Looking (a mail scanner's GET) changes nothing.
	for range 2 {
		c, err := f.Svc.PreviewSlackLink(f.Ctx, byLink, reqs[0])
		f.OK(err)
		if c.Request.SlackUserID != "U0CONNECT" || c.Request.SlackTeamID != "T0CLIENTORG" || c.Member.ID != owner.ID {
			t.Fatalf("preview = %+v", c.Request)
		}
	}
	if m := f.memberByEmail("owner@acme.test"); m.SlackUserID != "" {
		t.Fatalf("after previews the owner is linked to %s", m.SlackUserID)
	}
	// Another member cannot use the owner's request.
	admin := f.memberByEmail("admin@acme.test")
	_, err = f.Svc.ConfirmSlackLink(f.Ctx, approvals.Actor{WorkspaceID: admin.WorkspaceID, MemberID: admin.ID, Channel: approvals.ChannelEmail}, reqs[0])
	wantCode(t, err, approvals.ENOTFOUND)

	m, err := f.Svc.ConfirmSlackLink(f.Ctx, byLink, reqs[0])
	f.OK(err)
	if m.SlackUserID != "U0CONNECT" {
		t.Fatalf("confirmed: linked to %q", m.SlackUserID)
	}
	if got, err := f.Svc.SlackMember(f.Ctx, agencyTeam, "U0CONNECT"); err != nil || got.ID != owner.ID {
		t.Fatalf("SlackMember = %v, %v; want the owner", got, err)
	}
	_, err = f.Svc.ConfirmSlackLink(f.Ctx, byLink, reqs[0])
	wantCode(t, err, approvals.ECONFLICT, "already used")
	_, err = f.Svc.PreviewSlackLink(f.Ctx, byLink, reqs[0])
	wantCode(t, err, approvals.ECONFLICT, "already used")
}

func TestAdminUnlinkSticks(t *testing.T) {
	f := slackFixture(t)
	u := approvals.SlackUser{ID: "U0ED", TeamID: agencyTeam, Email: "ed@acme.test", EmailConfirmed: true}
	f.Must(f.Svc.LinkSlackUser(f.Ctx, agencyTeam, u))

	unlink, relink := "", "U0ED"
	f.Must(f.Svc.SetMember(f.Ctx, f.Op(), "ed@acme.test", approvals.MemberSettings{SlackUserID: &unlink}))
	_, err := f.Svc.LinkSlackUser(f.Ctx, agencyTeam, u)
	wantCode(t, err, approvals.EUNAUTHORIZED, "an admin unlinked", "U0ED")
	if m := f.memberByEmail("ed@acme.test"); m.SlackUserID != "" {
		t.Fatalf("automatic linking undid the admin's unlink: linked to %s", m.SlackUserID)
	}
	// Nor through a confirmation: nothing is emailed for the pair.
	if n := len(f.linkRequests("ed@acme.test")); n != 0 {
		t.Errorf("confirmation emails = %d, want 0", n)
	}

	// An admin's link lifts it; a later unlink sticks again.
	f.Must(f.Svc.SetMember(f.Ctx, f.Op(), "ed@acme.test", approvals.MemberSettings{SlackUserID: &relink}))
	if m, err := f.Svc.SlackMember(f.Ctx, agencyTeam, "U0ED"); err != nil || m.Email != "ed@acme.test" {
		t.Fatalf("after the admin's link: %v, %v", m, err)
	}
	f.Must(f.Svc.SetMember(f.Ctx, f.Op(), "ed@acme.test", approvals.MemberSettings{SlackUserID: &unlink}))
	_, err = f.Svc.LinkSlackUser(f.Ctx, agencyTeam, u)
	wantCode(t, err, approvals.EUNAUTHORIZED, "an admin unlinked")
}

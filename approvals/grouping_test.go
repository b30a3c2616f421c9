package approvals_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// outboxFor returns the pending outbox messages of the member with email.
func (f *fixture) outboxFor(email string) []*approvals.OutboxMessage {
	f.T.Helper()
	msgs, err := f.Svc.Outbox(f.Ctx, approvals.OutboxPending, 1000)
	f.OK(err)
	var out []*approvals.OutboxMessage
	for _, m := range msgs {
		if strings.EqualFold(m.Payload.Target, email) {
			out = append(out, m)
		}
	}
	return out
}

func (f *fixture) window(d time.Duration) {
	f.T.Helper()
	f.Must(f.Svc.SetWorkspace(f.Ctx, f.Op(), approvals.WorkspaceSettings{GroupWindow: &d}))
}

// With a window, a request email waits for it under its member's group
// key; the channel post does not wait and is not grouped.
func TestGroupingRoutesRequests(t *testing.T) {
	f := standard(t)
	f.window(2 * time.Minute)
	f.Submit("ed@acme.test", "client", "one")
	f.Now = f.Now.Add(time.Minute)
	f.Submit("ed@acme.test", "client", "two")
	msgs := f.outboxFor("c1@client.test")
	if len(msgs) != 2 {
		t.Fatalf("%d messages to c1, want 2", len(msgs))
	}
	key := msgs[0].GroupKey
	if key == "" || msgs[1].GroupKey != key {
		t.Errorf("group keys %q, %q: want one shared key", msgs[0].GroupKey, msgs[1].GroupKey)
	}
	if want := msgs[0].CreatedAt.Add(2 * time.Minute); !msgs[0].NextAttemptAt.Equal(want) {
		t.Errorf("due %v, want %v (queued + window)", msgs[0].NextAttemptAt, want)
	}
	if other := f.outboxFor("c2@client.test"); len(other) != 2 || other[0].GroupKey == key {
		t.Errorf("c2's messages %v share c1's group", other)
	}

	f.window(0)
	f.Submit("ed@acme.test", "client", "three")
	msgs = f.outboxFor("c1@client.test")
	last := msgs[0]
	for _, m := range msgs {
		if m.ID > last.ID {
			last = m
		}
	}
	if last.GroupKey != "" || last.NextAttemptAt.After(f.Now) {
		t.Errorf("window 0: group %q due %v, want no group, due now", last.GroupKey, last.NextAttemptAt)
	}
}

// A digest member's requests fold into one message at their digest time;
// they get no request email or Slack DM of their own.
func TestDigestRoutesRequests(t *testing.T) {
	f := standard(t)
	f.window(0)
	f.Must(f.Svc.SetMember(f.Ctx, f.Op(), "c1@client.test", approvals.MemberSettings{
		Notify: &approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "09:00", TimeZone: "Europe/Berlin"}}))
	f.Submit("ed@acme.test", "client", "one")
	f.Submit("ed@acme.test", "client", "two")
	msgs := f.outboxFor("c1@client.test")
	if len(msgs) != 1 || msgs[0].Payload.Event != approvals.EventDigest {
		t.Fatalf("c1's messages: %+v, want one digest", msgs)
	}
	// f.Now is 2026-11-25 12:00 UTC, 13:00 in Berlin: the next 09:00 there
	// is the next day's, 08:00 UTC (CET).
	if want := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC); !msgs[0].NextAttemptAt.Equal(want) {
		t.Errorf("digest due %v, want %v", msgs[0].NextAttemptAt, want)
	}
	d, err := f.Svc.Digest(f.Ctx, msgs[0].Payload)
	f.OK(err)
	if len(d.Waiting) != 2 {
		t.Errorf("digest lists %d drafts, want 2", len(d.Waiting))
	}
	for _, v := range d.Waiting {
		if v.Reader.Audience != approvals.AudienceClient {
			t.Errorf("digest view built for %v, want the client", v.Reader)
		}
	}
}

// Digest times follow the member's zone across daylight saving time.
func TestDigestTimeDST(t *testing.T) {
	f := standard(t)
	f.Must(f.Svc.SetMember(f.Ctx, f.Op(), "c1@client.test", approvals.MemberSettings{
		Notify: &approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "09:00", TimeZone: "Europe/Berlin"}}))
	tests := []struct {
		now, want time.Time
	}{
		{time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC)},   // CEST from the 29th
		{time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC)}, // CET from the 25th
		{time.Date(2026, 7, 1, 6, 59, 0, 0, time.UTC), time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)},     // later the same day
	}
	for _, tt := range tests {
		f.Now = tt.now
		f.Must(f.Svc.SetMember(f.Ctx, f.Op(), "c1@client.test", approvals.MemberSettings{
			Notify: &approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "09:00", TimeZone: "Europe/Berlin"}}))
		msgs := f.outboxFor("c1@client.test")
		if len(msgs) != 1 || !msgs[0].NextAttemptAt.Equal(tt.want) {
			t.Errorf("at %v: digests %v, want one at %v", tt.now, msgs, tt.want)
		}
	}
}

// Bad notification settings are refused with a clear error and change
// nothing; only an admin may change them.
func TestNotifySettingsRefused(t *testing.T) {
	f := standard(t)
	tests := []struct {
		name string
		set  approvals.NotifySettings
		want string
	}{
		{"unknown mode", approvals.NotifySettings{Mode: "weekly"}, "want immediate or digest"},
		{"no time", approvals.NotifySettings{Mode: approvals.NotifyDigest, TimeZone: "UTC"}, "HH:MM"},
		{"bad time", approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "25:00", TimeZone: "UTC"}, "HH:MM"},
		{"bad minutes", approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "9:7", TimeZone: "UTC"}, "HH:MM"},
		{"no zone", approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "09:00"}, "time zone"},
		{"unknown zone", approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "09:00", TimeZone: "Mars/Olympus"}, "unknown time zone"},
		{"Local", approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "09:00", TimeZone: "Local"}, "unknown time zone"},
		{"time without digest", approvals.NotifySettings{Mode: approvals.NotifyImmediate, DigestAt: "09:00"}, "digest only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := tt.set
			_, err := f.Svc.SetMember(f.Ctx, f.Op(), "c1@client.test", approvals.MemberSettings{Notify: &set})
			wantCode(t, err, approvals.EINVALID, tt.want)
		})
	}
	ms, err := f.Svc.Members(f.Ctx, f.Op())
	f.OK(err)
	for _, m := range ms {
		if m.Notify != approvals.NotifyImmediate {
			t.Errorf("%s notify = %q after refusals", m.Email, m.Notify)
		}
	}
	on := approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "09:00", TimeZone: "UTC"}
	_, err = f.Svc.SetMember(f.Ctx, f.As("ed@acme.test"), "c1@client.test", approvals.MemberSettings{Notify: &on})
	wantCode(t, err, approvals.EUNAUTHORIZED)
	_, err = f.Svc.SetMember(f.Ctx, f.As("c1@client.test"), "c1@client.test", approvals.MemberSettings{Notify: &on})
	wantCode(t, err, approvals.EUNAUTHORIZED)

	for _, d := range []time.Duration{-time.Second, 1500 * time.Millisecond, 25 * time.Hour} {
		_, err := f.Svc.SetWorkspace(f.Ctx, f.Op(), approvals.WorkspaceSettings{GroupWindow: &d})
		wantCode(t, err, approvals.EINVALID, "grouping window")
	}
}

// A digest lists only what waits on its member's decision, built for
// them: not a draft still in internal review (for a client), not their own
// draft, not one they decided.
func TestDigestListsOnlyTheirs(t *testing.T) {
	f := standard(t)
	digest := func(email string) []int64 {
		t.Helper()
		f.Must(f.Svc.SetMember(f.Ctx, f.Op(), email, approvals.MemberSettings{
			Notify: &approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "09:00", TimeZone: "UTC"}}))
		var m *approvals.Member
		ms, err := f.Svc.Members(f.Ctx, f.Op())
		f.OK(err)
		for _, x := range ms {
			if x.Email == email {
				m = x
			}
		}
		d, err := f.Svc.Digest(f.Ctx, approvals.Notification{Event: approvals.EventDigest, WorkspaceID: m.WorkspaceID, RecipientID: m.ID})
		f.OK(err)
		var ids []int64
		for _, v := range d.Waiting {
			ids = append(ids, v.ID)
			if v.Reader != approvals.ReaderOf(m) {
				t.Errorf("%s's digest view of %d is built for %v", email, v.ID, v.Reader)
			}
		}
		return ids
	}
	both := f.Submit("ed@acme.test", "both", "internal first")
	if got := digest("c1@client.test"); len(got) != 0 {
		t.Errorf("client's digest lists %v while the draft is in internal review", got)
	}
	if got := digest("ed@acme.test"); len(got) != 0 {
		t.Errorf("author's digest lists their own draft: %v", got)
	}
	if got := digest("admin@acme.test"); len(got) != 1 || got[0] != both.ID {
		t.Errorf("internal approver's digest %v, want [%d]", got, both.ID)
	}
	f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), both.ID))
	if got := digest("admin@acme.test"); len(got) != 0 {
		t.Errorf("digest lists %v after its member decided", got)
	}
	if got := digest("c1@client.test"); len(got) != 1 || got[0] != both.ID {
		t.Errorf("client's digest %v, want [%d] once it reached them", got, both.ID)
	}
}

// A digest member's reminders fold into their digest: no reminder email,
// no DM and no mention in the request's thread; the others are reminded.
func TestDigestFoldsReminders(t *testing.T) {
	f := standard(t)
	team, channel, after := "T1", "C1", time.Hour
	f.Must(f.Svc.SetWorkspace(f.Ctx, f.Op(), approvals.WorkspaceSettings{SlackTeamID: &team}))
	f.Must(f.Svc.SetAccount(f.Ctx, f.Op(), "client", approvals.AccountSettings{SlackChannel: &channel, RemindAfter: &after}))
	for email, user := range map[string]string{"c1@client.test": "U1", "c2@client.test": "U2"} {
		f.Must(f.Svc.SetMember(f.Ctx, f.Op(), email, approvals.MemberSettings{SlackUserID: &user}))
	}
	f.Must(f.Svc.SetMember(f.Ctx, f.Op(), "c1@client.test", approvals.MemberSettings{
		Notify: &approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "09:00", TimeZone: "UTC"}}))
	f.Submit("ed@acme.test", "client", "remind me")
	f.Now = f.Now.Add(after)
	if n := f.sweep(1); n == 0 {
		t.Fatal("no reminder was due")
	}
	msgs, err := f.Svc.Outbox(f.Ctx, approvals.OutboxPending, 1000)
	f.OK(err)
	var thread *approvals.OutboxMessage
	for _, m := range msgs {
		if m.Payload.Event != approvals.EventReminder {
			continue
		}
		switch m.Payload.Target {
		case "C1":
			thread = m
		case "c1@client.test", "U1":
			t.Errorf("digest member got a reminder of their own: %s", m.IdempotencyKey)
		}
	}
	if thread == nil || !slices.Equal(thread.Payload.Mentions, []string{"U2"}) {
		t.Errorf("thread reminder %+v, want one mentioning only U2", thread)
	}
	var digests int
	for _, m := range msgs {
		if m.Payload.Event == approvals.EventDigest && m.Payload.Target == "c1@client.test" {
			digests++
		}
	}
	if digests != 1 {
		t.Errorf("%d pending digests for the digest member, want 1", digests)
	}
}

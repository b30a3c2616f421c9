package approvals_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
)

func hashtags(n int) string {
	var b strings.Builder
	b.WriteString("New collection")
	for i := range n {
		b.WriteString(" #look" + string(rune('a'+i%26)) + strings.Repeat("z", i/26))
	}
	return b.String()
}

func setNetwork(f *fixture, handle string, n approvals.Network) {
	f.T.Helper()
	f.Must(f.Svc.SetAccount(f.Ctx, f.Op(), handle, approvals.AccountSettings{Network: &n}))
}

// snapshot is what a refused call must leave as it was: the drafts, the
// outbox and the history of each draft.
func snapshot(t *testing.T, f *fixture) string {
	t.Helper()
	owner := f.As("owner@acme.test")
	ds, err := f.Svc.List(f.Ctx, owner, approvals.ListInput{})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := f.Svc.Outbox(f.Ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, d := range ds {
		h, err := f.Svc.DraftHistory(f.Ctx, owner, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(strings.Join([]string{string(h.Draft.State), h.Draft.Current.Text}, "|"))
		for _, r := range h.Revisions {
			b.WriteString("|" + r.Text)
		}
		for _, x := range h.Decisions {
			b.WriteString("|" + string(x.Verdict) + ":" + x.Comment)
		}
	}
	for _, m := range msgs {
		b.WriteString("|" + m.IdempotencyKey)
	}
	return b.String()
}

func TestAccountNetwork(t *testing.T) {
	f := standard(t)
	acc, err := f.Svc.AddNetworkAccount(f.Ctx, f.Op(), "acme-ig", "Acme on Instagram", approvals.NetworkInstagram)
	f.OK(err)
	if acc.Network != approvals.NetworkInstagram {
		t.Fatalf("network = %q", acc.Network)
	}
	got, err := f.Svc.Account(f.Ctx, f.Op(), "acme-ig")
	f.OK(err)
	if got.Network != approvals.NetworkInstagram {
		t.Fatalf("stored network = %q", got.Network)
	}
	if got, _ := f.Svc.Account(f.Ctx, f.Op(), "free"); got.Network != approvals.NetworkOther {
		t.Fatalf("an account added without one is on %q, want other", got.Network)
	}
	x := approvals.Network("twitter")
	got, err = f.Svc.SetAccount(f.Ctx, f.Op(), "acme-ig", approvals.AccountSettings{Network: &x})
	f.OK(err)
	if got.Network != approvals.NetworkX {
		t.Fatalf("twitter set %q, want x", got.Network)
	}

	t.Run("unknown network changes nothing", func(t *testing.T) {
		bad := approvals.Network("myspace")
		_, err := f.Svc.SetAccount(f.Ctx, f.Op(), "acme-ig", approvals.AccountSettings{Network: &bad})
		wantCode(t, err, approvals.EINVALID, `unknown network "myspace"`, "instagram")
		if got, _ := f.Svc.Account(f.Ctx, f.Op(), "acme-ig"); got.Network != approvals.NetworkX {
			t.Fatalf("network = %q after a refused change", got.Network)
		}
		_, err = f.Svc.AddNetworkAccount(f.Ctx, f.Op(), "acme-ms", "Acme", bad)
		wantCode(t, err, approvals.EINVALID, "unknown network")
		if _, err := f.Svc.Account(f.Ctx, f.Op(), "acme-ms"); approvals.ErrorCode(err) != approvals.ENOTFOUND {
			t.Fatalf("refused account exists: %v", err)
		}
	})
	t.Run("only an admin sets it", func(t *testing.T) {
		ig := approvals.NetworkInstagram
		_, err := f.Svc.SetAccount(f.Ctx, f.As("ed@acme.test"), "acme-ig", approvals.AccountSettings{Network: &ig})
		wantCode(t, err, approvals.EUNAUTHORIZED)
		_, err = f.Svc.SetAccount(f.Ctx, f.As("c1@client.test"), "client", approvals.AccountSettings{Network: &ig})
		if code := approvals.ErrorCode(err); code != approvals.EUNAUTHORIZED && code != approvals.ENOTFOUND {
			t.Fatalf("a client set the network: %v", err)
		}
		if got, _ := f.Svc.Account(f.Ctx, f.Op(), "acme-ig"); got.Network != approvals.NetworkX {
			t.Fatalf("network = %q after refused changes", got.Network)
		}
	})
}

// TestNetworkRefusal: submit and revise refuse what the account's network
// would refuse, name the rule and the excess, and change nothing.
func TestNetworkRefusal(t *testing.T) {
	f := standard(t)
	setNetwork(f, "client", approvals.NetworkInstagram)
	setNetwork(f, "internal", approvals.NetworkX)

	before := snapshot(t, f)
	_, err := f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), approvals.DraftInput{Account: "client", Text: hashtags(34)})
	wantCode(t, err, approvals.EINVALID, "Instagram captions take at most 5 hashtags; this one has 34")
	_, err = f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), approvals.DraftInput{Account: "internal", Text: strings.Repeat("字", 141)})
	wantCode(t, err, approvals.EINVALID, "X posts take at most 280 characters", "this one has 282")
	media := []string{"https://cdn.example.com/1.jpg", "https://cdn.example.com/2.jpg", "https://cdn.example.com/3.jpg", "https://cdn.example.com/4.jpg", "https://cdn.example.com/5.jpg"}
	_, err = f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), approvals.DraftInput{Account: "internal", Text: "five", MediaURLs: media})
	wantCode(t, err, approvals.EINVALID, "X posts take at most 4 pictures or videos; this one has 5")
	if after := snapshot(t, f); after != before {
		t.Fatalf("a refused submission changed something:\n%s\n%s", before, after)
	}

	// Within the limits the same account takes it; a revision past them is
	// refused and leaves the draft as it was.
	ok := strings.Repeat("字", 140)
	v, err := f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), approvals.DraftInput{Account: "internal", Text: ok, MediaURLs: media[:4]})
	f.OK(err)
	before = snapshot(t, f)
	_, err = f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: ok + "a"})
	wantCode(t, err, approvals.EINVALID, "this one has 281")
	// Media carry over into the revision and are counted.
	_, err = f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "short", MediaURLs: media})
	wantCode(t, err, approvals.EINVALID, "at most 4 pictures or videos")
	if after := snapshot(t, f); after != before {
		t.Fatalf("a refused revision changed something:\n%s\n%s", before, after)
	}
	nv, err := f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "shorter"})
	f.OK(err)
	if nv.Revision != 2 || len(nv.Current.MediaURLs) != 4 {
		t.Fatalf("revision %d with %d media", nv.Revision, len(nv.Current.MediaURLs))
	}

	// A change of network applies to what is submitted next.
	setNetwork(f, "client", approvals.NetworkOther)
	f.Submit("ed@acme.test", "client", hashtags(34))
}

// TestApproveWithComment: an approval may carry a comment; it is recorded
// with the decision, shown to whoever may see the decision's tier, and the
// author's view of the outcome carries it.
func TestApproveWithComment(t *testing.T) {
	f := standard(t)
	v := f.Submit("ed@acme.test", "both", "Spring sale starts Monday")
	res, err := f.Svc.Decide(f.Ctx, f.As("admin@acme.test"), approvals.DecideInput{DraftID: v.ID, Verdict: approvals.VerdictApprove,
		Comment: "Internal: check the date with legal"})
	f.OK(err)
	if res.Decision.Comment != "Internal: check the date with legal" {
		t.Fatalf("comment = %q", res.Decision.Comment)
	}

	t.Run("refused comments record nothing", func(t *testing.T) {
		before := snapshot(t, f)
		_, err := f.Svc.Decide(f.Ctx, f.As("c1@client.test"), approvals.DecideInput{DraftID: v.ID, Verdict: approvals.VerdictApprove,
			Comment: strings.Repeat("x", approvals.MaxCommentLen+1)})
		wantCode(t, err, approvals.EINVALID, "comment is 4001 characters")
		_, err = f.Svc.Decide(f.Ctx, f.As("c1@client.test"), approvals.DecideInput{DraftID: v.ID, Verdict: approvals.VerdictApprove, Comment: "bad \xff"})
		wantCode(t, err, approvals.EINVALID, "UTF-8")
		// The author may not approve, comment or not.
		_, err = f.Svc.Decide(f.Ctx, f.As("ed@acme.test"), approvals.DecideInput{DraftID: v.ID, Verdict: approvals.VerdictApprove, Comment: "lgtm"})
		wantCode(t, err, approvals.EUNAUTHORIZED)
		if after := snapshot(t, f); after != before {
			t.Fatalf("a refused approval changed something")
		}
	})

	res, err = f.Svc.Decide(f.Ctx, f.As("c1@client.test"), approvals.DecideInput{DraftID: v.ID, Verdict: approvals.VerdictApprove,
		Comment: "Approved — fix the typo in the last line"})
	f.OK(err)
	if res.Draft.State != approvals.StateApproved {
		t.Fatalf("state = %s", res.Draft.State)
	}

	remarks := func(as string) []string {
		t.Helper()
		view, err := f.Svc.Show(f.Ctx, f.As(as), v.ID)
		f.OK(err)
		var out []string
		for _, x := range view.ApprovalRemarks(v.Revision) {
			out = append(out, x.Comment)
		}
		return out
	}
	// The author (staff) reads both; a client never reads the internal one.
	if diff := cmp.Diff([]string{"Internal: check the date with legal", "Approved — fix the typo in the last line"}, remarks("ed@acme.test")); diff != "" {
		t.Errorf("author's remarks (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Approved — fix the typo in the last line"}, remarks("c2@client.test")); diff != "" {
		t.Errorf("client's remarks (-want +got):\n%s", diff)
	}
	cv, err := f.Svc.Show(f.Ctx, f.As("c2@client.test"), v.ID)
	f.OK(err)
	for _, r := range cv.Remarks() {
		if strings.Contains(r.Text, "legal") {
			t.Fatalf("a client reads the internal approver's comment: %+v", r)
		}
	}

	// The author is told, by the approval notification, through the view
	// built for them.
	msgs, err := f.Svc.Outbox(f.Ctx, "", 1000)
	f.OK(err)
	told := 0
	for _, m := range msgs {
		if m.Payload.Event != approvals.EventApproved || m.Payload.DraftID != v.ID || m.Channel != approvals.ChannelEmail {
			continue
		}
		told++
		nv, who, err := f.Svc.NotificationView(f.Ctx, nil, m.Payload)
		f.OK(err)
		if who == nil || who.Email != "ed@acme.test" {
			t.Fatalf("approval told to %v", who)
		}
		if got := nv.ApprovalRemarks(m.Payload.Revision); len(got) != 2 {
			t.Fatalf("the author's notification carries %d comments, want 2", len(got))
		}
	}
	if told != 1 {
		t.Fatalf("author told %d times", told)
	}

	t.Run("a blank comment is no comment", func(t *testing.T) {
		w := f.Submit("ed@acme.test", "client", "Blank")
		res, err := f.Svc.Decide(f.Ctx, f.As("c1@client.test"), approvals.DecideInput{DraftID: w.ID, Verdict: approvals.VerdictApprove, Comment: " \n\t "})
		f.OK(err)
		if res.Decision.Comment != "" {
			t.Fatalf("comment = %q", res.Decision.Comment)
		}
	})
}

// TestCaptionCutNote: Submit and Revise tell the author where the feed
// cuts a long caption, and say nothing of a short one.
func TestCaptionCutNote(t *testing.T) {
	f := standard(t)
	setNetwork(f, "client", approvals.NetworkInstagram)
	long := strings.Repeat("Spring arrivals in store this week. ", 5)
	v, err := f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), approvals.DraftInput{Account: "client", Text: long})
	f.OK(err)
	if !slices.ContainsFunc(v.Notes, func(n string) bool {
		return strings.Contains(n, `Instagram's feed shows the first 12`) && strings.Contains(n, "… more")
	}) {
		t.Fatalf("notes %q: want where Instagram cuts the caption", v.Notes)
	}
	// Characters as a reader counts them: an emoji with its skin tone is one.
	thumbs := strings.Repeat("👍🏽 ", 60)
	shown, _ := approvals.NetworkInstagram.Feed().Fold(thumbs)
	v, err = f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: thumbs})
	f.OK(err)
	if want := fmt.Sprintf("Instagram's feed shows the first %d characters", strings.Count(shown, "👍🏽")*2-1); !slices.ContainsFunc(v.Notes, func(n string) bool {
		return strings.Contains(n, want)
	}) {
		t.Fatalf("notes %q: want %q", v.Notes, want)
	}
	v, err = f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "Short and sweet."})
	f.OK(err)
	if slices.ContainsFunc(v.Notes, func(n string) bool { return strings.Contains(n, "… more") }) {
		t.Fatalf("notes %q: a short caption is not cut", v.Notes)
	}
}

package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/store"
)

// Trust through the command line: each rule tried as an attacker would try
// it with the binary.

// trustEnv is seed's workspace with both tiers on acme-ig: Adam (admin)
// and Olivia (owner) approve internally, Cleo for the client; Eddie writes;
// Carl is a client with a personal create grant and no approver flag.
type trustEnv struct {
	*cliEnv
	db string
}

func newTrustEnv(t *testing.T) *trustEnv {
	t.Helper()
	db := testDB(t)
	c := &trustEnv{cliEnv: newCLI(t, db), db: db}
	seed(c.cliEnv, "acme")
	c.ok(c.ws("admin", "grant", "--account", "acme-ig", "--member", "eddie@agency.example", "--caps", "comment,create")...)
	c.ok(c.ws("admin", "grant", "--account", "acme-ig", "--member", "adam@agency.example", "--caps", "comment,create")...)
	c.ok(c.ws("admin", "grant", "--account", "acme-ig", "--member", "cleo@client.example", "--caps", "comment")...)
	c.ok(c.ws("admin", "grant", "--account", "acme-ig", "--member", "carl@client.example", "--caps", "comment,create")...)
	c.ok(c.ws("admin", "approver", "add", "--account", "acme-ig", "--member", "adam@agency.example", "--tier", "internal")...)
	c.ok(c.ws("admin", "approver", "add", "--account", "acme-ig", "--member", "olivia@agency.example", "--tier", "internal")...)
	c.ok(c.ws("admin", "approver", "add", "--account", "acme-ig", "--member", "cleo@client.example", "--tier", "client")...)
	c.ok(c.ws("admin", "account", "set", "acme-ig", "--internal-approval", "on", "--client-approval", "on")...)
	return c
}

func (c *trustEnv) ws(args ...string) []string { return append(args, "--workspace", "acme") }

// submit submits text on the account as eddie and returns the draft's ID.
func (c *trustEnv) submit(account, text string, extra ...string) string {
	c.t.Helper()
	return strings.TrimSpace(c.ok(c.ws(append([]string{"draft", "submit", "--account", account, "--as", "eddie@agency.example", "--text", text}, extra...)...)...))
}

// state returns the draft's state as the operator sees it.
func (c *trustEnv) state(id string) approvals.State {
	c.t.Helper()
	var v approvals.DraftView
	c.jsonOut(&v, c.ws("draft", "show", id)...)
	return v.State
}

// sweepAt runs the deadline sweeper once on the CLI's database with its
// clock at now.
func (c *trustEnv) sweepAt(now time.Time) int {
	c.t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, c.db)
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	svc := corefix.Service(db, func() time.Time { return now })
	n, err := (&approvals.Sweeper{Service: svc, Logger: svc.Logger}).RunOnce(ctx)
	if err != nil {
		c.t.Fatalf("sweep: %v", err)
	}
	return n
}

// hidden checks that args, run as someone who may not see draft id, are
// refused with exactly the words a draft that does not exist gets, and
// that nothing of the draft (any of secrets) is printed.
func (c *trustEnv) hidden(id string, secrets []string, args ...string) {
	c.t.Helper()
	r := c.refused(ExitRefused, []string{fmt.Sprintf("no draft %s in workspace \"acme\"", id)}, args...)
	for _, s := range secrets {
		if strings.Contains(r.stdout+r.stderr, s) {
			c.t.Errorf("signoff %s: refusal reveals %q: %q", strings.Join(args, " "), s, r.stderr)
		}
	}
	// The same words as for a draft that does not exist.
	none := slices.Clone(args)
	for i, a := range none {
		if a == id {
			none[i] = "999999"
		}
	}
	nr := c.run(none...)
	if want := strings.ReplaceAll(r.stderr, id, "999999"); nr.stderr != want || nr.code != r.code {
		c.t.Errorf("signoff %s: hidden draft answers %q (exit %d), a missing one %q (exit %d)", strings.Join(args, " "), r.stderr, r.code, nr.stderr, nr.code)
	}
}

// Finding 1: an author submits on an auto-approve account with the
// schedule two minutes ahead. Submit says the policy waits for the review
// window, and the sweeper approves nothing before it.
func TestTrustCLIDeadlinePolicyWaits(t *testing.T) {
	c := newTrustEnv(t)
	c.ok(c.ws("admin", "account", "set", "acme-ig", "--deadline-policy", "auto-approve")...)
	var accs []approvals.Account
	c.jsonOut(&accs, c.ws("admin", "account", "list")...)
	if len(accs) != 1 || accs[0].MinReview != approvals.DefaultMinReview {
		t.Fatalf("account list = %+v, want the default review window", accs)
	}
	start := time.Now()
	at := start.Add(2 * time.Minute).UTC().Format(time.RFC3339)
	r := c.run(c.ws("draft", "submit", "--account", "acme-ig", "--as", "eddie@agency.example", "--text", "Flash sale in two minutes", "--at", at)...)
	if r.code != 0 {
		t.Fatalf("submit: exit %d: %s", r.code, r.stderr)
	}
	id := strings.TrimSpace(r.stdout)
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		t.Fatalf("submit printed %q", r.stdout)
	}
	for _, want := range []string{"signoff: note: the internal tier has until", "signoff: note: the client tier has until", "auto-approve will not act before", "review window is 4h0m0s"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("submit stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, after := range []time.Duration{0, 5 * time.Second, 3 * time.Minute, 3 * time.Hour} {
		if n := c.sweepAt(start.Add(after)); n != 0 {
			t.Fatalf("sweep at +%s acted %d times inside the review window", after, n)
		}
	}
	var h approvals.History
	c.jsonOut(&h, c.ws("draft", "history", id)...)
	if h.Draft.State != approvals.StatePendingInternal || len(h.Decisions) != 0 {
		t.Fatalf("inside the review window: %s with decisions %+v, want pending_internal and none", h.Draft.State, h.Decisions)
	}
	// The window runs from when the request goes out, after the
	// workspace's grouping window (5m by default).
	if n := c.sweepAt(start.Add(4*time.Hour + 4*time.Minute)); n != 0 {
		t.Fatalf("sweep before the grouped request's window ended acted %d times", n)
	}
	// After the window the policy approves the internal tier only; the
	// clients are asked and have a window of their own.
	if n := c.sweepAt(start.Add(4*time.Hour + 6*time.Minute)); n != 1 {
		t.Fatalf("after the window: %d actions, want 1", n)
	}
	if got := c.state(id); got != approvals.StatePendingClient {
		t.Fatalf("after the internal window: %s, want pending_client", got)
	}
	if n := c.sweepAt(start.Add(5 * time.Hour)); n != 0 {
		t.Fatalf("inside the client window: %d actions", n)
	}
	if got := c.state(id); got != approvals.StatePendingClient {
		t.Fatalf("inside the client window: %s, want pending_client", got)
	}
}

// Finding 2: an admin who approves internally revises someone else's
// draft, then tries to decide on it: refused, both ways. The other
// internal approver may. Where the reviser is the tier's only approver,
// the revision itself is refused.
func TestTrustCLIReviserNeverDecides(t *testing.T) {
	c := newTrustEnv(t)
	id := c.submit("acme-ig", "Eddie's words")
	c.ok(c.ws("draft", "revise", id, "--as", "adam@agency.example", "--text", "Adam's own words")...)
	for _, args := range [][]string{
		c.ws("draft", "approve", id, "--as", "adam@agency.example"),
		c.ws("draft", "reject", id, "--as", "adam@agency.example", "--comment", "not mine after all"),
	} {
		c.refused(ExitRefused, []string{"you are an author of draft " + id, "nobody decides on words they wrote"}, args...)
	}
	var h approvals.History
	c.jsonOut(&h, c.ws("draft", "history", id)...)
	if h.Draft.State != approvals.StatePendingInternal || len(h.Decisions) != 0 {
		t.Fatalf("after the reviser's attempts: %s with %d decisions", h.Draft.State, len(h.Decisions))
	}
	if got := c.ok(c.ws("draft", "approve", id, "--as", "olivia@agency.example")...); !strings.Contains(got, "approved draft "+id) {
		t.Errorf("the other internal approver: %q", got)
	}

	// Adam is the only internal approver of solo-ig: his revision would
	// leave the tier without an approver who did not write the draft.
	c.ok(c.ws("admin", "account", "add", "solo-ig", "--name", "Solo")...)
	c.ok(c.ws("admin", "grant", "--account", "solo-ig", "--member", "eddie@agency.example", "--caps", "create")...)
	c.ok(c.ws("admin", "grant", "--account", "solo-ig", "--member", "adam@agency.example", "--caps", "create")...)
	c.ok(c.ws("admin", "approver", "add", "--account", "solo-ig", "--member", "adam@agency.example", "--tier", "internal")...)
	c.ok(c.ws("admin", "account", "set", "solo-ig", "--internal-approval", "on")...)
	solo := c.submit("solo-ig", "Solo words")
	c.refused(ExitRefused, []string{"solo-ig", "no internal approver who did not write this draft"},
		c.ws("draft", "revise", solo, "--as", "adam@agency.example", "--text", "Adam's solo words")...)
	var v approvals.DraftView
	c.jsonOut(&v, c.ws("draft", "show", solo)...)
	if v.Revision != 1 || v.Current.Text != "Solo words" {
		t.Errorf("after the refused revision: revision %d %q", v.Revision, v.Current.Text)
	}
}

// Findings 3 and 5: drafts that never reached the client tier (rejected,
// withdrawn, expired or pending there) do not exist for a client: list,
// show and history leave them out or answer "no draft N", and a client who
// may create can neither withdraw, revise nor comment on them. Of a draft
// that did reach them, clients see only the client-tier revision, and no
// internal decision or comment.
func TestTrustCLIClientsSeeOnlyWhatReachedThem(t *testing.T) {
	c := newTrustEnv(t)
	// An account whose drafts expire an hour after they are asked for.
	c.ok(c.ws("admin", "account", "add", "exp-ig", "--name", "Expiring")...)
	c.ok(c.ws("admin", "grant", "--account", "exp-ig", "--member", "eddie@agency.example", "--caps", "create")...)
	c.ok(c.ws("admin", "grant", "--account", "exp-ig", "--member", "cleo@client.example", "--caps", "comment")...)
	c.ok(c.ws("admin", "grant", "--account", "exp-ig", "--member", "carl@client.example", "--caps", "comment,create")...)
	c.ok(c.ws("admin", "grant", "--account", "exp-ig", "--member", "adam@agency.example", "--caps", "comment")...)
	c.ok(c.ws("admin", "approver", "add", "--account", "exp-ig", "--member", "adam@agency.example", "--tier", "internal")...)
	c.ok(c.ws("admin", "account", "set", "exp-ig", "--internal-approval", "on", "--deadline-policy", "expire", "--decide-within", "1h")...)

	rejected := c.submit("acme-ig", "REJ secret launch plan")
	c.ok(c.ws("draft", "reject", rejected, "--as", "adam@agency.example", "--comment", "INTERNAL-REJECT the numbers are wrong")...)
	withdrawn := c.submit("acme-ig", "WD secret teaser")
	c.ok(c.ws("draft", "withdraw", withdrawn, "--as", "eddie@agency.example")...)
	expired := c.submit("exp-ig", "EXP secret promo")
	pending := c.submit("acme-ig", "PEND secret draft")
	c.ok(c.ws("draft", "comment", pending, "--as", "eddie@agency.example", "--text", "INTERNAL-NOTE on the pending one", "--internal")...)
	if n := c.sweepAt(time.Now().Add(5 * time.Hour)); n != 1 {
		t.Fatalf("sweep: %d actions, want the expiry", n)
	}
	for id, want := range map[string]approvals.State{rejected: approvals.StateRejected, withdrawn: approvals.StateWithdrawn,
		expired: approvals.StateExpired, pending: approvals.StatePendingInternal} {
		if got := c.state(id); got != want {
			t.Fatalf("draft %s is %s, want %s", id, got, want)
		}
	}

	// One draft reaches the client at its second revision, after an
	// internal reject and an internal note on the first.
	seen := c.submit("acme-ig", "SEEN-V1 first take")
	c.ok(c.ws("draft", "reject", seen, "--as", "adam@agency.example", "--comment", "INTERNAL-REJECT too loud")...)
	c.ok(c.ws("draft", "comment", seen, "--as", "eddie@agency.example", "--text", "INTERNAL-NOTE toned it down", "--internal")...)
	c.ok(c.ws("draft", "revise", seen, "--as", "eddie@agency.example", "--text", "SEEN-V2 second take")...)
	c.ok(c.ws("draft", "approve", seen, "--as", "olivia@agency.example")...)
	c.ok(c.ws("draft", "comment", seen, "--as", "eddie@agency.example", "--text", "INTERNAL-NOTE client is picky", "--internal")...)
	c.ok(c.ws("draft", "comment", seen, "--as", "eddie@agency.example", "--text", "Visible note for the client")...)

	secrets := []string{"REJ secret", "WD secret", "EXP secret", "PEND secret", "SEEN-V1", "INTERNAL-REJECT", "INTERNAL-NOTE"}
	noSecrets := func(what, out string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s shows %q:\n%s", what, s, out)
			}
		}
	}

	for _, client := range []string{"cleo@client.example", "carl@client.example"} {
		t.Run(client, func(t *testing.T) {
			var list []approvals.DraftSummary
			c.jsonOut(&list, c.ws("draft", "list", "--as", client)...)
			var ids []string
			for _, d := range list {
				ids = append(ids, strconv.FormatInt(d.ID, 10))
			}
			if !slices.Equal(ids, []string{seen}) || list[0].Text != "SEEN-V2 second take" {
				t.Errorf("list --as %s = %+v, want draft %s alone, at its client text", client, list, seen)
			}
			noSecrets("list", c.ok(c.ws("draft", "list", "--as", client)...))
			for _, st := range []string{"rejected", "withdrawn", "pending_internal"} {
				noSecrets("list --status "+st, c.ok(c.ws("draft", "list", "--as", client, "--status", st)...))
			}

			for _, id := range []string{rejected, withdrawn, expired, pending} {
				for _, cmd := range []string{"show", "history"} {
					c.hidden(id, secrets, c.ws("draft", cmd, id, "--as", client)...)
					c.hidden(id, secrets, c.ws("draft", cmd, id, "--as", client, "--json")...)
				}
				c.hidden(id, secrets, c.ws("draft", "comment", id, "--as", client, "--text", "let me in")...)
			}
			// Acting needs seeing: Carl may create on both accounts.
			if client == "carl@client.example" {
				for _, id := range []string{rejected, pending, expired} {
					before := c.state(id)
					c.hidden(id, secrets, c.ws("draft", "withdraw", id, "--as", client)...)
					c.hidden(id, secrets, c.ws("draft", "revise", id, "--as", client, "--text", "Carl's words")...)
					if got := c.state(id); got != before {
						t.Errorf("draft %s: %s after a hidden withdraw, was %s", id, got, before)
					}
				}
			}

			out := c.ok(c.ws("draft", "show", seen, "--as", client)...)
			noSecrets("show", out)
			if !strings.Contains(out, "SEEN-V2 second take") || strings.Contains(out, "internal tier") {
				t.Errorf("show --as %s:\n%s", client, out)
			}
			var v approvals.DraftView
			c.jsonOut(&v, c.ws("draft", "show", seen, "--as", client)...)
			if v.Changes != nil || v.Current.Number != 2 {
				t.Errorf("show --json: current revision %d, changes %v; want revision 2 with no diff (revision 1 never reached clients)", v.Current.Number, v.Changes)
			}
			for _, ts := range v.Tiers {
				if ts.Tier == approvals.TierInternal {
					t.Errorf("show --json lists the internal tier: %+v", ts)
				}
			}
			var h approvals.History
			c.jsonOut(&h, c.ws("draft", "history", seen, "--as", client)...)
			if len(h.Revisions) != 1 || h.Revisions[0].Number != 2 || len(h.Decisions) != 0 {
				t.Errorf("history --json: revisions %+v decisions %+v; want revision 2 alone and no decisions", h.Revisions, h.Decisions)
			}
			if len(h.Comments) != 1 || h.Comments[0].Text != "Visible note for the client" {
				t.Errorf("history --json comments = %+v, want the visible note alone", h.Comments)
			}
			hout := c.ok(c.ws("draft", "history", seen, "--as", client)...)
			noSecrets("history", hout)
			if !strings.Contains(hout, "Visible note for the client") {
				t.Errorf("history --as %s lacks the visible comment:\n%s", client, hout)
			}
		})
	}

	// A client cannot mark a comment internal; staff still see everything.
	c.refused(ExitRefused, []string{"only staff"}, c.ws("draft", "comment", seen, "--as", "cleo@client.example", "--text", "psst", "--internal")...)
	all := c.ok(c.ws("draft", "history", seen, "--as", "eddie@agency.example")...)
	for _, want := range []string{"SEEN-V1", "INTERNAL-REJECT too loud", "INTERNAL-NOTE toned it down"} {
		if !strings.Contains(all, want) {
			t.Errorf("staff history lacks %q:\n%s", want, all)
		}
	}
}

// A draft that reached the client and was revised into internal review:
// the client still reads the revision that reached them, numbered as it
// is, and nothing of the new one.
func TestTrustCLIClientReadsTheRevisionTheySaw(t *testing.T) {
	c := newTrustEnv(t)
	id := c.submit("acme-ig", "SHOWN-V1 for the client")
	c.ok(c.ws("draft", "approve", id, "--as", "adam@agency.example")...)
	c.ok(c.ws("draft", "revise", id, "--as", "eddie@agency.example", "--text", "UNSEEN-V2 rewrite in progress")...)
	if got := c.state(id); got != approvals.StatePendingInternal {
		t.Fatalf("state %s, want pending_internal", got)
	}
	out := c.ok(c.ws("draft", "show", id, "--as", "cleo@client.example")...)
	if !strings.Contains(out, "revision: 1 (") || !strings.Contains(out, "SHOWN-V1 for the client") || strings.Contains(out, "UNSEEN") {
		t.Errorf("show --as client:\n%s", out)
	}
	hist := c.ok(c.ws("draft", "history", id, "--as", "cleo@client.example")...)
	first, _, _ := strings.Cut(hist, "\n")
	if !strings.HasSuffix(first, "revision 1") || strings.Contains(hist, "UNSEEN") || strings.Contains(hist, "revision 2") {
		t.Errorf("history --as client:\n%s", hist)
	}
	var v approvals.DraftView
	c.jsonOut(&v, c.ws("draft", "show", id, "--as", "cleo@client.example")...)
	if v.Current.Number != 1 || v.Current.Text != "SHOWN-V1 for the client" || v.Changes != nil {
		t.Errorf("show --json: current %d %q, changes %v", v.Current.Number, v.Current.Text, v.Changes)
	}
	var list []approvals.DraftSummary
	c.jsonOut(&list, c.ws("draft", "list", "--as", "cleo@client.example")...)
	if len(list) != 1 || list[0].Text != "SHOWN-V1 for the client" || list[0].Revision != 1 {
		t.Errorf("list --as client = %+v, want revision 1 and its text", list)
	}
	// Staff read the new revision.
	if out := c.ok(c.ws("draft", "show", id, "--as", "eddie@agency.example")...); !strings.Contains(out, "revision: 2 (") || !strings.Contains(out, "UNSEEN-V2") {
		t.Errorf("show --as staff:\n%s", out)
	}
}

package bot

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/outbox"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{BotToken: "xoxb-1", SigningSecret: "s"}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" for valid; else a key the error names
	}{
		{"http", ok, ""},
		{"socket mode", Config{BotToken: "xoxb-1", AppToken: "xapp-1"}, ""},
		{"no bot token", Config{SigningSecret: "s"}, "slack.bot_token"},
		{"user token", Config{BotToken: "xoxp-1", SigningSecret: "s"}, "slack.bot_token"},
		{"no secret", Config{BotToken: "xoxb-1"}, "slack.signing_secret"},
		{"bad app token", Config{BotToken: "xoxb-1", SigningSecret: "s", AppToken: "xoxb-2"}, "slack.app_token"},
		{"bad api url", Config{BotToken: "xoxb-1", SigningSecret: "s", APIURL: "slack.com/api"}, "slack.api_url"},
		{"api url without slash", Config{BotToken: "xoxb-1", SigningSecret: "s", APIURL: "http://127.0.0.1:9/api"}, "slack.api_url"},
		{"bad command", Config{BotToken: "xoxb-1", SigningSecret: "s", Command: "signoff"}, "slack.command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	if got := (Config{}).WithDefaults(); got.APIURL != DefaultAPIURL || got.Command != DefaultCommand {
		t.Errorf("defaults = %+v", got)
	}
}

func TestParseDecisionRef(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    decisionRef
		wantErr bool
	}{
		{in: "12/3/client", want: decisionRef{DraftID: 12, Revision: 3, Tier: approvals.TierClient}},
		{in: "1/1/internal", want: decisionRef{DraftID: 1, Revision: 1, Tier: approvals.TierInternal}},
		{in: "12/3", wantErr: true},
		{in: "x/3/client", wantErr: true},
		{in: "12/0/client", wantErr: true},
		{in: "-1/1/client", wantErr: true},
		{in: "12/3/boss", wantErr: true},
		{in: "", wantErr: true},
	} {
		got, err := parseDecisionRef(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseDecisionRef(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("parseDecisionRef(%q) (-want +got):\n%s", tc.in, diff)
		}
		if !tc.wantErr && got.value() != tc.in {
			t.Errorf("value() = %q, want %q", got.value(), tc.in)
		}
	}
}

func TestSplitWord(t *testing.T) {
	for _, tc := range []struct{ in, word, rest string }{
		{"", "", ""},
		{"help", "help", ""},
		{"  submit acme  Hello,\n  world ", "submit", "acme  Hello,\n  world "},
		{"show\t42", "show", "42"},
	} {
		w, r := splitWord(tc.in)
		if diff := cmp.Diff([]string{tc.word, tc.rest}, []string{w, r}); diff != "" {
			t.Errorf("splitWord(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestChangesText(t *testing.T) {
	for _, tc := range []struct {
		old, new, want string
	}{
		{"same text", "same text", ""},
		{"Sale on Monday", "Sale on Tuesday", "Sale on ~Monday~ *Tuesday*"},
		{"a <b>", "a <i>", "a ~&lt;b&gt;~ *&lt;i&gt;*"},
	} {
		if got := changesText(approvals.WordDiff(tc.old, tc.new)); got != tc.want {
			t.Errorf("changesText(%q → %q) = %q, want %q", tc.old, tc.new, got, tc.want)
		}
	}
}

func TestSlackError(t *testing.T) {
	rl := &slack.RateLimitedError{RetryAfter: 42 * time.Second}
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
		after     time.Duration
	}{
		{"rate limited", rl, false, 42 * time.Second},
		{"channel not found", slack.SlackErrorResponse{Err: "channel_not_found"}, true, 0},
		{"not in channel", slack.SlackErrorResponse{Err: "not_in_channel"}, true, 0},
		{"invalid auth", slack.SlackErrorResponse{Err: "invalid_auth"}, true, 0},
		{"internal error", slack.SlackErrorResponse{Err: "internal_error"}, false, 0},
		{"network", errors.New("connection reset"), false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := slackError(tc.err)
			if outbox.IsPermanent(got) != tc.permanent {
				t.Errorf("permanent = %v, want %v", outbox.IsPermanent(got), tc.permanent)
			}
			var ra *outbox.RetryAfterError
			if errors.As(got, &ra) != (tc.after > 0) || (ra != nil && ra.After != tc.after) {
				t.Errorf("retry after = %v, want %v", ra, tc.after)
			}
			if !errors.Is(got, tc.err) && !errors.As(got, new(slack.SlackErrorResponse)) {
				t.Errorf("cause lost: %v", got)
			}
		})
	}
	if slackError(nil) != nil {
		t.Error("slackError(nil) != nil")
	}
}

func TestRequestBlocksStatus(t *testing.T) {
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	v := &approvals.DraftView{
		Draft:   approvals.Draft{ID: 7, State: approvals.StatePendingClient, Revision: 2},
		Account: approvals.Account{Handle: "acme", Name: "Acme"}, Author: approvals.Member{Name: "Ed"},
		Current: approvals.Revision{Number: 2, Text: "Hi <there> & *you*"}, CurrentTier: approvals.TierClient,
		Tiers: []approvals.TierStatus{{Tier: approvals.TierClient, Approvers: []approvals.ApproverStatus{{MemberID: 3, Name: "Cleo"}}}},
	}
	for _, tc := range []struct {
		name    string
		mutate  func(v *approvals.DraftView)
		rev     int
		want    []string
		buttons bool
	}{
		{"open", func(*approvals.DraftView) {}, 2, nil, true},
		{"superseded", func(*approvals.DraftView) {}, 1, []string{":arrows_counterclockwise: Superseded by revision 2"}, false},
		{"withdrawn", func(v *approvals.DraftView) { v.State = approvals.StateWithdrawn }, 2, []string{":no_entry_sign: Withdrawn by its author"}, false},
		{"approved by email", func(v *approvals.DraftView) {
			v.State, v.CurrentTier = approvals.StateApproved, ""
			v.Decisions = []*approvals.Decision{{Revision: 2, Tier: approvals.TierClient, ApproverID: 3, Approver: "Cleo <c@x.test>", Verdict: approvals.VerdictApprove, Channel: approvals.ChannelEmail, CreatedAt: at}}
		}, 2, []string{":white_check_mark: Approved by Cleo via email at 2026-05-01 09:30 UTC", ":tada: The draft is approved"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := *v
			tc.mutate(&v)
			lines, open := requestStatus(&v, v.Request(tc.rev, approvals.TierClient))
			if diff := cmp.Diff(tc.want, lines); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if open != tc.buttons {
				t.Errorf("open = %v, want %v", open, tc.buttons)
			}
			blocks := requestBlocks(&v, tc.rev, approvals.TierClient, nil)
			var hasActions bool
			for _, b := range blocks {
				if b.BlockType() == slack.MBTAction {
					hasActions = true
				}
			}
			if hasActions != tc.buttons {
				t.Errorf("actions block present = %v, want %v", hasActions, tc.buttons)
			}
		})
	}
}

func TestLinkedUsers(t *testing.T) {
	var l linkedUsers
	t0 := time.Unix(1_700_000_000, 0)
	if l.recent("T1", "U1", t0) {
		t.Fatal("an empty cache knows U1")
	}
	l.add("T1", "U1", t0)
	for _, c := range []struct {
		team, user string
		at         time.Time
		want       bool
	}{
		{"T1", "U1", t0.Add(59 * time.Second), true},
		{"T1", "U1", t0.Add(linkedFor), false}, // forgotten after a minute
		{"T2", "U1", t0, false},                // another team's user
		{"T1", "U2", t0, false},
	} {
		if got := l.recent(c.team, c.user, c.at); got != c.want {
			t.Errorf("recent(%s, %s, +%s) = %v, want %v", c.team, c.user, c.at.Sub(t0), got, c.want)
		}
	}
	for i := range linkedMax {
		l.add("T1", fmt.Sprint("V", i), t0)
	}
	if len(l.at) > linkedMax {
		t.Errorf("cache holds %d users, bound %d", len(l.at), linkedMax)
	}
}

package approvals

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTierOutcome(t *testing.T) {
	a, b, c := &Member{ID: 1}, &Member{ID: 2}, &Member{ID: 3}
	three := []*Member{a, b, c}
	approve := func(id int64) *Decision {
		return &Decision{ApproverID: id, Revision: 2, Tier: TierClient, Verdict: VerdictApprove}
	}
	reject := &Decision{ApproverID: 3, Revision: 2, Tier: TierClient, Verdict: VerdictReject, Comment: "no"}
	old := &Decision{ApproverID: 1, Revision: 1, Tier: TierClient, Verdict: VerdictApprove}
	other := &Decision{ApproverID: 2, Revision: 2, Tier: TierInternal, Verdict: VerdictApprove}
	tests := []struct {
		name         string
		rule         Rule
		approvers    []*Member
		decisions    []*Decision
		wantDone     bool
		wantRejected bool
	}{
		{"any: none yet", RuleAny, three, nil, false, false},
		{"any: one approval", RuleAny, three, []*Decision{approve(2)}, true, false},
		{"all: two of three", RuleAll, three, []*Decision{approve(1), approve(2)}, false, false},
		{"all: three of three", RuleAll, three, []*Decision{approve(1), approve(2), approve(3)}, true, false},
		{"all: reject after two approvals", RuleAll, three, []*Decision{approve(1), approve(2), reject}, false, true},
		{"old revision does not count", RuleAny, three, []*Decision{old}, false, false},
		{"other tier does not count", RuleAny, three, []*Decision{other}, false, false},
		{"all: removed approver no longer needed", RuleAll, []*Member{a, b}, []*Decision{approve(1), approve(2)}, true, false},
		{"all: nobody left is not done", RuleAll, nil, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, rej := tierOutcome(tt.rule, tt.approvers, tt.decisions, 2, TierClient)
			if done != tt.wantDone || (rej != nil) != tt.wantRejected {
				t.Errorf("tierOutcome = %v, %v; want %v, rejected=%v", done, rej, tt.wantDone, tt.wantRejected)
			}
		})
	}
}

func TestTierOrder(t *testing.T) {
	both := &Revision{NeedsInternal: true, NeedsClient: true}
	client := &Revision{NeedsClient: true}
	none := &Revision{}
	if tier, ok := firstTier(both); !ok || tier != TierInternal {
		t.Errorf("firstTier(both) = %q, %v", tier, ok)
	}
	if tier, ok := nextTier(both, TierInternal); !ok || tier != TierClient {
		t.Errorf("nextTier(both, internal) = %q, %v", tier, ok)
	}
	if _, ok := nextTier(both, TierClient); ok {
		t.Errorf("nextTier(both, client) should be the end")
	}
	if tier, ok := firstTier(client); !ok || tier != TierClient {
		t.Errorf("firstTier(client) = %q, %v", tier, ok)
	}
	if _, ok := firstTier(none); ok {
		t.Errorf("firstTier(none) should find nothing")
	}
}

func TestValidateInput(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := &Service{Now: func() time.Time { return now }}
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	many := make([]string, 11)
	for i := range many {
		many[i] = "https://example.com/x.png"
	}
	tests := []struct {
		name string
		in   DraftInput
		want string // substring of the error; "" for none
	}{
		{"ok", DraftInput{Text: "Hello 🌍\n<b>x</b>", MediaURLs: []string{"https://cdn.example.com/a.jpg"}, ScheduledAt: &future}, ""},
		{"empty", DraftInput{Text: " \n\t"}, "empty"},
		{"too long", DraftInput{Text: strings.Repeat("é", MaxTextLen+1)}, "limit"},
		{"exactly max", DraftInput{Text: strings.Repeat("é", MaxTextLen)}, ""},
		{"ftp media", DraftInput{Text: "x", MediaURLs: []string{"ftp://example.com/a"}}, "http or https"},
		{"relative media", DraftInput{Text: "x", MediaURLs: []string{"/a.png"}}, "http or https"},
		{"too many media", DraftInput{Text: "x", MediaURLs: many}, "limit is 10"},
		{"past schedule", DraftInput{Text: "x", ScheduledAt: &past}, "not in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.validateInput(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tt.want) {
				t.Fatalf("err = %v; want EINVALID containing %q", err, tt.want)
			}
		})
	}
}

func TestValidateComment(t *testing.T) {
	for _, c := range []string{"", "   ", "\n\t "} {
		if err := validateComment(c, true); ErrorCode(err) != EINVALID {
			t.Errorf("validateComment(%q) = %v, want EINVALID", c, err)
		}
	}
	if err := validateComment(strings.Repeat("x", MaxCommentLen+1), true); ErrorCode(err) != EINVALID {
		t.Errorf("over-long comment accepted")
	}
	if err := validateComment("Ça va\n<script>alert(1)</script>", true); err != nil {
		t.Errorf("valid comment refused: %v", err)
	}
}

func TestWordDiff(t *testing.T) {
	tests := []struct {
		old, new string
		want     []DiffOp
	}{
		{"same text", "same text", []DiffOp{{"=", "same text"}}},
		{"Launch on Monday", "Launch on Friday", []DiffOp{{"=", "Launch on "}, {"-", "Monday"}, {"+", "Friday"}}},
		{"a b c", "a c", []DiffOp{{"=", "a "}, {"-", "b "}, {"=", "c"}}},
		{"", "new", []DiffOp{{"+", "new"}}},
	}
	for _, tt := range tests {
		got := WordDiff(tt.old, tt.new)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("WordDiff(%q, %q) (-want +got):\n%s", tt.old, tt.new, diff)
		}
	}
}

// FuzzWordDiff checks that a diff always rebuilds both texts exactly.
func FuzzWordDiff(f *testing.F) {
	f.Add("Launch on Monday", "Launch on Friday!")
	f.Add("", "x")
	f.Add("a  b\n\nc", "a b\nc d")
	f.Add("héllo wörld", "hello world 🌍")
	f.Fuzz(func(t *testing.T, old, new string) {
		var o, n strings.Builder
		for _, op := range WordDiff(old, new) {
			switch op.Op {
			case "=":
				o.WriteString(op.Text)
				n.WriteString(op.Text)
			case "-":
				o.WriteString(op.Text)
			case "+":
				n.WriteString(op.Text)
			}
		}
		if o.String() != old || n.String() != new {
			t.Fatalf("diff does not rebuild: old %q→%q new %q→%q", old, o.String(), new, n.String())
		}
	})
}

func TestValidateEmail(t *testing.T) {
	for _, bad := range []string{"", "nope", "a@b", "Ann <a@b.co>", "a@@b.co"} {
		if _, err := ValidateEmail(bad); ErrorCode(err) != EINVALID {
			t.Errorf("ValidateEmail(%q) = %v, want EINVALID", bad, err)
		}
	}
	if got, err := ValidateEmail(" Ann@Example.COM "); err != nil || got != "ann@example.com" {
		t.Errorf("ValidateEmail = %q, %v", got, err)
	}
}

func TestStateDescribe(t *testing.T) {
	for _, tc := range []struct {
		s    State
		want string
	}{
		{StatePendingInternal, "waiting for internal approval"},
		{StatePendingClient, "waiting for client approval"},
		{StateApproved, "approved"},
		{StateWithdrawn, "withdrawn"},
	} {
		if got := tc.s.Describe(); got != tc.want {
			t.Errorf("%s.Describe() = %q, want %q", tc.s, got, tc.want)
		}
	}
}

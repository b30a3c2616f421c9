package mailer

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/templates"
)

// The render goldens pin what people receive, byte for byte, across varied
// drafts: every email event, and the link pages (the form, and the pages
// after a decision, an expired link and an error). Rendering may be made
// faster; it may not change a byte of these without the golden files
// changing with it (-update-golden rewrites them).

// renderViews are drafts that exercise the templates' branches and
// escaping: the compose fixture (a revised draft with a diff, media, a
// schedule and comments), a first revision with nothing optional and
// unnamed people, HTML-special characters (and a NUL and invalid UTF-8)
// everywhere, and a long non-ASCII text on a network that folds captions,
// with described media and a long diff.
func renderViews(tb testing.TB) map[string]*approvals.DraftView {
	tb.Helper()
	_, base, _, _ := composeFixture(tb)
	t0 := base.CreatedAt
	clone := func() *approvals.DraftView {
		v := *base
		v.Decisions = append([]*approvals.Decision(nil), base.Decisions...)
		v.Comments = append([]*approvals.Comment(nil), base.Comments...)
		return &v
	}
	views := map[string]*approvals.DraftView{"fixture": base}

	first := clone()
	first.Revision, first.Current.Number = 1, 1
	first.Account.Name = "" // the handle is shown instead
	first.Author.Name = ""  // the email is shown instead
	first.Current.Text = "Plain first draft.\n\nTwo paragraphs, no diff."
	first.Current.MediaURLs, first.Current.ScheduledAt = nil, nil
	first.Changes, first.Decisions, first.Comments = nil, nil, nil
	views["first"] = first

	special := clone()
	oldSp := `Price: <b>"20%"</b> & 'more' + tax`
	curSp := "Price: <b>\"25%\"</b> & 'less' + tax = 1+1 <script>alert('x')</script> \x00 nul \xff\xfe bad utf-8 </textarea>"
	special.Account.Name = `Acme <b>"Shop"</b> & 'Co' +1`
	special.Author.Name = `Ed "<i>the</i>" Editor & co`
	special.Current.Text = curSp
	special.Current.MediaURLs = []string{`https://cdn.test/a.jpg?x=1&y=<2>"'`, "javascript:alert(1)", "https://cdn.test/ü ñ/é.png"}
	special.Changes = approvals.WordDiff(oldSp, curSp)
	special.Decisions = []*approvals.Decision{
		{ID: 901, DraftID: 4711, Revision: 1, Tier: approvals.TierClient, ApproverID: 21, Approver: `Carla <Client> & "Co"`,
			Verdict: approvals.VerdictReject, Comment: "No <b>bold</b> & no \"quotes\" + 'apostrophes'\r\nplease", Channel: approvals.ChannelEmail, CreatedAt: t0.Add(time.Hour)},
		{ID: 902, DraftID: 4711, Revision: 2, Tier: approvals.TierClient, ApproverID: 22, Approver: "Dan <Client>",
			Verdict: approvals.VerdictApprove, Comment: "OK <3 & \"fine\" + thanks", Channel: approvals.ChannelSlack, CreatedAt: t0.Add(150 * time.Minute)},
	}
	special.Comments = []*approvals.Comment{{ID: 56, DraftID: 4711, Revision: 1, AuthorID: 12, Author: "", Text: "<script>x</script>", Channel: approvals.ChannelAPI, CreatedAt: t0.Add(100 * time.Minute)}}
	views["special"] = special

	long := clone()
	var oldB, curB strings.Builder
	for i := range 40 {
		fmt.Fprintf(&oldB, "Línea %d: café ☕ naïve 日本語のテキスト %d שלום 👩‍👩‍👧 e\u0301 old-%d.\n", i, i*7, i)
		if i%3 == 0 {
			fmt.Fprintf(&curB, "Línea %d: café ☕ naïf 日本語の文章 %d שלום 👩‍👩‍👧 e\u0301 new-%d!\n", i, i*7, i)
		} else {
			fmt.Fprintf(&curB, "Línea %d: café ☕ naïve 日本語のテキスト %d שלום 👩‍👩‍👧 e\u0301 old-%d.\n", i, i*7, i)
		}
	}
	long.Account.Network = approvals.NetworkInstagram
	long.Current.Text = curB.String()
	long.Changes = approvals.WordDiff(oldB.String(), curB.String())
	long.Current.MediaURLs = []string{"https://cdn.test/1.jpg", "https://cdn.test/2.mp4", "https://cdn.test/3.gif", "https://cdn.test/4.pdf"}
	long.Media = []approvals.Media{
		{Index: 0, URL: "https://cdn.test/1.jpg", Kind: approvals.MediaImage, ContentType: "image/jpeg", Size: 245 << 10, Width: 1080, Height: 1350},
		{Index: 1, URL: "https://cdn.test/2.mp4", Kind: approvals.MediaVideo, ContentType: "video/mp4", Size: 12 << 20},
		{Index: 2, URL: "https://cdn.test/3.gif", Reason: "The file could not be fetched: 404 Not Found."},
		{Index: 3, URL: "https://cdn.test/4.pdf", Kind: approvals.MediaOther, ContentType: "application/pdf", Size: 900, Reason: "Not a picture or a video <pdf>."},
	}
	views["long"] = long

	// pictures has thumbnails, which only the link pages show from a view
	// (an email's come from the database; TestRenderGoldenPictures).
	pics := clone()
	*pics = *long
	pics.Media = append([]approvals.Media(nil), long.Media...)
	pics.Media[0].HasThumb = true
	pics.Media[0].Height = 1800 // taller than the feed shows: cropped
	pics.Media[1].HasThumb = true
	views["pictures"] = pics
	return views
}

// renderEvents are the notifications of every event an email is composed
// for, with a comment for those that carry one.
func renderEvents(v *approvals.DraftView, to *approvals.Member, comment string) []*approvals.OutboxMessage {
	var out []*approvals.OutboxMessage
	for i, ev := range []approvals.Event{approvals.EventApprovalRequested, approvals.EventReminder, approvals.EventEscalated,
		approvals.EventRejected, approvals.EventApproved, approvals.EventExpired, approvals.EventAutoApproved} {
		n := approvals.Notification{Event: ev, WorkspaceID: v.WorkspaceID, DraftID: v.ID, Revision: v.Revision, Tier: approvals.TierClient,
			RecipientID: to.ID, Target: to.Email, Channel: approvals.ChannelEmail}
		switch ev {
		case approvals.EventRejected, approvals.EventExpired, approvals.EventAutoApproved:
			n.Comment = comment
		}
		out = append(out, &approvals.OutboxMessage{ID: int64(200 + i), WorkspaceID: v.WorkspaceID, Channel: approvals.ChannelEmail,
			IdempotencyKey: fmt.Sprintf("email/%s/d%d/r%d/m%d", ev, v.ID, v.Revision, to.ID), Payload: n})
	}
	return out
}

// checkGolden compares got with testdata/render/name.golden, or rewrites it
// under -update-golden.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", "render", name+".golden")
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s; got:\n%s", name, file, got)
	}
}

// TestRenderGolden pins the emails of every event for varied drafts and
// recipients.
func TestRenderGolden(t *testing.T) {
	s, _, carla, codec := composeFixture(t)
	views := renderViews(t)
	nameless := &approvals.Member{ID: 23, WorkspaceID: 7, Email: "nameless@client.test", Role: approvals.RoleClient}
	odd := &approvals.Member{ID: 24, WorkspaceID: 7, Email: "odd@client.test", Name: `Zoë "<Odd>" & 'Co'`, Role: approvals.RoleClient}
	tests := []struct {
		view    string
		to      *approvals.Member
		comment string
	}{
		{"fixture", carla, "Not this week <sorry>."},
		{"first", nameless, ""},
		{"special", odd, "Deadline <passed> & \"gone\" + 'done'\nSecond line 🙏"},
		{"long", carla, strings.Repeat("Long comment ünïcödé 🎉. ", 40)},
	}
	for _, tt := range tests {
		t.Run(tt.view, func(t *testing.T) {
			v := views[tt.view]
			var got strings.Builder
			for _, m := range renderEvents(v, tt.to, tt.comment) {
				msg, err := s.compose(context.Background(), m, v, tt.to)
				if err != nil {
					t.Fatalf("%s: %v", m.Payload.Event, err)
				}
				if msg == nil {
					fmt.Fprintf(&got, "===== %s\n(no email)\n", m.Payload.Event)
					continue
				}
				var raw bytes.Buffer
				if _, err := msg.WriteTo(&raw); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&got, "===== %s\n%s", m.Payload.Event, normalized(t, codec, raw.Bytes()))
			}
			checkGolden(t, "email-"+tt.view, got.String())
		})
	}
}

// TestRenderGoldenPictures pins an approval request that carries its
// pictures inline (cid: sources, which need the thumbnails of a database)
// and the mock-up's crop, cropped and not.
func TestRenderGoldenPictures(t *testing.T) {
	s, _, carla, codec := composeFixture(t)
	v := renderViews(t)["long"]
	m := renderEvents(v, carla, "")[0]
	for _, aspect := range []float64{0.8, 0} {
		t.Run(fmt.Sprint(aspect), func(t *testing.T) {
			media := mediaOf(v, func(i int) string {
				if i == 1 {
					return ""
				}
				return "cid:" + cid(i)
			})
			// As compose builds it, with thumbnails inlineMedia would
			// have loaded.
			data := newEmailData(m.Payload, v, carla)
			if err := s.requestData(&data, m.Payload, v, carla, media); err != nil {
				t.Fatal(err)
			}
			data.Post.Aspect, data.Post.Cropped = aspect, aspect > 0
			msg, err := s.message(m, carla.Email, data, templates.ApprovalRequestSubject, templates.ApprovalRequestText, templates.ApprovalRequestHTML)
			if err != nil {
				t.Fatal(err)
			}
			var raw bytes.Buffer
			if _, err := msg.WriteTo(&raw); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, fmt.Sprintf("email-pictures-%v", aspect), normalized(t, codec, raw.Bytes()))
		})
	}
}

// pageFixture is the link pages handler over the compose fixture's
// templates and codec, under a base URL with a path.
func pageFixture(tb testing.TB) (*Links, *Codec) {
	tb.Helper()
	s, _, _, codec := composeFixture(tb)
	cfg := s.cfg
	cfg.BaseURL = "https://agency.test/signoff/"
	return NewLinks(nil, codec, s.tmpl, cfg, nil), codec
}

// normalizedPage is a rendered page, headers and body, with its random
// nonce replaced.
func normalizedPage(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	csp := rec.Header().Get("Content-Security-Policy")
	_, after, ok := strings.Cut(csp, "'nonce-")
	if !ok {
		t.Fatalf("CSP without a nonce: %q", csp)
	}
	nonce, _, _ := strings.Cut(after, "'")
	var b strings.Builder
	fmt.Fprintf(&b, "status %d\n", rec.Code)
	var keys []string
	for k := range rec.Header() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(rec.Header()[k], ", "))
	}
	b.WriteString("\n")
	b.WriteString(rec.Body.String())
	// The page's nonce attributes escape a '+' of the base64.
	out := strings.ReplaceAll(b.String(), nonce, "NONCE")
	return strings.ReplaceAll(out, strings.ReplaceAll(nonce, "+", "&#43;"), "NONCE")
}

// TestRenderGoldenPages pins the link pages: the form of each button
// (with a comment typed and a refusal shown), the page after a decision,
// the expired link's and an error's.
func TestRenderGoldenPages(t *testing.T) {
	h, _ := pageFixture(t)
	views := renderViews(t)
	r := httptest.NewRequest(http.MethodGet, "/l/TOKEN", nil)
	approve := Link{WorkspaceID: 7, DraftID: 4711, Revision: 2, Tier: approvals.TierClient, MemberID: 21, Action: approvals.VerdictApprove, IssuedAt: 1}
	reject := approve
	reject.Action = approvals.VerdictReject
	decided := func(v *approvals.DraftView) page {
		return page{Title: "Done", Tone: "ok", Draft: v, Heading: "Thank you: approved",
			Lines: []string{"You approved revision 2 of this draft. It is now approved.", "The author will be told your comment with the outcome."}}
	}
	tests := []struct {
		name   string
		render func(w http.ResponseWriter)
	}{
		{"form-approve-fixture", func(w http.ResponseWriter) {
			h.formPage(w, r, http.StatusOK, "TOKEN-fixture", approve, views["fixture"], "", "")
		}},
		{"form-reject-special", func(w http.ResponseWriter) {
			h.formPage(w, r, http.StatusUnprocessableEntity, "TOKEN-special", reject, views["special"], "Typed <b>\"before\"</b> & 'after' + more\nline 2", `Refused: "<why>" & how + more`)
		}},
		{"form-approve-first", func(w http.ResponseWriter) {
			h.formPage(w, r, http.StatusOK, "TOKEN-first", approve, views["first"], "", "")
		}},
		{"form-approve-long", func(w http.ResponseWriter) {
			h.formPage(w, r, http.StatusForbidden, "TOKEN-long", approve, views["long"], "", "This link is for approving; use the Reject link from your email to reject. Nothing was recorded.")
		}},
		{"form-reject-pictures", func(w http.ResponseWriter) {
			h.formPage(w, r, http.StatusOK, "TOKEN-pictures", reject, views["pictures"], "", "")
		}},
		{"decided-fixture", func(w http.ResponseWriter) { h.message(w, r, http.StatusOK, decided(views["fixture"])) }},
		{"decided-special", func(w http.ResponseWriter) { h.message(w, r, http.StatusOK, decided(views["special"])) }},
		{"decided-long", func(w http.ResponseWriter) { h.message(w, r, http.StatusOK, decided(views["long"])) }},
		{"expired", func(w http.ResponseWriter) {
			h.message(w, r, http.StatusGone, page{Title: "Link expired", Heading: "This link has expired", Tone: "warn",
				Lines:  []string{"Links are valid for 7 days. Nothing was recorded."},
				Resend: &resendForm{Action: h.prefix + "/l/TOKEN-x/resend", CSRF: h.codec.CSRF("TOKEN-x", purposeResend)}})
		}},
		{"review", func(w http.ResponseWriter) {
			var items []reviewItem
			for _, name := range []string{"fixture", "first", "special", "long"} {
				items = append(items, newReviewItem(views[name]))
			}
			items[2].Comment, items[2].Error = "Typed <b>\"x\"</b> + y", `Refused: "<why>" & how`
			h.renderReview(w, http.StatusOK, reviewPage{Title: "Review drafts", Heading: "Everything waiting on you", Tone: "info",
				Lines: []string{"4 drafts wait on you."}, CSRF: h.codec.CSRF("TOKEN-r", purposeDecide), Items: items,
				All: &allForm{Action: h.prefix + "/r/TOKEN-r/all", CSRF: "csrf+/=", Items: "4711:2,4712:1", Seal: "seal<&>", Label: "Approve all 4", Button: "approve-all"}})
		}},
		{"review-confirm", func(w http.ResponseWriter) {
			h.renderReview(w, http.StatusOK, reviewPage{Title: "Approve all", Heading: "Approve these?", Tone: "warn", Back: h.prefix + "/r/TOKEN-r",
				Confirm: []confirmItem{{ID: 4711, Revision: 2, Account: "Acme <b>", Text: "Text & \"more\""}, {ID: 4712, Revision: 1, Gone: true}},
				Results: []resultLine{{ID: 4711, Outcome: "approved", Text: "Draft 4711: approved <ok>."}}})
		}},
		{"error", func(w http.ResponseWriter) {
			h.message(w, r, http.StatusConflict, page{Title: "Already decided", Heading: `Already <decided> & "done"`, Tone: "info",
				Lines: []string{"Comment: <b>no</b> & \"yes\" + 'maybe'", "Nothing else to do; your link changed nothing."}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.render(rec)
			checkGolden(t, "page-"+tt.name, normalizedPage(t, rec))
		})
	}
}

// discardResponse is a ResponseWriter that keeps nothing but its headers,
// for benchmarks of the pages' rendering alone.
type discardResponse struct{ h http.Header }

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardResponse) WriteHeader(int)             {}

// BenchmarkLinkPage renders the link pages of the compose fixture's draft:
// the page after an email-link decision (what every decision by email
// renders) and the form a link opens.
func BenchmarkLinkPage(b *testing.B) {
	h, _ := pageFixture(b)
	_, v, _, _ := composeFixture(b)
	r := httptest.NewRequest(http.MethodPost, "/l/TOKEN", nil)
	l := Link{WorkspaceID: 7, DraftID: 4711, Revision: 2, Tier: approvals.TierClient, MemberID: 21, Action: approvals.VerdictApprove, IssuedAt: 1}
	b.Run("decided", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := &discardResponse{h: http.Header{}}
			h.message(w, r, http.StatusOK, page{Title: "Done", Tone: "ok", Draft: v, Heading: "Thank you: approved",
				Lines: []string{"You approved revision 2 of this draft. It is now approved."}})
		}
	})
	b.Run("form", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := &discardResponse{h: http.Header{}}
			h.formPage(w, r, http.StatusOK, "TOKEN-fixture", l, v, "", "")
		}
	})
}

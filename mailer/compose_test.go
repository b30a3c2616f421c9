package mailer

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/templates"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite mailer/testdata/*.golden")

// composeFixture is a sender (no database, no SMTP: only Compose's
// rendering is used) with fixed keys and clock, and a realistic view: a
// second revision with a word diff, media, a schedule, a rejection comment
// on the first round and a plain comment.
func composeFixture(tb testing.TB) (*Sender, *approvals.DraftView, *approvals.Member, *Codec) {
	tb.Helper()
	tmpl, err := templates.Load("")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.BaseURL = "https://signoff.agency.test/"
	cfg.Mail.From = "Signoff <signoff@agency.test>"
	cfg.Mail.ReplyTo = "studio@agency.test"
	cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.TLS = "127.0.0.1", 2525, TLSNone
	cfg.Links.Keys = []string{
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f:202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
		"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f:606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f",
	}
	pairs, err := ParseKeys(cfg.Links.Keys)
	if err != nil {
		tb.Fatal(err)
	}
	codec, err := NewCodec(pairs, cfg.Links.TTL)
	if err != nil {
		tb.Fatal(err)
	}
	t0 := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	codec.Now = func() time.Time { return t0.Add(3 * time.Hour) }
	s, err := NewSender(cfg, nil, codec, tmpl, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })

	old := "Summer sale 🌞 starts Friday!\n<b>20%</b> off everything in the shop, online & in store.\n" +
		"Tag a friend who needs new sunglasses 😎 #summer #sale #acme"
	cur := "Summer sale 🌞 starts Saturday!\n<b>25%</b> off everything in the shop, online & in store, until Sunday night.\n" +
		"Tag a friend who needs new sunglasses 😎 #summer #sale #acme #weekend"
	sched := t0.Add(72 * time.Hour)
	view := &approvals.DraftView{
		Draft:   approvals.Draft{ID: 4711, WorkspaceID: 7, AccountID: 31, AuthorID: 12, State: approvals.StatePendingClient, Revision: 2, CreatedAt: t0, UpdatedAt: t0.Add(2 * time.Hour)},
		Account: approvals.Account{ID: 31, WorkspaceID: 7, Handle: "acme-ig", Name: "Acme Instagram", NeedsClientApproval: true, ClientRule: approvals.RuleAny},
		Author:  approvals.Member{ID: 12, WorkspaceID: 7, Email: "ed@agency.test", Name: "Ed Editor", Role: approvals.RoleEditor},
		Current: approvals.Revision{DraftID: 4711, Number: 2, Text: cur, MediaURLs: []string{"https://cdn.agency.test/acme/summer-1.jpg", "https://cdn.agency.test/acme/summer-2.jpg"},
			ScheduledAt: &sched, NeedsClient: true, ClientRule: approvals.RuleAny, CreatedByID: 12, CreatedAt: t0.Add(2 * time.Hour)},
		CurrentTier: approvals.TierClient,
		Changes:     approvals.WordDiff(old, cur),
		Decisions: []*approvals.Decision{{ID: 900, DraftID: 4711, Revision: 1, Tier: approvals.TierClient, ApproverID: 21, Approver: "Carla Client",
			Verdict: approvals.VerdictReject, Comment: "Make it Saturday, and 25% please.\nÉcris « moins » 🙏 <i>merci</i>", Channel: approvals.ChannelEmail, CreatedAt: t0.Add(time.Hour)}},
		Comments: []*approvals.Comment{{ID: 55, DraftID: 4711, Revision: 1, AuthorID: 12, Author: "Ed Editor", Text: "Done, moved to the weekend.", Channel: approvals.ChannelSlack, CreatedAt: t0.Add(90 * time.Minute)}},
	}
	recipient := &approvals.Member{ID: 21, WorkspaceID: 7, Email: "carla@client.test", Name: "Carla Client", Role: approvals.RoleClient}
	return s, view, recipient, codec
}

func composeMessages(view *approvals.DraftView, recipient *approvals.Member) []*approvals.OutboxMessage {
	var out []*approvals.OutboxMessage
	for i, ev := range []approvals.Event{approvals.EventApprovalRequested, approvals.EventReminder, approvals.EventRejected, approvals.EventApproved, approvals.EventExpired} {
		n := approvals.Notification{Event: ev, WorkspaceID: view.WorkspaceID, DraftID: view.ID, Revision: view.Revision, Tier: approvals.TierClient,
			RecipientID: recipient.ID, Target: recipient.Email, Channel: approvals.ChannelEmail}
		if ev == approvals.EventRejected || ev == approvals.EventExpired {
			n.Comment = "Not this week <sorry>."
		}
		out = append(out, &approvals.OutboxMessage{ID: int64(100 + i), WorkspaceID: view.WorkspaceID, Channel: approvals.ChannelEmail,
			IdempotencyKey: fmt.Sprintf("email/%s/d%d/r%d/m%d", ev, view.ID, view.Revision, recipient.ID), Payload: n})
	}
	return out
}

var tokenRe = regexp.MustCompile(`/l/([A-Za-z0-9_=-]+)`)

// normalized is a composed message with what varies from run to run (the
// Date header, the MIME boundary, the random IV of the link tokens)
// replaced after checking it: the headers, then each part decoded.
func normalized(t *testing.T, codec *Codec, raw []byte) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	var b strings.Builder
	var keys []string
	for k := range msg.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	for _, k := range keys {
		for _, v := range msg.Header[k] {
			switch k {
			case "Date":
				if _, err := mail.ParseDate(v); err != nil {
					t.Errorf("Date %q: %v", v, err)
				}
				v = "DATE"
			case "Content-Type":
				v = strings.ReplaceAll(v, params["boundary"], "BOUNDARY")
			}
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "--- part %s %s\n", p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"))
		var body []byte
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body, err = io.ReadAll(quotedprintable.NewReader(p))
		} else {
			body, err = io.ReadAll(p)
		}
		if err != nil {
			t.Fatal(err)
		}
		out := tokenRe.ReplaceAllStringFunc(string(body), func(m string) string {
			l, err := codec.Decode(strings.TrimPrefix(m, "/l/"))
			if err != nil {
				t.Errorf("token %s: %v", m, err)
			}
			return fmt.Sprintf("/l/TOKEN(%+v)", l)
		})
		b.WriteString(out)
		b.WriteString("\n")
	}
	return b.String()
}

// TestComposeGolden pins every byte of the composed emails but the Date,
// the boundary and the tokens' random IVs: rendering changes for speed must
// not change the output. -update-golden rewrites the file.
func TestComposeGolden(t *testing.T) {
	s, view, recipient, codec := composeFixture(t)
	var got strings.Builder
	for _, m := range composeMessages(view, recipient) {
		msg, err := s.compose(context.Background(), m, view, recipient)
		if err != nil {
			t.Fatalf("%s: %v", m.Payload.Event, err)
		}
		var raw bytes.Buffer
		if _, err := msg.WriteTo(&raw); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&got, "===== %s\n%s", m.Payload.Event, normalized(t, codec, raw.Bytes()))
	}
	const file = "testdata/compose.golden"
	if *updateGolden {
		if err := os.WriteFile(file, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("composed emails differ from %s:\n%s", file, got.String())
	}
}

// BenchmarkCompose renders one approval request email (the dispatch
// bench's message) from a loaded view, as Send does after NotificationView.
func BenchmarkCompose(b *testing.B) {
	s, view, recipient, _ := composeFixture(b)
	m := composeMessages(view, recipient)[0]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		msg, err := s.compose(ctx, m, view, recipient)
		if err != nil || msg == nil {
			b.Fatal(err)
		}
	}
}

package mailer_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/mailpit"
	"github.com/signoff-app/signoff/mailer"
	"github.com/signoff-app/signoff/media"
)

// mediaServer serves real pictures made by the test, and the files a
// preview must refuse.
type mediaServer struct {
	*httptest.Server
	port string
}

func newMediaServer(t *testing.T) *mediaServer {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	mux.HandleFunc("/summer.png", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(pngPicture(t, 1080, 1350)) })
	mux.HandleFunc("/wide.png", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(pngPicture(t, 1600, 900)) })
	mux.HandleFunc("/tall.png", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(pngPicture(t, 300, 900)) })
	mux.HandleFunc("/huge.bin", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(make([]byte, 2<<20)) })
	mux.HandleFunc("/bomb.png", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(pngBomb(t)) })
	mux.HandleFunc("/page.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte("<!DOCTYPE html><title>not a picture</title>"))
	})
	mux.HandleFunc("/gone.png", http.NotFound)
	return &mediaServer{Server: srv, port: port}
}

func (s *mediaServer) at(host, path string) string { return "http://" + host + ":" + s.port + path }

func pngPicture(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngBomb is a PNG of a few bytes whose header claims 60000×60000 pixels.
func pngBomb(t testing.TB) []byte {
	b := pngPicture(t, 1, 1)
	binary.BigEndian.PutUint32(b[16:], 60000)
	binary.BigEndian.PutUint32(b[20:], 60000)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// names resolves the test's host names.
type names map[string]string

func (n names) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := n[host]; ok {
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// withMedia gives the fixture's service a fetcher and lets the workspace
// fetch from cdn.test and 127.0.0.1.
func (f *fixture) withMedia(cfg media.Config) {
	f.t.Helper()
	cfg.MaxBytes = 1 << 20
	f.svc.MediaFetcher = media.New(cfg, names{"cdn.test": "127.0.0.1", "evil.test": "127.0.0.1"})
	hosts := "cdn.test, 127.0.0.1"
	f.Must(f.svc.SetWorkspace(f.ctx, approvals.Operator(f.ws), approvals.WorkspaceSettings{MediaHosts: &hosts}))
}

func (f *fixture) submitWith(text string, urls ...string) *approvals.DraftView {
	f.t.Helper()
	v, err := f.svc.Submit(f.ctx, f.as(author), approvals.DraftInput{Account: handle, Text: text, MediaURLs: urls})
	f.OK(err)
	return v
}

// getBody fetches url and returns the status, content type and body.
func getBody(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// A submission with one good picture and every kind of file a preview must
// refuse: the draft goes to its approvers as any other; the picture is a
// thumbnail in the email (inline part), on the link page (under the link's
// token) and under a signed URL (Slack); each refused file is a link with
// its reason.
func TestMediaPreviews(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	f.withMedia(media.Config{AllowPrivate: true})
	ms := newMediaServer(t)

	urls := []string{
		ms.at("cdn.test", "/summer.png"),
		ms.at("evil.test", "/summer.png"),
		ms.at("cdn.test", "/huge.bin"),
		ms.at("cdn.test", "/bomb.png"),
		ms.at("cdn.test", "/page.png"),
		ms.at("cdn.test", "/gone.png"),
	}
	reasons := []string{
		"",
		"not previewed: the workspace does not allow media from this host",
		"not previewed: file too large to preview",
		"not previewed: picture too large to preview (60000×60000 pixels)",
		"not previewed: not an image or a video (text/html)",
		"not previewed: the server answered HTTP 404",
	}
	v := f.submitWith("Summer is here ☀️ #summer", urls...)
	if v.State != approvals.StatePendingClient || v.Revision != 1 {
		t.Fatalf("draft is %s at revision %d, want pending_client at 1: a refused file must not change the submission", v.State, v.Revision)
	}
	if len(v.Media) != len(urls) {
		t.Fatalf("%d media, want %d", len(v.Media), len(urls))
	}
	for i, m := range v.Media {
		if !strings.HasPrefix(m.Reason, reasons[i]) || (reasons[i] == "") != (m.Reason == "") {
			t.Errorf("media %d: reason %q, want %q", i, m.Reason, reasons[i])
		}
		if m.HasThumb != (i == 0) {
			t.Errorf("media %d: HasThumb %v", i, m.HasThumb)
		}
	}
	if m := v.Media[0]; m.Kind != approvals.MediaImage || m.Width != 1080 || m.Height != 1350 || m.ContentType != "image/png" {
		t.Errorf("picture: %+v", m)
	}
	// The outbox holds the two requests any submission makes, no more.
	if n := len(f.outbox()); n != 2 {
		t.Errorf("%d outbox messages, want 2", n)
	}

	f.dispatch()
	msg := mp.MessageTo(client1, "Approval needed")
	var parts struct {
		Inline []struct {
			PartID, FileName, ContentType, ContentID string
		}
		Attachments []struct{ FileName string }
	}
	mp.Get("/api/v1/message/"+msg.ID, &parts)
	if len(parts.Inline) != 1 || parts.Inline[0].ContentID != "picture-1.jpg" || parts.Inline[0].ContentType != "image/jpeg" || len(parts.Attachments) != 0 {
		t.Fatalf("inline parts %+v, attachments %+v: want the one thumbnail inline", parts.Inline, parts.Attachments)
	}
	if !strings.Contains(msg.HTML, `src="cid:picture-1.jpg"`) {
		t.Errorf("the email's HTML does not show the inline picture")
	}
	if strings.Contains(msg.HTML, `src="http`) {
		t.Errorf("the email loads a remote image")
	}
	for _, r := range reasons[1:] {
		if !strings.Contains(msg.Text, r) || !strings.Contains(msg.HTML, r[:40]) {
			t.Errorf("the email does not say %q", r)
		}
	}

	// The link page shows the thumbnail from Signoff, under the link's token.
	approve, _ := linksIn(t, msg.Text)
	status, hd, page := getBody(t, approve)
	if status != http.StatusOK || !strings.Contains(hd.Get("Content-Security-Policy"), "img-src 'self'") {
		t.Fatalf("link page: %d, CSP %q", status, hd.Get("Content-Security-Policy"))
	}
	srcs := regexp.MustCompile(`<img src="([^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(srcs) != 2 { // the mock-up's and the media list's
		t.Fatalf("%d pictures on the link page, want 2:\n%s", len(srcs), page)
	}
	pic := srcs[0][1]
	if !strings.HasPrefix(pic, "/l/") || !strings.HasSuffix(pic, "/media/0") {
		t.Fatalf("picture source %q is not under the link", pic)
	}
	status, hd, body := getBody(t, f.srv.URL+pic)
	if status != http.StatusOK || hd.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("thumbnail: %d %s", status, hd.Get("Content-Type"))
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(body)); err != nil || cfg.Width != media.ThumbWidth || cfg.Height != 800 {
		t.Fatalf("thumbnail %dx%d, %v; want %d×800", cfg.Width, cfg.Height, err, media.ThumbWidth)
	}
	for _, r := range reasons[1:] {
		if !strings.Contains(string(page), r[:40]) {
			t.Errorf("the link page does not say %q", r)
		}
	}

	// Slack's image blocks load the picture from a signed public URL.
	signed := mailer.PictureURLs(f.codec, f.srv.URL)(f.wsID, v.ID, 1, 0)
	if status, hd, _ := getBody(t, signed); status != http.StatusOK || hd.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("signed picture URL: %d %s", status, hd.Get("Content-Type"))
	}

	// Attempts: every one is a bare 404 that says nothing.
	stranger, err := f.svc.AddMember(f.ctx, approvals.Operator(f.ws), "eve@elsewhere.test", "Eve", approvals.RoleClient)
	f.OK(err)
	strangerTok, err := f.codec.Encode(mailer.Link{WorkspaceID: f.wsID, DraftID: v.ID, Revision: 1, Tier: approvals.TierClient, MemberID: stranger.ID, Action: approvals.VerdictApprove})
	f.OK(err)
	tok := f.token(v.ID, 1, client1, approvals.VerdictApprove)
	before := f.snapshot(v.ID)
	for name, path := range map[string]string{
		"a member with no access to the account": "/l/" + strangerTok + "/media/0",
		"a media without a thumbnail":            "/l/" + tok + "/media/1",
		"an index out of range":                  "/l/" + tok + "/media/99",
		"a revision that does not exist":         "/l/" + f.token(v.ID, 2, client1, approvals.VerdictApprove) + "/media/0",
		"a forged link token":                    "/l/" + tok[:len(tok)-4] + "AAAA/media/0",
		"a link token as a signed picture URL":   "/m/" + tok,
		"a tampered signed picture URL":          "/m/" + strings.TrimPrefix(signed, f.srv.URL+"/m/")[:20] + "x",
		"another draft's picture":                "/l/" + f.token(v.ID+1, 1, client1, approvals.VerdictApprove) + "/media/0",
	} {
		status, hd, body := getBody(t, f.srv.URL+path)
		if status != http.StatusNotFound || strings.HasPrefix(hd.Get("Content-Type"), "image/") {
			t.Errorf("%s: %d %s %q, want a bare 404", name, status, hd.Get("Content-Type"), body)
		}
	}
	if after := f.snapshot(v.ID); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the attempts changed the draft or the outbox:\n%+v\n%+v", before, after)
	}

	// Once the draft is withdrawn, its signed picture URL serves nothing.
	_, err = f.svc.Withdraw(f.ctx, f.as(author), v.ID)
	f.OK(err)
	if status, _, _ := getBody(t, signed); status != http.StatusNotFound {
		t.Errorf("signed picture URL of a withdrawn draft: %d, want 404", status)
	}
}

// The mock-up of an Instagram post: a 1:3 picture cropped to 4:5 as the
// feed crops it, the caption cut after about 125 characters with "… more"
// and the whole text below, in the email and on the link page.
func TestMockupOnInstagram(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	f.withMedia(media.Config{AllowPrivate: true})
	ms := newMediaServer(t)
	ig := approvals.NetworkInstagram
	_, err := f.svc.SetAccount(f.ctx, approvals.Operator(f.ws), handle, approvals.AccountSettings{Network: &ig})
	f.OK(err)
	text := strings.Repeat("Spring arrivals in store this week. ", 5) + "THE-TAIL-WORDS"
	f.submitWith(text, ms.at("cdn.test", "/tall.png"))
	f.dispatch()
	msg := mp.MessageTo(client1, "Approval needed")
	approve, _ := linksIn(t, msg.Text)
	_, _, page := getBody(t, approve)
	for name, body := range map[string]string{"email": msg.HTML, "link page": string(page)} {
		if !strings.Contains(body, "… more") {
			t.Errorf("%s: the caption is not cut with … more", name)
		}
		if strings.Count(body, "THE-TAIL-WORDS") != 1 {
			t.Errorf("%s: the full text is not shown once below the mock-up", name)
		}
		if !strings.Contains(body, "Instagram") {
			t.Errorf("%s: the mock-up does not name the network", name)
		}
	}
	if !strings.Contains(msg.HTML, "padding-top:125.00%") {
		t.Errorf("email: the picture is not cropped to 4:5")
	}
	if !strings.Contains(string(page), "aspect-ratio:0.8000") {
		t.Errorf("link page: the picture is not cropped to 4:5")
	}
}

// Without allow_private, a picture on a loopback address, by IP or by a
// name that resolves to one, is refused with its reason, and the draft is
// submitted all the same.
func TestMediaPrivateAddressRefused(t *testing.T) {
	f := newFixture(t, nil)
	f.withMedia(media.Config{})
	ms := newMediaServer(t)
	v := f.submitWith("Private", ms.at("127.0.0.1", "/summer.png"), ms.at("cdn.test", "/summer.png"))
	if v.State != approvals.StatePendingClient {
		t.Fatalf("draft is %s", v.State)
	}
	for i, want := range []string{"not previewed: 127.0.0.1 is a private or local address", "not previewed: cdn.test resolves to a private or local address"} {
		if m := v.Media[i]; m.HasThumb || m.Reason != want {
			t.Errorf("media %d: %+v, want reason %q", i, m, want)
		}
	}
}

// A revision that restates no media keeps the previous revision's
// previews and thumbnails; one that names new media fetches them.
func TestMediaCarriedOverOnRevise(t *testing.T) {
	f := newFixture(t, nil)
	f.withMedia(media.Config{AllowPrivate: true})
	ms := newMediaServer(t)
	v := f.submitWith("First", ms.at("cdn.test", "/summer.png"))
	v2, err := f.svc.Revise(f.ctx, f.as(author), v.ID, approvals.DraftInput{Text: "Second"})
	f.OK(err)
	if len(v2.Media) != 1 || !v2.Media[0].HasThumb {
		t.Fatalf("revision 2 media %+v, want revision 1's", v2.Media)
	}
	if _, err := f.svc.MediaThumb(f.ctx, f.as(client1), v.ID, 2, 0); err != nil {
		t.Fatalf("thumbnail of revision 2: %v", err)
	}
	v3, err := f.svc.Revise(f.ctx, f.as(author), v.ID, approvals.DraftInput{Text: "Third", MediaURLs: []string{ms.at("cdn.test", "/wide.png")}})
	f.OK(err)
	if len(v3.Media) != 1 || v3.Media[0].Width != 1600 {
		t.Fatalf("revision 3 media %+v, want the new picture", v3.Media)
	}
}

// screenshotDir is where the phone tests write their screenshots:
// $SCREENSHOT_DIR when set, else a temporary directory; the test logs it.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkPhone loads url in Chromium at 375×812 and checks that nothing
// scrolls sideways and that every button (sel) is at least 44 px high; it
// writes a screenshot to dir/name.png.
func checkPhone(t *testing.T, ctx context.Context, url, buttons, dir, name string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile),
		chromedp.Navigate(url),
		chromedp.WaitReady(chromedp.CSS("body")),
	); err != nil {
		t.Fatalf("%s: open: %v", name, err)
	}
	// Wait for the pictures, so the screenshot shows them.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`Promise.all([...document.images].map(i => i.complete ? 1 : new Promise(r => { i.onload = i.onerror = r }))).then(() => true)`,
		chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("%s: wait for pictures: %v", name, err)
	}
	type layout struct {
		ScrollWidth, ClientWidth int
		Buttons                  []float64
		Broken                   int
		FontSize                 float64
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[layout](`({
		ScrollWidth: document.documentElement.scrollWidth,
		ClientWidth: document.documentElement.clientWidth,
		Buttons: [...document.querySelectorAll(`+"`"+buttons+"`"+`)].map(b => b.getBoundingClientRect().height),
		Broken: [...document.images].filter(i => i.naturalWidth === 0).length,
		FontSize: parseFloat(getComputedStyle(document.body).fontSize),
	})`))
	if err != nil {
		t.Fatalf("%s: measure: %v", name, err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("%s: screenshot: %v", name, err)
	}
	file := filepath.Join(dir, name+".png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s at 375×812: %s", name, file)
	if got.ScrollWidth > got.ClientWidth {
		t.Errorf("%s scrolls sideways at 375 px: scrollWidth %d > clientWidth %d", name, got.ScrollWidth, got.ClientWidth)
	}
	if len(got.Buttons) == 0 {
		t.Errorf("%s: no buttons matched %s", name, buttons)
	}
	for i, h := range got.Buttons {
		if h < 44 {
			t.Errorf("%s: button %d is %.0f px high, want at least 44", name, i+1, h)
		}
	}
	if got.Broken != 0 {
		t.Errorf("%s: %d broken pictures", name, got.Broken)
	}
	if got.FontSize < 16 {
		t.Errorf("%s: body text is %.0f px, want at least 16", name, got.FontSize)
	}
}

// The approval email and the link page read well on a phone: no sideways
// scrolling at 375 px, buttons at least 44 px high, pictures shown. The
// email is the HTML mailpit received, its cid: pictures pointed at
// mailpit's copies of the inline parts.
func TestPhoneLayout(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	f.withMedia(media.Config{AllowPrivate: true})
	ms := newMediaServer(t)
	ctx := browser(t)
	dir := screenshotDir(t)

	long := strings.Repeat("Supercalifragilisticexpialidocious", 4)
	f.submitWith("Summer collection drops Friday ☀️ Bright colours, light fabrics and our new sunglasses line, made to last all season long. Come by on Saturday for 20% off. "+long+"\n#summer #acme",
		ms.at("cdn.test", "/summer.png"), ms.at("cdn.test", "/gone.png"), ms.at("cdn.test", "/summer.png?"+long))
	f.dispatch()
	msg := mp.MessageTo(client1, "Approval needed")

	var parts struct {
		Inline []struct{ PartID, ContentID string }
	}
	mp.Get("/api/v1/message/"+msg.ID, &parts)
	html := msg.HTML
	for _, p := range parts.Inline {
		html = strings.ReplaceAll(html, "cid:"+p.ContentID, fmt.Sprintf("http://127.0.0.1:%d/api/v1/message/%s/part/%s", mp.HTTPPort, msg.ID, p.PartID))
	}
	email := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, html)
	}))
	t.Cleanup(email.Close)
	checkPhone(t, ctx, email.URL, `a[href*="/l/"]`, dir, "approval-email")

	approve, _ := linksIn(t, msg.Text)
	checkPhone(t, ctx, approve, `button, input[type=submit]`, dir, "link-page")
}

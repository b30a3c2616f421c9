package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/media"
)

// picture makes a real w×h image in the format named.
func picture(t testing.TB, format string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 120, 255})
		}
	}
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "gif":
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bomb is a small PNG whose header claims 60000×60000 pixels: decoding it
// would allocate gigabytes.
func bomb(t testing.TB) []byte {
	t.Helper()
	b := picture(t, "png", 1, 1)
	// IHDR's width and height are bytes 16–23, its CRC (over type and
	// data) bytes 29–32.
	out := append([]byte{}, b...)
	binary.BigEndian.PutUint32(out[16:], 60000)
	binary.BigEndian.PutUint32(out[20:], 60000)
	binary.BigEndian.PutUint32(out[29:], crc32.ChecksumIEEE(out[12:29]))
	return out
}

// resolver maps test names to addresses.
type resolver map[string]string

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	a, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

func TestFetch(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	big := picture(t, "png", 1200, 900)
	mux.HandleFunc("/a.png", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(big) })
	mux.HandleFunc("/a.jpg", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(picture(t, "jpeg", 300, 200)) })
	mux.HandleFunc("/a.gif", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(picture(t, "gif", 40, 30)) })
	// The smallest lossless WebP: one pixel (x/image has no WebP encoder).
	mux.HandleFunc("/a.webp", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"))
	})
	mux.HandleFunc("/clip.mp4", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = w.Write([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"))
	})
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png") // lies
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body>hi</body></html>"))
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(make([]byte, 3<<20)) })
	mux.HandleFunc("/bomb.png", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(bomb(t)) })
	mux.HandleFunc("/gone", http.NotFound)
	mux.HandleFunc("/to-private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://inside.test:"+port+"/a.png", http.StatusFound)
	})
	mux.HandleFunc("/to-other", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://evil.test:"+port+"/a.png", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })

	// cdn.test is the workspace's host and resolves to the test server;
	// 127.0.0.1 counts as public here so that only what the test names is
	// private: 10.x and 127.0.0.2.
	names := resolver{"cdn.test": "127.0.0.1", "inside.test": "10.1.2.3", "loop.test": "127.0.0.2", "evil.test": "127.0.0.1"}
	public := func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") || media.Public(a) }
	allowed := func(h string) bool {
		return h == "cdn.test" || h == "inside.test" || h == "loop.test" || h == "127.0.0.2"
	}
	at := func(host, path string) string { return "http://" + host + ":" + port + path }

	tests := []struct {
		name, url string
		kind      approvals.MediaKind
		w, h      int
		thumb     bool
		reason    string
	}{
		{"png", at("cdn.test", "/a.png"), approvals.MediaImage, 1200, 900, true, ""},
		{"jpeg", at("cdn.test", "/a.jpg"), approvals.MediaImage, 300, 200, true, ""},
		{"gif", at("cdn.test", "/a.gif"), approvals.MediaImage, 40, 30, true, ""},
		{"webp", at("cdn.test", "/a.webp"), approvals.MediaImage, 1, 1, true, ""},
		{"video", at("cdn.test", "/clip.mp4"), approvals.MediaVideo, 0, 0, false, ""},
		{"host not allowed", at("evil.test", "/a.png"), "", 0, 0, false, "host evil.test is not allowed"},
		{"private by name", at("inside.test", "/a.png"), "", 0, 0, false, "inside.test resolves to a private or local address"},
		{"loopback by name", at("loop.test", "/a.png"), "", 0, 0, false, "resolves to a private or local address"},
		{"private literal", at("127.0.0.2", "/a.png"), "", 0, 0, false, "private or local address"},
		{"redirect to private", at("cdn.test", "/to-private"), "", 0, 0, false, "inside.test resolves to a private or local address"},
		{"redirect to other host", at("cdn.test", "/to-other"), "", 0, 0, false, "redirected to host evil.test, which is not allowed"},
		{"redirect loop", at("cdn.test", "/loop"), "", 0, 0, false, "too many redirects"},
		{"oversize", at("cdn.test", "/huge"), "", 0, 0, false, "file too large to preview"},
		{"bomb", at("cdn.test", "/bomb.png"), approvals.MediaImage, 60000, 60000, false, "picture too large to preview (60000×60000 pixels)"},
		{"not an image", at("cdn.test", "/page"), approvals.MediaOther, 0, 0, false, "not an image or a video (text/html)"},
		{"404", at("cdn.test", "/gone"), "", 0, 0, false, "HTTP 404"},
		{"not http", "ftp://cdn.test/a.png", "", 0, 0, false, "not an http or https URL"},
	}
	f := media.New(media.Config{MaxBytes: 2 << 20}, names)
	f.SetPublic(public)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, th := f.Fetch(context.Background(), tc.url, allowed)
			if tc.reason == "" && m.Reason != "" || !strings.Contains(m.Reason, tc.reason) {
				t.Fatalf("reason %q, want %q", m.Reason, tc.reason)
			}
			if m.Kind != tc.kind || m.Width != tc.w || m.Height != tc.h {
				t.Errorf("got %s %d×%d, want %s %d×%d", m.Kind, m.Width, m.Height, tc.kind, tc.w, tc.h)
			}
			if (th != nil) != tc.thumb || m.HasThumb != tc.thumb {
				t.Fatalf("thumb %v (HasThumb %v), want %v", th != nil, m.HasThumb, tc.thumb)
			}
			if th != nil {
				cfg, err := jpeg.DecodeConfig(bytes.NewReader(th.Data))
				if err != nil || th.ContentType != "image/jpeg" {
					t.Fatalf("thumbnail %s is not a JPEG: %v", th.ContentType, err)
				}
				if cfg.Width > media.ThumbWidth || cfg.Width*tc.h/tc.w-cfg.Height > 1 {
					t.Errorf("thumbnail %d×%d of a %d×%d picture", cfg.Width, cfg.Height, tc.w, tc.h)
				}
			}
		})
	}
}

// The real check, with no test hook: a loopback server is refused unless
// allow_private is set.
func TestFetchPrivateUnlessAllowed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(picture(t, "png", 10, 10)) }))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	all := func(string) bool { return true }
	m, th := media.New(media.Config{}, nil).Fetch(context.Background(), srv.URL, all)
	if th != nil || !strings.Contains(m.Reason, "private or local address") {
		t.Fatalf("loopback fetched: %+v", m)
	}
	m, th = media.New(media.Config{AllowPrivate: true}, nil).Fetch(context.Background(), srv.URL, all)
	if th == nil || m.Reason != "" || m.Width != 10 {
		t.Fatalf("allow_private: %+v from %s", m, u.Host)
	}
}

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2a00:1450::1": true, "127.0.0.1": false, "10.0.0.1": false, "172.16.5.5": false,
		"192.168.1.1": false, "169.254.169.254": false, "0.0.0.0": false, "::1": false, "::": false,
		"fe80::1": false, "fc00::1": false, "224.0.0.1": false, "100.64.0.1": false, "::ffff:127.0.0.1": false,
		"::ffff:10.0.0.1": false, "::7f00:1": false, "2002:7f00:1::1": false, "64:ff9b:1::a00:1": false, "fec0::1": false, "203.0.113.7": false,
	} {
		if got := media.Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestTallThumbnail: a tall picture's thumbnail is bounded in height too,
// so it stays small enough to keep.
func TestTallThumbnail(t *testing.T) {
	f := media.New(media.Config{}, nil)
	m, th, err := f.Inspect(picture(t, "png", 1080, 20000), "image/png")
	if err != nil || th == nil {
		t.Fatalf("no thumbnail: %v", err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(th.Data))
	if err != nil {
		t.Fatal(err)
	}
	if m.Width != 1080 || m.Height != 20000 || cfg.Height != media.ThumbHeight || cfg.Width > media.ThumbWidth {
		t.Fatalf("picture %d×%d, thumbnail %d×%d", m.Width, m.Height, cfg.Width, cfg.Height)
	}
}

// Package media fetches the media files of a draft for its previews: the
// type, size and dimensions of each, and a small JPEG thumbnail of a
// picture. It is approvals.MediaFetcher.
//
// Fetching is safe by construction. The core says which hosts a workspace
// allows, and the fetcher asks it again for every redirect. Whatever a name
// resolves to, the connection is made only to a public address: the check
// runs on the resolved address at dial time, so neither a redirect nor a
// DNS name pointing at 127.0.0.1 or 10.x reaches the inside of the network
// (Config.AllowPrivate lifts this for tests and `make dev`). Bodies are
// read through a size limit, the whole fetch has a time limit, and a
// picture's dimensions are read before it is decoded, so a small file that
// would decode into gigabytes is refused.
package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/signoff-app/signoff/approvals"
)

// Defaults for Config.
const (
	DefaultMaxBytes  = 20 << 20 // 20 MiB
	DefaultTimeout   = 2500 * time.Millisecond
	DefaultMaxPixels = 25_000_000 // a 6000×4000 picture, 200 MB decoded at 16 bits
	// decoders is how many pictures one process decodes at once: decoding
	// is what costs memory (up to 8 bytes a pixel), so it is bounded
	// whatever number of submissions arrive together.
	decoders            = 2
	DefaultMaxRedirects = 3
	// ThumbWidth and ThumbHeight bound a thumbnail; smaller pictures keep
	// their size. A thumbnail is at most maxThumbBytes, as the store keeps it.
	ThumbWidth    = 640
	ThumbHeight   = 1600
	maxThumbBytes = 1 << 20
)

// Config is the media.* settings.
type Config struct {
	// AllowPrivate lets the fetcher connect to loopback and private
	// addresses: for tests and `make dev` only (media.allow_private).
	AllowPrivate bool `mapstructure:"allow_private"`
	// MaxBytes bounds a file (media.max_bytes); Timeout one fetch, and a
	// revision's media fetched at once (media.timeout); MaxPixels a
	// picture's width × height.
	MaxBytes  int64         `mapstructure:"max_bytes"`
	Timeout   time.Duration `mapstructure:"timeout"`
	MaxPixels int64         `mapstructure:"max_pixels"`
}

// WithDefaults returns c with zero limits defaulted.
func (c Config) WithDefaults() Config {
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxPixels <= 0 {
		c.MaxPixels = DefaultMaxPixels
	}
	return c
}

// Resolver finds the addresses of a host name; *net.Resolver is one, and a
// test maps names to addresses of its choosing.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Fetcher is the approvals.MediaFetcher.
type Fetcher struct {
	cfg      Config
	resolver Resolver
	client   *http.Client
	public   func(netip.Addr) bool // Public; tests replace it
	decoding chan struct{}         // a slot per picture being decoded
}

var _ approvals.MediaFetcher = (*Fetcher)(nil)

// New returns a Fetcher; resolver nil uses the system's.
func New(cfg Config, resolver Resolver) *Fetcher {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	f := &Fetcher{cfg: cfg.WithDefaults(), resolver: resolver, public: Public, decoding: make(chan struct{}, decoders)}
	tr := &http.Transport{
		// No proxy: a proxy would connect on our behalf, past the checks.
		Proxy:                 nil,
		DialContext:           f.dial,
		TLSHandshakeTimeout:   f.cfg.Timeout,
		ResponseHeaderTimeout: f.cfg.Timeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true, // the size limit counts the bytes on the wire
	}
	f.client = &http.Client{Transport: tr}
	return f
}

// refusal is a fetch the rules refused; its message is the reader's reason.
type refusal struct{ reason string }

func (r *refusal) Error() string { return r.reason }

func refuse(format string, args ...any) error { return &refusal{reason: fmt.Sprintf(format, args...)} }

// Fetch fetches rawURL and returns what it holds and, for a picture, its
// thumbnail; what went wrong is Media.Reason.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, allowed func(host string) bool) (approvals.Media, *approvals.Thumb) {
	m := approvals.Media{URL: rawURL}
	thumb, err := f.fetch(ctx, rawURL, allowed, &m)
	if err != nil {
		m.Reason = reason(err)
		return m, nil
	}
	m.HasThumb = thumb != nil
	return m, thumb
}

func (f *Fetcher) fetch(ctx context.Context, rawURL string, allowed func(string) bool, m *approvals.Media) (*approvals.Thumb, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, refuse("not an http or https URL")
	}
	if !allowed(u.Hostname()) {
		return nil, refuse("host %s is not allowed for media in this workspace", u.Hostname())
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, refuse("not a valid URL")
	}
	req.Header.Set("User-Agent", "Signoff media preview")
	req.Header.Set("Accept", "image/*, video/*")
	client := *f.client
	client.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) > DefaultMaxRedirects {
			return refuse("too many redirects")
		}
		if r.URL.Scheme != "http" && r.URL.Scheme != "https" {
			return refuse("redirected to a URL that is not http or https")
		}
		if !allowed(r.URL.Hostname()) {
			return refuse("redirected to host %s, which is not allowed for media in this workspace", r.URL.Hostname())
		}
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, refuse("the server answered HTTP %d", resp.StatusCode)
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return nil, refuse("file too large to preview (%s; the limit is %s)", size(resp.ContentLength), size(f.cfg.MaxBytes))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > f.cfg.MaxBytes {
		return nil, refuse("file too large to preview (over %s)", size(f.cfg.MaxBytes))
	}
	m.Size = int64(len(data))
	ctype := contentType(resp.Header.Get("Content-Type"), data)
	m.ContentType = ctype
	switch {
	case strings.HasPrefix(ctype, "video/"):
		m.Kind = approvals.MediaVideo
		return nil, nil
	case !strings.HasPrefix(ctype, "image/"):
		m.Kind = approvals.MediaOther
		return nil, refuse("not an image or a video (%s)", ctype)
	}
	m.Kind = approvals.MediaImage
	return f.thumbnail(ctx, data, ctype, m)
}

// contentType is what the body holds: the sniffed type when it knows one,
// else the server's word; a server's "image/png" on an HTML page is not
// believed.
func contentType(header string, data []byte) string {
	sniffed := http.DetectContentType(data)
	if i := strings.IndexByte(sniffed, ';'); i >= 0 {
		sniffed = sniffed[:i]
	}
	declared := strings.ToLower(strings.TrimSpace(strings.Split(header, ";")[0]))
	if sniffed == "application/octet-stream" && (strings.HasPrefix(declared, "video/") || declared == "image/webp") {
		return declared
	}
	return sniffed
}

func (f *Fetcher) thumbnail(ctx context.Context, data []byte, ctype string, m *approvals.Media) (*approvals.Thumb, error) {
	var decodeConfig func(io.Reader) (image.Config, error)
	var decode func(io.Reader) (image.Image, error)
	switch ctype {
	case "image/jpeg":
		decodeConfig, decode = jpeg.DecodeConfig, jpeg.Decode
	case "image/png":
		decodeConfig, decode = png.DecodeConfig, png.Decode
	case "image/gif":
		decodeConfig, decode = gif.DecodeConfig, gif.Decode // the first frame
	case "image/webp":
		decodeConfig, decode = webp.DecodeConfig, webp.Decode
	default:
		return nil, refuse("a picture of type %s, which cannot be previewed", ctype)
	}
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, refuse("the picture could not be read (%s)", ctype)
	}
	m.Width, m.Height = cfg.Width, cfg.Height
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > f.cfg.MaxPixels {
		return nil, refuse("picture too large to preview (%d×%d pixels)", cfg.Width, cfg.Height)
	}
	select {
	case f.decoding <- struct{}{}:
		defer func() { <-f.decoding }()
	case <-ctx.Done():
		return nil, refuse("the preview took too long")
	}
	if ctx.Err() != nil {
		return nil, refuse("the preview took too long")
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, refuse("the picture could not be read (%s)", ctype)
	}
	if ctx.Err() != nil {
		return nil, refuse("the preview took too long")
	}
	w, h := cfg.Width, cfg.Height
	if w > ThumbWidth {
		w, h = ThumbWidth, max(1, h*ThumbWidth/cfg.Width)
	}
	if h > ThumbHeight {
		w, h = max(1, w*ThumbHeight/h), ThumbHeight
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	// Transparent areas show on white, as on the networks' light themes.
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Over, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 82}); err != nil {
		return nil, fmt.Errorf("encode thumbnail: %w", err)
	}
	if out.Len() > maxThumbBytes {
		return nil, refuse("the picture's preview came out too large")
	}
	return &approvals.Thumb{Index: m.Index, ContentType: "image/jpeg", Data: out.Bytes()}, nil
}

// dial connects to a public address of addr's host, or refuses.
func (f *Fetcher) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		if !f.cfg.AllowPrivate && !f.public(ip) {
			return nil, refuse("%s is a private or local address", host)
		}
		addrs = []netip.Addr{ip}
	} else {
		addrs, err = f.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, refuse("the host name %s could not be resolved", host)
		}
	}
	var lastErr error = refuse("the host name %s has no address", host)
	for _, ip := range addrs {
		if !f.cfg.AllowPrivate && !f.public(ip) {
			// One private address among public ones is refused outright:
			// the name is not one a public CDN would publish.
			return nil, refuse("%s resolves to a private or local address", host)
		}
	}
	d := &net.Dialer{Timeout: f.cfg.Timeout, Control: f.control}
	for _, ip := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// control checks the address the socket is about to connect to, the last
// word whatever resolved it.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	if f.cfg.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refuse("an address that could not be checked")
	}
	if !f.public(ap.Addr()) {
		return refuse("a private or local address")
	}
	return nil
}

// Public reports whether ip is a public unicast address: not loopback,
// private (RFC 1918, unique local), shared (100.64/10), link-local,
// unspecified, multicast or otherwise reserved.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("::/96"),           // IPv4-compatible, e.g. ::7f00:1
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds any IPv4 address
	netip.MustParsePrefix("fec0::/10"),       // site-local
	netip.MustParsePrefix("2001:db8::/32"),
}

// reason words a failed fetch for the reader.
func reason(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return "not previewed: " + r.reason
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "not previewed: the server took too long"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "not previewed: the server took too long"
	}
	return "not previewed: the file could not be fetched"
}

func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", n>>10)
}

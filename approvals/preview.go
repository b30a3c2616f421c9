package approvals

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Media previews. The core decides which hosts a workspace allows and what a
// fetch's result means for a revision; a MediaFetcher (package media) does
// the fetching and decoding, and refuses private addresses itself since only
// it sees where a name resolves.
//
// Scheduling: Submit and Revise fetch a revision's media before their
// transaction, all URLs at once and within MediaTimeout in total, and store
// what they learned with the revision. So the approval request, which the
// outbox builds from the stored revision, already shows the thumbnails, and
// no transaction or lock is held across the network. A fetch never fails
// the submission: a URL that could not be fetched in time is kept with its
// reason and shown as a link. The budget is short because a Slack modal's
// submission must be answered within 3 seconds; a worker fetching after the
// commit would instead make every request wait for it or go out without
// pictures.

// DefaultMediaTimeout bounds the fetching of one revision's media.
const DefaultMediaTimeout = 2500 * time.Millisecond

// MediaFetcher fetches one media URL for a preview. allowed says whether a
// host (a name or an IP literal, without port) may be fetched from; the
// fetcher asks it for the URL and every redirect. It never returns an
// error: what went wrong is Media.Reason, in words for the reader.
type MediaFetcher interface {
	Fetch(ctx context.Context, rawURL string, allowed func(host string) bool) (Media, *Thumb)
}

// Thumb is the stored thumbnail of one media URL of a revision.
type Thumb struct {
	DraftID     int64
	Revision    int
	Index       int
	ContentType string
	Data        []byte
}

// MediaTx stores thumbnails. Thumb returns ENOTFOUND when there is none.
type MediaTx interface {
	SaveThumbs(ctx context.Context, workspaceID int64, thumbs []*Thumb) error
	// CopyThumbs gives revision to the thumbnails of revision from, for a
	// revision that carries its media over.
	CopyThumbs(ctx context.Context, workspaceID, draftID int64, from, to int) error
	Thumb(ctx context.Context, workspaceID, draftID int64, revision, index int) (*Thumb, error)
	// Thumbs returns those of the indexes' thumbnails of a revision that
	// exist, by index.
	Thumbs(ctx context.Context, workspaceID, draftID int64, revision int, indexes []int) ([]*Thumb, error)
}

// MediaHostsMax bounds a workspace's list of media hosts.
const MediaHostsMax = 50

var hostPatternRe = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// ParseMediaHosts reads a comma-separated list of hosts media may be
// fetched from: names ("cdn.acme.example"), a wildcard for every subdomain
// ("*.cloudfront.net") or IP literals. "" clears the list.
// Errors: EINVALID naming the entry.
func ParseMediaHosts(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, h := range strings.Split(s, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if _, err := netip.ParseAddr(h); err != nil && !hostPatternRe.MatchString(h) {
			return nil, Errorf(EINVALID, "media host %q: give a host name such as cdn.acme.example, a wildcard such as *.cloudfront.net, or an IP address; no scheme, port or path", h)
		}
		if rest, ok := strings.CutPrefix(h, "*."); ok && !strings.Contains(rest, ".") {
			return nil, Errorf(EINVALID, "media host %q is too broad", h)
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	if len(out) > MediaHostsMax {
		return nil, Errorf(EINVALID, "%d media hosts; the limit is %d", len(out), MediaHostsMax)
	}
	return out, nil
}

// AllowsMediaHost reports whether media may be fetched from host: it is on
// the workspace's list, or under a wildcard entry ("*.x.example" takes
// "a.x.example" and "a.b.x.example", not "x.example").
func (w *Workspace) AllowsMediaHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, p := range w.MediaHosts {
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			if strings.HasSuffix(host, "."+rest) {
				return true
			}
		} else if host == p {
			return true
		}
	}
	return false
}

// fetchMedia fetches urls for the workspace's previews, in parallel and
// within MediaTimeout, and returns what was learned, one Media per URL,
// and the thumbnails (DraftID and Revision left for the caller). With no
// fetcher configured it returns nil: the reader sees the bare links.
func (s *Service) fetchMedia(ctx context.Context, ws *Workspace, urls []string) ([]Media, []*Thumb) {
	if s.MediaFetcher == nil || len(urls) == 0 {
		return nil, nil
	}
	timeout := s.MediaTimeout
	if timeout <= 0 {
		timeout = DefaultMediaTimeout
	}
	// The submission goes ahead whether or not its caller is still waiting.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	media := make([]Media, len(urls))
	thumbs := make([]*Thumb, len(urls))
	finished := make([]bool, len(urls))
	var mu sync.Mutex // media and finished, read while late fetches still end
	var wg sync.WaitGroup
	for i, raw := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := Media{URL: raw}
			var th *Thumb
			if u, err := url.Parse(raw); err != nil || !ws.AllowsMediaHost(u.Hostname()) {
				m.Reason = "not previewed: the workspace does not allow media from this host"
			} else {
				m, th = s.MediaFetcher.Fetch(ctx, raw, ws.AllowsMediaHost)
			}
			m.Index, m.URL = i, raw
			if th != nil {
				th.Index = i
			}
			m.HasThumb = th != nil
			mu.Lock()
			media[i], thumbs[i], finished[i] = m, th, true
			mu.Unlock()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		// Past the budget the submission goes on without what is still
		// being fetched or decoded: those are links that took too long.
	}
	mu.Lock()
	defer mu.Unlock()
	var out []*Thumb
	for i := range media {
		if !finished[i] {
			media[i] = Media{Index: i, URL: urls[i], Reason: "not previewed: the server took too long"}
			continue
		}
		if thumbs[i] != nil {
			out = append(out, thumbs[i])
		}
	}
	return media, out
}

// previewFor fetches the media of a submission (draftID 0) or of a
// revision of draft draftID before its transaction: it reads the
// workspace's media hosts, and fetches what they allow only for a member
// who may submit or revise it; refusals are left to the call that follows.
func (s *Service) previewFor(ctx context.Context, a Actor, in DraftInput, draftID int64) *preview {
	if s.MediaFetcher == nil || len(in.MediaURLs) == 0 || len(in.MediaURLs) > MaxMedia {
		return nil
	}
	var ws *Workspace
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		p, err := s.resolve(ctx, tx, a, false)
		if err != nil || p.member == nil {
			return err
		}
		// Nothing is fetched for a call that will be refused anyway, nor
		// for a revision that restates its media (they carry over).
		var access Access
		var acc *Account
		author := false
		if draftID != 0 {
			var d *Draft
			if d, acc, access, err = s.visibleDraft(ctx, tx, p, draftID); err != nil {
				return err
			}
			prev, err := s.revision(ctx, tx, d)
			if err != nil || slices.Equal(prev.MediaURLs, in.MediaURLs) {
				return err
			}
			author = d.AuthorID == p.member.ID
		} else {
			if s.validateInput(in) != nil {
				return nil
			}
			if acc, err = s.accountByHandle(ctx, tx, p.ws, in.Account); err != nil {
				return err
			}
			if access, err = s.access(ctx, tx, p.member, acc); err != nil {
				return err
			}
		}
		if (author || access.Can(CapCreate)) && checkNetwork(acc, in) == nil {
			ws = p.ws
		}
		return nil
	})
	if err != nil || ws == nil {
		return nil
	}
	media, thumbs := s.fetchMedia(ctx, ws, in.MediaURLs)
	return &preview{urls: in.MediaURLs, media: media, thumbs: thumbs}
}

// preview is what fetching a revision's media found.
type preview struct {
	urls   []string
	media  []Media
	thumbs []*Thumb
}

// fits reports whether the preview was made for rev's URLs.
func (pv *preview) fits(rev *Revision) bool {
	return pv != nil && sameStrings(pv.urls, rev.MediaURLs)
}

// give gives rev, before it is created, the preview's media.
func (pv *preview) give(rev *Revision) {
	if pv.fits(rev) {
		rev.Media = pv.media
	}
}

// save stores the preview's thumbnails for rev, once it is created.
func (pv *preview) save(ctx context.Context, tx Tx, ws *Workspace, rev *Revision) error {
	if !pv.fits(rev) || len(pv.thumbs) == 0 {
		return nil
	}
	for _, t := range pv.thumbs {
		t.DraftID, t.Revision = rev.DraftID, rev.Number
	}
	return tx.SaveThumbs(ctx, ws.ID, pv.thumbs)
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// MediaThumb returns the thumbnail of media index of revision rev of a
// draft, for a reader who may see that revision; any other gets the
// refusal a draft they may not see gets.
// Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) MediaThumb(ctx context.Context, a Actor, draftID int64, rev, index int) (*Thumb, error) {
	var out *Thumb
	err := s.read(ctx, a, "media.thumb", func(ctx context.Context, tx Tx, p *principal) error {
		d, _, _, err := s.visibleDraft(ctx, tx, p, draftID)
		if err != nil {
			return err
		}
		if p.member != nil && !ReaderOf(p.member).SeesRevision(d, rev) || rev < 1 || rev > d.Revision {
			return notFound(p.ws, draftID)
		}
		out, err = tx.Thumb(ctx, p.ws.ID, draftID, rev, index)
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "no picture %d on revision %d of draft %d", index+1, rev, draftID)
		}
		return err
	})
	return out, err
}

// ShownThumb returns a thumbnail of a revision that a channel showed to a
// reader who may see it: a URL Signoff signed for such a message (Slack
// fetches pictures from public URLs, without a member), whose signature
// the caller verified.
// Errors: ENOTFOUND.
func (s *Service) ShownThumb(ctx context.Context, workspaceID, draftID int64, rev, index int) (*Thumb, error) {
	ths, err := s.ShownThumbs(ctx, workspaceID, draftID, rev, []int{index})
	if err != nil {
		return nil, err
	}
	if len(ths) == 0 {
		return nil, Errorf(ENOTFOUND, "no such picture")
	}
	return ths[0], nil
}

// ShownThumbs is ShownThumb for the pictures of one revision an email
// built from its reader's view carries, read in one transaction: those of
// indexes that exist, by index.
// Errors: ENOTFOUND for a draft that is gone or withdrawn.
func (s *Service) ShownThumbs(ctx context.Context, workspaceID, draftID int64, rev int, indexes []int) ([]*Thumb, error) {
	var out []*Thumb
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		// A withdrawn draft's pictures are no longer anyone's to fetch.
		d, err := tx.DraftByID(ctx, workspaceID, draftID)
		if err != nil {
			return err
		}
		if d.State == StateWithdrawn {
			return Errorf(ENOTFOUND, "no such picture")
		}
		out, err = tx.Thumbs(ctx, workspaceID, draftID, rev, indexes)
		return err
	})
	if err != nil && ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "no such picture")
	}
	return out, err
}

// MediaList is what the reader is shown of the current revision's media:
// one entry per URL, with what fetching it found when it was fetched.
func (v *DraftView) MediaList() []Media {
	urls := v.Current.MediaURLs
	out := make([]Media, len(urls))
	for i, u := range urls {
		if i < len(v.Media) && v.Media[i].URL == u {
			out[i] = v.Media[i]
			continue
		}
		out[i] = Media{Index: i, URL: u}
	}
	return out
}

// Describe says in a few words what a media file is: "image, 1200×900,
// 240 KB".
func (m Media) Describe() string {
	var parts []string
	if m.Kind != MediaUnknown {
		parts = append(parts, string(m.Kind))
	}
	if m.Width > 0 && m.Height > 0 {
		parts = append(parts, fmt.Sprintf("%d×%d", m.Width, m.Height))
	}
	if m.ContentType != "" {
		parts = append(parts, m.ContentType)
	}
	if m.Size > 0 {
		parts = append(parts, byteSize(m.Size))
	}
	return strings.Join(parts, ", ")
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

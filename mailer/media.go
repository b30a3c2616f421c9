package mailer

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/signoff-app/signoff/approvals"
)

// Media previews in emails and on link pages, and the signed picture URLs
// Slack loads:
//
//	GET /l/{token}/media/{n}   picture n of the link's revision, for the link's approver
//	GET /m/{token}             a picture under a signed URL (Slack's image blocks)
//
// An email carries its pictures as inline parts (cid:), since mail clients
// block remote images; a link page loads them from Signoff under the link's
// own token, so its CSP stays img-src 'self'.

// mediaTokenName is the securecookie name of a signed picture URL; a link
// token never decodes as one, nor one as a link.
const mediaTokenName = "signoff-media/v1"

// MediaRef is what a signed picture URL carries.
type MediaRef struct {
	WorkspaceID int64 `json:"w"`
	DraftID     int64 `json:"d"`
	Revision    int   `json:"r"`
	Index       int   `json:"i"`
	IssuedAt    int64 `json:"t"`
}

// EncodeMedia mints the token of a signed picture URL.
func (c *Codec) EncodeMedia(r MediaRef) (string, error) { return c.encode(mediaTokenName, &r) }

// DecodeMedia checks the token of a signed picture URL as Decode checks a
// link token; it is valid for links.ttl, as long as the link of an email.
func (c *Codec) DecodeMedia(token string) (MediaRef, error) {
	return decodeAs[MediaRef](c, mediaTokenName, token)
}

func (r *MediaRef) issued() int64    { return r.IssuedAt }
func (r *MediaRef) stamp(unix int64) { r.IssuedAt = unix }

func (r *MediaRef) valid() bool {
	return r.WorkspaceID > 0 && r.DraftID > 0 && r.Revision > 0 && r.Index >= 0 && r.Index < approvals.MaxMedia && r.IssuedAt > 0
}

// PictureURLs returns the maker of signed public picture URLs under
// baseURL (http.base_url), for messages that show a revision to a reader
// who may see it (the bot's image blocks); it gives "" when it cannot.
func PictureURLs(codec *Codec, baseURL string) func(workspaceID, draftID int64, rev, index int) string {
	base := strings.TrimRight(baseURL, "/")
	return func(workspaceID, draftID int64, rev, index int) string {
		tok, err := codec.EncodeMedia(MediaRef{WorkspaceID: workspaceID, DraftID: draftID, Revision: rev, Index: index})
		if err != nil {
			return ""
		}
		return base + "/m/" + tok
	}
}

func (h *Links) registerMedia(mux Mux) {
	mux.Handle("GET /l/{token}/media/{n}", http.HandlerFunc(h.linkMedia))
	mux.Handle("GET /m/{token}", http.HandlerFunc(h.signedMedia))
}

// linkMedia serves a picture of the link's revision to the link's
// approver, whom the core checks may still see it. Failures are a bare
// 404: an <img> shows nothing of an error page anyway.
func (h *Links) linkMedia(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	l, err := h.codec.Decode(token)
	n, nerr := strconv.Atoi(r.PathValue("n"))
	if err != nil || nerr != nil || n < 0 || n >= approvals.MaxMedia {
		http.NotFound(w, r)
		return
	}
	th, err := h.svc.MediaThumb(r.Context(), h.actor(r, token, l), l.DraftID, l.Revision, n)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	servePicture(w, th, "private, max-age=3600")
}

// signedMedia serves a picture under a URL Signoff signed.
func (h *Links) signedMedia(w http.ResponseWriter, r *http.Request) {
	ref, err := h.codec.DecodeMedia(r.PathValue("token"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	th, err := h.svc.ShownThumb(r.Context(), ref.WorkspaceID, ref.DraftID, ref.Revision, ref.Index)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	// Not public: a shared cache would keep serving a picture of a draft
	// withdrawn since.
	servePicture(w, th, "private, max-age=3600")
}

func servePicture(w http.ResponseWriter, th *approvals.Thumb, cache string) {
	hd := w.Header()
	hd.Set("Content-Type", th.ContentType)
	hd.Set("Content-Length", strconv.Itoa(len(th.Data)))
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", cache)
	hd.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(th.Data)
}

// mediaItem is one media URL as an email or a page shows it.
type mediaItem struct {
	URL    string
	Src    template.URL // the picture's source when it has a thumbnail, else ""
	Kind   approvals.MediaKind
	About  string // "image, 1200×900, image/png, 240 KB"
	Reason string // why it is not previewed
	// Width and Height are the picture's, for the mock-up's crop; 0 unknown.
	Width, Height int
}

// post is the mock-up of the post on its network.
type post struct {
	Network string
	Account string
	Initial string
	Picture template.URL // the first picture's source, "" when none
	Aspect  float64      // width ÷ height the feed crops to; 0 uncropped
	Cropped bool         // Aspect > 0 (set with it: the templates test this, not Aspect)
	Shown   string       // the caption as the feed first shows it
	Cut     bool         // the feed shows "… more" after Shown
}

// AspectCSS is the crop as a CSS aspect-ratio value; "auto" uncropped.
func (p *post) AspectCSS() string {
	if p.Aspect <= 0 {
		return "auto"
	}
	return strconv.FormatFloat(p.Aspect, 'f', 4, 64)
}

// Padding is the crop as the padding-top percentage of a box that keeps
// the aspect ratio where CSS aspect-ratio is unknown (mail clients).
func (p *post) Padding() string {
	return strconv.FormatFloat(100/p.Aspect, 'f', 2, 64) + "%"
}

// mediaOf lists the view's media for its reader, src giving each
// thumbnail's source.
// The sources are Signoff's own (a path under the link, or a cid: of the
// email), hence trusted URLs for the template.
func mediaOf(v *approvals.DraftView, src func(i int) string) []mediaItem {
	list := v.MediaList()
	if len(list) == 0 {
		return nil
	}
	out := make([]mediaItem, 0, len(list))
	for _, m := range list {
		it := mediaItem{URL: m.URL, Kind: m.Kind, About: m.Describe(), Reason: m.Reason, Width: m.Width, Height: m.Height}
		if m.HasThumb {
			it.Src = template.URL(src(m.Index))
		}
		out = append(out, it)
	}
	return out
}

// postOf builds the mock-up of the view's current revision.
func postOf(v *approvals.DraftView, items []mediaItem) *post {
	name := accountName(v)
	net := v.Account.Network
	if net == "" {
		net = approvals.NetworkOther
	}
	feed := net.Feed()
	p := &post{Network: net.Label(), Account: name}
	if t := strings.TrimSpace(name); t != "" {
		r, _ := utf8.DecodeRuneInString(t)
		p.Initial = strings.ToUpper(string(r))
	}
	for _, it := range items {
		if it.Src != "" {
			p.Picture, p.Aspect = it.Src, net.ShownAspect(it.Width, it.Height)
			break
		}
	}
	p.Cropped = p.Aspect > 0
	p.Shown, p.Cut = feed.Fold(v.Current.Text)
	return p
}

// cid is the Content-ID of picture i of an email.
func cid(i int) string { return fmt.Sprintf("picture-%d.jpg", i+1) }

// inlineMedia lists the media of the view's current revision for an email
// and loads the thumbnails it carries as inline parts (see embed); a
// thumbnail that cannot be loaded is left out, and its <img> with it.
func (s *Sender) inlineMedia(ctx context.Context, v *approvals.DraftView) (items []mediaItem, embeds map[int]*approvals.Thumb) {
	var want []int
	for _, m := range v.MediaList() {
		if m.HasThumb {
			want = append(want, m.Index)
		}
	}
	if len(want) > 0 {
		// One read for all of them, not one per picture.
		ths, err := s.svc.ShownThumbs(ctx, v.WorkspaceID, v.ID, v.Current.Number, want)
		if err != nil {
			s.logger.WarnContext(ctx, "load thumbnails for email", "draft", v.ID, "revision", v.Current.Number, "err", err)
		}
		embeds = make(map[int]*approvals.Thumb, len(ths))
		for _, th := range ths {
			embeds[th.Index] = th
		}
		if len(ths) < len(want) && err == nil {
			s.logger.WarnContext(ctx, "thumbnails missing for email", "draft", v.ID, "revision", v.Current.Number,
				"want", len(want), "found", len(ths))
		}
	}
	items = mediaOf(v, func(i int) string {
		if embeds[i] == nil {
			return ""
		}
		return "cid:" + cid(i)
	})
	return items, embeds
}

// embed adds the thumbnails to msg as inline parts named by cid, in order.
func embed(msg *gomail.Msg, embeds map[int]*approvals.Thumb) error {
	for i := range approvals.MaxMedia {
		th := embeds[i]
		if th == nil {
			continue
		}
		if err := msg.EmbedReader(cid(i), bytes.NewReader(th.Data), gomail.WithFileContentType(gomail.ContentType(th.ContentType))); err != nil {
			return fmt.Errorf("embed picture %d: %w", i+1, err)
		}
	}
	return nil
}

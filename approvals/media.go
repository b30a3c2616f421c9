package approvals

// MediaKind is what a media URL turned out to hold.
type MediaKind string

// The kinds of media; MediaUnknown until fetched, or when the fetch failed.
const (
	MediaUnknown MediaKind = ""
	MediaImage   MediaKind = "image"
	MediaVideo   MediaKind = "video"
	MediaOther   MediaKind = "other"
)

// Media is what Signoff learned by fetching one media URL of a revision.
// Index is the URL's place in Revision.MediaURLs. Reason says, in words a
// reader understands, why the file could not be fetched or previewed; it
// is empty when it was.
type Media struct {
	Index       int       `json:"index"`
	URL         string    `json:"url"`
	Kind        MediaKind `json:"kind,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	Size        int64     `json:"size,omitempty"`
	Width       int       `json:"width,omitempty"`
	Height      int       `json:"height,omitempty"`
	// HasThumb reports whether a thumbnail is stored for it.
	HasThumb bool   `json:"has_thumb,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

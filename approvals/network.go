package approvals

import (
	"fmt"
	"strings"
)

// Network is the social network an account posts to. It decides which
// limits a caption and its media must meet and how the feed shows a post.
type Network string

// The networks Signoff knows; NetworkOther has no limits of its own.
const (
	NetworkOther     Network = "other"
	NetworkInstagram Network = "instagram"
	NetworkFacebook  Network = "facebook"
	NetworkLinkedIn  Network = "linkedin"
	NetworkX         Network = "x"
	NetworkTikTok    Network = "tiktok"
	NetworkThreads   Network = "threads"
	NetworkPinterest Network = "pinterest"
	NetworkYouTube   Network = "youtube"
)

// Networks lists every network, in the order a person is shown them.
func Networks() []Network {
	return []Network{NetworkInstagram, NetworkFacebook, NetworkLinkedIn, NetworkX,
		NetworkTikTok, NetworkThreads, NetworkPinterest, NetworkYouTube, NetworkOther}
}

// ParseNetwork reads a network's name as a person types it; "" is other.
// Errors: EINVALID naming the networks there are.
func ParseNetwork(s string) (Network, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return NetworkOther, nil
	}
	if s == "twitter" {
		return NetworkX, nil
	}
	for _, n := range Networks() {
		if string(n) == s {
			return n, nil
		}
	}
	names := make([]string, 0, len(Networks()))
	for _, n := range Networks() {
		names = append(names, string(n))
	}
	return "", Errorf(EINVALID, "unknown network %q; choose one of %s", s, strings.Join(names, ", "))
}

// Name is the network as its users write it.
func (n Network) Name() string {
	switch n {
	case NetworkInstagram:
		return "Instagram"
	case NetworkFacebook:
		return "Facebook"
	case NetworkLinkedIn:
		return "LinkedIn"
	case NetworkX:
		return "X"
	case NetworkTikTok:
		return "TikTok"
	case NetworkThreads:
		return "Threads"
	case NetworkPinterest:
		return "Pinterest"
	case NetworkYouTube:
		return "YouTube"
	case NetworkOther, "":
		return "Other"
	}
	return fmt.Sprintf("%q", string(n))
}

// Label is the network as a person is shown it beside an account: its
// name, or "" for other (no network worth naming).
func (n Network) Label() string {
	if n == "" || n == NetworkOther {
		return ""
	}
	return n.Name()
}

// Feed is how a network's feed shows a post, for the mock-up a reader sees:
// the picture cropped to Aspect (width ÷ height; 0 shows it uncropped, or
// within the network's aspect range when it has one: ShownAspect) and the
// caption cut after MoreAfter characters with "… more" (0: never cut).
type Feed struct {
	Aspect    float64
	MoreAfter int
}

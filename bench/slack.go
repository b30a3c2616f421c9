package bench

import (
	"sync"
	"time"

	"github.com/signoff-app/signoff/internal/slackfake"
)

// slackPosts records when each bench marker was first posted to a channel
// (chat.postMessage) of the fake Slack.
type slackPosts struct {
	mu       sync.Mutex
	byMarker map[string]time.Time
}

// startFakeSlack starts the fake Slack, which keeps no calls: it only
// hands the channel posts to the returned slackPosts.
func startFakeSlack() (*slackfake.Server, *slackPosts) {
	p := &slackPosts{byMarker: map[string]time.Time{}}
	return slackfake.Start(slackTeam, p.record), p
}

func (p *slackPosts) record(c slackfake.Call) {
	if c.Method != "chat.postMessage" {
		return
	}
	var markers []string
	for _, v := range c.Args {
		if s, ok := v.(string); ok {
			markers = append(markers, markerRe.FindAllString(s, -1)...)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range markers {
		if _, ok := p.byMarker[m]; !ok {
			p.byMarker[m] = c.At
		}
	}
}

// arrival returns when a channel post carrying marker first arrived.
func (p *slackPosts) arrival(marker string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.byMarker[marker]
	return t, ok
}

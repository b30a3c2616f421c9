package bench

import (
	"strings"
	"sync"
	"time"

	"github.com/signoff-app/signoff/internal/slackfake"
)

// slackPosts records when each bench marker was first posted to a channel
// (chat.postMessage) of the fake Slack, and counts the App Homes published.
type slackPosts struct {
	mu       sync.Mutex
	byMarker map[string]time.Time
	homes    int // views.publish of an App Home listing what waits
	badHomes int // views.publish of anything else (an error text)
}

// startFakeSlack starts the fake Slack, which keeps no calls: it only
// hands them to the returned slackPosts.
func startFakeSlack() (*slackfake.Server, *slackPosts) {
	p := &slackPosts{byMarker: map[string]time.Time{}}
	return slackfake.Start(slackTeam, p.record), p
}

func (p *slackPosts) record(c slackfake.Call) {
	if c.Method == "views.publish" {
		p.mu.Lock()
		defer p.mu.Unlock()
		if strings.Contains(c.Str("view"), "Waiting on you (") {
			p.homes++
		} else {
			p.badHomes++
		}
		return
	}
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

// published returns how many App Homes were published so far, and how
// many publishes were something else.
func (p *slackPosts) published() (homes, bad int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.homes, p.badHomes
}

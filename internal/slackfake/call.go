package slackfake

import (
	"encoding/json"
	"time"
)

// Call is one Web API call the server received.
type Call struct {
	At     time.Time
	Method string
	// Args are the form values (the first of each) or the JSON body.
	Args       map[string]any
	Status     int           // 200, or 429 while rate limited
	RetryAfter time.Duration // the Retry-After of a 429
	TS         string        // the ts a successful chat.postMessage returned
}

// Str is the argument key: a string as sent, any other value as JSON, ""
// when absent.
func (c Call) Str(key string) string {
	switch v := c.Args[key].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// View is the call's "view" argument (views.open, views.publish,
// views.update), nil when it has none.
func (c Call) View() map[string]any {
	switch v := c.Args["view"].(type) {
	case map[string]any:
		return v
	case string:
		var m map[string]any
		_ = json.Unmarshal([]byte(v), &m)
		return m
	}
	return nil
}

// Blocks decodes the call's "blocks" (a JSON string in forms) or its view's.
func (c Call) Blocks() []map[string]any {
	raw := c.Args["blocks"]
	if v := c.View(); v != nil {
		raw = v["blocks"]
	}
	var out []map[string]any
	switch r := raw.(type) {
	case string:
		_ = json.Unmarshal([]byte(r), &out)
	case []any:
		for _, x := range r {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// Only returns the calls of method.
func Only(calls []Call, method string) []Call {
	var out []Call
	for _, c := range calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Methods returns the method of each call, in order.
func Methods(calls []Call) []string {
	out := []string{}
	for _, c := range calls {
		out = append(out, c.Method)
	}
	return out
}

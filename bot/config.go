package bot

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Defaults for Config.
const (
	DefaultAPIURL  = "https://slack.com/api/"
	DefaultCommand = "/signoff"
)

// Config is the Slack channel's configuration (the slack.* keys).
// The tags name the keys under "slack" for the configuration loader.
type Config struct {
	BotToken      string `mapstructure:"bot_token"`      // slack.bot_token: xoxb-… (a secret)
	SigningSecret string `mapstructure:"signing_secret"` // slack.signing_secret: verifies HTTP requests (a secret)
	AppToken      string `mapstructure:"app_token"`      // slack.app_token: xapp-…; set for Socket Mode (a secret)
	APIURL        string `mapstructure:"api_url"`        // slack.api_url: Slack's Web API base URL
	Command       string `mapstructure:"command"`        // slack.command: the slash command, e.g. /signoff
}

// FieldError is a problem with one setting, named by its key.
type FieldError struct {
	Key     string // e.g. "slack.bot_token"
	Message string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Message }

// Enabled reports whether any Slack setting is given: with none, Signoff
// runs without the bot.
func (c Config) Enabled() bool {
	return c.BotToken != "" || c.SigningSecret != "" || c.AppToken != ""
}

// SocketMode reports whether the bot connects over Socket Mode instead of
// receiving HTTP requests.
func (c Config) SocketMode() bool { return c.AppToken != "" }

// WithDefaults returns c with empty optional settings defaulted.
func (c Config) WithDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if c.Command == "" {
		c.Command = DefaultCommand
	}
	return c
}

// Validate checks c as a whole. It returns every problem, each a
// *FieldError naming its key, joined with errors.Join.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, &FieldError{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	if c.BotToken == "" {
		add("slack.bot_token", "required when Slack is configured")
	} else if !strings.HasPrefix(c.BotToken, "xoxb-") {
		add("slack.bot_token", "must be a bot token (xoxb-…)")
	}
	if c.SigningSecret == "" && c.AppToken == "" {
		add("slack.signing_secret", "required for Slack's HTTP endpoints (or set slack.app_token for Socket Mode)")
	}
	if c.AppToken != "" && !strings.HasPrefix(c.AppToken, "xapp-") {
		add("slack.app_token", "must be an app-level token (xapp-…)")
	}
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("slack.api_url", "must be an absolute http or https URL, got %q", c.APIURL)
	} else if !strings.HasSuffix(c.APIURL, "/") {
		add("slack.api_url", "must end with a slash, got %q", c.APIURL)
	}
	if !strings.HasPrefix(c.Command, "/") || strings.ContainsAny(c.Command, " \t") || len(c.Command) < 2 {
		add("slack.command", "must be a slash command such as /signoff, got %q", c.Command)
	}
	return errors.Join(errs...)
}

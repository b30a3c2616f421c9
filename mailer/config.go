// Package mailer is Signoff's email channel: it delivers outbox messages by
// SMTP (wneessen/go-mail), mints the signed Approve/Reject links
// (gorilla/securecookie) and serves the pages behind them. It is a thin
// adapter: every decision goes through approvals.Service.Decide, and every
// approvals error becomes a page with its own HTTP status.
package mailer

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is the email channel's configuration. The mapstructure tags are the
// keys under each section ("smtp.host", "links.ttl"); the command line fills
// the struct, Validate checks it.
type Config struct {
	SMTP  SMTPConfig  `mapstructure:"smtp"`
	Mail  MailConfig  `mapstructure:"mail"`
	Links LinksConfig `mapstructure:"links"`
	// BaseURL is http.base_url: the public URL that links start with.
	BaseURL string `mapstructure:"-"`
}

// SMTPConfig is the "smtp" section.
type SMTPConfig struct {
	Host     string        `mapstructure:"host"`
	Port     int           `mapstructure:"port"`
	Username string        `mapstructure:"username"`
	Password string        `mapstructure:"password"` // a secret: never logged
	TLS      string        `mapstructure:"tls"`      // none, starttls or tls
	Timeout  time.Duration `mapstructure:"timeout"`
	// Connections caps the SMTP sessions kept open for concurrent
	// deliveries (outbox.workers); 0 means DefaultConnections.
	Connections int `mapstructure:"connections"`
}

// DefaultConnections is smtp.connections' default: with outbox.workers'
// default of 16, as many emails as workers go out at once, each worker
// waiting for its outcome to be committed between sends. Lower it for a
// relay that limits concurrent sessions.
const DefaultConnections = 16

// MailConfig is the "mail" section.
type MailConfig struct {
	From    string     `mapstructure:"from"`
	ReplyTo string     `mapstructure:"reply_to"`
	DKIM    DKIMConfig `mapstructure:"dkim"`
}

// DKIMConfig is "mail.dkim"; all three keys or none.
type DKIMConfig struct {
	Domain   string `mapstructure:"domain"`
	Selector string `mapstructure:"selector"`
	KeyFile  string `mapstructure:"key_file"`
}

// LinksConfig is the "links" section.
type LinksConfig struct {
	// TTL is how long an emailed link stays valid.
	TTL time.Duration `mapstructure:"ttl"`
	// Keys are "HASHHEX:BLOCKHEX" pairs, newest first: the first signs new
	// links, all verify, so a key can be rotated in without breaking links in
	// flight and dropped once they expired.
	Keys []string `mapstructure:"keys"`
}

// TLS modes of smtp.tls.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// DefaultConfig returns the defaults of the email settings.
func DefaultConfig() Config {
	return Config{
		SMTP:  SMTPConfig{Port: 587, TLS: TLSStartTLS, Timeout: 30 * time.Second, Connections: DefaultConnections},
		Links: LinksConfig{TTL: 168 * time.Hour},
	}
}

// ConfigError is a missing or malformed email setting.
type ConfigError struct {
	Key     string
	Message string
}

func (e *ConfigError) Error() string { return "config: " + e.Key + ": " + e.Message }

// Enabled reports whether email is configured at all (smtp.host is set);
// without it Signoff runs with no email channel.
func (c Config) Enabled() bool { return strings.TrimSpace(c.SMTP.Host) != "" }

// Validate checks every email setting and returns all problems, each a
// *ConfigError naming its key. Secrets are never echoed.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.SMTP.Host) == "" {
		bad("smtp.host", "required to send email")
	}
	if c.SMTP.Port < 1 || c.SMTP.Port > 65535 {
		bad("smtp.port", "must be from 1 to 65535, got %d", c.SMTP.Port)
	}
	switch c.SMTP.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		bad("smtp.tls", "must be none, starttls or tls, got %q", c.SMTP.TLS)
	}
	if c.SMTP.Timeout <= 0 {
		bad("smtp.timeout", "must be a positive duration such as 30s, got %s", c.SMTP.Timeout)
	}
	if c.SMTP.Connections < 0 || c.SMTP.Connections > 32 {
		bad("smtp.connections", "must be from 1 to 32, got %d", c.SMTP.Connections)
	}
	if (c.SMTP.Username == "") != (c.SMTP.Password == "") {
		bad("smtp.password", "smtp.username and smtp.password go together: set both or neither")
	}
	if c.Mail.From == "" {
		bad("mail.from", "required: the sender address, such as \"Signoff <signoff@agency.example>\"")
	} else if _, err := mail.ParseAddress(c.Mail.From); err != nil {
		bad("mail.from", "not an email address: %q", c.Mail.From)
	}
	if c.Mail.ReplyTo != "" {
		if _, err := mail.ParseAddress(c.Mail.ReplyTo); err != nil {
			bad("mail.reply_to", "not an email address: %q", c.Mail.ReplyTo)
		}
	}
	d := c.Mail.DKIM
	if d.Domain != "" || d.Selector != "" || d.KeyFile != "" {
		if d.Domain == "" {
			bad("mail.dkim.domain", "required when DKIM is configured")
		}
		if d.Selector == "" {
			bad("mail.dkim.selector", "required when DKIM is configured")
		}
		if d.KeyFile == "" {
			bad("mail.dkim.key_file", "required when DKIM is configured")
		} else if _, err := os.Stat(d.KeyFile); err != nil {
			bad("mail.dkim.key_file", "cannot read %s: %v", d.KeyFile, err)
		}
	}
	if c.Links.TTL < time.Minute {
		bad("links.ttl", "must be at least 1m, got %s", c.Links.TTL)
	}
	if _, err := ParseKeys(c.Links.Keys); err != nil {
		errs = append(errs, err)
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("http.base_url", "must be an absolute http or https URL for email links, got %q", c.BaseURL)
	}
	return errors.Join(errs...)
}

// KeyPair is one hash (HMAC) key and one block (AES) key.
type KeyPair struct {
	Hash  []byte
	Block []byte
}

// ParseKeys parses links.keys. It refuses an empty list, malformed pairs, a
// hash key shorter than 32 bytes and a block key that is not 16, 24 or 32
// bytes (AES-128/192/256). A single string holding several pairs separated
// by commas or whitespace is accepted too (as an environment variable gives).
func ParseKeys(raw []string) ([]KeyPair, error) {
	var fields []string
	for _, r := range raw {
		fields = append(fields, strings.FieldsFunc(r, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\t' })...)
	}
	if len(fields) == 0 {
		return nil, &ConfigError{Key: "links.keys", Message: "required: at least one HASHHEX:BLOCKHEX pair; run `signoff keys generate`"}
	}
	var pairs []KeyPair
	for i, f := range fields {
		h, b, ok := strings.Cut(f, ":")
		if !ok {
			return nil, &ConfigError{Key: "links.keys", Message: fmt.Sprintf("pair %d is not HASHHEX:BLOCKHEX", i+1)}
		}
		hash, err1 := hex.DecodeString(h)
		block, err2 := hex.DecodeString(b)
		if err1 != nil || err2 != nil {
			return nil, &ConfigError{Key: "links.keys", Message: fmt.Sprintf("pair %d is not hexadecimal", i+1)}
		}
		if len(hash) < 32 {
			return nil, &ConfigError{Key: "links.keys", Message: fmt.Sprintf("pair %d: hash key is %d bytes; it must be at least 32", i+1, len(hash))}
		}
		switch len(block) {
		case 16, 24, 32:
		default:
			return nil, &ConfigError{Key: "links.keys", Message: fmt.Sprintf("pair %d: block key is %d bytes; it must be 16, 24 or 32", i+1, len(block))}
		}
		pairs = append(pairs, KeyPair{Hash: hash, Block: block})
	}
	return pairs, nil
}

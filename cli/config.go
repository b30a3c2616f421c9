package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/signoff-app/signoff/bot"
	"github.com/signoff-app/signoff/httpserver"
	"github.com/signoff-app/signoff/mailer"
	"github.com/signoff-app/signoff/media"
	"github.com/signoff-app/signoff/webhook"
)

// Config is Signoff's whole configuration, filled by LoadConfig from (in
// increasing precedence) defaults, a YAML file, SIGNOFF_* environment
// variables and command-line flags, then validated as a whole.
//
// To add a setting: add a field with a `mapstructure` tag to a section (or a
// new section struct with its own tag), give it a default in DefaultConfig if
// it has one, and check it in that section's validate method. The key
// ("smtp.host"), its environment variable (SIGNOFF_SMTP_HOST) and its place
// in the YAML file follow from the tags; nothing else needs registering. A
// flag for it, if any, goes in flagKeys.
type Config struct {
	Database DatabaseConfig `mapstructure:"database"`
	HTTP     HTTPConfig     `mapstructure:"http"`
	Log      LogConfig      `mapstructure:"log"`
	// Slack is the "slack" section; with none of its tokens set, serve runs
	// without the Slack bot.
	Slack bot.Config `mapstructure:"slack"`
	// SMTP, Mail and Links are the email channel's sections; with smtp.host
	// unset, serve runs without email. See Mailer.
	SMTP  mailer.SMTPConfig  `mapstructure:"smtp"`
	Mail  mailer.MailConfig  `mapstructure:"mail"`
	Links mailer.LinksConfig `mapstructure:"links"`
	// Templates is the "templates" section.
	Templates TemplatesConfig `mapstructure:"templates"`
	// Outbox is the "outbox" section (outbox.go): the dispatcher's lease
	// and retry policy.
	Outbox OutboxConfig `mapstructure:"outbox"`
	// Webhooks is the "webhooks" section: with webhooks.url unset, approved
	// drafts are handed off through the API only.
	Webhooks webhook.Config `mapstructure:"webhooks"`
	// Metrics is the "metrics" section.
	Metrics MetricsConfig `mapstructure:"metrics"`
	// Reminders is the "reminders" section (reminder.go).
	Reminders RemindersConfig `mapstructure:"reminders"`
	// Retention is the "retention" section (retention.go).
	Retention RetentionConfig `mapstructure:"retention"`
	// Media is the "media" section: the limits of media previews, and
	// allow_private for tests and `make dev` (package media).
	Media media.Config `mapstructure:"media"`
	// Debug is the "debug" section.
	Debug DebugConfig `mapstructure:"debug"`
}

// DebugConfig is the "debug" section.
type DebugConfig struct {
	// PprofAddr, when set, serves Go's runtime profiles (net/http/pprof)
	// on this loopback host:port, apart from http.addr, to profile a
	// running server (the bench does). Off by default: profiles show the
	// server's internals, so only a loopback address is accepted.
	PprofAddr string `mapstructure:"pprof_addr"`
}

func (c DebugConfig) validate() []error {
	if c.PprofAddr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(c.PprofAddr)
	ip := net.ParseIP(host)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > 65535 || host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return []error{&ConfigError{Key: "debug.pprof_addr", Message: fmt.Sprintf("must be a loopback host:port such as 127.0.0.1:6060, got %q", c.PprofAddr)}}
	}
	return nil
}

// MetricsConfig is the "metrics" section.
type MetricsConfig struct {
	// Enabled serves GET /metrics (Prometheus) on http.addr.
	Enabled bool `mapstructure:"enabled"`
	// Token, when set, is the bearer token /metrics asks for (a secret).
	Token string `mapstructure:"token"`
}

// TemplatesConfig is the "templates" section.
type TemplatesConfig struct {
	// Dir, when set, holds template files that replace the embedded ones
	// of the same name (e.g. email/approval_request.html).
	Dir string `mapstructure:"dir"`
}

// Mailer returns the email channel's configuration.
func (c Config) Mailer() mailer.Config {
	return mailer.Config{SMTP: c.SMTP, Mail: c.Mail, Links: c.Links, BaseURL: c.HTTP.BaseURL}
}

// DatabaseConfig is the "database" section.
type DatabaseConfig struct {
	// URL is the PostgreSQL connection URL (a secret: never logged).
	URL string `mapstructure:"url"`
}

// HTTPConfig is the "http" section.
type HTTPConfig struct {
	// Addr is where `signoff serve` listens ("host:port"; port 0 picks one).
	Addr string `mapstructure:"addr"`
	// BaseURL is the public URL of the server, used in links; it defaults to
	// "http://" + Addr.
	BaseURL string `mapstructure:"base_url"`
	// TrustedProxies are the CIDRs of load balancers whose X-Forwarded-For
	// is believed; none by default.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
	// The limits on slow and greedy clients (httpserver.DefaultLimits).
	ReadTimeout    time.Duration `mapstructure:"read_timeout"`
	WriteTimeout   time.Duration `mapstructure:"write_timeout"`
	IdleTimeout    time.Duration `mapstructure:"idle_timeout"`
	MaxHeaderBytes int           `mapstructure:"max_header_bytes"`
	MaxPerSource   int           `mapstructure:"max_per_source"`
}

// Limits returns the server's limits.
func (c HTTPConfig) Limits() httpserver.Limits {
	return httpserver.Limits{ReadTimeout: c.ReadTimeout, WriteTimeout: c.WriteTimeout, IdleTimeout: c.IdleTimeout,
		MaxHeaderBytes: c.MaxHeaderBytes, PerSource: c.MaxPerSource}
}

// LogConfig is the "log" section.
type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug, info, warn or error
	Format string `mapstructure:"format"` // text or json
}

// DefaultConfig returns the configuration before any file, environment
// variable or flag is applied.
func DefaultConfig() Config {
	mail := mailer.DefaultConfig()
	return Config{
		HTTP:      defaultHTTP(),
		Log:       LogConfig{Level: "info", Format: "text"},
		SMTP:      mail.SMTP,
		Links:     mail.Links,
		Webhooks:  webhook.Config{Timeout: webhook.DefaultTimeout},
		Metrics:   MetricsConfig{Enabled: true},
		Reminders: RemindersConfig{Interval: DefaultRemindersInterval},
		Retention: DefaultRetentionConfig(),
	}
}

func defaultHTTP() HTTPConfig {
	l := httpserver.DefaultLimits()
	return HTTPConfig{Addr: "127.0.0.1:8080", ReadTimeout: l.ReadTimeout, WriteTimeout: l.WriteTimeout,
		IdleTimeout: l.IdleTimeout, MaxHeaderBytes: l.MaxHeaderBytes, MaxPerSource: l.PerSource}
}

// EnvPrefix prefixes every environment variable: database.url is
// SIGNOFF_DATABASE_URL.
const EnvPrefix = "SIGNOFF_"

// EnvVar returns the environment variable for a configuration key.
func EnvVar(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// flagKeys maps global flags to the configuration keys they override.
func flagKeys() map[string]string {
	return map[string]string{
		"database-url": "database.url",
		"http-addr":    "http.addr",
		"base-url":     "http.base_url",
		"log-level":    "log.level",
		"log-format":   "log.format",
	}
}

// ConfigError is a configuration setting that is missing or malformed.
type ConfigError struct {
	Key     string // e.g. "log.format"; empty for the file itself
	Message string
}

func (e *ConfigError) Error() string {
	if e.Key == "" {
		return "config: " + e.Message
	}
	return "config: " + e.Key + ": " + e.Message
}

// Keys returns every configuration key, sorted.
func Keys() []string {
	var keys []string
	walkKeys(reflect.TypeOf(Config{}), "", func(k string, _ reflect.Type) { keys = append(keys, k) })
	sort.Strings(keys)
	return keys
}

func walkKeys(t reflect.Type, prefix string, fn func(key string, t reflect.Type)) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("mapstructure"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		if f.Type.Kind() == reflect.Struct && f.Type.String() != "time.Time" {
			walkKeys(f.Type, key, fn)
			continue
		}
		fn(key, f.Type)
	}
}

// defaultsMap returns the defaults of DefaultConfig by key.
func defaultsMap() map[string]any {
	m := map[string]any{}
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		t := v.Type()
		for i := range t.NumField() {
			tag := strings.Split(t.Field(i).Tag.Get("mapstructure"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			key := tag
			if prefix != "" {
				key = prefix + "." + tag
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Struct && fv.Type().String() != "time.Time" {
				walk(fv, key)
				continue
			}
			m[key] = fv.Interface()
		}
	}
	walk(reflect.ValueOf(DefaultConfig()), "")
	return m
}

// LoadConfig builds the Config. configFile is the --config flag ("" for the
// default: $SIGNOFF_CONFIG, else signoff.yaml in the working directory if it
// exists); flags are the parsed flags of the command (those named in
// flagKeys override the file and the environment when set); getenv reads the
// environment. The result is validated as a whole: every problem is named,
// joined in one error of *ConfigError values.
func LoadConfig(configFile string, flags *pflag.FlagSet, getenv func(string) string) (Config, error) {
	v := viper.New()
	for k, d := range defaultsMap() {
		v.SetDefault(k, d)
	}

	// The file.
	explicit := configFile != ""
	if !explicit {
		if configFile = getenv(EnvPrefix + "CONFIG"); configFile != "" {
			explicit = true
		} else {
			configFile = "signoff.yaml"
		}
	}
	f, err := os.Open(configFile)
	switch {
	case err == nil:
		defer f.Close()
		v.SetConfigType("yaml")
		if err := v.ReadConfig(f); err != nil {
			return Config{}, &ConfigError{Message: fmt.Sprintf("%s: %v", configFile, err)}
		}
		if err := checkUnknownKeys(v.AllKeys(), configFile); err != nil {
			return Config{}, err
		}
	case explicit || !errors.Is(err, os.ErrNotExist):
		return Config{}, &ConfigError{Message: fmt.Sprintf("cannot read config file: %v", err)}
	}

	// The environment, over the file.
	env := map[string]any{}
	for _, k := range Keys() {
		if val := getenv(EnvVar(k)); val != "" {
			setNested(env, k, val)
		}
	}
	if err := v.MergeConfigMap(env); err != nil {
		return Config{}, &ConfigError{Message: fmt.Sprintf("environment: %v", err)}
	}

	// Flags, over both.
	if flags != nil {
		for name, key := range flagKeys() {
			if fl := flags.Lookup(name); fl != nil {
				if err := v.BindPFlag(key, fl); err != nil {
					return Config{}, fmt.Errorf("config: bind flag --%s: %w", name, err)
				}
			}
		}
	}

	var cfg Config
	if err := v.Unmarshal(&cfg); err != nil {
		return Config{}, &ConfigError{Message: err.Error()}
	}
	if cfg.HTTP.BaseURL == "" && cfg.HTTP.Addr != "" {
		cfg.HTTP.BaseURL = "http://" + cfg.HTTP.Addr
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func setNested(m map[string]any, key, val string) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		sub, ok := m[p].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	m[parts[len(parts)-1]] = val
}

func checkUnknownKeys(keys []string, file string) error {
	known := Keys()
	var errs []error
	for _, k := range keys {
		ok := false
		for _, kk := range known {
			if k == kk || strings.HasPrefix(k, kk+".") {
				ok = true
				break
			}
		}
		if !ok {
			errs = append(errs, &ConfigError{Key: k, Message: "unknown setting in " + file})
		}
	}
	return errors.Join(errs...)
}

// Validate checks every setting and returns all problems found, each a
// *ConfigError naming its key. It does not require database.url, which only
// some commands need (see RequireDatabase).
func (c Config) Validate() error {
	var errs []error
	errs = append(errs, c.Database.validate()...)
	errs = append(errs, c.HTTP.validate()...)
	errs = append(errs, c.Log.validate()...)
	errs = append(errs, validateSlack(c.Slack)...)
	errs = append(errs, validateEmail(c.Mailer())...)
	errs = append(errs, c.Outbox.validate()...)
	errs = append(errs, validateWebhooks(c.Webhooks)...)
	errs = append(errs, c.Reminders.validate()...)
	errs = append(errs, c.Retention.validate()...)
	errs = append(errs, c.Debug.validate()...)
	if c.Media.MaxBytes < 0 || c.Media.Timeout < 0 || c.Media.MaxPixels < 0 {
		errs = append(errs, &ConfigError{Key: "media", Message: "media.max_bytes, media.timeout and media.max_pixels must not be negative"})
	}
	return errors.Join(errs...)
}

// RequireDatabase reports a missing database.url.
func (c Config) RequireDatabase() error {
	if strings.TrimSpace(c.Database.URL) == "" {
		return &ConfigError{Key: "database.url", Message: "required: set --database-url, " + EnvVar("database.url") + " or database.url in the config file"}
	}
	return nil
}

func (c DatabaseConfig) validate() []error {
	if c.URL == "" {
		return nil
	}
	// The URL holds a password: never echo it.
	if _, err := pgconn.ParseConfig(c.URL); err != nil {
		return []error{&ConfigError{Key: "database.url", Message: "not a valid PostgreSQL connection URL (postgres://user:password@host:port/dbname)"}}
	}
	return nil
}

func (c HTTPConfig) validate() []error {
	var errs []error
	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, &ConfigError{Key: "http.addr", Message: fmt.Sprintf("must be host:port, got %q", c.Addr)})
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		errs = append(errs, &ConfigError{Key: "http.addr", Message: fmt.Sprintf("port must be a number from 0 to 65535, got %q", port)})
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, &ConfigError{Key: "http.base_url", Message: fmt.Sprintf("must be an absolute http or https URL, got %q", c.BaseURL)})
	}
	if _, err := httpserver.ParseProxies(c.TrustedProxies); err != nil {
		errs = append(errs, &ConfigError{Key: "http.trusted_proxies", Message: fmt.Sprintf("must be CIDRs or addresses (10.0.0.0/8, 192.0.2.7): %v", err)})
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"http.read_timeout", c.ReadTimeout}, {"http.write_timeout", c.WriteTimeout}, {"http.idle_timeout", c.IdleTimeout}} {
		if d.v < time.Second {
			errs = append(errs, &ConfigError{Key: d.key, Message: fmt.Sprintf("must be at least 1s, got %s", d.v)})
		}
	}
	if c.MaxHeaderBytes < 4<<10 {
		errs = append(errs, &ConfigError{Key: "http.max_header_bytes", Message: fmt.Sprintf("must be at least 4096, got %d", c.MaxHeaderBytes)})
	}
	if c.MaxPerSource < 0 {
		errs = append(errs, &ConfigError{Key: "http.max_per_source", Message: fmt.Sprintf("must be 0 (no cap) or more, got %d", c.MaxPerSource)})
	}
	return errs
}

func (c LogConfig) validate() []error {
	var errs []error
	if _, ok := logLevel(c.Level); !ok {
		errs = append(errs, &ConfigError{Key: "log.level", Message: fmt.Sprintf("must be debug, info, warn or error, got %q", c.Level)})
	}
	if c.Format != "text" && c.Format != "json" {
		errs = append(errs, &ConfigError{Key: "log.format", Message: fmt.Sprintf("must be text or json, got %q", c.Format)})
	}
	return errs
}

func logLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return 0, false
}

// NewLogger returns the logger the configuration asks for, writing to w.
// Every line logged with a request's context carries its request_id.
func (c LogConfig) NewLogger(w io.Writer) *slog.Logger {
	level, _ := logLevel(c.Level)
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(httpserver.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(httpserver.LogHandler(slog.NewTextHandler(w, opts)))
}

// validateWebhooks checks the "webhooks" section when webhooks.url or
// webhooks.secret is set.
func validateWebhooks(c webhook.Config) []error {
	return sectionErrors(c.Validate(), "webhooks", func(e *webhook.FieldError) (string, string) { return e.Key, e.Message })
}

// validateEmail checks the email sections when smtp.host is set.
func validateEmail(c mailer.Config) []error {
	if !c.Enabled() {
		return nil
	}
	return sectionErrors(c.Validate(), "smtp", func(e *mailer.ConfigError) (string, string) { return e.Key, e.Message })
}

// validateSlack checks the "slack" section when any Slack token is set.
func validateSlack(c bot.Config) []error {
	if !c.Enabled() {
		return nil
	}
	return sectionErrors(c.Validate(), "slack", func(e *bot.FieldError) (string, string) { return e.Key, e.Message })
}

// sectionErrors turns the errors of a package's own Validate into
// ConfigErrors: those of its key-naming type E keep their key, any other is
// put on the section.
func sectionErrors[E error](err error, section string, keyOf func(E) (key, msg string)) []error {
	var out []error
	for _, e := range unjoin(err) {
		if e == nil {
			continue
		}
		var fe E
		if errors.As(e, &fe) {
			key, msg := keyOf(fe)
			out = append(out, &ConfigError{Key: key, Message: msg})
		} else {
			out = append(out, &ConfigError{Key: section, Message: e.Error()})
		}
	}
	return out
}

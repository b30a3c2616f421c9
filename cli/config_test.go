package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

func TestLoadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "signoff.yaml")
	yaml := "database:\n  url: postgres://file@localhost/signoff\nhttp:\n  addr: 127.0.0.1:7000\nlog:\n  level: debug\n  format: json\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		flags []string
		want  Config
	}{
		{
			name: "defaults",
			want: Config{HTTP: HTTPConfig{Addr: "127.0.0.1:8080", BaseURL: "http://127.0.0.1:8080"}, Log: LogConfig{Level: "info", Format: "text"}},
		},
		{
			name: "file",
			file: file,
			want: Config{Database: DatabaseConfig{URL: "postgres://file@localhost/signoff"}, HTTP: HTTPConfig{Addr: "127.0.0.1:7000", BaseURL: "http://127.0.0.1:7000"}, Log: LogConfig{Level: "debug", Format: "json"}},
		},
		{
			name: "env over file",
			file: file,
			env:  map[string]string{"SIGNOFF_DATABASE_URL": "postgres://env@localhost/signoff", "SIGNOFF_LOG_FORMAT": "text", "SIGNOFF_HTTP_BASE_URL": "https://signoff.example"},
			want: Config{Database: DatabaseConfig{URL: "postgres://env@localhost/signoff"}, HTTP: HTTPConfig{Addr: "127.0.0.1:7000", BaseURL: "https://signoff.example"}, Log: LogConfig{Level: "debug", Format: "text"}},
		},
		{
			name:  "flags over env and file",
			file:  file,
			env:   map[string]string{"SIGNOFF_DATABASE_URL": "postgres://env@localhost/signoff", "SIGNOFF_LOG_LEVEL": "warn"},
			flags: []string{"--database-url", "postgres://flag@localhost/signoff", "--log-level", "error", "--http-addr", "127.0.0.1:0"},
			want:  Config{Database: DatabaseConfig{URL: "postgres://flag@localhost/signoff"}, HTTP: HTTPConfig{Addr: "127.0.0.1:0", BaseURL: "http://127.0.0.1:0"}, Log: LogConfig{Level: "error", Format: "json"}},
		},
		{
			name: "config file from env",
			env:  map[string]string{"SIGNOFF_CONFIG": file},
			want: Config{Database: DatabaseConfig{URL: "postgres://file@localhost/signoff"}, HTTP: HTTPConfig{Addr: "127.0.0.1:7000", BaseURL: "http://127.0.0.1:7000"}, Log: LogConfig{Level: "debug", Format: "json"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			for _, name := range []string{"database-url", "log-level", "log-format", "http-addr", "base-url"} {
				fs.String(name, "", "")
			}
			if err := fs.Parse(tt.flags); err != nil {
				t.Fatal(err)
			}
			got, err := LoadConfig(tt.file, fs, func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			// The email, webhook and metrics sections keep their defaults
			// in every case here.
			def := DefaultConfig()
			tt.want.SMTP, tt.want.Links = def.SMTP, def.Links
			tt.want.Webhooks, tt.want.Metrics = def.Webhooks, def.Metrics
			tt.want.Reminders, tt.want.Retention = def.Reminders, def.Retention
			h := def.HTTP // the limits keep their defaults too
			tt.want.HTTP.ReadTimeout, tt.want.HTTP.WriteTimeout, tt.want.HTTP.IdleTimeout = h.ReadTimeout, h.WriteTimeout, h.IdleTimeout
			tt.want.HTTP.MaxHeaderBytes, tt.want.HTTP.MaxPerSource = h.MaxHeaderBytes, h.MaxPerSource
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadConfig (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	typo := write("typo.yaml", "log:\n  formt: json\n")
	bad := write("bad.yaml", "log:\n  format: xml\n")
	broken := write("broken.yaml", "log: [unclosed\n")

	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // the first line of stderr
	}{
		{"format from env", map[string]string{"SIGNOFF_LOG_FORMAT": "xml"}, []string{"migrate"}, `signoff: config: log.format: must be text or json, got "xml"`},
		{"format from flag", nil, []string{"migrate", "--log-format", "xml"}, `signoff: config: log.format: must be text or json, got "xml"`},
		{"format from file", nil, []string{"migrate", "--config", bad}, `signoff: config: log.format: must be text or json, got "xml"`},
		{"level", map[string]string{"SIGNOFF_LOG_LEVEL": "loud"}, []string{"migrate"}, `signoff: config: log.level: must be debug, info, warn or error, got "loud"`},
		{"addr", nil, []string{"serve", "--http-addr", "localhost"}, `signoff: config: http.addr: must be host:port, got "localhost"`},
		{"port", map[string]string{"SIGNOFF_HTTP_ADDR": "127.0.0.1:99999"}, []string{"serve"}, `signoff: config: http.addr: port must be a number from 0 to 65535, got "99999"`},
		{"base url", map[string]string{"SIGNOFF_HTTP_BASE_URL": "signoff.example"}, []string{"serve"}, `signoff: config: http.base_url: must be an absolute http or https URL, got "signoff.example"`},
		{"database url missing", nil, []string{"admin", "member", "list", "--workspace", "acme"}, `signoff: config: database.url: required: set --database-url, SIGNOFF_DATABASE_URL or database.url in the config file`},
		{"database url malformed", map[string]string{"SIGNOFF_DATABASE_URL": "postgres://u:secret@host:notaport/db"}, []string{"migrate"}, `signoff: config: database.url: not a valid PostgreSQL connection URL (postgres://user:password@host:port/dbname)`},
		{"slack bot token", map[string]string{"SIGNOFF_SLACK_BOT_TOKEN": "xoxp-user", "SIGNOFF_SLACK_SIGNING_SECRET": "s"}, []string{"serve"}, `signoff: config: slack.bot_token: must be a bot token (xoxb-…)`},
		{"slack api url", map[string]string{"SIGNOFF_SLACK_BOT_TOKEN": "xoxb-1", "SIGNOFF_SLACK_APP_TOKEN": "xapp-1", "SIGNOFF_SLACK_API_URL": "localhost:9"}, []string{"serve"}, `signoff: config: slack.api_url: must be an absolute http or https URL, got "localhost:9"`},
		{"trusted proxies", map[string]string{"SIGNOFF_HTTP_TRUSTED_PROXIES": "10.0.0.0/8,lb.example"}, []string{"serve"}, `signoff: config: http.trusted_proxies: must be CIDRs or addresses (10.0.0.0/8, 192.0.2.7): ParseAddr("lb.example"): unexpected character (at "lb.example")`},
		{"read timeout", map[string]string{"SIGNOFF_HTTP_READ_TIMEOUT": "0s"}, []string{"serve"}, `signoff: config: http.read_timeout: must be at least 1s, got 0s`},
		{"header bytes", map[string]string{"SIGNOFF_HTTP_MAX_HEADER_BYTES": "10"}, []string{"serve"}, `signoff: config: http.max_header_bytes: must be at least 4096, got 10`},
		{"retention malformed", map[string]string{"SIGNOFF_RETENTION_OUTBOX": "a month"}, []string{"migrate"}, `signoff: config: retention.outbox: must be a duration such as 30d or 36h, or off, got "a month"`},
		{"retention days malformed", map[string]string{"SIGNOFF_RETENTION_AUDIT": "-3d"}, []string{"migrate"}, `signoff: config: retention.audit: must be a positive number of days such as 30d, got "-3d"`},
		{"idempotency keys kept too briefly", map[string]string{"SIGNOFF_RETENTION_IDEMPOTENCY_KEYS": "1h"}, []string{"migrate"}, `signoff: config: retention.idempotency_keys: must be at least 24h0m0s (a key answers that long), got "1h"`},
		{"retention interval", map[string]string{"SIGNOFF_RETENTION_INTERVAL": "1s"}, []string{"migrate"}, `signoff: config: retention.interval: must be from 1m to 168h, got 1s`},
		{"pprof on a public address", map[string]string{"SIGNOFF_DEBUG_PPROF_ADDR": "0.0.0.0:6060"}, []string{"serve"}, `signoff: config: debug.pprof_addr: must be a loopback host:port such as 127.0.0.1:6060, got "0.0.0.0:6060"`},
		{"pprof without a port", map[string]string{"SIGNOFF_DEBUG_PPROF_ADDR": "127.0.0.1"}, []string{"serve"}, `signoff: config: debug.pprof_addr: must be a loopback host:port such as 127.0.0.1:6060, got "127.0.0.1"`},
		{"unknown key", nil, []string{"migrate", "--config", typo}, `signoff: config: log.formt: unknown setting in ` + typo},
		{"missing file", nil, []string{"migrate", "--config", filepath.Join(dir, "nope.yaml")}, `signoff: config: cannot read config file: open ` + filepath.Join(dir, "nope.yaml") + `: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cliEnv{t: t, env: tt.env}
			r := c.run(tt.args...)
			first, _, _ := strings.Cut(r.stderr, "\n")
			if r.code != ExitUsage || first != tt.want {
				t.Errorf("signoff %v: exit %d, stderr %q; want exit 2 and first line %q", tt.args, r.code, r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("stderr shows the database password: %q", r.stderr)
			}
		})
	}

	t.Run("broken file", func(t *testing.T) {
		c := &cliEnv{t: t}
		r := c.run("migrate", "--config", broken)
		if r.code != ExitUsage || !strings.HasPrefix(r.stderr, "signoff: config: "+broken) {
			t.Errorf("exit %d, stderr %q; want exit 2 naming the file", r.code, r.stderr)
		}
	})
	t.Run("every problem named", func(t *testing.T) {
		c := &cliEnv{t: t, env: map[string]string{"SIGNOFF_LOG_FORMAT": "xml", "SIGNOFF_LOG_LEVEL": "loud"}}
		r := c.run("migrate")
		if r.code != ExitUsage || !strings.Contains(r.stderr, "log.format") || !strings.Contains(r.stderr, "log.level") {
			t.Errorf("exit %d, stderr %q; want both keys named", r.code, r.stderr)
		}
	})
}

func TestEnvVar(t *testing.T) {
	got := map[string]string{}
	for _, k := range Keys() {
		got[k] = EnvVar(k)
	}
	want := map[string]string{
		"database.url":          "SIGNOFF_DATABASE_URL",
		"http.addr":             "SIGNOFF_HTTP_ADDR",
		"http.base_url":         "SIGNOFF_HTTP_BASE_URL",
		"http.trusted_proxies":  "SIGNOFF_HTTP_TRUSTED_PROXIES",
		"http.read_timeout":     "SIGNOFF_HTTP_READ_TIMEOUT",
		"http.write_timeout":    "SIGNOFF_HTTP_WRITE_TIMEOUT",
		"http.idle_timeout":     "SIGNOFF_HTTP_IDLE_TIMEOUT",
		"http.max_header_bytes": "SIGNOFF_HTTP_MAX_HEADER_BYTES",
		"http.max_per_source":   "SIGNOFF_HTTP_MAX_PER_SOURCE",
		"metrics.token":         "SIGNOFF_METRICS_TOKEN",
		"log.level":             "SIGNOFF_LOG_LEVEL",
		"log.format":            "SIGNOFF_LOG_FORMAT",
		"slack.api_url":         "SIGNOFF_SLACK_API_URL",
		"slack.app_token":       "SIGNOFF_SLACK_APP_TOKEN",
		"slack.bot_token":       "SIGNOFF_SLACK_BOT_TOKEN",
		"slack.command":         "SIGNOFF_SLACK_COMMAND",
		"slack.signing_secret":  "SIGNOFF_SLACK_SIGNING_SECRET",
		"smtp.host":             "SIGNOFF_SMTP_HOST",
		"smtp.connections":      "SIGNOFF_SMTP_CONNECTIONS",
		"smtp.port":             "SIGNOFF_SMTP_PORT",
		"smtp.username":         "SIGNOFF_SMTP_USERNAME",
		"smtp.password":         "SIGNOFF_SMTP_PASSWORD",
		"smtp.tls":              "SIGNOFF_SMTP_TLS",
		"smtp.timeout":          "SIGNOFF_SMTP_TIMEOUT",
		"mail.from":             "SIGNOFF_MAIL_FROM",
		"mail.reply_to":         "SIGNOFF_MAIL_REPLY_TO",
		"mail.dkim.domain":      "SIGNOFF_MAIL_DKIM_DOMAIN",
		"mail.dkim.selector":    "SIGNOFF_MAIL_DKIM_SELECTOR",
		"mail.dkim.key_file":    "SIGNOFF_MAIL_DKIM_KEY_FILE",
		"links.ttl":             "SIGNOFF_LINKS_TTL",
		"links.keys":            "SIGNOFF_LINKS_KEYS",
		"templates.dir":         "SIGNOFF_TEMPLATES_DIR",
		"outbox.lease":          "SIGNOFF_OUTBOX_LEASE",
		"outbox.base_delay":     "SIGNOFF_OUTBOX_BASE_DELAY",
		"outbox.max_delay":      "SIGNOFF_OUTBOX_MAX_DELAY",
		"outbox.workers":        "SIGNOFF_OUTBOX_WORKERS",
		"outbox.max_attempts":   "SIGNOFF_OUTBOX_MAX_ATTEMPTS",
		"webhooks.url":          "SIGNOFF_WEBHOOKS_URL",
		"webhooks.secret":       "SIGNOFF_WEBHOOKS_SECRET",
		"webhooks.timeout":      "SIGNOFF_WEBHOOKS_TIMEOUT",
		"metrics.enabled":       "SIGNOFF_METRICS_ENABLED",
		"reminders.interval":    "SIGNOFF_REMINDERS_INTERVAL",
	}
	for k, v := range map[string]string{
		"retention.outbox":           "SIGNOFF_RETENTION_OUTBOX",
		"retention.slack_deliveries": "SIGNOFF_RETENTION_SLACK_DELIVERIES",
		"retention.idempotency_keys": "SIGNOFF_RETENTION_IDEMPOTENCY_KEYS",
		"retention.audit":            "SIGNOFF_RETENTION_AUDIT",
		"retention.interval":         "SIGNOFF_RETENTION_INTERVAL",
		"media.allow_private":        "SIGNOFF_MEDIA_ALLOW_PRIVATE",
		"media.max_bytes":            "SIGNOFF_MEDIA_MAX_BYTES",
		"media.max_pixels":           "SIGNOFF_MEDIA_MAX_PIXELS",
		"media.timeout":              "SIGNOFF_MEDIA_TIMEOUT",
		"debug.pprof_addr":           "SIGNOFF_DEBUG_PPROF_ADDR",
	} {
		want[k] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys and env vars (-want +got):\n%s", diff)
	}
}

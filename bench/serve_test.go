package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/bot"
	"github.com/signoff-app/signoff/cli"
	"github.com/signoff-app/signoff/mailer"
)

// TestServerSettings checks that every setting the bench passes to
// `signoff serve` is a configuration key (a renamed key would otherwise be
// dropped without a word) and that the overrides reach the server only.
func TestServerSettings(t *testing.T) {
	c := cli.DefaultConfig()
	c.Database.URL = "postgres://postgres@127.0.0.1:5432/signoff?sslmode=disable"
	c.Log.Level = "warn"
	c.Slack = bot.Config{BotToken: botToken, SigningSecret: signingSecret, APIURL: "http://127.0.0.1:1/api/"}
	c.SMTP.Host, c.SMTP.Port, c.SMTP.TLS, c.SMTP.Timeout = "127.0.0.1", 2525, mailer.TLSNone, 10*time.Second
	c.Mail.From = "Signoff Bench <signoff@bench.test>"
	c.Links.Keys = []string{"k1", "k2"}

	s, err := serverSettings(c, Config{PoolMaxConns: 8, OutboxWorkers: 4})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"database.url":     c.Database.URL + "&pool_max_conns=8",
		"smtp.port":        "2525",
		"smtp.timeout":     "10s",
		"links.keys":       "k1,k2",
		"outbox.workers":   "4",
		"smtp.connections": "4",
		"log.level":        "warn",
	} {
		if s[k] != want {
			t.Errorf("%s = %q, want %q", k, s[k], want)
		}
	}
	if s, err = serverSettings(c, Config{}); err != nil {
		t.Fatal(err)
	}
	if s["database.url"] != c.Database.URL || s["outbox.workers"] != "" {
		t.Errorf("without overrides: database.url %q, outbox.workers %q", s["database.url"], s["outbox.workers"])
	}
}

func TestLineWriter(t *testing.T) {
	var b strings.Builder
	w := &lineWriter{w: &b, prefix: "srv: "}
	for _, p := range []string{"level=WARN msg=a\nlevel=WA", "RN msg=b\n", "tail"} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	w.flush()
	if want := "srv: level=WARN msg=a\nsrv: level=WARN msg=b\nsrv: tail\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

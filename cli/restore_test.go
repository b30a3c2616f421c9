package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/internal/servetest"
)

// TestBackupRestore follows docs/operations.md: pg_dump a live database,
// restore it into a new cluster, run `signoff migrate`, serve from it, and
// find the data there (a draft, read through the API with a token made
// before the backup).
func TestBackupRestore(t *testing.T) {
	pgtest.SkipShort(t, "starts a second PostgreSQL cluster")
	ctx := context.Background()
	pgDump, err := pgtest.Tool("pg_dump")
	if err != nil {
		t.Fatal(err)
	}
	pgRestore, err := pgtest.Tool("pg_restore")
	if err != nil {
		t.Fatal(err)
	}

	// The live database.
	src := newCLI(t, testDB(t))
	seed(src, "acme")
	src.ok("admin", "grant", "--workspace", "acme", "--account", "acme-ig", "--member", "eddie@agency.example", "--caps", "view,create")
	var created struct {
		Token string `json:"token"`
	}
	src.jsonOut(&created, "admin", "token", "create", "--workspace", "acme", "--name", "ci", "--member", "eddie@agency.example")
	var draft struct {
		ID int64 `json:"id"`
	}
	src.jsonOut(&draft, "draft", "submit", "--workspace", "acme", "--account", "acme-ig", "--as", "eddie@agency.example", "--text", "Saved by the backup")

	// Backup: pg_dump's custom format.
	dump := filepath.Join(t.TempDir(), "signoff.dump")
	if out, err := exec.CommandContext(ctx, pgDump, "--format=custom", "--no-owner", "--file", dump, src.env["SIGNOFF_DATABASE_URL"]).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}

	// Restore into a new, empty cluster.
	cluster, err := pgtest.StartTempCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	conn, err := pgx.Connect(ctx, cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE signoff_restored`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	restored := cluster.DatabaseURL("signoff_restored")
	if out, err := exec.CommandContext(ctx, pgRestore, "--no-owner", "--exit-on-error", "--dbname", restored, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}

	// Upgrade (a no-op here: the dump is of the current schema), then serve.
	dst := newCLI(t, restored)
	dst.ok("migrate")
	dst.env["SIGNOFF_LOG_LEVEL"] = "info" // servetest.WaitListening reads the "serving" line
	sctx, cancel := context.WithCancel(ctx)
	stderr := &servetest.Log{}
	exited := make(chan int, 1)
	go func() {
		exited <- Run(sctx, []string{"serve", "--http-addr", "127.0.0.1:0", "--log-format", "json"},
			strings.NewReader(""), io.Discard, stderr, dst.getenv)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Errorf("serve did not stop")
		}
	})
	addr := servetest.WaitListening(t, stderr, exited)

	req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/api/v1/drafts/%d", addr, draft.ID), nil)
	req.Header.Set("Authorization", "Bearer "+created.Token)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Text string `json:"text"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &got) != nil || got.Text != "Saved by the backup" {
		t.Errorf("restored draft: %d %s", resp.StatusCode, body)
	}
}

package bench

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
)

// pgbench runs pgbench against the bench cluster.
type pgbench struct {
	bin string
	url string // the pgbench database
}

// init creates the pgbench tables at scale factor s.
func (p *pgbench) init(ctx context.Context, s int) error {
	_, err := p.run(ctx, "-i", "-q", "-s", strconv.Itoa(s), p.url)
	return err
}

var tpsRe = regexp.MustCompile(`tps = ([0-9.]+) \((without initial connection time|excluding connections establishing)\)`)

var txRe = regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`)

// tpcb runs the built-in tpcb-like script with clients for secs seconds
// and returns its TPS and how many transactions it ran.
func (p *pgbench) tpcb(ctx context.Context, clients, secs int) (tps float64, txs int, err error) {
	out, err := p.run(ctx, "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(secs), "-b", "tpcb-like", p.url)
	if err != nil {
		return 0, 0, err
	}
	return parseTPS(out)
}

// parseTPS reads the TPS and the transaction count of pgbench's output.
func parseTPS(out []byte) (tps float64, txs int, err error) {
	m := tpsRe.FindSubmatch(out)
	if m == nil {
		return 0, 0, fmt.Errorf("bench: no TPS in pgbench output:\n%s", out)
	}
	if tps, err = strconv.ParseFloat(string(m[1]), 64); err != nil {
		return 0, 0, fmt.Errorf("bench: pgbench TPS: %w", err)
	}
	if m := txRe.FindSubmatch(out); m != nil {
		txs, _ = strconv.Atoi(string(m[1]))
	}
	return tps, txs, nil
}

func (p *pgbench) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, p.bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("bench: pgbench %v: %w\n%s", args[:len(args)-1], err, out.Bytes())
	}
	return out.Bytes(), nil
}

package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"time"
)

// smtpSink is a minimal SMTP server on 127.0.0.1 that accepts every message
// and records when each arrived. It speaks enough of RFC 5321 for go-mail
// (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), without TLS or AUTH.
type smtpSink struct {
	ln net.Listener
	wg sync.WaitGroup

	mu       sync.Mutex
	count    int
	first    time.Time
	last     time.Time
	byMarker map[string]time.Time // last arrival of each bench marker in a body
	conns    map[net.Conn]struct{}
}

// markerRe finds the markers the harness puts in draft texts.
var markerRe = regexp.MustCompile(`BMK[0-9]+Z`)

func startSMTPSink() (*smtpSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtp sink: %w", err)
	}
	s := &smtpSink{ln: ln, byMarker: map[string]time.Time{}, conns: map[net.Conn]struct{}{}}
	s.wg.Go(s.accept)
	return s, nil
}

func (s *smtpSink) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpSink) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *smtpSink) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			_ = s.serve(c)
		})
	}
}

// stats returns how many messages arrived and when the first and last did.
func (s *smtpSink) stats() (n int, first, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.first, s.last
}

// reset forgets what arrived so far.
func (s *smtpSink) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count, s.first, s.last = 0, time.Time{}, time.Time{}
	clear(s.byMarker)
}

// arrival returns when the last message carrying marker arrived.
func (s *smtpSink) arrival(marker string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byMarker[marker]
	return t, ok
}

// waitCount waits until at least n messages arrived or ctx ends.
func (s *smtpSink) waitCount(ctx context.Context, n int) error {
	for {
		if got, _, _ := s.stats(); got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			got, _, _ := s.stats()
			return fmt.Errorf("smtp sink: %d of %d messages arrived: %w", got, n, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (s *smtpSink) serve(c net.Conn) error {
	r := textproto.NewReader(bufio.NewReader(c))
	w := bufio.NewWriter(c)
	reply := func(lines ...string) error {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		return w.Flush()
	}
	if err := reply("220 bench-sink ESMTP"); err != nil {
		return err
	}
	for {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Minute))
		line, err := r.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		verb, _, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			err = reply("250-bench-sink", "250-8BITMIME", "250-SMTPUTF8", "250 SIZE 10485760")
		case "HELO":
			err = reply("250 bench-sink")
		case "MAIL", "RCPT", "RSET", "NOOP":
			err = reply("250 OK")
		case "DATA":
			if err = reply("354 go ahead"); err != nil {
				return err
			}
			body, derr := r.ReadDotBytes()
			if derr != nil {
				return derr
			}
			s.record(body)
			err = reply("250 OK queued")
		case "QUIT":
			_ = reply("221 bye")
			return nil
		default:
			err = reply("502 not implemented")
		}
		if err != nil {
			return err
		}
	}
}

func (s *smtpSink) record(body []byte) {
	now := time.Now()
	// Quoted-printable may break a long line; markers are short and sit in
	// the draft text, which is short, so they survive whole.
	markers := markerRe.FindAll(body, -1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	for _, m := range markers {
		s.byMarker[string(m)] = now
	}
}

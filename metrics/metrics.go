// Package metrics exposes Signoff's operational metrics in the Prometheus
// format on a private registry (no global state): HTTP requests by route and
// status, decisions by channel and outcome, outbox deliveries and failures,
// outbox depth and age (queried from Postgres on scrape), reminder and
// deadline actions, and the database pool. It implements approvals.Metrics
// and httpserver.RequestObserver.
package metrics

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/outbox"
)

// ScrapeTimeout bounds the outbox query of one scrape.
const ScrapeTimeout = 2 * time.Second

// Metrics is the set of Signoff's metrics on its own registry.
type Metrics struct {
	reg *prometheus.Registry

	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	sent      *prometheus.CounterVec
	failures  *prometheus.CounterVec
	reminders *prometheus.CounterVec
	deadlines *prometheus.CounterVec
	refusals  *prometheus.CounterVec
}

var (
	_ approvals.Metrics = (*Metrics)(nil)
)

// New returns the metrics, registered with a new registry together with
// the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signoff_http_requests_total", Help: "HTTP requests served, by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "signoff_http_request_duration_seconds", Help: "HTTP request latency, by method and route pattern.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signoff_decisions_total", Help: "Decision attempts, by channel, verdict and outcome (approved, rejected, repeat, or why it was refused).",
		}, []string{"channel", "verdict", "outcome"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signoff_outbox_sent_total", Help: "Outbox messages delivered, by channel.",
		}, []string{"channel"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signoff_outbox_send_failures_total", Help: "Failed outbox delivery attempts, by channel and kind (retry or permanent).",
		}, []string{"channel", "kind"}),
		reminders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signoff_reminders_total", Help: "Reminders queued, by kind.",
		}, []string{"kind"}),
		deadlines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signoff_deadline_actions_total", Help: "Deadline policies applied, by policy.",
		}, []string{"policy"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signoff_unauthenticated_refusals_total", Help: "Refused requests of callers Signoff could not identify, by whether an audit row was written (past the per-source bound they are only counted).",
		}, []string{"written"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.decisions, m.sent, m.failures, m.reminders, m.deadlines, m.refusals,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the private registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, Timeout: 10 * time.Second})
}

// ObserveRequest counts one served HTTP request. route is the mux pattern
// that matched ("" when none did), so that paths with IDs and tokens never
// become labels.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

// Refusal implements approvals.Metrics.
func (m *Metrics) Refusal(written bool) {
	m.refusals.WithLabelValues(strconv.FormatBool(written)).Inc()
}

// HandlerWithToken is Handler for callers with the bearer token only, when
// token is set.
func (m *Metrics) HandlerWithToken(token string) http.Handler {
	h := m.Handler()
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="signoff metrics"`)
			http.Error(w, "metrics need the bearer token (metrics.token)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Decision implements approvals.Metrics.
func (m *Metrics) Decision(ch approvals.Channel, v approvals.Verdict, outcome string) {
	m.decisions.WithLabelValues(string(ch), string(v), outcome).Inc()
}

// Sent implements approvals.Metrics.
func (m *Metrics) Sent(ch approvals.Channel, err error) {
	switch {
	case err == nil:
		m.sent.WithLabelValues(string(ch)).Inc()
	case outbox.IsPermanent(err):
		m.failures.WithLabelValues(string(ch), "permanent").Inc()
	default:
		m.failures.WithLabelValues(string(ch), "retry").Inc()
	}
}

// Reminder implements approvals.Metrics.
func (m *Metrics) Reminder(kind string) { m.reminders.WithLabelValues(kind).Inc() }

// Deadline implements approvals.Metrics.
func (m *Metrics) Deadline(policy string) { m.deadlines.WithLabelValues(policy).Inc() }

// WatchOutbox adds gauges of the outbox's depth and oldest message by
// channel and state, read from src on each scrape within ScrapeTimeout.
func (m *Metrics) WatchOutbox(src approvals.OutboxStatter, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	m.reg.MustRegister(&outboxCollector{src: src, now: now,
		depth: prometheus.NewDesc("signoff_outbox_messages", "Outbox messages waiting (pending) or given up on (dead), by channel and state.", []string{"channel", "state"}, nil),
		age:   prometheus.NewDesc("signoff_outbox_oldest_age_seconds", "Age of the oldest pending or dead outbox message, by channel and state.", []string{"channel", "state"}, nil),
		up:    prometheus.NewDesc("signoff_outbox_stats_up", "1 if the last scrape could read the outbox, else 0.", nil, nil),
	})
}

type outboxCollector struct {
	src            approvals.OutboxStatter
	now            func() time.Time
	depth, age, up *prometheus.Desc
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.age
	ch <- c.up
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	stats, err := c.src.OutboxStats(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	now := c.now()
	for _, s := range stats {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.Count), string(s.Channel), string(s.State))
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, max(0, now.Sub(s.Oldest).Seconds()), string(s.Channel), string(s.State))
	}
}

// WatchPool adds the database pool's statistics, read from stat on each
// scrape (pass (*pgxpool.Pool).Stat).
func (m *Metrics) WatchPool(stat func() *pgxpool.Stat) {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("signoff_db_pool_"+name, help, nil, nil)
	}
	m.reg.MustRegister(&poolCollector{stat: stat, descs: map[string]*prometheus.Desc{
		"acquired":         d("acquired_conns", "Connections currently in use."),
		"idle":             d("idle_conns", "Idle connections."),
		"total":            d("total_conns", "Open connections."),
		"max":              d("max_conns", "The pool's maximum size."),
		"acquires":         d("acquires_total", "Successful acquires."),
		"acquire_seconds":  d("acquire_duration_seconds_total", "Total time spent waiting to acquire a connection."),
		"empty_acquires":   d("empty_acquires_total", "Acquires that had to wait for a connection."),
		"canceled_acquire": d("canceled_acquires_total", "Acquires canceled by their context."),
	}})
}

type poolCollector struct {
	stat  func() *pgxpool.Stat
	descs map[string]*prometheus.Desc
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stat()
	gauge := func(k string, v float64) { ch <- prometheus.MustNewConstMetric(c.descs[k], prometheus.GaugeValue, v) }
	counter := func(k string, v float64) { ch <- prometheus.MustNewConstMetric(c.descs[k], prometheus.CounterValue, v) }
	gauge("acquired", float64(s.AcquiredConns()))
	gauge("idle", float64(s.IdleConns()))
	gauge("total", float64(s.TotalConns()))
	gauge("max", float64(s.MaxConns()))
	counter("acquires", float64(s.AcquireCount()))
	counter("acquire_seconds", s.AcquireDuration().Seconds())
	counter("empty_acquires", float64(s.EmptyAcquireCount()))
	counter("canceled_acquire", float64(s.CanceledAcquireCount()))
}

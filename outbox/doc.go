// Package outbox delivers the messages the core queues in its outbox: a
// Dispatcher claims due rows, hands each to the Sender of its channel
// (email, Slack, webhook) and records the outcome, retrying with backoff.
// Who is told what, and what a message says, is decided in approvals; this
// package only carries it.
package outbox

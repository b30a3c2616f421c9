// Package faults is Signoff's fault suite. Its tests carry the build tag
// "faults" and run with `make faults`: they build the signoff binary, run
// `signoff serve` as child processes against a throwaway PostgreSQL, a
// real SMTP sink (mailpit) and a fake Slack (internal/slackfake), then break things
// (kill -9 mid-delivery, stop the database, take the SMTP sink down, make
// Slack answer 429, run replicas side by side, send forged input, race
// admins against authors and approvers) and check that nothing is lost,
// nothing is sent twice, nothing is left stuck and no request gets a false
// answer. TestMain prints a summary that docs/faults.md quotes.
package faults

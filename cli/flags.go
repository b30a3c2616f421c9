package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/spf13/pflag"
)

// Flag value types check syntax only (the core's parsers decide what is
// valid); a bad value is a usage error that names the flag.

type roleValue struct{ r *approvals.Role }

func (v roleValue) String() string { return string(*v.r) }
func (v roleValue) Type() string   { return "role" }
func (v roleValue) Set(s string) error {
	r, err := approvals.ParseRole(s)
	if err != nil {
		return fmt.Errorf("%s", approvals.ErrorMessage(err))
	}
	*v.r = r
	return nil
}

type notifyValue struct{ m *approvals.NotifyMode }

func (v notifyValue) String() string { return string(*v.m) }
func (v notifyValue) Type() string   { return "immediate|digest" }
func (v notifyValue) Set(s string) error {
	m, err := approvals.ParseNotifyMode(s)
	if err != nil {
		return fmt.Errorf("%s", approvals.ErrorMessage(err))
	}
	*v.m = m
	return nil
}

type tierValue struct{ t *approvals.Tier }

func (v tierValue) String() string { return string(*v.t) }
func (v tierValue) Type() string   { return "tier" }
func (v tierValue) Set(s string) error {
	t, err := approvals.ParseTier(s)
	if err != nil {
		return fmt.Errorf("%s", approvals.ErrorMessage(err))
	}
	*v.t = t
	return nil
}

type ruleValue struct{ r *approvals.Rule }

func (v ruleValue) String() string { return string(*v.r) }
func (v ruleValue) Type() string   { return "any|all" }
func (v ruleValue) Set(s string) error {
	r, err := approvals.ParseRule(s)
	if err != nil {
		return fmt.Errorf("%s", approvals.ErrorMessage(err))
	}
	*v.r = r
	return nil
}

type capsValue struct{ c *approvals.Caps }

func (v capsValue) String() string {
	if *v.c == nil {
		return ""
	}
	return v.c.String()
}
func (v capsValue) Type() string { return "caps" }
func (v capsValue) Set(s string) error {
	c, err := approvals.ParseCaps(s)
	if err != nil {
		return fmt.Errorf("%s", approvals.ErrorMessage(err))
	}
	*v.c = c
	return nil
}

type onOffValue struct{ b *bool }

func (v onOffValue) String() string {
	if *v.b {
		return "on"
	}
	return "off"
}
func (v onOffValue) Type() string { return "on|off" }
func (v onOffValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "true", "yes":
		*v.b = true
	case "off", "false", "no":
		*v.b = false
	default:
		return fmt.Errorf("want on or off")
	}
	return nil
}

// emailValue checks the address with the core's ValidateEmail, so a
// malformed email is a usage error (exit 2) that names the flag.
type emailValue struct{ e *string }

func (v emailValue) String() string { return *v.e }
func (v emailValue) Type() string   { return "email" }
func (v emailValue) Set(s string) error {
	e, err := approvals.ValidateEmail(s)
	if err != nil {
		return fmt.Errorf("%s", approvals.ErrorMessage(err))
	}
	*v.e = e
	return nil
}

type stateValue struct{ s *approvals.State }

func (v stateValue) String() string { return string(*v.s) }
func (v stateValue) Type() string   { return "state" }
func (v stateValue) Set(s string) error {
	st, err := approvals.ParseState(strings.ToLower(strings.TrimSpace(s)))
	if err != nil {
		return fmt.Errorf("%s", approvals.ErrorMessage(err))
	}
	*v.s = st
	return nil
}

type outboxStateValue struct{ s *approvals.OutboxState }

func (v outboxStateValue) String() string { return string(*v.s) }
func (v outboxStateValue) Type() string   { return "pending|sent|dead" }
func (v outboxStateValue) Set(s string) error {
	switch st := approvals.OutboxState(strings.ToLower(strings.TrimSpace(s))); st {
	case approvals.OutboxPending, approvals.OutboxSent, approvals.OutboxDead:
		*v.s = st
		return nil
	}
	return fmt.Errorf("want pending, sent or dead")
}

type timeValue struct{ t **time.Time }

func (v timeValue) String() string {
	if *v.t == nil {
		return ""
	}
	return (*v.t).Format(time.RFC3339)
}
func (v timeValue) Type() string { return "RFC3339" }
func (v timeValue) Set(s string) error {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2026-05-01T09:00:00Z")
	}
	*v.t = &t
	return nil
}

func emailFlag(fs *pflag.FlagSet, p *string, name, usage string) {
	fs.Var(emailValue{p}, name, usage)
}

// changed reports whether the flag was given on the command line.
func changed(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed
}

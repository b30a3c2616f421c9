package cli

import (
	"fmt"
	"strings"

	"github.com/signoff-app/signoff/approvals"
)

// networkValue is a --network flag: one of approvals.Networks, read by the
// core's ParseNetwork so the CLI accepts exactly what the core does.
type networkValue struct{ n *approvals.Network }

func (v networkValue) String() string {
	if v.n == nil {
		return ""
	}
	return string(*v.n)
}

func (v networkValue) Type() string {
	names := make([]string, 0, len(approvals.Networks()))
	for _, n := range approvals.Networks() {
		names = append(names, string(n))
	}
	return strings.Join(names, "|")
}

func (v networkValue) Set(s string) error {
	n, err := approvals.ParseNetwork(s)
	if err != nil {
		return fmt.Errorf("%s", approvals.ErrorMessage(err))
	}
	*v.n = n
	return nil
}

// networkName words an account's network for staff as the --network flag
// takes it: "instagram", "other".
func networkName(n approvals.Network) string {
	if n == "" {
		return string(approvals.NetworkOther)
	}
	return string(n)
}

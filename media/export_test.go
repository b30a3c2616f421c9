package media

import (
	"context"
	"net/netip"
	"strings"

	"github.com/signoff-app/signoff/approvals"
)

// SetPublic replaces the check of which addresses are public, so a test can
// call a loopback server "public" and still see others refused.
func (f *Fetcher) SetPublic(public func(netip.Addr) bool) { f.public = public }

// Inspect is what Fetch does with a body of the given content type once
// fetched, for the fuzz test.
func (f *Fetcher) Inspect(data []byte, ctype string) (approvals.Media, *approvals.Thumb, error) {
	var m approvals.Media
	if !strings.HasPrefix(ctype, "image/") {
		return m, nil, nil
	}
	th, err := f.thumbnail(context.Background(), data, ctype, &m)
	return m, th, err
}

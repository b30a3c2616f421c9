package media

import "net/netip"

// SetPublic replaces the check of which addresses are public, so a test can
// call a loopback server "public" and still see others refused.
func (f *Fetcher) SetPublic(public func(netip.Addr) bool) { f.public = public }

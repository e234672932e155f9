package config

import "net/netip"

// ImpRule is one impbind rule: a socket that connects or sends before it
// is bound, to a remote address in Range, is bound first to Target (or, if
// Same, to the remote address itself).
type ImpRule struct {
	Range  AddrRange
	Same   bool
	Target netip.Addr // when !Same: never v4-mapped, no zone
	Text   string     // as the user wrote it
	Origin Origin
}

// String returns the rule in canonical config language, e.g.
// "10.0.0.0/8 10.1.2.3" or "any same".
func (r ImpRule) String() string {
	if r.Same {
		return r.Range.String() + " same"
	}
	return r.Range.String() + " " + bracket(r.Target)
}

// matches reports whether the rule applies to remote. A rule with a
// concrete target applies only to remotes of the target's family: a socket
// cannot be bound to an address of the other family.
func (r ImpRule) matches(remote netip.Addr, l Locals) bool {
	if !r.Same && family(r.Target) != family(remote.Unmap()) {
		return false
	}
	return r.Range.Contains(remote, l)
}

// Impbind chooses the local address for the implicit bind of a socket
// about to reach remote: the first matching rule decides. rule is nil when
// none matched, and local is then the loopback address (SPEC §4).
//
// local has the form of remote, so it fits the caller's socket: IPv4 for
// IPv4; for a v4-mapped remote, the v4-mapped form; IPv6 for IPv6. For
// "same" it is remote itself. An invalid remote gives an invalid local.
func (c *Config) Impbind(remote netip.Addr, l Locals) (local netip.Addr, rule *ImpRule) {
	if !remote.IsValid() {
		return netip.Addr{}, nil
	}
	for i := range c.ImpBind {
		r := &c.ImpBind[i]
		if !r.matches(remote, l) {
			continue
		}
		if r.Same {
			return remote, r
		}
		return likeRemote(r.Target, remote), r
	}
	lo := netip.IPv6Loopback()
	if remote.Unmap().Is4() {
		lo = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return likeRemote(lo, remote), nil
}

// likeRemote returns a (unmapped) in v4-mapped form if remote is v4-mapped.
func likeRemote(a, remote netip.Addr) netip.Addr {
	if remote.Is4In6() && a.Is4() {
		return netip.AddrFrom16(a.As16())
	}
	return a
}

package config

import (
	"fmt"
	"iter"
	"net/netip"
	"strconv"
	"strings"
)

// Locals says which addresses belong to this machine, for the "local"
// address range. Implementations must be safe for concurrent use.
// Addresses passed in are unmapped and have no zone.
//
// Whatever a Locals says, loopback (127.0.0.0/8, ::1) and unspecified
// (0.0.0.0, ::) addresses always count as local: connecting to them
// reaches this machine. A nil Locals knows only those.
type Locals interface {
	IsLocal(netip.Addr) bool
}

func isLocal(l Locals, a netip.Addr) bool {
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	return l != nil && l.IsLocal(a)
}

// PortRange is an inclusive range of ports.
type PortRange struct {
	Min, Max uint16
}

// AllPorts is the port range of an ACL entry that names none.
var AllPorts = PortRange{0, 65535}

// Contains reports whether Min <= p <= Max.
func (r PortRange) Contains(p uint16) bool { return r.Min <= p && p <= r.Max }

// String returns "MIN-MAX", or "PORT" when Min == Max.
func (r PortRange) String() string {
	if r.Min == r.Max {
		return strconv.Itoa(int(r.Min))
	}
	return fmt.Sprintf("%d-%d", r.Min, r.Max)
}

// Candidates yields every port of the range once: starting at a port
// chosen by rnd (pass a random number), then upwards, wrapping from Max to
// Min. Random starts keep concurrent pickers from colliding; the sequential
// search then finds a free port if there is one. The caller checks
// availability. An empty range (Min > Max) yields nothing.
func (r PortRange) Candidates(rnd uint64) iter.Seq[uint16] {
	return func(yield func(uint16) bool) {
		if r.Min > r.Max {
			return
		}
		n := uint64(r.Max) - uint64(r.Min) + 1
		start := rnd % n
		for k := range n {
			if !yield(uint16(uint64(r.Min) + (start+k)%n)) {
				return
			}
		}
	}
}

// RangeKind is the form of an [AddrRange].
type RangeKind uint8

const (
	RangeAny    RangeKind = iota + 1 // any: every address of both families
	RangeLocal                       // local: what Locals says, plus loopback
	RangeAddr                        // a single address
	RangeSpan                        // ADDR-ADDR
	RangePrefix                      // ADDR/BITS
)

// AddrRange is the ADDRESS-RANGE of an ACL entry or impbind rule.
type AddrRange struct {
	Kind RangeKind
	// Lo and Hi are the inclusive bounds for RangeAddr, RangeSpan and
	// RangePrefix: same family, never v4-mapped, no zone.
	Lo, Hi netip.Addr
	// Prefix is the masked prefix for RangePrefix.
	Prefix netip.Prefix
}

// Contains reports whether a is in the range. a is unmapped first: a
// v4-mapped IPv6 address is in an IPv4 range, never in an IPv6 one.
func (r AddrRange) Contains(a netip.Addr, l Locals) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	switch r.Kind {
	case RangeAny:
		return true
	case RangeLocal:
		return isLocal(l, a)
	case RangeAddr, RangeSpan, RangePrefix:
		// Compare orders IPv4 before IPv6, so the family test is needed.
		return a.Is4() == r.Lo.Is4() && r.Lo.Compare(a) <= 0 && a.Compare(r.Hi) <= 0
	}
	return false
}

// family is 4 or 6 for concrete ranges, 0 for any and local.
func (r AddrRange) family() int {
	switch r.Kind {
	case RangeAddr, RangeSpan, RangePrefix:
		return family(r.Lo)
	}
	return 0
}

// String returns the range in the config language.
func (r AddrRange) String() string {
	switch r.Kind {
	case RangeAny:
		return "any"
	case RangeLocal:
		return "local"
	case RangeAddr:
		return bracket(r.Lo)
	case RangeSpan:
		return bracket(r.Lo) + "-" + bracket(r.Hi)
	case RangePrefix:
		return bracket(r.Prefix.Addr()) + "/" + strconv.Itoa(r.Prefix.Bits())
	}
	return "invalid"
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func familyName(f int) string { return "IPv" + strconv.Itoa(f) }

// bracket writes IPv6 addresses in brackets, as the config language wants.
func bracket(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// lastAddr returns the highest address of a masked prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	off := 0
	if p.Addr().Is4() {
		off = 96
	}
	for i := off + p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a := netip.AddrFrom16(b)
	if off != 0 {
		a = a.Unmap()
	}
	return a
}

// Entry is one ACL entry: "+" (Allow) or "-", an address range, a port
// range.
type Entry struct {
	Allow  bool
	Range  AddrRange
	Ports  PortRange // AllPorts when none was given
	Text   string    // as the user wrote it
	Origin Origin
}

// Matches reports whether ap is in the entry's address and port ranges.
func (e Entry) Matches(ap netip.AddrPort, l Locals) bool {
	return e.Ports.Contains(ap.Port()) && e.Range.Contains(ap.Addr(), l)
}

// String returns the entry in canonical config language, e.g.
// "+127.0.0.1:6010-6020" or "-[::1]".
func (e Entry) String() string {
	s := "-"
	if e.Allow {
		s = "+"
	}
	s += e.Range.String()
	if e.Ports != AllPorts {
		s += ":" + e.Ports.String()
	}
	return s
}

// ACL is a realbind or realconnect list.
type ACL struct {
	Name    string // "realbind" or "realconnect", for messages
	Entries []Entry
}

// Reason says how a [Verdict] was reached.
type Reason uint8

const (
	ReasonEntry   Reason = iota + 1 // an entry matched
	ReasonDefault                   // none matched: opposite of the last entry
	ReasonEmpty                     // the list is empty: deny
	ReasonInvalid                   // not a valid address (or op): deny
)

// Verdict is an ACL's answer for one address, and why.
type Verdict struct {
	Allow bool // true: use a real Internet socket
	ACL   string
	// Index is the position in the ACL's entries of the entry that matched,
	// or -1 when none did.
	Index int
	// Entry is the entry that matched or, for ReasonDefault, the last entry
	// (whose opposite applied). Zero otherwise.
	Entry  Entry
	Reason Reason
}

// String says in one line what was decided and which rule decided it, for
// debug output and noip explain.
func (v Verdict) String() string {
	what := verb(v.Allow)
	switch v.Reason {
	case ReasonEntry:
		return fmt.Sprintf("%s: %s entry %d %q (%v) matches", what, v.ACL, v.Index+1, v.Entry.Text, v.Entry.Origin)
	case ReasonDefault:
		return fmt.Sprintf("%s: no %s entry matches, and the last one, %q (%v), says %s", what, v.ACL, v.Entry.Text, v.Entry.Origin, verb(v.Entry.Allow))
	case ReasonEmpty:
		return fmt.Sprintf("%s: %s is empty", what, v.ACL)
	}
	return what + ": not a valid Internet address"
}

// Match decides for ap: the first matching entry decides; if none matches,
// the opposite of the last entry's answer applies (the squid convention);
// an empty list, or an invalid address, denies. Locals answers "local".
func (a ACL) Match(ap netip.AddrPort, l Locals) Verdict {
	v := Verdict{ACL: a.Name, Index: -1}
	if !ap.Addr().IsValid() {
		v.Reason = ReasonInvalid
		return v
	}
	if len(a.Entries) == 0 {
		v.Reason = ReasonEmpty
		return v
	}
	for i, e := range a.Entries {
		if e.Matches(ap, l) {
			v.Allow, v.Index, v.Entry, v.Reason = e.Allow, i, e, ReasonEntry
			return v
		}
	}
	last := a.Entries[len(a.Entries)-1]
	v.Allow, v.Entry, v.Reason = !last.Allow, last, ReasonDefault
	return v
}

// ParseTarget parses the ADDR[:PORT] argument of noip explain: "127.0.0.1",
// "127.0.0.1:22", "[::1]:53", "[::1]" or "::1" (a bare IPv6 address has no
// port). The address is returned as written (v4-mapped stays mapped);
// hasPort is false, and the port 0, when none was given.
func ParseTarget(s string) (ap netip.AddrPort, hasPort bool, err error) {
	bad := func(why string) (netip.AddrPort, bool, error) {
		return netip.AddrPort{}, false, fmt.Errorf("bad address %q: %s", s, why)
	}
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return bad("missing ']'")
		}
		host, port = s[1:end], s[end+1:]
		if port != "" {
			if port[0] != ':' {
				return bad("want [ADDR]:PORT")
			}
			port = port[1:]
			hasPort = true
		}
	case strings.Count(s, ":") == 1:
		i := strings.IndexByte(s, ':')
		host, port, hasPort = s[:i], s[i+1:], true
	}
	a, perr := netip.ParseAddr(host)
	if perr != nil {
		return bad("not an IP address")
	}
	if a.Zone() != "" {
		return bad("zones are not supported")
	}
	var p uint64
	if hasPort {
		if p, perr = strconv.ParseUint(port, 10, 16); perr != nil {
			return bad("want a port in 0-65535")
		}
	}
	return netip.AddrPortFrom(a, uint16(p)), hasPort, nil
}

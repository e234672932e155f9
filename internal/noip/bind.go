package noip

import (
	"net/netip"

	"golang.org/x/sys/unix"

	"noip/internal/config"
	"noip/internal/inet"
	"noip/internal/sockdir"
	"noip/internal/supervise"
)

// bind: binding a plastic stream socket records its Internet address (port
// 0 picks a free one from autoports) and checks it is free, but names no
// file yet: the endpoint file appears at listen, and a connecting socket
// gets an abstract name at connect. So sockets bound only to learn a port
// (Go's runtime probes this way) or to pick a source port leave nothing in
// the socket directory. Datagram sockets are bound at once, since they
// receive at their name.
//
// A restarted bind (the program was interrupted while noip worked) asks for
// the address the socket already has and succeeds again; a second bind
// the program was told succeeded is EINVAL, as in TCP.
func (p *Policy) bind(c *supervise.Call, set *Settings) supervise.Result {
	t := p.lookupGuarded(c, set, c.Int(0), addrGuard(unix.SYS_BIND))
	if t.kind == kindOther {
		return t.r
	}
	defer t.close()
	ap, _, r, ok := readTarget(c, t.s, "bind")
	if !ok {
		return r
	}
	v := p.decide(set, config.OpBind, ap)
	switch {
	case t.kind == kindReal && v.Allow:
		// noip binds it, with the address it checked.
		if err := unix.Bind(t.dup, sockaddrFor(t.s.family, ap)); err != nil {
			return supervise.Fail(errnoOf(err)).WithNote(note(set, "bind %v: %v: %v", ap, v, err))
		}
		return supervise.Return(0).WithNote(note(set, "bind %v: %v", ap, v))
	case t.kind == kindReal:
		// A real socket the rules keep off ap becomes plastic first.
		if r, ok := p.plasticTwin(c, set, &t); !ok {
			return r
		}
	case v.Allow:
		return p.bindReal(c, set, t.s, t.dup, ap, v.String())
	}
	s := t.s
	if set.DirErr != nil {
		return supervise.Fail(unix.EACCES).WithNote(note(set, "bind %v: %v", ap, set.DirErr))
	}
	reuse := sockoptBool(t.dup, unix.SOL_SOCKET, unix.SO_REUSEADDR)
	for attempt := 0; ; attempt++ {
		e, retry := p.reserve(s, set, ap, reuse)
		if retry && attempt == 0 {
			p.prune() // the name may be held by a socket that is gone
			continue
		}
		if e == 0 && s.typ == unix.SOCK_DGRAM {
			e = p.materialize(s, t.dup, reuse)
		}
		if e != 0 {
			return supervise.Fail(e).WithNote(note(set, "bind %v: plastic: %v", ap, e))
		}
		p.mu.Lock()
		s.bindSeen = true
		local := s.local
		p.mu.Unlock()
		if a := local.Addr(); s.family == inet.AF_INET6 && a.Is6() && !a.Is4In6() && !a.IsUnspecified() {
			// Bound to a specific IPv6 address, a socket is IPv6-only, as
			// the kernel marks it.
			if twin, e := s.opts.twinOf(s); e == 0 {
				unix.SetsockoptInt(twin, unix.SOL_IPV6, unix.IPV6_V6ONLY, 1)
				s.opts.remember(unix.SOL_IPV6, unix.IPV6_V6ONLY, intOpt(1))
			}
		}
		r := supervise.Return(0).WithNote(note(set, "bind %v: plastic %s (%v)", local, set.Dir.SockPath(endpointName(s.typ, local)), v))
		r.Gone = func() {
			p.mu.Lock()
			s.bindSeen = false
			p.mu.Unlock()
		}
		return r
	}
}

// reserve reserves ap (or a free port of it) for s. retry reports that
// the name is reserved by another socket noip knows of, which may be gone.
func (p *Policy) reserve(s *sock, set *Settings, ap netip.AddrPort, reuse bool) (e unix.Errno, retry bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.bound {
		if s.bindReq == ap && !s.bindSeen {
			return 0, false // the same bind again: it was interrupted
		}
		return unix.EINVAL, false
	}
	if s.connected || s.listening {
		return unix.EINVAL, false
	}
	want := ap
	if ap.Port() == 0 {
		found := false
		for port := range set.candidatePorts {
			try := netip.AddrPortFrom(ap.Addr(), port)
			if p.reserved[set.Dir.Path+"/"+endpointName(s.typ, try)] == nil && !nameTaken(set.Dir, s.typ, try) {
				ap, found = try, true
				break
			}
		}
		if !found {
			return unix.EADDRINUSE, false
		}
	} else {
		if o := p.reserved[set.Dir.Path+"/"+endpointName(s.typ, ap)]; o != nil && o != s && !(reuse && o.reuse) && !(s.reusePort && o.reusePort) {
			return unix.EADDRINUSE, true
		}
		if p.reservedClash(set.Dir, s, ap, reuse) {
			return unix.EADDRINUSE, false
		}
		if e := conflicts(set.Dir, s, ap, reuse, nil); e != 0 {
			return e, false
		}
	}
	s.dir, s.local, s.bound, s.bindReq, s.reuse = set.Dir, ap, true, want, reuse
	if s.named == unnamed {
		p.reserved[set.Dir.Path+"/"+endpointName(s.typ, ap)] = s
	}
	return 0, false
}

// reservedClash reports whether ap clashes with an address another socket
// of this supervisor has reserved (bound, not yet listening) in d: its
// wildcard, or for a wildcard ap, any address of its port, as TCP and UDP
// have it. Hold p.mu.
func (p *Policy) reservedClash(d *sockdir.Dir, s *sock, ap netip.AddrPort, reuse bool) bool {
	for _, o := range p.reserved {
		if o == s || o.dir != d || o.typ != s.typ || o.local.Port() != ap.Port() || reuse && o.reuse || s.reusePort && o.reusePort {
			continue
		}
		oa, a := o.local.Addr(), ap.Addr()
		switch {
		case a.IsUnspecified() && (oa.Is4() == a.Is4() || a.Is6() && !s.v6only):
			return true
		case oa.IsUnspecified() && (oa.Is4() == a.Is4() || oa.Is6() && !o.v6only):
			return true
		}
	}
	return false
}

// nameTaken reports whether an autoport candidate is visibly in use: its
// endpoint file or its wildcard's exists. It does not ask whether the file
// is stale; there are plenty of other ports.
func nameTaken(d *sockdir.Dir, typ int, ap netip.AddrPort) bool {
	if _, ok := d.Stat(endpointName(typ, ap)); ok {
		return true
	}
	if _, ok := d.Stat(endpointName(typ, inet.Wildcard(ap))); ok {
		return true
	}
	return false
}

// conflicts reports EADDRINUSE when binding ap would clash with a live
// endpoint as the kernel's rules for TCP and UDP have it: the same address,
// or a wildcard and a specific address of the same port (a dual-stack IPv6
// wildcard counting as the IPv4 wildcard too), of the same protocol. A
// clash with a socket that is not listening is allowed when both set
// SO_REUSEADDR; we only know our own side, so any live non-listening holder
// clashes unless reuse is set. Sockets that both set SO_REUSEPORT share.
func conflicts(d *sockdir.Dir, s *sock, ap netip.AddrPort, reuse bool, snap *sockdir.Snapshot) unix.Errno {
	var names []string
	if ap.Addr().IsUnspecified() {
		entries, err := d.Entries()
		if err != nil {
			return unix.EIO
		}
		dual := ap.Addr().Is6() && !s.v6only
		for _, e := range entries {
			if e.Datagram() != (s.typ == unix.SOCK_DGRAM) {
				continue
			}
			name := e.Name
			if e.Datagram() {
				name = name[len(sockdir.UDP)+1:]
			}
			other, _ := inet.ParseName(name)
			if other.Port() != ap.Port() {
				continue
			}
			if other.Addr().Is4() == ap.Addr().Is4() || dual {
				names = append(names, e.Name)
			}
		}
	} else {
		names = []string{endpointName(s.typ, ap), endpointName(s.typ, inet.Wildcard(ap))}
	}
	for _, n := range names {
		e, ok := d.Stat(n)
		if !ok {
			continue
		}
		if snap == nil {
			sn, err := sockdir.Snap()
			if err != nil {
				return unix.EIO
			}
			snap = &sn
		}
		st, live := snap.Files[e.ID]
		switch {
		case !live:
		case s.reusePort && n == endpointName(s.typ, ap):
			// A listener group, or a datagram group: joined at listen.
		case st.Listening || !reuse:
			return unix.EADDRINUSE
		}
	}
	return 0
}

// endpointNames returns the file names a bound socket's endpoint has: its
// own, and for a dual-stack IPv6 wildcard also the IPv4 wildcard of its
// port, as a hard link, so IPv4 clients find it and IPv4 binds clash with it.
func endpointNames(s *sock) []string {
	names := []string{s.endpointName()}
	if s.family == inet.AF_INET6 && s.local.Addr() == netip.IPv6Unspecified() && !s.v6only {
		names = append(names, endpointName(s.typ, netip.AddrPortFrom(netip.IPv4Unspecified(), s.local.Port())))
	}
	return names
}

// materialize gives a bound socket its endpoint file (and link), replacing
// stale files in the way, under the directory lock so that a concurrent
// noip never loses a file it just bound. fd is the socket to bind: the
// plastic socket itself, or a new one that replaces it.
func (p *Policy) materialize(s *sock, fd int, reuse bool) unix.Errno {
	p.mu.Lock()
	d, local, done := s.dir, s.local, s.named == nameFile
	p.mu.Unlock()
	if done {
		return 0
	}
	if err := d.Lock(); err != nil {
		return unix.EIO
	}
	defer d.Unlock()
	snap, err := sockdir.Snap()
	if err != nil {
		return unix.EIO
	}
	if e := conflicts(d, s, local, reuse, &snap); e != 0 {
		return e
	}
	names := endpointNames(s)
	for _, n := range names {
		if e, ok := d.Stat(n); ok {
			if st, live := snap.Files[e.ID]; live && (st.Listening || s.typ == unix.SOCK_DGRAM && !p.mayTakeOver(s, d, n, reuse)) {
				return unix.EADDRINUSE
			}
			d.Remove(n)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: d.SockPath(names[0])}); err != nil {
		return errnoOf(err)
	}
	for _, n := range names[1:] {
		if err := d.Link(names[0], n); err != nil {
			d.Remove(names[0])
			return unix.EADDRINUSE
		}
	}
	p.mu.Lock()
	s.named = nameFile
	key := d.Path + "/" + endpointName(s.typ, local)
	if p.reserved[key] == s {
		delete(p.reserved, key)
	}
	if s.typ == unix.SOCK_DGRAM {
		p.dgramFiles[key] = s
	}
	p.endpoints++
	sweep := p.endpoints%sweepEvery == 0
	p.mu.Unlock()
	for _, n := range names {
		p.track(d, n)
	}
	if sweep {
		// Servers that exit without removing their endpoint leave it
		// stale; over a long session they would pile up. Sweep now and
		// then, off the loop.
		go d.GC()
	}
	return 0
}

// mayTakeOver reports whether datagram socket s may take endpoint n from
// the live socket that has it: when both set SO_REUSEADDR (or
// SO_REUSEPORT), as UDP lets several sockets bind one port and delivers to
// the last. The other keeps working with the peer it is connected to
// (iperf3 and DNS servers bind a new socket after connecting the first).
func (p *Policy) mayTakeOver(s *sock, d *sockdir.Dir, n string, reuse bool) bool {
	if !reuse && !s.reusePort {
		return false
	}
	p.mu.Lock()
	o := p.dgramFiles[d.Path+"/"+n]
	p.mu.Unlock()
	return o == nil || o.reuse || o.reusePort
}

// sweepEvery is how many endpoints a supervisor creates between sweeps of
// their directory.
const sweepEvery = 64

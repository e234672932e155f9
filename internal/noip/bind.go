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
// the address the socket already has and succeeds again.
func (p *Policy) bind(c *supervise.Call) supervise.Result {
	kind, s, dup, r := p.classify(c, c.Int(0))
	if kind == kindOther {
		return r
	}
	defer func() { unix.Close(dup) }()
	set := p.settingsOf(c)
	ap, _, r, ok := readTarget(c, s, "bind")
	if !ok {
		return r
	}
	v := p.decide(set, config.OpBind, ap)
	switch {
	case kind == kindReal && v.Allow:
		// noip binds it, with the address it checked.
		if err := unix.Bind(dup, sockaddrFor(s.family, ap)); err != nil {
			return supervise.Fail(errnoOf(err)).WithNote(note(set, "bind %v: %v: %v", ap, v, err))
		}
		return supervise.Return(0).WithNote(note(set, "bind %v: %v", ap, v))
	case kind == kindReal:
		// A real socket the rules keep off ap becomes plastic first.
		ns, nfd, err := p.plasticTwin(c, s, dup)
		if err != nil {
			return supervise.Fail(errnoOf(err))
		}
		unix.Close(dup)
		s, dup = ns, nfd
	case v.Allow:
		return p.bindReal(c, s, dup, ap, v.String())
	}
	if set.DirErr != nil {
		return supervise.Fail(unix.EACCES).WithNote(note(set, "bind %v: %v", ap, set.DirErr))
	}
	reuse := sockoptBool(dup, unix.SOL_SOCKET, unix.SO_REUSEADDR)
	for attempt := 0; ; attempt++ {
		e, retry := p.bindLocked(s, set, ap, reuse)
		if retry && attempt == 0 {
			p.prune() // the name may be held by a socket that is gone
			continue
		}
		if e == 0 && s.typ == unix.SOCK_DGRAM {
			e = p.materialize(s, dup, reuse)
		}
		if e != 0 {
			return supervise.Fail(e).WithNote(note(set, "bind %v: plastic: %v", ap, e))
		}
		return supervise.Return(0).WithNote(note(set, "bind %v: plastic %s (%v)", s.local, s.dir.SockPath(inet.Name(s.local)), v))
	}
}

// bindLocked reserves ap (or a free port of it) for s. retry reports that
// the name is reserved by another socket noip knows of, which may be gone.
func (p *Policy) bindLocked(s *sock, set *Settings, ap netip.AddrPort, reuse bool) (e unix.Errno, retry bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.bound {
		if s.bindReq == ap {
			return 0, false
		}
		return unix.EINVAL, false
	}
	if s.connected || s.unixBound {
		return unix.EINVAL, false
	}
	want := ap
	if ap.Port() == 0 {
		found := false
		for port := range set.candidatePorts {
			try := netip.AddrPortFrom(ap.Addr(), port)
			if p.reserved[set.Dir.Path+"/"+inet.Name(try)] == nil && !p.nameTaken(set.Dir, s, try) {
				ap, found = try, true
				break
			}
		}
		if !found {
			return unix.EADDRINUSE, false
		}
	} else {
		if o := p.reserved[set.Dir.Path+"/"+inet.Name(ap)]; o != nil && o != s && !(reuse && o.reuse) {
			return unix.EADDRINUSE, true
		}
		if e := conflicts(set.Dir, s, ap, reuse, nil); e != 0 {
			return e, false
		}
	}
	s.dir, s.local, s.bound, s.bindReq, s.reuse = set.Dir, ap, true, want, reuse
	p.reserved[set.Dir.Path+"/"+inet.Name(ap)] = s
	return 0, false
}

// nameTaken reports whether an autoport candidate is visibly in use: its
// endpoint file or its wildcard's exists. It does not ask whether the file
// is stale; there are plenty of other ports.
func (p *Policy) nameTaken(d *sockdir.Dir, s *sock, ap netip.AddrPort) bool {
	if _, ok := d.Stat(inet.Name(ap)); ok {
		return true
	}
	if _, ok := d.Stat(inet.Name(inet.Wildcard(ap))); ok {
		return true
	}
	return false
}

// conflicts reports EADDRINUSE when binding ap would clash with a live
// endpoint as the kernel's rules for TCP have it: the same address, or a
// wildcard and a specific address of the same port (a dual-stack IPv6
// wildcard counting as the IPv4 wildcard too). A clash with a socket that
// is not listening is allowed when both set SO_REUSEADDR; we only know our
// own side, so any live non-listening holder clashes unless reuse is set.
func conflicts(d *sockdir.Dir, s *sock, ap netip.AddrPort, reuse bool, snap *sockdir.Snapshot) unix.Errno {
	var names []string
	if ap.Addr().IsUnspecified() {
		entries, err := d.Entries()
		if err != nil {
			return unix.EIO
		}
		dual := ap.Addr().Is6() && !s.v6only
		for _, e := range entries {
			other, _ := inet.ParseName(e.Name)
			if other.Port() != ap.Port() {
				continue
			}
			if other.Addr().Is4() == ap.Addr().Is4() || dual {
				names = append(names, e.Name)
			}
		}
	} else {
		names = []string{inet.Name(ap), inet.Name(inet.Wildcard(ap))}
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
		st, live := snap.Files[uint32(e.Ino)]
		if live && (st.Listening || !reuse) {
			return unix.EADDRINUSE
		}
	}
	return 0
}

// endpointNames returns the file names a bound socket's endpoint has: its
// own, and for a dual-stack IPv6 wildcard also the IPv4 wildcard of its
// port, as a hard link, so IPv4 clients find it and IPv4 binds clash with it.
func endpointNames(s *sock) []string {
	names := []string{inet.Name(s.local)}
	if s.family == inet.AF_INET6 && s.local.Addr() == netip.IPv6Unspecified() && !s.v6only {
		names = append(names, inet.Name(netip.AddrPortFrom(netip.IPv4Unspecified(), s.local.Port())))
	}
	return names
}

// materialize gives a bound socket its endpoint file (and link), replacing
// stale files in the way, under the directory lock so that a concurrent
// noip never loses a file it just bound.
func (p *Policy) materialize(s *sock, dup int, reuse bool) unix.Errno {
	p.mu.Lock()
	d, local, done := s.dir, s.local, s.unixBound
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
			if st, live := snap.Files[uint32(e.Ino)]; live && st.Listening {
				return unix.EADDRINUSE
			}
			d.Remove(n)
		}
	}
	if err := unix.Bind(dup, &unix.SockaddrUnix{Name: d.SockPath(names[0])}); err != nil {
		return errnoOf(err)
	}
	for _, n := range names[1:] {
		if err := d.Link(names[0], n); err != nil {
			d.Remove(names[0])
			return unix.EADDRINUSE
		}
	}
	p.mu.Lock()
	s.unixBound = true
	key := d.Path + "/" + inet.Name(local)
	if p.reserved[key] == s {
		delete(p.reserved, key)
	}
	p.endpoints++
	sweep := p.endpoints%sweepEvery == 0
	p.mu.Unlock()
	if sweep {
		// Servers that exit without removing their endpoint leave it
		// stale; over a long session they would pile up. Sweep now and
		// then, off the loop.
		go d.GC()
	}
	return 0
}

// sweepEvery is how many endpoints a supervisor creates between sweeps of
// their directory.
const sweepEvery = 64

// listen: a plastic stream socket starts listening at its endpoint file.
// An unbound one is bound first to the wildcard address and a free port,
// as TCP does.
func (p *Policy) listen(c *supervise.Call) supervise.Result {
	s, dup, r, ok := p.lookup(c, c.Int(0))
	if !ok {
		return r
	}
	defer unix.Close(dup)
	if s.typ != unix.SOCK_STREAM {
		return supervise.Continue() // the kernel says EOPNOTSUPP
	}
	set := p.settingsOf(c)
	backlog := int(c.Int(1))
	p.mu.Lock()
	bound, connected := s.bound, s.connected
	p.mu.Unlock()
	if connected {
		return supervise.Fail(unix.EINVAL)
	}
	if set.DirErr != nil && !bound {
		return supervise.Fail(unix.EACCES).WithNote(note(set, "listen: %v", set.DirErr))
	}
	reuse := sockoptBool(dup, unix.SOL_SOCKET, unix.SO_REUSEADDR)
	if !bound {
		any := netip.AddrPortFrom(inet.Unspecified(s.family), 0)
		if v := p.decide(set, config.OpBind, any); v.Allow {
			return p.listenReal(c, s, dup, backlog, v.String())
		}
		if e, _ := p.bindLocked(s, set, any, reuse); e != 0 {
			return supervise.Fail(e)
		}
	}
	if e := p.materialize(s, dup, reuse); e != 0 {
		return supervise.Fail(e).WithNote(note(set, "listen %v: %v", s.local, e))
	}
	if err := unix.Listen(dup, backlog); err != nil {
		return supervise.Fail(errnoOf(err))
	}
	p.mu.Lock()
	s.listening = true
	p.mu.Unlock()
	return supervise.Return(0).WithNote(note(set, "listen %v: plastic %s", s.local, s.dir.SockPath(inet.Name(s.local))))
}

// listenReal: listen on an unbound socket, where realbind allows the
// wildcard address, makes it a real socket bound by the kernel.
func (p *Policy) listenReal(c *supervise.Call, s *sock, dup, backlog int, why string) supervise.Result {
	fd, err := p.realTwin(s, dup)
	if err != nil {
		return supervise.Fail(errnoOf(err))
	}
	defer unix.Close(fd)
	if err := unix.Listen(fd, backlog); err != nil {
		return supervise.Fail(errnoOf(err))
	}
	fl, _ := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if err := swapIn(c, int(c.Int(0)), fd, fl&unix.O_NONBLOCK != 0); err != nil {
		return supervise.Fail(errnoOf(err))
	}
	return supervise.Return(0).WithNote(note(p.settingsOf(c), "listen: %s", why))
}

// sockoptBool reads a boolean socket option of the plastic socket itself.
func sockoptBool(fd, level, name int) bool {
	v, err := unix.GetsockoptInt(fd, level, name)
	return err == nil && v != 0
}

package noip

import (
	"fmt"
	mrand "math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"noip/internal/config"
	"noip/internal/inet"
	"noip/internal/sockdir"
	"noip/internal/supervise"
)

// connect: a plastic stream socket connects to the endpoint file of the
// address, else of its wildcard (an IPv4 address also reaching a dual-stack
// IPv6 wildcard, whose file links the IPv4 wildcard name). Nobody there is
// ECONNREFUSED, as from a real host. An unbound socket is first bound to
// the address impbind says (else the loopback address of its family) and a
// free port; a socket bound to a wildcard address gets the source address
// the kernel would pick for the destination. Its Unix socket gets an
// abstract name that carries its address and the dialled one, so the
// server can report both ends; a random part makes the name unguessable,
// so that no other user can squat it.
//
// A connect restarted after noip connected (the program was interrupted)
// succeeds; a further one is EISCONN, as in TCP.
func (p *Policy) connect(c *supervise.Call, set *Settings) supervise.Result {
	t := p.lookupGuarded(c, set, c.Int(0), addrGuard(unix.SYS_CONNECT))
	if t.kind == kindOther {
		return t.r
	}
	ap, unspec, r, ok := readTarget(c, t.s, "connect")
	if !ok {
		t.close()
		return r
	}
	if unspec {
		defer t.close()
		if t.kind == kindReal {
			// Dissolving a real socket's association: noip does it with
			// the AF_UNSPEC address it read, as the kernel would.
			if err := sockdir.ConnectUnspec(t.dup); err != nil {
				return supervise.Fail(errnoOf(err))
			}
			return supervise.Return(0)
		}
		if t.s.typ == unix.SOCK_DGRAM {
			return p.disconnectDgram(t.s, t.dup)
		}
		return p.disconnect(c, t.s, t.dup)
	}
	v := p.decide(set, config.OpConnect, ap)
	switch {
	case t.kind == kindReal && v.Allow:
		return p.connectRealSocket(c, set, t.dup, t.s.family, ap, v.String())
	case t.kind == kindReal:
		if r, ok := p.plasticTwin(c, set, &t); !ok {
			t.close()
			return r
		}
	case v.Allow:
		defer t.close()
		return p.connectReal(c, set, t.s, t.dup, ap, v.String())
	}
	if t.s.typ == unix.SOCK_DGRAM {
		defer t.close()
		return p.connectDgram(c, set, t.s, t.dup, ap, v)
	}
	return p.connectPlastic(c, set, t.s, t.dup, ap, v)
}

// connectPlastic connects plastic socket s (dup is ours to close) to the
// endpoint of ap.
func (p *Policy) connectPlastic(c *supervise.Call, set *Settings, s *sock, dup int, ap netip.AddrPort, v config.Verdict) supervise.Result {
	if set.DirErr != nil {
		unix.Close(dup)
		return supervise.Fail(unix.EACCES).WithNote(note(set, "connect %v: %v", ap, set.DirErr))
	}
	if e := connectable(ap); e != 0 {
		unix.Close(dup)
		return supervise.Fail(e)
	}

	p.mu.Lock()
	switch {
	case s.connected && s.inProgress:
		// The connect answered EINPROGRESS has completed: this one says
		// so, as TCP's next connect does.
		s.inProgress, s.connectSeen = false, true
		p.mu.Unlock()
		unix.Close(dup)
		return supervise.Return(0)
	case s.connected && !s.connectSeen && s.peer == reportable(ap, s.family):
		s.connectSeen = true
		p.mu.Unlock()
		unix.Close(dup)
		return supervise.Return(0) // restarted after noip connected
	case s.connected, s.listening:
		p.mu.Unlock()
		unix.Close(dup)
		return supervise.Fail(unix.EISCONN)
	}
	p.mu.Unlock()

	// The exact endpoint, then the wildcard of the family. Connecting is
	// how we look: a stat first would cost as much as the attempt.
	paths := []string{set.Dir.SockPath(inet.Name(ap))}
	if w := inet.Wildcard(ap); w != ap {
		paths = append(paths, set.Dir.SockPath(inet.Name(w)))
	}
	if e := p.nameClient(s, dup, set, ap); e != 0 {
		unix.Close(dup)
		return supervise.Fail(e).WithNote(note(set, "connect %v: binding: %v", ap, e))
	}
	fl, _ := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	for _, path := range paths {
		switch e := connectNow(dup, path); e {
		case 0:
			unix.Close(dup)
			r := p.connected(s, set, ap, path, v)
			if fl&unix.O_NONBLOCK != 0 {
				// A non-blocking TCP connect answers EINPROGRESS, and the
				// socket polls writable once connected, as this one is.
				p.mu.Lock()
				s.inProgress, s.connectSeen = true, false
				p.mu.Unlock()
				r = supervise.Fail(unix.EINPROGRESS).WithNote(r.Note)
			}
			return r
		case unix.EAGAIN:
			// The listener's backlog is full. TCP would retry its SYN; we
			// retry the connect off the loop while the program waits.
			return c.Go(func() supervise.Result { return p.connectLater(c, s, dup, set, ap, path, v) })
		case unix.ECONNREFUSED, unix.ENOENT:
		default:
			unix.Close(dup)
			return supervise.Fail(e)
		}
	}
	unix.Close(dup)
	p.refused(s)
	return supervise.Fail(unix.ECONNREFUSED).WithNote(note(set, "connect %v: plastic, nothing listens there (%v)", ap, v))
}

// connectable reports the errno the kernel gives a TCP connect to an
// address no host can have: broadcast and multicast ones (ENETUNREACH),
// and an IPv6 link-local one without an interface (EINVAL).
func connectable(ap netip.AddrPort) unix.Errno {
	a := ap.Addr().Unmap()
	switch {
	case a.IsMulticast():
		return unix.ENETUNREACH
	case a.Is4() && (a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || a == netip.AddrFrom4([4]byte{127, 255, 255, 255})):
		return unix.ENETUNREACH
	case a.Is6() && a.IsLinkLocalUnicast() && a.Zone() == "":
		return unix.EINVAL
	}
	return 0
}

// refused undoes part of the implicit bind of a connect that found no
// listener: the socket keeps its port but no longer its address, as TCP's.
// It remembers the refusal for listen (see listenAfterRefused).
func (p *Policy) refused(s *sock) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.wasRefused = true
	if s.bound && !s.bindSeen && !s.bindReq.IsValid() {
		s.local = netip.AddrPortFrom(inet.Unspecified(s.family), s.local.Port())
	}
}

// connected records a successful connect and answers it.
func (p *Policy) connected(s *sock, set *Settings, ap netip.AddrPort, path string, v config.Verdict) supervise.Result {
	limit, _ := userMSS(s)
	p.mu.Lock()
	s.connected, s.connectSeen, s.peer, s.mssLimit = true, true, reportable(ap, s.family), limit
	p.mu.Unlock()
	r := supervise.Return(0).WithNote(note(set, "connect %v: plastic %s (%v)", ap, path, v))
	r.Gone = func() {
		p.mu.Lock()
		s.connectSeen = false
		p.mu.Unlock()
	}
	return r
}

// connectNow connects the plastic socket without blocking the loop: the
// file is made non-blocking for the one call. Only the socket being
// connected is affected, and nothing else can use it meanwhile.
func connectNow(fd int, path string) unix.Errno {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return errnoOf(err)
	}
	if fl&unix.O_NONBLOCK == 0 {
		unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl|unix.O_NONBLOCK)
		defer unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl)
	}
	err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
	if err == unix.EINTR {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
	}
	if err != nil {
		return errnoOf(err)
	}
	return 0
}

// connectLater retries, off the loop, a connect whose listener's backlog
// was full, until it succeeds, the listener goes, the program stops
// waiting, or the attempt times out (ETIMEDOUT, as TCP's would).
func (p *Policy) connectLater(c *supervise.Call, s *sock, dup int, set *Settings, ap netip.AddrPort, path string, v config.Verdict) supervise.Result {
	defer unix.Close(dup)
	delay := 100 * time.Microsecond
	deadline := time.Now().Add(connectTimeout)
	for {
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
		if !c.Valid() {
			return supervise.Fail(unix.EINTR) // nobody hears it
		}
		if time.Now().After(deadline) {
			return supervise.Fail(unix.ETIMEDOUT)
		}
		switch e := connectNow(dup, path); e {
		case 0:
			return p.connected(s, set, ap, path, v)
		case unix.EAGAIN:
		case unix.ENOENT:
			p.refused(s)
			return supervise.Fail(unix.ECONNREFUSED)
		default:
			return supervise.Fail(e)
		}
	}
}

// nameClient gives a connecting socket its abstract name: its bound
// address, or the address impbind says and a free port.
func (p *Policy) nameClient(s *sock, dup int, set *Settings, dialled netip.AddrPort) unix.Errno {
	p.mu.Lock()
	named, local, bound := s.named, s.local, s.bound
	p.mu.Unlock()
	if named != unnamed {
		return 0
	}
	dialled = inet.Unmap(dialled)
	if bound && local.Addr().IsUnspecified() {
		// Bound to the wildcard: the kernel would pick the source address
		// of the route to the destination.
		local = netip.AddrPortFrom(p.sourceAddr(reportable(dialled, s.family).Addr()), local.Port())
	}
	try := func(l netip.AddrPort) unix.Errno {
		key := set.Dir.Path + "/" + inet.Name(l) + ">" + inet.Name(dialled)
		p.mu.Lock()
		if o := p.clients[key]; o != nil && o != s {
			p.mu.Unlock()
			return unix.EADDRINUSE
		}
		p.mu.Unlock()
		for range 4 {
			name := "\x00" + inet.ClientName(fmt.Sprintf("%016x", mrand.Uint64()), l, dialled)
			err := unix.Bind(dup, &unix.SockaddrUnix{Name: name})
			if err == unix.EADDRINUSE {
				continue // someone has that name: draw another
			}
			if err != nil {
				return errnoOf(err)
			}
			p.mu.Lock()
			p.release(s)
			s.dir, s.local, s.bound, s.named, s.client = set.Dir, l, true, nameClient, key
			p.clients[key] = s
			p.mu.Unlock()
			return 0
		}
		return unix.EADDRNOTAVAIL
	}
	if bound {
		return try(local)
	}
	// impbind, else the loopback address of the dialled address's family.
	addr, _ := p.impbind(set, dialled.Addr())
	addr = addr.Unmap()
	if s.family == inet.AF_INET && !addr.Is4() {
		addr = inet.Loopback(inet.AF_INET)
	}
	for port := range set.candidatePorts {
		l := netip.AddrPortFrom(addr, port)
		// Never the dialled endpoint itself: Go, for one, takes local ==
		// remote for a TCP self-connect and drops the connection.
		if l == dialled {
			continue
		}
		p.mu.Lock()
		held := p.reserved[set.Dir.Path+"/"+inet.Name(l)] != nil
		p.mu.Unlock()
		if held {
			continue
		}
		switch e := try(l); e {
		case 0:
			return 0
		case unix.EADDRINUSE:
		default:
			return e
		}
	}
	return unix.EADDRNOTAVAIL
}

// sourceAddr is the source address the kernel picks for a connection to
// dst: the address of the route's interface. noip asks the kernel by
// connecting a UDP socket, which sends nothing. An address the machine
// has no route to (a plastic network's pretend host) gets the loopback
// address of its family.
func (p *Policy) sourceAddr(dst netip.Addr) netip.Addr {
	fam, i := unix.AF_INET, 0
	if dst.Is6() && !dst.Is4In6() {
		fam, i = unix.AF_INET6, 1
	}
	p.setMu.Lock()
	defer p.setMu.Unlock()
	if p.probes[i] < 0 {
		fd, err := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return inet.Loopback(fam)
		}
		p.probes[i] = fd
	}
	fd := p.probes[i]
	if err := unix.Connect(fd, sockaddrFor(fam, netip.AddrPortFrom(dst.Unmap(), 9))); err != nil {
		return inet.Loopback(fam)
	}
	ap, _ := localAddr(fd)
	sockdir.ConnectUnspec(fd)
	if !ap.IsValid() {
		return inet.Loopback(fam)
	}
	return ap.Addr()
}

// disconnect handles connect(AF_UNSPEC) on a stream socket: TCP dissolves
// the connection, and the socket keeps its port. A Unix stream socket
// cannot be un-connected: the program's fd gets a new, unconnected one,
// and its end of the connection is closed unless another fd holds it.
func (p *Policy) disconnect(c *supervise.Call, s *sock, dup int) supervise.Result {
	p.mu.Lock()
	connected := s.connected
	p.mu.Unlock()
	if !connected {
		return supervise.Return(0)
	}
	fd, err := p.replacement(s, dup)
	if err != nil {
		return supervise.Fail(errnoOf(err))
	}
	defer unix.Close(fd)
	ns, err := p.adopt(s, fd)
	if err != nil {
		return supervise.Fail(errnoOf(err))
	}
	p.mu.Lock()
	ns.named = unnamed
	ns.local = netip.AddrPortFrom(inet.Unspecified(s.family), s.local.Port())
	ns.bindReq = netip.AddrPort{}
	p.mu.Unlock()
	if err := c.SetFD(fd, int(c.Int(0)), fdCloexec(c.Tid(), int(c.Int(0)))); err != nil {
		return supervise.Fail(errnoOf(err))
	}
	return supervise.Return(0)
}

// listenAfterRefused is what listen answers, on this kernel, on a TCP
// socket whose connect was refused: EINVAL on some Linux 6.18 builds, 0
// on others. It is probed once, on loopback, against a port bound but not
// listening (which refuses at once); 0 if the probe goes otherwise.
var listenAfterRefused = sync.OnceValue(func() unix.Errno {
	l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(l)
	if unix.Bind(l, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}) != nil {
		return 0
	}
	sa, err := unix.Getsockname(l)
	if err != nil {
		return 0
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(s)
	if unix.Connect(s, sa) != unix.ECONNREFUSED {
		return 0
	}
	if err := unix.Listen(s, 1); err != nil {
		return errnoOf(err)
	}
	return 0
})

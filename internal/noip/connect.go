package noip

import (
	"errors"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"noip/internal/config"
	"noip/internal/inet"
	"noip/internal/seccomp"
	"noip/internal/sockdir"
	"noip/internal/supervise"
)

// connect: a plastic stream socket connects to the endpoint file of the
// address, else of its wildcard (an IPv4 address also reaching a dual-stack
// IPv6 wildcard, whose file links the IPv4 wildcard name). Nobody there is
// ECONNREFUSED, as from a real host. An unbound socket is first bound to the
// loopback address of its family and a free port, under an abstract name
// that also carries the dialled address, so the server can report both ends.
// (A connect that is refused keeps that name, as a TCP socket keeps its
// port; a later connect of the same socket elsewhere still works, but the
// server of that one sees its own address where the dialled one goes.)
//
// A connect restarted after noip connected (the program was interrupted)
// succeeds; a further one is EISCONN, as in TCP.
func (p *Policy) connect(c *supervise.Call) supervise.Result {
	kind, s, dup, r := p.classify(c, c.Int(0))
	if kind == kindOther {
		return r
	}
	set := p.settingsOf(c)
	ap, unspec, r, ok := readTarget(c, s, "connect")
	if !ok {
		unix.Close(dup)
		return r
	}
	if unspec {
		defer unix.Close(dup)
		if kind == kindReal {
			// Dissolving a real socket's association: noip does it with
			// the AF_UNSPEC address it read, as the kernel would.
			if err := sockdir.ConnectUnspec(dup); err != nil {
				return supervise.Fail(errnoOf(err))
			}
			return supervise.Return(0)
		}
		return p.disconnect(s)
	}
	v := p.decide(set, config.OpConnect, ap)
	switch {
	case kind == kindReal && v.Allow:
		return p.connectRealSocket(c, s, dup, ap, v.String())
	case kind == kindReal:
		ns, nfd, err := p.plasticTwin(c, s, dup)
		unix.Close(dup)
		if err != nil {
			return supervise.Fail(errnoOf(err))
		}
		s, dup = ns, nfd
	case v.Allow:
		defer unix.Close(dup)
		return p.connectReal(c, s, dup, ap, v.String())
	}
	return p.connectPlastic(c, s, dup, set, ap, v)
}

// connectPlastic connects plastic socket s (dup is ours to close) to the
// endpoint of ap.
func (p *Policy) connectPlastic(c *supervise.Call, s *sock, dup int, set *Settings, ap netip.AddrPort, v config.Verdict) supervise.Result {
	if s.typ != unix.SOCK_STREAM {
		unix.Close(dup)
		return supervise.Fail(unix.EOPNOTSUPP) // plastic UDP: a later issue
	}
	if set.DirErr != nil {
		unix.Close(dup)
		return supervise.Fail(unix.EACCES).WithNote(note(set, "connect %v: %v", ap, set.DirErr))
	}

	p.mu.Lock()
	switch {
	case s.connected && !s.connectSeen && s.peer == reportable(ap, s.family):
		s.connectSeen = true
		p.mu.Unlock()
		unix.Close(dup)
		return supervise.Return(0) // restarted after noip connected
	case s.connected:
		p.mu.Unlock()
		unix.Close(dup)
		return supervise.Fail(unix.EISCONN)
	case s.listening:
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
	for _, path := range paths {
		switch e := connectNow(dup, path); e {
		case 0:
			unix.Close(dup)
			return p.connected(s, set, ap, path, v)
		case unix.EAGAIN:
			// The listener's backlog is full. TCP would retry its SYN; we
			// retry the connect off the loop while the program waits.
			go p.connectLater(c, s, dup, set, ap, path, v)
			return supervise.Async()
		case unix.ECONNREFUSED, unix.ENOENT:
		default:
			unix.Close(dup)
			return supervise.Fail(e)
		}
	}
	unix.Close(dup)
	return supervise.Fail(unix.ECONNREFUSED).WithNote(note(set, "connect %v: plastic, nothing listens there (%v)", ap, v))
}

// connected records a successful connect and answers it.
func (p *Policy) connected(s *sock, set *Settings, ap netip.AddrPort, path string, v config.Verdict) supervise.Result {
	p.mu.Lock()
	s.connected, s.connectSeen, s.peer = true, true, reportable(ap, s.family)
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

// connectTimeout is how long a connect to a listener whose backlog stays
// full is retried, about as long as Linux retries a TCP SYN.
const connectTimeout = 2 * time.Minute

// connectLater retries a connect whose listener's backlog was full, until
// it succeeds, the listener goes, the program stops waiting, or the
// attempt times out (ETIMEDOUT, as TCP's would).
func (p *Policy) connectLater(c *supervise.Call, s *sock, dup int, set *Settings, ap netip.AddrPort, path string, v config.Verdict) {
	defer unix.Close(dup)
	delay := 100 * time.Microsecond
	deadline := time.Now().Add(connectTimeout)
	for {
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
		if !c.Valid() {
			return
		}
		if time.Now().After(deadline) {
			c.Answer(supervise.Fail(unix.ETIMEDOUT))
			return
		}
		switch e := connectNow(dup, path); e {
		case 0:
			r := p.connected(s, set, ap, path, v)
			if err := c.Answer(r); errors.Is(err, seccomp.ErrGone) {
				r.Gone()
			}
			return
		case unix.EAGAIN:
		default:
			if e == unix.ENOENT {
				e = unix.ECONNREFUSED
			}
			c.Answer(supervise.Fail(e))
			return
		}
	}
}

// nameClient gives a connecting socket its abstract name: its bound
// address, or the loopback address and a free port.
func (p *Policy) nameClient(s *sock, dup int, set *Settings, dialled netip.AddrPort) unix.Errno {
	p.mu.Lock()
	if s.unixBound {
		p.mu.Unlock()
		return 0
	}
	local, bound := s.local, s.bound
	key := ""
	if bound && s.dir != nil {
		key = s.dir.Path + "/" + inet.Name(local)
	}
	p.mu.Unlock()
	try := func(l netip.AddrPort) unix.Errno {
		name := "\x00" + inet.ClientName(l, dialled)
		if err := unix.Bind(dup, &unix.SockaddrUnix{Name: name}); err != nil {
			return errnoOf(err)
		}
		p.mu.Lock()
		s.local, s.bound, s.unixBound = l, true, true
		if key != "" && p.reserved[key] == s {
			delete(p.reserved, key)
		}
		p.mu.Unlock()
		return 0
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
		if l == inet.Unmap(dialled) {
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

// disconnect handles connect(AF_UNSPEC). TCP allows it to dissolve an
// association; a Unix stream socket cannot be un-connected, so noip refuses
// it on a connected socket and accepts it on an unconnected one.
func (p *Policy) disconnect(s *sock) supervise.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.connected {
		return supervise.Fail(unix.EOPNOTSUPP)
	}
	return supervise.Return(0)
}

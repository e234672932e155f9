package noip

import (
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"noip/internal/config"
	"noip/internal/inet"
	"noip/internal/sockdir"
	"noip/internal/supervise"
)

// accept, accept4: the connection accepted on a plastic listener is plastic
// too, and the program is told the client's Internet address. noip accepts
// on the program's behalf; a connection accepted for a call that went away
// (a signal interrupted it) is kept for the next accept on that socket, so
// none is ever lost. A blocking accept waits off the loop.
//
// A real listening socket (inherited, or received from another process)
// accepts only where realbind allows its address; elsewhere it becomes a
// plastic listener at that address.
func (p *Policy) accept(c *supervise.Call, set *Settings) supervise.Result {
	t := p.lookup(c, set, c.Int(0))
	if t.kind == kindOther {
		return t.r
	}
	var flags int32
	if c.Name == "accept4" {
		flags = c.Int(3)
		if flags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
			t.close()
			return supervise.Fail(unix.EINVAL)
		}
	}
	if t.kind == kindReal {
		if r, ok := p.acceptReal(c, set, &t); !ok {
			return r
		}
	}
	s, dup := t.s, t.dup
	if s.typ != unix.SOCK_STREAM {
		unix.Close(dup)
		return supervise.Fail(unix.EOPNOTSUPP)
	}
	p.mu.Lock()
	listening := s.listening
	p.mu.Unlock()
	if !listening {
		unix.Close(dup)
		return supervise.Fail(unix.EINVAL)
	}
	addrLen, bad := acceptAddrLen(c)
	fl, err := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if err != nil {
		unix.Close(dup)
		return supervise.Fail(errnoOf(err))
	}
	if fl&unix.O_NONBLOCK != 0 {
		conn, e := s.take(dup, flags, false)
		unix.Close(dup)
		if e != 0 {
			return supervise.Fail(e)
		}
		return p.deliver(c, set, s, conn, flags, addrLen, bad)
	}
	// A blocking accept: the loop answers it when a connection is there
	// (at once, if one already is), or when SO_RCVTIMEO runs out.
	ready := func() (supervise.Result, bool) {
		conn, e := s.take(dup, flags, true)
		switch {
		case e == unix.EAGAIN:
			return supervise.Result{}, false
		case e != 0:
			unix.Close(dup)
			return supervise.Fail(e), true
		}
		unix.Close(dup)
		return p.deliver(c, set, s, conn, flags, addrLen, bad), true
	}
	// A connection kept from an interrupted accept does not make the
	// listener readable: look first.
	if r, done := ready(); done {
		return r
	}
	return waitReadable(c, dup, ready)
}

// waitReadable has the call wait, off the loop, until dup is readable
// and ready says it is done, or until the socket's SO_RCVTIMEO runs out
// (EAGAIN). dup is closed when the call goes.
func waitReadable(c *supervise.Call, dup int, ready func() (supervise.Result, bool)) supervise.Result {
	gone := func() { unix.Close(dup) }
	if tv, err := unix.GetsockoptTimeval(dup, unix.SOL_SOCKET, unix.SO_RCVTIMEO); err == nil && (tv.Sec != 0 || tv.Usec != 0) {
		return c.WaitUntil(dup, unix.POLLIN, time.Now().Add(time.Duration(tv.Nano())), ready, gone, func() supervise.Result {
			unix.Close(dup)
			return supervise.Fail(unix.EAGAIN)
		})
	}
	return c.Wait(dup, ready, gone)
}

// acceptAddrLen reads the caller's *addrlen when it passed an address:
// -1 when it passed none. bad is the errno the kernel gives once it has
// taken a connection it cannot report (the connection is then lost, as
// the kernel loses it).
func acceptAddrLen(c *supervise.Call) (n int32, bad unix.Errno) {
	if c.Arg(1) == 0 {
		return -1, 0
	}
	n, err := c.ReadInt32(c.Arg(2))
	switch {
	case err != nil:
		return -1, unix.EFAULT
	case n < 0:
		return -1, unix.EINVAL
	}
	return n, 0
}

// acceptReal decides an accept on a real listening socket: it goes on if
// realbind allows the socket's address; else the socket becomes a plastic
// listener there, and the accept waits for a plastic client. ok false:
// answer with r.
func (p *Policy) acceptReal(c *supervise.Call, set *Settings, t *target) (r supervise.Result, ok bool) {
	ap, bound := localAddr(t.dup)
	listening := sockoptBool(t.dup, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if !bound || !listening || t.s.typ != unix.SOCK_STREAM {
		// The kernel's answer (EINVAL, EOPNOTSUPP), from noip's duplicate.
		_, _, err := unix.Accept4(t.dup, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		t.close()
		if err == nil {
			err = unix.EINVAL
		}
		return supervise.Fail(errnoOf(err)), false
	}
	if v := p.decide(set, config.OpBind, ap); v.Allow {
		// Accepting on it is the kernel's business, on the socket noip
		// checked: noip accepts on its duplicate.
		return p.acceptRealAllowed(c, set, t, v), false
	}
	backlog := 128
	if r, ok := p.plasticTwin(c, set, t); !ok {
		return r, false
	}
	reuse := sockoptBool(t.dup, unix.SOL_SOCKET, unix.SO_REUSEADDR)
	if e := p.materialize(t.s, t.dup, reuse); e != 0 {
		t.close()
		return supervise.Fail(e).WithNote(note(set, "accept on a real listener at %v: it becomes plastic, but %v", ap, e)), false
	}
	if err := unix.Listen(t.dup, backlog); err != nil {
		t.close()
		return supervise.Fail(errnoOf(err)), false
	}
	p.mu.Lock()
	t.s.listening = true
	p.mu.Unlock()
	return supervise.Result{}, true
}

// acceptRealAllowed accepts, on noip's duplicate, from a real listener the
// rules allow, and hands the connection over.
func (p *Policy) acceptRealAllowed(c *supervise.Call, set *Settings, t *target, v config.Verdict) supervise.Result {
	flags := int32(0)
	if c.Name == "accept4" {
		flags = c.Int(3)
	}
	dup := t.dup
	t.dup = -1
	addrLen, bad := acceptAddrLen(c)
	do := func() (supervise.Result, bool) {
		conn, sa, err := unix.Accept4(dup, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
		if err == unix.EAGAIN || err == unix.EINTR {
			return supervise.Result{}, false
		}
		if err != nil {
			unix.Close(dup)
			return supervise.Fail(errnoOf(err)), true
		}
		unix.Close(dup)
		unix.SetNonblock(conn, flags&unix.SOCK_NONBLOCK != 0)
		if bad != 0 {
			unix.Close(conn)
			return supervise.Fail(bad), true
		}
		if addrLen >= 0 {
			b := rawSockaddr(sa)
			if err := c.WriteAddr(c.Arg(1), b[:min(int(addrLen), len(b))], c.Arg(2), int32(len(b))); err != nil {
				unix.Close(conn)
				return supervise.Fail(unix.EFAULT), true
			}
		}
		return supervise.Inject(conn, flags&unix.SOCK_CLOEXEC != 0).WithNote(note(set, "accept: real (%v)", v)), true
	}
	fl, _ := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if fl&unix.O_NONBLOCK != 0 {
		r, done := do()
		if !done {
			unix.Close(dup)
			return supervise.Fail(unix.EAGAIN)
		}
		return r
	}
	return waitReadable(c, dup, do)
}

// rawSockaddr is a real socket's peer address in the kernel's layout.
func rawSockaddr(sa unix.Sockaddr) []byte {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return inet.AppendSockaddr(nil, inet.AF_INET, netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)))
	case *unix.SockaddrInet6:
		return inet.AppendSockaddr(nil, inet.AF_INET6, netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)))
	}
	return nil
}

// take returns a connection for an accept: one kept from an interrupted
// accept, else one the kernel has ready, else EAGAIN. It never blocks: a
// blocking listener is polled first (poll says whether to).
func (s *sock) take(dup int, flags int32, poll bool) (int, unix.Errno) {
	s.acceptMu.Lock()
	defer s.acceptMu.Unlock()
	if len(s.stash) > 0 {
		conn := s.stash[0]
		s.stash = s.stash[1:]
		if err := unix.SetNonblock(conn, flags&unix.SOCK_NONBLOCK != 0); err != nil {
			unix.Close(conn)
			return -1, errnoOf(err)
		}
		return conn, 0
	}
	if poll {
		pfd := []unix.PollFd{{Fd: int32(dup), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, 0); err != nil || n == 0 {
			return -1, unix.EAGAIN
		}
	}
	conn, _, err := unix.Accept4(dup, unix.SOCK_CLOEXEC|int(flags&unix.SOCK_NONBLOCK))
	if err != nil {
		if err == unix.EINTR {
			err = unix.EAGAIN
		}
		return -1, errnoOf(err)
	}
	return conn, 0
}

// keep stashes conn for the next accept on s.
func (s *sock) keep(conn int) {
	s.acceptMu.Lock()
	s.stash = append(s.stash, conn)
	s.acceptMu.Unlock()
}

// deliver hands an accepted connection to the program: records it as
// plastic, writes the peer's Internet address, and injects the fd.
// addrLen is the caller's *addrlen, read when the call came, or -1 when it
// passed no address.
func (p *Policy) deliver(c *supervise.Call, set *Settings, s *sock, conn int, flags int32, addrLen int32, bad unix.Errno) supervise.Result {
	if bad != 0 {
		unix.Close(conn)
		return supervise.Fail(bad)
	}
	p.mu.Lock()
	family, local := s.family, s.local
	p.mu.Unlock()
	peer, dialled := peerOf(conn, family)
	if local.Addr().IsUnspecified() {
		if dialled.IsValid() && dialled.Port() == local.Port() && (dialled.Addr().Is4() || family == inet.AF_INET6) && !dialled.Addr().IsUnspecified() {
			local = dialled
		} else {
			fam := family
			if peer.Addr().Is4() {
				fam = inet.AF_INET
			}
			local = netip.AddrPortFrom(inet.Loopback(fam), local.Port())
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(conn, &st); err == nil {
		ns := &sock{ino: st.Ino, family: family, typ: unix.SOCK_STREAM, proto: s.proto,
			local: local, bound: true, bindSeen: true, named: nameFile, peer: peer, connected: true, accepted: true, connectSeen: true, v6only: s.v6only}
		ns.opts.twin = -1
		ns.opts.parent = &s.opts
		ns.mssLimit, _ = userMSS(s)
		p.add(ns)
	}
	if addrLen >= 0 {
		sa := inet.AppendSockaddr(nil, family, peer)
		if err := c.WriteAddr(c.Arg(1), sa[:min(int(addrLen), len(sa))], c.Arg(2), int32(len(sa))); err != nil {
			unix.Close(conn) // lost, as the kernel loses it
			return supervise.Fail(unix.EFAULT)
		}
	}
	r := supervise.Inject(conn, flags&unix.SOCK_CLOEXEC != 0).WithNote(note(set, "accept %v <- %v", local, peer))
	r.Gone = func() {
		// Another accept may wait on the listener, which the kept
		// connection does not make readable.
		s.keep(conn)
		c.Retry()
	}
	return r
}

// peerOf decodes the client's addresses from an accepted connection's peer
// name: the client's own address and, when the name carries it, the
// address the client dialled. Only a peer of this user (SO_PEERCRED) is
// believed: the name is abstract, and anyone may bind an abstract name.
// Any other peer, and one without a plastic name (a plain Unix client of
// the endpoint file), is shown as the loopback address, port 0.
func peerOf(conn, family int) (peer, dialled netip.AddrPort) {
	unknown := netip.AddrPortFrom(inet.Loopback(family), 0)
	cred, err := unix.GetsockoptUcred(conn, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil || int(cred.Uid) != os.Geteuid() {
		return unknown, netip.AddrPort{}
	}
	name, err := sockdir.PeerName(conn)
	if err == nil {
		if l, d, ok := inet.ParseUnixName(name); ok {
			return l, d
		}
	}
	return unknown, netip.AddrPort{}
}

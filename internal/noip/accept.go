package noip

import (
	"net/netip"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
	"noip/internal/sockdir"
	"noip/internal/supervise"
)

// accept, accept4: the connection accepted on a plastic listener is plastic
// too, and the program is told the client's Internet address. noip accepts
// on the program's behalf; a connection accepted for a call that went away
// (a signal interrupted it) is kept for the next accept on that socket, so
// none is ever lost. A blocking accept waits off the loop.
func (p *Policy) accept(c *supervise.Call) supervise.Result {
	s, dup, r, ok := p.lookup(c, c.Int(0))
	if !ok {
		return r
	}
	var flags int32
	if c.Name == "accept4" {
		flags = c.Int(3)
		if flags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
			unix.Close(dup)
			return supervise.Fail(unix.EINVAL)
		}
	}
	p.mu.Lock()
	listening := s.listening
	p.mu.Unlock()
	if !listening {
		unix.Close(dup)
		return supervise.Fail(unix.EINVAL)
	}
	addrLen := int32(-1)
	if c.Arg(1) != 0 {
		// Fail now, as the kernel checks before accepting.
		n, err := c.ReadInt32(c.Arg(2))
		if err != nil {
			unix.Close(dup)
			return supervise.Fail(unix.EFAULT)
		}
		if n < 0 {
			unix.Close(dup)
			return supervise.Fail(unix.EINVAL)
		}
		addrLen = n
	}
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
		return p.deliver(c, s, conn, flags, addrLen)
	}
	// A blocking accept: the loop answers it when a connection is there
	// (at once, if one already is).
	return c.Wait(dup, func() (supervise.Result, bool) {
		conn, e := s.take(dup, flags, true)
		switch {
		case e == unix.EAGAIN:
			return supervise.Result{}, false
		case e != 0:
			unix.Close(dup)
			return supervise.Fail(e), true
		}
		unix.Close(dup)
		return p.deliver(c, s, conn, flags, addrLen), true
	}, func() { unix.Close(dup) })
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
		if err := setNonblock(conn, flags&unix.SOCK_NONBLOCK != 0); err != nil {
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

func setNonblock(fd int, on bool) error {
	return unix.SetNonblock(fd, on)
}

// deliver hands an accepted connection to the program: records it as
// plastic, writes the peer's Internet address, and injects the fd.
// addrLen is the caller's *addrlen, read when the call came, or -1 when it
// passed no address.
func (p *Policy) deliver(c *supervise.Call, s *sock, conn int, flags int32, addrLen int32) supervise.Result {
	set := p.settingsOf(c)
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
		p.add(&sock{ino: st.Ino, family: family, typ: unix.SOCK_STREAM, proto: s.proto,
			local: local, bound: true, unixBound: true, peer: peer, connected: true, connectSeen: true, v6only: s.v6only})
	}
	if addrLen >= 0 {
		sa := inet.AppendSockaddr(nil, family, peer)
		if err := c.WriteAddr(c.Arg(1), sa[:min(int(addrLen), len(sa))], c.Arg(2), int32(len(sa))); err != nil {
			s.keep(conn) // the kernel would drop it; we keep it
			return supervise.Fail(unix.EFAULT)
		}
	}
	r := supervise.Inject(conn, flags&unix.SOCK_CLOEXEC != 0).WithNote(note(set, "accept %v <- %v", local, peer))
	r.Gone = func() { s.keep(conn) }
	return r
}

// peerOf decodes the client's addresses from an accepted connection's peer
// name: the client's own address and, when the name carries it, the
// address the client dialled. A peer without a plastic name (a plain Unix
// client of the endpoint file) is shown as the loopback address, port 0.
func peerOf(conn, family int) (peer, dialled netip.AddrPort) {
	name, err := sockdir.PeerName(conn)
	if err == nil {
		if l, d, ok := inet.ParseUnixName(name); ok {
			return l, d
		}
	}
	fam := family
	return netip.AddrPortFrom(inet.Loopback(fam), 0), netip.AddrPort{}
}

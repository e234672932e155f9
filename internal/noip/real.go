package noip

import (
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
	"noip/internal/supervise"
	"noip/internal/tracee"
)

// sockaddrFor is ap as the kernel wants it for a socket of family: IPv4
// addresses v4-mapped on an AF_INET6 socket.
func sockaddrFor(family int, ap netip.AddrPort) unix.Sockaddr {
	if family == unix.AF_INET {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	if z := ap.Addr().Zone(); z != "" {
		n, _ := strconv.ParseUint(z, 10, 32)
		sa.ZoneId = uint32(n)
	}
	return sa
}

// localAddr is the bound address of a real socket; invalid if unbound.
func localAddr(fd int) (netip.AddrPort, bool) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, false
	}
	var ap netip.AddrPort
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		ap = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		ap = inet.Unmap(netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)))
	default:
		return netip.AddrPort{}, false
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, false
	}
	return ap, true
}

// socketOptions are the SOL_SOCKET options the kernel keeps on any socket
// that a program sets directly on its plastic (Unix) socket, and that a
// socket replacing it takes over.
var socketOptions = []int{unix.SO_REUSEADDR, unix.SO_KEEPALIVE, unix.SO_BROADCAST, unix.SO_OOBINLINE,
	unix.SO_PRIORITY, unix.SO_DONTROUTE, unix.SO_RCVLOWAT, unix.SO_MARK, unix.SO_TIMESTAMP, unix.SO_TIMESTAMPNS}

// copySocketOptions gives socket to the SOL_SOCKET options of socket from.
func copySocketOptions(to, from int) {
	for _, o := range socketOptions {
		if v, err := unix.GetsockoptInt(from, unix.SOL_SOCKET, o); err == nil && v != 0 {
			unix.SetsockoptInt(to, unix.SOL_SOCKET, o, v)
		}
	}
	if l, err := unix.GetsockoptLinger(from, unix.SOL_SOCKET, unix.SO_LINGER); err == nil && l.Onoff != 0 {
		unix.SetsockoptLinger(to, unix.SOL_SOCKET, unix.SO_LINGER, l)
	}
	for _, o := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if tv, err := unix.GetsockoptTimeval(from, unix.SOL_SOCKET, o); err == nil && (tv.Sec != 0 || tv.Usec != 0) {
			unix.SetsockoptTimeval(to, unix.SOL_SOCKET, o, tv)
		}
	}
}

// realSocket makes the real socket that replaces plastic socket s: its
// twin, which holds the options the program set at the IP, TCP and UDP
// levels, with the SOL_SOCKET options of the Unix socket plastic. It is
// non-blocking, as noip connects it without waiting.
func (p *Policy) realSocket(s *sock, plastic int) (int, error) {
	fd, e := s.opts.take(s)
	if e != 0 {
		return -1, e
	}
	if plastic >= 0 {
		copySocketOptions(fd, plastic)
	}
	return fd, nil
}

// fdCloexec reads whether the caller's fd is close-on-exec, which the
// replacement must keep.
func fdCloexec(tid, fd int) bool {
	fi, err := tracee.ReadFDInfo(tid, fd)
	return err != nil || fi.Flags&unix.O_CLOEXEC != 0
}

// swapIn replaces the call's fd (its first argument) with our socket fd
// (which the caller of swapIn still owns), keeping the fd's close-on-exec
// flag and the O_NONBLOCK of the file it held (dup, our copy of it).
func swapIn(c *supervise.Call, fd, dup int) error {
	fl, _ := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if err := unix.SetNonblock(fd, fl&unix.O_NONBLOCK != 0); err != nil {
		return err
	}
	fdnum := int(c.Int(0))
	return c.SetFD(fd, fdnum, fdCloexec(c.Tid(), fdnum))
}

// bindReal gives the program a real socket bound to ap in place of
// plastic socket s, when realbind allows ap.
func (p *Policy) bindReal(c *supervise.Call, set *Settings, s *sock, dup int, ap netip.AddrPort, why string) supervise.Result {
	fd, err := p.realSocket(s, dup)
	if err != nil {
		return supervise.Fail(errnoOf(err))
	}
	if err := unix.Bind(fd, sockaddrFor(s.family, ap)); err != nil {
		unix.Close(fd) // a new twin serves the next try
		return supervise.Fail(errnoOf(err)).WithNote(note(set, "bind %v: %s: %v", ap, why, err))
	}
	defer unix.Close(fd)
	if err := swapIn(c, fd, dup); err != nil {
		return supervise.Fail(errnoOf(err))
	}
	return supervise.Return(0).WithNote(note(set, "bind %v: %s", ap, why))
}

// connectReal gives the program a real socket connecting to ap in place of
// plastic socket s, when realconnect allows ap. A non-blocking socket gets
// EINPROGRESS as from the kernel; for a blocking one the loop waits for the
// connection before answering.
func (p *Policy) connectReal(c *supervise.Call, set *Settings, s *sock, dup int, ap netip.AddrPort, why string) supervise.Result {
	p.mu.Lock()
	bound, local := s.bound, s.bindReq
	p.mu.Unlock()
	fd, err := p.realSocket(s, dup)
	if err != nil {
		return supervise.Fail(errnoOf(err))
	}
	if bound && local.Port() != 0 {
		if err := unix.Bind(fd, sockaddrFor(s.family, local)); err != nil {
			unix.Close(fd)
			return supervise.Fail(errnoOf(err))
		}
	}
	fl, _ := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	nonblock := fl&unix.O_NONBLOCK != 0
	err = unix.Connect(fd, sockaddrFor(s.family, ap))
	if err != nil && err != unix.EINPROGRESS {
		unix.Close(fd) // a new twin serves the next try
		return supervise.Fail(errnoOf(err)).WithNote(note(set, "connect %v: %s: %v", ap, why, err))
	}
	// Installed before the answer: the program's fd is the real socket from
	// now on, connected or connecting.
	if err := c.SetFD(fd, int(c.Int(0)), fdCloexec(c.Tid(), int(c.Int(0)))); err != nil {
		unix.Close(fd)
		return supervise.Fail(errnoOf(err))
	}
	r := supervise.Return(0).WithNote(note(set, "connect %v: %s", ap, why))
	return p.finishConnect(c, fd, err, nonblock, r, sockaddrFor(s.family, ap))
}

// finishConnect answers a connect made on a real socket fd (ours to close)
// that the kernel answered with err: at once for a non-blocking program
// socket, else once the connection is made or has failed.
func (p *Policy) finishConnect(c *supervise.Call, fd int, err error, nonblock bool, ok supervise.Result, sa unix.Sockaddr) supervise.Result {
	switch {
	case err == nil:
		unix.SetNonblock(fd, nonblock)
		unix.Close(fd)
		return ok
	case nonblock:
		unix.Close(fd)
		return supervise.Fail(unix.EINPROGRESS).WithNote(ok.Note)
	}
	return c.WaitFor(fd, unix.POLLOUT, func() (supervise.Result, bool) {
		soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		defer unix.Close(fd)
		defer unix.SetNonblock(fd, false)
		if err != nil {
			return supervise.Fail(errnoOf(err)), true
		}
		if soerr != 0 {
			return supervise.Fail(unix.Errno(soerr)).WithNote(ok.Note), true
		}
		// The kernel reports a completed non-blocking connect to the next
		// connect call: this one, not the program's next.
		unix.Connect(fd, sa)
		return ok, true
	}, func() {
		// The program stopped waiting; the connection goes on, as TCP's
		// does after an interrupted connect. Its file is blocking again.
		unix.SetNonblock(fd, false)
		unix.Close(fd)
	})
}

// connectRealSocket connects a real socket the rules allow to connect to
// ap. noip makes the connection itself, with the address it checked, so a
// program cannot change the address between the check and the call.
func (p *Policy) connectRealSocket(c *supervise.Call, set *Settings, dup int, family int, ap netip.AddrPort, why string) supervise.Result {
	fl, err := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if err != nil {
		unix.Close(dup)
		return supervise.Fail(errnoOf(err))
	}
	nonblock := fl&unix.O_NONBLOCK != 0
	if !nonblock {
		unix.SetNonblock(dup, true)
	}
	err = unix.Connect(dup, sockaddrFor(family, ap))
	r := supervise.Return(0).WithNote(note(set, "connect %v: %s", ap, why))
	if err != nil && err != unix.EINPROGRESS {
		if !nonblock {
			unix.SetNonblock(dup, false)
		}
		unix.Close(dup)
		return supervise.Fail(errnoOf(err)).WithNote(r.Note)
	}
	return p.finishConnect(c, dup, err, nonblock, r, sockaddrFor(family, ap))
}

// plasticTwin replaces the real socket t names, which the rules do not
// allow where the program now binds, connects or listens, with a plastic
// one: t then names the plastic socket. It starts bound where the real one
// was, if it was. ok false: answer with r.
func (p *Policy) plasticTwin(c *supervise.Call, set *Settings, t *target) (r supervise.Result, ok bool) {
	real := t.s
	fl, err := unix.FcntlInt(uintptr(t.dup), unix.F_GETFL, 0)
	if err != nil {
		return supervise.Fail(errnoOf(err)), false
	}
	fd, err := unix.Socket(unix.AF_UNIX, real.typ|unix.SOCK_CLOEXEC|(fl&unix.O_NONBLOCK), 0)
	if err != nil {
		return supervise.Fail(errnoOf(err)), false
	}
	copySocketOptions(fd, t.dup)
	s, err := p.newSock(fd, real.family, real.typ, real.proto, real.v6only)
	if err != nil {
		unix.Close(fd)
		return supervise.Fail(errnoOf(err)), false
	}
	// The real socket, unbound and unconnected from now on in spirit, is
	// the new plastic socket's twin: it holds the options the program set.
	// (Its own state is its business no more: noip never uses it for the
	// network.) A fresh twin serves when it cannot be taken back.
	if twin, err := unix.Socket(real.family, real.typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, real.proto); err == nil {
		s.opts.twin = twin
	}
	if ap, ok := localAddr(t.dup); ok && set.Dir != nil {
		p.mu.Lock()
		s.dir, s.local, s.bound, s.bindReq = set.Dir, ap, true, ap
		p.mu.Unlock()
	}
	if err := c.SetFD(fd, int(c.Int(0)), fdCloexec(c.Tid(), int(c.Int(0)))); err != nil {
		unix.Close(fd)
		return supervise.Fail(errnoOf(err)), false
	}
	unix.Close(t.dup)
	*t = target{kind: kindPlastic, s: s, dup: fd}
	return supervise.Result{}, true
}

// connectTimeout is how long a connect to a listener whose backlog stays
// full is retried, about as long as Linux retries a TCP SYN.
const connectTimeout = 2 * time.Minute

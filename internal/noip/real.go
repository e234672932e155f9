package noip

import (
	"bufio"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
	"noip/internal/supervise"
)

// fdKind is what a call's fd turned out to be.
type fdKind int

const (
	kindOther   fdKind = iota // not ours: let the kernel run the call
	kindPlastic               // a plastic socket noip made
	kindReal                  // a real TCP or UDP socket
)

// classify is lookup for bind and connect, which also decide about real
// Internet sockets: a real socket may only be bound or connected where the
// rules allow, whoever made it. For kindReal, s describes the socket
// (family, type, protocol) but is not in the table.
func (p *Policy) classify(c *supervise.Call, fd int32) (kind fdKind, s *sock, dup int, r supervise.Result) {
	s, dup, r, ok := p.lookup(c, fd)
	if ok {
		return kindPlastic, s, dup, r
	}
	if dup, err := c.GetFD(int(fd)); err == nil {
		dom, e1 := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_DOMAIN)
		typ, e2 := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_TYPE)
		proto, e3 := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_PROTOCOL)
		if e1 == nil && e2 == nil && e3 == nil && (dom == unix.AF_INET || dom == unix.AF_INET6) &&
			(typ == unix.SOCK_STREAM || typ == unix.SOCK_DGRAM) && proto != unix.IPPROTO_ICMP && proto != unix.IPPROTO_ICMPV6 {
			s := &sock{family: dom, typ: typ, proto: proto}
			if dom == unix.AF_INET6 {
				s.v6only = sockoptBool(dup, unix.SOL_IPV6, unix.IPV6_V6ONLY)
			}
			return kindReal, s, dup, supervise.Result{}
		}
		unix.Close(dup)
	}
	return kindOther, nil, -1, r
}

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

// solSocketCarried are the SOL_SOCKET options a real socket takes over from
// the plastic one it replaces (the kernel stores them on any socket).
var solSocketCarried = []int{unix.SO_REUSEADDR, unix.SO_KEEPALIVE, unix.SO_BROADCAST, unix.SO_OOBINLINE, unix.SO_PRIORITY}

// realTwin makes the real socket that replaces plastic socket s: the same
// family, type and protocol, and the options the program set on s. It is
// non-blocking, as noip connects it without waiting.
func (p *Policy) realTwin(s *sock, plastic int) (int, error) {
	fd, err := unix.Socket(s.family, s.typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, s.proto)
	if err == unix.EPROTONOSUPPORT && s.proto == ipprotoMPTCP {
		fd, err = unix.Socket(s.family, s.typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	}
	if err != nil {
		return -1, err
	}
	if plastic >= 0 {
		for _, o := range solSocketCarried {
			if v, err := unix.GetsockoptInt(plastic, unix.SOL_SOCKET, o); err == nil && v != 0 {
				unix.SetsockoptInt(fd, unix.SOL_SOCKET, o, v)
			}
		}
		if l, err := unix.GetsockoptLinger(plastic, unix.SOL_SOCKET, unix.SO_LINGER); err == nil && l.Onoff != 0 {
			unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, l)
		}
	}
	p.mu.Lock()
	opts := make(map[optKey][]byte, len(s.opts))
	for k, v := range s.opts {
		opts[k] = v
	}
	v6only := s.v6only
	p.mu.Unlock()
	if s.family == unix.AF_INET6 {
		unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_V6ONLY, boolInt(v6only))
	}
	for k, v := range opts {
		// Options the kernel rejects are the program's business; the
		// plastic socket accepted them as a real one would have, mostly.
		unix.SetsockoptString(fd, int(k.level), int(k.name), string(v))
	}
	return fd, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fdCloexec reads whether the caller's fd is close-on-exec, which the
// replacement must keep.
func fdCloexec(tid, fd int) bool {
	f, err := os.Open("/proc/" + strconv.Itoa(tid) + "/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return true
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "flags:"); ok {
			fl, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			return err != nil || fl&unix.O_CLOEXEC != 0
		}
	}
	return true
}

// swapIn replaces the caller's fd number fdnum with our socket fd (which
// the caller of swapIn still owns), keeping the fd's close-on-exec flag
// and the file's O_NONBLOCK.
func swapIn(c *supervise.Call, fdnum int, fd int, nonblock bool) error {
	if err := unix.SetNonblock(fd, nonblock); err != nil {
		return err
	}
	return c.SetFD(fd, fdnum, fdCloexec(c.Tid(), fdnum))
}

// bindReal gives the program a real socket bound to ap in place of plastic
// socket s, when realbind allows ap.
func (p *Policy) bindReal(c *supervise.Call, s *sock, dup int, ap netip.AddrPort, why string) supervise.Result {
	set := p.settingsOf(c)
	fd, err := p.realTwin(s, dup)
	if err != nil {
		return supervise.Fail(errnoOf(err))
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, sockaddrFor(s.family, ap)); err != nil {
		return supervise.Fail(errnoOf(err)).WithNote(note(set, "bind %v: %s: %v", ap, why, err))
	}
	fl, _ := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if err := swapIn(c, int(c.Int(0)), fd, fl&unix.O_NONBLOCK != 0); err != nil {
		return supervise.Fail(errnoOf(err))
	}
	return supervise.Return(0).WithNote(note(set, "bind %v: %s", ap, why))
}

// connectReal gives the program a real socket connecting to ap in place of
// plastic socket s, when realconnect allows ap. A non-blocking socket gets
// EINPROGRESS as from the kernel; for a blocking one the loop waits for the
// connection before answering.
func (p *Policy) connectReal(c *supervise.Call, s *sock, dup int, ap netip.AddrPort, why string) supervise.Result {
	set := p.settingsOf(c)
	fd, err := p.realTwin(s, dup)
	if err != nil {
		return supervise.Fail(errnoOf(err))
	}
	p.mu.Lock()
	bound, local := s.bound, s.bindReq
	p.mu.Unlock()
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
		unix.Close(fd)
		return supervise.Fail(errnoOf(err)).WithNote(note(set, "connect %v: %s: %v", ap, why, err))
	}
	// Installed before the answer: the program's fd is the real socket from
	// now on, connected or connecting.
	if err := c.SetFD(fd, int(c.Int(0)), fdCloexec(c.Tid(), int(c.Int(0)))); err != nil {
		unix.Close(fd)
		return supervise.Fail(errnoOf(err))
	}
	r := supervise.Return(0).WithNote(note(set, "connect %v: %s", ap, why))
	return p.finishConnect(c, fd, err, nonblock, r)
}

// finishConnect answers a connect made on a real socket fd (ours to close)
// that the kernel answered with err: at once for a non-blocking program
// socket, else once the connection is made or has failed.
func (p *Policy) finishConnect(c *supervise.Call, fd int, err error, nonblock bool, ok supervise.Result) supervise.Result {
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
		unix.SetNonblock(fd, false)
		unix.Close(fd)
		if err != nil {
			return supervise.Fail(errnoOf(err)), true
		}
		if soerr != 0 {
			return supervise.Fail(unix.Errno(soerr)).WithNote(ok.Note), true
		}
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
func (p *Policy) connectRealSocket(c *supervise.Call, s *sock, dup int, ap netip.AddrPort, why string) supervise.Result {
	set := p.settingsOf(c)
	fl, err := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if err != nil {
		unix.Close(dup)
		return supervise.Fail(errnoOf(err))
	}
	nonblock := fl&unix.O_NONBLOCK != 0
	if !nonblock {
		unix.SetNonblock(dup, true)
	}
	err = unix.Connect(dup, sockaddrFor(s.family, ap))
	r := supervise.Return(0).WithNote(note(set, "connect %v: %s", ap, why))
	if err != nil && err != unix.EINPROGRESS {
		if !nonblock {
			unix.SetNonblock(dup, false)
		}
		unix.Close(dup)
		return supervise.Fail(errnoOf(err)).WithNote(r.Note)
	}
	return p.finishConnect(c, dup, err, nonblock, r)
}

// plasticTwin makes a plastic socket to replace a real one the rules do not
// allow for the address the program now binds or connects to. It starts
// bound where the real one was, if it was.
func (p *Policy) plasticTwin(c *supervise.Call, real *sock, dup int) (*sock, int, error) {
	fl, err := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if err != nil {
		return nil, -1, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, real.typ|unix.SOCK_CLOEXEC|(fl&unix.O_NONBLOCK), 0)
	if err != nil {
		return nil, -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, -1, err
	}
	s := &sock{ino: st.Ino, family: real.family, typ: real.typ, proto: real.proto, v6only: real.v6only}
	if sa, err := unix.Getsockname(dup); err == nil {
		var ap netip.AddrPort
		switch sa := sa.(type) {
		case *unix.SockaddrInet4:
			ap = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
		case *unix.SockaddrInet6:
			ap = inet.Unmap(netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)))
		}
		if ap.Port() != 0 {
			set := p.settingsOf(c)
			s.dir, s.local, s.bound, s.bindReq = set.Dir, ap, true, ap
		}
	}
	p.add(s)
	if err := c.SetFD(fd, int(c.Int(0)), fdCloexec(c.Tid(), int(c.Int(0)))); err != nil {
		unix.Close(fd)
		return nil, -1, err
	}
	return s, fd, nil
}

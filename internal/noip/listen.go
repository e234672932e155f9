package noip

import (
	"net/netip"

	"golang.org/x/sys/unix"

	"noip/internal/config"
	"noip/internal/inet"
	"noip/internal/supervise"
)

// listen: a plastic stream socket starts listening at its endpoint file,
// always: a socket that got an abstract client name from an earlier
// connect is replaced by a new one at its file, since anyone may reach an
// abstract name. An unbound one is bound first to the wildcard address
// and a free port, as TCP does. A socket with SO_REUSEPORT whose address
// already has a listener of this supervisor that set it too joins that
// listener's group: it becomes the same socket, so they share one accept
// queue and every member serves clients.
//
// A real socket (inherited, or received) listens only where realbind
// allows; elsewhere it becomes plastic.
func (p *Policy) listen(c *supervise.Call, set *Settings) supervise.Result {
	t := p.lookupGuarded(c, set, c.Int(0), listenGuard)
	if t.kind == kindOther {
		return t.r
	}
	defer t.close()
	backlog := int(c.Int(1))
	if t.kind == kindReal {
		if t.s.typ != unix.SOCK_STREAM {
			return supervise.Fail(unix.EOPNOTSUPP)
		}
		ap, _ := localAddr(t.dup)
		if !ap.IsValid() {
			ap = netip.AddrPortFrom(inet.Unspecified(t.s.family), 0)
		}
		if v := p.decide(set, config.OpBind, ap); v.Allow {
			if err := unix.Listen(t.dup, backlog); err != nil {
				return supervise.Fail(errnoOf(err))
			}
			return supervise.Return(0).WithNote(note(set, "listen %v: %v", ap, v))
		}
		if r, ok := p.plasticTwin(c, set, &t); !ok {
			return r
		}
	}
	s := t.s
	if s.typ != unix.SOCK_STREAM {
		return supervise.Fail(unix.EOPNOTSUPP)
	}
	p.mu.Lock()
	bound, connected, listening, named, refused := s.bound, s.connected, s.listening, s.named, s.wasRefused
	p.mu.Unlock()
	if connected {
		return supervise.Fail(unix.EINVAL)
	}
	if refused {
		if e := listenAfterRefused(); e != 0 {
			return supervise.Fail(e)
		}
	}
	if listening {
		// A second listen changes the backlog, as TCP's does.
		if err := unix.Listen(t.dup, backlog); err != nil {
			return supervise.Fail(errnoOf(err))
		}
		return supervise.Return(0)
	}
	if set.DirErr != nil && (!bound || s.dir == nil) {
		return supervise.Fail(unix.EACCES).WithNote(note(set, "listen: %v", set.DirErr))
	}
	reuse := sockoptBool(t.dup, unix.SOL_SOCKET, unix.SO_REUSEADDR)
	if !bound {
		any := netip.AddrPortFrom(inet.Unspecified(s.family), 0)
		if v := p.decide(set, config.OpBind, any); v.Allow {
			return p.listenReal(c, set, s, t.dup, backlog, v.String())
		}
		if e, _ := p.reserve(s, set, any, reuse); e != 0 {
			return supervise.Fail(e)
		}
	}
	if r, ok := p.joinGroup(c, set, s); ok {
		return r
	}
	fd, replaced := t.dup, false
	if named == nameClient {
		// The Unix socket has an abstract name: listen on a new one.
		nfd, err := p.replacement(s, t.dup)
		if err != nil {
			return supervise.Fail(errnoOf(err))
		}
		fd, replaced = nfd, true
		defer unix.Close(nfd)
	}
	if e := p.materialize(s, fd, reuse); e != 0 {
		return supervise.Fail(e).WithNote(note(set, "listen %v: %v", s.local, e))
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return supervise.Fail(errnoOf(err))
	}
	if replaced {
		ns, err := p.adopt(s, fd)
		if err != nil {
			return supervise.Fail(errnoOf(err))
		}
		if err := c.SetFD(fd, int(c.Int(0)), fdCloexec(c.Tid(), int(c.Int(0)))); err != nil {
			return supervise.Fail(errnoOf(err))
		}
		s = ns
	}
	p.mu.Lock()
	s.listening, s.backlog = true, backlog
	p.mu.Unlock()
	return supervise.Return(0).WithNote(note(set, "listen %v: plastic %s", s.local, s.dir.SockPath(s.endpointName())))
}

// joinGroup makes s a member of the listener group at its address, if
// there is one it may join: the program's fd becomes the group's socket.
func (p *Policy) joinGroup(c *supervise.Call, set *Settings, s *sock) (supervise.Result, bool) {
	p.mu.Lock()
	if !s.reusePort {
		p.mu.Unlock()
		return supervise.Result{}, false
	}
	var leader *sock
	for _, o := range p.socks {
		if o != s && o.listening && o.reusePort && o.named == nameFile && o.dir == s.dir && o.local == s.local && o.typ == s.typ {
			leader = o
			break
		}
	}
	var h holder
	if leader != nil {
		h = leader.holder
	}
	p.mu.Unlock()
	if leader == nil || h.proc == nil {
		return supervise.Result{}, false
	}
	fd, err := h.proc.GetFD(h.fd)
	if err != nil {
		return supervise.Result{}, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Ino != leader.ino {
		return supervise.Result{}, false // the holder has moved on
	}
	if err := c.SetFD(fd, int(c.Int(0)), fdCloexec(c.Tid(), int(c.Int(0)))); err != nil {
		return supervise.Fail(errnoOf(err)), true
	}
	p.mu.Lock()
	p.release(s)
	s.bound = false // its reservation went to the group
	p.mu.Unlock()
	return supervise.Return(0).WithNote(note(set, "listen %v: joins the listener group of %s", leader.local, leader.dir.SockPath(leader.endpointName()))), true
}

// replacement makes a new Unix socket to stand in for plastic socket s,
// whose Unix socket dup cannot be what s must become (a listener with an
// abstract name): same type, file flags and socket options.
func (p *Policy) replacement(s *sock, dup int) (int, error) {
	fl, err := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, s.typ|unix.SOCK_CLOEXEC|(fl&unix.O_NONBLOCK), 0)
	if err != nil {
		return -1, err
	}
	copySocketOptions(fd, dup)
	return fd, nil
}

// adopt records fd, which replaces plastic socket s in the program, as a
// plastic socket with s's state and options. s itself stays, for other
// fds of it.
func (p *Policy) adopt(s *sock, fd int) (*sock, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	twin, e := s.opts.take(s)
	if e != 0 {
		return nil, e
	}
	p.mu.Lock()
	ns := &sock{ino: st.Ino, family: s.family, typ: s.typ, proto: s.proto,
		dir: s.dir, local: s.local, bound: s.bound, bindReq: s.bindReq, bindSeen: s.bindSeen,
		named: s.named, v6only: s.v6only, reuse: s.reuse, reusePort: s.reusePort, holder: s.holder}
	s.named = nameClient
	p.mu.Unlock()
	ns.opts.twin = twin
	s.opts.mu.Lock()
	ns.opts.set = append([]optSet(nil), s.opts.set...)
	s.opts.mu.Unlock()
	if ns.typ == unix.SOCK_DGRAM {
		ns.dg = &dgram{}
	}
	p.add(ns)
	return ns, nil
}

// listenReal: listen on an unbound socket, where realbind allows the
// wildcard address, makes it a real socket bound by the kernel.
func (p *Policy) listenReal(c *supervise.Call, set *Settings, s *sock, dup, backlog int, why string) supervise.Result {
	fd, err := p.realSocket(s, dup)
	if err != nil {
		return supervise.Fail(errnoOf(err))
	}
	defer unix.Close(fd)
	if err := unix.Listen(fd, backlog); err != nil {
		return supervise.Fail(errnoOf(err))
	}
	if err := swapIn(c, fd, dup); err != nil {
		return supervise.Fail(errnoOf(err))
	}
	return supervise.Return(0).WithNote(note(set, "listen: %s", why))
}

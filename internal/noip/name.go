package noip

import (
	"net/netip"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
	"noip/internal/supervise"
)

// getsockname: a plastic socket's name is its Internet address; unbound, it
// is the unspecified address of its family, port 0, as in TCP.
func (p *Policy) getsockname(c *supervise.Call) supervise.Result {
	s, dup, r, ok := p.lookup(c, c.Int(0))
	if !ok {
		return r
	}
	unix.Close(dup)
	p.mu.Lock()
	ap := netip.AddrPortFrom(inet.Unspecified(s.family), 0)
	if s.bound {
		ap = s.local
	}
	p.mu.Unlock()
	if e := writeSockaddr(c, s.family, ap, c.Arg(1), c.Arg(2)); e != 0 {
		return supervise.Fail(e)
	}
	return supervise.Return(0)
}

// getpeername: a connected plastic socket's peer is the Internet address it
// dialled, or for an accepted one, the client's address.
func (p *Policy) getpeername(c *supervise.Call) supervise.Result {
	s, dup, r, ok := p.lookup(c, c.Int(0))
	if !ok {
		return r
	}
	unix.Close(dup)
	p.mu.Lock()
	ap, connected := s.peer, s.connected
	p.mu.Unlock()
	if !connected {
		return supervise.Fail(unix.ENOTCONN)
	}
	if e := writeSockaddr(c, s.family, ap, c.Arg(1), c.Arg(2)); e != 0 {
		return supervise.Fail(e)
	}
	return supervise.Return(0)
}

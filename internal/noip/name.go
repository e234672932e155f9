package noip

import (
	"net/netip"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
	"noip/internal/supervise"
)

// getsockname: a plastic socket's name is its Internet address; unbound, it
// is the unspecified address of its family, port 0, as in TCP. A socket
// bound to a wildcard address that has connected reports the source
// address the kernel would have picked.
func (p *Policy) getsockname(c *supervise.Call, set *Settings) supervise.Result {
	t, ok := p.plastic(c, set, c.Int(0))
	if !ok {
		return t.r
	}
	t.close()
	s := t.s
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
func (p *Policy) getpeername(c *supervise.Call, set *Settings) supervise.Result {
	t, ok := p.plastic(c, set, c.Int(0))
	if !ok {
		return t.r
	}
	t.close()
	s := t.s
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

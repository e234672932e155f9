package noip

import (
	"bytes"
	"net/netip"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
	"noip/internal/supervise"
)

// Interface queries a Unix socket cannot answer but an AF_INET socket can
// (the rest of SIOCGIF* work on any socket). The filter sends only these.
var ifAddrIoctls = []uint32{unix.SIOCGIFADDR, unix.SIOCGIFDSTADDR, unix.SIOCGIFBRDADDR, unix.SIOCGIFNETMASK}

const sizeofIfreq = 40

// ioctl: SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR and SIOCGIFDSTADDR on
// a plastic AF_INET socket are answered by a real AF_INET socket of noip's,
// as on the socket the program asked for (Java and Gradle enumerate
// interfaces this way). An AF_INET6 socket answers ENOTTY, as a real one.
func (p *Policy) ioctl(c *supervise.Call) supervise.Result {
	s, dup, r, ok := p.lookup(c, c.Int(0))
	if !ok {
		return r
	}
	unix.Close(dup)
	if s.family != inet.AF_INET {
		return supervise.Fail(unix.ENOTTY)
	}
	// struct ifreq: the interface name (IFNAMSIZ bytes), then the answer.
	var ifr [sizeofIfreq]byte
	if err := c.Proc.Read(c.Arg(2), ifr[:]); err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	name := ifr[:unix.IFNAMSIZ]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	} else {
		return supervise.Fail(unix.ENODEV) // no NUL: no such interface
	}
	req, err := unix.NewIfreq(string(name))
	if err != nil {
		return supervise.Fail(unix.ENODEV)
	}
	fd, err := p.inetSocket()
	if err != nil {
		return supervise.Fail(errnoOf(err))
	}
	if err := unix.IoctlIfreq(fd, uint(uint32(c.Arg(1))), req); err != nil {
		return supervise.Fail(errnoOf(err))
	}
	a, err := req.Inet4Addr()
	if err != nil {
		return supervise.Fail(unix.EADDRNOTAVAIL)
	}
	sa := inet.AppendSockaddr(nil, inet.AF_INET, netip.AddrPortFrom(netip.AddrFrom4([4]byte(a)), 0))
	if err := c.Write(c.Arg(2)+unix.IFNAMSIZ, sa); err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	return supervise.Return(0)
}

// inetSocket returns noip's own unbound, unconnected AF_INET socket, made
// on first use, for interface queries.
func (p *Policy) inetSocket() (int, error) {
	p.setMu.Lock()
	defer p.setMu.Unlock()
	if p.inet4 < 0 {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		p.inet4 = fd
	}
	return p.inet4, nil
}

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
// a plastic socket are answered by its twin, a real Internet socket of the
// family the program asked for (Java and Gradle enumerate interfaces this
// way); an AF_INET6 socket so answers as a real one does.
func (p *Policy) ioctl(c *supervise.Call, set *Settings) supervise.Result {
	t, ok := p.plastic(c, set, c.Int(0))
	if !ok {
		return t.r
	}
	t.close()
	s := t.s
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
	twin, e := s.opts.twinOf(s)
	if e != 0 {
		return supervise.Fail(e)
	}
	if err := unix.IoctlIfreq(twin, uint(uint32(c.Arg(1))), req); err != nil {
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

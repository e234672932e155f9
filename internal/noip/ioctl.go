package noip

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"noip/internal/supervise"
)

// Socket ioctls a Unix socket answers unlike an Internet one (ENOTTY): the
// interface address queries and changes (the rest of SIOCGIF* work on any
// socket), and the last packet's timestamp. The filter sends only these.
var ifAddrIoctls = []uint32{unix.SIOCGIFADDR, unix.SIOCGIFDSTADDR, unix.SIOCGIFBRDADDR, unix.SIOCGIFNETMASK,
	unix.SIOCSIFADDR, unix.SIOCSIFDSTADDR, unix.SIOCSIFBRDADDR, unix.SIOCSIFNETMASK,
	unix.SIOCGSTAMP, unix.SIOCGSTAMPNS}

const sizeofIfreq = 40

// ioctl: these socket ioctls on a plastic socket are answered by its
// twin, a real Internet socket of the family the program asked for (Java
// and Gradle enumerate interfaces this way): the kernel's answer, errors
// included (an AF_INET6 socket has no SIOCGIFADDR, changing an interface
// needs privilege, no packet has a timestamp yet).
func (p *Policy) ioctl(c *supervise.Call, set *Settings) supervise.Result {
	t, ok := p.plastic(c, set, c.Int(0))
	if !ok {
		return t.r
	}
	t.close()
	req := uint(uint32(c.Arg(1)))
	if req == unix.SIOCGSTAMP && t.s.dg != nil {
		// The arrival of the last datagram noip received for it.
		p.mu.Lock()
		at := t.s.dg.lastRecv
		p.mu.Unlock()
		if !at.IsZero() {
			var tv [16]byte
			binary.NativeEndian.PutUint64(tv[0:], uint64(at.Unix()))
			binary.NativeEndian.PutUint64(tv[8:], uint64(at.Nanosecond()/1000))
			if err := c.Write(c.Arg(2), tv[:]); err != nil {
				return supervise.Fail(unix.EFAULT)
			}
			return supervise.Return(0)
		}
	}
	twin, e := t.s.opts.twinOf(t.s)
	if e != 0 {
		return supervise.Fail(e)
	}
	return p.ioctlTwin(c, twin, req)
}

// ioctlTwin runs an ioctl whose argument is a fixed-size struct (an ifreq
// to change an interface, a timeval or timespec) on the twin, with a copy
// of the program's argument, and copies the answer back: the kernel's
// answer for the socket the program asked for.
func (p *Policy) ioctlTwin(c *supervise.Call, twin int, req uint) supervise.Result {
	var buf [sizeofIfreq]byte
	n := sizeofIfreq
	if req == unix.SIOCGSTAMP || req == unix.SIOCGSTAMPNS {
		n = 16
	} else if err := c.Proc.Read(c.Arg(2), buf[:]); err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	if e := ioctlPtr(twin, req, buf[:]); e != 0 {
		return supervise.Fail(e)
	}
	if err := c.Write(c.Arg(2), buf[:n]); err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	return supervise.Return(0)
}

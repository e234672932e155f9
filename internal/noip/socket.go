package noip

import (
	"golang.org/x/sys/unix"

	"noip/internal/inet"
	"noip/internal/supervise"
)

const ipprotoMPTCP = 262

// socket: socket(AF_INET/AF_INET6, SOCK_STREAM/SOCK_DGRAM, …) returns a
// plastic socket: a Unix socket of the same type with the same O_NONBLOCK
// and close-on-exec. noip first makes the real socket the program asked
// for, unbound: the kernel checks the arguments (so a bad type or protocol
// gets the kernel's own errno), and that socket stays in the supervisor as
// the plastic one's twin, which holds its options and becomes the real
// socket if a rule allows one. ICMP and raw sockets are left to the
// kernel. Other Internet protocols (SCTP, DCCP) fail with EPROTONOSUPPORT
// rather than escape as real sockets.
func (p *Policy) socket(c *supervise.Call, set *Settings) supervise.Result {
	return p.newSocket(c, set, c.Int(0), c.Int(1), c.Int(2))
}

func (p *Policy) newSocket(c *supervise.Call, set *Settings, domain, typ, proto int32) supervise.Result {
	if domain != inet.AF_INET && domain != inet.AF_INET6 {
		return supervise.Continue()
	}
	base, flags := typ&0xf, typ&^0xf
	switch {
	case base == unix.SOCK_RAW, base == unix.SOCK_PACKET:
		return supervise.Continue() // needs CAP_NET_RAW; not TCP or UDP
	case base == unix.SOCK_DGRAM && (proto == unix.IPPROTO_ICMP || proto == unix.IPPROTO_ICMPV6):
		return supervise.Continue() // unprivileged ping sockets stay real
	}
	twin, err := p.newFD(int(domain), int(typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK), int(proto))
	if err != nil {
		return supervise.Fail(errnoOf(err))
	}
	switch {
	case base == unix.SOCK_STREAM && (proto == 0 || proto == unix.IPPROTO_TCP || proto == ipprotoMPTCP):
	case base == unix.SOCK_DGRAM && (proto == 0 || proto == unix.IPPROTO_UDP || proto == unix.IPPROTO_UDPLITE):
	default:
		unix.Close(twin)
		return supervise.Fail(unix.EPROTONOSUPPORT).
			WithNote(note(set, "socket(%s, type %d, protocol %d): only TCP and UDP can be plastic", familyName(int(domain)), base, proto))
	}
	fd, err := p.newFD(unix.AF_UNIX, int(base|unix.SOCK_CLOEXEC|flags&unix.SOCK_NONBLOCK), 0)
	if err != nil {
		unix.Close(twin)
		return supervise.Fail(errnoOf(err))
	}
	v6only := false
	if domain == inet.AF_INET6 {
		v6only = sockoptBool(twin, unix.SOL_IPV6, unix.IPV6_V6ONLY)
	}
	s, err := p.newSock(fd, int(domain), int(base), int(proto), v6only)
	if err != nil {
		unix.Close(fd)
		unix.Close(twin)
		return supervise.Fail(errnoOf(err))
	}
	s.opts.twin = twin
	r := supervise.Inject(fd, flags&unix.SOCK_CLOEXEC != 0).
		WithNote(note(set, "socket(%s, %s) -> plastic", familyName(int(domain)), typeName(int(base))))
	r.Warn = set.cfgWarning()
	return r
}

// newFD makes a socket in the supervisor. Out of fds, it first lets go of
// what the sockets the program has closed still hold (their twins, kept
// until the table is pruned) and tries once more.
func (p *Policy) newFD(domain, typ, proto int) (int, error) {
	fd, err := unix.Socket(domain, typ, proto)
	if err == unix.EMFILE {
		p.pruneStarved()
		fd, err = unix.Socket(domain, typ, proto)
	}
	return fd, err
}

// pruneStarved prunes with the spare fd given back for the netlink socket
// that finds which sockets still exist.
func (p *Policy) pruneStarved() {
	p.spareMu.Lock()
	defer p.spareMu.Unlock()
	if p.spare >= 0 {
		unix.Close(p.spare)
	}
	p.prune()
	p.spare, _ = unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
}

// socketcall is the i386 multiplexer. Its arguments are in memory, which
// the filter cannot see, so every socket it creates comes here: Internet
// ones fail closed (32-bit programs are not served), the rest are created
// by noip from the arguments as read once, so a racing thread cannot swap
// them after the check.
func (p *Policy) socketcall(c *supervise.Call, set *Settings) supervise.Result {
	const sysSocket = 1
	if c.Arg(0) != sysSocket {
		fd, e := socketcallFD(c)
		if e != 0 {
			return supervise.Fail(e)
		}
		return p.compatCall(c, set, fd)
	}
	b, err := c.Read(c.Arg(1)&0xffffffff, 12)
	if err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	le := func(i int) int32 {
		return int32(uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24)
	}
	domain, typ, proto := le(0), le(4), le(8)
	if !c.Valid() {
		return supervise.Fail(unix.EINTR)
	}
	if domain == inet.AF_INET || domain == inet.AF_INET6 {
		return supervise.Fail(unix.EAFNOSUPPORT).
			WithNote(note(set, "socketcall(SOCKET, %s): 32-bit programs cannot use Internet sockets under noip", familyName(int(domain))))
	}
	flags := typ &^ 0xf
	fd, err := unix.Socket(int(domain), int(typ|unix.SOCK_CLOEXEC), int(proto))
	if err != nil {
		return supervise.Fail(errnoOf(err))
	}
	return supervise.Inject(fd, flags&unix.SOCK_CLOEXEC != 0)
}

func familyName(f int) string {
	switch f {
	case inet.AF_INET:
		return "AF_INET"
	case inet.AF_INET6:
		return "AF_INET6"
	}
	return "AF_" + itoa(f)
}

func typeName(t int) string {
	switch t {
	case unix.SOCK_STREAM:
		return "SOCK_STREAM"
	case unix.SOCK_DGRAM:
		return "SOCK_DGRAM"
	}
	return "type " + itoa(t)
}

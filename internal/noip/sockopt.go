package noip

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
	"noip/internal/supervise"
)

// Option levels noip answers for on plastic sockets; the filter notifies
// only these (and a few SOL_SOCKET names), see Filter.
const (
	solIP      = unix.SOL_IP
	solTCP     = unix.SOL_TCP
	solUDP     = unix.SOL_UDP
	solIPv6    = unix.SOL_IPV6
	solUDPLite = 136
)

// SOL_SOCKET options the filter sends here: the ones a Unix socket answers
// differently from an Internet one.
var solSocketNames = []uint32{unix.SO_DOMAIN, unix.SO_PROTOCOL, unix.SO_REUSEPORT}

// setsockopt: on a plastic socket, IP, IPv6, TCP and UDP options are
// accepted and remembered, so getsockopt gives them back. IPV6_V6ONLY
// decides whether an IPv6 wildcard listener also takes IPv4 clients.
func (p *Policy) setsockopt(c *supervise.Call) supervise.Result {
	s, dup, r, ok := p.lookup(c, c.Int(0))
	if !ok {
		return r
	}
	unix.Close(dup)
	level, name, n := c.Int(1), c.Int(2), c.Int(4)
	if n < 0 {
		return supervise.Fail(unix.EINVAL)
	}
	if level == unix.SOL_SOCKET && (name == unix.SO_DOMAIN || name == unix.SO_PROTOCOL) {
		return supervise.Fail(unix.ENOPROTOOPT)
	}
	if e := p.levelOK(s, level); e != 0 {
		return supervise.Fail(e)
	}
	val, err := c.Read(c.Arg(3), int(min(n, 1024)))
	if err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	if isIntOpt(level, name) && n < 4 {
		return supervise.Fail(unix.EINVAL)
	}
	// No Valid check: storing the option is all there is to do, and the
	// socket was found through the caller's pidfd, so it is the caller's.
	p.mu.Lock()
	defer p.mu.Unlock()
	if level == solIPv6 && name == unix.IPV6_V6ONLY {
		if s.bound {
			return supervise.Fail(unix.EINVAL)
		}
		s.v6only = binary.NativeEndian.Uint32(val) != 0
	}
	if s.opts == nil {
		s.opts = make(map[optKey][]byte)
	}
	s.opts[optKey{level, name}] = val
	return supervise.Return(0)
}

// getsockopt: what setsockopt stored, else the value a fresh Internet
// socket reports (TCP_INFO zeroed but for its state). SO_DOMAIN and
// SO_PROTOCOL name the Internet family and protocol.
func (p *Policy) getsockopt(c *supervise.Call) supervise.Result {
	s, dup, r, ok := p.lookup(c, c.Int(0))
	if !ok {
		return r
	}
	unix.Close(dup)
	level, name := c.Int(1), c.Int(2)
	max, err := c.ReadInt32(c.Arg(4))
	if err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	if max < 0 {
		return supervise.Fail(unix.EINVAL)
	}
	var val []byte
	if level == unix.SOL_SOCKET {
		switch name {
		case unix.SO_DOMAIN:
			val = intOpt(int32(s.family))
		case unix.SO_PROTOCOL:
			val = intOpt(int32(protocolOf(s)))
		}
	} else if e := p.levelOK(s, level); e != 0 {
		return supervise.Fail(e)
	}
	if val == nil {
		p.mu.Lock()
		val = s.opts[optKey{level, name}]
		if val == nil {
			val = defaultOpt(s, level, name)
		}
		p.mu.Unlock()
	}
	out := val[:min(int(max), len(val))]
	if err := c.Write(c.Arg(3), out); err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	if err := c.WriteInt32(c.Arg(4), int32(len(out))); err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	return supervise.Return(0)
}

// levelOK says whether an option level exists for the socket's protocol,
// as the Internet stack decides: IPv6 options only on IPv6 sockets, TCP
// options only on stream sockets, UDP options only on datagram ones.
func (p *Policy) levelOK(s *sock, level int32) unix.Errno {
	switch level {
	case solIP, unix.SOL_SOCKET:
		return 0
	case solIPv6:
		if s.family == inet.AF_INET6 {
			return 0
		}
	case solTCP:
		if s.typ == unix.SOCK_STREAM {
			return 0
		}
	case solUDP, solUDPLite:
		if s.typ == unix.SOCK_DGRAM {
			return 0
		}
	}
	return unix.ENOPROTOOPT
}

func protocolOf(s *sock) int {
	if s.proto != 0 {
		return s.proto
	}
	if s.typ == unix.SOCK_DGRAM {
		return unix.IPPROTO_UDP
	}
	return unix.IPPROTO_TCP
}

func intOpt(v int32) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, uint32(v))
	return b
}

// isIntOpt reports options whose value the kernel reads as an int, and so
// rejects shorter than 4 bytes with EINVAL.
func isIntOpt(level, name int32) bool {
	switch level {
	case solTCP:
		return name != unix.TCP_CONGESTION && name != unix.TCP_ULP && name != unix.TCP_MD5SIG && name != unix.TCP_REPAIR_WINDOW
	case solIPv6:
		return name == unix.IPV6_V6ONLY || name == unix.IPV6_UNICAST_HOPS || name == unix.IPV6_TCLASS
	case solIP:
		return name == unix.IP_TTL
	}
	return false
}

// tcpInfoSize is sizeof(struct tcp_info) on current kernels.
const tcpInfoSize = 248

// defaultOpt is the value a new Internet socket reports for an option
// nobody set, by the Linux defaults for loopback.
func defaultOpt(s *sock, level, name int32) []byte {
	switch level {
	case solTCP:
		switch name {
		case unix.TCP_MAXSEG:
			return intOpt(65483) // loopback MTU 65536
		case unix.TCP_KEEPIDLE:
			return intOpt(7200)
		case unix.TCP_KEEPINTVL:
			return intOpt(75)
		case unix.TCP_KEEPCNT:
			return intOpt(9)
		case unix.TCP_SYNCNT:
			return intOpt(6)
		case unix.TCP_LINGER2:
			return intOpt(60)
		case unix.TCP_QUICKACK:
			return intOpt(1)
		case unix.TCP_CONGESTION:
			b := make([]byte, 16)
			copy(b, "cubic")
			return b
		case unix.TCP_INFO:
			b := make([]byte, tcpInfoSize)
			b[0] = tcpState(s)
			return b
		}
	case solIP:
		switch name {
		case unix.IP_TTL:
			return intOpt(64)
		case unix.IP_MTU_DISCOVER:
			return intOpt(unix.IP_PMTUDISC_WANT)
		}
	case solIPv6:
		switch name {
		case unix.IPV6_V6ONLY:
			if s.v6only {
				return intOpt(1)
			}
		case unix.IPV6_UNICAST_HOPS:
			return intOpt(64)
		}
	}
	return intOpt(0)
}

// tcpState is the tcpi_state of a plastic stream socket.
func tcpState(s *sock) byte {
	const established, closed, listen = 1, 7, 10
	switch {
	case s.listening:
		return listen
	case s.connected:
		return established
	}
	return closed
}

package noip

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
	"noip/internal/supervise"
)

// Option levels the filter sends here: every level but SOL_SOCKET, since
// a Unix socket answers all of them differently from an Internet one (an
// unknown level too), and the SOL_SOCKET names below.
const (
	solIP      = unix.SOL_IP
	solTCP     = unix.SOL_TCP
	solUDP     = unix.SOL_UDP
	solIPv6    = unix.SOL_IPV6
	solUDPLite = 136
)

// solSocketNames are the SOL_SOCKET options a Unix socket answers
// differently from a TCP or UDP one: the family and protocol, port reuse
// (which Unix sockets refuse), the buffer sizes (whose defaults differ),
// the peer's credentials and name (TCP has none and an Internet address),
// and a few options only one of the two has.
var solSocketNames = []uint32{unix.SO_DOMAIN, unix.SO_PROTOCOL, unix.SO_REUSEPORT,
	unix.SO_RCVBUF, unix.SO_SNDBUF, unix.SO_RCVBUFFORCE, unix.SO_SNDBUFFORCE, unix.SO_MEMINFO,
	unix.SO_PASSCRED, unix.SO_PASSSEC, soPassPidfd, unix.SO_PEERCRED, unix.SO_PEERSEC, unix.SO_PEERGROUPS,
	soPeerPidfd, unix.SO_PEERNAME, soTxRehash, unix.SO_ZEROCOPY}

// Options x/sys does not name yet.
const (
	soPassPidfd = 76
	soPeerPidfd = 77
	soTxRehash  = 74
)

// optState holds a plastic socket's options: in a real, unbound Internet
// socket of its family, type and protocol (its twin), so that the kernel
// checks and stores them as it would for the socket the program asked
// for. The twin becomes the real socket when a rule allows one.
type optState struct {
	mu   sync.Mutex
	twin int // -1 until made: accepted connections make theirs on first use
	// set are the options set, in order, for connections accepted from a
	// listener to inherit, as TCP's do.
	set    []optSet
	parent *optState // the listener's, for an accepted connection
}

type optSet struct {
	level, name int32
	val         []byte
}

// twinOf returns s's twin socket, making it if needed.
func (o *optState) twinOf(s *sock) (int, unix.Errno) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.twin >= 0 {
		return o.twin, 0
	}
	fd, err := unix.Socket(s.family, s.typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, s.proto)
	if err != nil {
		return -1, errnoOf(err)
	}
	if o.parent != nil {
		o.parent.mu.Lock()
		inherited := append([]optSet(nil), o.parent.set...)
		o.parent.mu.Unlock()
		for _, v := range inherited {
			setsockopt(fd, v.level, v.name, v.val, int32(len(v.val)))
		}
		o.set = inherited
		// An accepted TCP socket takes these from the client's SYN:
		// loopback's hop limit and interface.
		if s.family == unix.AF_INET {
			unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_MULTICAST_TTL, 64)
		} else {
			unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_MULTICAST_HOPS, 64)
			unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_MULTICAST_IF, 1)
		}
	}
	o.twin = fd
	return fd, 0
}

// take hands the twin over (to become the real socket): the caller owns
// it, and s gets a new one if it needs one again.
func (o *optState) take(s *sock) (int, unix.Errno) {
	fd, e := o.twinOf(s)
	if e != 0 {
		return -1, e
	}
	o.mu.Lock()
	o.twin = -1
	o.mu.Unlock()
	return fd, 0
}

// give returns a twin taken with take that did not become a real socket.
func (o *optState) give(fd int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.twin >= 0 {
		unix.Close(fd)
		return
	}
	o.twin = fd
}

func (o *optState) close() {
	o.mu.Lock()
	if o.twin >= 0 {
		unix.Close(o.twin)
		o.twin = -1
	}
	o.mu.Unlock()
}

// setsockopt: on a plastic socket, the option is set on its twin, so the
// kernel validates it and the program gets the kernel's answer. The
// buffer sizes are set on the Unix socket too, which carries the data;
// IPV6_V6ONLY decides whether an IPv6 wildcard listener also takes IPv4
// clients, and SO_REUSEPORT lets sockets share a listener.
func (p *Policy) setsockopt(c *supervise.Call, set *Settings) supervise.Result {
	t, ok := p.plastic(c, set, c.Int(0))
	if !ok {
		return t.r
	}
	defer t.close()
	s := t.s
	level, name, n := c.Int(1), c.Int(2), c.Int(4)
	var val []byte
	if n > 0 {
		var err error
		if val, err = c.Read(c.Arg(3), int(min(n, 64<<10))); err != nil {
			return supervise.Fail(unix.EFAULT)
		}
	}
	if !c.Valid() {
		return supervise.Fail(unix.EINTR)
	}
	if level == solIPv6 && name == unix.IPV6_V6ONLY {
		p.mu.Lock()
		bound := s.bound
		p.mu.Unlock()
		if bound {
			return supervise.Fail(unix.EINVAL) // as on a bound TCP socket
		}
	}
	twin, e := s.opts.twinOf(s)
	if e != 0 {
		return supervise.Fail(e)
	}
	if e := setsockopt(twin, level, name, val, n); e != 0 {
		return supervise.Fail(e)
	}
	if level == unix.SOL_SOCKET {
		switch name {
		case unix.SO_RCVBUF, unix.SO_SNDBUF, unix.SO_RCVBUFFORCE, unix.SO_SNDBUFFORCE:
			setsockopt(t.dup, level, name, val, n)
		}
	}
	s.opts.mu.Lock()
	s.opts.set = append(s.opts.set, optSet{level, name, val})
	s.opts.mu.Unlock()
	p.mu.Lock()
	switch {
	case level == solIPv6 && name == unix.IPV6_V6ONLY:
		s.v6only = sockoptBool(twin, unix.SOL_IPV6, unix.IPV6_V6ONLY)
	case level == unix.SOL_SOCKET && name == unix.SO_REUSEPORT:
		s.reusePort = sockoptBool(twin, unix.SOL_SOCKET, unix.SO_REUSEPORT)
	}
	p.mu.Unlock()
	return supervise.Return(0)
}

// getsockopt: the twin's answer, as the kernel gives it (value, length,
// errno), except where it depends on the connection: a connected or
// listening plastic socket reports what a TCP socket in that state on
// loopback would (see stateOpt).
func (p *Policy) getsockopt(c *supervise.Call, set *Settings) supervise.Result {
	t, ok := p.plastic(c, set, c.Int(0))
	if !ok {
		return t.r
	}
	defer t.close()
	s := t.s
	level, name := c.Int(1), c.Int(2)
	n, err := c.ReadInt32(c.Arg(4))
	if err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	if n < 0 {
		return supervise.Fail(unix.EINVAL)
	}
	twin, e := s.opts.twinOf(s)
	if e != 0 {
		return supervise.Fail(e)
	}
	val, l, e := getsockopt(twin, level, name, int(min(n, 64<<10)))
	if e == 0 || e == unix.ENOTCONN {
		p.mu.Lock()
		st := s.state()
		p.mu.Unlock()
		if v, ok := stateOpt(s, st, twin, level, name, val, e); ok {
			val, l, e = v[:min(len(v), int(n))], len(v), 0
			if level == solTCP && name == unix.TCP_INFO {
				l = len(val) // TCP_INFO reports what it copied
			}
		}
	}
	if e != 0 {
		return supervise.Fail(e)
	}
	if len(val) > 0 && c.Arg(3) == 0 {
		return supervise.Fail(unix.EFAULT)
	}
	if err := c.WriteAddr(c.Arg(3), val, c.Arg(4), int32(l)); err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	return supervise.Return(0)
}

// connState is the TCP state a plastic socket stands for.
type connState uint8

const (
	stClosed connState = iota
	stListen
	stEstablished
)

// state is s's connection state. Hold p.mu.
func (s *sock) state() connState {
	switch {
	case s.listening:
		return stListen
	case s.connected:
		return stEstablished
	}
	return stClosed
}

// What a TCP connection over loopback (MTU 65536) reports in Linux,
// measured on Linux 6.18: a client's MSS is bounded by half the peer's
// initial window until data flows, and an IPv4 socket's path MTU is one
// less than the interface's.
const (
	loopbackMTU     = 65536
	loopbackMTU4    = 65535 // IP_MTU and tcpi_pmtu on an IPv4 connection
	clientMSS4      = 32741
	clientMSS6      = 32732
	acceptedMSS     = 32768
	loopbackAdvMSS4 = 65483
	loopbackAdvMSS6 = 65464
	windowClamp     = 65536
	ipv6AddrForm    = unix.AF_INET6
)

// stateOpt returns the value an option has on a TCP or UDP socket in state
// st (connected, listening) where the unconnected twin cannot know it;
// val and e are the twin's answer.
func stateOpt(s *sock, st connState, twin int, level, name int32, val []byte, e unix.Errno) ([]byte, bool) {
	if st == stClosed {
		return nil, false
	}
	conn := st == stEstablished
	switch {
	case level == unix.SOL_SOCKET && name == unix.SO_PEERNAME && conn:
		return inet.AppendSockaddr(nil, s.family, s.peer), true
	case level == solIP && name == unix.IP_MTU && conn:
		if s.family == unix.AF_INET {
			return intOpt(loopbackMTU4), true
		}
		return intOpt(loopbackMTU), true
	case level == solIPv6 && name == unix.IPV6_MTU && conn:
		return intOpt(loopbackMTU), true
	case level == solIPv6 && name == unix.IPV6_PATHMTU && conn:
		// struct ip6_mtuinfo: the peer's sockaddr_in6, then the MTU.
		b := make([]byte, 32)
		copy(b, inet.AppendSockaddr(nil, unix.AF_INET6, s.peer))
		binary.NativeEndian.PutUint32(b[28:], loopbackMTU)
		return b, true
	case level == solIPv6 && name == unix.IPV6_ADDRFORM && conn:
		return intOpt(ipv6AddrForm), true
	case level == solTCP && name == unix.TCP_WINDOW_CLAMP && conn && e == 0 && s.typ == unix.SOCK_STREAM:
		if binary.NativeEndian.Uint32(val) == 0 {
			return intOpt(windowClamp), true
		}
	case level == solTCP && name == unix.TCP_MAXSEG && conn && e == 0:
		return intOpt(int32(s.mss())), true
	case level == solTCP && name == unix.TCP_INFO && e == 0:
		full, _, e := getsockopt(twin, solTCP, unix.TCP_INFO, 512)
		if e != 0 {
			return nil, false
		}
		return tcpInfo(s, full, st), true
	}
	return nil, false
}

// mss is the MSS of a connected plastic stream socket: loopback's, or
// less if the program asked for less before it connected.
func (s *sock) mss() int {
	mss := clientMSS4
	switch {
	case s.accepted:
		mss = acceptedMSS
	case s.family == unix.AF_INET6 && !s.peer.Addr().Is4():
		mss = clientMSS6
	}
	if user, ok := userMSS(s); ok && user < mss {
		mss = user
	}
	return mss
}

// userMSS is the TCP_MAXSEG the program set, if it did.
func userMSS(s *sock) (int, bool) {
	s.opts.mu.Lock()
	defer s.opts.mu.Unlock()
	for i := len(s.opts.set) - 1; i >= 0; i-- {
		if v := s.opts.set[i]; v.level == solTCP && v.name == unix.TCP_MAXSEG && len(v.val) >= 4 {
			if m := int(int32(binary.NativeEndian.Uint32(v.val))); m > 0 {
				return m, true
			}
		}
	}
	return 0, false
}

// tcpInfo fills a struct tcp_info (as the twin's kernel lays it out) for a
// plastic socket in state st, with what an idle loopback TCP connection or
// listener reports. Counters of traffic stay zero: the data goes through a
// Unix socket, which keeps none of them.
func tcpInfo(s *sock, b []byte, st connState) []byte {
	b = append([]byte(nil), b...)
	put32 := func(off int, v uint32) {
		if off+4 <= len(b) {
			binary.NativeEndian.PutUint32(b[off:], v)
		}
	}
	const (
		tcpEstablished = 1
		tcpListen      = 10
		optTS          = 1
		optSACK        = 2
		optWScale      = 4
	)
	if st == stListen {
		b[0] = tcpListen
		put32(24, 0)                 // unacked: the accept queue (not counted)
		put32(28, uint32(s.backlog)) // sacked: the backlog
		put32(76, 0)                 // snd_ssthresh
		return b
	}
	v4 := s.family == unix.AF_INET || s.peer.Addr().Is4()
	b[0] = tcpEstablished
	b[1] = 0                           // ca_state: open
	b[5] = optTS | optSACK | optWScale // options
	b[6] = 10 | 10<<4                  // snd_wscale, rcv_wscale
	put32(16, uint32(s.mss()))         // snd_mss
	put32(20, 536)                     // rcv_mss, before data arrives
	if v4 && s.family == unix.AF_INET {
		put32(60, loopbackMTU4) // pmtu
	} else {
		put32(60, loopbackMTU)
	}
	if v4 {
		put32(84, loopbackAdvMSS4) // advmss
	} else {
		put32(84, loopbackAdvMSS6)
	}
	return b
}

func intOpt(v int32) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, uint32(v))
	return b
}

// sockoptBool reads a boolean socket option of fd.
func sockoptBool(fd, level, name int) bool {
	v, err := unix.GetsockoptInt(fd, level, name)
	return err == nil && v != 0
}

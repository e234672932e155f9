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
	// inherited: an accepted connection's set starts with its listener's.
	inherited bool
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
	if o.parent != nil && !o.inherited {
		o.parent.mu.Lock()
		o.set = append(append([]optSet(nil), o.parent.set...), o.set...)
		o.parent.mu.Unlock()
		o.inherited = true
	}
	// A twin made again (the last became a real socket, or tried to)
	// gets the options the program set.
	for _, v := range o.set {
		setsockopt(fd, v.level, v.name, v.val, int32(len(v.val)))
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

func (o *optState) close() {
	o.mu.Lock()
	if o.twin >= 0 {
		unix.Close(o.twin)
		o.twin = -1
	}
	o.mu.Unlock()
}

// setsockopt: on a plastic socket, the option is set on its twin, so the
// kernel validates it and the program gets the kernel's answer (checks
// that depend on a connection's state, which the twin lacks, are made
// here). The buffer sizes are set on the Unix socket too, which carries
// the data; IPV6_V6ONLY decides whether an IPv6 wildcard listener also
// takes IPv4 clients, and SO_REUSEPORT lets sockets share a listener.
func (p *Policy) setsockopt(c *supervise.Call, set *Settings) supervise.Result {
	t, ok := p.plastic(c, set, c.Int(0))
	if !ok {
		return t.r
	}
	defer t.close()
	s := t.s
	level, name, n := c.Int(1), c.Int(2), c.Int(4)
	ptr := c.Arg(3)
	var val []byte
	bad := false
	if n > 0 && ptr != 0 {
		var err error
		if val, err = c.Read(ptr, int(min(n, 64<<10))); err != nil {
			val, bad = nil, true
		}
	}
	if !c.Valid() {
		return supervise.Fail(unix.EINTR)
	}
	p.mu.Lock()
	st, bound := s.state(), s.bound
	p.mu.Unlock()
	if e := stateSetErr(s, st, bound, level, name, val); e != 0 {
		return supervise.Fail(e)
	}
	twin, e := s.opts.twinOf(s)
	if e != 0 {
		return supervise.Fail(e)
	}
	if bad {
		// The kernel's answer to an unreadable value, from a pointer that
		// is unreadable here too.
		return supervise.Fail(setsockoptPtr(twin, level, name, badPage(), n))
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
	s.opts.remember(level, name, val)
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

// remember notes an option set on the twin, for accepted connections to
// inherit.
func (o *optState) remember(level, name int32, val []byte) {
	o.mu.Lock()
	o.set = append(o.set, optSet{level, name, val})
	o.mu.Unlock()
}

// stateSetErr is the errno TCP gives for setting an option on a socket in
// state st, where a closed socket (the twin) would take it.
func stateSetErr(s *sock, st connState, bound bool, level, name int32, val []byte) unix.Errno {
	if level == solIPv6 && name == unix.IPV6_V6ONLY && s.family == unix.AF_INET6 && bound {
		return unix.EINVAL
	}
	if level != solTCP || s.typ != unix.SOCK_STREAM || st == stClosed {
		return 0
	}
	v := int32(-1)
	if len(val) >= 4 {
		v = int32(binary.NativeEndian.Uint32(val))
	}
	switch name {
	case unix.TCP_WINDOW_CLAMP:
		if v == 0 {
			return unix.EINVAL
		}
	case unix.TCP_FASTOPEN, unix.TCP_FASTOPEN_NO_COOKIE:
		if st == stEstablished {
			return unix.EINVAL
		}
	case unix.TCP_FASTOPEN_CONNECT:
		return unix.EINVAL
	case unix.TCP_REPAIR:
		if st == stListen {
			return unix.EPERM
		}
	case unix.TCP_QUEUE_SEQ:
		return unix.EPERM
	}
	return 0
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
	twin, e := s.opts.twinOf(s)
	if e != 0 {
		return supervise.Fail(e)
	}
	n, err := c.ReadInt32(c.Arg(4))
	if err != nil {
		// The kernel's answer to an unreadable optlen.
		return supervise.Fail(getsockoptErr(twin, level, name, c.Arg(3) != 0))
	}
	if n >= 0 && c.Arg(3) == 0 {
		// A NULL value: what the kernel makes of it, with the length it
		// would store.
		l, e := getsockoptNull(twin, level, name, n)
		if e != 0 {
			return supervise.Fail(e)
		}
		if err := c.WriteInt32(c.Arg(4), l); err != nil {
			return supervise.Fail(unix.EFAULT)
		}
		return supervise.Return(0)
	}
	val, l, e := getsockopt(twin, level, name, int(n))
	p.mu.Lock()
	st := s.state()
	p.mu.Unlock()
	if a, ok := stateOpt(s, st, twin, level, name, val, e); ok {
		val, l, e = a.fit(level, n)
	}
	if e != 0 {
		return supervise.Fail(e)
	}
	if err := c.WriteAddr(c.Arg(3), val, c.Arg(4), int32(l)); err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	return supervise.Return(0)
}

// answer is a synthesized option value, and how the kernel fits it to the
// caller's buffer.
type answer struct {
	val  []byte
	kind fitKind
	err  unix.Errno
}

type fitKind uint8

const (
	fitInt    fitKind = iota // an int: min(len, 4) bytes (IP: 1 byte for small values)
	fitExact                 // a struct the caller gets whole or EINVAL
	fitPrefix                // as much as fits, the length copied (SO_PEERNAME: EINVAL if more is asked)
	fitCopied                // as much as fits, the length copied (TCP_INFO)
)

// fit applies the kernel's length rules for an option at level to a
// caller's buffer of n bytes.
func (a answer) fit(level, n int32) ([]byte, int, unix.Errno) {
	if a.err != 0 {
		return nil, 0, a.err
	}
	if n < 0 {
		return nil, 0, unix.EINVAL
	}
	switch a.kind {
	case fitInt:
		v := int32(binary.NativeEndian.Uint32(a.val))
		if level == solIP && n > 0 && n < 4 && v >= 0 && v <= 255 {
			return a.val[:1], 1, 0
		}
		l := min(int(n), 4)
		return a.val[:l], l, 0
	case fitExact:
		if int(n) < len(a.val) {
			return nil, 0, unix.EINVAL
		}
		return a.val, len(a.val), 0
	case fitPrefix:
		if int(n) > len(a.val) {
			return nil, 0, unix.EINVAL
		}
		return a.val[:n], int(n), 0
	}
	l := min(int(n), len(a.val))
	return a.val[:l], l, 0
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
	// The send buffer TCP sizes for a new loopback connection (from
	// tcp_wmem and the MSS), unless the program set one.
	connectedSndbuf = 3939840
	tcpAORepair     = 42 // TCP_AO_REPAIR
)

// stateOpt returns the value an option has on a TCP or UDP socket in state
// st (connected, listening) where the unconnected twin cannot know it;
// val and e are the twin's answer.
func stateOpt(s *sock, st connState, twin int, level, name int32, val []byte, e unix.Errno) (answer, bool) {
	conn := st == stEstablished && (e == 0 || e == unix.ENOTCONN)
	stream := s.typ == unix.SOCK_STREAM
	v6 := s.family == unix.AF_INET6
	switch {
	case level == solIP && name == unix.IP_PROTOCOL && e == 0 && s.bound:
		// The kernel answers with the socket's local port.
		return answer{val: intOpt(int32(s.local.Port()))}, true
	case st == stClosed:
	case level == unix.SOL_SOCKET && name == unix.SO_PEERNAME && st == stEstablished:
		return answer{val: inet.AppendSockaddr(nil, s.family, s.peer), kind: fitPrefix}, true
	case level == unix.SOL_SOCKET && (name == unix.SO_SNDBUF || name == unix.SO_MEMINFO) && conn && stream && e == 0 && !s.opts.isSet(unix.SOL_SOCKET, unix.SO_SNDBUF):
		if name == unix.SO_SNDBUF {
			return answer{val: intOpt(connectedSndbuf)}, true
		}
		full, _, e := getsockopt(twin, unix.SOL_SOCKET, unix.SO_MEMINFO, 64)
		if e != 0 || len(full) < 16 {
			return answer{}, false
		}
		binary.NativeEndian.PutUint32(full[12:], connectedSndbuf) // SK_MEMINFO_SNDBUF
		return answer{val: full, kind: fitCopied}, true
	case level == solIP && name == unix.IP_MTU && conn:
		if s.family == unix.AF_INET {
			return answer{val: intOpt(loopbackMTU4)}, true
		}
		return answer{val: intOpt(loopbackMTU)}, true
	case level == solIPv6 && name == unix.IPV6_MTU && conn && v6:
		return answer{val: intOpt(loopbackMTU)}, true
	case level == solIPv6 && name == unix.IPV6_PATHMTU && conn && v6:
		// struct ip6_mtuinfo, of which Linux fills only the MTU.
		b := make([]byte, 32)
		binary.NativeEndian.PutUint32(b[28:], loopbackMTU)
		return answer{val: b, kind: fitExact}, true
	case level == solIPv6 && name == unix.IPV6_ADDRFORM && conn && v6:
		return answer{val: intOpt(ipv6AddrForm)}, true
	case level == solTCP && name == unix.TCP_WINDOW_CLAMP && conn && e == 0 && stream:
		if binary.NativeEndian.Uint32(val) == 0 {
			return answer{val: intOpt(windowClamp)}, true
		}
	case level == solTCP && name == unix.TCP_MAXSEG && conn && e == 0:
		return answer{val: intOpt(int32(s.mss()))}, true
	case level == solTCP && name == unix.TCP_ZEROCOPY_RECEIVE && st == stListen && e == 0:
		return answer{err: unix.ENOTCONN}, true
	case level == solTCP && name == tcpAORepair && st == stListen && stream:
		return answer{err: unix.EPERM}, true
	case s.accepted && (level == solIP && name == unix.IP_MULTICAST_TTL && !v6 || level == solIPv6 && name == unix.IPV6_MULTICAST_HOPS) && e == 0:
		// An accepted TCP socket takes these from the client's SYN, as
		// it came over loopback (TCP refuses to set them).
		return answer{val: intOpt(64)}, true
	case s.accepted && level == solIPv6 && name == unix.IPV6_MULTICAST_IF && e == 0:
		return answer{val: intOpt(1)}, true
	case level == solTCP && name == unix.TCP_INFO && e == 0:
		full, _, e := getsockopt(twin, solTCP, unix.TCP_INFO, 512)
		if e != 0 {
			return answer{}, false
		}
		return answer{val: tcpInfo(s, full, st), kind: fitCopied}, true
	}
	return answer{}, false
}

// isSet reports whether the program set option (level, name).
func (o *optState) isSet(level, name int32) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, v := range o.set {
		if v.level == level && v.name == name {
			return true
		}
	}
	return false
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
	if s.mssLimit > 0 && s.mssLimit < mss {
		mss = s.mssLimit
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
		b[7] = 0                     // not app-limited
		put32(16, 0)                 // snd_mss
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

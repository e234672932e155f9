package noip

import (
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"noip/internal/config"
	"noip/internal/inet"
	"noip/internal/sockdir"
	"noip/internal/supervise"
)

// A plastic datagram socket is a Unix datagram socket with an endpoint
// file in the udp/ subdirectory of the socket directory, given at bind, or
// by noip before the socket first sends or connects (so that replies find
// it). Datagrams sent to an address pass through noip, which finds the
// endpoint (the address's, else its wildcard's) and sends them from the
// program's own socket, so the receiver sees the sender's endpoint; one
// to an address nobody serves is dropped, as UDP drops it. Datagrams
// received with an address pass through noip too, which reports the
// sender's Internet address and the control messages the program asked
// for. send, write, recv and read on a connected socket go straight to the
// kernel.

// dgram is the state of a plastic datagram socket.
type dgram struct {
	// lastDst is where it last sent a datagram through noip: what a
	// wildcard receiver reports as the dialled address (IP_PKTINFO).
	lastDst netip.AddrPort
	// lastRecv is when noip last gave the program a datagram: SIOCGSTAMP.
	lastRecv time.Time
}

// connectDgram connects a plastic datagram socket: to the endpoint of ap,
// or, when nobody serves ap yet, to a socket of noip's that drops what it
// gets, so that send() works as UDP's does. A rule may make the socket a
// real one first.
func (p *Policy) connectDgram(c *supervise.Call, set *Settings, s *sock, dup int, ap netip.AddrPort, v config.Verdict) supervise.Result {
	if set.DirErr != nil {
		return supervise.Fail(unix.EACCES).WithNote(note(set, "connect %v: %v", ap, set.DirErr))
	}
	ap = reportable(ap, s.family)
	if ap.Port() == 0 {
		// UDP takes port 0 for no peer: the socket ends up unconnected,
		// but bound with the source address the route gives (glibc's
		// getaddrinfo sorts addresses this way, and checks the answer).
		if e := p.nameDgram(s, dup, set, ap); e != 0 {
			return supervise.Fail(e)
		}
		return p.disconnectDgram(s, dup)
	}
	if e := dgramDest(ap, dup); e != 0 {
		return supervise.Fail(e)
	}
	if e := p.nameDgram(s, dup, set, ap); e != 0 {
		return supervise.Fail(e)
	}
	target := ""
	for _, path := range p.dgramPaths(set, ap) {
		if err := unix.Connect(dup, &unix.SockaddrUnix{Name: path}); err == nil {
			target = path
			break
		}
	}
	if target == "" {
		void, err := p.void()
		if err != nil {
			return supervise.Fail(errnoOf(err))
		}
		if err := unix.Connect(dup, &unix.SockaddrUnix{Name: void}); err != nil {
			return supervise.Fail(errnoOf(err))
		}
		target = "nowhere (nobody serves it yet)"
	}
	p.mu.Lock()
	s.connected, s.connectSeen, s.peer = true, true, ap
	p.mu.Unlock()
	return supervise.Return(0).WithNote(note(set, "connect %v: plastic datagrams to %s (%v)", ap, target, v))
}

// disconnectDgram dissolves a plastic datagram socket's association, as
// connect(AF_UNSPEC) does UDP's.
func (p *Policy) disconnectDgram(s *sock, dup int) supervise.Result {
	if err := sockdir.ConnectUnspec(dup); err != nil {
		return supervise.Fail(errnoOf(err))
	}
	p.mu.Lock()
	s.connected, s.peer = false, netip.AddrPort{}
	if s.bound && !s.bindSeen {
		// Its source address goes, as a UDP socket's that was not bound.
		s.local = netip.AddrPortFrom(inet.Unspecified(s.family), s.local.Port())
	}
	p.mu.Unlock()
	return supervise.Return(0)
}

// dgramDest checks a datagram destination as UDP does: port 0 is EINVAL,
// a broadcast address needs SO_BROADCAST (EACCES).
func dgramDest(ap netip.AddrPort, dup int) unix.Errno {
	a := ap.Addr().Unmap()
	if a.Is4() && (a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || a == netip.AddrFrom4([4]byte{127, 255, 255, 255})) &&
		!sockoptBool(dup, unix.SOL_SOCKET, unix.SO_BROADCAST) {
		return unix.EACCES
	}
	return 0
}

// dgramPaths are the endpoint files a datagram to ap may go to, in order:
// ap's, then its family's wildcard (an IPv4 one also reaching a dual-stack
// IPv6 wildcard, whose file links it).
func (p *Policy) dgramPaths(set *Settings, ap netip.AddrPort) []string {
	paths := []string{set.Dir.SockPath(endpointName(unix.SOCK_DGRAM, ap))}
	if w := inet.Wildcard(ap); w != inet.Unmap(ap) {
		paths = append(paths, set.Dir.SockPath(endpointName(unix.SOCK_DGRAM, w)))
	}
	return paths
}

// nameDgram gives an unbound plastic datagram socket its endpoint, as the
// kernel binds a UDP socket that sends or connects: the address impbind
// says for the destination (else loopback) and a free port.
func (p *Policy) nameDgram(s *sock, dup int, set *Settings, dst netip.AddrPort) unix.Errno {
	addr, _ := p.impbind(set, dst.Addr().Unmap())
	addr = addr.Unmap()
	if s.family == inet.AF_INET && !addr.Is4() {
		addr = inet.Loopback(inet.AF_INET)
	}
	p.mu.Lock()
	bound, implicit := s.bound, s.bound && !s.bindSeen
	if implicit {
		// A socket noip bound reports, as UDP's, the source address for
		// its current destination (glibc's getaddrinfo sorts addresses
		// by it, reusing one socket for IPv6 and IPv4 ones).
		s.local = netip.AddrPortFrom(addr, s.local.Port())
	}
	p.mu.Unlock()
	if !bound {
		if e, _ := p.reserve(s, set, netip.AddrPortFrom(addr, 0), false); e != 0 {
			return e
		}
	}
	return p.materialize(s, dup, false)
}

// void returns the name of noip's socket that takes datagrams for
// addresses nobody serves, and drops them.
func (p *Policy) void() (string, error) {
	p.voidOnce.Do(func() {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			p.voidErr = err
			return
		}
		name := fmt.Sprintf("\x00noip/%016x/void", mrand.Uint64())
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
			unix.Close(fd)
			p.voidErr = err
			return
		}
		p.voidName = name
		go drain(fd)
	})
	return p.voidName, p.voidErr
}

// drain reads and drops every datagram fd receives, closing any fds that
// come with them.
func drain(fd int) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, 4096)
	for {
		_, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != nil && err != unix.EINTR {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		closeRights(oob[:oobn])
	}
}

// closeRights closes the fds an SCM_RIGHTS message brought in.
func closeRights(oob []byte) {
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		if fds, err := unix.ParseUnixRights(&m); err == nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}
}

// sendReq is a send with an address the filter brought here.
type sendReq struct {
	data    []byte
	name    []byte // the destination, as the program passed it
	hasName bool
	ctrl    []byte
	flags   int32
}

// sendto: with an address (or MSG_FASTOPEN), see send.
func (p *Policy) sendto(c *supervise.Call, set *Settings) supervise.Result {
	t := p.lookupGuarded(c, set, c.Int(0), sendtoGuard)
	if t.kind == kindOther {
		return t.r
	}
	req := sendReq{flags: c.Int(3), hasName: c.Arg(4) != 0}
	if req.hasName {
		b, e := readSockaddr(c, c.Arg(4), c.Int(5))
		if e != 0 {
			t.close()
			return supervise.Fail(e)
		}
		req.name = b
	}
	n := c.Arg(2)
	if int64(n) < 0 {
		t.close()
		return supervise.Fail(unix.EINVAL)
	}
	if n > 0 {
		b, err := c.Read(c.Arg(1), int(min(n, maxDatagram+1)))
		if err != nil {
			t.close()
			return supervise.Fail(unix.EFAULT)
		}
		req.data = b
	}
	if !c.Valid() {
		t.close()
		return supervise.Fail(unix.EINTR)
	}
	return p.send(c, set, &t, req, int(n))
}

// maxDatagram is the most a UDP datagram can carry (IPv6's limit; IPv4's
// is 28 bytes less), and the most noip copies of one send.
const maxDatagram = 65527

// sendmsg: see send.
func (p *Policy) sendmsg(c *supervise.Call, set *Settings) supervise.Result {
	t := p.lookupGuarded(c, set, c.Int(0), sendmsgGuard)
	if t.kind == kindOther {
		return t.r
	}
	req, total, e := readSendMsg(c, c.Arg(1), c.Int(2))
	if e != 0 {
		t.close()
		return supervise.Fail(e)
	}
	if !req.hasName && t.kind == kindPlastic && t.s.typ == unix.SOCK_STREAM && req.flags&unix.MSG_FASTOPEN == 0 {
		p.mu.Lock()
		connected := t.s.connected
		p.mu.Unlock()
		if !connected {
			t.close()
			p.sigpipe(c, req.flags)
			return supervise.Fail(unix.EPIPE) // TCP's answer; a Unix socket's is ENOTCONN
		}
	}
	if !req.hasName && t.kind == kindPlastic && t.s.typ == unix.SOCK_STREAM && req.flags&unix.MSG_FASTOPEN == 0 ||
		!req.hasName && t.kind == kindReal && t.s.typ == unix.SOCK_STREAM && req.flags&unix.MSG_FASTOPEN == 0 {
		// No address: the connection the socket has, which noip already
		// decided (send and write are not even intercepted). Stream data
		// never passes through noip.
		t.close()
		return supervise.Continue()
	}
	if !c.Valid() {
		t.close()
		return supervise.Fail(unix.EINTR)
	}
	return p.send(c, set, &t, req, total)
}

// readSendMsg reads a struct msghdr at ptr and what it points to.
func readSendMsg(c *supervise.Call, ptr uint64, flags int32) (sendReq, int, unix.Errno) {
	b, err := c.Read(ptr, sizeofMsghdr)
	if err != nil {
		return sendReq{}, 0, unix.EFAULT
	}
	mh := parseMsghdr(b)
	req := sendReq{flags: flags}
	if mh.name != 0 && mh.namelen != 0 {
		nb, e := readSockaddr(c, mh.name, int32(mh.namelen))
		if e != 0 {
			return req, 0, e
		}
		req.name, req.hasName = nb, true
	}
	if mh.controllen > 0 {
		if mh.controllen > 1<<31-1 {
			return req, 0, unix.ENOBUFS
		}
		cb, err := c.Read(mh.control, int(min(mh.controllen, 64<<10)))
		if err != nil {
			return req, 0, unix.EFAULT
		}
		req.ctrl = cb
	}
	iovs, e := readIovecs(c, mh.iov, mh.iovlen)
	if e != 0 {
		return req, 0, e
	}
	total := iovTotal(iovs)
	data, e := gather(c, iovs, maxDatagram+1)
	if e != 0 {
		return req, 0, e
	}
	req.data = data
	return req, int(min(total, 1<<31-1)), 0
}

// sendmmsg: each message as sendmsg, until one fails; the count sent, or
// the first one's error.
func (p *Policy) sendmmsg(c *supervise.Call, set *Settings) supervise.Result {
	t := p.lookupGuarded(c, set, c.Int(0), sendmmsgGuard)
	if t.kind == kindOther {
		return t.r
	}
	defer t.close()
	vlen := min(uint32(c.Int(2)), uioMaxIov)
	sent := 0
	for i := range vlen {
		hdr := c.Arg(1) + uint64(i)*sizeofMmsghdr
		req, total, e := readSendMsg(c, hdr, c.Int(3))
		if e == 0 && !c.Valid() {
			return supervise.Fail(unix.EINTR)
		}
		var n int
		if e == 0 {
			n, e = p.sendOne(c, set, &t, req, total, false)
		}
		if e != 0 {
			if sent == 0 {
				return supervise.Fail(e)
			}
			break
		}
		if err := c.WriteInt32(hdr+sizeofMsghdr, int32(n)); err != nil {
			if sent == 0 {
				return supervise.Fail(unix.EFAULT)
			}
			break
		}
		sent++
	}
	return supervise.Return(int64(sent))
}

// send: a send with an address is decided per destination, on plastic and
// real sockets alike. realconnect allows it: noip sends it for real (from
// the program's socket, or from its twin, which the socket then becomes).
// Else it is a plastic datagram (see the top of the file); a stream socket
// ignores the address, as TCP does, except with MSG_FASTOPEN, which
// connects first. noip always sends itself, from its duplicate of the
// program's socket and with the address it checked. total is the length
// the program passed.
func (p *Policy) send(c *supervise.Call, set *Settings, t *target, req sendReq, total int) supervise.Result {
	n, e := p.sendOne(c, set, t, req, total, true)
	if e == unix.EAGAIN && !nonblocking(t.dup, req.flags) {
		// The receiver's queue is full; UDP would drop the datagram, a
		// Unix socket makes the sender wait: so does noip, off the loop.
		tt := *t
		t.dup = -1
		return c.Go(func() supervise.Result {
			defer tt.close()
			delay := 100 * time.Microsecond
			for c.Valid() {
				time.Sleep(delay)
				delay = min(2*delay, 20*time.Millisecond)
				n, e := p.sendOne(c, set, &tt, req, total, true)
				if e != unix.EAGAIN {
					if e != 0 {
						return supervise.Fail(e)
					}
					return supervise.Return(int64(n))
				}
			}
			return supervise.Fail(unix.EINTR)
		})
	}
	t.close()
	if e != 0 {
		return supervise.Fail(e)
	}
	return supervise.Return(int64(n))
}

func nonblocking(fd int, flags int32) bool {
	if flags&unix.MSG_DONTWAIT != 0 {
		return true
	}
	fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	return fl&unix.O_NONBLOCK != 0
}

// sendOne does the work of send once, without waiting. swap says the
// socket may become real (not for the later messages of a sendmmsg).
func (p *Policy) sendOne(c *supervise.Call, set *Settings, t *target, req sendReq, total int, swap bool) (int, unix.Errno) {
	s := t.s
	var dst netip.AddrPort
	if req.hasName {
		ap, unspec, e := decodeDest(s, req.name)
		if e != 0 {
			return 0, e
		}
		if unspec {
			req.hasName = false
		}
		dst = ap
	}
	if s.typ == unix.SOCK_STREAM {
		return p.sendStream(c, set, t, req, dst)
	}
	if req.flags&unix.MSG_OOB != 0 && s.family == unix.AF_INET {
		return 0, unix.EOPNOTSUPP // UDP over IPv4 refuses MSG_OOB (IPv6 ignores it)
	}
	if total > maxDatagram || total > maxDatagram-20 && s.family == unix.AF_INET {
		return 0, unix.EMSGSIZE
	}
	if !req.hasName {
		p.mu.Lock()
		connected := s.connected
		p.mu.Unlock()
		if !connected && t.kind == kindPlastic {
			return 0, unix.EDESTADDRREQ
		}
		return sendmsgOn(t.dup, req.data, req.ctrl, nil, req.flags)
	}
	dst = reportable(dst, s.family)
	if e := dgramDest(dst, t.dup); e != 0 {
		return 0, e
	}
	v := p.decide(set, config.OpConnect, dst)
	switch {
	case t.kind == kindReal && v.Allow:
		return sendmsgOn(t.dup, req.data, req.ctrl, sockaddrFor(s.family, dst), req.flags)
	case t.kind == kindReal:
		if _, bound := localAddr(t.dup); bound {
			// Bound for real (a rule allowed it, or it came so): it cannot
			// be plastic too.
			c.Log(note(set, "sendto %v: real socket, plastic destination: dropped (%v)", dst, v))
			return len(req.data), 0
		}
		// An unbound real socket (inherited, received) becomes plastic,
		// as it would for a connect.
		if r, ok := p.plasticTwin(c, set, t); !ok {
			return 0, r.Errno()
		}
		s = t.s
	case v.Allow:
		return p.sendReal(c, set, s, t, req, dst, swap, v)
	}
	if set.DirErr != nil {
		return 0, unix.EACCES
	}
	if dst.Addr().IsMulticast() {
		return len(req.data), 0 // no plastic host is in a multicast group
	}
	if e := p.nameDgram(s, t.dup, set, dst); e != 0 {
		return 0, e
	}
	p.mu.Lock()
	if s.dg != nil {
		s.dg.lastDst = dst
	}
	p.mu.Unlock()
	for _, seg := range segments(req.data, req.ctrl) {
		for _, path := range p.dgramPaths(set, dst) {
			_, e := sendmsgOn(t.dup, seg, nil, &unix.SockaddrUnix{Name: path}, unix.MSG_DONTWAIT)
			switch e {
			case 0:
			case unix.ENOENT, unix.ECONNREFUSED:
				continue // nobody there: the wildcard, else nobody
			case unix.EPERM:
				// The receiver is connected to another: UDP would not
				// deliver it either.
			default:
				return 0, e
			}
			break
		}
	}
	return len(req.data), 0
}

// sendReal sends a datagram a rule lets out for real: from the socket's
// twin, which becomes the program's socket, if the socket has no plastic
// endpoint yet; else it is dropped (a plastic socket cannot be real too).
func (p *Policy) sendReal(c *supervise.Call, set *Settings, s *sock, t *target, req sendReq, dst netip.AddrPort, swap bool, v config.Verdict) (int, unix.Errno) {
	p.mu.Lock()
	pristine := !s.bound && !s.connected && s.named == unnamed
	p.mu.Unlock()
	if !pristine || !swap {
		c.Log(note(set, "sendto %v: %v, but the socket has a plastic endpoint: dropped", dst, v))
		return len(req.data), 0
	}
	fd, err := p.realSocket(s, t.dup)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer unix.Close(fd)
	if err := swapIn(c, fd, t.dup); err != nil {
		return 0, errnoOf(err)
	}
	c.Log(note(set, "sendto %v: %v", dst, v))
	return sendmsgOn(fd, req.data, req.ctrl, sockaddrFor(s.family, dst), req.flags|unix.MSG_DONTWAIT)
}

// sendStream handles a send with an address on a stream socket: TCP
// ignores the address, unless MSG_FASTOPEN asks it to connect first.
func (p *Policy) sendStream(c *supervise.Call, set *Settings, t *target, req sendReq, dst netip.AddrPort) (int, unix.Errno) {
	s := t.s
	fastopen := req.flags&unix.MSG_FASTOPEN != 0
	if t.kind == kindReal {
		if fastopen && req.hasName {
			if v := p.decide(set, config.OpConnect, dst); !v.Allow {
				return 0, unix.ECONNREFUSED // the rules keep it off the network
			}
			return sendmsgOn(t.dup, req.data, req.ctrl, sockaddrFor(s.family, dst), req.flags)
		}
		return sendmsgOn(t.dup, req.data, req.ctrl, nil, req.flags&^unix.MSG_FASTOPEN)
	}
	p.mu.Lock()
	connected := s.connected
	p.mu.Unlock()
	if !connected {
		if !fastopen {
			p.sigpipe(c, req.flags)
			return 0, unix.EPIPE
		}
		if !req.hasName {
			return 0, unix.EINVAL
		}
		if v := p.decide(set, config.OpConnect, dst); v.Allow {
			// Fast Open to an address the rules let out: from the twin,
			// which becomes the program's socket.
			fd, err := p.realSocket(s, t.dup)
			if err != nil {
				return 0, errnoOf(err)
			}
			defer unix.Close(fd)
			if err := swapIn(c, fd, t.dup); err != nil {
				return 0, errnoOf(err)
			}
			return sendmsgOn(fd, req.data, req.ctrl, sockaddrFor(s.family, dst), req.flags)
		}
		r := p.connectPlastic(c, set, s, dupFD(t.dup), dst, p.decide(set, config.OpConnect, dst))
		if e := r.Errno(); e != 0 && e != unix.EINPROGRESS {
			return 0, e
		}
	}
	return sendmsgOn(t.dup, req.data, nil, nil, (req.flags&^unix.MSG_FASTOPEN)|unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
}

// dupFD duplicates fd for a callee that closes what it is given.
func dupFD(fd int) int {
	n, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return n
}

// sigpipe raises SIGPIPE in the calling thread, as a send on a broken
// stream does, unless the program passed MSG_NOSIGNAL.
func (p *Policy) sigpipe(c *supervise.Call, flags int32) {
	if flags&unix.MSG_NOSIGNAL != 0 {
		return
	}
	if pr := c.Process(); pr != nil {
		unix.Tgkill(pr.Pid, c.Tid(), unix.SIGPIPE)
	}
}

// segments splits a datagram the program asked UDP to segment (a
// UDP_SEGMENT control message: generic segmentation offload) into the
// datagrams UDP would send.
func segments(data, ctrl []byte) [][]byte {
	msgs, _ := parseCmsgs(ctrl)
	for _, m := range msgs {
		if m.level == solUDP && m.typ == udpSegment && len(m.data) >= 2 {
			size := int(binary.NativeEndian.Uint16(m.data))
			if size <= 0 || size >= len(data) {
				break
			}
			var out [][]byte
			for len(data) > 0 {
				n := min(size, len(data))
				out = append(out, data[:n])
				data = data[n:]
			}
			return out
		}
	}
	return [][]byte{data}
}

const udpSegment = 103 // UDP_SEGMENT

// sendmsgOn sends data on fd, to sa if not nil, with the program's flags.
func sendmsgOn(fd int, data, ctrl []byte, sa unix.Sockaddr, flags int32) (int, unix.Errno) {
	n, err := unix.SendmsgN(fd, data, ctrl, sa, int(flags))
	if err != nil {
		return 0, errnoOf(err)
	}
	return n, 0
}

// decodeDest checks a datagram's destination as the kernel's UDP does:
// an IPv4 socket takes AF_UNSPEC as AF_INET, an IPv6 one takes it as no
// address; other families are EAFNOSUPPORT (IPv4) or EINVAL (IPv6).
func decodeDest(s *sock, b []byte) (ap netip.AddrPort, unspec bool, e unix.Errno) {
	if len(b) < 2 {
		return ap, false, unix.EINVAL
	}
	fam := inet.Family(b)
	if s.typ == unix.SOCK_STREAM {
		if fam == inet.AF_UNSPEC || len(b) < inet.SizeofSockaddrInet4 {
			return ap, true, 0 // TCP ignores it
		}
		a, _, e := decodeFor(s, b, "connect")
		if e != 0 {
			return ap, true, 0
		}
		return a, false, 0
	}
	switch s.family {
	case inet.AF_INET:
		if len(b) < inet.SizeofSockaddrInet4 {
			return ap, false, unix.EINVAL
		}
		if fam != inet.AF_INET && fam != inet.AF_UNSPEC {
			return ap, false, unix.EAFNOSUPPORT
		}
		b = append([]byte{}, b[:inet.SizeofSockaddrInet4]...)
		b[0], b[1] = inet.AF_INET, 0
	case inet.AF_INET6:
		switch fam {
		case inet.AF_UNSPEC:
			return ap, true, 0
		case inet.AF_INET:
			if s.v6only {
				return ap, false, unix.ENETUNREACH
			}
			if len(b) < inet.SizeofSockaddrInet4 {
				return ap, false, unix.EINVAL
			}
			ap, _ = inet.ParseSockaddr(b[:inet.SizeofSockaddrInet4])
			return checkPort(ap)
		case inet.AF_INET6:
		default:
			return ap, false, unix.EINVAL
		}
	}
	a, _, e := decodeFor(s, b, "connect")
	if e != 0 {
		return ap, false, e
	}
	return checkPort(a)
}

func checkPort(ap netip.AddrPort) (netip.AddrPort, bool, unix.Errno) {
	if ap.Port() == 0 {
		return ap, false, unix.EINVAL
	}
	return ap, false, 0
}

// recvReq is a receive the filter brought here, as the program asked it.
type recvReq struct {
	iovs       []iovec
	flags      int32
	namePtr    uint64 // 0: no address wanted
	nameLenPtr uint64 // where the address's length goes
	nameMax    int32
	ctrlPtr    uint64
	ctrlMax    int
	ctrlLenPtr uint64 // msg_controllen, for recvmsg
	flagsPtr   uint64 // msg_flags, for recvmsg
	mmsgLenPtr uint64 // msg_len, for recvmmsg: the call returns 1
	// bad is the errno of an address argument the kernel finds wrong only
	// once it has taken a datagram (which is then lost, as there).
	bad unix.Errno
}

// recvfrom: with an address (or MSG_ERRQUEUE), see recv.
func (p *Policy) recvfrom(c *supervise.Call, set *Settings) supervise.Result {
	t, ok := p.recvTarget(c, set)
	if !ok {
		return t.r
	}
	req := recvReq{flags: c.Int(3), iovs: []iovec{{c.Arg(1), c.Arg(2)}}}
	if int64(c.Arg(2)) < 0 {
		req.iovs[0].len = 1<<31 - 1
	}
	if c.Arg(4) != 0 {
		n, err := c.ReadInt32(c.Arg(5))
		switch {
		case err != nil:
			req.bad = unix.EFAULT
		case n < 0:
			req.bad = unix.EINVAL
		}
		req.namePtr, req.nameLenPtr, req.nameMax = c.Arg(4), c.Arg(5), n
	}
	return p.recv(c, set, t, req)
}

// recvmsg: see recv. Without an address or control messages, a plastic
// stream socket's recvmsg goes to the kernel.
func (p *Policy) recvmsg(c *supervise.Call, set *Settings) supervise.Result {
	t, ok := p.recvTarget(c, set)
	if !ok {
		return t.r
	}
	req, e := readRecvMsg(c, c.Arg(1), c.Int(2))
	if e != 0 {
		t.close()
		return supervise.Fail(e)
	}
	if t.s.typ == unix.SOCK_STREAM && req.flags&unix.MSG_ERRQUEUE == 0 {
		p.mu.Lock()
		connected := t.s.connected
		p.mu.Unlock()
		if !connected {
			t.close()
			return supervise.Fail(unix.ENOTCONN) // TCP's answer; a Unix socket's is EINVAL
		}
		if req.namePtr == 0 {
			t.close()
			return supervise.Continue()
		}
	}
	return p.recv(c, set, t, req)
}

func readRecvMsg(c *supervise.Call, ptr uint64, flags int32) (recvReq, unix.Errno) {
	b, err := c.Read(ptr, sizeofMsghdr)
	if err != nil {
		return recvReq{}, unix.EFAULT
	}
	mh := parseMsghdr(b)
	iovs, e := readIovecs(c, mh.iov, mh.iovlen)
	if e != 0 {
		return recvReq{}, e
	}
	req := recvReq{iovs: iovs, flags: flags, ctrlLenPtr: ptr + 40, flagsPtr: ptr + 48}
	if mh.name != 0 {
		req.namePtr, req.nameLenPtr, req.nameMax = mh.name, ptr+8, int32(mh.namelen)
	}
	if mh.control != 0 && mh.controllen > 0 {
		req.ctrlPtr, req.ctrlMax = mh.control, int(min(mh.controllen, 64<<10))
	}
	return req, 0
}

// recvmmsg: one datagram per call (recvmmsg may return fewer than asked),
// received as recvmsg receives it.
func (p *Policy) recvmmsg(c *supervise.Call, set *Settings) supervise.Result {
	t, ok := p.recvTarget(c, set)
	if !ok {
		return t.r
	}
	if c.Int(2) == 0 {
		t.close()
		return supervise.Return(0)
	}
	req, e := readRecvMsg(c, c.Arg(1), c.Int(3)&^unix.MSG_WAITFORONE)
	if e != 0 {
		t.close()
		return supervise.Fail(e)
	}
	req.mmsgLenPtr = c.Arg(1) + sizeofMsghdr
	return p.recv(c, set, t, req)
}

// recvTarget looks up a receive's socket: only plastic ones are served
// (receiving on a real socket reaches nothing new). A non-dumpable
// process's receive may bring it an fd noip cannot see.
func (p *Policy) recvTarget(c *supervise.Call, set *Settings) (target, bool) {
	t := p.lookup(c, set, c.Int(0))
	switch t.kind {
	case kindPlastic:
		return t, true
	case kindReal:
		t.close()
		t.r = supervise.Continue()
	default:
		if p.stateOf(c).blind {
			p.taint(c)
		}
	}
	return t, false
}

// recv: a receive noip does on the program's behalf: on a plastic
// datagram socket, reporting the sender's Internet address and the
// control messages the program asked for; on a plastic stream socket
// asked for the peer's address, reporting none, as TCP does. noip reads
// what waits without taking it, answers, and takes it only once the
// program has the answer, so that a call interrupted by a signal loses
// nothing. A receive that must wait, waits off the loop (for as long as
// SO_RCVTIMEO says).
func (p *Policy) recv(c *supervise.Call, set *Settings, t target, req recvReq) supervise.Result {
	s, dup := t.s, t.dup
	if req.flags&unix.MSG_ERRQUEUE != 0 {
		unix.Close(dup)
		return supervise.Fail(unix.EAGAIN) // no errors are ever queued
	}
	if !c.Valid() {
		unix.Close(dup)
		return supervise.Fail(unix.EINTR)
	}
	try := func() (supervise.Result, bool) {
		r, again := p.recvOnce(c, s, dup, req)
		if again {
			return supervise.Result{}, false
		}
		return r, true
	}
	if r, done := try(); done {
		r.Delivered = chain(r.Delivered, func() { unix.Close(dup) })
		r.Gone = chain(r.Gone, func() { unix.Close(dup) })
		return r
	}
	if nonblocking(dup, req.flags) {
		unix.Close(dup)
		return supervise.Fail(unix.EAGAIN)
	}
	ready := func() (supervise.Result, bool) {
		r, done := try()
		if done {
			r.Delivered = chain(r.Delivered, func() { unix.Close(dup) })
			r.Gone = chain(r.Gone, func() { unix.Close(dup) })
		}
		return r, done
	}
	gone := func() { unix.Close(dup) }
	if tv, err := unix.GetsockoptTimeval(dup, unix.SOL_SOCKET, unix.SO_RCVTIMEO); err == nil && (tv.Sec != 0 || tv.Usec != 0) {
		deadline := time.Now().Add(time.Duration(tv.Nano()))
		return c.WaitUntil(dup, unix.POLLIN, deadline, ready, gone, func() supervise.Result {
			unix.Close(dup)
			return supervise.Fail(unix.EAGAIN)
		})
	}
	return c.Wait(dup, ready, gone)
}

func chain(a, b func()) func() {
	if a == nil {
		return b
	}
	return func() { a(); b() }
}

// recvOnce looks at what waits on the socket, without waiting, and makes
// the answer; again reports that nothing is there.
func (p *Policy) recvOnce(c *supervise.Call, s *sock, dup int, req recvReq) (r supervise.Result, again bool) {
	want := int(min(iovTotal(req.iovs), 1<<20))
	buf := make([]byte, max(want, 1))
	oob := make([]byte, 1024)
	peek := unix.MSG_PEEK | unix.MSG_DONTWAIT | unix.MSG_CMSG_CLOEXEC
	if s.typ == unix.SOCK_DGRAM {
		peek |= unix.MSG_TRUNC
	}
	n, oobn, fl, from, e := recvmsgRaw(dup, buf[:want], oob, peek)
	closeRights(oob[:oobn])
	switch {
	case e == unix.EAGAIN || e == unix.EINTR:
		return r, true
	case e != 0:
		return supervise.Fail(e), false
	}
	// From here a failure loses the datagram, as the kernel's does.
	fail := func(e unix.Errno) (supervise.Result, bool) {
		if req.flags&unix.MSG_PEEK == 0 {
			consume(dup, s.typ, n, from)
		}
		return supervise.Fail(e), false
	}
	if req.bad != 0 {
		return fail(req.bad)
	}
	got := min(n, want)
	if e := scatter(c, req.iovs, buf[:got]); e != 0 {
		return fail(e)
	}
	ret := got
	outFlags := int32(0)
	if s.typ == unix.SOCK_DGRAM && n > want {
		outFlags |= unix.MSG_TRUNC
		if req.flags&unix.MSG_TRUNC != 0 {
			ret = n
		}
	}
	if req.namePtr != 0 {
		var sa []byte
		if s.typ == unix.SOCK_DGRAM {
			sa = inet.AppendSockaddr(nil, s.family, p.sender(s, from))
		}
		if len(sa) > 0 {
			if err := c.Write(req.namePtr, sa[:min(int(req.nameMax), len(sa))]); err != nil {
				return fail(unix.EFAULT)
			}
		}
		if err := c.WriteInt32(req.nameLenPtr, int32(len(sa))); err != nil {
			return fail(unix.EFAULT)
		}
	}
	if req.ctrlLenPtr != 0 {
		var ctrl []byte
		if s.typ == unix.SOCK_DGRAM {
			ctrl = p.controls(s, from, oob[:oobn])
		}
		out, truncated := fitCmsgs(ctrl, req.ctrlMax)
		if truncated {
			outFlags |= unix.MSG_CTRUNC
		}
		if len(out) > 0 {
			if err := c.Write(req.ctrlPtr, out); err != nil {
				return supervise.Fail(unix.EFAULT), false
			}
		}
		var l [8]byte
		binary.NativeEndian.PutUint64(l[:], uint64(len(out)))
		if err := c.Write(req.ctrlLenPtr, l[:]); err != nil {
			return supervise.Fail(unix.EFAULT), false
		}
		if err := c.WriteInt32(req.flagsPtr, outFlags|int32(fl)&unix.MSG_EOR); err != nil {
			return supervise.Fail(unix.EFAULT), false
		}
	}
	r = supervise.Return(int64(ret))
	if s.dg != nil {
		p.mu.Lock()
		s.dg.lastRecv = time.Now()
		p.mu.Unlock()
	}
	if req.mmsgLenPtr != 0 {
		if err := c.WriteInt32(req.mmsgLenPtr, int32(ret)); err != nil {
			return supervise.Fail(unix.EFAULT), false
		}
		r = supervise.Return(1)
	}
	if req.flags&unix.MSG_PEEK == 0 {
		r.Delivered = func() { consume(dup, s.typ, n, from) }
	}
	return r, false
}

// consume takes off the socket what recvOnce read without taking: the
// datagram, if it is still the first one (another reader may have taken
// it meanwhile), or the n bytes of a stream.
func consume(fd, typ, n int, from []byte) {
	if typ == unix.SOCK_DGRAM {
		var b [1]byte
		m, _, _, f, e := recvmsgRaw(fd, b[:0], nil, unix.MSG_PEEK|unix.MSG_DONTWAIT|unix.MSG_TRUNC)
		if e != 0 || m != n || string(f) != string(from) {
			return
		}
		oob := make([]byte, 1024)
		_, oobn, _, _, _ := recvmsgRaw(fd, b[:0], oob, unix.MSG_DONTWAIT|unix.MSG_TRUNC|unix.MSG_CMSG_CLOEXEC)
		closeRights(oob[:oobn])
		return
	}
	buf := make([]byte, n)
	for len(buf) > 0 {
		m, _, _, _, e := recvmsgRaw(fd, buf, nil, unix.MSG_DONTWAIT)
		if e != 0 || m <= 0 {
			return
		}
		buf = buf[m:]
	}
}

// sender is the Internet address of a datagram's sender, from its Unix
// address: an endpoint file's name (whoever could write to the receiver's
// file can enter the user's private directory), else, for an unnamed
// sender, the loopback address with port 0.
func (p *Policy) sender(s *sock, raw []byte) netip.AddrPort {
	unknown := netip.AddrPortFrom(inet.Loopback(s.family), 0)
	if len(raw) <= 2 {
		return unknown
	}
	path := string(raw[2:])
	if i := strings.IndexByte(path, 0); i > 0 {
		path = path[:i]
	}
	if strings.HasPrefix(path, "\x00") {
		return unknown // abstract: anyone's
	}
	if l, _, ok := inet.ParseUnixName(path); ok {
		if l.Addr().IsUnspecified() {
			// A wildcard-bound sender: the kernel would send from the
			// route's source address, on loopback the loopback address of
			// the family the datagram travelled in: the receiver's, or
			// IPv4 when the sender sent it to an IPv4 address.
			fam := s.family
			if l.Addr().Is4() || s.local.Addr().Unmap().Is4() && !s.local.Addr().IsUnspecified() {
				fam = inet.AF_INET
			} else if o := p.senderSock(s, raw); o != nil {
				p.mu.Lock()
				if o.dg != nil && o.dg.lastDst.Addr().Unmap().Is4() {
					fam = inet.AF_INET
				}
				p.mu.Unlock()
			}
			l = netip.AddrPortFrom(inet.Loopback(fam), l.Port())
		}
		if s.family == inet.AF_INET && !l.Addr().Unmap().Is4() {
			return unknown // an IPv6 sender cannot reach an IPv4 socket
		}
		return l
	}
	return unknown
}

// senderSock is the plastic socket of this supervisor behind a sender's
// Unix address, or nil.
func (p *Policy) senderSock(s *sock, raw []byte) *sock {
	if len(raw) <= 2 || s.dir == nil {
		return nil
	}
	path := strings.TrimRight(string(raw[2:]), "\x00")
	base := path[strings.LastIndexByte(path, '/')+1:]
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dgramFiles[s.dir.Path+"/"+sockdir.UDP+"/"+base]
}

// controls are the control messages a UDP socket with s's options would
// get with a datagram from raw: the timestamps the kernel gives (the Unix
// socket keeps them as UDP does), then the IP-level ones the program
// asked for, made up for loopback.
func (p *Policy) controls(s *sock, raw, oob []byte) []byte {
	var out []byte
	msgs, _ := parseCmsgs(oob)
	for _, m := range msgs {
		if m.level == unix.SOL_SOCKET && (m.typ == unix.SCM_TIMESTAMP || m.typ == unix.SCM_TIMESTAMPNS || m.typ == unix.SCM_TIMESTAMPING ||
			m.typ == unix.SO_TIMESTAMP_NEW || m.typ == unix.SO_TIMESTAMPNS_NEW || m.typ == unix.SO_TIMESTAMPING_NEW) {
			out = appendCmsg(out, m.level, m.typ, m.data)
		}
	}
	want := s.opts.flagsOn()
	if len(want) == 0 {
		return out
	}
	p.mu.Lock()
	local := s.local
	p.mu.Unlock()
	dst := local
	if local.Addr().IsUnspecified() {
		dst = netip.AddrPortFrom(inet.Loopback(s.family), local.Port())
		from := p.sender(s, raw)
		if from.Addr().Is4() {
			dst = netip.AddrPortFrom(inet.Loopback(inet.AF_INET), local.Port())
		}
		if o := p.senderSock(s, raw); o != nil {
			p.mu.Lock()
			d := o.peer
			if o.dg != nil && !o.connected {
				d = o.dg.lastDst
			}
			p.mu.Unlock()
			if d.IsValid() && d.Port() == local.Port() {
				dst = d
			}
		}
	}
	dst = inet.Unmap(dst)
	if s.family == inet.AF_INET {
		a := dst.Addr().Unmap().As4()
		if want[optKey{solIP, unix.IP_PKTINFO}] {
			var b [12]byte
			binary.NativeEndian.PutUint32(b[0:], 1) // lo
			copy(b[4:], a[:])
			copy(b[8:], a[:])
			out = appendCmsg(out, solIP, unix.IP_PKTINFO, b[:])
		}
		if want[optKey{solIP, unix.IP_RECVTTL}] {
			out = appendCmsg(out, solIP, unix.IP_TTL, intOpt(64))
		}
		if want[optKey{solIP, unix.IP_RECVTOS}] {
			out = appendCmsg(out, solIP, unix.IP_TOS, []byte{0})
		}
		if want[optKey{solIP, unix.IP_RECVORIGDSTADDR}] {
			out = appendCmsg(out, solIP, unix.IP_ORIGDSTADDR, inet.AppendSockaddr(nil, inet.AF_INET, dst))
		}
		return out
	}
	a := dst.Addr()
	if a.Is4() {
		a = netip.AddrFrom16(a.As16())
	}
	a16 := a.As16()
	if want[optKey{solIPv6, unix.IPV6_RECVPKTINFO}] {
		var b [20]byte
		copy(b[:16], a16[:])
		binary.NativeEndian.PutUint32(b[16:], 1)
		out = appendCmsg(out, solIPv6, unix.IPV6_PKTINFO, b[:])
	}
	if want[optKey{solIPv6, unix.IPV6_RECVHOPLIMIT}] {
		out = appendCmsg(out, solIPv6, unix.IPV6_HOPLIMIT, intOpt(64))
	}
	if want[optKey{solIPv6, unix.IPV6_RECVTCLASS}] {
		out = appendCmsg(out, solIPv6, unix.IPV6_TCLASS, intOpt(0))
	}
	if want[optKey{solIPv6, unix.IPV6_RECVORIGDSTADDR}] {
		out = appendCmsg(out, solIPv6, unix.IPV6_ORIGDSTADDR, inet.AppendSockaddr(nil, inet.AF_INET6, dst))
	}
	return out
}

type optKey struct{ level, name int32 }

// flagsOn are the boolean options the program turned on, by their last
// setting.
func (o *optState) flagsOn() map[optKey]bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	var m map[optKey]bool
	for _, v := range o.set {
		if len(v.val) == 0 {
			continue
		}
		on := false
		for _, b := range v.val {
			on = on || b != 0
		}
		if m == nil {
			m = make(map[optKey]bool)
		}
		m[optKey{v.level, v.name}] = on
	}
	return m
}

// janitor removes the endpoint files this supervisor made once no socket
// holds them (their program closed them, or exited): a datagram endpoint,
// which every UDP socket gets as soon as it sends, and a listener's.
type janitor struct {
	mu      sync.Mutex
	files   map[string]made
	running bool
}

type made struct {
	dir  *sockdir.Dir
	name string
	id   sockdir.FileID
}

// janitorEvery is how often made endpoint files are checked.
const janitorEvery = 2 * time.Second

// track notes an endpoint file noip made.
func (p *Policy) track(d *sockdir.Dir, name string) {
	e, ok := d.Stat(name)
	if !ok {
		return
	}
	j := &p.janitor
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.files == nil {
		j.files = make(map[string]made)
	}
	j.files[d.Path+"/"+name] = made{d, name, e.ID}
	if !j.running {
		j.running = true
		go p.sweepMade()
	}
}

// sweepMade removes, now and then, the made files that are stale.
func (p *Policy) sweepMade() {
	j := &p.janitor
	for {
		time.Sleep(janitorEvery)
		j.mu.Lock()
		if len(j.files) == 0 {
			j.running = false
			j.mu.Unlock()
			return
		}
		files := make([]made, 0, len(j.files))
		for _, f := range j.files {
			files = append(files, f)
		}
		j.mu.Unlock()
		snap, err := sockdir.Snap()
		if err != nil {
			continue
		}
		for _, f := range files {
			if _, live := snap.Files[f.id]; live {
				continue
			}
			if f.dir.Lock() == nil {
				// Still the file noip made, and still stale?
				if e, ok := f.dir.Stat(f.name); ok && e.ID == f.id {
					if s2, err := sockdir.Snap(); err == nil {
						if _, live := s2.Files[f.id]; !live {
							f.dir.Remove(f.name)
						}
					}
				}
				f.dir.Unlock()
			}
			j.mu.Lock()
			delete(j.files, f.dir.Path+"/"+f.name)
			j.mu.Unlock()
			p.mu.Lock()
			delete(p.dgramFiles, f.dir.Path+"/"+f.name)
			p.mu.Unlock()
		}
	}
}

// Package noip is the noip policy: what a program sees when its Internet
// sockets are plastic, one handler per intercepted call family.
//
// A plastic socket is a Unix-domain socket that noip created where the
// program asked for a TCP or UDP one. Handlers translate Internet addresses
// to endpoint files in the process's socket directory and back. They never
// copy stream data: once connected, plastic sockets are kernel Unix sockets
// end to end, and noip is out of the data path. Datagrams sent to or
// received from an address pass through noip, which translates the address.
//
// No handler lets a call whose fd or address could involve a real Internet
// socket run in the kernel unchecked: noip performs such calls itself, on
// the object it checked, or fails them.
package noip

import (
	"fmt"
	mrand "math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"noip/internal/config"
	"noip/internal/inet"
	"noip/internal/sockdir"
	"noip/internal/supervise"
	"noip/internal/tracee"
)

// Policy holds the state noip keeps for one supervised tree: the plastic
// sockets it made and the settings of the processes it serves.
type Policy struct {
	root *future // the settings of CMD's environment (the supervisor's)

	mu        sync.Mutex
	socks     map[uint64]*sock
	reserved  map[string]*sock // deferred binds: dir path + "/" + name
	clients   map[string]*sock // client names in use: dir path + "/" + name
	pruneAt   int
	prunedAt  time.Time // the last prune
	endpoints int       // endpoint files made, for the periodic sweep

	setMu    sync.Mutex
	settings map[string]*Settings // by environment digest
	dirs     map[string]*sockdir.Dir
	warned   map[string]bool // privileged programs already warned about
	probes   [2]int          // UDP sockets that find source addresses, by family, or -1

	localMu sync.Mutex
	locals  *config.InterfaceLocals

	// slowOps bounds the goroutines doing path lookups a program chose.
	slowOps chan struct{}

	// dgramFiles are the datagram endpoints made by this supervisor, by
	// path: whose datagram a receiver got. Guarded by mu.
	dgramFiles map[string]*sock
	janitor    janitor

	// spareMu guards spare, an fd held back so that, out of fds, the
	// supervisor can still look for the sockets it may let go (prune).
	spareMu sync.Mutex
	spare   int

	voidOnce sync.Once // the socket for datagrams nobody will get
	voidName string
	voidErr  error
}

// New returns a policy whose root settings come from env, the
// supervisor's own environment (CMD's, as the front made it).
func New(env []string) *Policy {
	p := &Policy{
		socks:    make(map[uint64]*sock),
		reserved: make(map[string]*sock),
		clients:  make(map[string]*sock),
		pruneAt:  1024,
		settings: make(map[string]*Settings),
		dirs:     make(map[string]*sockdir.Dir),
		probes:   [2]int{-1, -1},
		slowOps:  make(chan struct{}, 16),

		dgramFiles: make(map[string]*sock),
	}
	p.spare, _ = unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	p.root = p.settingsFor(env)
	return p
}

// Root returns the settings of the supervisor's own environment (CMD's
// initial one), waiting for them.
func (p *Policy) Root() *Settings {
	<-p.root.done
	return p.root.set
}

// handler is a handler that is given the caller's settings.
type handler func(c *supervise.Call, set *Settings) supervise.Result

// Handlers returns the handler of every call the noip filter notifies.
func (p *Policy) Handlers() supervise.Handlers {
	h := supervise.Handlers{
		"execve":   p.execve,
		"execveat": p.execve,
		"seccomp":  p.seccomp,
		// Neither needs settings: they keep track of what noip can see.
		"prctl":       p.dumpable,
		"pidfd_getfd": p.pidfdGetfd,
		"mmap":        mmapRing,
		"mmap2":       mmapRing,
		"old_mmap":    mmapRing,
	}
	for name, f := range map[string]handler{
		"socket":      p.socket,
		"socketcall":  p.socketcall,
		"bind":        p.compat(p.bind),
		"listen":      p.compat(p.listen),
		"connect":     p.compat(p.connect),
		"accept":      p.compat(p.accept),
		"accept4":     p.compat(p.accept),
		"getsockname": p.getsockname,
		"getpeername": p.getpeername,
		"setsockopt":  p.setsockopt,
		"getsockopt":  p.getsockopt,
		"ioctl":       p.ioctl,
		"sendto":      p.compat(p.sendto),
		"sendmsg":     p.compat(p.sendmsg),
		"sendmmsg":    p.compat(p.sendmmsg),
		"recvfrom":    p.recvfrom,
		"recvmsg":     p.recvmsg,
		"recvmmsg":    p.recvmmsg,
	} {
		h[name] = p.withSettings(f)
	}
	return h
}

// Configure sets the supervisor's process hooks: how a process's state is
// inherited, and what an orphan starts with.
func (p *Policy) Configure(sv *supervise.Supervisor) {
	sv.Orphan = p.orphan
	sv.Inherit = inherit
}

// withSettings resolves the caller's settings once, when the call
// arrives, and hands them to h; a call whose settings are still being
// worked out waits for them off the loop.
func (p *Policy) withSettings(h handler) supervise.HandlerFunc {
	return func(c *supervise.Call) supervise.Result {
		f := p.stateOf(c).settings
		return c.When(f.done, func() supervise.Result { return h(c, f.set) })
	}
}

// candidatePorts yields ports of the autoports range starting at a random
// one and then in order, wrapping, so every port is tried once.
func (s *Settings) candidatePorts(yield func(uint16) bool) {
	lo, hi := int(s.Ports.Min), int(s.Ports.Max)
	n := hi - lo + 1
	start := mrand.IntN(n)
	for i := range n {
		if !yield(uint16(lo + (start+i)%n)) {
			return
		}
	}
}

// nameKind is what name a plastic socket's Unix socket has.
type nameKind uint8

const (
	unnamed    nameKind = iota
	nameFile            // its endpoint file in the socket directory
	nameClient          // an abstract client name (connecting stream sockets)
)

// sock is what noip knows of one plastic socket, keyed by its inode: stable
// across dup, fork and fd passing.
type sock struct {
	ino    uint64
	family int // AF_INET or AF_INET6: what the program asked for
	typ    int // SOCK_STREAM or SOCK_DGRAM
	proto  int // as the program asked; 0 means the family's default

	// Guarded by Policy.mu.
	dir       *sockdir.Dir   // where its endpoint lives, once bound
	local     netip.AddrPort // bound address, valid if bound
	bound     bool
	bindReq   netip.AddrPort // the address the program's bind asked for
	bindSeen  bool           // the program was told a bind succeeded
	named     nameKind
	client    string // its client name's key in Policy.clients
	listening bool
	backlog   int            // as listen was given it
	accepted  bool           // an accepted connection (else a client, once connected)
	mssLimit  int            // TCP_MAXSEG the program set before the connection, or 0
	peer      netip.AddrPort // remote address the program sees, if connected
	connected bool
	// connectSeen: a connect succeeded and the program was told so;
	// another connect is then EISCONN rather than a restart.
	connectSeen bool
	// inProgress: a non-blocking connect was answered EINPROGRESS; the
	// next connect reports it done.
	inProgress bool
	wasRefused bool // a connect was refused (see listenAfterRefused)
	v6only     bool
	reuse      bool // SO_REUSEADDR at bind time
	reusePort  bool // SO_REUSEPORT set: may join a listener group
	// holder is the process and fd number of the last call that used the
	// socket: where noip finds the socket again to make it a listener
	// group's shared socket.
	holder holder

	opts optState // options, held by a real twin socket

	// acceptMu serialises taking connections off the listener, so that a
	// poll that says "ready" is followed by an accept that does not block.
	acceptMu sync.Mutex
	stash    []int // accepted connections whose accept call went away

	dg *dgram // datagram state, for SOCK_DGRAM
}

// holder names one fd of a process.
type holder struct {
	proc *tracee.Proc
	fd   int
}

// fdKind is what a call's fd turned out to be.
type fdKind int

const (
	kindOther   fdKind = iota // not an Internet socket: the kernel may run the call
	kindPlastic               // a plastic socket noip made
	kindReal                  // a real TCP or UDP socket
)

// target is the fd a call names, as noip found it.
type target struct {
	kind fdKind
	s    *sock // plastic: the table's entry; real: a description, not in the table
	dup  int   // noip's duplicate of the program's fd (-1 for kindOther), to close
	r    supervise.Result
}

func (t *target) close() {
	if t.dup >= 0 {
		unix.Close(t.dup)
		t.dup = -1
	}
}

// lookup finds what the caller's fd is. For kindOther, t.r says what to
// do with the call: the fd is no Internet socket (continue), does not
// exist (EBADF), or cannot be seen (the process is not dumpable: see
// blind.go).
func (p *Policy) lookup(c *supervise.Call, set *Settings, fd int32) target {
	return p.lookupGuarded(c, set, fd, nil)
}

// lookupGuarded is lookup for a call that guard g decides when the fd is
// no Internet socket (see guard.go).
func (p *Policy) lookupGuarded(c *supervise.Call, set *Settings, fd int32, g guard) target {
	dup, err := c.GetFD(int(fd))
	switch {
	case err == unix.EBADF:
		return target{dup: -1, r: supervise.Fail(unix.EBADF)}
	case err != nil:
		return target{dup: -1, r: p.unseen(c, set, fd, err)}
	}
	var st unix.Stat_t
	if unix.Fstat(dup, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		r := supervise.Continue()
		if g != nil {
			r = g(c, dup, -1)
		}
		unix.Close(dup)
		return target{dup: -1, r: r}
	}
	p.mu.Lock()
	s := p.socks[st.Ino]
	if s != nil {
		s.holder = holder{c.Proc, int(fd)}
	}
	p.mu.Unlock()
	if s != nil {
		return target{kind: kindPlastic, s: s, dup: dup}
	}
	dom, e1 := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_DOMAIN)
	typ, e2 := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_TYPE)
	proto, e3 := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	if e1 == nil && e2 == nil && e3 == nil && (dom == unix.AF_INET || dom == unix.AF_INET6) &&
		(typ == unix.SOCK_STREAM || typ == unix.SOCK_DGRAM) && proto != unix.IPPROTO_ICMP && proto != unix.IPPROTO_ICMPV6 {
		s := &sock{family: dom, typ: typ, proto: proto}
		if dom == unix.AF_INET6 {
			s.v6only = sockoptBool(dup, unix.SOL_IPV6, unix.IPV6_V6ONLY)
		}
		return target{kind: kindReal, s: s, dup: dup}
	}
	r := supervise.Continue()
	if g != nil {
		if e1 != nil {
			dom = -1
		}
		r = g(c, dup, dom)
	}
	unix.Close(dup)
	if set.Debug >= 2 && r.IsContinue() {
		r = r.WithNote(note(set, "%s(%d): not an Internet socket (inode %d): left to the kernel", c.Name, fd, st.Ino))
	}
	return target{dup: -1, r: r}
}

// plastic is lookup for calls that only plastic sockets need served (the
// kernel answers them rightly for real sockets and others): ok false
// means answer with t.r.
func (p *Policy) plastic(c *supervise.Call, set *Settings, fd int32) (t target, ok bool) {
	t = p.lookup(c, set, fd)
	switch t.kind {
	case kindPlastic:
		return t, true
	case kindReal:
		t.close()
		t.r = supervise.Continue()
	}
	return t, false
}

// add records a new plastic socket, pruning the table of dead ones when it
// has doubled, or every pruneEvery while sockets come and go, so that the
// twins of closed sockets are let go within seconds.
func (p *Policy) add(s *sock) {
	p.mu.Lock()
	p.socks[s.ino] = s
	n := len(p.socks)
	due := n >= p.pruneAt || n >= 64 && time.Since(p.prunedAt) >= pruneEvery
	p.mu.Unlock()
	if due {
		p.prune()
	}
}

// pruneEvery is how often a busy table is pruned at the least.
const pruneEvery = 5 * time.Second

// newSock records a plastic socket of family, type and protocol whose
// Unix socket is fd.
func (p *Policy) newSock(fd, family, typ, proto int, v6only bool) (*sock, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	s := &sock{ino: st.Ino, family: family, typ: typ, proto: proto, v6only: v6only}
	s.opts.twin = -1
	if typ == unix.SOCK_DGRAM {
		s.dg = &dgram{}
	}
	p.add(s)
	return s, nil
}

// prune forgets sockets that no longer exist, releasing their reserved
// names, their twins, and connections stashed for them.
func (p *Policy) prune() {
	snap, err := sockdir.Snap()
	if err != nil {
		return
	}
	var gone []*sock
	p.mu.Lock()
	for ino, s := range p.socks {
		if _, ok := snap.Sockets[uint32(ino)]; ok {
			continue
		}
		delete(p.socks, ino)
		p.release(s)
		gone = append(gone, s)
	}
	p.pruneAt = max(1024, 2*len(p.socks))
	p.prunedAt = time.Now()
	p.mu.Unlock()
	for _, s := range gone {
		s.acceptMu.Lock()
		for _, fd := range s.stash {
			unix.Close(fd)
		}
		s.stash = nil
		s.acceptMu.Unlock()
		s.opts.close()
	}
}

// release frees the names a socket reserved. Hold p.mu.
func (p *Policy) release(s *sock) {
	if s.bound && s.named == unnamed && s.dir != nil {
		key := s.dir.Path + "/" + s.endpointName()
		if p.reserved[key] == s {
			delete(p.reserved, key)
		}
	}
	if s.client != "" && p.clients[s.client] == s {
		delete(p.clients, s.client)
	}
}

// endpointName is the name of s's endpoint in its socket directory.
func (s *sock) endpointName() string { return endpointName(s.typ, s.local) }

// endpointName is the file name of the endpoint of a socket of type typ at
// ap: datagram endpoints live in their own subdirectory, since TCP and UDP
// ports are separate spaces.
func endpointName(typ int, ap netip.AddrPort) string {
	if typ == unix.SOCK_DGRAM {
		return sockdir.UDP + "/" + inet.Name(ap)
	}
	return inet.Name(ap)
}

// note formats a debug line when the process has debugging on.
func note(set *Settings, format string, args ...any) string {
	if set == nil || set.Debug <= 0 {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

// Logger returns a supervise log function that writes each note to the
// calling process's stderr, as the classic noip did, through one goroutine
// so that a slow or full stderr never stalls the notification loop.
func Logger() func(c *supervise.Call, note string) {
	type line struct {
		fd   int
		text string
	}
	ch := make(chan line, 1024)
	go func() {
		for l := range ch {
			unix.Write(l.fd, []byte(l.text))
			unix.Close(l.fd)
		}
	}()
	return func(c *supervise.Call, note string) {
		fd, err := c.GetFD(2)
		if err != nil {
			// A non-dumpable process does not let us take its stderr: say
			// it on ours (the terminal's, while noip's front runs).
			if fd, err = unix.Dup(2); err != nil {
				return
			}
		}
		text := fmt.Sprintf("noip[%d %s]: %s\n", c.Tid(), tracee.Comm(c.Tid()), note)
		select {
		case ch <- line{fd, text}:
		default:
			unix.Close(fd) // never block the loop for a debug line
		}
	}
}

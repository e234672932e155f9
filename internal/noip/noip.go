// Package noip is the noip policy: what a program sees when its Internet
// sockets are plastic, one handler per intercepted call family.
//
// A plastic socket is a Unix-domain socket that noip created where the
// program asked for a TCP or UDP one. Handlers translate Internet addresses
// to endpoint files in the process's socket directory and back. They never
// copy stream data: once connected, plastic sockets are kernel Unix sockets
// end to end, and noip is out of the data path.
package noip

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"

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
	rootEnv []string
	root    func() *Settings // for processes whose environment cannot be read

	mu        sync.Mutex
	socks     map[uint64]*sock
	reserved  map[string]*sock // deferred binds: dir path + "/" + name
	pruneAt   int
	endpoints int // endpoint files made, for the periodic sweep

	setMu    sync.Mutex
	settings map[string]*Settings // by environment digest
	dirs     map[string]*sockdir.Dir
	locals   *config.InterfaceLocals
	warned   map[string]bool // privileged programs already warned about
	inet4    int             // an unbound AF_INET socket for interface ioctls, or -1
}

// New returns a policy whose root settings come from env, the
// supervisor's own environment (CMD's, as the front made it).
func New(env []string) *Policy {
	p := &Policy{
		socks:    make(map[uint64]*sock),
		reserved: make(map[string]*sock),
		pruneAt:  1024,
		settings: make(map[string]*Settings),
		dirs:     make(map[string]*sockdir.Dir),
		inet4:    -1,
	}
	// Computed on first need, not before the loop starts: CMD's execve
	// waits for the loop.
	p.rootEnv = env
	p.root = sync.OnceValue(func() *Settings { return p.SettingsFromEnv(p.rootEnv) })
	return p
}

// Root returns the settings of the supervisor's own environment (CMD's
// initial one), which apply to processes whose environment cannot be read.
func (p *Policy) Root() *Settings { return p.root() }

// Handlers returns the handler of every call the noip filter notifies.
func (p *Policy) Handlers() supervise.Handlers {
	return supervise.Handlers{
		"socket":      p.socket,
		"socketcall":  p.socketcall,
		"bind":        p.bind,
		"listen":      p.listen,
		"connect":     p.connect,
		"accept":      p.accept,
		"accept4":     p.accept,
		"getsockname": p.getsockname,
		"getpeername": p.getpeername,
		"setsockopt":  p.setsockopt,
		"getsockopt":  p.getsockopt,
		"execve":      p.execve,
		"execveat":    p.execve,
		"ioctl":       p.ioctl,
		"seccomp":     p.seccomp,
	}
}

// candidatePorts yields ports of the autoports range starting at a random
// one and then in order, wrapping, so every port is tried once.
func (s *Settings) candidatePorts(yield func(uint16) bool) {
	lo, hi := int(s.Ports.Min), int(s.Ports.Max)
	n := hi - lo + 1
	start := rand.IntN(n)
	for i := range n {
		if !yield(uint16(lo + (start+i)%n)) {
			return
		}
	}
}

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
	unixBound bool           // the Unix socket itself has a name
	listening bool
	peer      netip.AddrPort // remote address the program sees, if connected
	connected bool
	// connectSeen: a connect succeeded and the program was told so;
	// another connect is then EISCONN rather than a restart.
	connectSeen bool
	v6only      bool
	reuse       bool // SO_REUSEADDR at bind time
	opts        map[optKey][]byte

	// acceptMu serialises taking connections off the listener, so that a
	// poll that says "ready" is followed by an accept that does not block.
	acceptMu sync.Mutex
	stash    []int // accepted connections whose accept call went away
}

type optKey struct{ level, name int32 }

// lookup returns the plastic socket behind the caller's fd and a duplicate
// of it that the caller must close. If the fd is not a plastic socket, ok is
// false and r says what to do with the call (usually let it run).
func (p *Policy) lookup(c *supervise.Call, fd int32) (s *sock, dup int, r supervise.Result, ok bool) {
	dup, err := c.GetFD(int(fd))
	switch {
	case err == unix.EBADF:
		return nil, -1, supervise.Fail(unix.EBADF), false
	case err != nil:
		// A non-dumpable process (EPERM) or a vanished one: let the kernel
		// run the call. A plastic socket given an Internet address fails
		// there (EINVAL), so nothing escapes.
		why := "left to the kernel"
		if err == unix.EPERM {
			why = "the process is not dumpable, so noip cannot serve its Internet sockets; left to the kernel, which refuses Internet addresses on them"
		}
		return nil, -1, supervise.Continue().WithNote(note(p.settingsOf(c), "%s(%d): cannot see the fd (%v): %s", c.Name, fd, err, why)), false
	}
	var st unix.Stat_t
	if unix.Fstat(dup, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		unix.Close(dup)
		return nil, -1, supervise.Continue().WithNote(note(p.settingsOf(c), "%s(%d): not a socket (mode %o): left to the kernel", c.Name, fd, st.Mode)), false
	}
	p.mu.Lock()
	s = p.socks[st.Ino]
	p.mu.Unlock()
	if s == nil {
		unix.Close(dup)
		if d := p.settingsOf(c); d.Debug >= 2 {
			return nil, -1, supervise.Continue().WithNote(note(d, "%s(%d): not plastic (inode %d): left to the kernel", c.Name, fd, st.Ino)), false
		}
		return nil, -1, supervise.Continue(), false
	}
	return s, dup, supervise.Result{}, true
}

// add records a new plastic socket, pruning the table of dead ones when it
// has grown.
func (p *Policy) add(s *sock) {
	p.mu.Lock()
	p.socks[s.ino] = s
	n := len(p.socks)
	p.mu.Unlock()
	if n >= p.pruneAt {
		p.prune()
	}
}

// prune forgets sockets that no longer exist, releasing their reserved
// names and closing connections stashed for them.
func (p *Policy) prune() {
	snap, err := sockdir.Snap()
	if err != nil {
		return
	}
	var stashes [][]int
	p.mu.Lock()
	for ino, s := range p.socks {
		if _, ok := snap.Sockets[uint32(ino)]; ok {
			continue
		}
		delete(p.socks, ino)
		if s.bound && !s.unixBound && s.dir != nil {
			key := s.dir.Path + "/" + inet.Name(s.local)
			if p.reserved[key] == s {
				delete(p.reserved, key)
			}
		}
		s.acceptMu.Lock()
		stashes = append(stashes, s.stash)
		s.stash = nil
		s.acceptMu.Unlock()
	}
	p.pruneAt = max(1024, 2*len(p.socks))
	p.mu.Unlock()
	for _, st := range stashes {
		for _, fd := range st {
			unix.Close(fd)
		}
	}
}

// note formats a debug line when the process has debugging on.
func note(set *Settings, format string, args ...any) string {
	if set.Debug <= 0 {
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

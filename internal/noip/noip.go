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
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
	"noip/internal/sockdir"
	"noip/internal/supervise"
	"noip/internal/tracee"
)

// Settings are one process's noip settings, taken from its environment.
type Settings struct {
	Dir       *sockdir.Dir
	DirErr    error // the socket directory was refused; plastic calls fail
	Debug     int
	PortMin   uint16
	PortMax   uint16
	envDigest string
}

// Default autoports range (SPEC section 4).
const (
	DefaultPortMin = 16384
	DefaultPortMax = 65535
)

// Policy holds the state noip keeps for one supervised tree: the plastic
// sockets it made and the settings of the processes it serves.
type Policy struct {
	// Root applies to processes whose environment says nothing.
	Root *Settings

	mu       sync.Mutex
	socks    map[uint64]*sock
	reserved map[string]*sock // deferred binds: dir path + "/" + name
	pruneAt  int

	setMu    sync.Mutex
	settings map[string]*Settings // by environment digest
	dirs     map[string]*sockdir.Dir
}

// New returns a policy whose processes default to root.
func New(root *Settings) *Policy {
	p := &Policy{
		Root:     root,
		socks:    make(map[uint64]*sock),
		reserved: make(map[string]*sock),
		pruneAt:  1024,
		settings: make(map[string]*Settings),
		dirs:     make(map[string]*sockdir.Dir),
	}
	if root.Dir != nil {
		p.dirs[root.Dir.Path] = root.Dir
	}
	return p
}

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
	}
}

// Environment variables that carry settings into every process.
const (
	EnvSocketDir = "NOIP_SOCKETDIR"
	EnvDebug     = "NOIP_DEBUG"
	EnvAutoports = "NOIP_AUTOPORTS"
)

// settingsOf returns the settings of the calling process, reading its
// environment on first use after each execve.
func (p *Policy) settingsOf(c *supervise.Call) *Settings {
	if s, ok := c.Proc.Data().(*Settings); ok {
		return s
	}
	s := p.Root
	if env, err := tracee.Environ(c.Tid()); err == nil {
		s = p.SettingsFromEnv(env)
	}
	c.Proc.SetData(s)
	return s
}

// SettingsFromEnv derives settings from an environment; variables it lacks
// keep Root's values. Equal environments share one Settings.
func (p *Policy) SettingsFromEnv(env []string) *Settings {
	var dir, debug, ports string
	for _, kv := range env {
		switch {
		case strings.HasPrefix(kv, EnvSocketDir+"="):
			dir = kv[len(EnvSocketDir)+1:]
		case strings.HasPrefix(kv, EnvDebug+"="):
			debug = kv[len(EnvDebug)+1:]
		case strings.HasPrefix(kv, EnvAutoports+"="):
			ports = kv[len(EnvAutoports)+1:]
		}
	}
	digest := dir + "\x00" + debug + "\x00" + ports
	p.setMu.Lock()
	defer p.setMu.Unlock()
	if s := p.settings[digest]; s != nil {
		return s
	}
	s := *p.Root
	s.envDigest = digest
	if dir != "" && (p.Root.Dir == nil || dir != p.Root.Dir.Path) {
		s.Dir, s.DirErr = p.openDir(dir)
	}
	if debug != "" {
		s.Debug = ParseDebug(debug)
	}
	if ports != "" {
		if lo, hi, err := ParsePorts(ports); err == nil {
			s.PortMin, s.PortMax = lo, hi
		}
	}
	p.settings[digest] = &s
	return &s
}

func (p *Policy) openDir(path string) (*sockdir.Dir, error) {
	if d := p.dirs[path]; d != nil {
		return d, nil
	}
	d, err := sockdir.Open(path)
	if err != nil {
		return nil, err
	}
	p.dirs[path] = d
	return d, nil
}

// ParseDebug reads a debug level: empty or unparsable non-empty means 1.
func ParseDebug(s string) int {
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 1
	}
	return n
}

// ParsePorts reads an autoports range MIN-MAX.
func ParsePorts(s string) (lo, hi uint16, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("autoports %q: want MIN-MAX", s)
	}
	x, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 16)
	y, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 16)
	if err1 != nil || err2 != nil || x == 0 || x > y {
		return 0, 0, fmt.Errorf("autoports %q: want MIN-MAX with 1 <= MIN <= MAX <= 65535", s)
	}
	return uint16(x), uint16(y), nil
}

// candidatePorts yields ports of the autoports range starting at a random
// one and then in order, wrapping, so every port is tried once.
func (s *Settings) candidatePorts(yield func(uint16) bool) {
	lo, hi := int(s.PortMin), int(s.PortMax)
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
		return nil, -1, supervise.Continue().WithNote(note(p.settingsOf(c), "%s(%d): cannot see the fd (%v): left to the kernel", c.Name, fd, err)), false
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
			return
		}
		text := fmt.Sprintf("noip[%d %s]: %s\n", c.Tid(), tracee.Comm(c.Tid()), note)
		select {
		case ch <- line{fd, text}:
		default:
			unix.Close(fd) // never block the loop for a debug line
		}
	}
}

var _ = os.Getpid

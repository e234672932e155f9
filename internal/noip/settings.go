package noip

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"noip/internal/config"
	"noip/internal/sockdir"
	"noip/internal/supervise"
	"noip/internal/tracee"
)

// Settings are one process's noip settings: its configuration (the config
// file and the NOIP_* variables of the environment it was executed with)
// and socket directory.
type Settings struct {
	Cfg    *config.Config // nil when CfgErr is set
	CfgErr error          // the configuration is unusable: nothing is real
	Dir    *sockdir.Dir   // nil when DirErr is set
	DirErr error          // the socket directory was refused: plastic calls fail
	Debug  int
	Ports  config.PortRange

	warned atomic.Bool // CfgErr was told to a process already
}

// cfgWarning returns, the first time for these settings, a line telling a
// process that its configuration is unusable and everything stays plastic.
func (s *Settings) cfgWarning() string {
	if s.CfgErr == nil || s.warned.Swap(true) {
		return ""
	}
	return fmt.Sprintf("%v; everything stays plastic", s.CfgErr)
}

// Environment variables that carry settings into every process.
const (
	EnvSocketDir = "NOIP_SOCKETDIR"
	EnvDebug     = "NOIP_DEBUG"
	EnvAutoports = "NOIP_AUTOPORTS"
	EnvConfig    = "NOIP_CONFIG"
)

// settingsEnv are the variables a process's settings depend on.
var settingsEnv = []string{
	EnvConfig, "HOME", "USER", "LOGNAME", "TMPDIR", "TMP", "XDG_RUNTIME_DIR",
	EnvSocketDir, EnvDebug, EnvAutoports,
	"NOIP_REALBIND_BEFORE", "NOIP_REALBIND", "NOIP_REALBIND_AFTER",
	"NOIP_REALCONNECT_BEFORE", "NOIP_REALCONNECT", "NOIP_REALCONNECT_AFTER",
	"NOIP_IMPBIND_BEFORE", "NOIP_IMPBIND", "NOIP_IMPBIND_AFTER",
}

// future is a process's settings, being worked out off the loop: they
// need the config file and the socket directory, paths the program chose,
// and a path on a FUSE or NFS mount may never answer.
type future struct {
	done chan struct{}
	set  *Settings // valid once done is closed
}

// settingsTimeout bounds the wait for a process's config file and socket
// directory. Past it, the process gets settings that fail closed.
const settingsTimeout = 5 * time.Second

// procState is what the policy keeps per process (supervise.Process.Data):
// its settings, and whether noip can see into it.
type procState struct {
	settings *future
	// blind: the process made itself non-dumpable, so noip can read
	// neither its memory nor its fds; tainted: since then it may have
	// received a real Internet socket (see blind.go).
	blind, tainted bool
}

// inherit is the state of a child forked from a process in state parent.
func inherit(parent any) any {
	ps, ok := parent.(*procState)
	if !ok {
		return parent
	}
	c := *ps
	return &c
}

// stateOf returns the calling process's state; processes whose state is
// not known yet (the supervisor's own first child) have the root's.
func (p *Policy) stateOf(c *supervise.Call) *procState {
	if pr := c.Process(); pr != nil {
		if ps, ok := pr.Data().(*procState); ok {
			return ps
		}
	}
	return &procState{settings: p.root}
}

// orphan gives the state of a process whose ancestors are all gone (a
// daemon whose parent exited before it made a call): the settings of its
// environment block if that still names some, else the root settings.
func (p *Policy) orphan(pid int) any {
	if env, err := tracee.Environ(pid); err == nil {
		vals := settingsVars(env)
		for _, k := range settingsEnv {
			if strings.HasPrefix(k, "NOIP_") && vals[k] != "" {
				return &procState{settings: p.settingsFor(env)}
			}
		}
	}
	return &procState{settings: p.root}
}

func settingsVars(env []string) map[string]string {
	vals := make(map[string]string, len(settingsEnv))
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		for _, want := range settingsEnv {
			if k == want {
				vals[k] = v
			}
		}
	}
	return vals
}

// settingsFor starts working out the settings of an environment, off the
// loop, and returns their future.
func (p *Policy) settingsFor(env []string) *future {
	vals := settingsVars(env)
	f := &future{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		res := make(chan *Settings, 1)
		go func() {
			// At most cap(slowOps) lookups at once: a path that hangs holds
			// an OS thread.
			p.slowOps <- struct{}{}
			defer func() { <-p.slowOps }()
			res <- p.settingsFromVars(vals)
		}()
		select {
		case s := <-res:
			f.set = s
		case <-time.After(settingsTimeout):
			err := fmt.Errorf("the config file or socket directory did not answer within %v", settingsTimeout)
			f.set = &Settings{CfgErr: err, DirErr: err, Ports: config.DefaultAutoPorts, Debug: 1}
		}
	}()
	return f
}

// SettingsFromEnv derives settings from an environment, on the caller's
// goroutine.
func (p *Policy) SettingsFromEnv(env []string) *Settings {
	return p.settingsFromVars(settingsVars(env))
}

// settingsFromVars does the work of settingsFor. Processes with the same
// settings variables and an unchanged config file share one Settings; a
// changed config file is read again for processes started afterwards.
func (p *Policy) settingsFromVars(vals map[string]string) *Settings {
	get := func(k string) string { return vals[k] }
	var key strings.Builder
	for _, k := range settingsEnv {
		key.WriteString(vals[k])
		key.WriteByte(0)
	}
	key.WriteString(configStamp(get))

	// The lock guards the cache only: reading the config file and opening
	// the directory may block, and the loop takes the lock too.
	p.setMu.Lock()
	s := p.settings[key.String()]
	p.setMu.Unlock()
	if s != nil {
		return s
	}
	s = &Settings{Ports: config.DefaultAutoPorts}
	s.Cfg, s.CfgErr = config.Load(get, nil)
	dir := get(EnvSocketDir)
	if s.Cfg != nil {
		s.Debug, s.Ports = s.Cfg.Debug, s.Cfg.AutoPorts
		if s.Cfg.SocketDir != "" {
			dir = s.Cfg.SocketDir
		}
	} else if d := get(EnvDebug); d != "" {
		s.Debug = 1 // say why nothing is real
	}
	if dir == "" {
		dir, _ = sockdir.DefaultPath(get, os.Getuid())
	}
	s.Dir, s.DirErr = p.openDir(dir)
	p.setMu.Lock()
	defer p.setMu.Unlock()
	if old := p.settings[key.String()]; old != nil {
		return old // another process got there first
	}
	p.settings[key.String()] = s
	return s
}

// configStamp identifies the config file a process would read, and its
// version, so that an edited file is read again.
func configStamp(get func(string) string) string {
	path := get(EnvConfig)
	if path == "" && get("HOME") != "" {
		path = strings.TrimSuffix(get("HOME"), "/") + "/.noip"
	}
	var st unix.Stat_t
	if path == "" || unix.Stat(path, &st) != nil {
		return path
	}
	return fmt.Sprintf("%s@%d.%d:%d:%d", path, st.Mtim.Sec, st.Mtim.Nsec, st.Size, st.Ino)
}

// openDir opens a socket directory once per supervisor: every process
// using it shares the Dir.
func (p *Policy) openDir(path string) (*sockdir.Dir, error) {
	p.setMu.Lock()
	d := p.dirs[path]
	p.setMu.Unlock()
	if d != nil {
		return d, nil
	}
	d, err := sockdir.Open(path)
	if err != nil {
		return nil, err
	}
	p.setMu.Lock()
	defer p.setMu.Unlock()
	if old := p.dirs[path]; old != nil {
		d.Close()
		return old, nil
	}
	p.dirs[path] = d
	return d, nil
}

// decide asks the process's configuration whether an address gets a real
// socket. An unusable configuration makes everything plastic.
func (p *Policy) decide(set *Settings, op config.Op, ap netip.AddrPort) config.Verdict {
	if set.Cfg == nil {
		return config.Verdict{Index: -1, Reason: config.ReasonEmpty, ACL: op.String()}
	}
	return set.Cfg.Decide(op, ap, p.localAddrs())
}

// localAddrs is the machine's addresses for `local`, kept current over
// netlink; opened on first use.
func (p *Policy) localAddrs() config.Locals {
	p.localMu.Lock()
	defer p.localMu.Unlock()
	if p.locals == nil {
		l, err := config.NewInterfaceLocals()
		if err != nil {
			return nil // loopback and unspecified only
		}
		p.locals = l
	}
	return p.locals
}

// impbind picks the local address of a connecting plastic socket that was
// not bound: the first impbind rule that matches the remote address, else
// the loopback address of its family.
func (p *Policy) impbind(set *Settings, remote netip.Addr) (netip.Addr, *config.ImpRule) {
	if set.Cfg == nil {
		if remote.Is6() && !remote.Is4In6() {
			return netip.IPv6Loopback(), nil
		}
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	return set.Cfg.Impbind(remote, p.localAddrs())
}

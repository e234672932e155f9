package noip

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"noip/internal/config"
	"noip/internal/sockdir"
	"noip/internal/supervise"
	"noip/internal/tracee"
)

// Settings are one process's noip settings: its configuration (the config
// file and the NOIP_* variables of its environment) and socket directory.
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
	EnvConfig, "HOME", "USER", "LOGNAME", "TMPDIR", "TMP",
	EnvSocketDir, EnvDebug, EnvAutoports,
	"NOIP_REALBIND_BEFORE", "NOIP_REALBIND", "NOIP_REALBIND_AFTER",
	"NOIP_REALCONNECT_BEFORE", "NOIP_REALCONNECT", "NOIP_REALCONNECT_AFTER",
	"NOIP_IMPBIND_BEFORE", "NOIP_IMPBIND", "NOIP_IMPBIND_AFTER",
}

// settingsOf returns the settings of the calling process, reading its
// environment on first use after each execve.
func (p *Policy) settingsOf(c *supervise.Call) *Settings {
	if s, ok := c.Proc.Data().(*Settings); ok {
		return s
	}
	var s *Settings
	if env, err := tracee.Environ(c.Tid()); err == nil {
		s = p.SettingsFromEnv(env)
	} else {
		s = p.Root()
	}
	c.Proc.SetData(s)
	return s
}

// SettingsFromEnv derives settings from an environment. Processes with the
// same settings variables and an unchanged config file share one Settings;
// a changed config file is read again for processes started afterwards.
func (p *Policy) SettingsFromEnv(env []string) *Settings {
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
	get := func(k string) string { return vals[k] }
	var key strings.Builder
	for _, k := range settingsEnv {
		key.WriteString(vals[k])
		key.WriteByte(0)
	}
	key.WriteString(configStamp(get))

	p.setMu.Lock()
	defer p.setMu.Unlock()
	if s := p.settings[key.String()]; s != nil {
		return s
	}
	s := &Settings{Ports: config.DefaultAutoPorts}
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
		dir = sockdir.DefaultPath(get, os.Getuid())
	}
	s.Dir, s.DirErr = p.openDir(dir)
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
	p.setMu.Lock()
	defer p.setMu.Unlock()
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
		fam := 4
		if remote.Is6() && !remote.Is4In6() {
			fam = 6
		}
		if fam == 6 {
			return netip.IPv6Loopback(), nil
		}
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	return set.Cfg.Impbind(remote, p.localAddrs())
}

package noip

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"noip/internal/seccomp"
	"noip/internal/supervise"
)

// execve, execveat: a process that executes a program starts over with the
// settings of the environment it passes (read from its memory now, so
// nothing the program later does to its environment block changes them),
// once the execve succeeds; children it forked before keep the old ones.
// A setuid, setgid or file-capability program is about to run without its
// privileges (the filter needs no_new_privs): noip says so, once per
// program. That check looks the path up, which may block (a FUSE mount),
// so it runs off the loop, and the call goes on at once.
func (p *Policy) execve(c *supervise.Call) supervise.Result {
	cur := p.stateOf(c)
	envp := c.Arg(2)
	if c.Name == "execveat" {
		envp = c.Arg(3)
	}
	var env []string
	var err error
	if envp != 0 {
		ptrSize := 8
		if c.Arch != seccomp.Native {
			ptrSize = 4 // a 32-bit program's (x32's pointers are 32-bit too)
		}
		env, err = c.Proc.ReadStrings(envp, ptrSize, 1<<16, 128<<10)
	}
	switch {
	case err == nil:
		c.Exec(&procState{settings: p.settingsFor(env)})
	case cur.blind:
		// A non-dumpable process: its memory is closed to noip. The new
		// program, dumpable again, keeps the settings it had.
		c.Exec(&procState{settings: cur.settings})
	}
	if path := p.execPath(c); path != "" {
		select {
		case p.slowOps <- struct{}{}:
			go func() {
				defer func() { <-p.slowOps }()
				p.warnPrivileged(c, path)
			}()
		default: // many lookups hang already: skip the warning
		}
	}
	return supervise.Continue()
}

// warnPrivileged says, once per program, that path would run with
// privileges it does not get under noip.
func (p *Policy) warnPrivileged(c *supervise.Call, path string) {
	if !privileged(path) {
		return
	}
	p.setMu.Lock()
	if p.warned == nil {
		p.warned = make(map[string]bool)
	}
	first := !p.warned[path]
	p.warned[path] = true
	p.setMu.Unlock()
	if first {
		c.Log(path + " is setuid, setgid or has file capabilities: under noip it runs without those privileges")
	}
}

// execPath is the file an execve or execveat names, as the supervisor
// can reach it: relative paths through the process's working directory
// or directory fd in /proc. "" when it cannot be read.
func (p *Policy) execPath(c *supervise.Call) string {
	ptr, dirfd := c.Arg(0), int32(unix.AT_FDCWD)
	if c.Name == "execveat" {
		ptr, dirfd = c.Arg(1), c.Int(0)
	}
	path, err := c.Proc.ReadCString(ptr, 4096)
	if err != nil {
		return ""
	}
	pid := c.Tid()
	if pr := c.Process(); pr != nil {
		pid = pr.Pid // a non-leader thread's tid is gone after a successful execve
	}
	switch {
	case path == "":
		return ""
	case strings.HasPrefix(path, "/"):
		return path
	case dirfd == unix.AT_FDCWD:
		return "/proc/" + strconv.Itoa(pid) + "/cwd/" + path
	}
	return "/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(int(dirfd)) + "/" + path
}

// privileged reports a file that would gain privileges when executed.
func privileged(path string) bool {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	if st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		return true
	}
	n, err := unix.Getxattr(path, "security.capability", nil)
	return err == nil && n > 0
}

// seccomp: a program's own seccomp user notification cannot work under
// noip (the kernel allows one listener per process tree and answers
// EBUSY). noip lets the call fail as the kernel does, and says why.
func (p *Policy) seccomp(c *supervise.Call) supervise.Result {
	r := supervise.Continue()
	r.Warn = "this program uses seccomp user notification, which cannot work under noip: the kernel allows one listener per process tree (EBUSY)"
	return r
}

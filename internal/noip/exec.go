package noip

import (
	"bytes"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"noip/internal/supervise"
)

// execve, execveat: a process that executes a program starts over with the
// new program's environment, so its cached settings go. A setuid, setgid
// or file-capability program is about to run without its privileges (the
// filter needs no_new_privs): noip says so, once per program.
func (p *Policy) execve(c *supervise.Call) supervise.Result {
	c.Proc.SetData(nil)
	path := p.execPath(c)
	if path == "" || !privileged(path) {
		return supervise.Continue()
	}
	p.setMu.Lock()
	if p.warned == nil {
		p.warned = make(map[string]bool)
	}
	first := !p.warned[path]
	p.warned[path] = true
	p.setMu.Unlock()
	if !first {
		return supervise.Continue()
	}
	r := supervise.Continue()
	r.Warn = path + " is setuid, setgid or has file capabilities: under noip it runs without those privileges"
	return r
}

// execPath is the file an execve or execveat names, as the supervisor
// can reach it: relative paths through the process's working directory
// or directory fd in /proc. "" when it cannot be read.
func (p *Policy) execPath(c *supervise.Call) string {
	ptr, dirfd := c.Arg(0), int32(unix.AT_FDCWD)
	if c.Name == "execveat" {
		ptr, dirfd = c.Arg(1), c.Int(0)
	}
	b, err := c.Read(ptr, 4096)
	if err != nil {
		// The string may end before an unmapped page: read less.
		if b, err = c.Read(ptr, 256); err != nil {
			return ""
		}
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	path := string(b)
	switch {
	case path == "":
		return ""
	case strings.HasPrefix(path, "/"):
		return path
	case dirfd == unix.AT_FDCWD:
		return "/proc/" + strconv.Itoa(c.Tid()) + "/cwd/" + path
	}
	return "/proc/" + strconv.Itoa(c.Tid()) + "/fd/" + strconv.Itoa(int(dirfd)) + "/" + path
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

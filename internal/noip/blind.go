package noip

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"noip/internal/supervise"
)

// A process that makes itself non-dumpable (prctl PR_SET_DUMPABLE 0, as
// ssh-agent and gpg-agent do) closes its memory and fds to noip: the
// kernel refuses pidfd_getfd and process_vm_readv even to its own user.
// noip cannot see which socket or address such a process's calls name, so
// it may let them run only while it knows the process holds no real
// Internet socket: its plastic sockets then fail in the kernel (a Unix
// socket refuses an Internet address) and its own Unix sockets work. noip
// learns of the change at the prctl, while it can still look: a process
// then holding a real socket, and one that may have received one since (a
// recvmsg, which can carry fds, or pidfd_getfd), fails those calls closed.
// So does a process that became non-dumpable in another way.

// dumpable handles prctl(PR_SET_DUMPABLE, 0): the caller is still open to
// noip, which looks for real Internet sockets among its fds.
func (p *Policy) dumpable(c *supervise.Call) supervise.Result {
	st := p.stateOf(c)
	pid := c.Tid()
	if pr := c.Process(); pr != nil {
		pid = pr.Pid
	}
	real := p.holdsRealSocket(c, pid)
	ns := *st
	ns.blind, ns.tainted = true, st.tainted || real
	if pr := c.Process(); pr != nil {
		pr.SetData(&ns)
	}
	r := supervise.Continue()
	if real {
		r.Warn = "this process makes itself non-dumpable while it holds a real Internet socket: noip can no longer see its sockets, so its socket calls fail from now on"
	}
	return r
}

// holdsRealSocket reports whether process pid has an Internet socket
// among its fds that is not plastic.
func (p *Policy) holdsRealSocket(c *supervise.Call, pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return true // cannot tell: assume the worst
	}
	for _, e := range ents {
		link, err := os.Readlink(dir + "/" + e.Name())
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		ino, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64)
		p.mu.Lock()
		_, plastic := p.socks[ino]
		p.mu.Unlock()
		if plastic {
			continue
		}
		n, _ := strconv.Atoi(e.Name())
		fd, err := c.GetFD(n)
		if err != nil {
			return true
		}
		dom, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
		typ, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
		unix.Close(fd)
		if (dom == unix.AF_INET || dom == unix.AF_INET6) && (typ == unix.SOCK_STREAM || typ == unix.SOCK_DGRAM) {
			return true
		}
	}
	return false
}

// taint notes that a non-dumpable process may have received an fd noip
// could not look at (a recvmsg, pidfd_getfd).
func (p *Policy) taint(c *supervise.Call) {
	st := p.stateOf(c)
	if !st.blind || st.tainted {
		return
	}
	ns := *st
	ns.tainted = true
	if pr := c.Process(); pr != nil {
		pr.SetData(&ns)
	}
}

// pidfdGetfd: the fd a process takes from another may be a real Internet
// socket. noip sees it at its next use, unless the taker is non-dumpable.
func (p *Policy) pidfdGetfd(c *supervise.Call) supervise.Result {
	p.taint(c)
	return supervise.Continue()
}

// unseen answers a call whose fd noip could not take (err from GetFD).
func (p *Policy) unseen(c *supervise.Call, set *Settings, fd int32, err error) supervise.Result {
	if !errors.Is(err, unix.EPERM) {
		// The process is gone, or the kernel will not let us look.
		return supervise.Fail(unix.EBADF)
	}
	st := p.stateOf(c)
	if st.blind && !st.tainted {
		return supervise.Continue().WithNote(note(set, "%s(%d): the process is not dumpable and holds no real Internet socket: left to the kernel, which refuses Internet addresses on plastic sockets", c.Name, fd))
	}
	return supervise.Fail(unix.EPERM).WithNote(note(set, "%s(%d): the process is not dumpable, so noip cannot see its socket, and it may hold a real one: refused", c.Name, fd))
}

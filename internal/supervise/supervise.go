// Package supervise runs the notification loop of a seccomp listener: it
// receives intercepted calls, hands each to the policy's handler, and
// delivers the handler's answer to the kernel.
//
// It knows nothing of sockets or policy. It never blocks on a handler's
// behalf: a handler that must wait answers asynchronously.
package supervise

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"noip/internal/seccomp"
	"noip/internal/tracee"
)

// HandlerFunc handles one intercepted call.
type HandlerFunc func(c *Call) Result

// Handlers maps syscall names (as in seccomp.Arch.Nr) to their handlers.
type Handlers map[string]HandlerFunc

// Supervisor serves one listener.
type Supervisor struct {
	L seccomp.Listener
	// Log receives debug notes; nil discards them. Called from any goroutine.
	Log func(c *Call, note string)

	procs *tracee.Table
	abis  []abi
	// pruneAt is the cache size at which dead threads are next pruned.
	pruneAt int
}

type abi struct {
	arch     *seccomp.Arch
	handlers map[uint32]HandlerFunc
	names    map[uint32]string
}

// New returns a supervisor for listener l that dispatches the calls of the
// given ABIs to h.
func New(l seccomp.Listener, h Handlers, arches ...*seccomp.Arch) *Supervisor {
	sv := &Supervisor{L: l, procs: tracee.NewTable(), pruneAt: 256}
	for _, a := range arches {
		x := abi{arch: a, handlers: make(map[uint32]HandlerFunc), names: make(map[uint32]string)}
		for name, f := range h {
			if nr, ok := a.Number(name); ok {
				x.handlers[nr] = f
				x.names[nr] = name
			}
		}
		sv.abis = append(sv.abis, x)
	}
	return sv
}

// Procs is the thread cache, shared with handlers that need to look up
// other threads.
func (sv *Supervisor) Procs() *tracee.Table { return sv.procs }

// Run serves notifications until no process uses the filter any more. It
// locks its goroutine to one OS thread: with SYNC_WAKE_UP the kernel then
// switches straight from the caller to this thread on the same CPU.
func (sv *Supervisor) Run() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = sv.L.SetSyncWakeUp() // Linux < 6.6: slower, still correct
	pfd := []unix.PollFd{{Fd: int32(sv.L.FD), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(pfd, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("poll(seccomp listener)", err)
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
				return nil // every process using the filter is gone
			}
			continue
		}
		c := &Call{sv: sv}
		if err := sv.L.Recv(&c.N); err != nil {
			if err == unix.ENOENT || err == unix.EINTR {
				continue
			}
			return os.NewSyscallError("ioctl(SECCOMP_IOCTL_NOTIF_RECV)", err)
		}
		sv.dispatch(c)
	}
}

func (sv *Supervisor) dispatch(c *Call) {
	var f HandlerFunc
	for i := range sv.abis {
		a := &sv.abis[i]
		if a.arch.Audit != c.N.Data.Arch {
			continue
		}
		nr := uint32(c.N.Data.Nr)
		if (nr&0x40000000 != 0) != (a.arch.NrBase != 0) {
			continue
		}
		f, c.Arch, c.Name = a.handlers[nr], a.arch, a.names[nr]
		break
	}
	if f == nil {
		// The filter notified a call no handler claims: let it run rather
		// than fail a program; the filter tests keep the two in step.
		sv.answer(c, Continue())
		return
	}
	p, err := sv.procs.Get(c.Tid())
	if err != nil {
		// The thread is gone; so is its call.
		sv.answer(c, Continue())
		return
	}
	c.Proc = p
	if sv.procs.Len() >= sv.pruneAt {
		sv.procs.Prune()
		sv.pruneAt = max(256, 2*sv.procs.Len())
	}
	r := f(c)
	if r.kind == kAsync {
		return
	}
	c.answered.Store(true)
	if err := sv.answer(c, r); errors.Is(err, seccomp.ErrGone) {
		switch {
		case r.Gone != nil:
			r.Gone() // owns r's fd, if any
		case r.kind == kInject:
			unix.Close(r.fd)
		}
	}
	sv.logResult(c, r)
}

func (sv *Supervisor) logResult(c *Call, r Result) {
	if r.Note != "" && sv.Log != nil {
		sv.Log(c, r.Note)
	}
}

// answer delivers r. An fd to inject is closed once it is installed; if the
// call went away first, it stays open for the handler (see Call.Answer).
func (sv *Supervisor) answer(c *Call, r Result) error {
	if r.kind == kInject {
		_, err := sv.L.AddFD(&seccomp.AddFD{ID: c.N.ID, Flags: seccomp.AddFDSend, SrcFD: uint32(r.fd), NewFDFlags: r.flags})
		if err == nil {
			unix.Close(r.fd)
			return nil
		}
		if err == unix.ENOENT {
			return seccomp.ErrGone
		}
		// EMFILE and friends: the program gets the error the kernel gave.
		unix.Close(r.fd)
		r = Fail(err.(unix.Errno))
	}
	resp := seccomp.Resp{ID: c.N.ID}
	switch r.kind {
	case kContinue:
		resp.Flags = seccomp.FlagContinue
	case kValue:
		resp.Val = r.val
	case kErrno:
		resp.Error = -int32(r.errno)
	}
	if err := sv.L.Send(&resp); err != nil {
		if err == unix.ENOENT {
			return seccomp.ErrGone
		}
		return fmt.Errorf("answering %s: %w", c.Name, err)
	}
	return nil
}

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
	"time"

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
	waits []*wait // calls waiting for an fd, served by the loop
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
	// With nothing waiting, RECV blocks by itself: a poll first would cost
	// a syscall per call. RECV fails with ENOENT both when a call went
	// away before we took it and when no process uses the filter any
	// more: only the latter shows POLLHUP.
	var pfd []unix.PollFd
	lastCheck := time.Now()
	for {
		if len(sv.waits) > 0 {
			pfd = append(pfd[:0], unix.PollFd{Fd: int32(sv.L.FD), Events: unix.POLLIN})
			for _, w := range sv.waits {
				pfd = append(pfd, unix.PollFd{Fd: int32(w.fd), Events: w.events})
			}
			_, err := unix.Poll(pfd, int(waitCheck/time.Millisecond))
			if err != nil && err != unix.EINTR {
				return os.NewSyscallError("poll", err)
			}
			if err == nil {
				sv.serveWaits(pfd[1:])
			}
			if time.Since(lastCheck) >= waitCheck {
				sv.dropVanished()
				lastCheck = time.Now()
			}
			if err != nil || pfd[0].Revents&unix.POLLIN == 0 {
				continue
			}
		}
		c := &Call{sv: sv}
		err := sv.L.Recv(&c.N)
		switch err {
		case nil:
			sv.dispatch(c)
			continue
		case unix.ENOENT, unix.EINTR:
		default:
			return os.NewSyscallError("ioctl(SECCOMP_IOCTL_NOTIF_RECV)", err)
		}
		gone := []unix.PollFd{{Fd: int32(sv.L.FD), Events: unix.POLLIN}}
		if _, err := unix.Poll(gone, 0); err == nil && gone[0].Revents&unix.POLLHUP != 0 && gone[0].Revents&unix.POLLIN == 0 {
			return nil // every process using the filter is gone
		}
	}
}

// waitCheck is how often calls waiting for an fd are checked for having
// gone away (the program was interrupted, or died).
const waitCheck = 100 * time.Millisecond

// wait is a call answered when an fd becomes readable.
type wait struct {
	c      *Call
	fd     int
	events int16
	ready  func() (Result, bool)
	gone   func()
}

// Wait defers the answer to c until fd is readable: the loop then calls
// ready, which returns the answer, or false to go on waiting. If the call
// goes away first, gone is called instead. The loop never blocks on fd.
// Return the result of Wait from the handler.
func (c *Call) Wait(fd int, ready func() (Result, bool), gone func()) Result {
	return c.WaitFor(fd, unix.POLLIN, ready, gone)
}

// WaitFor is Wait for the given poll events (POLLOUT for a connect).
func (c *Call) WaitFor(fd int, events int16, ready func() (Result, bool), gone func()) Result {
	c.sv.waits = append(c.sv.waits, &wait{c: c, fd: fd, events: events, ready: ready, gone: gone})
	return Async()
}

// serveWaits runs the ready functions of the waits whose fds poll
// readable, and answers those that are done.
func (sv *Supervisor) serveWaits(ready []unix.PollFd) {
	keep := sv.waits[:0]
	for i, w := range sv.waits {
		if ready[i].Revents == 0 {
			keep = append(keep, w)
			continue
		}
		r, done := w.ready()
		if !done {
			keep = append(keep, w)
			continue
		}
		w.c.answered.Store(true)
		if err := sv.answer(w.c, r); errors.Is(err, seccomp.ErrGone) {
			switch {
			case r.Gone != nil:
				r.Gone()
			case r.kind == kInject:
				unix.Close(r.fd)
			}
		}
		sv.logResult(w.c, r)
	}
	clear(sv.waits[len(keep):])
	sv.waits = keep
}

// dropVanished forgets the waits whose calls went away.
func (sv *Supervisor) dropVanished() {
	keep := sv.waits[:0]
	for _, w := range sv.waits {
		if w.c.Valid() {
			keep = append(keep, w)
		} else if w.gone != nil {
			w.gone()
		}
	}
	clear(sv.waits[len(keep):])
	sv.waits = keep
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
	if sv.Log == nil {
		return
	}
	if r.Note != "" {
		sv.Log(c, r.Note)
	}
	if r.Warn != "" {
		sv.Log(c, r.Warn)
	}
}

// answer delivers r. An fd to inject is closed once it is installed, or
// refused; if the call went away first (ErrGone), it stays open for the
// handler to keep (see Call.Answer), and is never closed twice.
func (sv *Supervisor) answer(c *Call, r Result) error {
	if r.kind == kInject {
		_, err := sv.L.AddFD(&seccomp.AddFD{ID: c.N.ID, Flags: seccomp.AddFDSend, SrcFD: uint32(r.fd), NewFDFlags: r.flags})
		switch err {
		case nil:
			unix.Close(r.fd)
			return nil
		case unix.ENOENT, unix.EINPROGRESS:
			// Gone, or interrupted and about to come again as a new
			// notification: either way this one cannot be answered.
			return seccomp.ErrGone
		}
		// EMFILE and friends: the program gets the error the kernel gave.
		unix.Close(r.fd)
		r = Fail(err.(unix.Errno))
		if err := sv.send(c, r); err != nil && err != seccomp.ErrGone {
			return err
		}
		return nil
	}
	return sv.send(c, r)
}

// send answers with a value, an errno, or "continue".
func (sv *Supervisor) send(c *Call, r Result) error {
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
		if err == unix.ENOENT || err == unix.EINPROGRESS {
			return seccomp.ErrGone
		}
		return fmt.Errorf("answering %s: %w", c.Name, err)
	}
	return nil
}

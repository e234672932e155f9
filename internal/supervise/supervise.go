// Package supervise runs the notification loop of a seccomp listener: it
// receives intercepted calls, hands each to the policy's handler, and
// delivers the handler's answer to the kernel. It also keeps track of the
// served processes, so that a policy may hold per-process state that
// follows fork and execve (see Process).
//
// It knows nothing of sockets or policy. It never blocks on a handler's
// behalf: a handler that must wait answers asynchronously (Wait, When,
// Go). A handler that panics fails its own call with EIO, and the loop
// goes on serving the rest of the tree.
package supervise

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"noip/internal/seccomp"
	"noip/internal/tracee"
)

// HandlerFunc handles one intercepted call.
type HandlerFunc func(c *Call) Result

// Handlers maps syscall names (as in seccomp.Arch.Nr) to their handlers.
type Handlers map[string]HandlerFunc

// Notifier is the supervisor's side of a seccomp listener. seccomp.Listener
// is the real one; tests drive handlers with their own.
type Notifier interface {
	Recv(n *seccomp.Notif) error
	Send(r *seccomp.Resp) error
	Valid(id uint64) bool
	AddFD(a *seccomp.AddFD) (int, error)
	// Fd is the listener's fd, for poll.
	Fd() int
}

// Supervisor serves one listener.
type Supervisor struct {
	L Notifier
	// Log receives debug notes; nil discards them. Called from any goroutine.
	Log func(c *Call, note string)
	// Orphan gives the initial state of a process none of whose ancestors
	// is tracked (its parent exited before it made a call); nil means nil.
	Orphan func(pid int) any
	// Inherit gives a new process's state from its parent's; nil shares
	// the parent's value.
	Inherit func(parent any) any

	procs        *tracee.Table
	threadsAt    int // the thread cache size at which dead threads are next pruned
	processes    map[int]*Process
	procsPruneAt int
	abis         []abi
	waits        []*wait   // calls waiting for an fd, served by the loop
	parked       []*parked // calls waiting for a channel
	gos          goCalls   // calls answered by goroutines
	wakeFD       int       // eventfd: a parked call's channel is ready
	// retry: every waiting call's ready is to be tried again (Retry).
	retry    atomic.Bool
	killable bool // the filter waits killably (see signals.go)
}

type abi struct {
	arch     *seccomp.Arch
	handlers map[uint32]HandlerFunc
	names    map[uint32]string
}

// New returns a supervisor for listener l that dispatches the calls of the
// given ABIs to h.
func New(l Notifier, h Handlers, arches ...*seccomp.Arch) *Supervisor {
	sv := &Supervisor{L: l, procs: tracee.NewTable(), threadsAt: 256,
		processes: make(map[int]*Process), procsPruneAt: 256, wakeFD: -1}
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
	if fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err == nil {
		sv.wakeFD = fd
	}
	return sv
}

// Run serves notifications until no process uses the filter any more. It
// locks its goroutine to one OS thread: with SYNC_WAKE_UP the kernel then
// switches straight from the caller to this thread on the same CPU.
func (sv *Supervisor) Run() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if l, ok := sv.L.(seccomp.Listener); ok {
		_ = l.SetSyncWakeUp() // Linux < 6.6: slower, still correct
		sv.killable = l.Killable
	}
	// Threads that exit are forgotten (their pidfds closed) within a few
	// seconds, even while nothing calls: the cache holds live threads.
	stopPrune := make(chan struct{})
	defer close(stopPrune)
	go func() {
		t := time.NewTicker(pruneEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				sv.procs.Prune()
			case <-stopPrune:
				return
			}
		}
	}()
	// With nothing waiting, RECV blocks by itself: a poll first would cost
	// a syscall per call. RECV fails with ENOENT both when a call went
	// away before we took it and when no process uses the filter any
	// more: only the latter shows POLLHUP.
	var pfd []unix.PollFd
	lastCheck := time.Now()
	for {
		if len(sv.waits) > 0 || len(sv.parked) > 0 || sv.killable && sv.gos.len() > 0 {
			pfd = append(pfd[:0], unix.PollFd{Fd: int32(sv.L.Fd()), Events: unix.POLLIN}, unix.PollFd{Fd: int32(sv.wakeFD), Events: unix.POLLIN})
			for _, w := range sv.waits {
				pfd = append(pfd, unix.PollFd{Fd: int32(w.fd), Events: w.events})
			}
			_, err := unix.Poll(pfd, sv.pollTimeout())
			if err != nil && err != unix.EINTR {
				return os.NewSyscallError("poll", err)
			}
			if err == nil {
				if pfd[1].Revents != 0 {
					var b [8]byte
					unix.Read(sv.wakeFD, b[:])
				}
				if sv.retry.Swap(false) {
					for i := range pfd[2:] {
						pfd[2+i].Revents |= pfd[2+i].Events
					}
				}
				sv.serveWaits(pfd[2:])
				sv.serveParked()
			}
			if time.Since(lastCheck) >= waitCheck {
				sv.dropVanished()
				lastCheck = time.Now()
			}
			sv.expireWaits()
			sv.interruptSignalled()
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
		gone := []unix.PollFd{{Fd: int32(sv.L.Fd()), Events: unix.POLLIN}}
		if _, err := unix.Poll(gone, 0); err == nil && gone[0].Revents&unix.POLLHUP != 0 && gone[0].Revents&unix.POLLIN == 0 {
			return nil // every process using the filter is gone
		}
	}
}

// pruneEvery is how often exited threads are dropped from the cache.
const pruneEvery = 2 * time.Second

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
	// deadline, if not zero, answers the call with expired's result then.
	deadline time.Time
	expired  func() Result
	sig      sigCheck
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

// WaitUntil is WaitFor with a deadline (a receive timeout the program
// set): if fd is not ready by then, the call gets expired's answer.
func (c *Call) WaitUntil(fd int, events int16, deadline time.Time, ready func() (Result, bool), gone func(), expired func() Result) Result {
	c.sv.waits = append(c.sv.waits, &wait{c: c, fd: fd, events: events, ready: ready, gone: gone, deadline: deadline, expired: expired})
	return Async()
}

// parked is a call answered once a channel is closed.
type parked struct {
	c     *Call
	ready <-chan struct{}
	then  func() Result
	sig   sigCheck
}

// When defers the answer to c until ready is closed: the loop then calls
// then, on the loop, and answers with its result (which may itself be
// Async). Return the result of When from the handler.
func (c *Call) When(ready <-chan struct{}, then func() Result) Result {
	select {
	case <-ready:
		return then()
	default:
	}
	sv := c.sv
	sv.parked = append(sv.parked, &parked{c: c, ready: ready, then: then})
	go func() {
		<-ready
		var one [8]byte
		one[0] = 1
		unix.Write(sv.wakeFD, one[:])
	}()
	return Async()
}

// Retry has the loop try every waiting call's ready again soon: something
// their fds cannot show changed (a connection accepted for a call that
// went away is kept for the next accept, and the listener no longer polls
// readable for it). Safe from any goroutine.
func (c *Call) Retry() {
	c.sv.retry.Store(true)
	var one [8]byte
	one[0] = 1
	unix.Write(c.sv.wakeFD, one[:])
}

// Go runs f off the loop and answers c with its result: for work that
// may block (a path lookup, a retried connect). A panic in f fails the
// call with EIO. Return the result of Go from the handler.
func (c *Call) Go(f func() Result) Result {
	c.sv.gos.add(c)
	go func() {
		r := c.safely(f)
		c.sv.gos.remove(c)
		c.Answer(r)
	}()
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
		if !w.c.Valid() {
			// Gone (killed, interrupted): what ready would take is
			// left for the next call.
			if w.gone != nil {
				w.gone()
			}
			continue
		}
		done, panicked := false, true
		r := w.c.safely(func() Result {
			r, d := w.ready()
			done, panicked = d, false
			return r
		})
		done = done || panicked
		if !done {
			keep = append(keep, w)
			continue
		}
		sv.finish(w.c, r)
	}
	clear(sv.waits[len(keep):])
	sv.waits = keep
}

// serveParked answers the parked calls whose channel is closed.
func (sv *Supervisor) serveParked() {
	var run []*parked
	keep := sv.parked[:0]
	for _, p := range sv.parked {
		select {
		case <-p.ready:
			run = append(run, p)
		default:
			keep = append(keep, p)
		}
	}
	clear(sv.parked[len(keep):])
	sv.parked = keep
	for _, p := range run {
		r := p.c.safely(p.then)
		if r.kind != kAsync {
			sv.finish(p.c, r)
		}
	}
}

// pollTimeout is how long the loop may sleep in poll: until the next
// check for vanished calls, or the nearest deadline.
func (sv *Supervisor) pollTimeout() int {
	d := min(waitCheck, sv.nextSignalCheck())
	now := time.Now()
	for _, w := range sv.waits {
		if !w.deadline.IsZero() {
			d = min(d, max(0, w.deadline.Sub(now)))
		}
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// expireWaits answers the waits whose deadline has passed.
func (sv *Supervisor) expireWaits() {
	now := time.Now()
	keep := sv.waits[:0]
	var done []*wait
	for _, w := range sv.waits {
		if !w.deadline.IsZero() && !now.Before(w.deadline) {
			done = append(done, w)
		} else {
			keep = append(keep, w)
		}
	}
	clear(sv.waits[len(keep):])
	sv.waits = keep
	for _, w := range done {
		sv.finish(w.c, w.c.safely(w.expired))
	}
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
	pk := sv.parked[:0]
	for _, p := range sv.parked {
		if p.c.Valid() {
			pk = append(pk, p)
		}
	}
	clear(sv.parked[len(pk):])
	sv.parked = pk
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
		// The filter notified a call no handler claims. The filter tests
		// keep the two in step; should they not be, fail it (closed).
		sv.send(c, Fail(unix.ENOSYS))
		return
	}
	t, err := sv.thread(c.Tid())
	if err != nil {
		// The thread is gone; so is its call.
		sv.send(c, Fail(unix.ESRCH))
		return
	}
	c.Proc = t
	c.process = sv.processOf(t)
	if p := c.process; p != nil && p.pending != nil {
		p.settle()
		if p.pending != nil && p.pending.tid == c.Tid() {
			p.drop() // its execve failed: it is still the old program
		}
	}
	r := c.safely(func() Result { return f(c) })
	if r.kind == kAsync {
		return
	}
	sv.finish(c, r)
}

// thread returns the cached thread tid, opening it on its first call or
// when its tid has been reused since.
func (sv *Supervisor) thread(tid int) (*tracee.Proc, error) {
	t, err := sv.procs.Get(tid)
	if err != nil {
		return nil, err
	}
	if !t.Alive() {
		sv.procs.Forget(t)
		if t, err = sv.procs.Get(tid); err != nil {
			return nil, err
		}
	}
	if sv.procs.Len() >= sv.threadsAt {
		sv.procs.Prune()
		sv.threadsAt = max(256, 2*sv.procs.Len())
	}
	return t, nil
}

// safely runs a handler's function; a panic fails the call with EIO and
// says so, once per call, whatever the debug setting.
func (c *Call) safely(f func() Result) (r Result) {
	defer func() {
		if x := recover(); x != nil {
			r = Fail(unix.EIO)
			r.Warn = fmt.Sprintf("internal error in %s (the call fails with EIO; please report): %v\n%s", c.Name, x, debug.Stack())
		}
	}()
	return f()
}

// finish answers c with r, undoing r (Gone) if the call went away.
func (sv *Supervisor) finish(c *Call, r Result) {
	c.Answer(r)
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
// handler to keep (see Result.Gone), and is never closed twice.
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
		// EMFILE and friends: the program gets the error the kernel gave,
		// and never had the fd, so Gone undoes (an accepted connection
		// is kept for the next accept, as TCP keeps it queued).
		r.undo()
		e, _ := err.(unix.Errno)
		if e == 0 {
			e = unix.EIO
		}
		if err := sv.send(c, Fail(e)); err != nil && err != seccomp.ErrGone {
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

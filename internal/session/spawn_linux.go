package session

// This file forks the process that becomes CMD without the Go runtime:
// the child runs only raw system calls from a nosplit, norace function,
// so it needs no runtime, allocates nothing and cannot be preempted. That
// saves a whole Go start-up (a re-executed launcher) on every noip launch.
// The parent blocks every signal on its locked thread around the fork, so
// the child starts with all signals blocked and no Go handler can run in
// it; it resets caught signals to their default before unblocking them.

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// spawnArgs is everything the child needs, prepared by the parent: the
// child may only read it.
type spawnArgs struct {
	path    *byte
	argv    **byte
	envp    **byte
	prog    unix.SockFprog
	pgid    uintptr
	handoff uintptr // the child's end of the handoff socket
	ignored uint64  // signals (bit n-1) CMD starts with ignored
	failMsg *byte   // written to stderr if execve fails
	failLen uintptr
}

const sigIGN = 1

// spawnServed forks a child that joins process group pgid, installs filter
// with a new listener, writes the listener's fd number (4 bytes) to
// handoff, waits for one byte back (the supervisor holds the listener),
// and executes path. It returns the child's pid and a pidfd for it.
func spawnServed(path string, argv, env []string, filter []bpf.RawInstruction, pgid, handoff int, ignored uint64) (pid, pidfd int, err error) {
	a := &spawnArgs{pgid: uintptr(pgid), handoff: uintptr(handoff), ignored: ignored}
	if a.path, err = syscall.BytePtrFromString(path); err != nil {
		return 0, -1, err
	}
	av, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return 0, -1, err
	}
	ev, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return 0, -1, err
	}
	a.argv, a.envp = &av[0], &ev[0]
	if len(filter) == 0 {
		return 0, -1, errors.New("empty filter")
	}
	a.prog = unix.SockFprog{Len: uint16(len(filter)), Filter: (*unix.SockFilter)(unsafe.Pointer(&filter[0]))}
	msg := []byte(fmt.Sprintf("noip: %s: cannot execute\n", path))
	a.failMsg, a.failLen = &msg[0], uintptr(len(msg))

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	all, old := ^uint64(0), uint64(0)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	p, fd, e := forkServed(a)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	runtime.KeepAlive(a)
	runtime.KeepAlive(av)
	runtime.KeepAlive(ev)
	runtime.KeepAlive(msg)
	runtime.KeepAlive(filter)
	if e != 0 {
		return 0, -1, fmt.Errorf("clone: %w", e)
	}
	return int(p), int(fd), nil
}

// seccompWaitKillableRecv is SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV.
const seccompWaitKillableRecv = 1 << 5

// forkServed is the fork. In the child it never returns.
//
//go:nosplit
//go:norace
func forkServed(a *spawnArgs) (pid uintptr, pidfd int32, err syscall.Errno) {
	var (
		lfd      uintptr
		killable uintptr
		dfl      [4]uint64 // struct sigaction: handler, flags, restorer, mask
		ign      [4]uint64
		buf      [4]byte
		none     uint64
		r1       uintptr
		e        syscall.Errno
		sig      uintptr
		status   uintptr = 125
	)
	r1, _, e = syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD|unix.CLONE_PIDFD), 0, uintptr(unsafe.Pointer(&pidfd)), 0, 0, 0)
	if e != 0 || r1 != 0 {
		return r1, pidfd, e
	}

	// The child. Every signal gets the disposition CMD should start with:
	// the default, or ignored if noip was started with it ignored. (Caught
	// ones would be reset by execve, but the Go runtime's handlers must
	// not run here once signals are unblocked, and ignored ones would
	// stay ignored.)
	ign[0] = sigIGN
	for sig = 1; sig <= 64; sig++ {
		if sig == uintptr(syscall.SIGKILL) || sig == uintptr(syscall.SIGSTOP) || sig == 32 || sig == 33 {
			continue
		}
		if a.ignored&(1<<(sig-1)) != 0 {
			syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&ign)), 0, 8, 0, 0)
		} else {
			syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
		}
	}
	if _, _, e = syscall.RawSyscall(syscall.SYS_SETPGID, 0, a.pgid, 0); e != 0 {
		goto fail
	}
	if _, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); e != 0 {
		goto fail
	}
	// WAIT_KILLABLE_RECV (Linux 5.19): once the supervisor has taken a
	// call, only a fatal signal interrupts it, so an answer is never lost
	// to a signal (see supervise's killable mode).
	killable = 1 << 31
	lfd, _, e = syscall.RawSyscall(unix.SYS_SECCOMP, 1 /* SET_MODE_FILTER */, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER|seccompWaitKillableRecv, uintptr(unsafe.Pointer(&a.prog)))
	if e == syscall.EINVAL {
		killable = 0
		lfd, _, e = syscall.RawSyscall(unix.SYS_SECCOMP, 1 /* SET_MODE_FILTER */, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&a.prog)))
	}
	if e != 0 {
		goto fail
	}
	// From here until execve: only write, read, close and sigprocmask,
	// none of which the filter notifies.
	buf[0], buf[1], buf[2], buf[3] = byte(lfd), byte(lfd>>8), byte(lfd>>16), byte((lfd|killable)>>24)
	if _, _, e = syscall.RawSyscall(syscall.SYS_WRITE, a.handoff, uintptr(unsafe.Pointer(&buf[0])), 4); e != 0 {
		goto fail
	}
	if r1, _, e = syscall.RawSyscall(syscall.SYS_READ, a.handoff, uintptr(unsafe.Pointer(&buf[0])), 1); e != 0 || r1 != 1 {
		goto fail // the supervisor is gone: do not run CMD unserved
	}
	syscall.RawSyscall(syscall.SYS_CLOSE, lfd, 0, 0)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&none)), 0, 8, 0, 0)
	_, _, e = syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(a.path)), uintptr(unsafe.Pointer(a.argv)), uintptr(unsafe.Pointer(a.envp)))
	syscall.RawSyscall(syscall.SYS_WRITE, 2, uintptr(unsafe.Pointer(a.failMsg)), a.failLen)
	status = 126
	if e == syscall.ENOENT {
		status = 127
	}
fail:
	// Tell the supervisor why (one byte: the errno), for its message.
	buf[0] = byte(e)
	syscall.RawSyscall(syscall.SYS_WRITE, a.handoff, uintptr(unsafe.Pointer(&buf[0])), 1)
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, status, 0, 0)
	}
}

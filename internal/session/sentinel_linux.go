package session

// The sentinel tells the front which signals were sent to its whole
// process group, which CMD (in the same group) received too, from the ones
// sent to the front alone, which it must pass on. Go cannot tell: both
// arrive the same way, and a signal's sender is the same either way. A
// second member of the group that receives nothing else can: whatever it
// gets came to the group.
//
// It is forked without the Go runtime, like CMD's process (see
// spawn_linux.go): a loop of raw system calls that reads the signals from a
// signalfd, with every signal blocked, and writes each one's number to a
// pipe. It holds nothing of the user's (its stdio is closed) and exits when
// the front, the pipe's only reader, is gone.

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

type sentinel struct {
	pid     int
	reports chan unix.Signal
	counts  map[unix.Signal]int
}

// stop ends the sentinel and reaps it, so that it does not linger as a
// zombie of whoever inherits it.
func (s *sentinel) stop() {
	if s == nil {
		return
	}
	unix.Kill(s.pid, unix.SIGKILL)
	var ws unix.WaitStatus
	unix.Wait4(s.pid, &ws, 0, nil)
}

// startSentinel forks the sentinel for the given signals. A nil sentinel
// (it could not start) leaves the front to its heuristic.
func startSentinel(sigs []unix.Signal) *sentinel {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil
	}
	var mask uint64
	for _, s := range sigs {
		mask |= 1 << (uint(s) - 1)
	}
	runtime.LockOSThread()
	all, old := ^uint64(0), uint64(0)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	pid, e := forkSentinel(mask, uintptr(p[1]))
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	runtime.UnlockOSThread()
	unix.Close(p[1])
	if e != 0 {
		unix.Close(p[0])
		return nil
	}
	s := &sentinel{pid: int(pid), reports: make(chan unix.Signal, 64), counts: make(map[unix.Signal]int)}
	go func() {
		var b [1]byte
		for {
			n, err := unix.Read(p[0], b[:])
			if err == unix.EINTR {
				continue
			}
			if n != 1 {
				return
			}
			s.reports <- unix.Signal(b[0])
		}
	}()
	return s
}

// groupGot reports whether sig also came to the whole process group,
// waiting up to wait for the sentinel to say so.
func (s *sentinel) groupGot(sig unix.Signal, wait time.Duration) bool {
	timeout := time.After(wait)
	for {
		if s.counts[sig] > 0 {
			s.counts[sig]--
			return true
		}
		select {
		case r := <-s.reports:
			s.counts[r]++
		case <-timeout:
			return false
		}
	}
}

// forkSentinel forks the sentinel; in the child it never returns. All
// signals must be blocked on the calling thread.
//
//go:nosplit
//go:norace
func forkSentinel(mask uint64, report uintptr) (pid uintptr, err syscall.Errno) {
	var (
		r1   uintptr
		e    syscall.Errno
		pfd  [2]unix.PollFd
		info [128]byte // struct signalfd_siginfo
		b    [1]byte
	)
	r1, _, e = syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || r1 != 0 {
		return r1, e
	}
	// The child: fd 0 reports, fd 1 is the signalfd, nothing else is open.
	r1, _, e = syscall.RawSyscall6(unix.SYS_SIGNALFD4, ^uintptr(0), uintptr(unsafe.Pointer(&mask)), 8, 0, 0, 0)
	if e != 0 {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 1, 0, 0)
	}
	syscall.RawSyscall(syscall.SYS_DUP3, report, 0, 0)
	syscall.RawSyscall(syscall.SYS_DUP3, r1, 1, 0)
	syscall.RawSyscall(unix.SYS_CLOSE_RANGE, 2, ^uintptr(0)>>32, 0)
	pfd[0].Fd, pfd[0].Events = 1, unix.POLLIN
	pfd[1].Fd = 0 // POLLERR when the front, the only reader, is gone
	for {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd[0])), 2, 0, 0, 0, 0); e != 0 && e != syscall.EINTR {
			break
		}
		if pfd[1].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
			break
		}
		if pfd[0].Revents&unix.POLLIN != 0 {
			if r1, _, e = syscall.RawSyscall(syscall.SYS_READ, 1, uintptr(unsafe.Pointer(&info[0])), uintptr(len(info))); e == 0 && r1 == uintptr(len(info)) {
				b[0] = info[0] // ssi_signo, little-endian
				if _, _, e = syscall.RawSyscall(syscall.SYS_WRITE, 0, uintptr(unsafe.Pointer(&b[0])), 1); e != 0 {
					break
				}
			}
		}
	}
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
}

package seccomp

// This file holds the only unsafe code of the package: the seccomp(2)
// wrapper and the user-notification ioctls. Each passes a pointer to a
// fixed-size struct whose layout is checked against the kernel's by the
// size assertions below; the kernel reads or writes exactly that struct
// during the call and keeps no reference to it afterwards.

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Notif is struct seccomp_notif: one intercepted system call.
type Notif struct {
	ID    uint64
	Pid   uint32 // thread id of the caller, in the supervisor's pid namespace
	Flags uint32
	Data  Data
}

// Data is struct seccomp_data.
type Data struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

// Resp is struct seccomp_notif_resp.
type Resp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// AddFD is struct seccomp_notif_addfd.
type AddFD struct {
	ID         uint64
	Flags      uint32
	SrcFD      uint32
	NewFD      uint32
	NewFDFlags uint32
}

// Sizes the kernel ABI fixes; a mismatch fails to compile.
var (
	_ [80 - unsafe.Sizeof(Notif{})]byte
	_ [unsafe.Sizeof(Notif{}) - 80]byte
	_ [24 - unsafe.Sizeof(Resp{})]byte
	_ [unsafe.Sizeof(Resp{}) - 24]byte
	_ [24 - unsafe.Sizeof(AddFD{})]byte
	_ [unsafe.Sizeof(AddFD{}) - 24]byte
)

const (
	ioctlRecv     = 0xc0502100
	ioctlSend     = 0xc0182101
	ioctlIDValid  = 0x40082102
	ioctlAddFD    = 0x40182103
	ioctlSetFlags = 0x40082104

	setModeFilter = 1

	// FlagContinue in Resp.Flags lets the call run in the kernel as is.
	FlagContinue = 1
	// AddFDSetFD places the fd at NewFD, replacing what is there.
	AddFDSetFD = 1
	// AddFDSend places the fd and answers the call with its number, atomically.
	AddFDSend = 2
)

// Install sets no_new_privs on the calling thread and installs filter on it
// with a new listener, which it returns. The caller must be locked to its OS
// thread, and must make no call the filter notifies before handing the
// listener to a supervisor.
func Install(filter []bpf.RawInstruction) (listener int, err error) {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, os.NewSyscallError("prctl(PR_SET_NO_NEW_PRIVS)", err)
	}
	prog := unix.SockFprog{
		Len:    uint16(len(filter)),
		Filter: (*unix.SockFilter)(unsafe.Pointer(&filter[0])),
	}
	fd, _, e := unix.RawSyscall(unix.SYS_SECCOMP, setModeFilter,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&prog)))
	if e != 0 {
		return -1, os.NewSyscallError("seccomp(SET_MODE_FILTER, NEW_LISTENER)", e)
	}
	return int(fd), nil
}

// Listener is the supervisor's end of a filter: the fd seccomp returned.
type Listener struct {
	FD int
	// Killable: the filter was installed with WAIT_KILLABLE_RECV, so a
	// call the supervisor has received waits for its answer through any
	// signal but a fatal one.
	Killable bool
}

// Fd returns the listener's fd.
func (l Listener) Fd() int { return l.FD }

// Recv waits for the next notification. It returns ENOENT when the call it
// was about to deliver went away, which the caller should just retry.
func (l Listener) Recv(n *Notif) error {
	*n = Notif{}
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(l.FD), ioctlRecv, uintptr(unsafe.Pointer(n)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// Send answers a notification. ENOENT means the call is gone (the program
// was interrupted or killed).
func (l Listener) Send(r *Resp) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(l.FD), ioctlSend, uintptr(unsafe.Pointer(r)))
	if e != 0 {
		return e
	}
	return nil
}

// Valid reports whether notification id still stands for a waiting call.
// Check it after reading the program's memory and before acting on what was
// read: the program may have been interrupted and its pid reused.
func (l Listener) Valid(id uint64) bool {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(l.FD), ioctlIDValid, uintptr(unsafe.Pointer(&id)))
	return e == 0
}

// AddFD installs a copy of one of the supervisor's fds in the program and
// returns its number there.
//
// The ioctl runs with every signal blocked on its thread. With
// AddFDSend, the kernel marks the call answered as soon as it queues the
// request; if a signal (the Go runtime sends them freely) then interrupts
// the ioctl before the program took the fd, the request is withdrawn but
// the call still completes, with the value 0. Seen in a stress test: a
// program's socket() returned 0, its stdin.
func (l Listener) AddFD(a *AddFD) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	all, old := ^uint64(0), uint64(0)
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	fd, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(l.FD), ioctlAddFD, uintptr(unsafe.Pointer(a)))
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// SetSyncWakeUp asks the kernel to wake the supervisor on the caller's CPU
// (Linux 6.6): a notified call then costs a few microseconds instead of a
// cross-CPU wake-up.
func (l Listener) SetSyncWakeUp() error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(l.FD), ioctlSetFlags, unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
	if e != 0 {
		return fmt.Errorf("seccomp SET_FLAGS(SYNC_WAKE_UP): %w", e)
	}
	return nil
}

// ErrGone reports that a notification's call went away before an answer.
var ErrGone = errors.New("seccomp: notified call went away")

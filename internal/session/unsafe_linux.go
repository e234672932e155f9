package session

import (
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSigaction is the kernel's struct sigaction for rt_sigaction on
// x86-64 and arm64: handler, flags, restorer, mask. All zero is SIG_DFL.
type kernelSigaction [4]uint64

func sigaction(sig int, act, old *kernelSigaction) {
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
}

// raiseDefault takes sig's default action on this process (stop, or
// terminate) behind the Go runtime's back: the runtime keeps its own
// handler for signals once caught, and ignores some (a user-sent SIGSEGV,
// a SIGTSTP nobody asked for) instead of acting on them. The runtime's
// handler is put back afterwards, for a stop that returns.
func raiseDefault(sig unix.Signal) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var dfl, old kernelSigaction
	sigaction(int(sig), &dfl, &old)
	set := uint64(1) << (sig - 1)
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_UNBLOCK, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	unix.Tgkill(os.Getpid(), unix.Gettid(), sig)
	sigaction(int(sig), &old, nil)
}

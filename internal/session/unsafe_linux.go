package session

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The launcher's raw execve takes the addresses of NUL-terminated strings
// and pointer arrays built by syscall.SlicePtrFromStrings; they stay
// referenced by the caller until the call, which never returns on success.

func unsafePtr(p *byte) unsafe.Pointer { return unsafe.Pointer(p) }

func unsafeSlice(p []*byte) unsafe.Pointer { return unsafe.Pointer(&p[0]) }

// sigDefault sets sig's disposition to SIG_DFL behind the Go runtime's back,
// so that raising it next takes the kernel's default action (the runtime
// would ignore a user-sent SIGSEGV, for one). A zeroed struct sigaction is
// SIG_DFL with no flags and an empty mask in both the x86-64 and arm64
// layouts; the kernel only reads it during the call.
func sigDefault(sig int) {
	var act [4]uint64
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act[0])), 0, 8, 0, 0)
	var set [1]uint64
	set[0] = 1 << (sig - 1)
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_UNBLOCK, uintptr(unsafe.Pointer(&set[0])), 0, 8, 0, 0)
}

package seccomp

import "fmt"

// Arch is one system-call ABI as seccomp sees it: the AUDIT_ARCH value in
// seccomp_data.arch and that ABI's syscall numbers. Both supported native
// ABIs and their 32-bit compat ABIs are plain data here (not build-tagged),
// so the filter for every architecture can be tested on any host.
type Arch struct {
	Name  string
	Audit uint32
	// Nr maps syscall names to numbers. A name missing here does not exist
	// in this ABI.
	Nr map[string]uint32
	// NrBase is added to every number of this ABI before comparison (the
	// x32 ABI sets bit 30); zero for the others.
	NrBase uint32
}

// Number returns the syscall number of name in a, or false if the ABI has
// no such call.
func (a *Arch) Number(name string) (uint32, bool) {
	n, ok := a.Nr[name]
	return n + a.NrBase, ok
}

// SyscallName returns the name of syscall nr in a, for debugging.
func (a *Arch) SyscallName(nr uint32) string {
	for name, n := range a.Nr {
		if n+a.NrBase == nr {
			return name
		}
	}
	return fmt.Sprintf("syscall_%d", nr)
}

const (
	auditArchX86_64  = 0xc000003e
	auditArchI386    = 0x40000003
	auditArchAARCH64 = 0xc00000b7
	auditArchARM     = 0x40000028
)

// x32Bit marks x32 syscalls, which arrive with the x86-64 audit arch.
const x32Bit = 0x40000000

// X86_64 is the x86-64 ABI.
var X86_64 = &Arch{Name: "x86_64", Audit: auditArchX86_64, Nr: map[string]uint32{
	"prctl": 157, "pidfd_getfd": 438, "open": 2, "openat": 257, "creat": 85, "openat2": 437,
	"ioctl": 16, "socket": 41, "connect": 42, "accept": 43, "sendto": 44,
	"recvfrom": 45, "sendmsg": 46, "recvmsg": 47, "shutdown": 48, "bind": 49,
	"listen": 50, "getsockname": 51, "getpeername": 52, "socketpair": 53,
	"setsockopt": 54, "getsockopt": 55, "execve": 59, "accept4": 288,
	"recvmmsg": 299, "sendmmsg": 307, "seccomp": 317, "execveat": 322, "io_uring_setup": 425,
	"io_uring_enter": 426, "io_uring_register": 427, "mmap": 9,
}}

// I386 is the 32-bit x86 ABI that x86-64 kernels also accept (int 0x80).
var I386 = &Arch{Name: "i386", Audit: auditArchI386, Nr: map[string]uint32{
	"prctl": 172, "pidfd_getfd": 438, "open": 5, "openat": 295, "creat": 8, "openat2": 437,
	"execve": 11, "ioctl": 54, "socketcall": 102, "recvmmsg": 337,
	"sendmmsg": 345, "execveat": 358, "socket": 359, "socketpair": 360,
	"bind": 361, "connect": 362, "listen": 363, "accept4": 364,
	"getsockopt": 365, "setsockopt": 366, "getsockname": 367,
	"getpeername": 368, "sendto": 369, "sendmsg": 370, "recvfrom": 371,
	"recvmsg": 372, "shutdown": 373, "seccomp": 354, "io_uring_setup": 425,
	"io_uring_enter": 426, "io_uring_register": 427, "mmap2": 192, "old_mmap": 90,
}}

// X32 is the x32 ABI: x86-64 registers, 32-bit pointers, numbers with bit 30
// set. Most of its socket calls share x86-64's numbers.
var X32 = &Arch{Name: "x32", Audit: auditArchX86_64, NrBase: x32Bit, Nr: map[string]uint32{
	"prctl": 157, "pidfd_getfd": 438, "open": 2, "openat": 257, "creat": 85, "openat2": 437,
	"ioctl": 514, "socket": 41, "connect": 42, "accept": 43, "sendto": 44,
	"shutdown": 48, "bind": 49, "listen": 50, "getsockname": 51,
	"getpeername": 52, "socketpair": 53, "setsockopt": 541, "getsockopt": 542,
	"execve": 520, "accept4": 288, "execveat": 545, "recvfrom": 517,
	"sendmsg": 518, "recvmsg": 519, "recvmmsg": 537, "sendmmsg": 538,
	"seccomp": 317, "io_uring_setup": 425,
	"io_uring_enter": 426, "io_uring_register": 427, "mmap": 9,
}}

// AArch64 is the 64-bit Arm ABI.
var AArch64 = &Arch{Name: "aarch64", Audit: auditArchAARCH64, Nr: map[string]uint32{
	"prctl": 167, "pidfd_getfd": 438, "openat": 56, "openat2": 437,
	"ioctl": 29, "socket": 198, "socketpair": 199, "bind": 200, "listen": 201,
	"accept": 202, "connect": 203, "getsockname": 204, "getpeername": 205,
	"sendto": 206, "recvfrom": 207, "setsockopt": 208, "getsockopt": 209,
	"shutdown": 210, "sendmsg": 211, "recvmsg": 212, "execve": 221,
	"accept4": 242, "recvmmsg": 243, "sendmmsg": 269, "seccomp": 277, "execveat": 281,
	"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "mmap": 222,
}}

// ARM is the 32-bit Arm (EABI) compat ABI of arm64 kernels.
var ARM = &Arch{Name: "arm", Audit: auditArchARM, Nr: map[string]uint32{
	"prctl": 172, "pidfd_getfd": 438, "open": 5, "openat": 322, "creat": 8, "openat2": 437,
	"execve": 11, "ioctl": 54, "socket": 281, "bind": 282, "connect": 283,
	"listen": 284, "accept": 285, "getsockname": 286, "getpeername": 287,
	"socketpair": 288, "sendto": 290, "recvfrom": 292, "shutdown": 293,
	"setsockopt": 294, "getsockopt": 295, "sendmsg": 296, "recvmsg": 297,
	"recvmmsg": 365, "accept4": 366, "sendmmsg": 374, "seccomp": 383, "execveat": 387,
	"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "mmap2": 192,
}}

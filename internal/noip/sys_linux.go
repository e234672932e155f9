package noip

// This file holds the raw socket calls x/sys does not offer in the form
// noip needs: option calls on arbitrary bytes with the kernel's own length
// handling. Each passes pointers to Go memory that the kernel reads or
// writes during the call only.

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// getsockopt asks fd for option (level, name) into a buffer of n bytes and
// returns what the kernel wrote and the length it reported.
func getsockopt(fd int, level, name int32, n int) ([]byte, int, unix.Errno) {
	buf := make([]byte, max(n, 1))
	l := uint32(n)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return nil, 0, e
	}
	return buf[:min(int(l), n)], int(int32(l)), 0
}

// setsockopt sets option (level, name) of fd to val, exactly as given
// (the kernel checks the length).
func setsockopt(fd int, level, name int32, val []byte, n int32) unix.Errno {
	var p unsafe.Pointer
	if len(val) > 0 {
		p = unsafe.Pointer(&val[0])
	}
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name), uintptr(p), uintptr(n), 0)
	return e
}

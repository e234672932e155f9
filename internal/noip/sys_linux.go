package noip

// This file holds the raw socket calls x/sys does not offer in the form
// noip needs: option calls on arbitrary bytes with the kernel's own length
// handling. Each passes pointers to Go memory that the kernel reads or
// writes during the call only.

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// getsockopt asks fd for option (level, name) with a buffer of n bytes
// (n may be negative, as a program may pass) and returns what the kernel
// wrote and the length it reported.
func getsockopt(fd int, level, name int32, n int) ([]byte, int, unix.Errno) {
	buf := make([]byte, max(min(n, 64<<10), 64))
	l := uint32(int32(min(n, 64<<10)))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return nil, 0, e
	}
	got := int(int32(l))
	if n < 0 {
		// Some levels take a negative length as a huge one and write.
		return buf[:max(0, min(got, len(buf)))], got, 0
	}
	return buf[:max(0, min(got, n))], got, 0
}

// getsockoptNull asks fd for option (level, name) into a NULL buffer of n
// bytes, as a program may, and returns the length the kernel stored.
func getsockoptNull(fd int, level, name int32, n int32) (int32, unix.Errno) {
	l := uint32(n)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name), 0, uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return 0, e
	}
	return int32(l), 0
}

// getsockoptErr is the kernel's answer to a getsockopt whose optlen
// pointer is unreadable, asked with such a pointer here; valid says the
// value pointer is not NULL.
func getsockoptErr(fd int, level, name int32, valid bool) unix.Errno {
	var buf [64]byte
	val := unsafe.Pointer(&buf[0])
	if !valid {
		val = nil
	}
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name), uintptr(val), uintptr(badPage()), 0)
	if e == 0 {
		return unix.EFAULT
	}
	return e
}

// setsockoptPtr sets option (level, name) of fd from memory at p, which
// may be unreadable: for the kernel's answer to a program's bad pointer.
func setsockoptPtr(fd int, level, name int32, p unsafe.Pointer, n int32) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name), uintptr(p), uintptr(n), 0)
	return e
}

// badPage is a page the supervisor cannot read or write: where it points
// the kernel when the program passed an unusable pointer, so that the
// kernel gives the program's errno.
var badPage = sync.OnceValue(func() unsafe.Pointer {
	b, err := unix.Mmap(-1, 0, 4096, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil
	}
	return unsafe.Pointer(&b[0])
})

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

// ioctlPtr runs ioctl req on fd with b as its argument.
func ioctlPtr(fd int, req uint, b []byte) unix.Errno {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(&b[0])))
	return e
}

// recvmsgRaw receives on fd into p and oob with flags, and returns the
// byte count, the control bytes, the flags the kernel set, and the
// sender's address as raw sockaddr bytes (empty for an unnamed sender):
// x/sys renders an unnamed Unix address like an abstract one.
func recvmsgRaw(fd int, p, oob []byte, flags int) (n int, oobn int, recvflags int, from []byte, err unix.Errno) {
	var name [128]byte
	var iov unix.Iovec
	if len(p) > 0 {
		iov.Base = &p[0]
		iov.SetLen(len(p))
	}
	var msg unix.Msghdr
	msg.Name = &name[0]
	msg.Namelen = uint32(len(name))
	msg.Iov = &iov
	msg.Iovlen = 1
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	if e != 0 {
		return 0, 0, 0, nil, e
	}
	return int(r), int(msg.Controllen), int(msg.Flags), append([]byte(nil), name[:min(int(msg.Namelen), len(name))]...), 0
}

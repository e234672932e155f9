package sockdir

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
)

// PeerName returns the Unix name of fd's peer as the kernel has it,
// abstract names with their leading NUL, "" for an unnamed peer.
// x/sys renders an unnamed socket like an abstract one, so this uses the raw
// call and the returned length. The pointers passed are to a local array and
// length that the kernel fills during the call.
func PeerName(fd int) (string, error) {
	var sa [inet.SizeofSockaddrUnix]byte
	n := uint32(len(sa))
	_, _, e := unix.RawSyscall(unix.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return "", e
	}
	if n <= 2 {
		return "", nil
	}
	path := sa[2:min(int(n), len(sa))]
	if path[0] != 0 {
		for i, ch := range path {
			if ch == 0 {
				path = path[:i]
				break
			}
		}
	}
	return string(path), nil
}

// ConnectUnspec connects fd to the AF_UNSPEC address, which dissolves a
// TCP socket's association. x/sys has no AF_UNSPEC sockaddr; the local
// array is read by the kernel during the call only.
func ConnectUnspec(fd int) error {
	var sa [16]byte
	_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa)))
	if e != 0 {
		return e
	}
	return nil
}

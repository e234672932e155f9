package noip

import (
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
	"noip/internal/supervise"
)

func itoa(n int) string { return strconv.Itoa(n) }

// readSockaddr reads the address argument of bind/connect as the kernel
// would: a negative or oversized length is EINVAL, an unreadable buffer
// EFAULT.
func readSockaddr(c *supervise.Call, ptr uint64, n int32) ([]byte, unix.Errno) {
	if n < 0 || n > inet.SizeofSockaddrStorage {
		return nil, unix.EINVAL
	}
	if n == 0 {
		return nil, 0
	}
	b, err := c.Read(ptr, int(n))
	if err != nil {
		return nil, unix.EFAULT
	}
	return b, 0
}

// readTarget reads and checks the address argument of bind or connect
// (op) for socket s, as the kernel would, and then that the call is still
// waiting. ok false: answer with r.
func readTarget(c *supervise.Call, s *sock, op string) (ap netip.AddrPort, unspec bool, r supervise.Result, ok bool) {
	b, e := readSockaddr(c, c.Arg(1), c.Int(2))
	if e == 0 {
		ap, unspec, e = decodeFor(s, b, op)
	}
	switch {
	case e != 0:
		return ap, false, supervise.Fail(e), false
	case !c.Valid():
		return ap, false, supervise.Fail(unix.EINTR), false
	}
	return ap, unspec, supervise.Result{}, true
}

// decodeFor checks a bind or connect address against the socket's family
// the way the Internet stack does, and returns it unmapped.
// unspec reports an AF_UNSPEC address, which bind and connect treat
// specially.
func decodeFor(s *sock, b []byte, op string) (ap netip.AddrPort, unspec bool, e unix.Errno) {
	if len(b) < 2 {
		return ap, false, unix.EINVAL
	}
	fam := inet.Family(b)
	if fam == inet.AF_UNSPEC && op == "connect" {
		return ap, true, 0 // any length: the kernel looks at the family only
	}
	switch s.family {
	case inet.AF_INET:
		if len(b) < inet.SizeofSockaddrInet4 {
			return ap, false, unix.EINVAL
		}
		switch fam {
		case inet.AF_INET:
		case inet.AF_UNSPEC:
			// bind accepts AF_UNSPEC with INADDR_ANY, for old programs.
			if b[4]|b[5]|b[6]|b[7] != 0 {
				return ap, false, unix.EAFNOSUPPORT
			}
			b = append([]byte{}, b[:inet.SizeofSockaddrInet4]...)
			b[0], b[1] = inet.AF_INET, 0
		default:
			return ap, false, unix.EAFNOSUPPORT
		}
		ap, _ = inet.ParseSockaddr(b)
		return ap, false, 0
	case inet.AF_INET6:
		const sin6LenRFC2133 = 24
		if fam == inet.AF_INET && op == "connect" && s.typ == unix.SOCK_DGRAM {
			// UDP over IPv6 connects to an IPv4 address as to its
			// v4-mapped one.
			if s.v6only {
				return ap, false, unix.EAFNOSUPPORT
			}
			if len(b) < inet.SizeofSockaddrInet4 {
				return ap, false, unix.EINVAL
			}
			ap, _ = inet.ParseSockaddr(b[:inet.SizeofSockaddrInet4])
			return ap, false, 0
		}
		if len(b) < sin6LenRFC2133 {
			return ap, false, unix.EINVAL
		}
		if fam != inet.AF_INET6 {
			return ap, false, unix.EAFNOSUPPORT
		}
		if len(b) < inet.SizeofSockaddrInet6 {
			b = append(append([]byte{}, b...), make([]byte, inet.SizeofSockaddrInet6-len(b))...)
		}
		ap, _ = inet.ParseSockaddr(b)
		a := ap.Addr()
		switch {
		case op == "bind" && a.IsMulticast() && s.typ == unix.SOCK_STREAM:
			return ap, false, unix.EINVAL
		case (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() && s.typ == unix.SOCK_DGRAM) && a.Zone() == "":
			return ap, false, unix.EINVAL // needs an interface
		case !a.IsLinkLocalUnicast() && !a.IsLinkLocalMulticast() && a.Zone() != "":
			ap = netip.AddrPortFrom(a.WithZone(""), ap.Port()) // the kernel keeps no scope for it
		}
		if ap.Addr().Is4In6() {
			if s.v6only {
				if op == "connect" {
					return ap, false, unix.ENETUNREACH
				}
				return ap, false, unix.EINVAL
			}
			ap = inet.Unmap(ap)
		}
		return ap, false, 0
	}
	return ap, false, unix.EAFNOSUPPORT
}

// writeSockaddr stores ap where a getsockname-style call puts its result:
// the address truncated to *lenPtr bytes, and its full length in *lenPtr.
// A NULL address with a zero length only learns the length, as in the
// kernel; with a non-zero length it is EFAULT.
func writeSockaddr(c *supervise.Call, family int, ap netip.AddrPort, addrPtr, lenPtr uint64) unix.Errno {
	max, err := c.ReadInt32(lenPtr)
	if err != nil {
		return unix.EFAULT
	}
	if max < 0 {
		return unix.EINVAL
	}
	sa := inet.AppendSockaddr(nil, family, ap)
	n := min(int(max), len(sa))
	// Linux stores the length even when the address cannot be written.
	if err := c.WriteInt32(lenPtr, int32(len(sa))); err != nil {
		return unix.EFAULT
	}
	if n > 0 && (addrPtr == 0 || c.Write(addrPtr, sa[:n]) != nil) {
		return unix.EFAULT
	}
	return 0
}

// reportable is how an address is shown to the program: connecting to the
// unspecified address means the loopback address, as Linux does it.
func reportable(ap netip.AddrPort, family int) netip.AddrPort {
	if ap.Addr().IsUnspecified() {
		fam := family
		if ap.Addr().Is4() {
			fam = inet.AF_INET
		}
		return netip.AddrPortFrom(inet.Loopback(fam), ap.Port())
	}
	return ap
}

// errnoOf extracts the errno from a syscall error, EIO if there is none.
func errnoOf(err error) unix.Errno {
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	if se, ok := err.(*os.SyscallError); ok {
		if e, ok := se.Err.(unix.Errno); ok {
			return e
		}
	}
	return unix.EIO
}

// Package inet converts between the three ways noip spells an Internet
// endpoint: the sockaddr bytes a program passes to the kernel, netip values,
// and the file names of plastic endpoints in the socket directory.
//
// It is pure: it makes no system calls and knows nothing about policy.
// It does not resolve host names and never produces a Unix path; joining a
// name to a directory is the caller's business.
package inet

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
)

// Address families and socket types as Linux numbers them. They are the same
// on every architecture noip supports, so they live here rather than being
// taken from golang.org/x/sys/unix, which would make this package Linux-only.
const (
	AF_UNSPEC = 0
	AF_UNIX   = 1
	AF_INET   = 2
	AF_INET6  = 10

	SizeofSockaddrInet4 = 16
	SizeofSockaddrInet6 = 28
	// SizeofSockaddrStorage is the most the kernel copies in for an address.
	SizeofSockaddrStorage = 128
	// SizeofSockaddrUnix is sizeof(struct sockaddr_un).
	SizeofSockaddrUnix = 110
)

// Unmap returns ap with a v4-mapped IPv6 address (::ffff:a.b.c.d) turned
// into the IPv4 address it maps, because both name the same endpoint.
func Unmap(ap netip.AddrPort) netip.AddrPort {
	if ap.Addr().Is4In6() {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return ap
}

// Name returns the file name of the plastic endpoint for ap: "a.b.c.d:PORT"
// for IPv4 (v4-mapped addresses included) and "[ADDR]:PORT" for IPv6, with
// ADDR in its canonical RFC 5952 text and a non-zero scope as "%N".
func Name(ap netip.AddrPort) string {
	return Unmap(ap).String()
}

// ParseName is the inverse of Name. It accepts only canonical names, so that
// exactly one file name stands for each endpoint and foreign files in the
// socket directory are not mistaken for endpoints.
func ParseName(s string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || Name(ap) != s {
		return netip.AddrPort{}, false
	}
	if z := ap.Addr().Zone(); z != "" {
		if n, err := strconv.ParseUint(z, 10, 32); err != nil || n == 0 {
			return netip.AddrPort{}, false
		}
	}
	return ap, true
}

// Wildcard returns the unspecified address of ap's family (after unmapping)
// with ap's port: 0.0.0.0:P or [::]:P.
func Wildcard(ap netip.AddrPort) netip.AddrPort {
	if Unmap(ap).Addr().Is4() {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), ap.Port())
	}
	return netip.AddrPortFrom(netip.IPv6Unspecified(), ap.Port())
}

// Loopback returns the loopback address of an Internet family.
func Loopback(family int) netip.Addr {
	if family == AF_INET6 {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// Unspecified returns the unspecified address of an Internet family, which
// is what an unbound socket reports as its name.
func Unspecified(family int) netip.Addr {
	if family == AF_INET6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// Family returns the sa_family of a sockaddr, or -1 when b is too short to
// hold one.
func Family(b []byte) int {
	if len(b) < 2 {
		return -1
	}
	return int(binary.NativeEndian.Uint16(b))
}

// ParseSockaddr decodes an AF_INET or AF_INET6 sockaddr. ok is false when b
// is not one, or is shorter than its family's structure; the caller decides
// which errno that is, because the kernel's answer depends on the call.
func ParseSockaddr(b []byte) (ap netip.AddrPort, ok bool) {
	switch Family(b) {
	case AF_INET:
		if len(b) < SizeofSockaddrInet4 {
			return ap, false
		}
		port := binary.BigEndian.Uint16(b[2:4])
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port), true
	case AF_INET6:
		if len(b) < SizeofSockaddrInet6 {
			return ap, false
		}
		port := binary.BigEndian.Uint16(b[2:4])
		addr := netip.AddrFrom16([16]byte(b[8:24]))
		if scope := binary.NativeEndian.Uint32(b[24:28]); scope != 0 {
			addr = addr.WithZone(strconv.FormatUint(uint64(scope), 10))
		}
		return netip.AddrPortFrom(addr, port), true
	}
	return ap, false
}

// AppendSockaddr appends ap as the sockaddr a socket of family reports:
// sockaddr_in for AF_INET, sockaddr_in6 for AF_INET6, with IPv4 addresses
// v4-mapped on an AF_INET6 socket as the kernel does for dual-stack sockets.
func AppendSockaddr(b []byte, family int, ap netip.AddrPort) []byte {
	addr := ap.Addr()
	if family == AF_INET6 {
		var sa [SizeofSockaddrInet6]byte
		binary.NativeEndian.PutUint16(sa[0:2], AF_INET6)
		binary.BigEndian.PutUint16(sa[2:4], ap.Port())
		if addr.Is4() {
			addr = netip.AddrFrom16(addr.As16())
		}
		a16 := addr.As16()
		copy(sa[8:24], a16[:])
		if z := addr.Zone(); z != "" {
			scope, _ := strconv.ParseUint(z, 10, 32)
			binary.NativeEndian.PutUint32(sa[24:28], uint32(scope))
		}
		return append(b, sa[:]...)
	}
	var sa [SizeofSockaddrInet4]byte
	binary.NativeEndian.PutUint16(sa[0:2], AF_INET)
	binary.BigEndian.PutUint16(sa[2:4], ap.Port())
	if a := addr.Unmap(); a.Is4() {
		a4 := a.As4()
		copy(sa[4:8], a4[:])
	} // an IPv6 address has no IPv4 form: 0.0.0.0
	return append(b, sa[:]...)
}

// clientPrefix starts the abstract Unix name of a connecting socket that noip
// bound implicitly. Such names cost nothing to clean up: the kernel forgets
// them when the socket closes, so client connections leave no files behind.
const clientPrefix = "noip/"

// ClientName returns the abstract name (without its leading NUL) for a
// connecting socket with local address local that dialled remote. token
// makes it unguessable: abstract names are visible to, and bindable by,
// every user of the network namespace, who must not be able to squat the
// names a user's clients will need. The dialled address rides along so
// that the server's end of the connection can report the address the
// client used, even for a wildcard listener; it is left out when the two
// would not fit in a sockaddr_un.
func ClientName(token string, local, remote netip.AddrPort) string {
	s := clientPrefix + token + "/" + Name(local)
	if full := s + ">" + Name(remote); len(full)+1 < SizeofSockaddrUnix-2 {
		return full
	}
	return s
}

// ParseUnixName decodes the name of a plastic Unix socket as the kernel
// reports it (sun_path bytes without the family, abstract names starting
// with NUL). It understands the abstract names of ClientName and socket-file
// paths whose last component is an endpoint Name; dialled is the zero
// AddrPort when the name does not carry it. The caller must already know the
// socket is plastic, and that its peer is the user's: a path is decoded by
// its last component alone, because long socket directories are reached
// through /proc/self/fd paths, and anyone may bind an abstract name.
func ParseUnixName(path string) (local, dialled netip.AddrPort, ok bool) {
	if strings.HasPrefix(path, "\x00") {
		rest, found := strings.CutPrefix(path[1:], clientPrefix)
		if !found {
			return local, dialled, false
		}
		if _, rest, found = strings.Cut(rest, "/"); !found {
			return local, dialled, false
		}
		l, r, hasR := strings.Cut(rest, ">")
		if local, ok = ParseName(l); !ok {
			return local, dialled, false
		}
		if hasR {
			if dialled, ok = ParseName(r); !ok {
				return local, dialled, false
			}
		}
		return local, dialled, true
	}
	base := path[strings.LastIndexByte(path, '/')+1:]
	local, ok = ParseName(base)
	return local, dialled, ok
}

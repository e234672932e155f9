package noip

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
)

func sin(family uint16, ap string, n int) []byte {
	b := make([]byte, 128)
	binary.NativeEndian.PutUint16(b, family)
	if ap != "" {
		a := netip.MustParseAddrPort(ap)
		binary.BigEndian.PutUint16(b[2:], a.Port())
		if a.Addr().Is4() && family != inet.AF_INET6 {
			x := a.Addr().As4()
			copy(b[4:], x[:])
		} else {
			x := a.Addr().As16()
			copy(b[8:], x[:])
		}
	}
	return b[:n]
}

// TestDecodeFor checks bind and connect addresses are judged as the
// kernel's TCP judges them (measured: docs/kernel.md, the probes' table).
func TestDecodeFor(t *testing.T) {
	v4 := &sock{family: inet.AF_INET, typ: unix.SOCK_STREAM}
	v6 := &sock{family: inet.AF_INET6, typ: unix.SOCK_STREAM}
	v6only := &sock{family: inet.AF_INET6, typ: unix.SOCK_STREAM, v6only: true}
	tests := []struct {
		desc  string
		s     *sock
		op    string
		b     []byte
		want  string // address, "unspec", or ""
		errno unix.Errno
	}{
		{"v4 bind len 0", v4, "bind", nil, "", unix.EINVAL},
		{"v4 bind len 1", v4, "bind", sin(2, "", 1), "", unix.EINVAL},
		{"v4 bind len 15", v4, "bind", sin(2, "127.0.0.1:80", 15), "", unix.EINVAL},
		{"v4 bind len 16", v4, "bind", sin(2, "127.0.0.1:80", 16), "127.0.0.1:80", 0},
		{"v4 bind len 128", v4, "bind", sin(2, "127.0.0.1:80", 128), "127.0.0.1:80", 0},
		{"v4 bind AF_UNSPEC any", v4, "bind", sin(0, "0.0.0.0:80", 16), "0.0.0.0:80", 0},
		{"v4 bind AF_UNSPEC loopback", v4, "bind", sin(0, "127.0.0.1:80", 16), "", unix.EAFNOSUPPORT},
		{"v4 bind AF_UNSPEC len 2", v4, "bind", sin(0, "", 2), "", unix.EINVAL},
		{"v4 bind AF_INET6 len 28", v4, "bind", sin(10, "[::1]:80", 28), "", unix.EAFNOSUPPORT},
		{"v4 connect AF_INET6 len 16", v4, "connect", sin(10, "[::1]:80", 16), "", unix.EAFNOSUPPORT},
		{"v4 connect AF_UNSPEC len 2", v4, "connect", sin(0, "", 2), "unspec", 0},
		{"v4 connect AF_UNSPEC len 16", v4, "connect", sin(0, "", 16), "unspec", 0},
		{"v6 bind len 23", v6, "bind", sin(10, "[::1]:80", 23), "", unix.EINVAL},
		{"v6 bind len 24", v6, "bind", sin(10, "[::1]:80", 24), "[::1]:80", 0},
		{"v6 bind len 28", v6, "bind", sin(10, "[::1]:80", 28), "[::1]:80", 0},
		{"v6 bind AF_INET len 16", v6, "bind", sin(2, "127.0.0.1:80", 16), "", unix.EINVAL},
		{"v6 bind AF_INET len 28", v6, "bind", sin(2, "127.0.0.1:80", 28), "", unix.EAFNOSUPPORT},
		{"v6 bind AF_UNSPEC", v6, "bind", sin(0, "", 28), "", unix.EAFNOSUPPORT},
		{"v6 connect AF_UNSPEC", v6, "connect", sin(0, "", 28), "unspec", 0},
		{"v6 bind v4-mapped", v6, "bind", sin(10, "[::ffff:127.0.0.1]:80", 28), "127.0.0.1:80", 0},
		{"v6only bind v4-mapped", v6only, "bind", sin(10, "[::ffff:127.0.0.1]:80", 28), "", unix.EINVAL},
		{"v6only connect v4-mapped", v6only, "connect", sin(10, "[::ffff:127.0.0.1]:80", 28), "", unix.ENETUNREACH},
	}
	for _, tt := range tests {
		ap, unspec, e := decodeFor(tt.s, tt.b, tt.op)
		got := ""
		switch {
		case e != 0:
		case unspec:
			got = "unspec"
		default:
			got = ap.String()
		}
		if got != tt.want || e != tt.errno {
			t.Errorf("%s: decodeFor = %q, %v; want %q, %v", tt.desc, got, e, tt.want, tt.errno)
		}
	}
}

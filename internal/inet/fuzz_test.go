package inet

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseName: only canonical names parse, and a parsed name prints
// back as itself (one file name per endpoint).
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"127.0.0.1:80", "[::1]:8080", "[fe80::1%2]:53", "[::ffff:1.2.3.4]:1", "1.2.3.4:0", "[fe80::1%0]:1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, ok := ParseName(s)
		if !ok {
			return
		}
		if Name(ap) != s {
			t.Fatalf("ParseName(%q) = %v, which names %q", s, ap, Name(ap))
		}
		if ap.Addr().Is4In6() {
			t.Fatalf("ParseName(%q) kept a v4-mapped address", s)
		}
	})
}

// FuzzParseUnixName: no name panics; what a client name encodes comes
// back from it; a socket path is decoded by its last component only.
func FuzzParseUnixName(f *testing.F) {
	f.Add("\x00noip/0123456789abcdef/127.0.0.1:5>127.0.0.1:80", []byte{127, 0, 0, 1}, uint16(5), []byte{127, 0, 0, 2}, uint16(80))
	f.Add("/run/user/1000/noip/[::1]:22", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint16(1), []byte{10, 0, 0, 1}, uint16(65535))
	f.Add("\x00noip/", []byte{}, uint16(0), []byte{}, uint16(0))
	f.Fuzz(func(t *testing.T, path string, la []byte, lp uint16, ra []byte, rp uint16) {
		local, dialled, ok := ParseUnixName(path)
		if ok && !strings.HasPrefix(path, "\x00") && Name(local) != path[strings.LastIndexByte(path, '/')+1:] {
			t.Fatalf("ParseUnixName(%q) = %v, not its last component", path, local)
		}
		if !ok && (local.IsValid() || dialled.IsValid()) && !strings.HasPrefix(path, "\x00") {
			t.Fatalf("ParseUnixName(%q) failed but returned %v %v", path, local, dialled)
		}
		l, okl := netip.AddrFromSlice(la)
		r, okr := netip.AddrFromSlice(ra)
		if !okl || !okr {
			return
		}
		lap, rap := Unmap(netip.AddrPortFrom(l, lp)), Unmap(netip.AddrPortFrom(r, rp))
		name := ClientName("0123456789abcdef", lap, rap)
		if len(name)+1 > SizeofSockaddrUnix-2 {
			t.Fatalf("ClientName %q does not fit a sockaddr_un", name)
		}
		gl, gd, ok := ParseUnixName("\x00" + name)
		if !ok || gl != lap || (gd.IsValid() && gd != rap) {
			t.Fatalf("ParseUnixName(ClientName(%v, %v)) = %v %v %v", lap, rap, gl, gd, ok)
		}
	})
}

// FuzzSockaddr: no bytes panic ParseSockaddr; what it decodes encodes
// back to the same bytes (for the fields the kernel reads).
func FuzzSockaddr(f *testing.F) {
	f.Add([]byte{2, 0, 0, 80, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{10, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0})
	f.Add([]byte{1, 0})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		ap, ok := ParseSockaddr(b)
		if !ok {
			return
		}
		fam := Family(b)
		out := AppendSockaddr(nil, fam, ap)
		n := SizeofSockaddrInet4
		if fam == AF_INET6 {
			n = SizeofSockaddrInet6
		}
		if len(out) != n {
			t.Fatalf("AppendSockaddr gave %d bytes for family %d, want %d", len(out), fam, n)
		}
		// Port and address bytes: family 2-4, IPv4 4-8, IPv6 8-24 and the scope.
		check := [][2]int{{0, 4}, {4, 8}}
		if fam == AF_INET6 {
			check = [][2]int{{0, 4}, {8, 24}, {24, 28}}
		}
		for _, r := range check {
			if string(out[r[0]:r[1]]) != string(b[r[0]:r[1]]) {
				t.Fatalf("%x decoded to %v, encoded back as %x", b[:n], ap, out)
			}
		}
	})
}

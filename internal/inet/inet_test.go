package inet

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"127.0.0.1:8000", "127.0.0.1:8000"},
		{"[::1]:80", "[::1]:80"},
		{"[::ffff:127.0.0.1]:80", "127.0.0.1:80"},
		{"[2001:db8:0:0:0:0:0:1]:443", "[2001:db8::1]:443"},
		{"[2001:DB8::A]:1", "[2001:db8::a]:1"},
		{"[fe80::1%2]:22", "[fe80::1%2]:22"},
		{"0.0.0.0:0", "0.0.0.0:0"},
		{"[::]:65535", "[::]:65535"},
	}
	for _, tt := range tests {
		ap := netip.MustParseAddrPort(tt.in)
		if got := Name(ap); got != tt.want {
			t.Errorf("Name(%s) = %q, want %q", tt.in, got, tt.want)
		}
		back, ok := ParseName(tt.want)
		if !ok || back != Unmap(ap) {
			t.Errorf("ParseName(%q) = %v, %v; want %v", tt.want, back, ok, Unmap(ap))
		}
	}
}

// Only canonical names are endpoints: anything else in the directory is
// someone else's file.
func TestParseNameRejects(t *testing.T) {
	for _, s := range []string{
		"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:80x", "[::1]", "::1:80",
		"[0:0:0:0:0:0:0:1]:80", "[::ffff:127.0.0.1]:80", "127.000.0.1:80",
		"127.0.0.1:080", "[fe80::1%eth0]:22", "[fe80::1%0]:22", "localhost:80",
		"127.0.0.1:65536", "notes.txt",
	} {
		if ap, ok := ParseName(s); ok {
			t.Errorf("ParseName(%q) = %v, true; want false", s, ap)
		}
	}
}

func TestSockaddr(t *testing.T) {
	tests := []struct {
		family int
		ap     string
		want   []byte
	}{
		{AF_INET, "127.0.0.1:8000", []byte{2, 0, 0x1f, 0x40, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}},
		{AF_INET6, "[::1]:80", append([]byte{10, 0, 0, 80, 0, 0, 0, 0}, append(netip.IPv6Loopback().AsSlice(), 0, 0, 0, 0)...)},
		{AF_INET6, "127.0.0.1:80", append([]byte{10, 0, 0, 80, 0, 0, 0, 0}, append(netip.MustParseAddr("::ffff:127.0.0.1").AsSlice(), 0, 0, 0, 0)...)},
		{AF_INET6, "[fe80::1%3]:22", append([]byte{10, 0, 0, 22, 0, 0, 0, 0}, append(netip.MustParseAddr("fe80::1").AsSlice(), 3, 0, 0, 0)...)},
	}
	for _, tt := range tests {
		ap := netip.MustParseAddrPort(tt.ap)
		got := AppendSockaddr(nil, tt.family, ap)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("AppendSockaddr(%d, %v) = %v, want %v", tt.family, ap, got, tt.want)
		}
		back, ok := ParseSockaddr(got)
		want := ap
		if tt.family == AF_INET6 && ap.Addr().Is4() {
			want = netip.AddrPortFrom(netip.AddrFrom16(ap.Addr().As16()), ap.Port())
		}
		if !ok || back != want {
			t.Errorf("ParseSockaddr(AppendSockaddr(%v)) = %v, %v; want %v", ap, back, ok, want)
		}
	}
	for _, b := range [][]byte{nil, {2}, {2, 0, 0, 80}, {10, 0, 0, 80, 0, 0, 0, 0, 0, 0}, {1, 0, '/', 't'}} {
		if ap, ok := ParseSockaddr(b); ok {
			t.Errorf("ParseSockaddr(%v) = %v, true; want false", b, ap)
		}
	}
}

func TestClientName(t *testing.T) {
	tests := []struct {
		local, remote string
		want          string
	}{
		{"127.0.0.1:40000", "127.0.0.1:8000", "noip/0123456789abcdef/127.0.0.1:40000>127.0.0.1:8000"},
		{"[::1]:40000", "[::1]:80", "noip/0123456789abcdef/[::1]:40000>[::1]:80"},
		// Two longest IPv6 endpoints do not fit: the dialled one is left out.
		{"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535",
			"noip/0123456789abcdef/[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
	}
	for _, tt := range tests {
		l, r := netip.MustParseAddrPort(tt.local), netip.MustParseAddrPort(tt.remote)
		got := ClientName("0123456789abcdef", l, r)
		if got != tt.want {
			t.Errorf("ClientName(%v, %v) = %q, want %q", l, r, got, tt.want)
		}
		if len(got)+1 > SizeofSockaddrUnix-2 {
			t.Errorf("ClientName(%v, %v) is %d bytes, more than a sockaddr_un holds", l, r, len(got))
		}
		if !strings.Contains(tt.want, ">") {
			r = netip.AddrPort{}
		}
		gl, gr, ok := ParseUnixName("\x00" + got)
		if !ok || gl != l || gr != r {
			t.Errorf("ParseUnixName(%q) = %v, %v, %v; want %v, %v", got, gl, gr, ok, l, r)
		}
	}
}

func TestParseUnixName(t *testing.T) {
	tests := []struct {
		in      string
		local   string
		dialled string
		ok      bool
	}{
		{"/tmp/noip-u/127.0.0.1:8000", "127.0.0.1:8000", "", true},
		{"/proc/self/fd/7/[::1]:80", "[::1]:80", "", true},
		{"\x00noip/5f3a/127.0.0.1:5>0.0.0.0:9", "127.0.0.1:5", "0.0.0.0:9", true},
		{"\x00noip/5f3a/127.0.0.1:5", "127.0.0.1:5", "", true},
		{"\x00noip/127.0.0.1:5", "", "", false}, // the old, guessable form
		{"\x00other/127.0.0.1:5", "", "", false},
		{"/tmp/x/socket", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		l, d, ok := ParseUnixName(tt.in)
		if ok != tt.ok || (ok && (l.String() != tt.local || (tt.dialled != "" && d.String() != tt.dialled) || (tt.dialled == "" && d.IsValid()))) {
			t.Errorf("ParseUnixName(%q) = %v, %v, %v; want %s, %s, %v", tt.in, l, d, ok, tt.local, tt.dialled, tt.ok)
		}
	}
}

package config

import (
	"net/netip"
	"slices"
	"testing"
)

// canonical is the example of SPEC §4, as a user would have it in ~/.noip.
const canonical = `## debug
realconnect +127.0.0.1:6010-6020, +[::1]:6010-6020
realconnect +127.0.0.1:53, +[::1]:53
realconnect +local:22
realconnect -127.0.0.0/8, -[::1]
realconnect -local
`

// fakeLocals is a Locals with a fixed set of addresses.
type fakeLocals map[netip.Addr]bool

func (f fakeLocals) IsLocal(a netip.Addr) bool { return f[a] }

func newFakeLocals(addrs ...string) fakeLocals {
	f := fakeLocals{}
	for _, s := range addrs {
		f[netip.MustParseAddr(s)] = true
	}
	return f
}

func mustParse(t testing.TB, text string) *Config {
	t.Helper()
	c, err := ParseFile("/home/u/.noip", []byte(text))
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	return c
}

func TestCanonicalExample(t *testing.T) {
	c := mustParse(t, canonical)
	if c.Debug != 0 {
		t.Errorf("Debug = %d, want 0 (the debug line is a comment)", c.Debug)
	}
	var got []string
	for _, e := range c.RealConnect.Entries {
		got = append(got, e.String()+" @"+e.Origin.String())
	}
	want := []string{
		"+127.0.0.1:6010-6020 @/home/u/.noip:2",
		"+[::1]:6010-6020 @/home/u/.noip:2",
		"+127.0.0.1:53 @/home/u/.noip:3",
		"+[::1]:53 @/home/u/.noip:3",
		"+local:22 @/home/u/.noip:4",
		"-127.0.0.0/8 @/home/u/.noip:5",
		"-[::1] @/home/u/.noip:5",
		"-local @/home/u/.noip:6",
	}
	if !slices.Equal(got, want) {
		t.Errorf("realconnect entries:\n got %q\nwant %q", got, want)
	}

	locals := newFakeLocals("192.168.1.5", "127.0.0.1", "2001:db8:1::5")
	tests := []struct {
		addr      string
		wantReal  bool
		wantIndex int // deciding entry, -1 for the default
	}{
		// X11 forwards.
		{"127.0.0.1:6010", true, 0},
		{"127.0.0.1:6015", true, 0},
		{"127.0.0.1:6020", true, 0},
		{"127.0.0.1:6009", false, 5},
		{"127.0.0.1:6021", false, 5},
		{"[::1]:6010", true, 1},
		{"[::1]:6020", true, 1},
		{"[::1]:6021", false, 6},
		// v4-mapped addresses match as IPv4.
		{"[::ffff:127.0.0.1]:6010", true, 0},
		{"[::ffff:127.0.0.1]:80", false, 5},
		// DNS on loopback.
		{"127.0.0.1:53", true, 2},
		{"[::1]:53", true, 3},
		{"127.0.0.2:53", false, 5},
		// SSH to any local address.
		{"127.0.0.1:22", true, 4},
		{"192.168.1.5:22", true, 4},
		{"[2001:db8:1::5]:22", true, 4},
		{"127.0.0.9:22", true, 4}, // all of 127/8 is local
		{"[::ffff:192.168.1.5]:22", true, 4},
		// Other loopback and local addresses stay plastic.
		{"127.0.0.1:80", false, 5},
		{"127.0.0.2:80", false, 5},
		{"127.255.255.255:8080", false, 5},
		{"[::1]:80", false, 6},
		{"192.168.1.5:80", false, 7},
		{"[2001:db8:1::5]:443", false, 7},
		{"0.0.0.0:80", false, 7}, // connecting to 0.0.0.0 reaches this machine
		{"[::]:80", false, 7},
		// The Internet is real: no entry matches, the last says "-".
		{"8.8.8.8:53", true, -1},
		{"192.168.1.6:22", true, -1},
		{"[2001:db8::1]:443", true, -1},
		{"[::ffff:8.8.8.8]:53", true, -1},
		{"[::2]:53", true, -1},
	}
	for _, tt := range tests {
		ap := netip.MustParseAddrPort(tt.addr)
		v := c.Decide(OpConnect, ap, locals)
		if v.Allow != tt.wantReal || v.Index != tt.wantIndex {
			t.Errorf("Decide(connect, %v) = (real %v, entry %d), want (real %v, entry %d); %v", ap, v.Allow, v.Index, tt.wantReal, tt.wantIndex, v)
		}
		if tt.wantIndex < 0 && v.Reason != ReasonDefault {
			t.Errorf("Decide(connect, %v).Reason = %v, want ReasonDefault", ap, v.Reason)
		}
		// realbind is empty: every bind stays plastic.
		if v := c.Decide(OpBind, ap, locals); v.Allow || v.Reason != ReasonEmpty {
			t.Errorf("Decide(bind, %v) = %v, want plastic (empty)", ap, v)
		}
	}
}

func TestSquidDefault(t *testing.T) {
	tests := []struct {
		acl  string
		addr string
		want bool
	}{
		{"+127.0.0.2", "127.0.0.2:80", true},
		{"+127.0.0.2", "127.0.0.1:80", false}, // last is +: default deny
		{"+127.0.0.2", "[::1]:80", false},
		{"-127.0.0.2", "127.0.0.2:80", false},
		{"-127.0.0.2", "127.0.0.1:80", true}, // last is -: default allow
		{"-127.0.0.2", "[2001:db8::1]:80", true},
		{"+any:22, -10.0.0.0/8", "10.1.1.1:22", true},
		{"+any:22, -10.0.0.0/8", "10.1.1.1:23", false},
		{"+any:22, -10.0.0.0/8", "11.1.1.1:23", true},
		{"-any", "1.2.3.4:5", false},
		{"+any", "[::1]:5", true},
		{"-[::]/0", "[2001:db8::1]:1", false},
		{"-[::]/0", "[::ffff:1.2.3.4]:1", true}, // mapped is not in an IPv6 range
		{"-0.0.0.0/0", "[::ffff:1.2.3.4]:1", false},
	}
	for _, tt := range tests {
		c := mustParse(t, "realconnect "+tt.acl)
		ap := netip.MustParseAddrPort(tt.addr)
		if got := c.RealConnect.Match(ap, nil); got.Allow != tt.want {
			t.Errorf("[%s].Match(%v) = %v, want real=%v", tt.acl, ap, got, tt.want)
		}
	}
}

func TestEmptyListDenies(t *testing.T) {
	c := mustParse(t, "")
	for _, s := range []string{"127.0.0.1:80", "8.8.8.8:53", "[::1]:1"} {
		ap := netip.MustParseAddrPort(s)
		for _, op := range []Op{OpBind, OpConnect} {
			v := c.Decide(op, ap, nil)
			if v.Allow || v.Reason != ReasonEmpty || v.Index != -1 {
				t.Errorf("Decide(%v, %v) = %+v, want deny, ReasonEmpty, index -1", op, ap, v)
			}
		}
	}
	if v := mustParse(t, "realbind +any").Decide(OpBind, netip.AddrPort{}, nil); v.Allow || v.Reason != ReasonInvalid {
		t.Errorf("Decide(bind, invalid) = %+v, want deny, ReasonInvalid", v)
	}
	if v := mustParse(t, "realbind +any").Decide(Op(9), netip.MustParseAddrPort("1.2.3.4:5"), nil); v.Allow {
		t.Errorf("Decide(Op(9), …) = %+v, want deny", v)
	}
}

func TestAddrRangeContains(t *testing.T) {
	locals := newFakeLocals("192.168.1.5", "fe80::1")
	tests := []struct {
		rng  string
		addr string
		want bool
	}{
		{"any", "1.2.3.4", true},
		{"any", "::", true},
		{"local", "192.168.1.5", true},
		{"local", "::ffff:192.168.1.5", true},
		{"local", "fe80::1%eth0", true}, // zones are dropped
		{"local", "192.168.1.6", false},
		{"local", "127.1.2.3", true},
		{"local", "::1", true},
		{"local", "0.0.0.0", true},
		{"10.0.0.1-10.0.0.9", "10.0.0.1", true},
		{"10.0.0.1-10.0.0.9", "10.0.0.9", true},
		{"10.0.0.1-10.0.0.9", "10.0.0.10", false},
		{"10.0.0.1-10.0.0.9", "10.0.0.0", false},
		{"10.0.0.1-10.0.0.9", "::ffff:10.0.0.5", true},
		{"10.0.0.1-10.0.0.9", "::a00:5", false}, // same bits, IPv6
		{"[::1]-[::9]", "::5", true},
		{"[::1]-[::9]", "0.0.0.5", false},
		{"10.1.2.3/8", "10.255.255.255", true}, // host bits masked
		{"10.1.2.3/8", "11.0.0.0", false},
		{"[2001:db8::]/32", "2001:db8:ffff::1", true},
		{"[2001:db8::]/32", "2001:db9::", false},
		{"[::ffff:10.0.0.0]/104", "10.9.9.9", true}, // mapped prefix is IPv4 /8
		{"[::ffff:10.0.0.0]/104", "11.0.0.0", false},
		{"[::ffff:10.0.0.1]", "10.0.0.1", true},
		{"[10.0.0.1]", "10.0.0.1", true},
		{"0.0.0.0/0", "255.255.255.255", true},
		{"0.0.0.0/0", "::", false},
	}
	for _, tt := range tests {
		c := mustParse(t, "realbind +"+tt.rng)
		r := c.RealBind.Entries[0].Range
		a := netip.MustParseAddr(tt.addr)
		if got := r.Contains(a, locals); got != tt.want {
			t.Errorf("AddrRange(%v).Contains(%v) = %v, want %v", r, a, got, tt.want)
		}
	}
}

func TestCandidates(t *testing.T) {
	tests := []struct {
		r    PortRange
		rnd  uint64
		want []uint16
	}{
		{PortRange{10, 14}, 0, []uint16{10, 11, 12, 13, 14}},
		{PortRange{10, 14}, 3, []uint16{13, 14, 10, 11, 12}},
		{PortRange{10, 14}, 7, []uint16{12, 13, 14, 10, 11}},
		{PortRange{65534, 65535}, 1, []uint16{65535, 65534}},
		{PortRange{7, 7}, 12345, []uint16{7}},
		{PortRange{9, 8}, 0, nil},
	}
	for _, tt := range tests {
		got := slices.Collect(tt.r.Candidates(tt.rnd))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%v.Candidates(%d) = %v, want %v", tt.r, tt.rnd, got, tt.want)
		}
	}
	// The whole port space, each port once, and early stop works.
	seen := make(map[uint16]bool)
	for p := range AllPorts.Candidates(^uint64(0)) {
		if seen[p] {
			t.Fatalf("AllPorts.Candidates: port %d twice", p)
		}
		seen[p] = true
	}
	if len(seen) != 65536 {
		t.Errorf("AllPorts.Candidates yielded %d ports, want 65536", len(seen))
	}
	n := 0
	for range DefaultAutoPorts.Candidates(42) {
		if n++; n == 3 {
			break
		}
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in       string
		want     string
		wantPort bool
		wantErr  bool
	}{
		{"127.0.0.1", "127.0.0.1:0", false, false},
		{"127.0.0.1:22", "127.0.0.1:22", true, false},
		{"[::1]:53", "[::1]:53", true, false},
		{"::1", "[::1]:0", false, false},
		{"[::1]", "[::1]:0", false, false},
		{"::ffff:127.0.0.1", "[::ffff:127.0.0.1]:0", false, false},
		{"[::ffff:127.0.0.1]:6010", "[::ffff:127.0.0.1]:6010", true, false},
		{"localhost:22", "", false, true},
		{"127.0.0.1:70000", "", false, true},
		{"127.0.0.1:", "", false, true},
		{"[::1", "", false, true},
		{"[::1]53", "", false, true},
		{"[fe80::1%eth0]:22", "", false, true},
		{"", "", false, true},
	}
	for _, tt := range tests {
		ap, hasPort, err := ParseTarget(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseTarget(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if ap.String() != tt.want || hasPort != tt.wantPort {
			t.Errorf("ParseTarget(%q) = %v, %v, want %v, %v", tt.in, ap, hasPort, tt.want, tt.wantPort)
		}
	}
}

func TestVerdictString(t *testing.T) {
	c := mustParse(t, canonical)
	tests := []struct {
		op   Op
		addr string
		want string
	}{
		{OpConnect, "127.0.0.1:22", `real: realconnect entry 5 "+local:22" (/home/u/.noip:4) matches`},
		{OpConnect, "8.8.8.8:53", `real: no realconnect entry matches, and the last one, "-local" (/home/u/.noip:6), says plastic`},
		{OpBind, "8.8.8.8:53", `plastic: realbind is empty`},
		{OpBind, "", `plastic: not a valid Internet address`},
	}
	for _, tt := range tests {
		var ap netip.AddrPort
		if tt.addr != "" {
			ap = netip.MustParseAddrPort(tt.addr)
		}
		if got := c.Decide(tt.op, ap, nil).String(); got != tt.want {
			t.Errorf("Decide(%v, %v).String() = %q, want %q", tt.op, ap, got, tt.want)
		}
	}
}

func TestParseOp(t *testing.T) {
	for _, op := range []Op{OpBind, OpConnect} {
		if got, err := ParseOp(op.String()); got != op || err != nil {
			t.Errorf("ParseOp(%q) = %v, %v, want %v, nil", op.String(), got, err, op)
		}
	}
	if _, err := ParseOp("sendto"); err == nil {
		t.Errorf("ParseOp(%q) = nil error, want error", "sendto")
	}
}

func TestUsesLocal(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"", false},
		{canonical, true},
		{"realbind +local", true},
		{"realbind +127.0.0.1\nrealconnect -any", false},
		{"impbind local same", true},
		{"impbind any same", false},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.text).UsesLocal(); got != tt.want {
			t.Errorf("ParseFile(%q).UsesLocal() = %v, want %v", tt.text, got, tt.want)
		}
	}
}

package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		text string
		want string // the whole error text
	}{
		{"frobnicate 1", `/home/u/.noip:1:1: unknown keyword "frobnicate"`},
		{"# ok\n  RealConnect +any", `/home/u/.noip:2:3: unknown keyword "RealConnect" (keywords are lower case)`},
		{"realconnect=+any", `/home/u/.noip:1:1: unknown keyword "realconnect=+any"`},
		{"debug yes", `/home/u/.noip:1:7: debug: bad level "yes" (want an integer >= 0)`},
		{"debug -1", `/home/u/.noip:1:7: debug: bad level "-1" (want an integer >= 0)`},
		{"socketdir", `/home/u/.noip:1:10: socketdir: missing directory`},
		{"socketdir run/noip", `/home/u/.noip:1:11: socketdir: directory "run/noip" is not an absolute path`},
		{"autoports 100", `/home/u/.noip:1:11: autoports: bad range "100" (want MIN-MAX)`},
		{"autoports 0-10", `/home/u/.noip:1:11: autoports: bad port "0" (want 1-65535)`},
		{"autoports 2000-1000", `/home/u/.noip:1:11: autoports: empty range 2000-1000 (MIN > MAX)`},
		{"autoports 1024-70000", `/home/u/.noip:1:16: autoports: bad port "70000" (want 1-65535)`},
		{"autoports 1-2 # low", `/home/u/.noip:1:15: autoports: expected end of line, found '#' (comments must be on lines of their own)`},
		{"realconnect", `/home/u/.noip:1:12: realconnect: missing ACL entry (want +|- ADDRESS-RANGE [:PORT-RANGE])`},
		{"realconnect 127.0.0.1", `/home/u/.noip:1:13: realconnect: expected '+' or '-' to start an entry, found "127.0.0.1"`},
		{"\n\nrealconnect +127.0.0.1:70000", `/home/u/.noip:3:24: realconnect: bad port "70000" (want 0-65535)`},
		{"realconnect +127.0.0.1:", `/home/u/.noip:1:24: realconnect: missing port`},
		{"realconnect +127.0.0.1:6020-6010", `/home/u/.noip:1:24: realconnect: empty port range 6020-6010 (first > second)`},
		{"realconnect +[::1]:80x", `/home/u/.noip:1:20: realconnect: bad port "80x" (want 0-65535)`},
		{"realconnect +any,", `/home/u/.noip:1:18: realconnect: missing ACL entry after ','`},
		{"realconnect +any,,-any", `/home/u/.noip:1:18: realconnect: expected '+' or '-' to start an entry, found ','`},
		{"realconnect +any -local", `/home/u/.noip:1:18: realconnect: expected ',' or end of line, found '-'`},
		{"realconnect +any # all", `/home/u/.noip:1:18: realconnect: expected ',' or end of line, found '#' (comments must be on lines of their own)`},
		{"realconnect +::1", `/home/u/.noip:1:14: realconnect: IPv6 address ::1 must be in brackets: [::1]`},
		{"realconnect -2001:db8::1", `/home/u/.noip:1:14: realconnect: IPv6 address 2001:db8::1 must be in brackets: [2001:db8::1]`},
		{"realconnect +[::1, -any", `/home/u/.noip:1:14: realconnect: missing ']'`},
		{"realconnect +[fe80::1%eth0]", `/home/u/.noip:1:14: realconnect: zone not allowed in address "fe80::1%eth0"`},
		{"realconnect +[fe80::/10]", `/home/u/.noip:1:14: realconnect: bad address "fe80::/10" (write a prefix as [fe80::]/10)`},
		{"realconnect +[::g]", `/home/u/.noip:1:14: realconnect: bad address "::g"`},
		{"realconnect +localhost:22", `/home/u/.noip:1:14: realconnect: unknown address "localhost" (want any, local, an IP address, ADDR-ADDR or ADDR/PREFIX)`},
		{"realconnect +127.0.0.256", `/home/u/.noip:1:14: realconnect: bad IPv4 address "127.0.0.256"`},
		{"realconnect +127.0.0.5-127.0.0.1", `/home/u/.noip:1:14: realconnect: empty range 127.0.0.5-127.0.0.1 (first > second)`},
		{"realconnect +127.0.0.1-[::1]", `/home/u/.noip:1:24: realconnect: range 127.0.0.1-[::1] mixes IPv4 and IPv6`},
		{"realconnect +127.0.0.1-any", `/home/u/.noip:1:24: realconnect: expected an address, found "any"`},
		{"realbind +127.0.0.0/33", `/home/u/.noip:1:21: realbind: bad prefix length "33" (want 0-32)`},
		{"realbind -[::]/129", `/home/u/.noip:1:16: realbind: bad prefix length "129" (want 0-128)`},
		{"realbind +127.0.0.0/", `/home/u/.noip:1:21: realbind: missing prefix length`},
		{"realbind +any/8", `/home/u/.noip:1:14: realbind: expected ',' or end of line, found '/'`},
		{"realbind +", `/home/u/.noip:1:11: realbind: missing address`},
		{"realbind +\u00e9", `/home/u/.noip:1:11: realbind: expected an address, found 'é'`},
		{"impbind", `/home/u/.noip:1:8: impbind: missing rule (want ADDRESS-RANGE ADDRESS or ADDRESS-RANGE same)`},
		{"impbind any, any same", `/home/u/.noip:1:12: impbind: missing target address or "same" after any`},
		{"impbind 127.0.0.1:80 same", `/home/u/.noip:1:18: impbind: ports are not allowed in impbind rules`},
		{"impbind 10.0.0.0/8 10.1.2.3:5", `/home/u/.noip:1:28: impbind: ports are not allowed in impbind rules`},
		{"impbind 10.0.0.0/8 [::1]", `/home/u/.noip:1:20: impbind: target [::1] is IPv6 but the range is IPv4`},
		{"impbind any local", `/home/u/.noip:1:13: impbind: bad target "local" (want an address or "same")`},
		{"impbind +any same", `/home/u/.noip:1:9: impbind: expected an address, found '+'`},
		// The first mistake is reported, even after good lines.
		{canonical + "realconnect +any\nbogus\nrealbind -", `/home/u/.noip:8:1: unknown keyword "bogus"`},
	}
	for _, tt := range tests {
		c, err := ParseFile("/home/u/.noip", []byte(tt.text))
		if err == nil {
			t.Errorf("ParseFile(%q) = %+v, want error %q", tt.text, c, tt.want)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseFile(%q) error %T, want *ParseError", tt.text, err)
		}
		if err.Error() != tt.want {
			t.Errorf("ParseFile(%q) error:\n got %s\nwant %s", tt.text, err, tt.want)
		}
	}
}

// TestParseForms checks that every way of writing an entry parses to what
// it means, shown canonically.
func TestParseForms(t *testing.T) {
	tests := []struct {
		value string
		want  []string // canonical entries
	}{
		{"+127.0.0.1", []string{"+127.0.0.1"}},
		{"+ 127.0.0.1 : 6010 - 6020", []string{"+127.0.0.1:6010-6020"}},
		{"-[::1]", []string{"-[::1]"}},
		{"+local:22", []string{"+local:22"}},
		{"+\tlocal\t:\t22\t,\t-any", []string{"+local:22", "-any"}},
		{"+[127.0.0.1]:80", []string{"+127.0.0.1:80"}},
		{"+[::ffff:127.0.0.1]:80", []string{"+127.0.0.1:80"}},
		{"+[ ::1 ]", []string{"+[::1]"}},
		{"+[0:0:0:0:0:0:0:1]", []string{"+[::1]"}},
		{"+[2001:DB8::1]", []string{"+[2001:db8::1]"}},
		{"+10.0.0.1-10.0.0.9:1-1024", []string{"+10.0.0.1-10.0.0.9:1-1024"}},
		{"+10.0.0.1 - 10.0.0.1", []string{"+10.0.0.1-10.0.0.1"}},
		{"+[::1]-[::ffff]", []string{"+[::1]-[::ffff]"}},
		{"+[::ffff:10.0.0.1]-[::ffff:10.0.0.9]", []string{"+10.0.0.1-10.0.0.9"}},
		{"+10.1.2.3/8", []string{"+10.0.0.0/8"}},
		{"+10.1.2.3 / 8 : 80", []string{"+10.0.0.0/8:80"}},
		{"+[2001:db8::1]/32", []string{"+[2001:db8::]/32"}},
		{"+[::ffff:10.1.2.3]/104", []string{"+10.0.0.0/8"}},
		{"+[::ffff:10.1.2.3]/80", []string{"+[::]/80"}},
		{"-0.0.0.0/0, -[::]/0", []string{"-0.0.0.0/0", "-[::]/0"}},
		{"+any:0-65535", []string{"+any"}},
		{"+any:00080", []string{"+any:80"}},
		{"+any:0", []string{"+any:0"}},
	}
	for _, tt := range tests {
		c := mustParse(t, "realbind "+tt.value+"\r\n")
		var got []string
		for _, e := range c.RealBind.Entries {
			got = append(got, e.String())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("realbind %s: entries %q, want %q", tt.value, got, tt.want)
		}
	}
}

func TestParseEntryText(t *testing.T) {
	c := mustParse(t, "realconnect   + 127.0.0.1 : 6010 - 6020 ,-[::1]  \nimpbind  any  same , 10.0.0.0/8 10.0.0.1")
	var got []string
	for _, e := range c.RealConnect.Entries {
		got = append(got, e.Text)
	}
	for _, r := range c.ImpBind {
		got = append(got, r.Text)
	}
	want := []string{"+ 127.0.0.1 : 6010 - 6020", "-[::1]", "any  same", "10.0.0.0/8 10.0.0.1"}
	if !slices.Equal(got, want) {
		t.Errorf("entry texts = %q, want %q", got, want)
	}
}

func TestParseScalars(t *testing.T) {
	tests := []struct {
		text      string
		debug     int
		socketdir string
		autoports PortRange
	}{
		{"", 0, "", DefaultAutoPorts},
		{"debug", 1, "", DefaultAutoPorts},
		{"  debug   \t", 1, "", DefaultAutoPorts},
		{"debug 3", 3, "", DefaultAutoPorts},
		{"debug 2\ndebug 0", 0, "", DefaultAutoPorts},
		{"socketdir  /tmp/my dir  ", 0, "/tmp/my dir", DefaultAutoPorts},
		{"socketdir /a\r\nsocketdir /b\r\n", 0, "/b", DefaultAutoPorts},
		{"autoports 20000 - 30000", 0, "", PortRange{20000, 30000}},
		{"autoports 1-65535", 0, "", PortRange{1, 65535}},
		{"autoports 5000-5000", 0, "", PortRange{5000, 5000}},
		{"\n  # indented comment\n\t\n#\nautoports 2-3\n", 0, "", PortRange{2, 3}},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.text)
		if c.Debug != tt.debug || c.SocketDir != tt.socketdir || c.AutoPorts != tt.autoports {
			t.Errorf("ParseFile(%q) = debug %d, socketdir %q, autoports %v; want %d, %q, %v",
				tt.text, c.Debug, c.SocketDir, c.AutoPorts, tt.debug, tt.socketdir, tt.autoports)
		}
	}
}

func TestAccumulation(t *testing.T) {
	c := mustParse(t, "realbind +127.0.0.3\nrealconnect -any\nrealbind -any, +[::1]\nimpbind any same\nimpbind 10.0.0.0/8 10.0.0.1")
	var got []string
	for _, e := range c.RealBind.Entries {
		got = append(got, e.String()+"@"+e.Origin.String())
	}
	for _, r := range c.ImpBind {
		got = append(got, r.String()+"@"+r.Origin.String())
	}
	want := []string{
		"+127.0.0.3@/home/u/.noip:1", "-any@/home/u/.noip:3", "+[::1]@/home/u/.noip:3",
		"any same@/home/u/.noip:4", "10.0.0.0/8 10.0.0.1@/home/u/.noip:5",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rules = %q, want %q", got, want)
	}
	if n := len(c.RealConnect.Entries); n != 1 {
		t.Errorf("len(RealConnect.Entries) = %d, want 1", n)
	}
}

func TestMarshalTextRoundTrip(t *testing.T) {
	text := canonical + "debug 2\nsocketdir /run/user/1000/noip\nautoports 20000-21000\nrealbind +127.0.0.3, -[::]/0\nimpbind local same, [::]/0 [::1], 0.0.0.0/0 127.0.0.1\n"
	c := mustParse(t, text)
	out, err := c.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	c2 := mustParse(t, string(out))
	out2, _ := c2.MarshalText()
	if string(out) != string(out2) {
		t.Errorf("MarshalText not stable:\n%s\nthen\n%s", out, out2)
	}
	if !strings.Contains(string(out), "realconnect +127.0.0.1:6010-6020\nrealconnect +[::1]:6010-6020\n") {
		t.Errorf("MarshalText = \n%s\nwant one entry per line", out)
	}
	if diff := rulesDiff(c, c2); diff != "" {
		t.Errorf("re-parsed MarshalText differs: %s", diff)
	}
}

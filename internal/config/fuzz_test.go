package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
)

// rulesDiff describes how the settings and rules of a and b differ,
// ignoring origins and texts as written; "" if they do not.
func rulesDiff(a, b *Config) string {
	var d []string
	if a.Debug != b.Debug {
		d = append(d, fmt.Sprintf("debug %d vs %d", a.Debug, b.Debug))
	}
	if a.SocketDir != b.SocketDir {
		d = append(d, fmt.Sprintf("socketdir %q vs %q", a.SocketDir, b.SocketDir))
	}
	if a.AutoPorts != b.AutoPorts {
		d = append(d, fmt.Sprintf("autoports %v vs %v", a.AutoPorts, b.AutoPorts))
	}
	for _, l := range []struct{ x, y ACL }{{a.RealBind, b.RealBind}, {a.RealConnect, b.RealConnect}} {
		if len(l.x.Entries) != len(l.y.Entries) {
			d = append(d, fmt.Sprintf("%s: %d vs %d entries", l.x.Name, len(l.x.Entries), len(l.y.Entries)))
			continue
		}
		for i, e := range l.x.Entries {
			f := l.y.Entries[i]
			if e.Allow != f.Allow || e.Range != f.Range || e.Ports != f.Ports {
				d = append(d, fmt.Sprintf("%s[%d]: %v vs %v", l.x.Name, i, e, f))
			}
		}
	}
	if len(a.ImpBind) != len(b.ImpBind) {
		d = append(d, fmt.Sprintf("impbind: %d vs %d rules", len(a.ImpBind), len(b.ImpBind)))
	} else {
		for i, r := range a.ImpBind {
			s := b.ImpBind[i]
			if r.Range != s.Range || r.Same != s.Same || r.Target != s.Target {
				d = append(d, fmt.Sprintf("impbind[%d]: %v vs %v", i, r, s))
			}
		}
	}
	return strings.Join(d, "; ")
}

// FuzzParse: no text makes the parser panic; errors point inside the text;
// what parses survives MarshalText and re-parsing, and each entry's text
// as written parses to the same entry.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseFile("f", []byte(text))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseFile error %T %v, want *ParseError", err, err)
			}
			lines := strings.Split(text, "\n")
			if pe.Line < 1 || pe.Line > len(lines) || pe.Col < 1 || pe.Col > len(lines[pe.Line-1])+1 {
				t.Fatalf("ParseFile error %v points outside the text (%d lines)", err, len(lines))
			}
			return
		}
		out, err := c.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		c2, err := ParseFile("f", out)
		if err != nil {
			t.Fatalf("re-parsing MarshalText output %q: %v", out, err)
		}
		if diff := rulesDiff(c, c2); diff != "" {
			t.Fatalf("MarshalText round trip differs: %s\ntext %q\nout %q", diff, text, out)
		}
		if err := c.Format(io.Discard); err != nil {
			t.Fatal(err)
		}
		for _, a := range []ACL{c.RealBind, c.RealConnect} {
			for _, e := range a.Entries {
				c3, err := ParseFile("f", []byte(a.Name+" "+e.Text))
				if err != nil {
					t.Fatalf("entry text %q does not parse alone: %v", e.Text, err)
				}
				got := c3.RealBind.Entries
				if a.Name == "realconnect" {
					got = c3.RealConnect.Entries
				}
				if len(got) != 1 || got[0].String() != e.String() {
					t.Fatalf("entry text %q parses alone to %v, want %v", e.Text, got, e)
				}
			}
		}
	})
}

// refLocals are the fake interface addresses FuzzMatch uses.
var refLocals = []netip.Addr{
	netip.MustParseAddr("192.168.1.5"),
	netip.MustParseAddr("10.0.0.1"),
	netip.MustParseAddr("2001:db8::5"),
}

// refUnmap returns the 4 bytes of a v4-mapped 16-byte address, else b.
func refUnmap(b []byte) []byte {
	if len(b) == 16 && bytes.Equal(b[:12], []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}) {
		return b[12:]
	}
	return b
}

func refIsLocal(b []byte) bool {
	if bytes.Count(b, []byte{0}) == len(b) {
		return true // unspecified
	}
	if len(b) == 4 && b[0] == 127 {
		return true
	}
	if len(b) == 16 && bytes.Equal(b, netip.IPv6Loopback().AsSlice()) {
		return true
	}
	for _, l := range refLocals {
		if bytes.Equal(b, l.AsSlice()) {
			return true
		}
	}
	return false
}

// refContains is a deliberately naive matcher: bytes, bit by bit.
func refContains(e Entry, b []byte, port uint16) bool {
	if port < e.Ports.Min || port > e.Ports.Max {
		return false
	}
	r := e.Range
	switch r.Kind {
	case RangeAny:
		return true
	case RangeLocal:
		return refIsLocal(b)
	case RangePrefix:
		p := r.Prefix.Addr().AsSlice()
		if len(p) != len(b) {
			return false
		}
		for i := range r.Prefix.Bits() {
			mask := byte(0x80) >> (i % 8)
			if p[i/8]&mask != b[i/8]&mask {
				return false
			}
		}
		return true
	case RangeAddr, RangeSpan:
		lo, hi := r.Lo.AsSlice(), r.Hi.AsSlice()
		return len(lo) == len(b) && bytes.Compare(lo, b) <= 0 && bytes.Compare(b, hi) <= 0
	}
	return false
}

// refMatch is the squid-convention list walk, written out plainly.
func refMatch(es []Entry, b []byte, port uint16) (allow bool, index int) {
	b = refUnmap(b)
	for i, e := range es {
		if refContains(e, b, port) {
			return e.Allow, i
		}
	}
	if len(es) == 0 {
		return false, -1
	}
	return !es[len(es)-1].Allow, -1
}

// FuzzMatch: any ACL text and address: no panic, and Match agrees with the
// reference matcher. The address is 4 or 16 bytes (longer input is cut).
func FuzzMatch(f *testing.F) {
	locals := newFakeLocals()
	for _, a := range refLocals {
		locals[a] = true
	}
	f.Fuzz(func(t *testing.T, acl string, raw []byte, port uint16) {
		var a netip.Addr
		switch {
		case len(raw) >= 16:
			a = netip.AddrFrom16([16]byte(raw[:16]))
		case len(raw) >= 4:
			a = netip.AddrFrom4([4]byte(raw[:4]))
		default:
			return
		}
		c, err := ParseFile("f", []byte("realconnect "+acl))
		if err != nil {
			return
		}
		ap := netip.AddrPortFrom(a, port)
		v := c.RealConnect.Match(ap, locals)
		wantAllow, wantIndex := refMatch(c.RealConnect.Entries, a.AsSlice(), port)
		if v.Allow != wantAllow || v.Index != wantIndex {
			t.Fatalf("Match(%v) = (real %v, entry %d), want (real %v, entry %d); entries %v", ap, v.Allow, v.Index, wantAllow, wantIndex, c.RealConnect.Entries)
		}
		if v.Index >= 0 && v.Entry.String() != c.RealConnect.Entries[v.Index].String() {
			t.Fatalf("Match(%v).Entry = %v, want entry %d, %v", ap, v.Entry, v.Index, c.RealConnect.Entries[v.Index])
		}
		_ = v.String()
		// The same ranges as impbind rules ("+" entries bind to the remote
		// itself, "-" ones to a fixed address): the first matching rule
		// decides, and the answer has the remote's form.
		var rules []string
		for _, e := range c.RealConnect.Entries {
			target := "same"
			if !e.Allow {
				target = "10.9.9.9"
				if e.Range.family() == 6 {
					target = "[2001:db8::99]"
				}
			}
			rules = append(rules, e.Range.String()+" "+target)
		}
		ic, err := ParseFile("f", []byte("impbind "+strings.Join(rules, ", ")))
		if err != nil {
			t.Fatalf("impbind from ranges: %v", err)
		}
		local, rule := ic.Impbind(a, locals)
		if local.Is4() != a.Is4() || local.Is4In6() != a.Is4In6() {
			t.Fatalf("Impbind(%v) = %v, not of the remote's form", a, local)
		}
		if rule != nil && !rule.Range.Contains(a, locals) {
			t.Fatalf("Impbind(%v) chose %v, whose range does not contain it", a, rule)
		}
		if rule != nil && rule.Same && local != a {
			t.Fatalf("Impbind(%v) = %v by %v, want the remote itself", a, local, rule)
		}
	})
}

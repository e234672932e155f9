package config

import (
	"net/netip"
	"testing"
)

func TestImpbind(t *testing.T) {
	c := mustParse(t, "impbind 10.0.0.0/8 10.1.2.3, [2001:db8::]/32 [2001:db8::1]\n"+
		"impbind 192.168.0.0/16 same, local 127.0.0.5\n"+
		"impbind any [::5]\n")
	locals := newFakeLocals("172.16.0.1")
	tests := []struct {
		remote   string
		want     string
		wantRule int // -1: none, loopback
	}{
		{"10.9.9.9", "10.1.2.3", 0},
		{"::ffff:10.9.9.9", "::ffff:10.1.2.3", 0},
		{"2001:db8::77", "2001:db8::1", 1},
		{"2001:db9::77", "::5", 4},
		{"192.168.3.4", "192.168.3.4", 2},
		{"::ffff:192.168.3.4", "::ffff:192.168.3.4", 2},
		{"172.16.0.1", "127.0.0.5", 3},
		{"127.0.0.1", "127.0.0.5", 3},
		{"::ffff:127.0.0.1", "::ffff:127.0.0.5", 3},
		{"::1", "::5", 4}, // local, but 127.0.0.5 is IPv4
		{"8.8.8.8", "127.0.0.1", -1},
		{"::ffff:8.8.8.8", "::ffff:127.0.0.1", -1},
	}
	for _, tt := range tests {
		remote := netip.MustParseAddr(tt.remote)
		local, rule := c.Impbind(remote, locals)
		gotRule := -1
		for i := range c.ImpBind {
			if rule == &c.ImpBind[i] {
				gotRule = i
			}
		}
		if local.String() != tt.want || gotRule != tt.wantRule {
			t.Errorf("Impbind(%v) = %v, rule %d (%v), want %v, rule %d", remote, local, gotRule, rule, tt.want, tt.wantRule)
		}
	}

	empty := mustParse(t, "")
	for remote, want := range map[string]string{
		"8.8.8.8":        "127.0.0.1",
		"::ffff:8.8.8.8": "::ffff:127.0.0.1",
		"2001:db8::1":    "::1",
	} {
		local, rule := empty.Impbind(netip.MustParseAddr(remote), nil)
		if local.String() != want || rule != nil {
			t.Errorf("Impbind(%v) with no rules = %v, %v, want %v, nil", remote, local, rule, want)
		}
	}
	if local, rule := c.Impbind(netip.Addr{}, nil); local.IsValid() || rule != nil {
		t.Errorf("Impbind(invalid) = %v, %v, want invalid, nil", local, rule)
	}
}

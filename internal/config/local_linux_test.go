package config

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestInterfaceLocals(t *testing.T) {
	l, err := NewInterfaceLocals()
	if err != nil {
		t.Fatalf("NewInterfaceLocals: %v", err)
	}
	as, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		x, _ := netip.AddrFromSlice(a.(*net.IPNet).IP)
		if !l.IsLocal(x) {
			t.Errorf("IsLocal(%v) = false, want true (an interface address)", x)
		}
	}
	for s, want := range map[string]bool{
		"127.0.0.1":        true,
		"127.3.2.1":        true,
		"::1":              true,
		"::ffff:127.0.0.1": true,
		"0.0.0.0":          true,
		"::":               true,
		"192.0.2.77":       false, // TEST-NET-1: on no machine
		"2001:db8::77":     false,
	} {
		if got := l.IsLocal(netip.MustParseAddr(s)); got != want {
			t.Errorf("IsLocal(%s) = %v, want %v", s, got, want)
		}
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := l.Close(); err == nil {
		t.Errorf("second Close = nil, want error")
	}
	if !l.IsLocal(netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("IsLocal(127.0.0.1) after Close = false, want true")
	}
}

// TestInterfaceLocalsRefresh replaces the netlink socket with a socket pair
// and the interface list with a fake, to see that addresses are re-read
// exactly when a notification arrives.
func TestInterfaceLocalsRefresh(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("10.1.1.1")}
	var listErr error
	reads := 0
	old := interfaceAddrs
	t.Cleanup(func() { interfaceAddrs = old })
	interfaceAddrs = func() ([]netip.Addr, error) {
		reads++
		return addrs, listErr
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[1]) })
	l, err := newInterfaceLocals(fds[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	notify := func() {
		if _, err := unix.Write(fds[1], []byte("RTM_NEWADDR")); err != nil {
			t.Fatal(err)
		}
	}
	a1, a2 := netip.MustParseAddr("10.1.1.1"), netip.MustParseAddr("10.2.2.2")

	check := func(step string, a netip.Addr, want bool, wantReads int) {
		t.Helper()
		if got := l.IsLocal(a); got != want || reads != wantReads {
			t.Errorf("%s: IsLocal(%v) = %v after %d reads, want %v after %d", step, a, got, reads, want, wantReads)
		}
	}
	check("start", a1, true, 1)
	check("start", a2, false, 1)
	addrs = []netip.Addr{netip.MustParseAddr("10.2.2.2")}
	check("changed, not yet announced", a2, false, 1)
	notify()
	notify() // two messages: one re-read
	check("announced", a2, true, 2)
	check("announced", a1, false, 2)

	listErr = errors.New("boom")
	addrs = nil
	notify()
	check("failed re-read keeps the old list", a2, true, 3)
	if l.Err() == nil {
		t.Errorf("Err() = nil after a failed re-read")
	}
	listErr = nil
	check("retried after a failure", a2, false, 4)
	check("steady", a2, false, 4)
	if err := l.Err(); err != nil {
		t.Errorf("Err() = %v after a good re-read, want nil", err)
	}
}

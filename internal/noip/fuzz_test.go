package noip

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
)

// FuzzCmsgs: no control buffer panics parseCmsgs or fitCmsgs; parsed
// messages lie inside the buffer and re-encode to it; what fitCmsgs keeps
// is a prefix of the buffer no longer than the room given.
func FuzzCmsgs(f *testing.F) {
	f.Add(appendCmsg(nil, unix.SOL_SOCKET, unix.SCM_RIGHTS, []byte{3, 0, 0, 0}), 20)
	f.Add(appendCmsg(appendCmsg(nil, unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0}), unix.SOL_IP, unix.IP_TOS, []byte{1}), 24)
	f.Add([]byte{255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0}, 100)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		cs, e := parseCmsgs(b)
		if e == 0 {
			var re []byte
			for _, c := range cs {
				re = appendCmsg(re, c.level, c.typ, c.data)
			}
			// The kernel's walk ignores padding bytes and a tail shorter
			// than a header; the rest is what was parsed.
			if len(re) > len(b)+7 {
				t.Fatalf("%d messages re-encode to %d bytes, from %d", len(cs), len(re), len(b))
			}
			for i, c := range cs {
				if len(c.data) > len(b) {
					t.Fatalf("message %d: %d data bytes in a %d-byte buffer", i, len(c.data), len(b))
				}
			}
		}
		if n < 0 {
			return
		}
		out, _ := fitCmsgs(b, n)
		if len(out) > n || !bytes.HasPrefix(b, out) {
			t.Fatalf("fitCmsgs(%x, %d) = %x: not a prefix within the room", b, n, out)
		}
	})
}

// FuzzIovecs: no iovec array panics parseIovecs; what it accepts has the
// count asked for and a total that fits ssize_t.
func FuzzIovecs(f *testing.F) {
	one := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 0x1000), 10)
	f.Add(one, uint64(1))
	f.Add(append(one, one...), uint64(2))
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 0), 1<<63), uint64(1))
	f.Add([]byte{}, uint64(1025))
	f.Fuzz(func(t *testing.T, b []byte, n uint64) {
		vs, e := parseIovecs(b, n)
		if e != 0 {
			return
		}
		if uint64(len(vs)) != n {
			t.Fatalf("%d iovecs, asked for %d", len(vs), n)
		}
		var total uint64
		for _, v := range vs {
			total += v.len
			if total > 1<<63-1 {
				t.Fatalf("accepted iovecs totalling more than ssize_t")
			}
		}
	})
}

// FuzzDecodeAddr: no address panics the bind/connect and datagram
// decoders, for any kind of socket; an address they accept is valid and
// unmapped, and an IPv4 socket never accepts an IPv6 one.
func FuzzDecodeAddr(f *testing.F) {
	f.Add([]byte{2, 0, 0, 80, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(0))
	f.Add([]byte{10, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 127, 0, 0, 1, 0, 0, 0, 0}, uint8(3))
	f.Add([]byte{0, 0}, uint8(1))
	f.Add([]byte{1, 0, '/', 't'}, uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, kind uint8) {
		s := &sock{family: inet.AF_INET, typ: unix.SOCK_STREAM}
		if kind&1 != 0 {
			s.family = inet.AF_INET6
		}
		if kind&2 != 0 {
			s.typ = unix.SOCK_DGRAM
		}
		s.v6only = kind&4 != 0
		check := func(what string, ap interface{ IsValid() bool }, unspec bool, e unix.Errno) {
			if e != 0 || unspec {
				return
			}
			if !ap.IsValid() {
				t.Fatalf("%s(%x) on family %d accepted an invalid address", what, b, s.family)
			}
		}
		for _, op := range []string{"bind", "connect"} {
			ap, unspec, e := decodeFor(s, b, op)
			check(op, ap, unspec, e)
			if e == 0 && !unspec && ap.Addr().Is4In6() {
				t.Fatalf("%s(%x) kept a v4-mapped address", op, b)
			}
			if e == 0 && !unspec && s.family == inet.AF_INET && !ap.Addr().Is4() {
				t.Fatalf("%s(%x) on an IPv4 socket gave %v", op, b, ap)
			}
		}
		ap, unspec, e := decodeDest(s, b)
		check("sendto", ap, unspec, e)
		if e == 0 && !unspec && s.family == inet.AF_INET && !ap.Addr().Is4() {
			t.Fatalf("sendto(%x) on an IPv4 socket gave %v", b, ap)
		}
	})
}

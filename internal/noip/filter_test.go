package noip

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"noip/internal/seccomp"
)

// input encodes seccomp_data for the x/net/bpf VM, which loads words
// big-endian where seccomp loads them in host order (little-endian on both
// supported architectures): each word is stored big-endian so the program
// sees the kernel's values.
func input(arch *seccomp.Arch, name string, args ...uint64) []byte {
	nr, ok := arch.Number(name)
	if !ok {
		panic(arch.Name + " has no " + name)
	}
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], nr)
	binary.BigEndian.PutUint32(b[4:], arch.Audit)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[16+8*i+4:], uint32(a>>32))
	}
	return b
}

// TestFilter runs noip's filter for both supported architectures in the
// BPF interpreter: what reaches the supervisor, what runs untouched, and
// what 32-bit entry points get.
func TestFilter(t *testing.T) {
	type tc struct {
		desc string
		arch *seccomp.Arch
		call string
		args []uint64
		want seccomp.Action
	}
	errno := func(e unix.Errno) seccomp.Action { return seccomp.Errno(uint16(e)) }
	for _, native := range []struct {
		arch   *seccomp.Arch
		compat []*seccomp.Arch
	}{{seccomp.X86_64, []*seccomp.Arch{seccomp.I386, seccomp.X32}}, {seccomp.AArch64, []*seccomp.Arch{seccomp.ARM}}} {
		n, c32 := native.arch, native.compat[0]
		tests := []tc{
			{"TCP socket", n, "socket", []uint64{unix.AF_INET, unix.SOCK_STREAM, 0}, seccomp.Notify},
			{"UDP6 socket", n, "socket", []uint64{unix.AF_INET6, unix.SOCK_DGRAM | unix.SOCK_CLOEXEC, 0}, seccomp.Notify},
			{"Unix socket", n, "socket", []uint64{unix.AF_UNIX, unix.SOCK_STREAM, 0}, seccomp.Allow},
			{"netlink socket", n, "socket", []uint64{unix.AF_NETLINK, unix.SOCK_RAW, 0}, seccomp.Allow},
			{"AF_INET in the high half only", n, "socket", []uint64{unix.AF_INET << 32, unix.SOCK_STREAM, 0}, seccomp.Allow},
			{"AF_INET with garbage high half", n, "socket", []uint64{0xdead<<32 | unix.AF_INET, unix.SOCK_STREAM, 0}, seccomp.Notify},
			{"bind", n, "bind", nil, seccomp.Notify},
			{"connect", n, "connect", nil, seccomp.Notify},
			{"listen", n, "listen", nil, seccomp.Notify},
			{"accept4", n, "accept4", nil, seccomp.Notify},
			{"accept", n, "accept", nil, seccomp.Notify},
			{"getsockname", n, "getsockname", nil, seccomp.Notify},
			{"getpeername", n, "getpeername", nil, seccomp.Notify},
			{"execve", n, "execve", nil, seccomp.Notify},
			{"setsockopt TCP_NODELAY", n, "setsockopt", []uint64{3, unix.SOL_TCP, unix.TCP_NODELAY}, seccomp.Notify},
			{"setsockopt IPV6_V6ONLY", n, "setsockopt", []uint64{3, unix.SOL_IPV6, unix.IPV6_V6ONLY}, seccomp.Notify},
			{"getsockopt SO_DOMAIN", n, "getsockopt", []uint64{3, unix.SOL_SOCKET, unix.SO_DOMAIN}, seccomp.Notify},
			{"getsockopt SO_ERROR", n, "getsockopt", []uint64{3, unix.SOL_SOCKET, unix.SO_ERROR}, seccomp.Allow},
			{"setsockopt SO_REUSEADDR", n, "setsockopt", []uint64{3, unix.SOL_SOCKET, unix.SO_REUSEADDR}, seccomp.Allow},
			{"io_uring_setup", n, "io_uring_setup", nil, errno(unix.ENOSYS)},
			{"sendmsg", n, "sendmsg", nil, seccomp.Notify},
			{"recvmsg", n, "recvmsg", nil, seccomp.Notify},
			{"sendmmsg", n, "sendmmsg", nil, seccomp.Notify},
			{"recvmmsg", n, "recvmmsg", nil, seccomp.Notify},
			{"send (sendto without address)", n, "sendto", []uint64{3, 0x1000, 10, 0, 0, 0}, seccomp.Allow},
			{"sendto with an address", n, "sendto", []uint64{3, 0x1000, 10, 0, 0x2000, 16}, seccomp.Notify},
			{"sendto MSG_FASTOPEN", n, "sendto", []uint64{3, 0x1000, 10, unix.MSG_FASTOPEN, 0, 0}, seccomp.Notify},
			{"recv (recvfrom without address)", n, "recvfrom", []uint64{3, 0x1000, 10, 0, 0, 0}, seccomp.Allow},
			{"recvfrom with an address", n, "recvfrom", []uint64{3, 0x1000, 10, 0, 0x2000, 0x3000}, seccomp.Notify},
			{"recvfrom address in the high half", n, "recvfrom", []uint64{3, 0x1000, 10, 0, 0x7f00000000, 0x3000}, seccomp.Notify},
			{"recv MSG_ERRQUEUE", n, "recvfrom", []uint64{3, 0x1000, 10, unix.MSG_ERRQUEUE, 0, 0}, seccomp.Notify},
			{"setsockopt at an unknown level", n, "setsockopt", []uint64{3, 9999, 1}, seccomp.Notify},
			{"prctl PR_SET_DUMPABLE 0", n, "prctl", []uint64{unix.PR_SET_DUMPABLE, 0}, seccomp.Notify},
			{"prctl PR_SET_DUMPABLE 1", n, "prctl", []uint64{unix.PR_SET_DUMPABLE, 1}, seccomp.Allow},
			{"prctl PR_SET_NAME", n, "prctl", []uint64{unix.PR_SET_NAME, 0x1000}, seccomp.Allow},
			{"shutdown", n, "shutdown", nil, seccomp.Allow},
			{"a seccomp listener of the program's own", n, "seccomp", []uint64{1, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_TSYNC, 0x1000}, seccomp.Notify},
			{"a seccomp filter without listener", n, "seccomp", []uint64{1, unix.SECCOMP_FILTER_FLAG_TSYNC, 0x1000}, seccomp.Allow},
			{"seccomp GET_ACTION_AVAIL", n, "seccomp", []uint64{2, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER}, seccomp.Allow},
			{"32-bit TCP socket fails closed", c32, "socket", []uint64{unix.AF_INET, unix.SOCK_STREAM, 0}, errno(unix.EAFNOSUPPORT)},
			{"32-bit Unix socket", c32, "socket", []uint64{unix.AF_UNIX, unix.SOCK_STREAM, 0}, seccomp.Allow},
			{"32-bit io_uring_setup", c32, "io_uring_setup", nil, errno(unix.ENOSYS)},
			{"32-bit execve", c32, "execve", nil, seccomp.Notify},
			{"32-bit connect (fails closed on an Internet socket)", c32, "connect", nil, seccomp.Notify},
		}
		if c32 == seccomp.I386 {
			tests = append(tests,
				tc{"i386 socketcall(SOCKET)", c32, "socketcall", []uint64{1, 0xffff0000}, seccomp.Notify},
				tc{"i386 socketcall(CONNECT)", c32, "socketcall", []uint64{3, 0xffff0000}, seccomp.Notify},
				tc{"i386 socketcall(SENDTO)", c32, "socketcall", []uint64{11, 0xffff0000}, seccomp.Notify},
				tc{"i386 socketcall(RECV)", c32, "socketcall", []uint64{10, 0xffff0000}, seccomp.Allow},
				tc{"x32 TCP socket fails closed", seccomp.X32, "socket", []uint64{unix.AF_INET, unix.SOCK_STREAM, 0}, errno(unix.EAFNOSUPPORT)},
				tc{"x32 connect", seccomp.X32, "connect", nil, seccomp.Notify},
			)
		}
		pol := FilterFor(native.arch, native.compat...)
		raw, err := seccomp.Build(pol)
		if err != nil {
			t.Fatalf("%s: Build: %v", n.Name, err)
		}
		prog, ok := bpf.Disassemble(raw)
		if !ok {
			t.Fatalf("%s: filter does not disassemble", n.Name)
		}
		vm, err := bpf.NewVM(prog)
		if err != nil {
			t.Fatalf("%s: NewVM: %v", n.Name, err)
		}
		for _, tt := range tests {
			out, err := vm.Run(input(tt.arch, tt.call, tt.args...))
			if err != nil {
				t.Fatalf("%s: Run: %v", tt.desc, err)
			}
			if got := seccomp.Action(uint32(out)); got != tt.want {
				t.Errorf("%s/%s: %s(%#x) = %v, want %v", n.Name, tt.desc, tt.call, tt.args, got, tt.want)
			}
		}
		// A process of an unlisted ABI is killed rather than let through.
		other := &seccomp.Arch{Name: "other", Audit: 0x40000015, Nr: map[string]uint32{"socket": 41}}
		if out, _ := vm.Run(input(other, "socket", unix.AF_INET)); seccomp.Action(uint32(out)) != seccomp.KillProcess {
			t.Errorf("%s: unknown ABI = %v, want kill", n.Name, seccomp.Action(uint32(out)))
		}
	}
}

package noip

import (
	"golang.org/x/sys/unix"

	"noip/internal/seccomp"
)

// Filter returns the seccomp policy of noip: which calls the supervisor
// sees. Everything not listed runs untouched, at full speed. Argument tests
// keep common calls out of the supervisor (non-Internet socket(), options at
// levels noip does not fake). 32-bit entry points that noip does not serve
// fail closed for Internet sockets.
func Filter() seccomp.Policy { return FilterFor(seccomp.Native, seccomp.Compat...) }

// FilterFor is Filter for a given native ABI and its compat ABIs.
func FilterFor(nativeArch *seccomp.Arch, compatArches ...*seccomp.Arch) seccomp.Policy {
	notifyAlways := []string{
		"bind", "connect", "listen", "accept", "accept4",
		"getsockname", "getpeername", "execve", "execveat",
		// Their addresses are in memory, which the filter cannot see:
		// every call comes, and a Unix socket's goes on at once.
		"sendmsg", "sendmmsg", "recvmsg", "recvmmsg",
	}
	native := []seccomp.Rule{
		{Syscall: "socket", Cases: []seccomp.Case{{When: []seccomp.ArgTest{inetDomain}, Then: seccomp.Notify}}, Else: seccomp.Allow},
		sockoptRule("setsockopt"),
		{Syscall: "ioctl", Cases: []seccomp.Case{{When: []seccomp.ArgTest{seccomp.Low32In{Arg: 1, Values: ifAddrIoctls}}, Then: seccomp.Notify}}, Else: seccomp.Allow},
		sockoptRule("getsockopt"),
		seccomp.Always("io_uring_setup", seccomp.Errno(uint16(unix.ENOSYS))),
		seccomp.Always("io_uring_enter", seccomp.Errno(uint16(unix.ENOSYS))),
		seccomp.Always("io_uring_register", seccomp.Errno(uint16(unix.ENOSYS))),
		{Syscall: "mmap", Cases: []seccomp.Case{{When: []seccomp.ArgTest{ringOffsets}, Then: seccomp.Notify}}, Else: seccomp.Allow},
		newListener,
		setNotDumpable,
		seccomp.Always("pidfd_getfd", seccomp.Notify),
		// With an address, or a flag that acts like one; without, the
		// socket's own connection (send and recv are these calls).
		{Syscall: "sendto", Cases: []seccomp.Case{
			{When: []seccomp.ArgTest{seccomp.NonZero{Arg: 4}}, Then: seccomp.Notify},
			{When: []seccomp.ArgTest{seccomp.BitsSet{Arg: 3, Mask: unix.MSG_FASTOPEN}}, Then: seccomp.Notify},
		}, Else: seccomp.Allow},
		{Syscall: "recvfrom", Cases: []seccomp.Case{
			{When: []seccomp.ArgTest{seccomp.NonZero{Arg: 4}}, Then: seccomp.Notify},
			{When: []seccomp.ArgTest{seccomp.BitsSet{Arg: 3, Mask: unix.MSG_ERRQUEUE}}, Then: seccomp.Notify},
		}, Else: seccomp.Allow},
	}
	for _, n := range notifyAlways {
		native = append(native, seccomp.Always(n, seccomp.Notify))
	}
	// Compat ABIs: no Internet sockets at all (see compat.go). Any other
	// socket works.
	compat := func(a *seccomp.Arch) seccomp.ABIRules {
		rules := []seccomp.Rule{
			{Syscall: "socket", Cases: []seccomp.Case{{When: []seccomp.ArgTest{inetDomain}, Then: seccomp.Errno(uint16(unix.EAFNOSUPPORT))}}, Else: seccomp.Allow},
			seccomp.Always("io_uring_setup", seccomp.Errno(uint16(unix.ENOSYS))),
			seccomp.Always("io_uring_enter", seccomp.Errno(uint16(unix.ENOSYS))),
			seccomp.Always("io_uring_register", seccomp.Errno(uint16(unix.ENOSYS))),
			// execve keeps nested noip settings right in 32-bit shells too.
			seccomp.Always("execve", seccomp.Notify),
			seccomp.Always("execveat", seccomp.Notify),
		}
		// Calls on an existing socket: one that is an Internet socket
		// (inherited, received, made by a 64-bit call) fails closed.
		for _, n := range []string{"bind", "connect", "listen", "accept", "accept4", "sendto", "sendmsg", "sendmmsg"} {
			if _, ok := a.Nr[n]; ok {
				rules = append(rules, seccomp.Always(n, seccomp.Notify))
			}
		}
		if _, ok := a.Nr["mmap2"]; ok {
			rules = append(rules, seccomp.Rule{Syscall: "mmap2", Cases: []seccomp.Case{{When: []seccomp.ArgTest{ringPages}, Then: seccomp.Notify}}, Else: seccomp.Allow})
		}
		if _, ok := a.Nr["old_mmap"]; ok {
			rules = append(rules, seccomp.Always("old_mmap", seccomp.Notify))
		}
		if _, ok := a.Nr["socketcall"]; ok {
			rules = append(rules, seccomp.Rule{Syscall: "socketcall",
				Cases: []seccomp.Case{{When: []seccomp.ArgTest{seccomp.Low32In{Arg: 0, Values: append([]uint32{1}, socketcallChecked...)}}, Then: seccomp.Notify}},
				Else:  seccomp.Allow})
		}
		return seccomp.ABIRules{Arch: a, Rules: rules}
	}
	pol := seccomp.Policy{ABIs: []seccomp.ABIRules{{Arch: nativeArch, Rules: native}}}
	for _, a := range compatArches {
		pol.ABIs = append(pol.ABIs, compat(a))
	}
	return pol
}

var inetDomain = seccomp.Low32In{Arg: 0, Values: []uint32{unix.AF_INET, unix.AF_INET6}}

// ringOffsets are the mmap offsets of an io_uring's completion ring and
// submission entries (see iouring.go); ringPages are those of mmap2, in
// pages.
var (
	ringOffsets = seccomp.Low32In{Arg: 5, Values: []uint32{ioringOffCQRing, ioringOffSQEs}}
	ringPages   = seccomp.Low32In{Arg: 5, Values: []uint32{ioringOffCQRing / 4096, ioringOffSQEs / 4096}}
)

// newListener notifies a program's own seccomp(SET_MODE_FILTER,
// NEW_LISTENER): the kernel refuses a second listener in a process tree,
// and noip says why.
var newListener = seccomp.Rule{Syscall: "seccomp", Cases: []seccomp.Case{{When: []seccomp.ArgTest{
	seccomp.Low32In{Arg: 0, Values: []uint32{1}}, // SECCOMP_SET_MODE_FILTER
	seccomp.BitsSet{Arg: 1, Mask: unix.SECCOMP_FILTER_FLAG_NEW_LISTENER},
}, Then: seccomp.Notify}}, Else: seccomp.Allow}

// setNotDumpable notifies prctl(PR_SET_DUMPABLE, 0), after which noip can
// no longer see into the process (see blind.go).
var setNotDumpable = seccomp.Rule{Syscall: "prctl", Cases: []seccomp.Case{{When: []seccomp.ArgTest{
	seccomp.Low32In{Arg: 0, Values: []uint32{unix.PR_SET_DUMPABLE}},
	seccomp.Low32In{Arg: 1, Values: []uint32{0}},
}, Then: seccomp.Notify}}, Else: seccomp.Allow}

// sockoptRule notifies option calls at every level but SOL_SOCKET (a Unix
// socket answers them all unlike an Internet one, unknown levels too), and
// the few SOL_SOCKET names a Unix socket answers differently.
func sockoptRule(name string) seccomp.Rule {
	solSocket := seccomp.Low32In{Arg: 1, Values: []uint32{unix.SOL_SOCKET}}
	return seccomp.Rule{Syscall: name, Cases: []seccomp.Case{
		{When: []seccomp.ArgTest{solSocket, seccomp.Low32In{Arg: 2, Values: solSocketNames}}, Then: seccomp.Notify},
		{When: []seccomp.ArgTest{solSocket}, Then: seccomp.Allow},
	}, Else: seccomp.Notify}
}

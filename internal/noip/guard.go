package noip

import (
	"bytes"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
	"noip/internal/supervise"
)

// A call on an fd that is no Internet socket (a Unix socket, a pipe) is
// normally the kernel's: noip lets it run. But the kernel looks the fd up
// again when it runs the call, and another thread of the program may have
// put a real Internet socket at that number meanwhile (dup2). So noip lets
// such a call run only where that swap could do no harm:
//
//   - bind, connect, sendto, sendmsg and sendmmsg run when the address the
//     call carries is no Internet address (nor AF_UNSPEC, which the
//     Internet stack takes as one): a real socket refuses it. With an
//     Internet address, noip makes the call itself on the object it
//     checked, which refuses it in the same words (a Unix socket's EINVAL,
//     a pipe's ENOTSOCK).
//   - listen, which has no address, runs when the caller is the only thread
//     of its process, so nobody can swap the fd while it waits; else noip
//     listens itself on the object it checked.
//
// What stays open is a program that rewrites the call's memory and its fd
// table at once while the call waits: that is no accident, and SPEC's
// threat model leaves deliberate escapes to network namespaces.

// guard decides a call on a non-Internet object: dup is noip's duplicate
// of the program's fd (closed by the caller), domain its socket family, or
// -1 when it is not a socket.
type guard func(c *supervise.Call, dup int, domain int) supervise.Result

// inetFamily reports whether a sockaddr's family is one the Internet
// stack would act on.
func inetFamily(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	switch inet.Family(b) {
	case inet.AF_INET, inet.AF_INET6, inet.AF_UNSPEC:
		return true
	}
	return false
}

// internetObject reports whether domain is an Internet family: a raw or
// ICMP socket, which noip leaves to the kernel, addresses and all.
func internetObject(domain int) bool {
	return domain == unix.AF_INET || domain == unix.AF_INET6
}

// addrGuard guards bind and connect (nr), whose address is arguments 1
// and 2.
func addrGuard(nr uintptr) guard {
	return func(c *supervise.Call, dup, domain int) supervise.Result {
		if internetObject(domain) {
			return supervise.Continue()
		}
		n := c.Int(2)
		if n < 2 || n > inet.SizeofSockaddrStorage {
			return supervise.Continue() // EINVAL from any socket
		}
		b, err := c.Read(c.Arg(1), int(n))
		if err != nil {
			return supervise.Fail(unix.EFAULT)
		}
		if !inetFamily(b) {
			return supervise.Continue()
		}
		_, _, e := unix.Syscall(nr, uintptr(dup), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		return errnoResult(e)
	}
}

// sendtoGuard guards sendto: address in arguments 4 and 5, flags in 3.
func sendtoGuard(c *supervise.Call, dup, domain int) supervise.Result {
	if internetObject(domain) || c.Arg(4) == 0 {
		return supervise.Continue()
	}
	n := c.Int(5)
	if n < 2 || n > inet.SizeofSockaddrStorage {
		return supervise.Continue()
	}
	b, err := c.Read(c.Arg(4), int(n))
	if err != nil {
		return supervise.Fail(unix.EFAULT)
	}
	if !inetFamily(b) {
		return supervise.Continue()
	}
	return refuseSend(dup, domain, c.Int(3), b)
}

// sendmsgGuard guards sendmsg: the address is in the msghdr.
func sendmsgGuard(c *supervise.Call, dup, domain int) supervise.Result {
	if internetObject(domain) {
		return supervise.Continue()
	}
	name, e := msgName(c, c.Arg(1))
	switch {
	case e != 0:
		return supervise.Fail(e)
	case inetFamily(name):
		return refuseSend(dup, domain, c.Int(2), name)
	}
	return supervise.Continue()
}

// sendmmsgGuard guards sendmmsg. A batch in which a later message has an
// Internet address fails as a whole with that message's error (the kernel
// would send the messages before it first): no message is lost, since
// the program is told none was sent.
func sendmmsgGuard(c *supervise.Call, dup, domain int) supervise.Result {
	if internetObject(domain) {
		return supervise.Continue()
	}
	vlen := min(uint32(c.Int(2)), uioMaxIov)
	for i := range vlen {
		name, e := msgName(c, c.Arg(1)+uint64(i)*sizeofMmsghdr)
		switch {
		case e != 0 && i == 0:
			return supervise.Fail(e)
		case e != 0:
			return supervise.Continue() // the kernel stops there too
		case inetFamily(name):
			return refuseSend(dup, domain, c.Int(3), name)
		}
	}
	return supervise.Continue()
}

// msgName reads the address a struct msghdr at ptr names: nil for none,
// or for one any socket refuses by its length.
func msgName(c *supervise.Call, ptr uint64) ([]byte, unix.Errno) {
	b, err := c.Read(ptr, sizeofMsghdr)
	if err != nil {
		return nil, unix.EFAULT
	}
	mh := parseMsghdr(b)
	if mh.name == 0 || mh.namelen < 2 || mh.namelen > inet.SizeofSockaddrStorage {
		return nil, 0
	}
	nb, err := c.Read(mh.name, int(mh.namelen))
	if err != nil {
		return nil, unix.EFAULT
	}
	return nb, 0
}

// refuseSend answers a send of an Internet address from a non-Internet
// object with the kernel's refusal, asked of that object: an empty send,
// which refuses the address before it looks at data. A Unix socket and a
// non-socket always refuse; another family is left to the kernel, as the
// answer noip would get from it might be a send.
func refuseSend(dup, domain int, flags int32, name []byte) supervise.Result {
	if domain != unix.AF_UNIX && domain != -1 {
		return supervise.Continue()
	}
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(dup), 0, 0, uintptr(flags|unix.MSG_DONTWAIT),
		uintptr(unsafe.Pointer(&name[0])), uintptr(len(name)))
	if e == 0 {
		e = unix.EINVAL // cannot happen: the address is not this object's
	}
	return supervise.Fail(e)
}

// listenGuard guards listen.
func listenGuard(c *supervise.Call, dup, domain int) supervise.Result {
	if domain == unix.AF_UNIX && soleThread(c.Tid()) {
		// The kernel records the listener's credentials from the task
		// that listens: let the program's own thread do it.
		return supervise.Continue()
	}
	_, _, e := unix.Syscall(unix.SYS_LISTEN, uintptr(dup), uintptr(c.Int(1)), 0)
	return errnoResult(e)
}

// soleThread reports whether task tid is the only thread of its process.
func soleThread(tid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return false
	}
	i := bytes.Index(b, []byte("\nThreads:\t"))
	if i < 0 {
		return false
	}
	rest := b[i+len("\nThreads:\t"):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	return string(rest) == "1"
}

func errnoResult(e unix.Errno) supervise.Result {
	if e != 0 {
		return supervise.Fail(e)
	}
	return supervise.Return(0)
}

package noip

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"noip/internal/seccomp"
	"noip/internal/supervise"
)

// 32-bit programs (the i386, x32 and arm32 ABIs, and 64-bit programs that
// make a 32-bit call with int $0x80) are not served: they cannot create an
// Internet socket (the filter fails socket() with EAFNOSUPPORT). A real or
// plastic Internet socket can still reach one (inherited, received, or the
// program's own from a 64-bit call): a bind, connect, listen, accept or
// send on it through a 32-bit entry point fails closed, with
// EAFNOSUPPORT. The same calls on other sockets run as the kernel has them.

// compat wraps the handler of a socket call for the native ABI so that
// the same call from a 32-bit entry point gets the compat rule.
func (p *Policy) compat(native handler) handler {
	return func(c *supervise.Call, set *Settings) supervise.Result {
		if c.Arch == seccomp.Native {
			return native(c, set)
		}
		return p.compatCall(c, set, c.Int(0))
	}
}

// compatCall fails a 32-bit socket call on an Internet socket.
func (p *Policy) compatCall(c *supervise.Call, set *Settings, fd int32) supervise.Result {
	t := p.lookup(c, set, fd)
	if t.kind == kindOther {
		return t.r
	}
	t.close()
	return supervise.Fail(unix.EAFNOSUPPORT).
		WithNote(note(set, "%s(%d) from a 32-bit entry point on an Internet socket: 32-bit programs cannot use Internet sockets under noip", c.Name, fd))
}

// socketcall subcalls (linux/net.h) that act on an existing socket's
// addresses or connections.
const (
	sysBind     = 2
	sysConnect  = 3
	sysListen   = 4
	sysAccept   = 5
	sysSendto   = 11
	sysSendmsg  = 16
	sysAccept4  = 18
	sysSendmmsg = 20
)

var socketcallChecked = []uint32{sysBind, sysConnect, sysListen, sysAccept, sysSendto, sysSendmsg, sysAccept4, sysSendmmsg}

// socketcallFD reads the fd argument of a socketcall subcall: the first
// of its 32-bit arguments in memory.
func socketcallFD(c *supervise.Call) (int32, unix.Errno) {
	b, err := c.Read(c.Arg(1)&0xffffffff, 4)
	if err != nil {
		return 0, unix.EFAULT
	}
	return int32(binary.LittleEndian.Uint32(b)), 0
}

package noip

import (
	"encoding/binary"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"noip/internal/supervise"
)

// io_uring performs socket operations (OP_SOCKET, OP_CONNECT, OP_SEND,
// OP_SENDMSG...) inside the kernel, where no filter sees them. Under noip
// no program may create a ring (io_uring_setup is ENOSYS) or drive one
// (io_uring_enter and io_uring_register are too), and noip refuses to
// start with a ring among the fds it would hand CMD. A ring that arrives
// later (over SCM_RIGHTS, by pidfd_getfd) could still be driven without a
// call, by a kernel thread polling its submission queue (SQPOLL): so the
// rings' memory may not be mapped either. mmap of a ring's completion
// ring or submission entries fails with ENODEV, what a file that cannot
// be mapped gives.

// The mmap offsets of an io_uring's regions (linux/io_uring.h). The
// submission ring is at offset 0, like any file's start; its entries and,
// on old kernels, the completion ring are needed too.
const (
	ioringOffCQRing = 0x8000000
	ioringOffSQEs   = 0x10000000
)

// mmapRing handles an mmap at a ring's offset: the kernel's, unless the
// fd is an io_uring. (Another thread could swap the fd for a ring as the
// call goes on: a program doing that on purpose is not an accident.)
func mmapRing(c *supervise.Call) supervise.Result {
	fd, off := int(c.Int(4)), c.Arg(5)
	switch c.Name {
	case "mmap2":
		off *= 4096
	case "old_mmap":
		// i386's first mmap: its six 32-bit arguments are in memory.
		b, err := c.Read(c.Arg(0)&0xffffffff, 24)
		if err != nil {
			return supervise.Continue() // the kernel's EFAULT
		}
		fd, off = int(int32(binary.LittleEndian.Uint32(b[16:]))), uint64(binary.LittleEndian.Uint32(b[20:]))
	}
	if off != ioringOffCQRing && off != ioringOffSQEs {
		return supervise.Continue()
	}
	dup, err := c.GetFD(fd)
	if err != nil {
		if err == unix.EPERM {
			return supervise.Fail(unix.ENODEV) // cannot look: fail closed
		}
		return supervise.Continue()
	}
	defer unix.Close(dup)
	if IsRing(dup) {
		return supervise.Fail(unix.ENODEV).WithNote("mmap of an io_uring, which would reach the network around noip: refused")
	}
	return supervise.Continue()
}

// IsRing reports whether fd is an io_uring instance.
func IsRing(fd int) bool {
	link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	return err == nil && link == "anon_inode:[io_uring]"
}

package noip

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"noip/internal/supervise"
)

// The layouts of struct msghdr, struct mmsghdr, struct iovec and struct
// cmsghdr in a 64-bit program (x86-64 and arm64 agree), which noip reads
// and writes in the program's memory. Decoding is pure, so it is fuzzed.
const (
	sizeofMsghdr  = 56
	sizeofMmsghdr = 64
	sizeofIovec   = 16
	sizeofCmsghdr = 16
	uioMaxIov     = 1024
)

// msghdr is struct msghdr.
type msghdr struct {
	name       uint64
	namelen    uint32
	iov        uint64
	iovlen     uint64
	control    uint64
	controllen uint64
	flags      int32
}

func parseMsghdr(b []byte) msghdr {
	le := binary.LittleEndian
	return msghdr{
		name: le.Uint64(b[0:]), namelen: le.Uint32(b[8:]),
		iov: le.Uint64(b[16:]), iovlen: le.Uint64(b[24:]),
		control: le.Uint64(b[32:]), controllen: le.Uint64(b[40:]),
		flags: int32(le.Uint32(b[48:])),
	}
}

// iovec is struct iovec.
type iovec struct{ base, len uint64 }

// parseIovecs decodes n iovecs, checking them as the kernel does: more
// than UIO_MAXIOV is EMSGSIZE, a total that overflows ssize_t is EINVAL.
func parseIovecs(b []byte, n uint64) ([]iovec, unix.Errno) {
	if n > uioMaxIov {
		return nil, unix.EMSGSIZE
	}
	if uint64(len(b)) < n*sizeofIovec {
		return nil, unix.EFAULT
	}
	out := make([]iovec, n)
	var total uint64
	for i := range out {
		v := iovec{binary.LittleEndian.Uint64(b[i*16:]), binary.LittleEndian.Uint64(b[i*16+8:])}
		if int64(v.len) < 0 || total+v.len > 1<<63-1 {
			return nil, unix.EINVAL
		}
		total += v.len
		out[i] = v
	}
	return out, 0
}

func iovTotal(iovs []iovec) uint64 {
	var t uint64
	for _, v := range iovs {
		t += v.len
	}
	return t
}

// readIovecs reads the program's iovec array.
func readIovecs(c *supervise.Call, ptr, n uint64) ([]iovec, unix.Errno) {
	if n == 0 {
		return nil, 0
	}
	if n > uioMaxIov {
		return nil, unix.EMSGSIZE
	}
	b, err := c.Read(ptr, int(n*sizeofIovec))
	if err != nil {
		return nil, unix.EFAULT
	}
	return parseIovecs(b, n)
}

// gather reads the data the iovecs name, at most max bytes.
func gather(c *supervise.Call, iovs []iovec, max int) ([]byte, unix.Errno) {
	out := make([]byte, 0, min(int(iovTotal(iovs)), max))
	for _, v := range iovs {
		n := min(int(v.len), max-len(out))
		if n <= 0 {
			break
		}
		b, err := c.Read(v.base, n)
		if err != nil {
			return nil, unix.EFAULT
		}
		out = append(out, b...)
	}
	return out, 0
}

// scatter writes data into the iovecs.
func scatter(c *supervise.Call, iovs []iovec, data []byte) unix.Errno {
	for _, v := range iovs {
		if len(data) == 0 {
			break
		}
		n := min(int(v.len), len(data))
		if n == 0 {
			continue
		}
		if err := c.Write(v.base, data[:n]); err != nil {
			return unix.EFAULT
		}
		data = data[n:]
	}
	return 0
}

// cmsg is one control message.
type cmsg struct {
	level, typ int32
	data       []byte
}

func cmsgAlign(n int) int { return (n + 7) &^ 7 }

// parseCmsgs decodes a control buffer as the kernel walks it: a header
// whose length is too short or runs past the buffer is EINVAL.
func parseCmsgs(b []byte) ([]cmsg, unix.Errno) {
	var out []cmsg
	for len(b) >= sizeofCmsghdr {
		l := binary.LittleEndian.Uint64(b)
		if l < sizeofCmsghdr || l > uint64(len(b)) {
			return nil, unix.EINVAL
		}
		out = append(out, cmsg{
			level: int32(binary.LittleEndian.Uint32(b[8:])),
			typ:   int32(binary.LittleEndian.Uint32(b[12:])),
			data:  b[sizeofCmsghdr:l],
		})
		b = b[min(cmsgAlign(int(l)), len(b)):]
	}
	return out, 0
}

// appendCmsg appends a control message in the kernel's layout.
func appendCmsg(b []byte, level, typ int32, data []byte) []byte {
	var h [sizeofCmsghdr]byte
	binary.LittleEndian.PutUint64(h[0:], uint64(sizeofCmsghdr+len(data)))
	binary.LittleEndian.PutUint32(h[8:], uint32(level))
	binary.LittleEndian.PutUint32(h[12:], uint32(typ))
	b = append(b, h[:]...)
	b = append(b, data...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// fitCmsgs cuts control messages to a buffer of n bytes as the kernel's
// put_cmsg does: whole messages while they fit (the last one's padding
// may be cut), and truncated reports MSG_CTRUNC.
func fitCmsgs(b []byte, n int) (out []byte, truncated bool) {
	for len(b) >= sizeofCmsghdr {
		ul := binary.LittleEndian.Uint64(b)
		if ul < sizeofCmsghdr || ul > uint64(len(b)) {
			// Not a message (the kernel's walk stops at such a header).
			return out, false
		}
		l := int(ul)
		space := cmsgAlign(l)
		if len(out)+l > n {
			return out, true
		}
		out = append(out, b[:min(space, len(b), n-len(out))]...)
		b = b[min(space, len(b)):]
	}
	return out, false
}

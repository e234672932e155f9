package sockdir

import (
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// SockState is the kernel's state of a bound Unix socket: listening
// (TCP_LISTEN) or anything else.
type SockState struct {
	Listening bool
	Type      int // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
	Ino       uint32
}

// Netlink sock_diag constants (linux/sock_diag.h, linux/unix_diag.h).
const (
	sockDiagByFamily = 20
	udiagShowVFS     = 0x2
	unixDiagVFS      = 1
	tcpListen        = 10
)

// Snapshot is what the kernel says of every Unix socket in the network
// namespace at one moment: every user's, though only inode numbers are used.
type Snapshot struct {
	// Files maps the device and inode number of each bound socket file to
	// its socket's state. A socket file missing here is stale: no process
	// holds its socket. (Inode numbers alone are not enough: another user's
	// socket file on another filesystem may have the same one.)
	Files map[FileID]SockState
	// Sockets holds the inode numbers of all Unix sockets that exist.
	Sockets map[uint32]struct{}
}

// Snap asks the kernel (sock_diag) for a Snapshot.
func Snap() (Snapshot, error) {
	snap := Snapshot{Files: make(map[FileID]SockState), Sockets: make(map[uint32]struct{})}
	s, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return snap, os.NewSyscallError("socket(NETLINK_SOCK_DIAG)", err)
	}
	defer unix.Close(s)
	// struct nlmsghdr + struct unix_diag_req
	req := make([]byte, unix.NLMSG_HDRLEN+24)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], sockDiagByFamily)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], 1)
	r := req[unix.NLMSG_HDRLEN:]
	r[0] = unix.AF_UNIX
	binary.NativeEndian.PutUint32(r[4:], 0xffffffff) // all states
	binary.NativeEndian.PutUint32(r[12:], udiagShowVFS)
	if err := unix.Sendto(s, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return snap, os.NewSyscallError("sendto(sock_diag)", err)
	}
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(s, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return snap, os.NewSyscallError("recvfrom(sock_diag)", err)
		}
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			mlen := int(binary.NativeEndian.Uint32(b))
			if mlen < unix.NLMSG_HDRLEN || mlen > len(b) {
				return snap, fmt.Errorf("sock_diag: bad message length %d", mlen)
			}
			typ := binary.NativeEndian.Uint16(b[4:])
			d := b[unix.NLMSG_HDRLEN:mlen]
			b = b[min((mlen+3)&^3, len(b)):]
			switch typ {
			case unix.NLMSG_DONE:
				return snap, nil
			case unix.NLMSG_ERROR:
				if len(d) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(d)); e != 0 {
						return snap, os.NewSyscallError("sock_diag", unix.Errno(-e))
					}
				}
				continue
			}
			// struct unix_diag_msg: family, type, state, pad, ino, cookie[2]
			if len(d) < 16 {
				continue
			}
			st := SockState{Type: int(d[1]), Listening: d[2] == tcpListen, Ino: binary.NativeEndian.Uint32(d[4:])}
			snap.Sockets[st.Ino] = struct{}{}
			for a := d[16:]; len(a) >= 4; {
				alen := int(binary.NativeEndian.Uint16(a))
				if alen < 4 || alen > len(a) {
					break
				}
				if binary.NativeEndian.Uint16(a[2:]) == unixDiagVFS && alen >= 12 {
					// struct unix_diag_vfs: ino, then dev as the kernel
					// encodes it internally.
					id := FileID{Ino: binary.NativeEndian.Uint32(a[4:]), Dev: UserDev(binary.NativeEndian.Uint32(a[8:]))}
					snap.Files[id] = st
				}
				a = a[min((alen+3)&^3, len(a)):]
			}
		}
	}
}

// UserDev converts a device number from the kernel's internal encoding
// (dev_t inside the kernel: major in the top 12 bits, minor in the low 20),
// which sock_diag reports, to the encoding stat gives programs.
func UserDev(kdev uint32) uint64 {
	return unix.Mkdev(kdev>>20, kdev&0xfffff)
}

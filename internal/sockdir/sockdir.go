// Package sockdir manages a private socket directory: the place where
// plastic endpoints live as Unix-domain socket files. Stream (TCP)
// endpoints are files named for their address ("127.0.0.1:8000",
// "[::1]:8000"); datagram (UDP) endpoints live in its "udp" subdirectory,
// since the kernel keeps TCP and UDP ports apart.
//
// It refuses directories that other users could reach or redirect (symlinks,
// foreign owners, group or other access). It never follows symlinks, never
// removes anything but socket files whose names are endpoint names, and never
// removes a socket that some process still holds.
package sockdir

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
)

// UDP is the subdirectory of datagram endpoints, and the prefix of their
// names in this package: "udp/127.0.0.1:53".
const UDP = "udp"

// DefaultPath returns where a user's socket directory lives when nothing
// says otherwise: $XDG_RUNTIME_DIR/noip when XDG_RUNTIME_DIR is a directory
// of the user's that no one else may enter (the per-user runtime directory
// of a login session, which no other user can pre-create), else the
// classic ${TMPDIR:-${TMP:-/tmp}}/noip-NAME, NAME being $USER, else
// $LOGNAME, else uid-UID. classic reports the latter, in a directory
// others may write to. It looks at XDG_RUNTIME_DIR with lstat: call it off
// any path that must not block.
func DefaultPath(getenv func(string) string, uid int) (path string, classic bool) {
	if x := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		var st unix.Stat_t
		if unix.Lstat(x, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR &&
			int(st.Uid) == uid && st.Mode&0o077 == 0 {
			return filepath.Join(x, "noip"), false
		}
	}
	tmp := getenv("TMPDIR")
	if tmp == "" {
		tmp = getenv("TMP")
	}
	if tmp == "" {
		tmp = "/tmp"
	}
	name := getenv("USER")
	if name == "" {
		name = getenv("LOGNAME")
	}
	if name == "" {
		name = "uid-" + strconv.Itoa(uid)
	}
	return filepath.Join(tmp, "noip-"+filepath.Base(name)), true
}

// UnsafeError reports a socket directory noip refuses to use.
type UnsafeError struct {
	Path   string
	Reason string
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("socket directory %s: %s", e.Path, e.Reason)
}

// Dir is an open, checked socket directory. Its fds stay open so that paths
// too long for a sockaddr_un can be reached as /proc/self/fd/FD/NAME.
type Dir struct {
	Path string // absolute, cleaned
	fd   int
	udp  int // the datagram subdirectory
}

// Open creates path (mode 0700, parents too) if it does not exist, and
// checks that it is a directory, not a symlink, owned by the effective user
// and closed to group and others; the same for its datagram subdirectory.
// A refusal is an *UnsafeError that says who made the directory.
func Open(path string) (*Dir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("socket directory %s: %w", path, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil && !os.IsExist(err) {
		if uerr := refusal(abs); uerr != nil {
			return nil, uerr
		}
		return nil, fmt.Errorf("creating socket directory: %w", err)
	}
	fd, err := unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if uerr := refusal(abs); uerr != nil {
			return nil, uerr
		}
		return nil, fmt.Errorf("opening socket directory %s: %w", abs, err)
	}
	if err := checkFD(fd, abs); err != nil {
		unix.Close(fd)
		return nil, err
	}
	udp, err := openSub(fd, abs, UDP)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &Dir{Path: abs, fd: fd, udp: udp}, nil
}

// openSub opens (making it if needed) the subdirectory name of the open
// directory dirfd, with the same checks.
func openSub(dirfd int, parent, name string) (int, error) {
	if err := unix.Mkdirat(dirfd, name, 0o700); err != nil && err != unix.EEXIST {
		return -1, fmt.Errorf("creating %s/%s: %w", parent, name, err)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &UnsafeError{parent + "/" + name, "is not a directory (" + err.Error() + ")"}
	}
	if err := checkFD(fd, parent+"/"+name); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// checkFD refuses an open directory that is not the user's alone.
func checkFD(fd int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return os.NewSyscallError("fstat", err)
	}
	if int(st.Uid) != os.Geteuid() {
		return &UnsafeError{path, fmt.Sprintf("is owned by %s, not by you (%s): another user made it; set NOIP_SOCKETDIR to a directory of your own", userName(int(st.Uid)), userName(os.Geteuid()))}
	}
	if st.Mode&0o077 != 0 {
		return &UnsafeError{path, fmt.Sprintf("has mode %04o: group and others must have no access (chmod 700 it)", st.Mode&0o7777)}
	}
	return nil
}

// refusal explains why an existing path cannot be the socket directory,
// or returns nil when it does not exist or nothing is wrong with it.
func refusal(path string) error {
	var st unix.Stat_t
	if unix.Lstat(path, &st) != nil {
		return nil
	}
	mine := int(st.Uid) == os.Geteuid()
	other := ""
	if !mine {
		other = fmt.Sprintf(", owned by %s: another user made it; set NOIP_SOCKETDIR to a directory of your own", userName(int(st.Uid)))
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if !mine {
			return &UnsafeError{path, fmt.Sprintf("is owned by %s, not by you (%s): another user made it; set NOIP_SOCKETDIR to a directory of your own", userName(int(st.Uid)), userName(os.Geteuid()))}
		}
		return nil
	case unix.S_IFLNK:
		return &UnsafeError{path, "is a symlink" + other}
	case unix.S_IFIFO:
		return &UnsafeError{path, "is not a directory (a fifo)" + other}
	case unix.S_IFSOCK:
		return &UnsafeError{path, "is not a directory (a socket)" + other}
	case unix.S_IFREG:
		return &UnsafeError{path, "is not a directory (a regular file)" + other}
	}
	return &UnsafeError{path, "is not a directory (a device)" + other}
}

// userName is "name (uid N)", or "uid N" when /etc/passwd has no name for
// uid. (os/user would make the binary dynamic.)
func userName(uid int) string {
	if b, err := os.ReadFile("/etc/passwd"); err == nil {
		want := strconv.Itoa(uid)
		for line := range strings.SplitSeq(string(b), "\n") {
			f := strings.Split(line, ":")
			if len(f) >= 3 && f[2] == want {
				return fmt.Sprintf("%s (uid %d)", f[0], uid)
			}
		}
	}
	return fmt.Sprintf("uid %d", uid)
}

// Close releases the directory fds.
func (d *Dir) Close() error {
	unix.Close(d.udp)
	return unix.Close(d.fd)
}

// maxPath is the longest path a sockaddr_un holds (sun_path minus its NUL).
const maxPath = inet.SizeofSockaddrUnix - 2 - 1

// SockPath returns a path for endpoint file name that fits a sockaddr_un:
// the absolute path when short enough, else a /proc/self/fd path through
// the directory's fd. Only the calling process can use the latter.
func (d *Dir) SockPath(name string) string {
	if p := d.Path + "/" + name; len(p) <= maxPath {
		return p
	}
	fd, base := d.at(name)
	return "/proc/self/fd/" + strconv.Itoa(fd) + "/" + base
}

// at returns the directory fd an endpoint name lives in and its last
// component.
func (d *Dir) at(name string) (int, string) {
	if base, ok := strings.CutPrefix(name, UDP+"/"); ok {
		return d.udp, base
	}
	return d.fd, name
}

// Lock takes the directory's exclusive lock, which every noip that changes
// names in it holds, so that replacing a stale file never removes one that
// another noip just bound.
func (d *Dir) Lock() error {
	for {
		err := unix.Flock(d.fd, unix.LOCK_EX)
		if err != unix.EINTR {
			return os.NewSyscallError("flock", err)
		}
	}
}

// Unlock releases Lock.
func (d *Dir) Unlock() { unix.Flock(d.fd, unix.LOCK_UN) }

// FileID names a file for the kernel: device and inode. sock_diag reports
// the low 32 bits of a socket file's inode number.
type FileID struct {
	Dev uint64 // as stat reports st_dev
	Ino uint32
}

// Entry is an endpoint socket file in the directory.
type Entry struct {
	Name string // "127.0.0.1:80", or "udp/127.0.0.1:53" for a datagram endpoint
	ID   FileID
}

// Datagram reports whether the entry is a datagram endpoint.
func (e Entry) Datagram() bool { return strings.HasPrefix(e.Name, UDP+"/") }

// Stat returns the endpoint file name if it exists and is a socket.
func (d *Dir) Stat(name string) (Entry, bool) {
	fd, base := d.at(name)
	var st unix.Stat_t
	if err := unix.Fstatat(fd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Entry{}, false
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return Entry{}, false
	}
	return Entry{Name: name, ID: FileID{Dev: st.Dev, Ino: uint32(st.Ino)}}, true
}

// Entries lists the socket files in the directory (and its datagram
// subdirectory) whose names are endpoint names. Other files are not noip's
// and are left alone.
func (d *Dir) Entries() ([]Entry, error) {
	var out []Entry
	for _, sub := range []string{"", UDP} {
		names, err := readNames(d.Path, sub)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if _, ok := inet.ParseName(n); !ok {
				continue
			}
			if sub != "" {
				n = sub + "/" + n
			}
			if e, ok := d.Stat(n); ok {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

func readNames(dir, sub string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, sub))
	if err != nil {
		if sub != "" && os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// Remove unlinks endpoint file name. Hold Lock and check the file is stale
// first.
func (d *Dir) Remove(name string) error {
	fd, base := d.at(name)
	if err := unix.Unlinkat(fd, base, 0); err != nil && err != unix.ENOENT {
		return os.NewSyscallError("unlinkat", err)
	}
	return nil
}

// Link gives endpoint file old a second name, new. A dual-stack IPv6
// wildcard listener is also the IPv4 wildcard listener of its port.
func (d *Dir) Link(old, new string) error {
	ofd, obase := d.at(old)
	nfd, nbase := d.at(new)
	if err := unix.Linkat(ofd, obase, nfd, nbase, 0); err != nil {
		return os.NewSyscallError("linkat", err)
	}
	return nil
}

// GC removes every stale endpoint file (one no socket holds any more) and
// returns how many it removed.
func (d *Dir) GC() (int, error) {
	if err := d.Lock(); err != nil {
		return 0, err
	}
	defer d.Unlock()
	entries, err := d.Entries()
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	// List before dumping: a file bound after the listing is not looked at,
	// and one bound before it shows in the dump.
	snap, err := Snap()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if _, ok := snap.Files[e.ID]; ok {
			continue
		}
		if d.Remove(e.Name) == nil {
			n++
		}
	}
	return n, nil
}

// Endpoint is what List says of one endpoint file.
type Endpoint struct {
	Name      string // as in Entry
	Datagram  bool   // a UDP endpoint (else TCP)
	Type      int    // the bound socket's type, when live
	Live      bool   // some socket is bound to it
	Listening bool
	SockIno   uint32 // the bound socket's inode, when live
}

// List describes the endpoint files of the directory, in name order.
func (d *Dir) List() ([]Endpoint, error) {
	entries, err := d.Entries()
	if err != nil {
		return nil, err
	}
	snap, err := Snap()
	if err != nil {
		return nil, err
	}
	out := make([]Endpoint, 0, len(entries))
	for _, e := range entries {
		ep := Endpoint{Name: e.Name, Datagram: e.Datagram()}
		if st, ok := snap.Files[e.ID]; ok {
			ep.Live, ep.Listening, ep.Type, ep.SockIno = true, st.Listening, st.Type, st.Ino
		}
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Package sockdir manages a private socket directory: the place where
// plastic endpoints live as Unix-domain socket files.
//
// It refuses directories that other users could reach or redirect (symlinks,
// foreign owners, group or other access). It never follows symlinks, never
// removes anything but socket files whose names are endpoint names, and never
// removes a socket that some process still holds.
package sockdir

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"noip/internal/inet"
)

// DefaultPath returns where a user's socket directory lives when nothing
// says otherwise: ${TMPDIR:-${TMP:-/tmp}}/noip-NAME, NAME being $USER, else
// $LOGNAME, else uid-UID.
func DefaultPath(getenv func(string) string, uid int) string {
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
	return filepath.Join(tmp, "noip-"+filepath.Base(name))
}

// UnsafeError reports a socket directory noip refuses to use.
type UnsafeError struct {
	Path   string
	Reason string
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("socket directory %s: %s", e.Path, e.Reason)
}

// Dir is an open, checked socket directory. Its fd stays open so that paths
// too long for a sockaddr_un can be reached as /proc/self/fd/FD/NAME.
type Dir struct {
	Path string // absolute, cleaned
	fd   int
}

// Open creates path (mode 0700, parents too) if it does not exist, and
// checks that it is a directory, not a symlink, owned by the effective user
// and closed to group and others. A refusal is an *UnsafeError.
func Open(path string) (*Dir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("socket directory %s: %w", path, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil && !os.IsExist(err) {
		return nil, fmt.Errorf("creating socket directory: %w", err)
	}
	fd, err := unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == unix.ELOOP || err == unix.ENOTDIR {
		if fi, lerr := os.Lstat(abs); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, &UnsafeError{abs, "is a symlink"}
		}
		return nil, &UnsafeError{abs, "is not a directory"}
	}
	if err != nil {
		return nil, fmt.Errorf("opening socket directory %s: %w", abs, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fstat", err)
	}
	if int(st.Uid) != os.Geteuid() {
		unix.Close(fd)
		return nil, &UnsafeError{abs, fmt.Sprintf("is owned by uid %d, not by you (uid %d)", st.Uid, os.Geteuid())}
	}
	if st.Mode&0o077 != 0 {
		unix.Close(fd)
		return nil, &UnsafeError{abs, fmt.Sprintf("has mode %04o: group and others must have no access (chmod 700 it)", st.Mode&0o7777)}
	}
	return &Dir{Path: abs, fd: fd}, nil
}

// Close releases the directory fd.
func (d *Dir) Close() error { return unix.Close(d.fd) }

// maxPath is the longest path a sockaddr_un holds (sun_path minus its NUL).
const maxPath = inet.SizeofSockaddrUnix - 2 - 1

// SockPath returns a path for endpoint file name that fits a sockaddr_un:
// the absolute path when short enough, else a /proc/self/fd path through
// the directory's fd. Only the calling process can use the latter.
func (d *Dir) SockPath(name string) string {
	if p := d.Path + "/" + name; len(p) <= maxPath {
		return p
	}
	return "/proc/self/fd/" + strconv.Itoa(d.fd) + "/" + name
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

// Entry is an endpoint socket file in the directory.
type Entry struct {
	Name string
	Ino  uint64
}

// Stat returns the endpoint file name if it exists and is a socket.
func (d *Dir) Stat(name string) (Entry, bool) {
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Entry{}, false
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return Entry{}, false
	}
	return Entry{Name: name, Ino: st.Ino}, true
}

// Entries lists the socket files in the directory whose names are endpoint
// names. Other files are not noip's and are left alone.
func (d *Dir) Entries() ([]Entry, error) {
	f, err := os.Open(d.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, n := range names {
		if _, ok := inet.ParseName(n); !ok {
			continue
		}
		if e, ok := d.Stat(n); ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// Remove unlinks endpoint file name. Hold Lock and check the file is stale
// first.
func (d *Dir) Remove(name string) error {
	if err := unix.Unlinkat(d.fd, name, 0); err != nil && err != unix.ENOENT {
		return os.NewSyscallError("unlinkat", err)
	}
	return nil
}

// Link gives endpoint file old a second name, new. A dual-stack IPv6
// wildcard listener is also the IPv4 wildcard listener of its port.
func (d *Dir) Link(old, new string) error {
	if err := unix.Linkat(d.fd, old, d.fd, new, 0); err != nil {
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
	live, err := LiveFiles()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if _, ok := live[uint32(e.Ino)]; ok {
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
	Name      string
	Type      int  // SOCK_STREAM or SOCK_DGRAM; 0 when stale
	Live      bool // some socket is bound to it
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
		ep := Endpoint{Name: e.Name}
		if st, ok := snap.Files[uint32(e.Ino)]; ok {
			ep.Live, ep.Listening, ep.Type, ep.SockIno = true, st.Listening, st.Type, st.Ino
		}
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

package uopen

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"noip/internal/supervise"
	"noip/internal/tracee"
)

// The quick path. Handing a lookup to another goroutine costs more than
// the rest of an open (a thread wakes, and the answer comes from it), and
// nearly every open is of a file on a local disk. So the loop looks the
// path up itself when it cannot block on anyone: the walk starts in a
// mount of a local file system (ext4, tmpfs...), which it learns from its
// fd's fdinfo without asking the file system, and is kept inside that
// mount (RESOLVE_NO_XDEV), so it cannot reach a FUSE or NFS server. What
// it finds that is not a socket, or nothing, goes to the kernel at once;
// everything else (a socket, another mount on the way, a symlink out of
// it, any doubt) takes the goroutine path as before. With an autofs mount
// anywhere there is no quick path: crossing into one may wait for the
// automounter before the walk is stopped.

// localFS are the file systems whose lookups no user-space server answers.
var localFS = map[string]bool{
	"ext2": true, "ext3": true, "ext4": true, "xfs": true, "btrfs": true,
	"tmpfs": true, "devtmpfs": true, "ramfs": true, "f2fs": true,
}

// mounts knows which mount ids are of local file systems, re-reading the
// mount table whenever the kernel says it changed (ids are reused).
type mounts struct {
	mu    sync.Mutex
	table *os.File // /proc/self/mountinfo, polled for changes
	local map[int]bool
	root  fdID // our "/"
	err   bool // the table cannot be read: no quick path
}

// fdID is what fdinfo says of an fd: its mount and inode.
type fdID struct{ mnt, ino uint64 }

// readFDID reads fd's mount id and inode number from our fdinfo: no call
// into the file system.
func readFDID(fd int) (fdID, bool) {
	fi, err := tracee.ReadFDInfo(0, fd)
	return fdID{fi.MntID, fi.Ino}, err == nil
}

func newMounts() *mounts {
	m := &mounts{}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		m.err = true
		return m
	}
	m.table = f
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		m.err = true
		return m
	}
	defer unix.Close(root)
	var ok bool
	if m.root, ok = readFDID(root); !ok || !m.reload() {
		m.err = true
	}
	return m
}

// reload reads the mount table.
func (m *mounts) reload() bool {
	if _, err := m.table.Seek(0, 0); err != nil {
		return false
	}
	b, err := io.ReadAll(m.table)
	if err != nil {
		return false
	}
	local := make(map[int]bool)
	for _, l := range bytes.Split(b, []byte("\n")) {
		// ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		f := bytes.Fields(l)
		sep := -1
		for i, x := range f {
			if string(x) == "-" {
				sep = i
				break
			}
		}
		if len(f) < 5 || sep < 0 || sep+1 >= len(f) {
			continue
		}
		if string(f[sep+1]) == "autofs" {
			// Crossing into an autofs mount may wait for its daemon
			// before RESOLVE_NO_XDEV stops the walk: no quick path.
			m.local = nil
			return true
		}
		if id, err := strconv.Atoi(string(f[0])); err == nil && localFS[string(f[sep+1])] {
			local[id] = true
		}
	}
	m.local = local
	return true
}

// isLocal reports whether mount id is of a local file system, as the
// mount table is now.
func (m *mounts) isLocal(id uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err {
		return false
	}
	// A changed table polls POLLPRI|POLLERR until it is read again.
	pfd := []unix.PollFd{{Fd: int32(m.table.Fd()), Events: unix.POLLPRI}}
	if n, err := unix.Poll(pfd, 0); err != nil || n > 0 && pfd[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0 {
		if !m.reload() {
			m.err = true
			return false
		}
	}
	return m.local[int(id)]
}

// quick answers an open on the loop when that cannot block: ok false
// means take the goroutine path.
func (p *Policy) quick(pid, dirfd int, req openReq) (r supervise.Result, ok bool) {
	if p.mounts == nil || req.resolve&(unix.RESOLVE_IN_ROOT|unix.RESOLVE_BENEATH) != 0 {
		return r, false
	}
	start := dirfd
	proc := "/proc/" + strconv.Itoa(pid)
	switch {
	case req.path[0] == '/':
		// Our root must be the program's (compared by fdinfo: a stat
		// could ask the file system).
		root, err := unix.Open(proc+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return r, false
		}
		id, known := readFDID(root)
		unix.Close(root)
		if !known || id != p.mounts.root {
			return r, false
		}
		start = unix.AT_FDCWD // absolute: from our root, which is theirs
		if !p.mounts.isLocal(id.mnt) {
			return r, false
		}
	case start < 0:
		cwd, err := unix.Open(proc+"/cwd", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return r, false
		}
		defer unix.Close(cwd)
		start = cwd
		fallthrough
	default:
		id, known := readFDID(start)
		if !known || !p.mounts.isLocal(id.mnt) {
			return r, false
		}
	}
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: req.resolve | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS}
	if req.flags&unix.O_NOFOLLOW != 0 {
		how.Flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Openat2(start, req.path, &how)
	switch err {
	case nil:
	case unix.ENOENT, unix.ENOTDIR:
		// Nothing there, within a mount no server answers for.
		return supervise.Continue(), true
	default:
		return r, false // EXDEV (another mount), ELOOP, EACCES...: ask slowly
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	unix.Close(fd)
	if err != nil || st.Mode&unix.S_IFMT == unix.S_IFSOCK {
		return r, false
	}
	return supervise.Continue(), true
}

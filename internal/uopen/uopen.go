// Package uopen is the uopen policy: open(2) of a path that is a
// Unix-domain socket connects to it, as if the socket were a file.
//
// An open, openat, openat2 or creat of a path that resolves to a socket
// returns a socket connected to it: stream, else seqpacket, else datagram,
// as the server's type requires. O_CLOEXEC and O_NONBLOCK carry over; a
// read-only open shuts down sending, a write-only one receiving. The path
// resolves as the kernel would resolve it for the program: from its working
// directory or directory fd, within its root, following symlinks unless
// O_NOFOLLOW says not to. Every other open runs in the kernel unchanged.
//
// It looks a path up on the notification loop only inside a mount of a
// local file system (quick.go): a path on a FUSE or NFS mount may never
// answer, and the loop serves every process. Other lookups run on other
// goroutines, at most a few at a time.
package uopen

import (
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"noip/internal/seccomp"
	"noip/internal/supervise"
)

// Policy is the uopen policy of one supervised tree.
type Policy struct {
	// Debug logs each open served.
	Debug bool
	// lookups bounds the goroutines looking paths up: a path that hangs
	// holds one.
	lookups chan struct{}
	mounts  *mounts // which mounts the loop may look paths up in
}

// New returns a uopen policy.
func New(debug bool) *Policy {
	return &Policy{Debug: debug, lookups: make(chan struct{}, 32), mounts: newMounts()}
}

// Handlers returns the handler of every call the uopen filter notifies.
func (p *Policy) Handlers() supervise.Handlers {
	return supervise.Handlers{
		"open":    p.open,
		"openat":  p.open,
		"openat2": p.open,
		"creat":   p.open,
	}
}

// Rules are the filter rules of uopen, for an ABI's policy: every open
// comes to the supervisor (the path is in memory, which the filter cannot
// see); the handler lets those that open no socket go on at once.
func Rules() []seccomp.Rule {
	return []seccomp.Rule{
		seccomp.Always("open", seccomp.Notify),
		seccomp.Always("openat", seccomp.Notify),
		seccomp.Always("openat2", seccomp.Notify),
		seccomp.Always("creat", seccomp.Notify),
	}
}

// openReq is an open as the program asked it.
type openReq struct {
	dirfd   int32
	path    string
	flags   uint64
	resolve uint64 // openat2's RESOLVE_* flags
}

func (p *Policy) open(c *supervise.Call) supervise.Result {
	req := openReq{dirfd: unix.AT_FDCWD}
	var ptr uint64
	switch c.Name {
	case "open":
		ptr, req.flags = c.Arg(0), c.Arg(1)
	case "creat":
		ptr, req.flags = c.Arg(0), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC
	case "openat":
		req.dirfd, ptr, req.flags = c.Int(0), c.Arg(1), c.Arg(2)
	case "openat2":
		req.dirfd, ptr = c.Int(0), c.Arg(1)
		if c.Arg(3) < 24 {
			return supervise.Continue() // the kernel says EINVAL
		}
		how, err := c.Read(c.Arg(2), 24)
		if err != nil {
			return supervise.Continue() // the kernel says EFAULT
		}
		req.flags = le64(how[0:])
		req.resolve = le64(how[16:])
	}
	if req.flags&unix.O_PATH != 0 || req.flags&unix.O_DIRECTORY != 0 {
		return supervise.Continue() // opens no socket
	}
	path, err := c.Proc.ReadCString(ptr, unix.PathMax)
	if err != nil || path == "" {
		return supervise.Continue() // the kernel's EFAULT, ENAMETOOLONG, ENOENT
	}
	req.path = path
	// The path is looked up off the loop. The program's directory fd is
	// taken now, while the call waits (the program may close it later).
	dirfd := -1
	if req.dirfd != unix.AT_FDCWD && path[0] != '/' {
		fd, err := c.GetFD(int(req.dirfd))
		if err != nil {
			return supervise.Continue() // EBADF and friends, from the kernel
		}
		dirfd = fd
	}
	pid := c.Tid()
	if pr := c.Process(); pr != nil {
		pid = pr.Pid
	}
	if r, ok := p.quick(pid, dirfd, req); ok {
		if dirfd >= 0 {
			unix.Close(dirfd)
		}
		return r
	}
	return c.Go(func() supervise.Result {
		if dirfd >= 0 {
			defer unix.Close(dirfd)
		}
		p.lookups <- struct{}{}
		defer func() { <-p.lookups }()
		return p.serve(c, pid, dirfd, req)
	})
}

// serve resolves the path and, if it is a socket, connects to it.
func (p *Policy) serve(c *supervise.Call, pid, dirfd int, req openReq) supervise.Result {
	sock, err := p.resolve(pid, dirfd, req)
	if err != nil {
		return supervise.Continue() // not a socket, or no such path: the kernel answers
	}
	defer unix.Close(sock)
	if !c.Valid() {
		return supervise.Fail(unix.EINTR)
	}
	fd, typ, e := connect(sock)
	if e != 0 {
		return supervise.Fail(e).WithNote(p.note("open %s: a socket, but %v", req.path, e))
	}
	switch req.flags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		unix.Shutdown(fd, unix.SHUT_WR)
	case unix.O_WRONLY:
		unix.Shutdown(fd, unix.SHUT_RD)
	}
	if req.flags&unix.O_NONBLOCK == 0 {
		unix.SetNonblock(fd, false)
	}
	return supervise.Inject(fd, req.flags&unix.O_CLOEXEC != 0).
		WithNote(p.note("open %s: connected to the %s socket", req.path, typeName(typ)))
}

// resolve opens the path as an O_PATH fd of the supervisor's, resolved
// as the kernel would for process pid (its working directory, root and
// the directory fd), and returns it if it is a socket.
func (p *Policy) resolve(pid, dirfd int, req openReq) (int, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: req.resolve}
	if req.flags&unix.O_NOFOLLOW != 0 {
		how.Flags |= unix.O_NOFOLLOW
	}
	proc := "/proc/" + strconv.Itoa(pid)
	start := dirfd
	if start < 0 {
		cwd, err := unix.Open(proc+"/cwd", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		defer unix.Close(cwd)
		start = cwd
	}
	path := req.path
	if path[0] == '/' {
		// Absolute paths resolve in the program's root, which may not be
		// the supervisor's.
		root, err := unix.Open(proc+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		defer unix.Close(root)
		if !sameFile(root, "/") {
			start = root
			how.Resolve |= unix.RESOLVE_IN_ROOT
		} else {
			start = unix.AT_FDCWD
		}
	}
	fd, err := unix.Openat2(start, path, &how)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		unix.Close(fd)
		return -1, unix.ENOTSOCK
	}
	return fd, nil
}

func sameFile(fd int, path string) bool {
	var a, b unix.Stat_t
	return unix.Fstat(fd, &a) == nil && unix.Stat(path, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

// connectTimeout is how long a connect to a listener whose backlog stays
// full is retried.
const connectTimeout = 2 * time.Minute

// connect connects a new socket to the socket file sock (an O_PATH fd),
// trying the types a server may have, and returns it (non-blocking) and
// its type.
func connect(sock int) (int, int, unix.Errno) {
	path := "/proc/self/fd/" + strconv.Itoa(sock)
	var last unix.Errno = unix.ECONNREFUSED
	for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_SEQPACKET, unix.SOCK_DGRAM} {
		fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			return -1, 0, err.(unix.Errno)
		}
		deadline := time.Now().Add(connectTimeout)
		delay := 100 * time.Microsecond
		for {
			err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
			if err != unix.EAGAIN || time.Now().After(deadline) {
				break
			}
			// The listener's backlog is full: wait, as a blocking
			// connect would.
			time.Sleep(delay)
			delay = min(2*delay, 50*time.Millisecond)
		}
		switch err {
		case nil:
			return fd, typ, 0
		case unix.EPROTOTYPE:
			unix.Close(fd)
			continue // the server's socket is of another type
		case unix.EAGAIN:
			unix.Close(fd)
			return -1, 0, unix.ETIMEDOUT
		}
		unix.Close(fd)
		last = err.(unix.Errno)
		break
	}
	return -1, 0, last
}

func typeName(t int) string {
	switch t {
	case unix.SOCK_STREAM:
		return "stream"
	case unix.SOCK_SEQPACKET:
		return "seqpacket"
	}
	return "datagram"
}

func (p *Policy) note(format string, args ...any) string {
	if !p.Debug {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

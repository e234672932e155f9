package session

import (
	"os"
	"sort"
	"strconv"

	"golang.org/x/sys/unix"
)

// inheritedFDs lists this process's open fds, from 3 up, that an execve
// would pass on (not close-on-exec): what the user gave CMD (systemd's
// socket activation, a pipe, a parent's socket). noip hands them to CMD at
// the same numbers, through the supervisor, which lets go of them once
// CMD has them.
func inheritedFDs() []int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	var fds []int
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && fl&unix.FD_CLOEXEC == 0 {
			fds = append(fds, fd)
		}
	}
	sort.Ints(fds)
	return fds
}

// placeable is the part of fds that the supervisor's spawn should place
// at their numbers. The fork needs two more fds above the highest number
// it places, which the open-file limit may not allow; the fds above it
// stay where they are anyway (they are not close-on-exec, and no fd the
// fork moves can land on them), so they are left out.
func placeable(fds []int) []int {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil {
		return fds
	}
	out := fds[:0]
	for _, fd := range fds {
		if uint64(fd)+2 < lim.Cur {
			out = append(out, fd)
		}
	}
	return out
}

// open reports whether fd is open.
func open(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// Ring returns an fd CMD would inherit that is an io_uring instance, whose
// operations no seccomp filter sees, or -1.
func Ring() int {
	for _, fd := range append([]int{0, 1, 2}, inheritedFDs()...) {
		if link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil && link == "anon_inode:[io_uring]" {
			return fd
		}
	}
	return -1
}

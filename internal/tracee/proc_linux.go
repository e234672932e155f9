package tracee

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Status is what noip needs of /proc/TID/status: the thread's process and
// that process's parent, its state, and its signals.
type Status struct {
	Tgid, PPid int
	State      byte // 'R' running, 'S' sleeping, 'D' uninterruptible...
	Threads    int  // in its process
	// Signal masks: pending for the thread, pending for its process,
	// blocked, ignored.
	SigPnd, ShdPnd, SigBlk, SigIgn uint64
}

// ReadStatus reads /proc/TID/status.
func ReadStatus(tid int) (Status, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return Status{}, err
	}
	var st Status
	var got int
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		var n *int
		var m *uint64
		switch string(k) {
		case "State":
			if len(v) > 0 {
				st.State = v[0]
			}
		case "Tgid":
			n = &st.Tgid
		case "PPid":
			n = &st.PPid
		case "Threads":
			n = &st.Threads
		case "SigPnd":
			m = &st.SigPnd
		case "ShdPnd":
			m = &st.ShdPnd
		case "SigBlk":
			m = &st.SigBlk
		case "SigIgn":
			m = &st.SigIgn
		}
		switch {
		case n != nil:
			if *n, err = strconv.Atoi(string(v)); err != nil {
				return Status{}, err
			}
			if n != &st.Threads {
				got++
			}
		case m != nil:
			if *m, err = strconv.ParseUint(string(v), 16, 64); err != nil {
				return Status{}, err
			}
		}
		if string(k) == "SigIgn" {
			break // the last field we need
		}
	}
	if got < 2 {
		return Status{}, errors.New("/proc/" + strconv.Itoa(tid) + "/status: no Tgid or PPid")
	}
	return st, nil
}

// FDInfo is what /proc/TID/fdinfo/FD says of an fd.
type FDInfo struct {
	Flags      uint64 // the open flags (O_CLOEXEC among them)
	MntID, Ino uint64 // the mount and inode of its file
}

// ReadFDInfo reads fd's fdinfo in thread tid (0: the supervisor itself).
// It asks the fd's file system nothing. Raw calls: os.ReadFile costs a few
// more (the poller, a stat), and uopen reads one per open.
func ReadFDInfo(tid, fd int) (FDInfo, error) {
	who := "self"
	if tid != 0 {
		who = strconv.Itoa(tid)
	}
	f, err := unix.Open("/proc/"+who+"/fdinfo/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return FDInfo{}, err
	}
	var buf [1024]byte
	n, err := unix.Read(f, buf[:])
	unix.Close(f)
	if err != nil {
		return FDInfo{}, err
	}
	var fi FDInfo
	var got int
	for _, l := range bytes.Split(buf[:max(n, 0)], []byte("\n")) {
		k, v, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		base, dst := 10, (*uint64)(nil)
		switch string(k) {
		case "flags":
			base, dst = 8, &fi.Flags
		case "mnt_id":
			dst = &fi.MntID
		case "ino":
			dst = &fi.Ino
		default:
			continue
		}
		if *dst, err = strconv.ParseUint(string(bytes.TrimSpace(v)), base, 64); err != nil {
			return FDInfo{}, err
		}
		got++
	}
	if got < 3 {
		return FDInfo{}, errors.New("/proc/" + who + "/fdinfo/" + strconv.Itoa(fd) + ": no flags, mnt_id or ino")
	}
	return fi, nil
}

// HeldBySeccomp reports whether thread tid sleeps in a system call a
// seccomp listener is serving (its wait channel says so).
func HeldBySeccomp(tid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/wchan")
	return err == nil && bytes.HasPrefix(b, []byte("seccomp_do_user_notification"))
}

// StartTime returns when process pid started (field 22 of /proc/PID/stat,
// in clock ticks since boot). With the pid it names one process for the
// life of the machine, where a pid alone may be reused.
func StartTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields that follow start after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("/proc/" + strconv.Itoa(pid) + "/stat: malformed")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): field 22 is f[19].
	if len(f) < 20 {
		return 0, errors.New("/proc/" + strconv.Itoa(pid) + "/stat: short")
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// Children returns the pids of process pid's children, from every
// thread's /proc children list (a child belongs to the thread that forked
// it).
func Children(pid int) []int {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// MemWatch notices that a process executed a new program. It holds the
// process's memory as it is now (/proc/TID/mem): once the process has
// replaced it (a successful execve), reading it gives nothing. A vfork
// child shares its parent's memory until it executes, and that memory
// stays when the child's execve succeeds: for it the watch asks the
// kernel whether the two still share it (kcmp).
type MemWatch struct {
	fd      int
	addr    uint64
	pid     int
	partner int // the vfork parent sharing pid's memory, or 0
}

// WatchMem opens thread tid's memory, to be probed at addr (an address
// mapped now, such as an argument the program just passed). pid is tid's
// process and ppid its parent.
func WatchMem(tid, pid, ppid int, addr uint64) (*MemWatch, error) {
	fd, err := unix.Open("/proc/"+strconv.Itoa(tid)+"/mem", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("open /proc/TID/mem", err)
	}
	w := &MemWatch{fd: fd, addr: addr, pid: pid}
	if ppid > 1 {
		if same, err := SameMemory(pid, ppid); err == nil && same {
			w.partner = ppid
		}
	}
	return w, nil
}

// Replaced reports whether the memory the watch was opened on is no
// longer the process's: it executed a new program (or died).
func (w *MemWatch) Replaced() bool {
	if w.partner != 0 {
		same, err := SameMemory(w.pid, w.partner)
		return err == nil && !same
	}
	var b [1]byte
	n, err := unix.Pread(w.fd, b[:], int64(w.addr))
	return err == nil && n == 0
}

// Close releases the watch.
func (w *MemWatch) Close() { unix.Close(w.fd) }

// SameMemory reports whether processes a and b share one address space
// (a vfork child and its parent, or threads).
func SameMemory(a, b int) (bool, error) {
	const kcmpVM = 1
	r, _, e := unix.Syscall6(unix.SYS_KCMP, uintptr(a), uintptr(b), kcmpVM, 0, 0, 0)
	if e != 0 {
		return false, os.NewSyscallError("kcmp", e)
	}
	return r == 0, nil
}

// ReadStrings reads a NULL-terminated array of C string pointers at addr
// (an argv or envp), at most max strings of at most maxLen bytes each, as
// the kernel's execve would see them. An error reports an array or string
// that could not be read in full; the strings read until then are returned.
// ptrSize is 8 for a 64-bit program's array, 4 for a 32-bit one's.
func (p *Proc) ReadStrings(addr uint64, ptrSize, max, maxLen int) ([]string, error) {
	var out []string
	var ptrs [64]byte
	for len(out) < max {
		if err := p.Read(addr, ptrs[:]); err != nil {
			// The array may end before an unmapped page: read one pointer.
			if err := p.Read(addr, ptrs[:ptrSize]); err != nil {
				return out, err
			}
			clear(ptrs[ptrSize:])
		}
		for i := 0; i < len(ptrs); i += ptrSize {
			ptr := le64(ptrs[i:])
			if ptrSize == 4 {
				ptr &= 0xffffffff
			}
			if ptr == 0 {
				return out, nil
			}
			s, err := p.ReadCString(ptr, maxLen)
			if err != nil {
				return out, err
			}
			out = append(out, s)
			if len(out) == max {
				return out, nil
			}
		}
		addr += uint64(len(ptrs))
	}
	return out, nil
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// ReadCString reads the NUL-terminated string at addr, at most maxLen
// bytes, a page at a time so that a string ending just before an unmapped
// page is read.
func (p *Proc) ReadCString(addr uint64, maxLen int) (string, error) {
	var out []byte
	for len(out) < maxLen {
		n := int(4096 - addr%4096)
		n = min(n, maxLen-len(out))
		b := make([]byte, n)
		if err := p.Read(addr, b); err != nil {
			return "", err
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return string(append(out, b[:i]...)), nil
		}
		out = append(out, b...)
		addr += uint64(n)
	}
	return "", unix.E2BIG
}

// Alive reports whether the thread the Proc was opened for still exists
// (its tid may since name another thread).
func (p *Proc) Alive() bool {
	// Under the lock: Forget may close the pidfd from another goroutine,
	// and its number could then name another process's.
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pidfd >= 0 && unix.PidfdSendSignal(p.pidfd, 0, nil, 0) != unix.ESRCH
}

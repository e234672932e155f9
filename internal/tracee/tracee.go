// Package tracee gives the supervisor access to the processes it serves:
// their memory, their file descriptors and their environment.
//
// It only reads and copies. It never stops, ptraces or signals a process,
// and every fd it returns is a new one owned by the caller.
package tracee

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Proc is one thread of a served process, as seccomp names it (notif.pid is
// a thread id). It caches a pidfd so that taking an fd costs one call.
type Proc struct {
	Tid   int
	pidfd int
	mu    sync.Mutex
	data  any
}

// Data returns what the policy cached for this thread with SetData, or nil.
// A Proc is replaced when its thread id is reused, so the cache goes with it.
func (p *Proc) Data() any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.data
}

// SetData caches v for the policy (nil clears it).
func (p *Proc) SetData(v any) {
	p.mu.Lock()
	p.data = v
	p.mu.Unlock()
}

// Table caches Procs by thread id. Safe for concurrent use.
type Table struct {
	mu    sync.Mutex
	procs map[int]*Proc
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{procs: make(map[int]*Proc)} }

// Get returns the Proc for tid, opening a pidfd for it if needed. The pidfd
// is opened with PIDFD_THREAD so that non-leader threads work too (Linux
// 6.9); older kernels fall back to the thread group leader.
func (t *Table) Get(tid int) (*Proc, error) {
	t.mu.Lock()
	p := t.procs[tid]
	t.mu.Unlock()
	if p != nil {
		return p, nil
	}
	fd, err := unix.PidfdOpen(tid, unix.PIDFD_THREAD)
	if err == unix.EINVAL {
		var tgid int
		if tgid, err = Tgid(tid); err == nil {
			fd, err = unix.PidfdOpen(tgid, 0)
		}
	}
	if err != nil {
		return nil, os.NewSyscallError("pidfd_open", err)
	}
	unix.CloseOnExec(fd)
	p = &Proc{Tid: tid, pidfd: fd}
	t.mu.Lock()
	if old := t.procs[tid]; old != nil {
		t.mu.Unlock()
		unix.Close(fd)
		return old, nil
	}
	t.procs[tid] = p
	t.mu.Unlock()
	return p, nil
}

// Forget drops tid from the cache (its thread exited, or the tid now names
// another thread) and closes its pidfd.
func (t *Table) Forget(p *Proc) {
	t.mu.Lock()
	if t.procs[p.Tid] == p {
		delete(t.procs, p.Tid)
	}
	t.mu.Unlock()
	p.mu.Lock()
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
		p.pidfd = -1
	}
	p.mu.Unlock()
}

// Len is the number of cached threads.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.procs)
}

// Prune forgets every cached thread that has exited.
func (t *Table) Prune() {
	t.mu.Lock()
	var dead []*Proc
	for _, p := range t.procs {
		if !p.Alive() {
			dead = append(dead, p)
		}
	}
	t.mu.Unlock()
	for _, p := range dead {
		t.Forget(p)
	}
}

// ErrGone reports that the thread exited (or its pidfd went stale).
var ErrGone = errors.New("tracee: process is gone")

// GetFD returns a duplicate of the thread's file descriptor fd, close-on-exec,
// owned by the caller. A non-dumpable process refuses with EPERM.
func (p *Proc) GetFD(fd int) (int, error) {
	// Under the lock, as in Alive.
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pidfd < 0 {
		return -1, ErrGone
	}
	n, err := unix.PidfdGetfd(p.pidfd, fd, 0)
	if err == unix.ESRCH {
		return -1, ErrGone
	}
	if err != nil {
		return -1, err
	}
	return n, nil
}

// Read copies len(b) bytes at addr in the thread's memory into b. A range
// that is not all mapped gives EFAULT, as the kernel would give the program.
func (p *Proc) Read(addr uint64, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := unix.ProcessVMReadv(p.Tid,
		[]unix.Iovec{{Base: &b[0], Len: uint64(len(b))}},
		[]unix.RemoteIovec{{Base: uintptr(addr), Len: len(b)}}, 0)
	return vmErr(n, len(b), err)
}

// Write copies b into the thread's memory at addr.
func (p *Proc) Write(addr uint64, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := unix.ProcessVMWritev(p.Tid,
		[]unix.Iovec{{Base: &b[0], Len: uint64(len(b))}},
		[]unix.RemoteIovec{{Base: uintptr(addr), Len: len(b)}}, 0)
	return vmErr(n, len(b), err)
}

// WriteTwo copies a to addrA and b to addrB in one call; an empty a is
// skipped. Either range unmapped gives EFAULT.
func (p *Proc) WriteTwo(addrA uint64, a []byte, addrB uint64, b []byte) error {
	if len(a) == 0 {
		return p.Write(addrB, b)
	}
	n, err := unix.ProcessVMWritev(p.Tid,
		[]unix.Iovec{{Base: &a[0], Len: uint64(len(a))}, {Base: &b[0], Len: uint64(len(b))}},
		[]unix.RemoteIovec{{Base: uintptr(addrA), Len: len(a)}, {Base: uintptr(addrB), Len: len(b)}}, 0)
	return vmErr(n, len(a)+len(b), err)
}

func vmErr(n, want int, err error) error {
	switch {
	case err == unix.ESRCH:
		return ErrGone
	case err != nil:
		return err
	case n != want:
		return unix.EFAULT
	}
	return nil
}

// Environ returns the environment the thread's process was started with
// (what execve gave it), as /proc shows it.
func Environ(tid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/environ")
	if err != nil {
		return nil, err
	}
	var env []string
	for _, kv := range bytes.Split(b, []byte{0}) {
		if len(kv) > 0 {
			env = append(env, string(kv))
		}
	}
	return env, nil
}

// Tgid returns the process id of thread tid.
func Tgid(tid int) (int, error) {
	return statusField(tid, "Tgid:")
}

// PPid returns the parent process id of thread tid's process.
func PPid(tid int) (int, error) {
	return statusField(tid, "PPid:")
}

func statusField(tid int, field string) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte(field)); ok {
			return strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", tid, field)
}

// Comm returns the program name of thread tid, for messages.
func Comm(tid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/comm")
	if err != nil {
		return "?"
	}
	return string(bytes.TrimSpace(b))
}

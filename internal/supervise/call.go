package supervise

import (
	"encoding/binary"
	"errors"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"noip/internal/seccomp"
	"noip/internal/tracee"
)

// Call is one intercepted system call, handed to a Handler. Its methods read
// and write the caller's memory and fds; the Handler answers by returning a
// Result (or, for Async, by calling Answer later from any goroutine).
type Call struct {
	N    seccomp.Notif
	Arch *seccomp.Arch
	Name string
	Proc *tracee.Proc // the calling thread

	sv       *Supervisor
	process  *Process
	answered atomic.Bool
}

// Arg returns argument i as the kernel passed it.
func (c *Call) Arg(i int) uint64 { return c.N.Data.Args[i] }

// Int returns argument i as a C int (the kernel truncates int arguments).
func (c *Call) Int(i int) int32 { return int32(uint32(c.N.Data.Args[i])) }

// Tid is the calling thread.
func (c *Call) Tid() int { return int(c.N.Pid) }

// Valid reports whether the call still waits for an answer. Check it after
// reading the caller's memory and before acting on what was read. A call
// the loop answered already (for a signal) is not valid either.
func (c *Call) Valid() bool { return !c.answered.Load() && c.sv.L.Valid(c.N.ID) }

// Read copies n bytes of the caller's memory at addr.
func (c *Call) Read(addr uint64, n int) ([]byte, error) {
	b := make([]byte, n)
	return b, c.Proc.Read(addr, b)
}

// ReadInt32 reads a C int (e.g. a socklen_t) at addr.
func (c *Call) ReadInt32(addr uint64) (int32, error) {
	var b [4]byte
	if err := c.Proc.Read(addr, b[:]); err != nil {
		return 0, err
	}
	return int32(binary.NativeEndian.Uint32(b[:])), nil
}

// WriteAddr stores a returned address and its length, as accept and
// getsockname do, in one system call: b at addr and n at lenAddr.
func (c *Call) WriteAddr(addr uint64, b []byte, lenAddr uint64, n int32) error {
	var l [4]byte
	binary.NativeEndian.PutUint32(l[:], uint32(n))
	return c.Proc.WriteTwo(addr, b, lenAddr, l[:])
}

// Write copies b into the caller's memory at addr.
func (c *Call) Write(addr uint64, b []byte) error { return c.Proc.Write(addr, b) }

// WriteInt32 writes a C int at addr.
func (c *Call) WriteInt32(addr uint64, v int32) error {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(v))
	return c.Proc.Write(addr, b[:])
}

// GetFD returns a duplicate of the caller's fd, owned by the caller of GetFD.
// A stale cached pidfd (the thread id now names a new thread) is replaced
// once: the call is waiting, so its thread exists.
func (c *Call) GetFD(fd int) (int, error) {
	n, err := c.Proc.GetFD(fd)
	if err == tracee.ErrGone {
		c.sv.procs.Forget(c.Proc)
		p, perr := c.sv.procs.Get(c.Tid())
		if perr != nil {
			return -1, err
		}
		c.Proc = p
		n, err = p.GetFD(fd)
	}
	return n, err
}

// SetFD installs a copy of the supervisor's fd at number target in the
// caller's fd table, replacing what is there (a plastic socket becoming a
// real one), with close-on-exec as given. The call is not answered.
func (c *Call) SetFD(fd, target int, cloexec bool) error {
	a := seccomp.AddFD{ID: c.N.ID, Flags: seccomp.AddFDSetFD, SrcFD: uint32(fd), NewFD: uint32(target)}
	if cloexec {
		a.NewFDFlags = unix.O_CLOEXEC
	}
	_, err := c.sv.L.AddFD(&a)
	return err
}

// Answer answers an Async call, from any goroutine. If the call went away
// (seccomp.ErrGone), nothing happened in the caller and r.Gone runs (an
// fd to inject without Gone is closed).
func (c *Call) Answer(r Result) error {
	if c.answered.Swap(true) {
		// Answered already (the loop restarted it for a signal): r never
		// reaches the program, so it is undone.
		r.undo()
		return errAnswered
	}
	err := c.sv.answer(c, r)
	switch {
	case errors.Is(err, seccomp.ErrGone):
		r.undo()
	case err == nil && r.Delivered != nil:
		r.Delivered()
	}
	c.sv.logResult(c, r)
	return err
}

var errAnswered = errors.New("supervise: call answered twice")

// undo undoes a result the program never got: Gone, or else the fd it
// would have injected is closed.
func (r Result) undo() {
	switch {
	case r.Gone != nil:
		r.Gone()
	case r.kind == kInject:
		unix.Close(r.fd)
	}
}

// Log writes a debug note for c now, from any goroutine.
func (c *Call) Log(note string) {
	if c.sv.Log != nil && note != "" {
		c.sv.Log(c, note)
	}
}

// Result is how a Handler answers a call.
type Result struct {
	kind  resultKind
	val   int64
	errno unix.Errno
	fd    int
	flags uint32
	// Note is a line for the debug log, or empty.
	Note string
	// Warn is a line the user must see, debug or not, or empty.
	Warn string
	// Gone, if set, runs when the answer could not be delivered because the
	// call went away, so the handler can undo what the answer reported.
	Gone func()
	// Delivered, if set, runs once the program has the answer: for work
	// that must happen only then (consuming a datagram the answer holds).
	Delivered func()
}

type resultKind uint8

const (
	kContinue resultKind = iota
	kValue
	kErrno
	kInject
	kAsync
)

// Continue lets the call run in the kernel unchanged.
func Continue() Result { return Result{kind: kContinue} }

// Return makes the call return v.
func Return(v int64) Result { return Result{kind: kValue, val: v} }

// Fail makes the call fail with errno e.
func Fail(e unix.Errno) Result { return Result{kind: kErrno, errno: e} }

// Inject installs fd (owned by the supervisor, closed after the answer
// unless it fails) in the caller and makes the call return its number.
// cloexec sets close-on-exec on the new fd.
func Inject(fd int, cloexec bool) Result {
	r := Result{kind: kInject, fd: fd}
	if cloexec {
		r.flags = unix.O_CLOEXEC
	}
	return r
}

// Async says the handler will Answer later, from another goroutine.
func Async() Result { return Result{kind: kAsync} }

// WithNote returns r with a debug note.
func (r Result) WithNote(note string) Result { r.Note = note; return r }

// Errno is the errno r fails the call with, or 0.
func (r Result) Errno() unix.Errno {
	if r.kind == kErrno {
		return r.errno
	}
	return 0
}

// IsErr reports whether r fails the call.
func (r Result) IsErr() bool { return r.kind == kErrno }

// IsContinue reports whether r lets the kernel run the call.
func (r Result) IsContinue() bool { return r.kind == kContinue }

package tracee

import (
	"bytes"
	"os"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The tests look at the test process itself: the kernel checks the same
// permissions for our own pid as for a traced program's.

func TestReadWrite(t *testing.T) {
	tab := NewTable()
	p, err := tab.Get(unix.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	src := []byte("hello, memory")
	got := make([]byte, len(src))
	if err := p.Read(uint64(uintptr(unsafe.Pointer(&src[0]))), got); err != nil || !bytes.Equal(got, src) {
		t.Errorf("Read = %q, %v; want %q", got, err, src)
	}
	dst := make([]byte, 5)
	if err := p.Write(uint64(uintptr(unsafe.Pointer(&dst[0]))), []byte("howdy")); err != nil || string(dst) != "howdy" {
		t.Errorf("Write: memory now %q, %v", dst, err)
	}
	if err := p.Read(8, got); err != unix.EFAULT {
		t.Errorf("Read(unmapped) = %v, want EFAULT", err)
	}
	var a, b [4]byte
	if err := p.WriteTwo(uint64(uintptr(unsafe.Pointer(&a[0]))), []byte("abcd"), uint64(uintptr(unsafe.Pointer(&b[0]))), []byte("wxyz")); err != nil || string(a[:]) != "abcd" || string(b[:]) != "wxyz" {
		t.Errorf("WriteTwo: %q %q, %v", a, b, err)
	}
}

func TestGetFD(t *testing.T) {
	tab := NewTable()
	p, err := tab.Get(unix.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fd, err := p.GetFD(int(w.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(fd, []byte("x"))
	unix.Close(fd)
	buf := make([]byte, 1)
	if n, _ := r.Read(buf); n != 1 || buf[0] != 'x' {
		t.Errorf("the duplicate is not the pipe: read %q", buf[:n])
	}
	if _, err := p.GetFD(9999); err != unix.EBADF {
		t.Errorf("GetFD(9999) = %v, want EBADF", err)
	}
	tab.Forget(p)
	if _, err := p.GetFD(int(w.Fd())); err != ErrGone {
		t.Errorf("GetFD after Forget = %v, want ErrGone", err)
	}
}

func TestProcFiles(t *testing.T) {
	env, err := Environ(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(env, "PATH="+os.Getenv("PATH")) {
		t.Errorf("Environ lacks PATH")
	}
	if tgid, err := Tgid(unix.Gettid()); err != nil || tgid != os.Getpid() {
		t.Errorf("Tgid = %d, %v; want %d", tgid, err, os.Getpid())
	}
	if ppid, err := PPid(os.Getpid()); err != nil || ppid != os.Getppid() {
		t.Errorf("PPid = %d, %v; want %d", ppid, err, os.Getppid())
	}
}

// TestReadStatusSignals: a signal sent to a thread that blocks it shows
// as pending for that thread, and blocked.
func TestReadStatusSignals(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set, old unix.Sigset_t
	bit := uint(unix.SIGUSR2 - 1)
	set.Val[0] = 1 << bit
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Take the pending signal before unblocking it.
		var ts unix.Timespec
		unix.Syscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&set)), 0, uintptr(unsafe.Pointer(&ts)), 8, 0, 0)
		unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	}()
	tid := unix.Gettid()
	if err := unix.Tgkill(unix.Getpid(), tid, unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(tid)
	if err != nil {
		t.Fatal(err)
	}
	if st.Tgid != unix.Getpid() || st.Threads < 1 || st.State != 'R' {
		t.Errorf("status %+v: want Tgid %d, a thread or more, running", st, unix.Getpid())
	}
	if st.SigPnd&(1<<bit) == 0 || st.SigBlk&(1<<bit) == 0 || st.ShdPnd&(1<<bit) != 0 {
		t.Errorf("SIGUSR2 sent to this thread, blocked: SigPnd %x ShdPnd %x SigBlk %x", st.SigPnd, st.ShdPnd, st.SigBlk)
	}
}

// TestReadFDInfo: an fd's flags and inode as fstat and open say.
func TestReadFDInfo(t *testing.T) {
	fd, err := unix.Open(t.TempDir(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	for _, tid := range []int{0, unix.Gettid()} {
		fi, err := ReadFDInfo(tid, fd)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Ino != st.Ino || fi.Flags&unix.O_CLOEXEC == 0 || fi.Flags&unix.O_PATH == 0 || fi.MntID == 0 {
			t.Errorf("fdinfo of %d (tid %d): %+v, want inode %d, O_PATH|O_CLOEXEC, a mount", fd, tid, fi, st.Ino)
		}
	}
	if _, err := ReadFDInfo(0, 1<<20); err == nil {
		t.Errorf("fdinfo of a closed fd read")
	}
}

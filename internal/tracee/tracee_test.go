package tracee

import (
	"bytes"
	"os"
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

package sockdir

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// A bound socket's file shows in LiveFiles while the socket is open and
// not after it is closed: the kernel, not noip, says what is stale.
func TestLiveFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "127.0.0.1:80")
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(s, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(s, 1); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	snap, err := Snap()
	if err != nil {
		t.Fatal(err)
	}
	id := FileID{Dev: st.Dev, Ino: uint32(st.Ino)}
	got, ok := snap.Files[id]
	if !ok || !got.Listening || got.Type != unix.SOCK_STREAM {
		t.Errorf("Snap().Files[%v] = %+v, %v; want listening stream", id, got, ok)
	}
	unix.Close(s)
	if snap, err = Snap(); err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Files[id]; ok {
		t.Errorf("Snap() still lists %s after close", path)
	}
}

// GC removes stale endpoint files and keeps live ones and foreign files.
func TestGC(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sock")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	live, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(live)
	if err := unix.Bind(live, &unix.SockaddrUnix{Name: filepath.Join(path, "127.0.0.1:80")}); err != nil {
		t.Fatal(err)
	}
	unix.Listen(live, 1)
	for _, n := range []string{"127.0.0.1:81", "not-an-endpoint"} {
		s, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err := unix.Bind(s, &unix.SockaddrUnix{Name: filepath.Join(path, n)}); err != nil {
			t.Fatal(err)
		}
		unix.Close(s)
	}
	n, err := d.GC()
	if err != nil || n != 1 {
		t.Errorf("GC() = %d, %v; want 1, nil", n, err)
	}
	for name, want := range map[string]bool{"127.0.0.1:80": true, "127.0.0.1:81": false, "not-an-endpoint": true} {
		_, ok := d.Stat(name)
		if ok != want {
			t.Errorf("after GC, %s exists = %v, want %v", name, ok, want)
		}
	}
}

// sock_diag reports a socket file's device in the kernel's own encoding:
// UserDev turns it into stat's, for files on filesystems of any device
// number (tmpfs, the root filesystem).
func TestDevMatchesStat(t *testing.T) {
	for _, dir := range []string{t.TempDir(), "/dev/shm"} {
		path := filepath.Join(dir, "noip-devtest-"+filepath.Base(t.Name()))
		s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Bind(s, &unix.SockaddrUnix{Name: path}); err != nil {
			t.Skipf("%s: %v", dir, err)
		}
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		snap, err := Snap()
		if err != nil {
			t.Fatal(err)
		}
		id := FileID{Dev: st.Dev, Ino: uint32(st.Ino)}
		if _, ok := snap.Files[id]; !ok {
			var near []FileID
			for f := range snap.Files {
				if f.Ino == id.Ino {
					near = append(near, f)
				}
			}
			t.Errorf("%s: Snap has no file %+v (stat's dev %#x); same inode: %+v", dir, id, st.Dev, near)
		}
		// The same inode number on another device is another file.
		if _, ok := snap.Files[FileID{Dev: st.Dev + 1, Ino: uint32(st.Ino)}]; ok {
			t.Errorf("%s: Snap matched a file on device %#x", dir, st.Dev+1)
		}
		unix.Close(s)
		os.Remove(path)
	}
}

func TestUserDev(t *testing.T) {
	for _, tt := range []struct {
		kdev         uint32
		major, minor uint32
	}{{0x00800003, 8, 3}, {0x00000021, 0, 33}, {0x10300105, 259, 261}} {
		if got, want := UserDev(tt.kdev), unix.Mkdev(tt.major, tt.minor); got != want {
			t.Errorf("UserDev(%#x) = %#x, want %#x", tt.kdev, got, want)
		}
	}
}

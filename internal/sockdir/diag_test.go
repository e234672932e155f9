package sockdir

import (
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
	live, err := LiveFiles()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := live[uint32(st.Ino)]
	if !ok || !got.Listening || got.Type != unix.SOCK_STREAM {
		t.Errorf("LiveFiles()[%d] = %+v, %v; want listening stream", st.Ino, got, ok)
	}
	unix.Close(s)
	live, err = LiveFiles()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := live[uint32(st.Ino)]; ok {
		t.Errorf("LiveFiles() still lists %s after close", path)
	}
}

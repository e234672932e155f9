package supervise

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"noip/internal/seccomp"
)

// TestHelperProcess is the served program of the tests below: it installs
// a filter that notifies getppid and getpgid, prints the listener's fd
// number, waits for a byte on stdin (the supervisor holds the listener),
// then makes the calls and prints what they returned.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("NOIP_TEST_HELPER") != "1" {
		return
	}
	runtime.LockOSThread()
	pol := seccomp.Policy{ABIs: []seccomp.ABIRules{{Arch: seccomp.Native, Rules: []seccomp.Rule{
		seccomp.Always("getsockname", seccomp.Notify),
		seccomp.Always("getpeername", seccomp.Notify),
	}}}}
	raw, err := seccomp.Build(pol)
	if err != nil {
		os.Exit(2)
	}
	l, err := seccomp.Install(raw)
	if err != nil {
		os.Stdout.WriteString("install: " + err.Error() + "\n")
		os.Exit(2)
	}
	os.Stdout.WriteString(strconv.Itoa(l) + "\n")
	var b [1]byte
	os.Stdin.Read(b[:])
	unix.Close(l)
	// fd 8: the handler panics; the call fails, the next is served.
	r1, _, e := unix.Syscall(unix.SYS_GETSOCKNAME, 8, 0, 0)
	os.Stdout.WriteString("getsockname " + strconv.Itoa(int(int32(r1))) + " " + strconv.Itoa(int(e)) + "\n")
	r1, _, e = unix.Syscall(unix.SYS_GETSOCKNAME, 7, 0, 0)
	os.Stdout.WriteString("getsockname " + strconv.Itoa(int(r1)) + " " + strconv.Itoa(int(e)) + "\n")
	p := make([]int, 2)
	unix.Pipe(p)
	r1, _, e = unix.Syscall(unix.SYS_GETPEERNAME, uintptr(p[0]), 0, 0)
	os.Stdout.WriteString("getpeername " + strconv.Itoa(int(r1)) + " " + strconv.Itoa(int(e)) + "\n")
	os.Exit(0)
}

// TestLoop runs the real thing in the kernel: a program under a filter,
// served by a Supervisor whose handlers answer one call with a value and
// another only once an fd is readable (Wait). A handler that panics fails
// its call with EIO, and the supervisor goes on.
func TestLoop(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "NOIP_TEST_HELPER=1")
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	num, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil {
		t.Fatalf("helper said %q", buf[:n])
	}
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	lfd, err := unix.PidfdGetfd(pidfd, num, 0)
	if err != nil {
		t.Fatal(err)
	}
	stdin.Write([]byte{1})

	// getpeername waits until a pipe of ours is readable.
	pipe := make([]int, 2)
	if err := unix.Pipe(pipe); err != nil {
		t.Fatal(err)
	}
	var seen []string
	sv := New(seccomp.Listener{FD: lfd}, Handlers{
		"getsockname": func(c *Call) Result {
			seen = append(seen, c.Name+" fd "+strconv.Itoa(int(c.Int(0))))
			if c.Int(0) == 8 {
				var fds []int
				_ = fds[c.Int(0)] // a handler bug: index out of range
			}
			return Return(42)
		},
		"getpeername": func(c *Call) Result {
			seen = append(seen, c.Name)
			unix.Write(pipe[1], []byte{1}) // ready at once, served by the loop
			return c.Wait(pipe[0], func() (Result, bool) { return Fail(unix.ENOTSOCK), true }, nil)
		},
	}, seccomp.Native)
	var logged []string
	var logMu sync.Mutex
	sv.Log = func(c *Call, note string) {
		logMu.Lock()
		logged = append(logged, note)
		logMu.Unlock()
	}
	done := make(chan error, 1)
	go func() { done <- sv.Run() }()
	rest := make([]byte, 256)
	var got strings.Builder
	for {
		n, err := out.Read(rest)
		got.Write(rest[:n])
		if err != nil {
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := "getsockname -1 5\ngetsockname 42 0\ngetpeername -1 88\n"
	if got.String() != want {
		t.Errorf("helper printed %q, want %q", got.String(), want)
	}
	logMu.Lock()
	if len(logged) != 1 || !strings.HasPrefix(logged[0], "internal error in getsockname (the call fails with EIO; please report): runtime error: index out of range [8] with length 0") {
		t.Errorf("logged %q, want one internal error", logged)
	}
	logMu.Unlock()
	if strings.Join(seen, ",") != "getsockname fd 8,getsockname fd 7,getpeername" {
		t.Errorf("handlers saw %v", seen)
	}
}

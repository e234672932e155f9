// Package e2e holds noip's scenario tests: real programs (python3, curl,
// socat, a static Go binary, a shell in a terminal) doing real networking
// under the real noip binary. The scripts under testdata/script read like
// the README's examples.
package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// binDir holds the noip and nettool binaries built for this run. It and its
// parent are world-readable so that tests can run noip as another user.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "noip-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755)
	binDir = dir
	code := 1
	err = build(dir)
	if err == nil {
		err = writeAsuser(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles noip (with the race detector when the tests have it, so
// the supervisor is checked too) and nettool (static, as a Go program that
// nothing can be injected into).
func build(dir string) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	args := []string{"build", "-o", filepath.Join(dir, "noip")}
	uargs := []string{"build", "-o", filepath.Join(dir, "uopen")}
	if raceEnabled {
		args = append(args, "-race")
		uargs = append(uargs, "-race")
	}
	cmds := []*exec.Cmd{
		exec.Command("go", append(args, "./cmd/noip")...),
		exec.Command("go", append(uargs, "./cmd/uopen")...),
		exec.Command("go", "build", "-o", filepath.Join(dir, "nettool"), "./test/e2e/nettool"),
		exec.Command("go", "build", "-o", filepath.Join(dir, "nettool386"), "./test/e2e/nettool"),
	}
	cmds[2].Env = append(os.Environ(), "CGO_ENABLED=0")
	cmds[3].Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH=386")
	for _, c := range cmds {
		c.Dir = root
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %v\n%s", c.Args, err, out)
		}
	}
	return nil
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/script",
		Setup: setup,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"waitfile":  cmdWaitfile,
			"issock":    cmdIssock,
			"userdir":   cmdUserdir,
			"pubdir":    cmdPubdir,
			"ancestor":  cmdAncestor,
			"waitline":  cmdWaitline,
			"exits":     cmdExits,
			"localaddr": cmdLocaladdr,
			"mkuser":    cmdMkuser,
			"give":      cmdGive,
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "listenrefused":
				return kernelRefusesListenAfterRefused()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// kernelRefusesListenAfterRefused reports whether this kernel fails
// listen (EINVAL) on a TCP socket whose connect was refused, as some 6.18
// builds do and others do not.
func kernelRefusesListenAfterRefused() (bool, error) {
	l, err := net.ListenPacket("udp4", "127.0.0.1:0") // a port to borrow
	if err != nil {
		return false, err
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	// A TCP socket bound there but not listening refuses connects.
	b, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(b)
	if err := unix.Bind(b, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return false, err
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(s)
	if err := unix.Connect(s, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != unix.ECONNREFUSED {
		return false, fmt.Errorf("probe connect: %v, want ECONNREFUSED", err)
	}
	return unix.Listen(s, 1) == unix.EINVAL, nil
}

// setup gives each script its own private TMPDIR, so its socket
// directory is $SOCKDIR and nothing is shared between scripts.
func setup(env *testscript.Env) error {
	env.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	env.Setenv("USER", "tester")
	tmp := filepath.Join(env.WorkDir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	env.Setenv("TMPDIR", tmp)
	env.Setenv("SOCKDIR", filepath.Join(tmp, "noip-tester"))
	env.Setenv("BIN", binDir)
	env.Setenv("SYSPATH", binDir+":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin:/usr/games")
	return nil
}

// waitfile PATH... waits up to 20s for each path to exist: a server under
// noip is ready when its endpoint file appears.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	for _, p := range args {
		p = ts.MkAbs(p)
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, err := os.Lstat(p)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				ts.Fatalf("%s did not appear", p)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// waitline FILE REGEXP waits up to 20s for a line of FILE to match.
func cmdWaitline(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: waitline FILE REGEXP")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(ts.MkAbs(args[0]))
		if ok, _ := regexpMatch(args[1], string(b)); ok {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s: no line matches %q; it has:\n%s", args[0], args[1], b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exits N PROG [ARGS...] runs PROG like exec and checks that its exit
// status is N; a death by signal S counts as 128+S, as a shell reports it.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: exits N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			got = 128 + int(ws.Signal())
		} else {
			got = ws.ExitStatus()
		}
	default:
		ts.Fatalf("%v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// localaddr VAR sets $VAR to an IPv4 address of one of the machine's
// interfaces that is not loopback: a "local" address for config tests.
func cmdLocaladdr(ts *testscript.TestScript, neg bool, args []string) {
	addrs, err := net.InterfaceAddrs()
	ts.Check(err)
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			ts.Setenv(args[0], n.IP.String())
			return
		}
	}
	ts.Fatalf("this machine has no non-loopback IPv4 address")
}

// issock PATH checks that PATH is a Unix socket file ([!] that it is not).
func cmdIssock(ts *testscript.TestScript, neg bool, args []string) {
	for _, p := range args {
		fi, err := os.Lstat(ts.MkAbs(p))
		is := err == nil && fi.Mode()&os.ModeSocket != 0
		if is == neg {
			ts.Fatalf("issock %s = %v", p, is)
		}
	}
}

// userdir VAR USER makes a private directory owned by USER, readable only
// by them, inside a world-searchable parent, and sets $VAR to it: a TMPDIR
// and home for running noip as another user.
func cmdUserdir(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: userdir VAR USER")
	}
	out, err := exec.Command("id", "-u", args[1]).Output()
	ts.Check(err)
	uid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	ts.Check(err)
	parent, err := os.MkdirTemp("", "noip-e2e-user-")
	ts.Check(err)
	ts.Defer(func() { os.RemoveAll(parent) })
	ts.Check(os.Chmod(parent, 0o755))
	dir := filepath.Join(parent, args[1])
	ts.Check(os.Mkdir(dir, 0o700))
	ts.Check(os.Chown(dir, uid, uid))
	ts.Setenv(args[0], dir)
}

// pubdir VAR makes a world-writable sticky directory, like /tmp, and sets
// $VAR to it.
func cmdPubdir(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: pubdir VAR")
	}
	dir, err := os.MkdirTemp("", "noip-e2e-pub-")
	ts.Check(err)
	ts.Defer(func() { os.RemoveAll(dir) })
	ts.Check(os.Chmod(dir, 0o777|os.ModeSticky))
	ts.Setenv(args[0], dir)
}

// ancestor PIDFILE NAME checks that the process whose pid is in PIDFILE
// has a process named NAME (argv[0]) among its ancestors.
func cmdAncestor(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: ancestor PIDFILE NAME")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	ts.Check(err)
	var chain []string
	for p := pid; p > 1; {
		ppid := parentOf(p)
		if ppid <= 0 {
			break
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", ppid))
		argv0, _, _ := strings.Cut(string(cmdline), "\x00")
		chain = append(chain, fmt.Sprintf("%d:%s", ppid, argv0))
		if filepath.Base(argv0) == args[1] {
			if neg {
				ts.Fatalf("%d has ancestor %s: %v", pid, args[1], chain)
			}
			return
		}
		p = ppid
	}
	if !neg {
		ts.Fatalf("%d has no ancestor %s: %v", pid, args[1], chain)
	}
}

func parentOf(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return -1
}

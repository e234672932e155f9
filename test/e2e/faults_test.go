package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// faultProg is a python3 program under noip, driven line by line: the
// test reads what it prints and writes a line to let it go on.
type faultProg struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr strings.Builder
	cancel func()
}

func startFault(t *testing.T, script string, extra []*os.File, args ...string) *faultProg {
	return startFaultIn(t, nil, script, extra, args...)
}

// startFaultIn is startFault with noip run by the command wrap.
func startFaultIn(t *testing.T, wrap []string, script string, extra []*os.File, args ...string) *faultProg {
	home := filepath.Join(t.TempDir(), "home")
	uid := os.Getuid()
	if os.Geteuid() == 0 {
		// Under binDir, which the unprivileged user can reach.
		d, err := os.MkdirTemp(binDir, "faults-")
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o755)
		t.Cleanup(func() { os.RemoveAll(d) })
		home = filepath.Join(d, "home")
		uid = 65534
	}
	os.Mkdir(home, 0o700)
	os.Chown(home, uid, uid)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	argv := append(append(wrap, filepath.Join(binDir, "noip"), "python3", "-c", script), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = home
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "USER=nobody", "LOGNAME=nobody", "XDG_RUNTIME_DIR=" + home}
	cmd.ExtraFiles = extra
	cmd.WaitDelay = 5 * time.Second
	if uid != os.Getuid() {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	p := &faultProg{t: t, cmd: cmd, cancel: cancel}
	cmd.Stderr = &p.stderr
	// Pipes of our own, not exec's: the program may outlive noip, and
	// Wait must not close them.
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	p.in, p.out = inW, bufio.NewScanner(outR)
	t.Cleanup(func() { cancel(); cmd.Wait(); inW.Close(); outR.Close() })
	return p
}

// line reads the program's next line, which must start with prefix, and
// returns the rest.
func (p *faultProg) line(prefix string) string {
	p.t.Helper()
	if !p.out.Scan() {
		err := p.cmd.Wait()
		p.t.Fatalf("the program ended before printing %q: %v\n%s", prefix, err, p.stderr.String())
	}
	l := p.out.Text()
	rest, ok := strings.CutPrefix(l, prefix)
	if !ok {
		p.t.Fatalf("want a line %q..., got %q\n%s", prefix, l, p.stderr.String())
	}
	return strings.TrimSpace(rest)
}

func (p *faultProg) next() { fmt.Fprintln(p.in) }

// fdCount is how many fds process pid has open.
func fdCount(t *testing.T, pid int) int {
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("fds of %d: %v", pid, err)
	}
	return len(es)
}

// waitFDs waits, at most 10 s, until process pid has want fds open, and
// returns how many it has.
func waitFDs(t *testing.T, pid int, want func(int) bool) int {
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := fdCount(t, pid)
		if want(n) || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFaultKilledInCall kills (SIGKILL) twenty processes while the
// supervisor holds their calls (blocking accepts and receives): the
// supervisor must keep serving the rest of the tree and hold no fd more
// than before.
func TestFaultKilledInCall(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the supervisor is not dumpable, so only root reads its fds")
	}
	port := 20000 + rand.IntN(10000)
	p := startFault(t, `
import os, socket, sys
P = int(sys.argv[1])
print("sup", os.getppid(), flush=True)
l = socket.socket(); l.bind(("127.0.0.1", P)); l.listen(64)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", P))
print("base", flush=True); sys.stdin.readline()
kids = []
for i in range(20):
    pid = os.fork()
    if pid == 0:
        if i % 2: l.accept()
        else: u.recvfrom(10)
        os._exit(0)
    kids.append(pid)
print("kids", *kids, flush=True); sys.stdin.readline()
for k in kids:
    _, st = os.waitpid(k, 0)
    assert os.WIFSIGNALED(st) and os.WTERMSIG(st) == 9, st
c = socket.create_connection(("127.0.0.1", P)); a, _ = l.accept(); c.send(b"hi")
print("after", a.recv(2).decode(), flush=True)
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); d.sendto(b"dg", ("127.0.0.1", P))
print("dgram", u.recvfrom(10)[0].decode(), flush=True)
c.close(); a.close(); d.close()
print("closed", flush=True); sys.stdin.readline()
`, nil, strconv.Itoa(port))
	sup, _ := strconv.Atoi(p.line("sup "))
	p.line("base")
	base := fdCount(t, sup)
	p.next()
	kids := strings.Fields(p.line("kids "))
	held := waitFDs(t, sup, func(n int) bool { return n >= base+len(kids) })
	t.Logf("supervisor fds: %d before, %d with %d calls held", base, held, len(kids))
	if held < base+len(kids) {
		t.Errorf("the supervisor holds %d fds, want %d or more while the calls wait", held, base+len(kids))
	}
	for _, k := range kids {
		pid, _ := strconv.Atoi(k)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	p.next()
	if got := p.line("after "); got != "hi" {
		t.Errorf("a connection after the kills carried %q", got)
	}
	if got := p.line("dgram "); got != "dg" {
		t.Errorf("a datagram after the kills carried %q", got)
	}
	p.line("closed")
	// The three sockets made since may keep their twins until the
	// socket table is next pruned (at 1024 sockets); threads that exited
	// are forgotten within seconds.
	after := waitFDs(t, sup, func(n int) bool { return n <= base+3 })
	t.Logf("supervisor fds after the kills and a connection: %d", after)
	if after > base+3 {
		t.Errorf("the supervisor holds %d fds, %d before and 3 twins at most since: it leaked %d", after, base, after-base-3)
	}
	p.next()
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("noip: %v\n%s", err, p.stderr.String())
	}
}

// TestFaultSupervisorKilled kills the supervisor (SIGKILL): noip exits
// 125 saying so, and the programs left fail closed. Their calls that the
// filter notifies fail with ENOSYS, so neither a new socket nor a real
// one handed in reaches the real listeners.
func TestFaultSupervisorKilled(t *testing.T) {
	w := newNetWatch(t)
	r := newRealSockets(t)
	defer r.close()
	var extra []*os.File
	for _, fd := range []int{r.tcp, r.udp} {
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(d), "real")
		defer f.Close()
		extra = append(extra, f)
	}
	c0, g0 := w.counts(t)
	p := startFault(t, `
import errno, os, socket, sys
T, U = int(sys.argv[1]), int(sys.argv[2])
print("sup", os.getppid(), flush=True); sys.stdin.readline()
def tryit(what, f):
    try:
        f(); print(what, "ok", flush=True)
    except OSError as e:
        print(what, errno.errorcode.get(e.errno, e.errno), flush=True)
tryit("socket", lambda: socket.socket())
# Family, type and protocol given, so that Python asks the kernel nothing.
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0, fileno=3)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 0, fileno=4)
tryit("connect", lambda: t.connect(("127.0.0.1", T)))
tryit("sendto", lambda: u.sendto(b"x", ("127.0.0.1", U)))
tryit("execve", lambda: os.execv("/bin/true", ["true"]))
print("done", flush=True)
`, extra, strconv.Itoa(w.tcp.Addr().(*net.TCPAddr).Port), strconv.Itoa(w.udp.LocalAddr().(*net.UDPAddr).Port))
	sup, _ := strconv.Atoi(p.line("sup "))
	if err := syscall.Kill(sup, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// noip (the front) sees the supervisor go and exits; the program
	// goes on.
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 125 || !strings.Contains(p.stderr.String(), "the supervisor exited unexpectedly") {
		t.Errorf("noip after its supervisor was killed: %v\n%s", err, p.stderr.String())
	}
	p.next()
	for _, what := range []string{"socket", "connect", "sendto", "execve"} {
		if got := p.line(what + " "); got != "ENOSYS" {
			t.Errorf("%s after the supervisor died: %s, want ENOSYS", what, got)
		}
	}
	p.line("done")
	c1, g1 := w.counts(t)
	if c1 != c0 || g1 != g0 {
		t.Errorf("the real listeners got %d connections and %d datagrams", c1-c0, g1-g0)
	}
	for _, e := range r.escapes() {
		t.Errorf("escape: %s", e)
	}
}

// nofileScript fills the program's fd table (RLIMIT_NOFILE 64), then
// makes a socket and accepts a waiting connection (EMFILE both, as TCP
// gives), frees one fd and accepts again: the connection was kept.
const nofileScript = `
import errno, os, resource, socket, sys
P = int(sys.argv[1])
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", P)); l.listen(8)
c = socket.create_connection(("127.0.0.1", P))
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
held = []
try:
    while True:
        held.append(os.open("/dev/null", os.O_RDONLY))
except OSError as e:
    print("fill", errno.errorcode[e.errno], flush=True)
for what, f in (("socket", lambda: socket.socket()), ("accept", lambda: l.accept())):
    try:
        f(); print(what, "ok", flush=True)
    except OSError as e:
        print(what, errno.errorcode[e.errno], flush=True)
os.close(held.pop())
a, _ = l.accept()
c.sendall(b"kept")
print("after", a.recv(4).decode(), flush=True)
`

// TestFaultNoFiles: a program out of fds gets the errnos TCP gives it
// and loses no connection; the supervisor out of fds fails calls with
// EMFILE, keeps serving, and serves fully once it has fds again.
func TestFaultNoFiles(t *testing.T) {
	port := 20000 + rand.IntN(10000)
	plain, err := exec.Command("python3", "-c", nofileScript, strconv.Itoa(port)).CombinedOutput()
	if err != nil {
		t.Fatalf("plain: %v\n%s", err, plain)
	}
	p := startFault(t, nofileScript, nil, strconv.Itoa(port+1))
	var under []string
	for _, w := range []string{"fill ", "socket ", "accept ", "after "} {
		under = append(under, w+p.line(w))
	}
	if got, want := strings.Join(under, "\n"), strings.TrimSpace(string(plain)); got != want {
		t.Errorf("out of fds, under noip:\n%s\nplainly:\n%s", got, want)
	}
	if !strings.Contains(string(plain), "after kept") {
		t.Errorf("the plain run lost its connection:\n%s", plain)
	}

	// The supervisor out of fds: noip started with a hard limit of 64,
	// which its runtime cannot raise, makes sockets (a plastic socket
	// costs the supervisor its twin) until it has none, three times over:
	// each time, the program gets EMFILE for the rest, and the sockets it
	// closed are let go of, so each round makes as many.
	p = startFaultIn(t, []string{"prlimit", "--nofile=64:64"}, `
import errno, os, socket, sys
P = int(sys.argv[1])
for rnd in range(3):
    errs = {}
    socks = []
    for i in range(50):
        try:
            socks.append(socket.socket())
        except OSError as e:
            errs[errno.errorcode[e.errno]] = errs.get(errno.errorcode[e.errno], 0) + 1
    print("round", len(socks), " ".join("%s=%d" % kv for kv in sorted(errs.items())), flush=True)
    for s in socks: s.close()
l = socket.socket(); l.bind(("127.0.0.1", P)); l.listen(8)
c = socket.create_connection(("127.0.0.1", P)); a, _ = l.accept(); c.sendall(b"ok")
print("after", a.recv(2).decode(), flush=True)
`, nil, strconv.Itoa(port+2))
	var rounds []string
	for range 3 {
		rounds = append(rounds, p.line("round "))
	}
	t.Logf("supervisor limited to 64 fds, 50 sockets a round: %q", rounds)
	made, errs, _ := strings.Cut(rounds[0], " ")
	if n, _ := strconv.Atoi(made); n == 0 || n == 50 || errs != "EMFILE="+strconv.Itoa(50-n) || rounds[1] != rounds[0] || rounds[2] != rounds[0] {
		t.Errorf("with the supervisor out of fds: %q, want some sockets and EMFILE for the rest, alike each round", rounds)
	}
	if got := p.line("after "); got != "ok" {
		t.Errorf("a connection after: %q", got)
	}
}

package e2e

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestEscape is the escape suite: testdata/escape/escape.c tries every way
// its author knows to use the network around noip (real sockets inherited
// at start and received over SCM_RIGHTS, with bind, connect, listen,
// accept, sendto, sendmsg, sendmmsg and MSG_FASTOPEN; 32-bit entry points;
// a thread racing dup2 against the call; threads, vfork, clone3,
// posix_spawn, a daemon that outlives the command; a non-dumpable
// process). Each case runs twice, as an ordinary user with no rules: once
// plainly, where it must reach the network (else the case proves nothing),
// and once under noip, where it must not. What counts is what the network
// saw: a real TCP and a real UDP listener outside noip, the real sockets
// the test handed in (bound? listening? connected? their waiting client
// taken?), and every Internet socket the case's processes hold.
func TestEscape(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatal("the escape suite needs gcc (and gcc-multilib for its i386 cases)")
	}
	probe64 := filepath.Join(binDir, "escape64")
	probe32 := filepath.Join(binDir, "escape32")
	for _, b := range [][]string{
		{gcc, "-O1", "-Wall", "-pthread", "-static", "-no-pie", "-o", probe64, "testdata/escape/escape.c"},
		{gcc, "-m32", "-O1", "-Wall", "-pthread", "-static", "-o", probe32, "testdata/escape/escape.c"},
	} {
		if out, err := exec.Command(b[0], b[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", b, err, out)
		}
	}
	w := newNetWatch(t)
	cases := []struct {
		name, probe string
	}{
		{"inherited", probe64},
		{"gostatic", filepath.Join(binDir, "nettool")},
		{"fastopen", probe64},
		{"connect_udp", probe64},
		{"bind_unspec", probe64},
		{"scm_rights", probe64},
		{"int80", probe64},
		{"x32", probe64},
		{"i386", probe32},
		{"ring_inherited", probe64},
		{"ring_taken", probe64},
		{"nondumpable", probe64},
		{"race_connect", probe64},
		{"race_sendto", probe64},
		{"race_listen", probe64},
		{"thread", probe64},
		{"vfork", probe64},
		{"clone3", probe64},
		{"spawn", probe64},
		{"daemon", probe64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plain := w.run(t, tc.name, tc.probe, false)
			if len(plain.escapes) == 0 && tc.name != "x32" {
				t.Errorf("without noip the case reached nothing, so it shows nothing:\n%s", plain.out)
			}
			under := w.run(t, tc.name, tc.probe, true)
			t.Logf("plain: %d ways out (%s)\nunder noip: %d\n%s", len(plain.escapes), strings.Join(plain.escapes, "; "), len(under.escapes), under.out)
			if tc.name == "ring_inherited" {
				// noip will not start a command it cannot keep in.
				if under.exit != 125 || !strings.Contains(under.stderr, "fd 7 is an io_uring instance") {
					t.Errorf("noip ran a command with an io_uring on fd 7: exit %d\n%s", under.exit, under.stderr)
				}
			} else if !strings.Contains(under.out, "done") {
				t.Errorf("under noip the case did not run to its end:\n%s\n%s", under.out, under.stderr)
			}
			for _, e := range under.escapes {
				t.Errorf("escape under noip: %s", e)
			}
		})
	}
}

// netWatch is the network the cases try to reach, watched from outside.
type netWatch struct {
	tcp     *net.TCPListener
	udp     *net.UDPConn
	mu      sync.Mutex
	conns   int // connections accepted, markers included
	markers int // marker connections
	grams   int
	seen    map[string]bool // sync markers seen
	unixDir string
	uid     int
	home    string
}

func newNetWatch(t *testing.T) *netWatch {
	w := &netWatch{seen: map[string]bool{}, uid: os.Getuid()}
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	w.tcp, w.udp = l, u
	t.Cleanup(func() { l.Close(); u.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			w.mu.Lock()
			w.conns++
			w.mu.Unlock()
			go func() {
				buf := make([]byte, 64)
				c.SetReadDeadline(time.Now().Add(time.Second))
				n, _ := c.Read(buf)
				if strings.HasPrefix(string(buf[:n]), "sync ") {
					w.mu.Lock()
					w.seen["tcp "+string(buf[:n])] = true
					w.markers++
					w.mu.Unlock()
				}
				c.Close()
			}()
		}
	}()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := u.ReadFrom(buf)
			if err != nil {
				return
			}
			w.mu.Lock()
			if strings.HasPrefix(string(buf[:n]), "sync ") {
				w.seen[string(buf[:n])] = true
			} else {
				w.grams++
			}
			w.mu.Unlock()
		}
	}()
	// The cases run as an ordinary user, with a login's environment.
	w.unixDir, err = os.MkdirTemp(binDir, "escape-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(w.unixDir, 0o755)
	t.Cleanup(func() { os.RemoveAll(w.unixDir) })
	w.home = filepath.Join(w.unixDir, "home")
	os.Mkdir(w.home, 0o700)
	if os.Geteuid() == 0 {
		w.uid = 65534
		os.Chown(w.home, w.uid, w.uid)
	}
	return w
}

// counts waits until everything sent to the listeners before now has
// been counted (a marker sent after it has arrived), then reports.
func (w *netWatch) counts(t *testing.T) (conns, grams int) {
	marker := fmt.Sprintf("sync %d", time.Now().UnixNano())
	c, err := net.Dial("tcp4", w.tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(marker))
	c.Close()
	u, err := net.Dial("udp4", w.udp.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte(marker))
	u.Close()
	for i := 0; ; i++ {
		w.mu.Lock()
		done := w.seen["tcp "+marker] && w.seen[marker]
		w.mu.Unlock()
		if done {
			break
		}
		if i > 1000 {
			t.Fatal("the listeners' markers never came back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conns - w.markers, w.grams
}

// realSockets are the real sockets one run of a case gets: the test keeps
// its own copies to look at afterwards.
type realSockets struct {
	tcp, udp, listener, udp6 int
	waiting                  net.Conn // the client waiting on listener

	mu   sync.Mutex // guards sent: serveFDs appends from its goroutine
	sent []int      // copies of those sent over SCM_RIGHTS
}

// sentFDs is a snapshot of the copies sent so far.
func (r *realSockets) sentFDs() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.sent...)
}

func newRealSockets(t *testing.T) *realSockets {
	r := &realSockets{}
	var err error
	mk := func(dom, typ int) int {
		fd, e := unix.Socket(dom, typ|unix.SOCK_CLOEXEC, 0)
		if e != nil {
			err = e
		}
		return fd
	}
	r.tcp = mk(unix.AF_INET, unix.SOCK_STREAM)
	r.udp = mk(unix.AF_INET, unix.SOCK_DGRAM)
	r.udp6 = mk(unix.AF_INET6, unix.SOCK_DGRAM)
	r.listener = mk(unix.AF_INET, unix.SOCK_STREAM)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(r.listener, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	unix.Listen(r.listener, 8)
	sa, _ := unix.Getsockname(r.listener)
	r.waiting, err = net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *realSockets) close() {
	for _, fd := range append([]int{r.tcp, r.udp, r.listener, r.udp6}, r.sentFDs()...) {
		unix.Close(fd)
	}
	r.waiting.Close()
}

// inodes are the handed-in sockets' inode numbers: the listener is real
// and listening from the start, and the others are judged by escapes.
func (r *realSockets) inodes() map[string]bool {
	m := map[string]bool{}
	for _, fd := range append([]int{r.tcp, r.udp, r.listener, r.udp6}, r.sentFDs()...) {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil {
			m[strconv.FormatUint(st.Ino, 10)] = true
		}
	}
	return m
}

// escapes lists what happened to the handed-in sockets.
func (r *realSockets) escapes() []string {
	var out []string
	check := func(name string, fd int) {
		if sa, err := unix.Getsockname(fd); err == nil {
			switch sa := sa.(type) {
			case *unix.SockaddrInet4:
				if sa.Port != 0 {
					out = append(out, fmt.Sprintf("%s bound to port %d", name, sa.Port))
				}
			case *unix.SockaddrInet6:
				if sa.Port != 0 {
					out = append(out, fmt.Sprintf("%s bound to port %d", name, sa.Port))
				}
			}
		}
		if _, err := unix.Getpeername(fd); err == nil {
			out = append(out, name+" connected")
		}
		if v, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); v != 0 {
			out = append(out, name+" listening")
		}
	}
	check("inherited TCP socket", r.tcp)
	check("inherited UDP socket", r.udp)
	check("inherited UDPv6 socket", r.udp6)
	for i, fd := range r.sentFDs() {
		check(fmt.Sprintf("received socket %d", i+1), fd)
	}
	unix.SetNonblock(r.listener, true)
	if fd, _, err := unix.Accept4(r.listener, unix.SOCK_CLOEXEC); err == nil {
		unix.Close(fd)
	} else {
		out = append(out, fmt.Sprintf("the real listener's waiting client was accepted (%v)", err))
	}
	return out
}

// serveFDs hands one real socket per connection over SCM_RIGHTS at path:
// a UDP socket, then two TCP sockets, the test keeping copies.
func serveFDs(t *testing.T, path string, r *realSockets) func() {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o777)
	go func() {
		for i := 0; ; i++ {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			typ := unix.SOCK_STREAM
			if i == 0 {
				typ = unix.SOCK_DGRAM
			}
			fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
			if err == nil {
				r.mu.Lock()
				r.sent = append(r.sent, fd)
				r.mu.Unlock()
				c.WriteMsgUnix([]byte{0}, unix.UnixRights(fd), nil)
			}
			c.Close()
		}
	}()
	return func() { l.Close() }
}

type caseResult struct {
	out, stderr string
	exit        int
	escapes     []string
}

// run runs case name once, under noip or not, and lists the ways out it
// found.
func (w *netWatch) run(t *testing.T, name, probe string, underNoip bool) caseResult {
	r := newRealSockets(t)
	defer r.close()
	c0, g0 := w.counts(t)
	arg := filepath.Join(w.unixDir, "fds.sock")
	os.Remove(arg)
	if name == "daemon" {
		arg = filepath.Join(w.unixDir, "daemon.out")
		os.WriteFile(arg, nil, 0o666)
		os.Chmod(arg, 0o666)
	}
	ring, ringParams, ringFrom := -1, "", ""
	switch name {
	case "ring_inherited":
		ring, ringParams = newRing(t)
		defer unix.Close(ring)
	case "ring_taken":
		var stop func()
		ringFrom, ringParams, stop = w.ringHolder(t, probe)
		defer stop()
	}
	if name != "daemon" {
		defer serveFDs(t, arg, r)()
	}
	mark := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	argv := []string{probe, name, strconv.Itoa(w.tcp.Addr().(*net.TCPAddr).Port), strconv.Itoa(w.udp.LocalAddr().(*net.UDPAddr).Port), arg}
	if underNoip {
		argv = append([]string{filepath.Join(binDir, "noip")}, argv...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = w.home
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + w.home, "USER=nobody", "LOGNAME=nobody",
		"XDG_RUNTIME_DIR=" + w.home, "ESCAPE_MARK=" + mark, "ESCAPE_HOLD=1", "ESCAPE_RING=" + ringParams, "ESCAPE_RING_FROM=" + ringFrom}
	// Copies, as an os.File closes its fd when it is collected.
	handed := []int{r.tcp, r.udp, r.listener, r.udp6}
	if name == "ring_inherited" {
		handed = append(handed, ring)
	}
	for _, fd := range handed {
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(d), "real")
		defer f.Close()
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	if w.uid != os.Getuid() {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(w.uid), Gid: uint32(w.uid)}}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if sc.Text() == "done" {
			break
		}
	}
	if name == "daemon" {
		// The daemon reports to a file once the command has gone.
		stdin.Close()
		for i := 0; i < 1000 && !strings.Contains(readFile(arg), "daemon done"); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		out.WriteString(readFile(arg))
	}
	res := caseResult{}
	res.escapes = append(res.escapes, heldSockets(mark, r.inodes())...)
	stdin.Close()
	go func() { // drain, so the process is never stuck on a full pipe
		for sc.Scan() {
		}
	}()
	cmd.Wait()
	res.exit = cmd.ProcessState.ExitCode()
	killMarked(mark)
	res.out, res.stderr = out.String(), stderr.String()
	c1, g1 := w.counts(t)
	if c1 > c0 {
		res.escapes = append(res.escapes, fmt.Sprintf("%d real TCP connections reached the listener", c1-c0))
	}
	if g1 > g0 {
		res.escapes = append(res.escapes, fmt.Sprintf("%d real datagrams reached the listener", g1-g0))
	}
	res.escapes = append(res.escapes, r.escapes()...)
	return res
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// markedPids are the processes whose environment carries mark.
func markedPids(mark string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		if strings.Contains(string(env), "ESCAPE_MARK="+mark+"\x00") {
			pids = append(pids, pid)
		}
	}
	return pids
}

func killMarked(mark string) {
	for _, pid := range markedPids(mark) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// heldSockets lists the Internet sockets with a local port (bound,
// listening or connected for real) that the processes carrying mark hold.
func heldSockets(mark string, handedIn map[string]bool) []string {
	inet := map[string]string{} // inode -> description
	for _, f := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, _ := os.ReadFile("/proc/net/" + f)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 {
				continue
			}
			local := fs[1]
			if strings.HasSuffix(local, ":0000") {
				continue
			}
			inet[fs[9]] = f + " " + local + " state " + fs[3]
		}
	}
	var out []string
	for _, pid := range markedPids(mark) {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			link, _ := os.Readlink(dir + "/" + e.Name())
			ino := strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")
			if d, ok := inet[ino]; ok && ino != link && !handedIn[ino] {
				out = append(out, fmt.Sprintf("pid %d fd %s holds a real socket: %s", pid, e.Name(), d))
			}
		}
	}
	return out
}

// newRing makes an io_uring with 4 entries and returns it with its
// io_uring_params in hex, which the probe needs to map it.
func newRing(t *testing.T) (int, string) {
	var params [120]byte
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 4, uintptr(unsafe.Pointer(&params[0])), 0)
	if e != 0 {
		t.Fatalf("io_uring_setup: %v", e)
	}
	return int(fd), hex.EncodeToString(params[:])
}

// ringHolder starts the probe, outside noip and as the cases' user, as a
// process holding an io_uring with a polling kernel thread, and returns
// "PID FD" of it, its parameters, and how to stop it.
func (w *netWatch) ringHolder(t *testing.T, probe string) (from, params string, stop func()) {
	cmd := exec.Command(probe, "ring_holder", "0", "0", "-")
	if w.uid != os.Getuid() {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(w.uid), Gid: uint32(w.uid)}}
	}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid, fd int
	var hexParams string
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if _, err := fmt.Sscanf(line, "ring %d %d %s", &pid, &fd, &hexParams); err != nil {
		t.Fatalf("ring holder: %q: %v", line, err)
	}
	return fmt.Sprintf("%d %d", pid, fd), hexParams, func() { stdin.Close(); cmd.Wait() }
}

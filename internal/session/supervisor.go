package session

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"noip/internal/seccomp"
)

// Serve is what the supervisor does with the listener: run the policy's
// notification loop until no process uses the filter.
type Serve func(l seccomp.Listener) error

// Prepare sets up the policy and returns its Serve. The supervisor calls it
// while CMD's process installs its filter, to keep it off the launch path.
type Prepare func() Serve

// RunSupervisor is the supervisor role: argv is [supervisorName, pgid,
// ignored-signals, front-fd, "--", CMD...]. It forks CMD into process group
// pgid (the front's) under filter, with the fds it inherited, takes its
// listener, serves it, reports CMD's stops and exit to the front (on
// front-fd), and reaps every orphan until the last served process is gone.
// It returns the supervisor's own exit status.
func RunSupervisor(argv []string, filter []bpf.RawInstruction, prepare Prepare) int {
	if len(argv) < 6 || argv[4] != "--" {
		fmt.Fprintln(os.Stderr, "noip: supervisor: bad arguments")
		return ExitNoip
	}
	pgid, err1 := strconv.Atoi(argv[1])
	frontFD, err2 := strconv.Atoi(argv[3])
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "noip: supervisor: bad arguments")
		return ExitNoip
	}
	front := &frontConn{fd: frontFD}
	unix.CloseOnExec(frontFD)
	inherited := inheritedFDs() // CMD's, not ours: closed once it has them
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		front.fail("cannot become a subreaper: %v", err)
		return ExitNoip
	}
	cmd := argv[5:]
	path, status := lookPath(cmd[0])
	if status != 0 {
		front.send("exit "+strconv.Itoa(status), -1)
		return 0
	}
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		front.fail("socketpair: %v", err)
		return ExitNoip
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvSupervisor+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, EnvSupervisor+"="+strconv.Itoa(os.Getpid()))
	cmdPid, pidfd, err := spawnServed(path, cmd, env, filter, pgid, sp[1], signalMask(argv[2]))
	unix.Close(sp[1])
	for _, fd := range inherited {
		unix.Close(fd)
	}
	if err != nil {
		front.fail("starting %s: %v", cmd[0], err)
		return ExitNoip
	}
	done := make(chan struct{})
	go func() {
		front.send("pid "+strconv.Itoa(cmdPid), pidfd)
		reap(cmdPid, front, done)
	}()
	// Take the listener first: the child executes CMD as soon as we hold
	// it, and until then every page we write is copied for the child.
	l, ok := takeListener(sp[0], pidfd, front)
	unix.Close(sp[0])
	// From now on no program running as the user may look into the
	// supervisor (ptrace, /proc/PID/mem, pidfd_getfd of the listener or of
	// the sockets it holds). Not before: CMD's process, forked from us,
	// would inherit it and refuse us its listener.
	setComm(supervisorName)
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	serve := prepare()
	go front.watch()
	go ignoreTerminalSignals()
	go releaseTerminal()
	if ok {
		if err := serve(l); err != nil {
			fmt.Fprintf(os.Stderr, "noip: supervisor: %v\n", err)
		}
		// Once the listener is closed, every notified call in the tree
		// fails with ENOSYS: closed, not open.
		unix.Close(l.FD)
	}
	<-done
	return 0
}

// releaseTerminal lets go of the user's terminal or pipes on stdin and
// stdout, and of the working directory; stderr stays for our own errors
// until the front is gone.
func releaseTerminal() {
	if null, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0); err == nil {
		unix.Dup2(null, 0)
		unix.Dup2(null, 1)
		unix.Close(null)
	}
	os.Chdir("/")
}

// ignoreTerminalSignals ignores the signals of job control and terminals:
// they are for the user's job, not for us (we have our own process group,
// but may still write to a terminal we are in the background of). CMD's
// dispositions are set by its process before execve, so this does not leak.
func ignoreTerminalSignals() {
	signal.Ignore(unix.SIGINT, unix.SIGQUIT, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGHUP, unix.SIGPIPE)
}

// takeListener reads the child's listener fd number (4 bytes; the top bit
// says the filter waits killably) and copies that fd out of it; a single
// byte is instead the errno of its failure.
func takeListener(sock, pidfd int, front *frontConn) (seccomp.Listener, bool) {
	var buf [8]byte
	n, err := unix.Read(sock, buf[:])
	switch {
	case err != nil || n == 0:
		return seccomp.Listener{FD: -1}, false // the child is gone
	case n == 1:
		e := unix.Errno(buf[0])
		switch e {
		case unix.EBUSY:
			front.fail("this process already has a seccomp supervisor (a container runtime, or a noip whose environment was cleared); noip cannot add another")
		case unix.EINVAL, unix.ENOSYS:
			front.fail("the kernel refused the seccomp filter (%v): Linux 5.14 or later with seccomp user notification is needed", e)
		default:
			front.fail("starting the command: %v", e)
		}
		return seccomp.Listener{FD: -1}, false
	case n != 4:
		front.fail("bad handoff from the child (%d bytes)", n)
		return seccomp.Listener{FD: -1}, false
	}
	num := int(buf[0]) | int(buf[1])<<8 | int(buf[2])<<16 | int(buf[3]&0x7f)<<24
	l, err := unix.PidfdGetfd(pidfd, num, 0)
	if err != nil {
		front.fail("taking the seccomp listener from the child: %v", err)
		return seccomp.Listener{FD: -1}, false
	}
	unix.CloseOnExec(l)
	unix.Write(sock, []byte{1})
	return seccomp.Listener{FD: l, Killable: buf[3]&0x80 != 0}, true
}

// reap waits for every child (CMD and the orphans re-parented to us) and
// reports CMD's stops, continues and end to the front. It closes done when
// no child is left.
func reap(cmdPid int, front *frontConn, done chan struct{}) {
	defer close(done)
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WUNTRACED|unix.WCONTINUED|unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ECHILD {
			return
		}
		if err != nil || pid != cmdPid {
			continue
		}
		switch {
		case ws.Exited():
			front.send("exit "+strconv.Itoa(ws.ExitStatus()), -1)
		case ws.Signaled():
			front.send("kill "+strconv.Itoa(int(ws.Signal())), -1)
		case ws.Stopped():
			front.send("stop "+strconv.Itoa(int(ws.StopSignal())), -1)
		case ws.Continued():
			front.send("cont", -1)
		}
	}
}

// frontConn is the supervisor's end of the status socket.
type frontConn struct {
	fd int
}

// send reports one status line, with an fd attached if fd >= 0.
func (f *frontConn) send(msg string, fd int) {
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	unix.Sendmsg(f.fd, []byte(msg), oob, nil, unix.MSG_NOSIGNAL)
}

// fail tells the front noip could not run CMD.
func (f *frontConn) fail(format string, args ...any) {
	f.send("fail "+fmt.Sprintf(format, args...), -1)
}

// watch waits for the front to exit, then gives up the terminal's stderr
// so that the supervisor, which may outlive the front by far, holds no
// terminal or pipe the user's shell waits on.
func (f *frontConn) watch() {
	pfd := []unix.PollFd{{Fd: int32(f.fd), Events: unix.POLLRDHUP}}
	for {
		if _, err := unix.Poll(pfd, -1); err == unix.EINTR {
			continue
		}
		break
	}
	if null, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0); err == nil {
		unix.Dup2(null, 2)
		unix.Close(null)
	}
}

// setComm names the process in ps and /proc/PID/comm, which would say
// "exe" (it was started as /proc/self/exe). It writes the main thread's
// name: a process's other threads may not set it once it is non-dumpable.
func setComm(name string) {
	os.WriteFile("/proc/self/comm", []byte(name), 0)
}

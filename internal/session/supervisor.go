package session

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"noip/internal/seccomp"
)

// frontFD is the supervisor's end of its socket to the front.
const frontFD = 3

// Serve is what the supervisor does with the listener: run the policy's
// notification loop until no process uses the filter.
type Serve func(l seccomp.Listener) error

// RunSupervisor is the supervisor role: argv is [supervisorName, pgid,
// ignored-signals, "--", CMD...]. It starts the launcher in process group
// pgid (the front's), takes its listener, serves it, reports CMD's stops and
// exit to the front, and reaps every orphan until the last served process
// is gone. It returns the supervisor's own exit status.
func RunSupervisor(argv []string, serve Serve) int {
	if len(argv) < 5 || argv[3] != "--" {
		fmt.Fprintln(os.Stderr, "noip: supervisor: bad arguments")
		return ExitNoip
	}
	pgid, err := strconv.Atoi(argv[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "noip: supervisor: bad process group")
		return ExitNoip
	}
	front := &frontConn{fd: frontFD}
	unix.CloseOnExec(frontFD)

	// Terminal signals are for the job, not for us: catch and drop them.
	// Catching (not ignoring) lets CMD start with default dispositions.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGINT, unix.SIGQUIT, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGHUP, unix.SIGPIPE)
	go func() {
		for range sigs {
		}
	}()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		front.fail("cannot become a subreaper: %v", err)
		return ExitNoip
	}
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		front.fail("socketpair: %v", err)
		return ExitNoip
	}
	env := append(os.Environ(), EnvSupervisor+"="+strconv.Itoa(os.Getpid()))
	var pidfd int = -1
	hand := os.NewFile(uintptr(sp[1]), "handoff")
	proc, err := os.StartProcess("/proc/self/exe", append([]string{launcherName, argv[2], "--"}, argv[4:]...), &os.ProcAttr{
		Env:   env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr, hand},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Pgid: pgid, PidFD: &pidfd},
	})
	hand.Close()
	if err != nil {
		front.fail("starting the launcher: %v", err)
		return ExitNoip
	}
	cmdPid := proc.Pid
	front.send("pid "+strconv.Itoa(cmdPid), pidfd)

	// The launcher is CMD from here on. Let go of the terminal, but keep
	// stderr for our own errors until the front is gone.
	if null, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0); err == nil {
		unix.Dup2(null, 0)
		unix.Dup2(null, 1)
		unix.Close(null)
	}
	os.Chdir("/")

	done := make(chan struct{})
	go reap(cmdPid, front, done)
	go front.watch()

	l, ok := takeListener(sp[0], pidfd, front)
	unix.Close(sp[0])
	if ok {
		if err := serve(seccomp.Listener{FD: l}); err != nil {
			fmt.Fprintf(os.Stderr, "noip: supervisor: %v\n", err)
		}
		// Once the listener is closed, every notified call in the tree
		// fails with ENOSYS: closed, not open.
		unix.Close(l)
	}
	<-done
	return 0
}

// takeListener reads the launcher's "fd N" and copies that fd out of it.
func takeListener(sock, pidfd int, front *frontConn) (int, bool) {
	buf := make([]byte, 512)
	n, err := unix.Read(sock, buf)
	if err != nil || n == 0 {
		return -1, false // the launcher exited first (e.g. command not found)
	}
	msg := string(buf[:n])
	if m, ok := strings.CutPrefix(msg, "fail "); ok {
		front.fail("%s", m)
		return -1, false
	}
	num, err := strconv.Atoi(strings.TrimPrefix(msg, "fd "))
	if err != nil {
		front.fail("launcher said %q", msg)
		return -1, false
	}
	l, err := unix.PidfdGetfd(pidfd, num, 0)
	if err != nil {
		front.fail("taking the seccomp listener from the launcher: %v", err)
		return -1, false
	}
	unix.CloseOnExec(l)
	unix.Write(sock, []byte{1})
	return l, true
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

package session

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Start runs cmd under a new supervisor, in this process as the front, and
// returns only if it could not start; otherwise it exits as CMD did. env is
// CMD's environment.
func Start(cmd, env []string) error {
	// No program running as the user may look into the front or, forked
	// from it, the sentinel (ptrace, /proc/PID/mem, pidfd_getfd).
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socketpair", err)
	}
	ignored := ignoredSignals()

	// The supervisor gets our stdin, stdout, stderr and every other fd CMD
	// should inherit, at their numbers, and its end of our socket above
	// them all.
	inherited := placeable(inheritedFDs())
	files := []uintptr{0, 1, 2}
	for i := range files {
		if !open(i) {
			files[i] = ^uintptr(0) // closed for CMD too
		}
	}
	for _, fd := range inherited {
		for len(files) < fd {
			files = append(files, ^uintptr(0))
		}
		files = append(files, uintptr(fd))
	}
	toFront := len(files)
	files = append(files, uintptr(sp[1]))
	// syscall.ForkExec, not os.StartProcess: the latter first forks a
	// throwaway child to probe for pidfd support, which costs launch time.
	_, err = syscall.ForkExec("/proc/self/exe",
		append([]string{supervisorName, strconv.Itoa(unix.Getpgrp()), ignored, strconv.Itoa(toFront), "--"}, cmd...),
		&syscall.ProcAttr{
			Env:   env,
			Files: files,
			Sys:   &syscall.SysProcAttr{Setpgid: true},
		})
	unix.Close(sp[1])
	if err != nil {
		return fmt.Errorf("starting the supervisor: %w", err)
	}
	// They are CMD's now: the front has no use for them.
	for _, fd := range inherited {
		unix.Close(fd)
	}
	// The supervisor outlives us when daemons are left; never waited for.

	// Catching signals costs a third of a millisecond (a round trip to the
	// runtime's signal thread per signal), so it overlaps the supervisor's
	// start. A signal in that window takes its default action on us, as on
	// a CMD that has not set its handlers yet.
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, forwardable...)

	f := &front{sock: sp[0], pidfd: -1}
	// The sentinel's fork copies our page tables: worth it for a command
	// that runs a while, not on the launch path of one that does not.
	// (Until it starts, the foreground heuristic stands in for it.)
	sentinels := make(chan *sentinel, 1)
	time.AfterFunc(sentinelDelay, func() { sentinels <- startSentinel(forwardableNums()) })
	f.tty, _ = unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	msgs := make(chan frontMsg)
	go f.read(msgs)
	for {
		select {
		case s := <-sigs:
			f.relay(s.(unix.Signal))
		case m := <-msgs:
			f.handle(m)
		case f.sentinel = <-sentinels:
		}
	}
}

type front struct {
	sock     int
	pidfd    int // CMD, once known
	tty      int // the controlling terminal, or -1
	sentinel *sentinel
	pending  []unix.Signal // to pass on once CMD is known
}

type frontMsg struct {
	text string
	fd   int
}

func (f *front) read(out chan<- frontMsg) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(f.sock, buf, oob, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			out <- frontMsg{text: "eof", fd: -1}
			return
		}
		m := frontMsg{text: string(buf[:n]), fd: -1}
		if cms, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(cms) > 0 {
			if fds, err := unix.ParseUnixRights(&cms[0]); err == nil && len(fds) > 0 {
				m.fd = fds[0]
			}
		}
		out <- m
	}
}

func (f *front) handle(m frontMsg) {
	word, arg, _ := strings.Cut(m.text, " ")
	n, _ := strconv.Atoi(arg)
	switch word {
	case "pid":
		f.pidfd = m.fd
		for _, sig := range f.pending {
			unix.PidfdSendSignal(f.pidfd, sig, nil, 0)
		}
		f.pending = nil
	case "exit":
		f.sentinel.stop()
		os.Exit(n)
	case "kill":
		f.sentinel.stop()
		dieBy(unix.Signal(n))
	case "stop":
		// CMD stopped (Ctrl-Z, a tty read in the background, SIGSTOP):
		// stop with the same signal, so the shell sees the job stop.
		raiseDefault(unix.Signal(n))
	case "cont":
	case "fail":
		f.sentinel.stop()
		fmt.Fprintf(os.Stderr, "noip: %s\n", arg)
		os.Exit(ExitNoip)
	case "eof":
		f.sentinel.stop()
		fmt.Fprintln(os.Stderr, "noip: the supervisor exited unexpectedly")
		os.Exit(ExitNoip)
	}
}

// relay passes a signal sent to noip on to CMD. A signal sent to the whole
// process group (the terminal's Ctrl-C, Ctrl-\\, Ctrl-Z, a shell's kill %1,
// timeout's kill) reached CMD already: the sentinel says which those are.
// Without a sentinel, the terminal's signals are recognised by our being
// its foreground job.
func (f *front) relay(sig unix.Signal) {
	if f.sentinel != nil {
		if f.sentinel.groupGot(sig, groupWait) {
			return
		}
	} else {
		switch sig {
		case unix.SIGINT, unix.SIGQUIT, unix.SIGTSTP, unix.SIGHUP:
			if f.foreground() {
				return
			}
		}
	}
	if f.pidfd < 0 {
		f.pending = append(f.pending, sig)
		return
	}
	unix.PidfdSendSignal(f.pidfd, sig, nil, 0)
}

// sentinelDelay is how long after the launch the sentinel starts.
const sentinelDelay = 10 * time.Millisecond

// groupWait is how long the front waits for the sentinel to report a
// signal before taking it as sent to the front alone.
const groupWait = 20 * time.Millisecond

// foreground reports whether our process group is the terminal's
// foreground job.
func (f *front) foreground() bool {
	if f.tty < 0 {
		return false
	}
	pg, err := unix.IoctlGetInt(f.tty, unix.TIOCGPGRP)
	return err == nil && pg == unix.Getpgrp()
}

// dieBy ends the front by signal sig, as CMD ended, without a core dump of
// noip itself.
func dieBy(sig unix.Signal) {
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	raiseDefault(sig)
	// Not deadly to us (it was ignored when we started, or blocked):
	// exit as a shell reports a death by signal.
	os.Exit(exitSignalShift + int(sig))
}

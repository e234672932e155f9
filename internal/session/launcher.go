package session

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"noip/internal/seccomp"
)

// handoffFD is the launcher's end of its socket to the supervisor.
const handoffFD = 3

// RunLauncher is the launcher role: argv is [launcherName, ignored-signals,
// "--", CMD...]. It resolves CMD, installs filter, hands the listener to the
// supervisor through fd 3, waits for the supervisor to hold it, and executes
// CMD. It returns only on failure, with the exit status to use.
func RunLauncher(argv []string, filter []bpf.RawInstruction) int {
	if len(argv) < 4 || argv[2] != "--" {
		fmt.Fprintln(os.Stderr, "noip: launcher: bad arguments")
		return ExitNoip
	}
	cmd := argv[3:]
	restoreIgnored(argv[1])
	unix.CloseOnExec(handoffFD)

	// Everything that can fail or allocate happens before the filter: after
	// it, the only calls are write/read on the handoff socket, close and
	// execve.
	path, status := lookPath(cmd[0])
	if status != 0 {
		return status
	}
	argv0, err := syscall.BytePtrFromString(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "noip: %s: %v\n", cmd[0], err)
		return ExitNotFound
	}
	argvp, err := syscall.SlicePtrFromStrings(cmd)
	if err != nil {
		fmt.Fprintf(os.Stderr, "noip: %s: %v\n", cmd[0], err)
		return ExitNotExec
	}
	envp, err := syscall.SlicePtrFromStrings(os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "noip: environment: %v\n", err)
		return ExitNoip
	}

	listener, err := seccomp.Install(filter)
	if err != nil {
		msg := fmt.Sprintf("fail cannot install the seccomp filter: %v", err)
		if errors.Is(err, unix.EBUSY) {
			msg = "fail this process already has a seccomp supervisor (a container runtime or a noip whose environment was cleared); noip cannot add another"
		}
		unix.Write(handoffFD, []byte(msg))
		return ExitNoip
	}
	if _, err := unix.Write(handoffFD, []byte("fd "+strconv.Itoa(listener))); err != nil {
		return ExitNoip
	}
	var ack [1]byte
	if n, _ := unix.Read(handoffFD, ack[:]); n != 1 {
		return ExitNoip // the supervisor is gone: do not run CMD unserved
	}
	unix.Close(listener)
	_, _, e := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafePtr(argv0)), uintptr(unsafeSlice(argvp)), uintptr(unsafeSlice(envp)))
	fmt.Fprintf(os.Stderr, "noip: %s: %v\n", cmd[0], e)
	if e == unix.ENOENT {
		return ExitNotFound
	}
	return ExitNotExec
}

// lookPath resolves CMD as a shell would, with the shell's statuses and
// messages for a missing or unusable command.
func lookPath(name string) (string, int) {
	path, err := exec.LookPath(name)
	if err == nil {
		return path, 0
	}
	var ee *exec.Error
	switch {
	case errors.As(err, &ee) && errors.Is(ee.Err, exec.ErrNotFound):
		if strings.Contains(name, "/") {
			fmt.Fprintf(os.Stderr, "noip: %s: No such file or directory\n", name)
		} else {
			fmt.Fprintf(os.Stderr, "noip: %s: command not found\n", name)
		}
		return "", ExitNotFound
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(os.Stderr, "noip: %s: No such file or directory\n", name)
		return "", ExitNotFound
	case errors.Is(err, fs.ErrPermission):
		fmt.Fprintf(os.Stderr, "noip: %s: Permission denied\n", name)
		return "", ExitNotExec
	}
	fmt.Fprintf(os.Stderr, "noip: %s: %v\n", name, err)
	return "", ExitNotExec
}

// forwardable signals are the ones the front catches; listed here so that
// the ones the user's shell had ignored are ignored again in CMD.
var forwardable = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1,
	unix.SIGUSR2, unix.SIGALRM, unix.SIGWINCH, unix.SIGCONT, unix.SIGTSTP,
	unix.SIGPIPE, unix.SIGTTIN, unix.SIGTTOU,
}

// ignoredSignals lists (as numbers, comma-separated) the signals this
// process was started with ignored.
func ignoredSignals() string {
	var out []string
	for _, s := range forwardable {
		if signal.Ignored(s) {
			out = append(out, strconv.Itoa(int(s.(unix.Signal))))
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ",")
}

// restoreIgnored ignores again the signals the user's noip was started with
// ignored (nohup, background jobs of scripts): the front and supervisor
// catch them, which resets them to the default in CMD.
func restoreIgnored(list string) {
	for _, f := range strings.Split(list, ",") {
		if n, err := strconv.Atoi(f); err == nil {
			signal.Ignore(unix.Signal(n))
		}
	}
}

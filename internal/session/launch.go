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

	"golang.org/x/sys/unix"
)

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

// forwardable signals are the ones the front catches and passes on.
var forwardable = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1,
	unix.SIGUSR2, unix.SIGALRM, unix.SIGCONT, unix.SIGTSTP,
}

func forwardableNums() []unix.Signal {
	out := make([]unix.Signal, len(forwardable))
	for i, s := range forwardable {
		out[i] = s.(unix.Signal)
	}
	return out
}

// inheritable signals are the ones CMD starts with ignored when noip was
// started with them ignored (nohup, background jobs of scripts).
var inheritable = append([]os.Signal{unix.SIGPIPE, unix.SIGTTIN, unix.SIGTTOU, unix.SIGWINCH}, forwardable...)

// ignoredSignals lists (as numbers, comma-separated) the signals this
// process was started with ignored (nohup, background jobs of scripts), so
// that CMD starts with them ignored too.
func ignoredSignals() string {
	var out []string
	for _, s := range inheritable {
		if signal.Ignored(s) {
			out = append(out, strconv.Itoa(int(s.(unix.Signal))))
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ",")
}

// signalMask turns ignoredSignals' list into a mask, bit n-1 for signal n.
func signalMask(list string) uint64 {
	var m uint64
	for _, f := range strings.Split(list, ",") {
		if n, err := strconv.Atoi(f); err == nil && n >= 1 && n <= 64 {
			m |= 1 << (n - 1)
		}
	}
	return m
}

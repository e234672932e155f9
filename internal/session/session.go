// Package session runs a command under a supervisor in the process shape
// that keeps job control and terminals working:
//
//	shell
//	 └─ front        the command the user ran; stays in the terminal's job,
//	    │            passes signals on, stops and exits as CMD does
//	    └─ supervisor  own process group, subreaper of everything it serves
//	       └─ launcher → CMD   joins the front's process group, installs
//	                           the seccomp filter, hands up its listener,
//	                           and executes CMD
//
// The supervisor is an ancestor of every served process, so it may take
// their fds and read their memory even where Yama restricts ptrace to
// descendants. The package does not decide policy: it is given a filter and
// a function that serves the listener.
package session

import (
	"os"
	"path/filepath"
	"runtime"
)

// Role names are argv[0] of noip re-executing itself, so that ps shows
// what each process is, and no marker leaks into CMD's environment.
const (
	supervisorName = "noip-supervisor"
	launcherName   = "noip-launcher"
)

func init() {
	// The launcher must install the filter and execute CMD on one thread:
	// no_new_privs and seccomp filters are per thread, and execve keeps
	// only the calling thread. Locking in init holds the main thread from
	// the start.
	if filepath.Base(os.Args[0]) == launcherName {
		runtime.LockOSThread()
	}
}

// Role returns the internal role this process was started in ("" for the
// user's own invocation).
func Role() string {
	switch filepath.Base(os.Args[0]) {
	case supervisorName, launcherName:
		return filepath.Base(os.Args[0])
	}
	return ""
}

// EnvSupervisor holds the supervisor's pid in every served process, so a
// noip started inside the tree knows it is already served.
const EnvSupervisor = "NOIP_SUPERVISOR"

// Exit statuses, as a shell gives them.
const (
	ExitNoip        = 125 // noip's own error: CMD not started
	ExitNotExec     = 126
	ExitNotFound    = 127
	exitSignalShift = 128
)

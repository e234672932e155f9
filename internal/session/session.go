// Package session runs a command under a supervisor in the process shape
// that keeps job control and terminals working:
//
//	shell
//	 └─ front        the command the user ran; stays in the terminal's job,
//	    │            passes signals on, stops and exits as CMD does
//	    └─ supervisor  own process group, subreaper of everything it serves
//	       └─ CMD      forked without the Go runtime: joins the front's
//	                   process group, installs the seccomp filter, hands
//	                   up its listener, and executes CMD
//
// The supervisor is an ancestor of every served process, so it may take
// their fds and read their memory even where Yama restricts ptrace to
// descendants. The package does not decide policy: it is given a filter and
// a function that serves the listener.
package session

import (
	"os"
	"path/filepath"
)

// supervisorName is argv[0] of noip re-executing itself as the supervisor,
// so that ps shows what it is and no marker leaks into CMD's environment.
const supervisorName = "noip-supervisor"

// IsSupervisor reports whether this process was started as a supervisor.
func IsSupervisor() bool { return filepath.Base(os.Args[0]) == supervisorName }

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

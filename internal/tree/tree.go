// Package tree puts together what a supervised tree runs: which policies
// (noip's, uopen's, or both), the seccomp filter they need, and the
// supervisor that serves them. noip and uopen share it, so that
// "uopen noip CMD" and "noip uopen CMD" give one tree both behaviours with
// one supervisor: the kernel allows one listener per process tree.
//
// It does not parse command lines or settings: the commands do.
package tree

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"noip/internal/noip"
	"noip/internal/seccomp"
	"noip/internal/session"
	"noip/internal/supervise"
	"noip/internal/tracee"
	"noip/internal/uopen"
)

// Mode is what a tree's supervisor serves.
type Mode struct {
	Net  bool // noip: Internet sockets become plastic
	Open bool // uopen: opening a socket file connects to it
}

// EnvMode carries a tree's mode: from the front to its supervisor, and
// from the supervisor into every process it serves, so that a noip or
// uopen started inside the tree knows what the tree can do.
const EnvMode = "NOIP_SUPERVISOR_MODE"

func (m Mode) String() string {
	var s []string
	if m.Net {
		s = append(s, "net")
	}
	if m.Open {
		s = append(s, "open")
	}
	return strings.Join(s, ",")
}

// ParseMode is the inverse of String.
func ParseMode(s string) Mode {
	var m Mode
	for _, f := range strings.Split(s, ",") {
		switch f {
		case "net":
			m.Net = true
		case "open":
			m.Open = true
		}
	}
	return m
}

// Chain is the mode a command line asks for: the command's own, and the
// other's when COMMAND is the other command (noip uopen CMD, uopen noip
// CMD), whose options and command then run inside the same tree.
func Chain(own Mode, args []string) Mode {
	if len(args) > 0 {
		switch filepath.Base(args[0]) {
		case "noip":
			own.Net = true
		case "uopen":
			own.Open = true
		}
	}
	return own
}

// Filter is the seccomp policy of a tree of mode m.
func Filter(m Mode) seccomp.Policy {
	var pol seccomp.Policy
	if m.Net {
		pol = noip.Filter()
	} else {
		pol = seccomp.Policy{ABIs: []seccomp.ABIRules{{Arch: seccomp.Native}}}
		for _, a := range seccomp.Compat {
			// 32-bit programs are not served; they must not be killed.
			pol.ABIs = append(pol.ABIs, seccomp.ABIRules{Arch: a})
		}
	}
	if m.Open {
		pol.ABIs[0].Rules = append(pol.ABIs[0].Rules, uopen.Rules()...)
	}
	return pol
}

// Inside returns the mode of the tree this process already runs in: the
// supervisor named in its environment, if that is an ancestor of it.
func Inside() (Mode, bool) {
	sup := os.Getenv(session.EnvSupervisor)
	if sup == "" {
		return Mode{}, false
	}
	for pid := os.Getpid(); pid > 1; {
		ppid, err := tracee.PPid(pid)
		if err != nil {
			return Mode{}, false
		}
		if fmt.Sprint(ppid) == sup {
			return ParseMode(os.Getenv(EnvMode)), true
		}
		pid = ppid
	}
	return Mode{}, false
}

// Supervise is the supervisor role of both commands: it reads its mode,
// builds the filter and serves the tree, and returns the exit status.
func Supervise() int {
	m := ParseMode(os.Getenv(EnvMode))
	filter, err := seccomp.Build(Filter(m))
	if err != nil {
		fmt.Fprintf(os.Stderr, "noip: building the filter: %v\n", err)
		return session.ExitNoip
	}
	return session.RunSupervisor(os.Args, filter, func() session.Serve { return prepare(m) })
}

// prepare sets up the policies of mode m: noip's, with settings from each
// process's environment (the supervisor's own is CMD's), and uopen's.
func prepare(m Mode) session.Serve {
	h := supervise.Handlers{}
	var pol *noip.Policy
	swept := make(chan struct{})
	if m.Net {
		pol = noip.New(os.Environ())
		for k, v := range pol.Handlers() {
			h[k] = v
		}
		// Stale endpoints of earlier runs go while the command starts:
		// not worth a wait, but finished before the supervisor exits.
		go func() {
			defer close(swept)
			if d := pol.Root().Dir; d != nil {
				d.GC()
			}
		}()
	} else {
		close(swept)
	}
	if m.Open {
		up := uopen.New(os.Getenv("NOIP_DEBUG") != "" && os.Getenv("NOIP_DEBUG") != "0")
		for k, v := range up.Handlers() {
			h[k] = v
		}
	}
	arches := append([]*seccomp.Arch{seccomp.Native}, seccomp.Compat...)
	return func(l seccomp.Listener) error {
		sv := supervise.New(l, h, arches...)
		if pol != nil {
			pol.Configure(sv)
		}
		sv.Log = noip.Logger()
		defer profile()()
		defer func() { <-swept }()
		return sv.Run()
	}
}

// Exec runs CMD in place, in a tree that already serves what it needs:
// the tree's supervisor takes the new settings from env at the execve.
func Exec(args, env []string) int {
	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s: %v\n", filepath.Base(os.Args[0]), args[0], err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return session.ExitNotFound
		}
		return session.ExitNotExec
	}
	err = syscall.Exec(path, args, env)
	fmt.Fprintf(os.Stderr, "%s: %s: %v\n", filepath.Base(os.Args[0]), args[0], err)
	return session.ExitNotExec
}

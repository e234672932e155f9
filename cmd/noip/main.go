// Command noip runs a command so that its Internet sockets become
// Unix-domain sockets in a private directory. See README.md.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"noip/internal/noip"
	"noip/internal/seccomp"
	"noip/internal/session"
	"noip/internal/sockdir"
	"noip/internal/supervise"
	"noip/internal/tracee"
)

const version = "noip 0.1.0"

const usage = `usage: noip [OPTIONS] [--] [COMMAND [ARG...]]

Runs COMMAND (default: $SHELL) so that its TCP sockets become Unix-domain
sockets in a private directory: programs under noip reach each other as
before, and no other user can reach them.

Options:
  --socketdir DIR   where plastic endpoints live (default: $NOIP_SOCKETDIR,
                    else ${TMPDIR:-/tmp}/noip-$USER)
  --debug           log each decision on the program's stderr
  --help            show this help
  --version         show the version
`

func main() {
	if session.IsSupervisor() {
		filter, err := seccomp.Build(noip.Filter())
		if err != nil {
			fmt.Fprintf(os.Stderr, "noip: building the filter: %v\n", err)
			os.Exit(session.ExitNoip)
		}
		os.Exit(session.RunSupervisor(os.Args, filter, prepare))
	}
	os.Exit(run(os.Args[1:]))
}

// run is the user's noip: parse options, check the socket directory, and
// start CMD under a supervisor (or, inside a noip tree, directly).
func run(args []string) int {
	var socketDir string
	debug := false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		args = args[1:]
		name, val, hasVal := strings.Cut(a, "=")
		switch name {
		case "--":
			goto done
		case "-h", "--help":
			fmt.Print(usage)
			return 0
		case "--version":
			fmt.Println(version)
			return 0
		case "--debug":
			debug = true
		case "--socketdir":
			if !hasVal {
				if len(args) == 0 {
					return fail("--socketdir needs a directory")
				}
				val, args = args[0], args[1:]
			}
			socketDir = val
		default:
			return fail("unknown option %s (see noip --help)", a)
		}
	}
done:
	if err := checkKernel(); err != nil {
		return fail("%v", err)
	}
	if socketDir == "" {
		socketDir = os.Getenv(noip.EnvSocketDir)
	}
	if socketDir == "" {
		socketDir = sockdir.DefaultPath(os.Getenv, os.Getuid())
	}
	dir, err := sockdir.Open(socketDir)
	if err != nil {
		return fail("%v", err)
	}
	dir.Close()
	env := setEnv(os.Environ(), noip.EnvSocketDir, dir.Path)
	if debug {
		env = setEnv(env, noip.EnvDebug, "1")
	}
	if len(args) == 0 {
		sh := os.Getenv("SHELL")
		if sh == "" {
			sh = "/bin/sh"
		}
		args = []string{sh}
	}
	if insideNoip() {
		return execDirect(args, env)
	}
	if err := session.Start(args, env); err != nil {
		return fail("%v", err)
	}
	return session.ExitNoip
}

// prepare sets up the supervisor's work: the noip policy, with settings
// from the supervisor's environment (CMD's, as the front made it).
func prepare() session.Serve {
	root := &noip.Settings{PortMin: noip.DefaultPortMin, PortMax: noip.DefaultPortMax}
	root.Debug = noip.ParseDebug(os.Getenv(noip.EnvDebug))
	if lo, hi, err := noip.ParsePorts(os.Getenv(noip.EnvAutoports)); err == nil {
		root.PortMin, root.PortMax = lo, hi
	}
	root.Dir, root.DirErr = sockdir.Open(os.Getenv(noip.EnvSocketDir))
	if root.Dir != nil {
		go root.Dir.GC() // stale endpoints of earlier runs; not worth a wait
	}
	pol := noip.New(root)
	arches := append([]*seccomp.Arch{seccomp.Native}, seccomp.Compat...)
	return func(l seccomp.Listener) error {
		sv := supervise.New(l, pol.Handlers(), arches...)
		sv.Log = noip.Logger()
		// For developers: a CPU profile of the supervisor (go tool pprof).
		if path := os.Getenv("NOIP_CPUPROFILE"); path != "" {
			if f, err := os.Create(path); err == nil {
				pprof.StartCPUProfile(f)
				defer pprof.StopCPUProfile()
			}
		}
		return sv.Run()
	}
}

// insideNoip reports whether this process is already served by a noip
// supervisor: one named in the environment that is our ancestor.
func insideNoip() bool {
	sup := os.Getenv(session.EnvSupervisor)
	if sup == "" {
		return false
	}
	for pid := os.Getpid(); pid > 1; {
		ppid, err := tracee.PPid(pid)
		if err != nil {
			return false
		}
		if fmt.Sprint(ppid) == sup {
			return true
		}
		pid = ppid
	}
	return false
}

// execDirect runs CMD in place: inside a noip tree the outer supervisor
// already serves it, and reads the new settings from its environment.
func execDirect(args, env []string) int {
	path, err := lookPath(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "noip: %s: %v\n", args[0], err)
		if errors.Is(err, os.ErrNotExist) {
			return session.ExitNotFound
		}
		return session.ExitNotExec
	}
	err = syscall.Exec(path, args, env)
	fmt.Fprintf(os.Stderr, "noip: %s: %v\n", args[0], err)
	return session.ExitNotExec
}

func setEnv(env []string, key, val string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+val)
}

// checkKernel refuses kernels without what noip needs, naming the feature.
func checkKernel() error {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return nil
	}
	rel := unix.ByteSliceToString(u.Release[:])
	var major, minor int
	fmt.Sscanf(rel, "%d.%d", &major, &minor)
	if major < 5 || major == 5 && minor < 14 {
		return fmt.Errorf("needs Linux 5.14 or later (seccomp user notification with SECCOMP_ADDFD_FLAG_SEND); this is %s", rel)
	}
	return nil
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "noip: "+format+"\n", args...)
	return session.ExitNoip
}

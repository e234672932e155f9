// Command noip runs a command so that its Internet sockets become
// Unix-domain sockets in a private directory. See README.md.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"noip/internal/config"
	"noip/internal/inet"
	"noip/internal/noip"
	"noip/internal/session"
	"noip/internal/sockdir"
	"noip/internal/tree"
)

const version = "noip 0.2.0"

const usage = `usage: noip [OPTIONS] [--] [COMMAND [ARG...]]
       noip check [FILE]
       noip explain bind|connect ADDR[:PORT]
       noip ls [-a] [-l] [-t] [-u] [--json] [--path ENDPOINT]
       noip gc

Runs COMMAND (default: $SHELL) so that its TCP sockets become Unix-domain
sockets in a private directory: programs under noip reach each other as
before, and no other user can reach them. ~/.noip (or $NOIP_CONFIG) says
which addresses use the real network.

Options (each like the config keyword of the same name):
  --config FILE        read FILE instead of $NOIP_CONFIG or ~/.noip
  --socketdir DIR      where plastic endpoints live
  --realbind ACL       addresses bound for real, e.g. '+127.0.0.1:8080'
  --realconnect ACL    addresses connected to for real, e.g. '+local:22'
  --impbind RULES      local addresses of implicitly bound sockets
  --autoports MIN-MAX  ports picked for port 0 (default 16384-65535)
  --debug              log each decision on the program's stderr
  --help, --version

Subcommands (use "noip -- check" to run a program named check):
  check [FILE]         validate the configuration and print its rules
  explain bind|connect ADDR[:PORT]
                       say which rule decides for ADDR, and what happens
  ls                   list the live endpoints of the socket directory, like ss:
                       -l listening ones only, -a stale ones too, -t TCP only,
                       -u UDP only, --json for scripts; --path ENDPOINT prints
                       the file of ENDPOINT (127.0.0.1:8000, udp/127.0.0.1:53)
                       for programs outside noip
  gc                   remove the stale ones (no process holds them)
`

func main() {
	if session.IsSupervisor() {
		os.Exit(tree.Supervise())
	}
	os.Exit(run(os.Args[1:]))
}

// options are the parsed command line.
type options struct {
	settings []config.Setting // config keywords given as options
	debug    bool
	args     []string // COMMAND and its arguments, or a subcommand's
	sub      string   // "check", "explain" or ""
}

// optionKeywords maps options to the config keyword they stand for.
var optionKeywords = map[string]string{
	"--config": "config", "--socketdir": "socketdir", "--realbind": "realbind",
	"--realconnect": "realconnect", "--impbind": "impbind", "--autoports": "autoports",
}

func parseArgs(args []string) (*options, error) {
	o := &options{}
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			o.args = args[1:]
			return o, nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		args = args[1:]
		name, val, hasVal := strings.Cut(a, "=")
		switch name {
		case "-h", "--help":
			o.sub = "help"
			return o, nil
		case "--version":
			o.sub = "version"
			return o, nil
		case "--debug":
			o.debug = true
			o.settings = append(o.settings, config.Setting{Keyword: "debug", Value: val, Name: "--debug"})
			continue
		}
		kw, ok := optionKeywords[name]
		if !ok {
			return nil, fmt.Errorf("unknown option %s (see noip --help)", a)
		}
		if !hasVal {
			if len(args) == 0 {
				return nil, fmt.Errorf("%s needs a value", name)
			}
			val, args = args[0], args[1:]
		}
		if kw == "config" || kw == "socketdir" {
			if abs, err := filepath.Abs(val); err == nil {
				val = abs
			}
		}
		o.settings = append(o.settings, config.Setting{Keyword: kw, Value: val, Name: name})
	}
	if len(args) > 0 && (args[0] == "check" || args[0] == "explain" || args[0] == "ls" || args[0] == "gc") {
		o.sub, args = args[0], args[1:]
	}
	o.args = args
	return o, nil
}

// run is the user's noip: parse options, check the configuration and the
// socket directory, and start CMD under a supervisor (or, inside a noip
// tree, directly).
func run(argv []string) int {
	o, err := parseArgs(argv)
	if err != nil {
		return fail("%v", err)
	}
	switch o.sub {
	case "help":
		fmt.Print(usage)
		return 0
	case "version":
		fmt.Println(version)
		return 0
	case "check":
		return check(o)
	case "explain":
		return explain(o)
	case "ls":
		return list(o)
	case "gc":
		return gc(o)
	}
	if err := checkKernel(); err != nil {
		return fail("%v", err)
	}
	cfg, d, err := loadSettings(o)
	if err != nil {
		return fail("%v", err)
	}
	d.Close()
	env := childEnv(os.Environ(), o, cfg, d.Path)
	args := o.args
	if len(args) == 0 {
		sh := os.Getenv("SHELL")
		if sh == "" {
			sh = "/bin/sh"
		}
		args = []string{sh}
	}
	if mode, ok := tree.Inside(); ok {
		if !mode.Net {
			return fail("this process runs under uopen's supervisor, which does not serve Internet sockets, and one process tree can have only one supervisor: start it as 'noip uopen ...' or 'uopen noip ...'")
		}
		return tree.Exec(args, env)
	}
	if fd := session.Ring(); fd >= 0 {
		return fail("fd %d is an io_uring instance, with which CMD could use the network around noip: close it first (%d<&-)", fd, fd)
	}
	mode := tree.Chain(tree.Mode{Net: true}, args)
	env = setEnv(env, tree.EnvMode, mode.String())
	if err := session.Start(args, env); err != nil {
		return fail("%v", err)
	}
	return session.ExitNoip
}

// loadSettings reads the configuration noip runs with (the environment's
// and the options') and opens (creating it if needed) its socket directory.
func loadSettings(o *options) (*config.Config, *sockdir.Dir, error) {
	cfg, err := config.Load(os.Getenv, o.settings)
	if err != nil {
		return nil, nil, err
	}
	d, err := sockdir.Open(socketDir(cfg))
	if err != nil {
		return nil, nil, err
	}
	return cfg, d, nil
}

// socketDir is the configured socket directory, else the default one.
func socketDir(cfg *config.Config) string {
	if cfg.SocketDir != "" {
		return cfg.SocketDir
	}
	dir, _ := sockdir.DefaultPath(os.Getenv, os.Getuid())
	return dir
}

// childEnv is CMD's environment: the settings noip ran with, in the
// variables every process's settings are read from, so that the whole tree
// (and a noip nested in it) sees them. The socket directory and config
// file are pinned to absolute paths: a program that changes $HOME or
// $TMPDIR stays in the same private network.
func childEnv(env []string, o *options, cfg *config.Config, dir string) []string {
	env = setEnv(env, noip.EnvSocketDir, dir)
	if cfg.File != "" {
		if abs, err := filepath.Abs(cfg.File); err == nil {
			env = setEnv(env, noip.EnvConfig, abs)
		}
	}
	if o.debug || cfg.Debug > 0 {
		env = setEnv(env, noip.EnvDebug, fmt.Sprint(max(cfg.Debug, 1)))
	}
	for _, s := range o.settings {
		switch s.Keyword {
		case "realbind", "realconnect", "impbind":
			// Options come after the variable of the same name: append.
			key := "NOIP_" + strings.ToUpper(s.Keyword)
			if old := os.Getenv(key); old != "" {
				env = setEnv(env, key, old+"\n"+s.Value)
			} else {
				env = setEnv(env, key, s.Value)
			}
		case "autoports":
			env = setEnv(env, noip.EnvAutoports, s.Value)
		}
	}
	return env
}

// check validates a configuration (FILE, else the one noip would use) and
// prints its effective rules with their origins.
func check(o *options) int {
	settings := o.settings
	if len(o.args) > 1 {
		return fail("usage: noip check [FILE]")
	}
	if len(o.args) == 1 {
		settings = append(settings, config.Setting{Keyword: "config", Value: o.args[0], Name: "FILE"})
	}
	cfg, err := config.Load(os.Getenv, settings)
	if err != nil {
		return fail("%v", err)
	}
	if err := cfg.Format(os.Stdout); err != nil {
		return fail("%v", err)
	}
	return 0
}

// explain says which rule decides for an address, and what noip does.
func explain(o *options) int {
	if len(o.args) != 2 {
		return fail("usage: noip explain bind|connect ADDR[:PORT]")
	}
	op, err := config.ParseOp(o.args[0])
	if err != nil {
		return fail("%v", err)
	}
	ap, hasPort, err := config.ParseTarget(o.args[1])
	if err != nil {
		return fail("%v", err)
	}
	cfg, err := config.Load(os.Getenv, o.settings)
	if err != nil {
		return fail("%v", err)
	}
	locals, err := config.NewInterfaceLocals()
	var l config.Locals
	if err == nil {
		defer locals.Close()
		l = locals
	}
	v := cfg.Decide(op, ap, l)
	target := o.args[1]
	if !hasPort {
		target += " (any port no rule names)"
	}
	fmt.Printf("%s %s: %v\n", op, target, v)
	if v.Allow {
		fmt.Printf("action: a real Internet socket %s %v\n", map[config.Op]string{config.OpBind: "bound to", config.OpConnect: "connected to"}[op], ap)
		return 0
	}
	fmt.Printf("action: plastic, endpoint %s/%s\n", socketDir(cfg), inet.Name(ap))
	return 0
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

// Command uopen runs a command so that opening a Unix-domain socket file
// connects to it: uopen cat ~/.signature reads what the server behind
// ~/.signature says. See README.md.
package main

import (
	"fmt"
	"os"
	"strings"

	"noip/internal/session"
	"noip/internal/tree"
)

const version = "uopen 0.3.0"

const usage = `usage: uopen [--debug] [--] [COMMAND [ARG...]]

Runs COMMAND (default: $SHELL) so that open(2) of a path that is a
Unix-domain socket connects to it instead of failing (ENXIO): reading the
file reads what the server sends, writing it sends. Every other open is
unchanged. "uopen noip CMD" and "noip uopen CMD" give CMD both.

Options:
  --debug              log each open uopen serves on the program's stderr
  --help, --version
`

func main() {
	if session.IsSupervisor() {
		os.Exit(tree.Supervise())
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	env := os.Environ()
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		a := args[0]
		args = args[1:]
		switch a {
		case "--":
			goto command
		case "-h", "--help":
			fmt.Print(usage)
			return 0
		case "--version":
			fmt.Println(version)
			return 0
		case "--debug":
			env = setEnv(env, "NOIP_DEBUG", "1")
		default:
			return fail("unknown option %s (see uopen --help)", a)
		}
	}
command:
	if len(args) == 0 {
		sh := os.Getenv("SHELL")
		if sh == "" {
			sh = "/bin/sh"
		}
		args = []string{sh}
	}
	if mode, ok := tree.Inside(); ok {
		if !mode.Open {
			return fail("this process runs under noip's supervisor, which was started without open interception, and one process tree can have only one supervisor: start it as 'noip uopen ...' or 'uopen noip ...'")
		}
		return tree.Exec(args, env)
	}
	mode := tree.Chain(tree.Mode{Open: true}, args)
	env = setEnv(env, tree.EnvMode, mode.String())
	if err := session.Start(args, env); err != nil {
		return fail("%v", err)
	}
	return session.ExitNoip
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

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "uopen: "+format+"\n", args...)
	return session.ExitNoip
}

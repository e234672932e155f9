// Package completions holds the shell completions of noip and uopen
// (CMD.bash, _CMD for zsh, CMD.fish); it has no Go code, only these tests.
//
// The tests complete command lines with each shell's own machinery on the
// scripts as they are installed: bash through bash-completion's functions
// with COMP_WORDS set as readline sets them, fish through complete -C, and
// zsh through an interactive shell on a pseudo terminal that is sent TAB.
// The shells run with a PATH of a few stub commands (so that command-name
// completion has a known answer) and the tools the scripts use.
package completions

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A case is a command line completed at its end, and the matches wanted.
type tcase struct {
	line string
	want []string
	// args, if set, is what the stub noip must have been run with (the
	// options given before "ls", passed on to list the endpoints).
	args string
}

// listing is what the stub noip prints for "ls -a": the columns of noip ls.
const listing = `ENDPOINT        PROTO  STATE      PID  PROGRAM
127.0.0.1:8000  tcp    listening  12   python3
[::1]:8000      tcp    stale      -    -
127.0.0.1:53    udp    bound      13   dnsmasq
`

var files = []string{"a.conf", "d"} // in the working directory; d is a directory

var noipCases = []tcase{
	{line: "noip --so", want: []string{"--socketdir"}},
	{line: "noip --re", want: []string{"--realbind", "--realconnect"}},
	{line: "noip --config ", want: files},
	{line: "noip --config=", want: files},
	{line: "noip --socketdir ", want: []string{"d"}},
	{line: "noip --autoports ", want: nil},
	// The first word is a subcommand or a command; after "--", a command.
	{line: "noip ch", want: []string{"check", "checkmate"}},
	{line: "noip -- ch", want: []string{"checkmate"}},
	{line: "noip --debug --config x ch", want: []string{"check", "checkmate"}},
	{line: "noip check ", want: files},
	{line: "noip explain ", want: []string{"bind", "connect"}},
	{line: "noip explain c", want: []string{"connect"}},
	{line: "noip ls -", want: []string{"--json", "--path", "-a", "-l", "-t", "-u"}},
	{line: "noip ls --path ", want: []string{"127.0.0.1:8000", "[::1]:8000", "udp/127.0.0.1:53"}, args: "ls -a"},
	{line: "noip --socketdir /x ls --path 127", want: []string{"127.0.0.1:8000"}, args: "--socketdir /x ls -a"},
	{line: "noip gc ", want: nil},
	// COMMAND's arguments are completed by COMMAND's completion.
	{line: "noip mytool --x", want: []string{"--xab", "--xyz"}},
	{line: "noip --config=/dev/null mytool --x", want: []string{"--xab", "--xyz"}},
	{line: "noip --realconnect +127.0.0.1:22 mytool --x", want: []string{"--xab", "--xyz"}},
	{line: "noip -- mytool --x", want: []string{"--xab", "--xyz"}},
	{line: "noip mytool ls --x", want: []string{"--xab", "--xyz"}},
}

var uopenCases = []tcase{
	{line: "uopen --d", want: []string{"--debug"}},
	{line: "uopen --v", want: []string{"--version"}},
	{line: "uopen ch", want: []string{"checkmate"}},
	{line: "uopen -- ch", want: []string{"checkmate"}},
	{line: "uopen mytool --x", want: []string{"--xab", "--xyz"}},
	{line: "uopen --debug -- mytool --x", want: []string{"--xab", "--xyz"}},
}

// fixture is the directory the shells run in.
type fixture struct {
	dir  string // the working directory, with files
	path string // PATH: stub commands, then the tools the scripts need
	home string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	tmp := t.TempDir()
	f := &fixture{dir: filepath.Join(tmp, "cwd"), home: filepath.Join(tmp, "home")}
	stubs, tools := filepath.Join(tmp, "stubs"), filepath.Join(tmp, "tools")
	for _, d := range []string{f.dir, filepath.Join(f.dir, "d"), f.home, stubs, tools} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(f.dir, "a.conf"), "", 0o644)
	// The stub noip records its arguments in $STUB_ARGS and prints a
	// listing, with shell builtins only.
	write(t, filepath.Join(stubs, "noip"), "#!/bin/sh\nprintf '%s\\n' \"$*\" >\"$STUB_ARGS\"\nprintf '%s' '"+listing+"'\n", 0o755)
	write(t, filepath.Join(stubs, "checkmate"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(stubs, "mytool"), "#!/bin/sh\n", 0o755)
	// awk: the scripts parse noip ls with it; zsh: the zsh harness runs
	// an interactive one.
	for _, tool := range []string{"awk", "zsh"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s is needed: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(tools, tool)); err != nil {
			t.Fatal(err)
		}
	}
	f.path = stubs + ":" + tools
	return f
}

func write(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

// shell completes a line with one shell, returning the matches offered.
type shell struct {
	name     string
	script   func(cmd string) string // the completion script of cmd
	complete func(t *testing.T, f *fixture, script, line, argsFile string) []string
}

var shells = []shell{
	{"bash", func(c string) string { return c + ".bash" }, bashComplete},
	{"fish", func(c string) string { return c + ".fish" }, fishComplete},
	{"zsh", func(c string) string { return "_" + c }, zshComplete},
}

func TestCompletions(t *testing.T) {
	f := newFixture(t)
	for _, sh := range shells {
		for _, cmd := range []string{"noip", "uopen"} {
			cases := map[string][]tcase{"noip": noipCases, "uopen": uopenCases}[cmd]
			script, err := filepath.Abs(sh.script(cmd))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				t.Run(sh.name+"/"+c.line, func(t *testing.T) {
					t.Parallel()
					argsFile := filepath.Join(t.TempDir(), "args")
					got := sh.complete(t, f, script, c.line, argsFile)
					if !slices.Equal(got, c.want) {
						t.Errorf("completing %q: got %q, want %q", c.line, got, c.want)
					}
					if c.args != "" {
						data, err := os.ReadFile(argsFile)
						if err != nil || strings.TrimSpace(string(data)) != c.args {
							t.Errorf("completing %q ran noip with %q (%v), want %q", c.line, data, err, c.args)
						}
					}
				})
			}
		}
	}
}

// TestBashColons checks that an endpoint typed up to its port completes to
// the port alone: bash's readline replaces only the text after the last
// ':', since ':' separates words for it.
func TestBashColons(t *testing.T) {
	f := newFixture(t)
	script, _ := filepath.Abs("noip.bash")
	got := bashComplete(t, f, script, "noip ls --path 127.0.0.1:", filepath.Join(t.TempDir(), "args"))
	if want := []string{"8000"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestEveryCommand checks that each command of the project has a
// completion for each shell: the Makefile installs them for every command.
func TestEveryCommand(t *testing.T) {
	dirs, err := filepath.Glob("../cmd/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no commands in ../cmd: %v", err)
	}
	for _, d := range dirs {
		cmd := filepath.Base(d)
		for _, sh := range shells {
			if _, err := os.Stat(sh.script(cmd)); err != nil {
				t.Errorf("%s has no %s completion: %v", cmd, sh.name, err)
			}
		}
	}
}

func (f *fixture) run(t *testing.T, argsFile, name string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed (test.sh installs it): %v", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = f.dir
	cmd.Env = []string{"PATH=" + f.path, "HOME=" + f.home, "STUB_ARGS=" + argsFile, "TERM=dumb", "LC_ALL=C.UTF-8"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, stderr.String())
	}
	if testing.Verbose() && stderr.Len() > 0 {
		t.Logf("%s stderr:\n%s", name, stderr.String())
	}
	return string(out)
}

func bashComplete(t *testing.T, f *fixture, script, line, argsFile string) []string {
	cmd := strings.Fields(line)[0]
	args := append([]string{"testdata/complete.bash", script, "_" + cmd, line}, compWords(line)...)
	args[0], _ = filepath.Abs(args[0])
	return matches(f.run(t, argsFile, "bash", args...))
}

// compWords splits a command line as readline does for COMP_WORDS, with
// bash's default COMP_WORDBREAKS as far as the cases use it: blanks end
// words, and each run of '=' or ':' is a word of its own. A line ending in
// a blank has an empty word last.
func compWords(line string) []string {
	var words []string
	for _, field := range strings.Fields(line) {
		start := 0
		for i := 1; i <= len(field); i++ {
			if i == len(field) || isBreak(field[i]) != isBreak(field[i-1]) {
				words = append(words, field[start:i])
				start = i
			}
		}
	}
	if strings.HasSuffix(line, " ") {
		words = append(words, "")
	}
	return words
}

func isBreak(b byte) bool { return b == '=' || b == ':' }

func fishComplete(t *testing.T, f *fixture, script, line, argsFile string) []string {
	harness, _ := filepath.Abs("testdata/complete.fish")
	out := f.run(t, argsFile, "fish", "--no-config", harness, script, line)
	// Each line is MATCH, a tab and a description; fish repeats the text
	// of an option before '=' and marks directories with '/'.
	prefix := ""
	if last := line[strings.LastIndexByte(line, ' ')+1:]; strings.Contains(last, "=") {
		prefix = last[:strings.IndexByte(last, '=')+1]
	}
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		l, _, _ = strings.Cut(l, "\t")
		b.WriteString(strings.TrimSuffix(strings.TrimPrefix(l, prefix), "/") + "\n")
	}
	return matches(b.String())
}

func zshComplete(t *testing.T, f *fixture, script, line, argsFile string) []string {
	harness, _ := filepath.Abs("testdata/complete.zsh")
	out := filepath.Join(t.TempDir(), "matches")
	f.run(t, argsFile, "zsh", "-f", harness, filepath.Dir(script), out, line)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "__END__\n", "", 1)
	return matches(text)
}

// matches returns the distinct non-empty lines of out, sorted.
func matches(out string) []string {
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !slices.Contains(got, l) {
			got = append(got, l)
		}
	}
	slices.Sort(got)
	return got
}

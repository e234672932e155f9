package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// terminal is an interactive bash in a tmux pseudo-terminal, driven by
// keystrokes as a user would.
type terminal struct {
	t    *testing.T
	sock string
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is needed for terminal tests (.ci/run installs it): %v", err)
	}
	// Not t.TempDir: processes of the killed session may still be exiting
	// when it would be removed.
	dir, err := os.MkdirTemp("", "noip-term-")
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, sock: filepath.Join(dir, "tmux.sock")}
	shell := fmt.Sprintf("env -i PATH=%s:/usr/local/bin:/usr/bin:/bin HOME=%s TMPDIR=%s USER=tester TERM=xterm PS1='PROMPT> ' bash --norc --noprofile -i",
		binDir, dir, tmp)
	term.run("new-session", "-d", "-x", "160", "-y", "50", shell)
	t.Cleanup(func() {
		term.run("kill-server")
		for i := 0; i < 50 && os.RemoveAll(dir) != nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	})
	term.waitFor(`PROMPT>\s*$`)
	return term
}

func (term *terminal) run(args ...string) string {
	out, err := exec.Command("tmux", append([]string{"-S", term.sock}, args...)...).CombinedOutput()
	if err != nil && args[0] != "kill-server" {
		term.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// typeLine types a command and Enter.
func (term *terminal) typeLine(s string) { term.run("send-keys", "-t", "0", s, "Enter") }

// key sends one key, such as C-z.
func (term *terminal) key(k string) { term.run("send-keys", "-t", "0", k) }

func (term *terminal) screen() string {
	return strings.TrimRight(term.run("capture-pane", "-p", "-t", "0", "-S", "-200"), "\n")
}

// waitFor waits up to 20s for the screen to match expr, and returns the
// submatches of the last match.
func (term *terminal) waitFor(expr string) []string {
	term.t.Helper()
	re := regexp.MustCompile("(?m)" + expr)
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := term.screen()
		if all := re.FindAllStringSubmatch(s, -1); all != nil {
			return all[len(all)-1]
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("screen never matched %q; it shows:\n%s", expr, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (term *terminal) lastTick() string {
	m := regexp.MustCompile(`(?m)^tick (\d+)$`).FindAllStringSubmatch(term.screen(), -1)
	if m == nil {
		return ""
	}
	return m[len(m)-1][1]
}

// TestJobControl runs a noip'd program under a real interactive shell in a
// pseudo-terminal: Ctrl-Z stops it and the shell says so, fg continues it,
// Ctrl-C ends it, and the shell sees the status it would without noip.
func TestJobControl(t *testing.T) {
	term := newTerminal(t)
	term.typeLine(`noip sh -c 'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.1; done'`)
	term.waitFor(`^tick 3$`)

	term.key("C-z")
	term.waitFor(`Stopped\s+noip sh -c`)
	term.waitFor(`PROMPT>\s*$`)
	stopped := term.lastTick()
	time.Sleep(500 * time.Millisecond)
	if now := term.lastTick(); now != stopped {
		t.Fatalf("ticks went on while stopped: %s then %s", stopped, now)
	}
	term.typeLine("jobs")
	term.waitFor(`\[1\]\+\s+Stopped\s+noip sh -c`)

	// bg: it runs again, in the background.
	var n int
	fmt.Sscan(stopped, &n)
	term.typeLine("bg")
	term.waitFor(`\[1\]\+ noip sh -c .* &`)
	term.waitFor(fmt.Sprintf(`^tick %d$`, n+3))
	term.typeLine("jobs")
	term.waitFor(`\[1\]\+\s+Running\s+noip sh -c`)

	// fg: back in the foreground, where Ctrl-C reaches it.
	term.typeLine("fg")
	fmt.Sscan(term.lastTick(), &n)
	term.waitFor(fmt.Sprintf(`^tick %d$`, n+3))

	term.key("C-c")
	term.waitFor(`PROMPT>\s*$`)
	term.typeLine("echo status=$?")
	term.waitFor(`^status=130$`)
}

// TestTerminalServer: Ctrl-C in the terminal ends a noip'd python web
// server blocked in accept at once, and it is interrupted only once; an
// interactive program under noip reads the terminal.
func TestTerminalServer(t *testing.T) {
	term := newTerminal(t)
	term.typeLine(`noip python3 -m http.server 18100 --bind 127.0.0.1`)
	term.waitFor(`Serving HTTP on 127\.0\.0\.1 port 18100`)
	term.key("C-c")
	term.waitFor(`Keyboard interrupt received, exiting\.`)
	term.waitFor(`PROMPT>\s*$`)
	term.typeLine("echo status=$?")
	term.waitFor(`^status=0$`)
	if s := term.screen(); strings.Count(s, "Keyboard interrupt received") != 1 || strings.Contains(s, "Traceback") {
		t.Errorf("the server saw Ctrl-C more than once:\n%s", s)
	}

	term.typeLine(`noip python3 -c 'print("hello", input("name? "))'`)
	term.waitFor(`name\?\s*$`)
	term.typeLine("terminal")
	term.waitFor(`^hello terminal$`)

	// A window resize reaches the program.
	term.typeLine(`noip python3 -c 'import os, signal; signal.signal(signal.SIGWINCH, lambda s, f: print("size", *os.get_terminal_size())); print("ready", flush=True); signal.pause()'`)
	term.waitFor(`^ready$`)
	term.run("resize-window", "-t", "0", "-x", "100", "-y", "30")
	term.waitFor(`^size 100 30$`)
}

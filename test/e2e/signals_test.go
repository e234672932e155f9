package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalStorm runs testdata/signals/sigstorm.c: a server and a client
// exchanging numbered TCP connections or UDP datagrams while each takes
// SIGALRM at 1 kHz, with handlers installed with SA_RESTART and without.
// The signals interrupt blocking accept, connect, recv and send, under
// noip while the supervisor holds them. Plainly and under noip, every
// number must arrive exactly once and be answered, with no errors and,
// with SA_RESTART, no EINTR. Without SA_RESTART, EINTR is what the
// program asked for; it must be seen somewhere, or the signals never hit.
func TestSignalStorm(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatal("the signal storm needs gcc")
	}
	// Under binDir, which the unprivileged user can reach.
	dir, err := os.MkdirTemp(binDir, "signals-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	prog := filepath.Join(dir, "sigstorm")
	if out, err := exec.Command(gcc, "-O1", "-Wall", "-pthread", "-o", prog, "testdata/signals/sigstorm.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	home := filepath.Join(dir, "home")
	os.Mkdir(home, 0o700)
	uid := os.Getuid()
	if os.Geteuid() == 0 {
		uid = 65534
		os.Chown(home, uid, uid)
	}
	const n = 2000
	// Below the kernel's ephemeral range, so that no client's port
	// (thousands here, many in TIME_WAIT) is in a server's way.
	port := 20000 + rand.IntN(10000)
	for _, mode := range []string{"restart", "norestart"} {
		for _, proto := range []string{"tcp", "udp"} {
			for _, under := range []bool{false, true} {
				name := mode + "_" + proto + "_plain"
				if under {
					name = mode + "_" + proto + "_noip"
				}
				port++
				t.Run(name, func(t *testing.T) {
					out := runStorm(t, home, uid, under, prog, mode, proto, strconv.Itoa(port), strconv.Itoa(n))
					stats := stormStats(t, out)
					for side, want := range map[string]string{"server": "missing", "client": "acked"} {
						if stats[side] == nil {
							t.Fatalf("no %s line", side)
						}
						if side == "client" && proto == "udp" {
							want = "echoed"
						}
						if want == "missing" && stats[side][want] != 0 {
							t.Errorf("%s: %d of %d never arrived", side, stats[side][want], n)
						}
						if want != "missing" && stats[side][want] != n {
							t.Errorf("%s: %s %d of %d", side, want, stats[side][want], n)
						}
						for _, k := range []string{"duplicated", "errors", "lost"} {
							if stats[side][k] != 0 {
								t.Errorf("%s: %s %d", side, k, stats[side][k])
							}
						}
						if stats[side]["signals"] < n/10 {
							t.Errorf("%s: only %d signals", side, stats[side]["signals"])
						}
					}
					eintr := stats["server"]["eintr"] + stats["client"]["eintr"]
					if mode == "restart" && eintr != 0 {
						t.Errorf("EINTR %d times despite SA_RESTART", eintr)
					}
					// A connect interrupted before the supervisor took it
					// has not begun (docs/design.md); TCP's always has.
					if !under && stats["client"]["unbegun"] != 0 {
						t.Errorf("a plain connect was interrupted before it began")
					}
					if mode == "norestart" && eintr == 0 {
						t.Errorf("no call was interrupted: the storm missed")
					}
				})
			}
		}
	}

	// The Go side: blocking system calls on locked threads and the net
	// package, with the runtime's SA_RESTART handlers.
	for _, under := range []bool{false, true} {
		port += 8
		t.Run(fmt.Sprintf("go_under_noip_%v", under), func(t *testing.T) {
			out := runStorm(t, home, uid, under, filepath.Join(binDir, "nettool"), "storm", strconv.Itoa(port), strconv.Itoa(n))
			for _, want := range []string{"raw tcp acked 2000 missing 0 duplicated 0 errors 0", "raw udp echoed 2000 missing 0 duplicated 0 errors 0", "net tcp acked 2000 missing 0 duplicated 0 errors 0", " eintr 0"} {
				if !strings.Contains(out, want) {
					t.Errorf("want %q in:\n%s", want, out)
				}
			}
		})
	}

	// A signal sent to a process whose only thread that can take it is
	// held in a call (the others block it).
	for _, under := range []bool{false, true} {
		port++
		t.Run(fmt.Sprintf("thread_under_noip_%v", under), func(t *testing.T) {
			out := runStorm(t, home, uid, under, prog, "thread", strconv.Itoa(port))
			if !strings.Contains(out, "accept -1 Interrupted system call") || !strings.Contains(out, "signals 1") {
				t.Errorf("the blocked accept was not interrupted by the process's signal:\n%s", out)
			}
		})
	}
}

// runStorm runs sigstorm with args, as uid, under noip or not, and
// returns its output.
func runStorm(t *testing.T, home string, uid int, under bool, argv ...string) string {
	if under {
		argv = append([]string{filepath.Join(binDir, "noip")}, argv...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = home
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "USER=nobody", "LOGNAME=nobody", "XDG_RUNTIME_DIR=" + home}
	if uid != os.Getuid() {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("%s\n%s", out, stderr.String())
	if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return string(out)
}

var statRE = regexp.MustCompile(`([a-z]+) (\d+)`)

// stormStats reads sigstorm's two result lines ("server accepted 2000
// missing 0 ..."), by side and then name.
func stormStats(t *testing.T, out string) map[string]map[string]int {
	m := map[string]map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		side, rest, _ := strings.Cut(line, " ")
		if side != "server" && side != "client" {
			t.Errorf("unexpected line %q", line)
			continue
		}
		m[side] = map[string]int{}
		for _, kv := range statRE.FindAllStringSubmatch(rest, -1) {
			v, _ := strconv.Atoi(kv[2])
			m[side][kv[1]] = v
		}
	}
	if len(m) != 2 {
		t.Errorf("want a server and a client line, got:\n%s", out)
	}
	return m
}

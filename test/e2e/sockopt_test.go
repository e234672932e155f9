package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestSockoptDiff runs testdata/sockopt/sockopt.c, a table of getsockopt
// and setsockopt probes on TCP and UDP sockets in every state, plainly and
// under noip, and wants the same answers (SPEC §3, "Answers match a real
// socket"). A probe may answer differently only if an entry of
// testdata/sockopt/allowed.txt matches it; an entry that matches no
// difference is stale, and fails the test too.
//
// With SOCKOPT_OUT=DIR, the two outputs are left in DIR as plain.txt and
// noip.txt.
func TestSockoptDiff(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc is missing")
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "sockopt")
	if out, err := exec.Command(gcc, "-O1", "-Wall", "-Werror", "-o", prog, "testdata/sockopt/sockopt.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	allowed, err := readSockoptAllowed("testdata/sockopt/allowed.txt")
	if err != nil {
		t.Fatal(err)
	}

	home := filepath.Join(dir, "home")
	tmp := filepath.Join(dir, "tmp")
	for _, d := range []string{home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "USER=tester", "HOME=" + home, "TMPDIR=" + tmp}
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = env
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr.Bytes())
		}
		return out
	}
	flushTCPMetrics(t)
	plain := run(prog)
	// The table masks what varies between runs; a second plain run
	// checks that it masks enough.
	if again := run(prog); !bytes.Equal(plain, again) {
		a, b := probes(plain), probes(again)
		var d []string
		for _, k := range a.keys {
			if a.val[k] != b.val[k] {
				d = append(d, fmt.Sprintf("%s\n  first:  %s\n  second: %s", k, a.val[k], b.val[k]))
			}
		}
		t.Fatalf("two plain runs differ (sockopt.c must mask what varies):\n%s", strings.Join(d, "\n"))
	}
	underNoip := run(filepath.Join(binDir, "noip"), prog)
	if out := os.Getenv("SOCKOPT_OUT"); out != "" {
		os.WriteFile(filepath.Join(out, "plain.txt"), plain, 0o644)
		os.WriteFile(filepath.Join(out, "noip.txt"), underNoip, 0o644)
	}

	want, got := probes(plain), probes(underNoip)
	if len(want.keys) < 1000 {
		t.Fatalf("the plain run printed only %d probes", len(want.keys))
	}
	type diff struct{ key, real, plastic string }
	var diffs []diff
	for _, k := range want.keys {
		p, ok := got.val[k]
		if !ok {
			p = "(missing)"
		}
		if p != want.val[k] {
			diffs = append(diffs, diff{k, want.val[k], p})
		}
	}
	for _, k := range got.keys {
		if _, ok := want.val[k]; !ok {
			diffs = append(diffs, diff{k, "(missing)", got.val[k]})
		}
	}

	var bad []diff
	for _, d := range diffs {
		ok := false
		for _, a := range allowed {
			if a.re.MatchString(d.key) {
				a.used++
				ok = true
			}
		}
		if !ok {
			bad = append(bad, d)
		}
	}
	for _, a := range allowed {
		if a.used == 0 && !a.timing {
			t.Errorf("allowed.txt:%d: stale entry %q (%s): it matches no difference", a.line, a.re, a.reason)
		}
	}
	if len(bad) == 0 {
		return
	}
	// A summary by option and operation, then the differences themselves.
	groups := map[string]int{}
	for _, d := range bad {
		groups[group(d.key)]++
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d probes answer differently under noip, by option and operation:\n", len(bad), len(want.keys))
	for _, g := range names {
		fmt.Fprintf(&b, "  %4d  %s\n", groups[g], g)
	}
	const show = 150
	fmt.Fprintf(&b, "the first %d:\n", min(show, len(bad)))
	for _, d := range bad[:min(show, len(bad))] {
		fmt.Fprintf(&b, "%s\n  real:    %s\n  plastic: %s\n", d.key, d.real, d.plastic)
	}
	t.Error(b.String())
}

// probeSet is the output of sockopt.c: each probe's key (the text before
// " -> ") in order, and its answer.
type probeSet struct {
	keys []string
	val  map[string]string
}

func probes(out []byte) probeSet {
	p := probeSet{val: map[string]string{}}
	s := bufio.NewScanner(bytes.NewReader(out))
	for s.Scan() {
		k, v, _ := strings.Cut(s.Text(), " -> ")
		if _, dup := p.val[k]; !dup {
			p.keys = append(p.keys, k)
		}
		p.val[k] = v
	}
	return p
}

// group names a probe without its state and family:
// "IPPROTO_TCP TCP_MAXSEG get".
func group(key string) string {
	f := strings.Fields(key)
	if len(f) < 5 {
		return key
	}
	op, _, _ := strings.Cut(f[4], "(")
	return f[2] + " " + f[3] + " " + op
}

type allowance struct {
	re     *regexp.Regexp
	reason string
	line   int
	used   int
	timing bool // the plain value depends on timing: may go unused
}

// readSockoptAllowed reads allowed.txt: "REGEXP :: REASON" lines, where REGEXP
// is matched against a probe's key; # starts a comment line.
func readSockoptAllowed(name string) ([]*allowance, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var as []*allowance
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// "? REGEXP :: REASON": the plain value depends on timing (it may
		// match the plastic one or not), so the entry may go unused.
		timing := false
		if rest, ok := strings.CutPrefix(line, "? "); ok {
			line, timing = rest, true
		}
		pat, reason, ok := strings.Cut(line, " :: ")
		if !ok || strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: want REGEXP :: REASON", name, i+1)
		}
		re, err := regexp.Compile(strings.TrimSpace(pat))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, i+1, err)
		}
		as = append(as, &allowance{re: re, reason: strings.TrimSpace(reason), line: i + 1, timing: timing})
	}
	return as, nil
}

// flushTCPMetrics forgets what the kernel learnt of earlier connections
// to each address (cwnd, ssthresh, reordering: ip tcp_metrics), which the
// next connection to it starts from. Thousands of loopback connections
// from the tests before would otherwise show in a plain connection's
// TCP_INFO and SO_SNDBUF, where a plastic one reports a fresh
// connection's. Needs root; without it, the plain run keeps them.
func flushTCPMetrics(t *testing.T) {
	if os.Geteuid() != 0 {
		return
	}
	if out, err := exec.Command("ip", "tcp_metrics", "flush", "all").CombinedOutput(); err != nil {
		t.Logf("ip tcp_metrics flush all: %v %s", err, out)
	}
}

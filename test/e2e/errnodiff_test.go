package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// TestErrnoDiff runs testdata/errnodiff/cases.c, a C program making
// hundreds of socket calls that should fail (and a few that should not),
// three ways: plain, under noip (plastic sockets), and under noip with
// real sockets for everything (--realbind +any --realconnect +any). Every
// case prints one line; under noip each line must be the one the plain
// run printed, since noip promises the error numbers of the real network
// stack. A difference is allowed only if testdata/errnodiff/allowed.txt
// lists it, and an allowed line that no difference needs is an error too.
func TestErrnoDiff(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "cases")
	if out, err := exec.Command(gcc, "-O1", "-Wall", "-o", prog, "testdata/errnodiff/cases.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	allowed, err := readAllowed("testdata/errnodiff/allowed.txt")
	if err != nil {
		t.Fatal(err)
	}

	// Each run has its own ports, below the kernel's ephemeral range, so
	// that nothing one run leaves behind is in the way of the next.
	base := 20000 + rand.IntN(4000)
	noip := filepath.Join(binDir, "noip")
	flushTCPMetrics(t)
	plain := runCases(t, dir, "plain", 0, base, 0, prog)
	if _, ok := plain.lines["END"]; plain.err != nil || !ok {
		t.Fatalf("plain run: %v, ran to its end: %v\n%s", plain.err, ok, plain.stderr)
	}
	if len(plain.order) < 300 {
		t.Fatalf("plain run printed %d cases, want 300 or more", len(plain.order))
	}
	runs := []*caseRun{
		runNoip(t, dir, "plastic", base+3000, plain, noip, prog),
		runNoip(t, dir, "real", base+6000, plain, noip, "--realbind", "+any", "--realconnect", "+any", prog),
	}

	var unlisted []caseDiff
	used := make([]bool, len(allowed))
	for _, r := range runs {
		for _, c := range r.crashes {
			t.Errorf("%s run: noip's supervisor died in case %s; the rest ran again from the next case:\n%s", r.mode, c.name, c.stderr)
		}
		if r.err != nil {
			t.Errorf("%s run: %v\n%s", r.mode, r.err, tail(r.stderr, 2000))
		}
		for _, d := range diffRuns(plain, r) {
			ok := false
			for i, a := range allowed {
				if (a.mode == d.mode || a.mode == "both") && a.re.MatchString(d.name) {
					used[i] = true
					ok = true
				}
			}
			if !ok {
				unlisted = append(unlisted, d)
			}
		}
	}
	if len(unlisted) > 0 {
		var b bytes.Buffer
		counts := map[string]int{}
		for _, d := range unlisted {
			counts[d.mode]++
		}
		fmt.Fprintf(&b, "%d differences from the plain run not in allowed.txt (plastic %d, real %d):\n",
			len(unlisted), counts["plastic"], counts["real"])
		w := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
		fmt.Fprintln(w, "mode\tcase\tplain\tnoip")
		for _, d := range unlisted {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", d.mode, d.name, d.plain, d.noip)
		}
		w.Flush()
		t.Error(b.String())
	}
	for i, a := range allowed {
		if !used[i] && !a.kernelDependent {
			t.Errorf("allowed.txt:%d: %s %s matches no difference (stale)", a.line, a.mode, a.re)
		}
	}
}

type caseRun struct {
	mode    string
	order   []string          // case names, in the order printed
	lines   map[string]string // case name -> the rest of its line
	stderr  []byte
	err     error // the run failed: exit status, crash, timeout, duplicate case
	crashes []caseCrash
}

// caseCrash is a case during which noip's supervisor died, with the head
// of noip's stderr (the panic).
type caseCrash struct {
	name   string
	stderr string
}

// runNoip runs the cases under noip (argv). When the supervisor dies, the
// program's calls fail with ENOSYS from then on: the first case whose line
// has ENOSYS (which no plain case has) is where it died. That case is kept
// as printed, what came after it is dropped, and the program runs again
// from the next case, so that one crash does not hide every later case.
func runNoip(t *testing.T, dir, mode string, base int, plain *caseRun, argv ...string) *caseRun {
	t.Helper()
	index := map[string]int{}
	for i, name := range plain.order {
		index[name] = i
	}
	r := &caseRun{mode: mode, lines: map[string]string{}}
	from := 0
	for attempt := 0; ; attempt++ {
		one := runCases(t, dir, mode, attempt, base, from, argv...)
		_, complete := one.lines["END"]
		crash := -1
		if (one.err != nil || !complete) && attempt < 50 {
			for i := from; i < len(plain.order); i++ {
				if strings.Contains(one.lines[plain.order[i]], "ENOSYS") {
					crash = i
					break
				}
			}
		}
		for _, name := range one.order {
			if i, ok := index[name]; ok && crash >= 0 && i > crash {
				continue
			}
			if _, dup := r.lines[name]; !dup {
				r.order = append(r.order, name)
			}
			r.lines[name] = one.lines[name]
		}
		r.stderr = append(r.stderr, one.stderr...)
		if crash < 0 {
			r.err = one.err
			return r
		}
		r.crashes = append(r.crashes, caseCrash{plain.order[crash], head(one.stderr, 12)})
		from = crash + 1
	}
}

type caseDiff struct {
	mode, name, plain, noip string
}

// runCases runs argv (the cases program, maybe under noip) with a private
// HOME and TMPDIR, so that noip reads no configuration and its socket
// directory is fresh, and with PORTBASE set to base.
func runCases(t *testing.T, dir, mode string, attempt, base, from int, argv ...string) *caseRun {
	t.Helper()
	home := filepath.Join(dir, fmt.Sprintf("%s%d-home", mode, attempt))
	tmp := filepath.Join(dir, fmt.Sprintf("%s%d-tmp", mode, attempt))
	for _, d := range []string{home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "USER", "HOME", "TMPDIR", "PORTBASE", "CASEFROM":
			continue
		}
		if strings.HasPrefix(k, "NOIP_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "USER=tester", "HOME="+home, "TMPDIR="+tmp,
		"PORTBASE="+strconv.Itoa(base), "CASEFROM="+strconv.Itoa(from))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s run from case %d: %v, %d bytes of output, %v", mode, from, time.Since(start).Round(time.Millisecond), stdout.Len(), err)

	r := &caseRun{mode: mode, lines: map[string]string{}, stderr: stderr.Bytes(), err: err}
	if ctx.Err() != nil {
		r.err = fmt.Errorf("timed out: %v", err)
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, rest, _ := strings.Cut(sc.Text(), " ")
		if name == "" {
			continue
		}
		if _, dup := r.lines[name]; dup {
			if r.err == nil {
				r.err = fmt.Errorf("case %s printed twice", name)
			}
			continue
		}
		r.order = append(r.order, name)
		r.lines[name] = rest
	}
	return r
}

// diffRuns lists the cases whose lines differ between the plain run p and
// r, in p's order, then the cases only r printed.
func diffRuns(p, r *caseRun) []caseDiff {
	var ds []caseDiff
	for _, name := range p.order {
		got, ok := r.lines[name]
		if !ok {
			got = "(missing)"
		}
		if want := p.lines[name]; got != want {
			ds = append(ds, caseDiff{r.mode, name, want, got})
		}
	}
	for _, name := range r.order {
		if _, ok := p.lines[name]; !ok {
			ds = append(ds, caseDiff{r.mode, name, "(missing)", r.lines[name]})
		}
	}
	return ds
}

type allowedDiff struct {
	mode string // plastic, real or both
	re   *regexp.Regexp
	line int
	// kernelDependent (MODE written with a "?"): the plain run's answer
	// differs between kernel builds, so the line may match nothing.
	kernelDependent bool
}

// readAllowed parses allowed.txt: lines "MODE CASE-REGEXP :: reason",
// where the regexp must match the whole case name; # starts a comment.
func readAllowed(path string) ([]allowedDiff, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var as []allowedDiff
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		spec, reason, ok := strings.Cut(l, "::")
		f := strings.Fields(spec)
		var optional bool
		if len(f) > 0 {
			f[0], optional = strings.CutSuffix(f[0], "?")
		}
		if !ok || len(f) != 2 || strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: want MODE CASE-REGEXP :: reason", path, i+1)
		}
		if f[0] != "plastic" && f[0] != "real" && f[0] != "both" {
			return nil, fmt.Errorf("%s:%d: mode %q is not plastic, real or both", path, i+1, f[0])
		}
		re, err := regexp.Compile("^(?:" + f[1] + ")$")
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		as = append(as, allowedDiff{f[0], re, i + 1, optional})
	}
	return as, nil
}

// head returns the first n lines of b.
func head(b []byte, n int) string {
	ls := strings.SplitAfterN(string(b), "\n", n+1)
	if len(ls) > n {
		ls = ls[:n]
	}
	return strings.Join(ls, "")
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

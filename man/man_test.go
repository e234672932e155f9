// Package man holds the manual pages of noip, hand-written roff: noip.1,
// uopen.1 and noip.conf.5. It has no Go code, only these tests: the pages
// render without a warning from groff or mandoc, and they document what
// the commands' --help lists.
package man

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func pages(t *testing.T) []string {
	t.Helper()
	var ps []string
	for _, pat := range []string{"*.1", "*.5"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, m...)
	}
	if len(ps) == 0 {
		t.Fatal("no manual pages")
	}
	return ps
}

// run runs a checker and fails the test if it fails or says anything on
// either stream: for groff -ww and mandoc -Tlint, any output is a warning.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is needed (test.sh installs it): %v", name, err)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func TestGroff(t *testing.T) {
	for _, p := range pages(t) {
		run(t, "groff", "-ww", "-z", "-man", "-Tutf8", p)
	}
}

func TestMandoc(t *testing.T) {
	for _, p := range pages(t) {
		// -Tlint reports everything down to style, which we keep clean.
		run(t, "mandoc", "-Tlint", p)
	}
}

// TestTitles checks that each page's .TH names the file: section pages are
// found by file name, and man prints the title.
func TestTitles(t *testing.T) {
	for _, p := range pages(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^\.TH (\S+) (\d)`).FindSubmatch(data)
		ext := filepath.Ext(p)
		want := strings.ToUpper(strings.TrimSuffix(p, ext))
		if m == nil || string(m[1]) != want || "."+string(m[2]) != ext {
			t.Errorf("%s: .TH %q, want %s %s", p, m, want, ext[1:])
		}
	}
}

// TestSeeAlso checks that references to the project's own pages name pages
// that exist.
func TestSeeAlso(t *testing.T) {
	own := map[string]bool{}
	for _, p := range pages(t) {
		own[strings.TrimSuffix(p, filepath.Ext(p))] = true
	}
	ref := regexp.MustCompile(`(?m)^\.BR (noip|uopen|noip\.conf) \((\d)\)`)
	for _, p := range pages(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ref.FindAllSubmatch(data, -1) {
			if _, err := os.Stat(string(m[1]) + "." + string(m[2])); err != nil {
				t.Errorf("%s refers to %s(%s), which is not a page here", p, m[1], m[2])
			}
		}
	}
}

// TestHelpDocumented checks, for every command under cmd/, that its page
// exists and names every option its --help prints (lines starting with two
// spaces and "--") and every subcommand (the lines under "Subcommands").
func TestHelpDocumented(t *testing.T) {
	cmds, err := filepath.Glob("../cmd/*")
	if err != nil || len(cmds) == 0 {
		t.Fatalf("no commands in ../cmd: %v", err)
	}
	bin := t.TempDir()
	// One go build for all of them.
	build := exec.Command("go", "build", "-o", bin+"/", "../cmd/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, dir := range cmds {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			page, err := os.ReadFile(name + ".1")
			if err != nil {
				t.Fatalf("%s has no manual page: %v", name, err)
			}
			help, err := exec.Command(filepath.Join(bin, name), "--help").Output()
			if err != nil {
				t.Fatalf("%s --help: %v", name, err)
			}
			opts, subs := parseHelp(string(help))
			if len(opts) == 0 {
				t.Fatalf("found no options in %s --help:\n%s", name, help)
			}
			for _, o := range opts {
				// In roff, a minus sign is \-.
				if !bytes.Contains(page, []byte(strings.ReplaceAll(o, "-", `\-`))) {
					t.Errorf("%s.1 does not document %s", name, o)
				}
			}
			for _, s := range subs {
				if !regexp.MustCompile(`(?m)^\.B[RI]? "?` + name + " " + s + `\b`).Match(page) {
					t.Errorf("%s.1 has no entry for the subcommand %s", name, s)
				}
			}
		})
	}
}

var optionRE = regexp.MustCompile(`--[a-z][a-z-]*`)

// parseHelp returns the options (--name) of the lines of help that start
// with two spaces and "--", and the subcommands: the first word of each
// line indented by two spaces under a line starting with "Subcommands".
func parseHelp(help string) (opts, subs []string) {
	inSubs := false
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "  --"):
			opts = append(opts, optionRE.FindAllString(l, -1)...)
		case strings.HasPrefix(l, "Subcommands"):
			inSubs = true
		case !strings.HasPrefix(l, " "):
			inSubs = false
		case inSubs && len(l) > 2 && l[2] != ' ':
			subs = append(subs, strings.Fields(l)[0])
		}
	}
	return opts, subs
}

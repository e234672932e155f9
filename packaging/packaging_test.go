// Package packaging holds what `make deb` uses besides the Makefile: the
// nfpm description of the .deb (nfpm.yaml), its DEP-5 copyright file and
// its lintian overrides. It has no Go code, only the tests of the
// Makefile's targets: the default build, install, deb and clean.
package packaging

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The maintainer the test builds the package as (through Debian's
// variables, which the Makefile prefers to the git identity).
const (
	maintName  = "noip test"
	maintEmail = "noip-test@example.org"
)

type build struct {
	root, bin, out string // the repository, BIN and BUILD
	cmds           []string
	version        string // noip --version's number
}

func (b *build) make(t *testing.T, args ...string) string {
	t.Helper()
	args = append([]string{"-C", b.root, "BIN=" + b.bin, "BUILD=" + b.out}, args...)
	cmd := exec.Command("make", args...)
	cmd.Env = append(os.Environ(), "DEBFULLNAME="+maintName, "DEBEMAIL="+maintEmail)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is needed (test.sh installs it): %v", name, err)
	}
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// TestMake runs the Makefile's targets in order, into temporary
// directories: building, installing, packaging (and checking the package
// with dpkg and lintian, and installing it into a scratch root), cleaning.
func TestMake(t *testing.T) {
	tmp := t.TempDir()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	b := &build{root: root, bin: filepath.Join(tmp, "bin"), out: filepath.Join(tmp, "build")}
	dirs, _ := filepath.Glob(filepath.Join(root, "cmd", "*"))
	for _, d := range dirs {
		b.cmds = append(b.cmds, filepath.Base(d))
	}
	if !slices.Contains(b.cmds, "noip") {
		t.Fatalf("no cmd/noip among %q", b.cmds)
	}

	b.make(t)
	for _, c := range b.cmds {
		checkStatic(t, filepath.Join(b.bin, c))
	}
	v := strings.Fields(run(t, filepath.Join(b.bin, "noip"), "--version"))
	if len(v) != 2 || v[0] != "noip" {
		t.Fatalf("noip --version says %q", v)
	}
	b.version = v[1]

	t.Run("install", func(t *testing.T) { testInstall(t, b, tmp) })
	t.Run("deb", func(t *testing.T) { testDeb(t, b, tmp) })
	t.Run("clean", func(t *testing.T) {
		b.make(t, "clean")
		for _, d := range []string{b.bin, b.out} {
			if _, err := os.Stat(d); !os.IsNotExist(err) {
				t.Errorf("make clean left %s (%v)", d, err)
			}
		}
	})
}

// checkStatic fails unless path is an ELF executable with no interpreter
// and no shared libraries.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has an interpreter: not static", path)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs %q: not static", path, libs)
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s is not stripped", path)
	}
}

// files returns the regular files under dir, relative to it, with their
// permission bits.
func files(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	got := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got["/"+rel] = info.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// layout is what installing with prefix p puts where: each command with
// its page and completions, and noip.conf(5). gz is the man pages' suffix.
func layout(b *build, p, zshDir, gz string) map[string]fs.FileMode {
	want := map[string]fs.FileMode{p + "/share/man/man5/noip.conf.5" + gz: 0o644}
	for _, c := range b.cmds {
		want[p+"/bin/"+c] = 0o755
		want[p+"/share/man/man1/"+c+".1"+gz] = 0o644
		want[p+"/share/bash-completion/completions/"+c] = 0o644
		want[p+"/share/"+zshDir+"/_"+c] = 0o644
		want[p+"/share/fish/vendor_completions.d/"+c+".fish"] = 0o644
	}
	return want
}

func diffFiles(t *testing.T, what string, got, want map[string]fs.FileMode) {
	t.Helper()
	for f, m := range want {
		if g, ok := got[f]; !ok {
			t.Errorf("%s lacks %s", what, f)
		} else if g != m {
			t.Errorf("%s: %s has mode %v, want %v", what, f, g, m)
		}
	}
	for f := range got {
		if _, ok := want[f]; !ok {
			t.Errorf("%s has %s, which it should not", what, f)
		}
	}
}

func testInstall(t *testing.T, b *build, tmp string) {
	dest := filepath.Join(tmp, "dest")
	b.make(t, "install", "DESTDIR="+dest, "PREFIX=/usr/local")
	diffFiles(t, "make install", files(t, dest), layout(b, "/usr/local", "zsh/site-functions", ""))
	for _, c := range b.cmds {
		same(t, filepath.Join(dest, "usr/local/share/man/man1", c+".1"), filepath.Join(b.root, "man", c+".1"), false)
	}
	out := run(t, filepath.Join(dest, "usr/local/bin/noip"), "--version")
	if strings.TrimSpace(out) != "noip "+b.version {
		t.Errorf("installed noip --version says %q", out)
	}
}

// same fails unless file (gunzipped first if gz) has the content of src.
func same(t *testing.T, file, src string, gz bool) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if gz {
		if r, err = gzip.NewReader(f); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s", file, src)
	}
}

func testDeb(t *testing.T, b *build, tmp string) {
	b.make(t, "deb")
	arch := strings.TrimSpace(run(t, "dpkg", "--print-architecture"))
	deb := filepath.Join(b.out, "noip_"+b.version+"_"+arch+".deb")
	if _, err := os.Stat(deb); err != nil {
		t.Fatalf("make deb made no %s: %v", filepath.Base(deb), err)
	}

	fields := run(t, "dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Maintainer")
	wantFields := "Package: noip\nVersion: " + b.version + "\nArchitecture: " + arch +
		"\nMaintainer: " + maintName + " <" + maintEmail + ">\n"
	if fields != wantFields {
		t.Errorf("control fields:\n%s\nwant:\n%s", fields, wantFields)
	}

	// The contents: make install's layout under /usr, pages gzipped, and
	// the documentation; every file root's, and nothing else.
	want := layout(b, "/usr", "zsh/vendor-completions", ".gz")
	for _, f := range []string{"README.md", "copyright", "changelog.gz"} {
		want["/usr/share/doc/noip/"+f] = 0o644
	}
	want["/usr/share/lintian/overrides/noip"] = 0o644
	got := map[string]fs.FileMode{}
	for _, l := range strings.Split(strings.TrimSpace(run(t, "dpkg-deb", "-c", deb)), "\n") {
		// -rwxr-xr-x root/root   2637986 2026-11-27 03:02 ./usr/bin/noip
		f := strings.Fields(l)
		if len(f) != 6 {
			t.Fatalf("dpkg-deb -c line %q", l)
		}
		if f[1] != "root/root" {
			t.Errorf("%s belongs to %s", f[5], f[1])
		}
		if f[0][0] == '-' {
			got[strings.TrimPrefix(f[5], ".")] = mode(f[0])
		}
	}
	diffFiles(t, "the .deb", got, want)

	t.Run("lintian", func(t *testing.T) { testLintian(t, b, deb) })
	t.Run("copyright", func(t *testing.T) { testCopyright(t, b) })
	t.Run("dpkg", func(t *testing.T) { testDpkg(t, b, deb, filepath.Join(tmp, "root")) })
}

// mode parses the permission bits of an ls-style mode string.
func mode(s string) fs.FileMode {
	var m fs.FileMode
	for i, c := range s[1:10] {
		if c != '-' {
			m |= 1 << (8 - i)
		}
	}
	return m
}

func testLintian(t *testing.T, b *build, deb string) {
	if _, err := exec.LookPath("lintian"); err != nil {
		t.Fatalf("lintian is needed (test.sh installs it): %v", err)
	}
	// No error and no warning, overrides applied.
	out, err := exec.Command("lintian", "--fail-on", "error,warning", deb).CombinedOutput()
	if err != nil {
		t.Errorf("lintian: %v\n%s", err, out)
	}
	t.Logf("lintian:\n%s", out)
	// The overrides used are exactly the ones meant: the static binaries.
	out, err = exec.Command("lintian", "--fail-on", "none", "--show-overrides", deb).CombinedOutput()
	if err != nil {
		t.Fatalf("lintian --show-overrides: %v\n%s", err, out)
	}
	var overridden, want []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "O: ") {
			overridden = append(overridden, strings.TrimPrefix(l, "O: "))
		}
	}
	for _, c := range b.cmds {
		want = append(want, "noip: statically-linked-binary [usr/bin/"+c+"]")
	}
	slices.Sort(overridden)
	slices.Sort(want)
	if !slices.Equal(overridden, want) {
		t.Errorf("lintian overrides used: %q, want %q", overridden, want)
	}
}

// testCopyright checks that the copyright file carries the project's
// LICENSE and names every Go module linked into the binaries.
func testCopyright(t *testing.T, b *build) {
	cr, err := os.ReadFile(filepath.Join(b.root, "packaging", "copyright"))
	if err != nil {
		t.Fatal(err)
	}
	lic, err := os.ReadFile(filepath.Join(b.root, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	// DEP-5 indents license text by one space and writes blank lines as " .".
	body := strings.SplitN(string(lic), "\n", 4)[3] // after "MIT License", "", "Copyright ..."
	var dep5 strings.Builder
	for _, l := range strings.Split(strings.Trim(body, "\n"), "\n") {
		if l == "" {
			l = "."
		}
		dep5.WriteString(" " + l + "\n")
	}
	if !strings.Contains(string(cr), dep5.String()) {
		t.Errorf("packaging/copyright does not carry the text of LICENSE")
	}
	for _, c := range b.cmds {
		out := run(t, "go", "version", "-m", filepath.Join(b.bin, c))
		for _, m := range regexp.MustCompile(`(?m)^\s+dep\s+(\S+)`).FindAllStringSubmatch(out, -1) {
			if !strings.Contains(string(cr), m[1]+"/*") {
				t.Errorf("%s links %s, which packaging/copyright does not cover", c, m[1])
			}
		}
	}
}

// testDpkg installs the package into a scratch root, runs what it
// installed, and removes it.
func testDpkg(t *testing.T, b *build, deb, root string) {
	admin := filepath.Join(root, "var/lib/dpkg")
	for _, d := range []string{"info", "updates"} {
		if err := os.MkdirAll(filepath.Join(admin, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(admin, "status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dpkg := func(args ...string) string {
		t.Helper()
		return run(t, "dpkg", append([]string{"--root=" + root, "--force-not-root",
			"--force-script-chrootless", "--log=/dev/null"}, args...)...)
	}
	dpkg("-i", deb)
	if st := dpkg("-s", "noip"); !strings.Contains(st, "Status: install ok installed") {
		t.Errorf("after dpkg -i:\n%s", st)
	}
	out := run(t, filepath.Join(root, "usr/bin/noip"), "--version")
	if strings.TrimSpace(out) != "noip "+b.version {
		t.Errorf("installed noip --version says %q", out)
	}
	for _, c := range b.cmds {
		same(t, filepath.Join(root, "usr/share/man/man1", c+".1.gz"), filepath.Join(b.root, "man", c+".1"), true)
	}
	same(t, filepath.Join(root, "usr/share/man/man5/noip.conf.5.gz"), filepath.Join(b.root, "man/noip.conf.5"), true)
	pages, _ := filepath.Glob(filepath.Join(root, "usr/share/man/man*/*.gz"))
	for _, p := range pages {
		cmd := exec.Command("man", "-l", p)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		title := strings.ToUpper(strings.TrimSuffix(filepath.Base(p), ".gz"))
		title = title[:strings.LastIndexByte(title, '.')]
		if err != nil || stderr.Len() > 0 || !strings.HasPrefix(string(out), title+"(") {
			t.Errorf("man -l %s: %v\n%s\n%.200s", p, err, stderr.Bytes(), out)
		}
	}

	dpkg("-r", "noip")
	if _, err := os.Stat(filepath.Join(root, "usr/bin/noip")); !os.IsNotExist(err) {
		t.Errorf("after dpkg -r, usr/bin/noip: %v", err)
	}
	// dpkg removes the directories it made, so usr may be gone too.
	if _, err := os.Stat(filepath.Join(root, "usr")); err == nil {
		if left := files(t, filepath.Join(root, "usr")); len(left) > 0 {
			t.Errorf("dpkg -r left %q", left)
		}
	}
}

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfig: each malformed configuration makes noip refuse to run
// with one line that names the file, line and column, and exit 125,
// without starting the command.
func TestBadConfig(t *testing.T) {
	tests := []struct {
		text string
		want string // after "noip: FILE:"
	}{
		{"frobnicate 1", `1:1: unknown keyword "frobnicate"`},
		{"# fine\n  RealConnect +any", `2:3: unknown keyword "RealConnect" (keywords are lower case)`},
		{"debug yes", `1:7: debug: bad level "yes" (want an integer >= 0)`},
		{"socketdir run/noip", `1:11: socketdir: directory "run/noip" is not an absolute path`},
		{"autoports 100", `1:11: autoports: bad range "100" (want MIN-MAX)`},
		{"autoports 2000-1000", `1:11: autoports: empty range 2000-1000 (MIN > MAX)`},
		{"realconnect 127.0.0.1", `1:13: realconnect: expected '+' or '-' to start an entry, found "127.0.0.1"`},
		{"\n\nrealconnect +127.0.0.1:70000", `3:24: realconnect: bad port "70000" (want 0-65535)`},
		{"realconnect +127.0.0.1:6020-6010", `1:24: realconnect: empty port range 6020-6010 (first > second)`},
		{"realconnect +any,", `1:18: realconnect: missing ACL entry after ','`},
		{"realconnect +any -local", `1:18: realconnect: expected ',' or end of line, found '-'`},
		{"realconnect +any # all of it", `1:18: realconnect: expected ',' or end of line, found '#' (comments must be on lines of their own)`},
		{"realconnect +::1", `1:14: realconnect: IPv6 address ::1 must be in brackets: [::1]`},
		{"realconnect +[::1, -any", `1:14: realconnect: missing ']'`},
		{"realconnect +localhost:22", `1:14: realconnect: unknown address "localhost" (want any, local, an IP address, ADDR-ADDR or ADDR/PREFIX)`},
		{"realconnect +127.0.0.256", `1:14: realconnect: bad IPv4 address "127.0.0.256"`},
		{"realconnect +127.0.0.5-127.0.0.1", `1:14: realconnect: empty range 127.0.0.5-127.0.0.1 (first > second)`},
		{"realbind +127.0.0.0/33", `1:21: realbind: bad prefix length "33" (want 0-32)`},
		{"impbind 127.0.0.1:80 same", `1:18: impbind: ports are not allowed in impbind rules`},
		{"impbind 10.0.0.0/8 [::1]", `1:20: impbind: target [::1] is IPv6 but the range is IPv4`},
		{"realconnect +127.0.0.1:6010-6020\nrealconnect +local:22\nbogus line\n", `3:1: unknown keyword "bogus"`},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		conf := filepath.Join(dir, "noip.conf")
		if err := os.WriteFile(conf, []byte(tt.text), 0o600); err != nil {
			t.Fatal(err)
		}
		marker := filepath.Join(dir, "ran")
		os.Remove(marker)
		cmd := exec.Command(filepath.Join(binDir, "noip"), "touch", marker)
		cmd.Env = append(os.Environ(), "NOIP_CONFIG="+conf, "TMPDIR="+dir)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 125 {
			t.Errorf("%d: config %q: noip exited with %v, want 125; it said %s", i, tt.text, err, out)
		}
		if want := "noip: " + conf + ":" + tt.want + "\n"; string(out) != want {
			t.Errorf("%d: config %q:\n got %q\nwant %q", i, tt.text, out, want)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("%d: config %q: the command ran", i, tt.text)
		}
	}

	// Options and variables are checked the same way.
	for _, tt := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--realconnect", "+127.0.0.1:99999", "true"}, "", `noip: --realconnect:1:12: bad port "99999" (want 0-65535)` + "\n"},
		{[]string{"true"}, "NOIP_REALBIND=+any,", `noip: NOIP_REALBIND:1:6: missing ACL entry after ','` + "\n"},
		{[]string{"--autoports", "9-1", "true"}, "", `noip: --autoports:1:1: empty range 9-1 (MIN > MAX)` + "\n"},
	} {
		cmd := exec.Command(filepath.Join(binDir, "noip"), tt.args...)
		cmd.Env = append(os.Environ(), "NOIP_CONFIG=/nonexistent", "TMPDIR="+dir, tt.env)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 125 || string(out) != tt.want {
			t.Errorf("noip %s (%s): %v, %q; want exit 125, %q", strings.Join(tt.args, " "), tt.env, err, out, tt.want)
		}
	}
}

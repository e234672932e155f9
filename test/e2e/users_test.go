package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// Scenarios run as real, unprivileged users, as noip's users run it: a
// victim (alice) and an attacker (mallory), made with useradd. Each gets a
// home and a per-user runtime directory (mode 0700, like logind's
// /run/user/UID) under usersRoot, which the `asuser` wrapper sets as
// HOME and XDG_RUNTIME_DIR, with USER and LOGNAME.

// usersRoot holds each script's users' directories; world-searchable,
// like /home.
const usersRoot = "/tmp/noip-e2e-users"

// asuserScript runs a command as a user, in the environment a login gives.
const asuserScript = `#!/bin/sh
# asuser NAME [VAR=VALUE...] CMD [ARG...]: run CMD as user NAME with the
# environment of a login: USER, LOGNAME, HOME and XDG_RUNTIME_DIR set, in
# the home directory.
u=$1; shift
cd "$NOIP_E2E_USERS/$u/home" || exit 1
exec setpriv --reuid="$u" --regid="$u" --clear-groups --inh-caps=-all \
	env -i PATH="$SYSPATH" USER="$u" LOGNAME="$u" HOME="$NOIP_E2E_USERS/$u/home" \
	XDG_RUNTIME_DIR="$NOIP_E2E_USERS/$u/run" LANG=C.UTF-8 "$@"
`

// cmdMkuser: mkuser NAME... makes each user (if it does not exist) and a
// fresh home and runtime directory for it, and sets $NAME_HOME, $NAME_RUN
// (upper-case NAME) and $NAME_UID.
func cmdMkuser(ts *testscript.TestScript, neg bool, args []string) {
	if os.Geteuid() != 0 {
		ts.Fatalf("mkuser needs root")
	}
	for _, u := range args {
		if exec.Command("id", "-u", u).Run() != nil {
			if out, err := exec.Command("useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", u).CombinedOutput(); err != nil {
				ts.Fatalf("useradd %s: %v\n%s", u, err, out)
			}
		}
		out, err := exec.Command("id", "-u", u).Output()
		ts.Check(err)
		uid, err := strconv.Atoi(strings.TrimSpace(string(out)))
		ts.Check(err)
		base := filepath.Join(usersDir(ts), u)
		ts.Check(os.RemoveAll(base))
		for _, d := range []string{base, filepath.Join(base, "home"), filepath.Join(base, "run")} {
			ts.Check(os.Mkdir(d, 0o700))
			ts.Check(os.Chown(d, uid, uid))
		}
		ts.Check(os.Chmod(base, 0o755))
		up := strings.ToUpper(u)
		ts.Setenv(up+"_HOME", filepath.Join(base, "home"))
		ts.Setenv(up+"_RUN", filepath.Join(base, "run"))
		ts.Setenv(up+"_UID", strconv.Itoa(uid))
	}
}

// cmdGive: give USER FILE... copies files of the script's work directory
// into the user's home, owned by the user.
func cmdGive(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: give USER FILE...")
	}
	u := args[0]
	out, err := exec.Command("id", "-u", u).Output()
	ts.Check(err)
	uid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	for _, f := range args[1:] {
		b, err := os.ReadFile(ts.MkAbs(f))
		ts.Check(err)
		dst := filepath.Join(usersDir(ts), u, "home", filepath.Base(f))
		ts.Check(os.WriteFile(dst, b, 0o755))
		ts.Check(os.Chown(dst, uid, uid))
	}
}

// usersDir is this script's directory of users' directories, made on
// first use and removed with the script.
func usersDir(ts *testscript.TestScript) string {
	if d := ts.Getenv("NOIP_E2E_USERS"); d != "" {
		return d
	}
	ts.Check(os.MkdirAll(usersRoot, 0o755))
	ts.Check(os.Chmod(usersRoot, 0o755))
	d, err := os.MkdirTemp(usersRoot, "")
	ts.Check(err)
	ts.Check(os.Chmod(d, 0o755))
	ts.Defer(func() { os.RemoveAll(d) })
	ts.Setenv("NOIP_E2E_USERS", d)
	return d
}

// writeAsuser installs the asuser wrapper next to noip.
func writeAsuser(dir string) error {
	return os.WriteFile(filepath.Join(dir, "asuser"), []byte(asuserScript), 0o755)
}

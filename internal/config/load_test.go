package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeConfig writes text to DIR/.noip and returns DIR.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".noip"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func describe(es []Entry) []string {
	var s []string
	for _, e := range es {
		s = append(s, e.String()+" @"+e.Origin.String())
	}
	return s
}

func TestLoadListOrder(t *testing.T) {
	home := writeConfig(t, "realconnect +10.0.0.1\nrealbind +10.0.1.1\nrealconnect +10.0.0.2\nimpbind 10.0.0.0/8 10.0.0.1\n")
	env := mapEnv(map[string]string{
		"HOME":                    home,
		"NOIP_REALCONNECT_BEFORE": "+1.0.0.1, +1.0.0.2",
		"NOIP_REALCONNECT":        "+2.0.0.1\n\n+2.0.0.2",
		"NOIP_REALCONNECT_AFTER":  "-any",
		"NOIP_REALBIND_AFTER":     "-[::1]",
		"NOIP_IMPBIND_BEFORE":     "any same",
		"NOIP_IMPBIND":            " ", // blank: nothing
	})
	opts := []Setting{
		{Keyword: "realconnect", Value: "+3.0.0.1", Name: "--realconnect"},
		{Keyword: "realbind", Value: "+3.0.1.1"}, // Name defaults
		{Keyword: "realconnect", Value: "+3.0.0.2", Name: "-C"},
	}
	c, err := Load(env, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(home, ".noip")
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"realconnect", describe(c.RealConnect.Entries), []string{
			"+1.0.0.1 @$NOIP_REALCONNECT_BEFORE",
			"+1.0.0.2 @$NOIP_REALCONNECT_BEFORE",
			"+10.0.0.1 @" + f + ":1",
			"+10.0.0.2 @" + f + ":3",
			"+2.0.0.1 @$NOIP_REALCONNECT",
			"+2.0.0.2 @$NOIP_REALCONNECT:3",
			"+3.0.0.1 @--realconnect",
			"+3.0.0.2 @-C",
			"-any @$NOIP_REALCONNECT_AFTER",
		}},
		{"realbind", describe(c.RealBind.Entries), []string{
			"+10.0.1.1 @" + f + ":2",
			"+3.0.1.1 @--realbind",
			"-[::1] @$NOIP_REALBIND_AFTER",
		}},
	}
	var imp []string
	for _, r := range c.ImpBind {
		imp = append(imp, r.String()+" @"+r.Origin.String())
	}
	tests = append(tests, struct {
		name      string
		got, want []string
	}{"impbind", imp, []string{"any same @$NOIP_IMPBIND_BEFORE", "10.0.0.0/8 10.0.0.1 @" + f + ":4"}})
	for _, tt := range tests {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("Load: %s =\n%s\nwant\n%s", tt.name, strings.Join(tt.got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
	if c.File != f || c.FileMissing {
		t.Errorf("Load: File, FileMissing = %q, %v, want %q, false", c.File, c.FileMissing, f)
	}
}

func TestLoadScalars(t *testing.T) {
	home := writeConfig(t, "debug 1\nsocketdir /from/file\nautoports 2000-3000\n")
	tests := []struct {
		name      string
		env       map[string]string
		opts      []Setting
		debug     int
		socketdir string
		autoports PortRange
		origins   string
	}{
		{
			name: "file", debug: 1, socketdir: "/from/file", autoports: PortRange{2000, 3000},
			origins: "F:1 F:2 F:3",
		},
		{
			name:  "env overrides file",
			env:   map[string]string{"NOIP_DEBUG": "0", "NOIP_SOCKETDIR": "/from/env", "NOIP_AUTOPORTS": "4000-5000"},
			debug: 0, socketdir: "/from/env", autoports: PortRange{4000, 5000},
			origins: "$NOIP_DEBUG $NOIP_SOCKETDIR $NOIP_AUTOPORTS",
		},
		{
			name:  "empty env does not override",
			env:   map[string]string{"NOIP_DEBUG": "", "NOIP_SOCKETDIR": "  ", "NOIP_AUTOPORTS": ""},
			debug: 1, socketdir: "/from/file", autoports: PortRange{2000, 3000},
			origins: "F:1 F:2 F:3",
		},
		{
			name: "options override env",
			env:  map[string]string{"NOIP_DEBUG": "3", "NOIP_SOCKETDIR": "/from/env"},
			opts: []Setting{
				{Keyword: "debug", Value: "", Name: "--debug"}, // bare: level 1
				{Keyword: "socketdir", Value: "/opt/one"},
				{Keyword: "socketdir", Value: "/opt/two", Name: "--socketdir"},
				{Keyword: "autoports", Value: "6000-6001"},
			},
			debug: 1, socketdir: "/opt/two", autoports: PortRange{6000, 6001},
			origins: "--debug --socketdir --autoports",
		},
	}
	for _, tt := range tests {
		env := map[string]string{"HOME": home}
		for k, v := range tt.env {
			env[k] = v
		}
		c, err := Load(mapEnv(env), tt.opts)
		if err != nil {
			t.Errorf("%s: Load: %v", tt.name, err)
			continue
		}
		origins := strings.ReplaceAll(c.DebugOrigin.String()+" "+c.SocketDirOrigin.String()+" "+c.AutoPortsOrigin.String(), filepath.Join(home, ".noip"), "F")
		if c.Debug != tt.debug || c.SocketDir != tt.socketdir || c.AutoPorts != tt.autoports || origins != tt.origins {
			t.Errorf("%s: Load = debug %d, socketdir %q, autoports %v (%s); want %d, %q, %v (%s)", tt.name,
				c.Debug, c.SocketDir, c.AutoPorts, origins, tt.debug, tt.socketdir, tt.autoports, tt.origins)
		}
	}
}

func TestLoadFindsFile(t *testing.T) {
	home := writeConfig(t, "debug 7\n")
	other := writeConfig(t, "debug 8\n")
	emptyHome := t.TempDir()
	passwd := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/sh\nu:x:4242:4242:U:"+home+":/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	oldPasswd, oldUID := passwdPath, getuid
	t.Cleanup(func() { passwdPath, getuid = oldPasswd, oldUID })
	passwdPath, getuid = passwd, func() int { return 4242 }

	tests := []struct {
		name        string
		env         map[string]string
		opts        []Setting
		wantDebug   int
		wantFile    string
		wantMissing bool
		wantErr     string
	}{
		{name: "HOME", env: map[string]string{"HOME": home}, wantDebug: 7, wantFile: home + "/.noip"},
		{name: "HOME with slash", env: map[string]string{"HOME": home + "/"}, wantDebug: 7, wantFile: home + "/.noip"},
		{name: "no ~/.noip", env: map[string]string{"HOME": emptyHome}, wantFile: emptyHome + "/.noip", wantMissing: true},
		{name: "passwd fallback", env: map[string]string{}, wantDebug: 7, wantFile: home + "/.noip"},
		{name: "NOIP_CONFIG wins", env: map[string]string{"HOME": home, "NOIP_CONFIG": other + "/.noip"}, wantDebug: 8, wantFile: other + "/.noip"},
		{
			name: "NOIP_CONFIG missing: no config",
			env:  map[string]string{"HOME": home, "NOIP_CONFIG": emptyHome + "/nope"}, wantFile: emptyHome + "/nope", wantMissing: true,
		},
		{
			name: "NOIP_CONFIG unreadable", env: map[string]string{"NOIP_CONFIG": emptyHome},
			wantErr: "reading config: read " + emptyHome + ": is a directory",
		},
		{
			name: "config option wins", env: map[string]string{"HOME": home, "NOIP_CONFIG": home + "/.noip"},
			opts: []Setting{{Keyword: "config", Value: other + "/.noip"}}, wantDebug: 8, wantFile: other + "/.noip",
		},
		{
			name: "config option must exist", env: map[string]string{"HOME": home},
			opts:    []Setting{{Keyword: "config", Value: emptyHome + "/nope"}},
			wantErr: "reading config: open " + emptyHome + "/nope: no such file or directory",
		},
		{
			name: "config option empty", opts: []Setting{{Keyword: "config"}},
			wantErr: "config: empty config file name",
		},
		{
			name: "unknown option keyword", env: map[string]string{"HOME": emptyHome},
			opts: []Setting{{Keyword: "realconect", Value: "+any"}}, wantErr: `config: unknown setting "realconect"`,
		},
	}
	for _, tt := range tests {
		c, err := Load(mapEnv(tt.env), tt.opts)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s: Load error = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Load: %v", tt.name, err)
			continue
		}
		if c.Debug != tt.wantDebug || filepath.Clean(c.File) != filepath.Clean(tt.wantFile) || c.FileMissing != tt.wantMissing {
			t.Errorf("%s: Load = debug %d, file %q, missing %v; want %d, %q, %v", tt.name,
				c.Debug, c.File, c.FileMissing, tt.wantDebug, tt.wantFile, tt.wantMissing)
		}
	}

	// No HOME and no passwd entry: no config, no error.
	getuid = func() int { return 999999 }
	c, err := Load(mapEnv(nil), nil)
	if err != nil || c.File != "" || len(c.RealConnect.Entries) != 0 {
		t.Errorf("Load without a home = %+v, %v; want an empty config", c, err)
	}
}

func TestLoadErrors(t *testing.T) {
	home := writeConfig(t, "realconnect +any\n")
	tests := []struct {
		name string
		env  map[string]string
		opts []Setting
		want string
	}{
		{"plain", map[string]string{"NOIP_REALCONNECT": "+any, +127.0.0.1:70000"}, nil,
			`NOIP_REALCONNECT:1:18: bad port "70000" (want 0-65535)`},
		{"second line", map[string]string{"NOIP_REALBIND_AFTER": "+any\n  -foo"}, nil,
			`NOIP_REALBIND_AFTER:2:4: unknown address "foo" (want any, local, an IP address, ADDR-ADDR or ADDR/PREFIX)`},
		{"before", map[string]string{"NOIP_IMPBIND_BEFORE": "any"}, nil,
			`NOIP_IMPBIND_BEFORE:1:4: missing target address or "same" after any`},
		{"debug", map[string]string{"NOIP_DEBUG": "yes"}, nil,
			`NOIP_DEBUG:1:1: bad level "yes" (want an integer >= 0)`},
		{"socketdir", map[string]string{"NOIP_SOCKETDIR": "sockets"}, nil,
			`NOIP_SOCKETDIR:1:1: directory "sockets" is not an absolute path`},
		{"autoports", map[string]string{"NOIP_AUTOPORTS": "1-0"}, nil,
			`NOIP_AUTOPORTS:1:3: bad port "0" (want 1-65535)`},
		{"option", nil, []Setting{{Keyword: "realconnect", Value: "+[::1]:http", Name: "--realconnect"}},
			`--realconnect:1:8: bad port "http" (want 0-65535)`},
		{"empty option", nil, []Setting{{Keyword: "impbind", Value: ""}},
			`--impbind:1:1: missing rule (want ADDRESS-RANGE ADDRESS or ADDRESS-RANGE same)`},
	}
	for _, tt := range tests {
		env := map[string]string{"HOME": home}
		for k, v := range tt.env {
			env[k] = v
		}
		_, err := Load(mapEnv(env), tt.opts)
		var pe *ParseError
		if !errors.As(err, &pe) || err.Error() != tt.want {
			t.Errorf("%s: Load error = %v, want *ParseError %q", tt.name, err, tt.want)
		}
	}
}

func TestPasswdHome(t *testing.T) {
	const passwd = "# comment\nroot:x:0:0:root:/root:/bin/bash\r\nshort:x:5\n+nis\nu:x:1000:1000:U,,,:/home/u:/bin/sh\ndup:x:1000:1000::/home/dup:/bin/sh\n"
	tests := []struct {
		uid  int
		want string
	}{
		{0, "/root"},
		{1000, "/home/u"},
		{5, ""},
		{4242, ""},
	}
	for _, tt := range tests {
		if got := passwdHome(passwd, tt.uid); got != tt.want {
			t.Errorf("passwdHome(uid %d) = %q, want %q", tt.uid, got, tt.want)
		}
	}
}

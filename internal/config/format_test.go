package config

import (
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	home := writeConfig(t, canonical+"impbind any same\n")
	c, err := Load(mapEnv(map[string]string{"HOME": home, "NOIP_DEBUG": "2", "NOIP_REALCONNECT_BEFORE": "-8.8.4.4"}), []Setting{{Keyword: "autoports", Value: "20000-30000"}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := c.Format(&b); err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(b.String(), home, "HOME")
	want := `# config file HOME/.noip
debug        2                     # $NOIP_DEBUG
socketdir    (not set)             # default directory
autoports    20000-30000           # --autoports
realbind     (empty)               # everything stays plastic
realconnect  -8.8.4.4              # $NOIP_REALCONNECT_BEFORE
realconnect  +127.0.0.1:6010-6020  # HOME/.noip:2
realconnect  +[::1]:6010-6020      # HOME/.noip:2
realconnect  +127.0.0.1:53         # HOME/.noip:3
realconnect  +[::1]:53             # HOME/.noip:3
realconnect  +local:22             # HOME/.noip:4
realconnect  -127.0.0.0/8          # HOME/.noip:5
realconnect  -[::1]                # HOME/.noip:5
realconnect  -local                # HOME/.noip:6
realconnect  (otherwise real)      # opposite of the last entry
impbind      any same              # HOME/.noip:7
`
	if got != want {
		t.Errorf("Format:\n%s\nwant:\n%s", got, want)
	}
}

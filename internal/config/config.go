package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// OriginKind says what kind of source a setting came from.
type OriginKind uint8

const (
	FromDefault OriginKind = iota // built in, or not set at all
	FromFile                      // a line of the config file
	FromEnv                       // a NOIP_* environment variable
	FromOption                    // a command-line option
)

// Origin says where a setting or rule came from, so that noip check and
// noip explain can point the user at the line to change.
type Origin struct {
	Kind OriginKind
	// Name is the file path, the variable name (without "$") or the option
	// as the caller named it (e.g. "--realconnect"). Empty for defaults.
	Name string
	// Line is the 1-based line within the file, or within the value of a
	// variable or option (values may span lines); 0 for defaults.
	Line int
}

// String returns "FILE:LINE", "$VAR", "--option" (with ":LINE" added for
// later lines of a multi-line value) or "default".
func (o Origin) String() string {
	switch o.Kind {
	case FromFile:
		return o.Name + ":" + strconv.Itoa(o.Line)
	case FromEnv, FromOption:
		s := o.Name
		if o.Kind == FromEnv {
			s = "$" + s
		}
		if o.Line > 1 {
			s += ":" + strconv.Itoa(o.Line)
		}
		return s
	}
	return "default"
}

// ParseError reports a malformed configuration. Load and ParseFile return
// it for every mistake in the configuration text itself.
type ParseError struct {
	// File is the config file path, or the environment variable name (e.g.
	// "NOIP_REALCONNECT"), or the option name given in [Setting.Name].
	File string
	// Line and Col are 1-based. Col counts bytes from the start of the line
	// (for a file) or of the value (for a variable or option), and points
	// at the offending character or token.
	Line, Col int
	// Msg says what is wrong. For file lines it starts with the keyword,
	// e.g. `realconnect: bad port "70000" (want 0-65535)`.
	Msg string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Setting is one command-line option, handed to [Load] as the last layer.
type Setting struct {
	// Keyword is a config keyword (debug, socketdir, autoports, realbind,
	// realconnect, impbind), or "config" to name the config file to read.
	Keyword string
	// Value is parsed exactly like the rest of a config-file line after the
	// keyword. An empty debug value means level 1, as a bare "debug" line.
	Value string
	// Name is how the user wrote the option (e.g. "--realconnect"); it is
	// used in origins and errors. Defaults to "--" + Keyword.
	Name string
}

// Config is the effective configuration of one process.
type Config struct {
	// File is the config file consulted ("" if none could be located), and
	// FileMissing says it did not exist, so nothing was read from it.
	File        string
	FileMissing bool

	Debug       int // 0: off
	DebugOrigin Origin

	// SocketDir is "" when nothing set it: the caller then applies the
	// default of SPEC §5 (sockdir.DefaultPath). Always absolute otherwise.
	SocketDir       string
	SocketDirOrigin Origin

	AutoPorts       PortRange // DefaultAutoPorts unless set
	AutoPortsOrigin Origin

	RealBind    ACL // Name "realbind"
	RealConnect ACL // Name "realconnect"
	ImpBind     []ImpRule
}

// DefaultAutoPorts is the autoports range when nothing sets one.
var DefaultAutoPorts = PortRange{Min: 16384, Max: 65535}

func newConfig() *Config {
	return &Config{
		AutoPorts:   DefaultAutoPorts,
		RealBind:    ACL{Name: "realbind"},
		RealConnect: ACL{Name: "realconnect"},
	}
}

// Keywords of the config language, in the order Format prints them.
var keywords = []string{"debug", "socketdir", "autoports", "realbind", "realconnect", "impbind"}

// envNames maps a keyword to its overriding (scalars) or plain (lists)
// environment variable.
var envNames = map[string]string{
	"debug":       "NOIP_DEBUG",
	"socketdir":   "NOIP_SOCKETDIR",
	"autoports":   "NOIP_AUTOPORTS",
	"realbind":    "NOIP_REALBIND",
	"realconnect": "NOIP_REALCONNECT",
	"impbind":     "NOIP_IMPBIND",
}

var listKeywords = []string{"realbind", "realconnect", "impbind"}

// Package variables so tests can supply a passwd file and a uid.
var (
	readFile   = os.ReadFile
	passwdPath = "/etc/passwd"
	getuid     = os.Getuid
)

// ParseFile parses the text of a config file. name is used in origins and
// errors. Errors are [*ParseError]. Unset values keep their defaults.
func ParseFile(name string, data []byte) (*Config, error) {
	c := newConfig()
	c.File = name
	if err := c.parseText(string(data), FromFile, name); err != nil {
		return nil, err
	}
	return c, nil
}

// Load builds the effective configuration from the config file, the
// environment (read through env, e.g. os.Getenv or a traced process's
// environment) and the command-line options opts, in this order:
//
//   - debug, socketdir, autoports: the file's last line, overridden by a
//     non-empty NOIP_DEBUG / NOIP_SOCKETDIR / NOIP_AUTOPORTS, overridden by
//     options (the last one wins);
//   - realbind, realconnect, impbind: NOIP_X_BEFORE, then the file's lines
//     in order, then NOIP_X, then the options in order, then NOIP_X_AFTER.
//     Options thus behave like the plain NOIP_X variable: after what the
//     file says, before what _AFTER forces last.
//
// The file is the "config" option if given (it must exist), else
// $NOIP_CONFIG if non-empty (a missing file means no config), else
// $HOME/.noip, HOME falling back to the current user's /etc/passwd entry (a
// missing file means no config). A relative path is taken relative to the
// caller's working directory.
//
// Configuration mistakes are [*ParseError]s; failures to read an existing
// file are returned wrapped ("reading config: %w").
func Load(env func(string) string, opts []Setting) (*Config, error) {
	path, mustExist := "", false
	for _, o := range opts {
		if o.Keyword == "config" {
			path, mustExist = o.Value, true
		}
	}
	if mustExist && path == "" {
		return nil, errors.New("config: empty config file name")
	}
	if !mustExist {
		path = env("NOIP_CONFIG")
	}
	if path == "" {
		if home := homeDir(env); home != "" {
			path = strings.TrimSuffix(home, "/") + "/.noip"
		}
	}

	c := newConfig()
	c.File = path
	if path != "" {
		data, err := readFile(path)
		switch {
		case err == nil:
			if err := c.parseText(string(data), FromFile, path); err != nil {
				return nil, err
			}
		case errors.Is(err, fs.ErrNotExist) && !mustExist:
			c.FileMissing = true
		default:
			return nil, fmt.Errorf("reading config: %w", err)
		}
	}

	// Every source is parsed with the file grammar, straight into place:
	// later settings replace scalars and extend lists, so parsing in
	// precedence order is the whole merge. _BEFORE and _AFTER lists go into
	// their own Configs and are spliced around the rest at the end.
	for _, kw := range keywords {
		if err := c.parseValueLines(env(envNames[kw]), FromEnv, envNames[kw], kw, false); err != nil {
			return nil, err
		}
	}
	for _, o := range opts {
		if o.Keyword == "config" {
			continue
		}
		if !isKeyword(o.Keyword) {
			return nil, fmt.Errorf("config: unknown setting %q", o.Keyword)
		}
		name := o.Name
		if name == "" {
			name = "--" + o.Keyword
		}
		if err := c.parseValueLines(o.Value, FromOption, name, o.Keyword, true); err != nil {
			return nil, err
		}
	}
	before, after := newConfig(), newConfig()
	for _, kw := range listKeywords {
		for _, v := range []string{envNames[kw] + "_BEFORE", envNames[kw] + "_AFTER"} {
			into := before
			if strings.HasSuffix(v, "_AFTER") {
				into = after
			}
			if err := into.parseValueLines(env(v), FromEnv, v, kw, false); err != nil {
				return nil, err
			}
		}
	}
	c.RealBind.Entries = slices.Concat(before.RealBind.Entries, c.RealBind.Entries, after.RealBind.Entries)
	c.RealConnect.Entries = slices.Concat(before.RealConnect.Entries, c.RealConnect.Entries, after.RealConnect.Entries)
	c.ImpBind = slices.Concat(before.ImpBind, c.ImpBind, after.ImpBind)
	return c, nil
}

func isKeyword(s string) bool {
	for _, kw := range keywords {
		if s == kw {
			return true
		}
	}
	return false
}

// homeDir returns $HOME, else the home of the current uid in /etc/passwd
// (parsed here rather than with os/user, which may need cgo), else "".
func homeDir(env func(string) string) string {
	if h := env("HOME"); h != "" {
		return h
	}
	data, err := readFile(passwdPath)
	if err != nil {
		return ""
	}
	return passwdHome(string(data), getuid())
}

// passwdHome finds uid's home directory in the text of a passwd file.
func passwdHome(passwd string, uid int) string {
	want := strconv.Itoa(uid)
	for line := range strings.SplitSeq(passwd, "\n") {
		f := strings.Split(strings.TrimSuffix(line, "\r"), ":")
		if len(f) >= 6 && f[2] == want {
			return f[5]
		}
	}
	return ""
}

// UsesLocal says whether any rule mentions "local", so a caller need not
// watch the interfaces otherwise.
func (c *Config) UsesLocal() bool {
	for _, a := range []ACL{c.RealBind, c.RealConnect} {
		for _, e := range a.Entries {
			if e.Range.Kind == RangeLocal {
				return true
			}
		}
	}
	for _, r := range c.ImpBind {
		if r.Range.Kind == RangeLocal {
			return true
		}
	}
	return false
}

// Op is the call an ACL decision is for.
type Op uint8

const (
	OpBind    Op = iota + 1 // bind: decided by realbind
	OpConnect               // connect, sendto, sendmsg: decided by realconnect
)

func (o Op) String() string {
	switch o {
	case OpBind:
		return "bind"
	case OpConnect:
		return "connect"
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// ParseOp parses the operation word of noip explain: "bind" or "connect".
func ParseOp(s string) (Op, error) {
	switch s {
	case "bind":
		return OpBind, nil
	case "connect":
		return OpConnect, nil
	}
	return 0, fmt.Errorf("unknown operation %q (want bind or connect)", s)
}

// Decide says whether op on ap gets a real Internet socket, and why. An
// unknown op is denied.
func (c *Config) Decide(op Op, ap netip.AddrPort, l Locals) Verdict {
	switch op {
	case OpBind:
		return c.RealBind.Match(ap, l)
	case OpConnect:
		return c.RealConnect.Match(ap, l)
	}
	return Verdict{Index: -1, Reason: ReasonInvalid}
}

// Format prints the effective configuration for people: one setting or rule
// per line, in the order they apply, each with its origin. The output is
// not meant to be parsed back; see [Config.MarshalText] for that.
func (c *Config) Format(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	switch {
	case c.File == "":
		fmt.Fprintf(tw, "# no config file (HOME unknown)\n")
	case c.FileMissing:
		fmt.Fprintf(tw, "# config file %s does not exist: not read\n", c.File)
	default:
		fmt.Fprintf(tw, "# config file %s\n", c.File)
	}
	fmt.Fprintf(tw, "debug\t%d\t# %v\n", c.Debug, c.DebugOrigin)
	if c.SocketDir == "" {
		fmt.Fprintf(tw, "socketdir\t(not set)\t# default directory\n")
	} else {
		fmt.Fprintf(tw, "socketdir\t%s\t# %v\n", c.SocketDir, c.SocketDirOrigin)
	}
	fmt.Fprintf(tw, "autoports\t%v\t# %v\n", c.AutoPorts, c.AutoPortsOrigin)
	for _, a := range []ACL{c.RealBind, c.RealConnect} {
		if len(a.Entries) == 0 {
			fmt.Fprintf(tw, "%s\t(empty)\t# everything stays plastic\n", a.Name)
			continue
		}
		for _, e := range a.Entries {
			fmt.Fprintf(tw, "%s\t%v\t# %v\n", a.Name, e, e.Origin)
		}
		last := a.Entries[len(a.Entries)-1]
		fmt.Fprintf(tw, "%s\t(otherwise %s)\t# opposite of the last entry\n", a.Name, verb(!last.Allow))
	}
	if len(c.ImpBind) == 0 {
		fmt.Fprintf(tw, "impbind\t(empty)\t# implicit binds use the loopback address\n")
	}
	for _, r := range c.ImpBind {
		fmt.Fprintf(tw, "impbind\t%v\t# %v\n", r, r.Origin)
	}
	return tw.Flush()
}

func verb(allow bool) string {
	if allow {
		return "real"
	}
	return "plastic"
}

// MarshalText returns the configuration in the config language, one rule
// per line, canonical and without origins: parsing it gives the same
// settings and rules. Settings still at their defaults are left out.
func (c *Config) MarshalText() ([]byte, error) {
	var b strings.Builder
	if c.DebugOrigin.Kind != FromDefault {
		fmt.Fprintf(&b, "debug %d\n", c.Debug)
	}
	if c.SocketDirOrigin.Kind != FromDefault {
		fmt.Fprintf(&b, "socketdir %s\n", c.SocketDir)
	}
	if c.AutoPortsOrigin.Kind != FromDefault {
		fmt.Fprintf(&b, "autoports %d-%d\n", c.AutoPorts.Min, c.AutoPorts.Max)
	}
	for _, a := range []ACL{c.RealBind, c.RealConnect} {
		for _, e := range a.Entries {
			fmt.Fprintf(&b, "%s %v\n", a.Name, e)
		}
	}
	for _, r := range c.ImpBind {
		fmt.Fprintf(&b, "impbind %v\n", r)
	}
	return []byte(b.String()), nil
}

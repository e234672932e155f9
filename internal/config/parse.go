package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseText parses config-file text: one "keyword value" per line.
func (c *Config) parseText(text string, kind OriginKind, name string) error {
	for n, line := range strings.Split(text, "\n") {
		i := skipSpace(line, 0)
		if i == len(line) || line[i] == '#' {
			continue
		}
		j := i
		for j < len(line) && !isSpace(line[j]) {
			j++
		}
		kw := line[i:j]
		p := &parser{s: line, i: j, file: name, line: n + 1, prefix: kw + ": ", origin: Origin{kind, name, n + 1}}
		if !isKeyword(kw) {
			msg := fmt.Sprintf("unknown keyword %q", kw)
			if isKeyword(strings.ToLower(kw)) {
				msg += " (keywords are lower case)"
			}
			p.prefix = ""
			return p.errAt(i, "%s", msg)
		}
		if err := c.parseSetting(kw, p); err != nil {
			return err
		}
	}
	return nil
}

// parseValueLines parses the value of an environment variable or option
// for keyword kw: each line is read as if it followed kw on a line of the
// config file. Blank lines are skipped; a blank value sets nothing, except
// that an option always counts (so a bare --debug means level 1).
func (c *Config) parseValueLines(text string, kind OriginKind, name, kw string, isOption bool) error {
	if skipSpace(text, 0) == len(text) {
		if !isOption {
			return nil
		}
		return c.parseSetting(kw, &parser{s: text, file: name, line: 1, origin: Origin{kind, name, 1}})
	}
	for n, line := range strings.Split(text, "\n") {
		if skipSpace(line, 0) == len(line) {
			continue
		}
		p := &parser{s: line, file: name, line: n + 1, origin: Origin{kind, name, n + 1}}
		if err := c.parseSetting(kw, p); err != nil {
			return err
		}
	}
	return nil
}

// parseSetting parses the value of keyword kw at p.s[p.i:] into c.
func (c *Config) parseSetting(kw string, p *parser) error {
	switch kw {
	case "debug":
		p.i = skipSpace(p.s, p.i)
		v := strings.TrimRight(p.s[p.i:], spaces)
		level := 1
		if v != "" {
			n, err := strconv.ParseUint(v, 10, 31)
			if err != nil {
				return p.errAt(p.i, "bad level %q (want an integer >= 0)", v)
			}
			level = int(n)
		}
		c.Debug, c.DebugOrigin = level, p.origin
	case "socketdir":
		p.i = skipSpace(p.s, p.i)
		v := strings.TrimRight(p.s[p.i:], spaces)
		switch {
		case v == "":
			return p.errAt(p.i, "missing directory")
		case !filepath.IsAbs(v):
			// A relative directory would name a different place for every
			// process's working directory, so programs would not meet.
			return p.errAt(p.i, "directory %q is not an absolute path", v)
		case strings.IndexByte(v, 0) >= 0:
			return p.errAt(p.i+strings.IndexByte(v, 0), "directory contains a NUL byte")
		}
		c.SocketDir, c.SocketDirOrigin = v, p.origin
	case "autoports":
		r, err := p.autoPorts()
		if err != nil {
			return err
		}
		c.AutoPorts, c.AutoPortsOrigin = r, p.origin
	case "realbind", "realconnect":
		es, err := p.aclEntries()
		if err != nil {
			return err
		}
		a := &c.RealBind
		if kw == "realconnect" {
			a = &c.RealConnect
		}
		a.Entries = append(a.Entries, es...)
	case "impbind":
		rs, err := p.impRules()
		if err != nil {
			return err
		}
		c.ImpBind = append(c.ImpBind, rs...)
	}
	return nil
}

// parser scans one line. Positions are byte offsets into s; errors report
// them 1-based.
type parser struct {
	s      string
	i      int
	file   string
	line   int
	prefix string // "keyword: " for file lines, "" for variables and options
	origin Origin
}

func (p *parser) errAt(i int, format string, args ...any) error {
	return &ParseError{File: p.file, Line: p.line, Col: i + 1, Msg: p.prefix + fmt.Sprintf(format, args...)}
}

const spaces = " \t\r\v\f"

func isSpace(b byte) bool { return strings.IndexByte(spaces, b) >= 0 }

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func (p *parser) skip()          { p.i = skipSpace(p.s, p.i) }
func (p *parser) eof() bool      { return p.i >= len(p.s) }
func (p *parser) at(b byte) bool { return !p.eof() && p.s[p.i] == b }

func isWordByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '.' || b == '_'
}

// word returns the run of letters, digits, dots and underscores at i: the
// shape of IPv4 addresses, numbers and the words any, local and same.
func (p *parser) word(i int) string {
	j := i
	for j < len(p.s) && isWordByte(p.s[j]) {
		j++
	}
	return p.s[i:j]
}

// found describes what is at p.i, for "expected X, found Y" messages.
func (p *parser) found() string {
	if p.eof() {
		return "end of line"
	}
	if w := p.word(p.i); w != "" {
		return strconv.Quote(w)
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.i:])
	return strconv.QuoteRune(r)
}

// commentHint explains a '#' found mid-line: the classic grammar has no
// trailing comments.
func (p *parser) commentHint() string {
	if p.at('#') {
		return " (comments must be on lines of their own)"
	}
	return ""
}

// number parses a decimal number token in [minv, maxv] named what.
func (p *parser) number(what string, minv, maxv int) (int, error) {
	start := p.i
	w := p.word(p.i)
	if w == "" {
		if p.eof() {
			return 0, p.errAt(start, "missing %s", what)
		}
		return 0, p.errAt(start, "expected %s, found %s", what, p.found())
	}
	n, err := strconv.ParseUint(w, 10, 32)
	if err != nil || n < uint64(minv) || n > uint64(maxv) {
		return 0, p.errAt(start, "bad %s %q (want %d-%d)", what, w, minv, maxv)
	}
	p.i += len(w)
	return int(n), nil
}

// portRange parses "PORT" or "PORT-PORT".
func (p *parser) portRange() (PortRange, error) {
	start := p.i
	lo, err := p.number("port", 0, 65535)
	if err != nil {
		return PortRange{}, err
	}
	hi := lo
	if p.skip(); p.at('-') {
		p.i++
		p.skip()
		if hi, err = p.number("port", 0, 65535); err != nil {
			return PortRange{}, err
		}
	}
	if lo > hi {
		return PortRange{}, p.errAt(start, "empty port range %d-%d (first > second)", lo, hi)
	}
	return PortRange{uint16(lo), uint16(hi)}, nil
}

// autoPorts parses MIN-MAX, both in 1-65535 (port 0 means "pick one", so
// it cannot be a pick).
func (p *parser) autoPorts() (PortRange, error) {
	p.skip()
	start := p.i
	if p.eof() {
		return PortRange{}, p.errAt(start, "missing range (want MIN-MAX)")
	}
	var ends [2]int
	for k := range ends {
		if k == 1 {
			if p.skip(); !p.at('-') {
				return PortRange{}, p.errAt(start, "bad range %q (want MIN-MAX)", strings.TrimRight(p.s[start:], spaces))
			}
			p.i++
			p.skip()
		}
		n, err := p.number("port", 1, 65535)
		if err != nil {
			return PortRange{}, err
		}
		ends[k] = n
	}
	if p.skip(); !p.eof() {
		return PortRange{}, p.errAt(p.i, "expected end of line, found %s%s", p.found(), p.commentHint())
	}
	if ends[0] > ends[1] {
		return PortRange{}, p.errAt(start, "empty range %d-%d (MIN > MAX)", ends[0], ends[1])
	}
	return PortRange{uint16(ends[0]), uint16(ends[1])}, nil
}

// aclEntries parses a comma-separated list of ACL entries up to the end of
// the line.
func (p *parser) aclEntries() ([]Entry, error) {
	return commaList(p, "ACL entry (want +|- ADDRESS-RANGE [:PORT-RANGE])", "ACL entry", p.aclEntry,
		func(e *Entry, text string) { e.Text = text })
}

// commaList parses a comma-separated list of items up to the end of the
// line, giving each item the text it was written as. what names the item
// in the error for an empty list, short in the one for a trailing comma.
func commaList[T any](p *parser, what, short string, item func() (T, error), setText func(*T, string)) ([]T, error) {
	var out []T
	for {
		p.skip()
		if p.eof() {
			if len(out) == 0 {
				return nil, p.errAt(p.i, "missing %s", what)
			}
			return nil, p.errAt(p.i, "missing %s after ','", short)
		}
		start := p.i
		x, err := item()
		if err != nil {
			return nil, err
		}
		setText(&x, strings.TrimRight(p.s[start:p.i], spaces))
		out = append(out, x)
		p.skip()
		if p.eof() {
			return out, nil
		}
		if !p.at(',') {
			return nil, p.errAt(p.i, "expected ',' or end of line, found %s%s", p.found(), p.commentHint())
		}
		p.i++
	}
}

func (p *parser) aclEntry() (Entry, error) {
	e := Entry{Ports: AllPorts, Origin: p.origin}
	switch {
	case p.at('+'):
		e.Allow = true
	case p.at('-'):
	default:
		return e, p.errAt(p.i, "expected '+' or '-' to start an entry, found %s", p.found())
	}
	p.i++
	p.skip()
	r, err := p.addrRange()
	if err != nil {
		return e, err
	}
	e.Range = r
	if p.skip(); p.at(':') {
		p.i++
		p.skip()
		if e.Ports, err = p.portRange(); err != nil {
			return e, err
		}
	}
	return e, nil
}

// addrRange parses any, local, ADDR, ADDR-ADDR or ADDR/PREFIX.
func (p *parser) addrRange() (AddrRange, error) {
	switch w := p.word(p.i); w {
	case "any":
		p.i += len(w)
		return AddrRange{Kind: RangeAny}, nil
	case "local":
		p.i += len(w)
		return AddrRange{Kind: RangeLocal}, nil
	}
	start := p.i
	written, err := p.addr()
	if err != nil {
		return AddrRange{}, err
	}
	a := written.Unmap()
	p.skip()
	switch {
	case p.at('-'):
		p.i++
		p.skip()
		bstart := p.i
		b, err := p.addr()
		if err != nil {
			return AddrRange{}, err
		}
		b = b.Unmap()
		if a.Is4() != b.Is4() {
			return AddrRange{}, p.errAt(bstart, "range %s-%s mixes IPv4 and IPv6", bracket(a), bracket(b))
		}
		if a.Compare(b) > 0 {
			return AddrRange{}, p.errAt(start, "empty range %s-%s (first > second)", bracket(a), bracket(b))
		}
		return AddrRange{Kind: RangeSpan, Lo: a, Hi: b}, nil
	case p.at('/'):
		p.i++
		p.skip()
		bits, err := p.number("prefix length", 0, written.BitLen())
		if err != nil {
			return AddrRange{}, err
		}
		return prefixRange(written, bits), nil
	}
	return AddrRange{Kind: RangeAddr, Lo: a, Hi: a}, nil
}

// prefixRange returns the range a/bits with host bits masked off. A
// v4-mapped prefix of at least 96 bits becomes the IPv4 prefix it covers,
// since mapped addresses match as IPv4; a shorter one stays IPv6.
func prefixRange(a netip.Addr, bits int) AddrRange {
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	pfx := netip.PrefixFrom(a, bits).Masked()
	return AddrRange{Kind: RangePrefix, Lo: pfx.Addr(), Hi: lastAddr(pfx), Prefix: pfx}
}

// addr parses one address, IPv4, or IPv4 or IPv6 in brackets, and returns
// it as written: callers unmap v4-mapped addresses.
func (p *parser) addr() (netip.Addr, error) {
	start := p.i
	if p.at('[') {
		end := strings.IndexAny(p.s[p.i:], "],")
		if end < 0 || p.s[p.i+end] != ']' {
			return netip.Addr{}, p.errAt(start, "missing ']'")
		}
		inner := strings.Trim(p.s[p.i+1:p.i+end], spaces)
		switch {
		case strings.Contains(inner, "%"):
			return netip.Addr{}, p.errAt(start, "zone not allowed in address %q", inner)
		case strings.Contains(inner, "/"):
			i := strings.IndexByte(inner, '/')
			return netip.Addr{}, p.errAt(start, "bad address %q (write a prefix as [%s]%s)", inner, inner[:i], inner[i:])
		}
		a, err := netip.ParseAddr(inner)
		if err != nil {
			return netip.Addr{}, p.errAt(start, "bad address %q", inner)
		}
		p.i += end + 1
		return a, nil
	}
	w := p.word(p.i)
	if isHex(w) && len(p.s) > p.i+len(w) && p.s[p.i+len(w)] == ':' {
		// Looks like a bare IPv6 address: the brackets are required because
		// ':' also introduces the port.
		j := p.i
		for j < len(p.s) && (isHexByte(p.s[j]) || p.s[j] == ':' || p.s[j] == '.') {
			j++
		}
		if a, err := netip.ParseAddr(p.s[p.i:j]); err == nil && a.Is6() {
			return netip.Addr{}, p.errAt(start, "IPv6 address %s must be in brackets: [%s]", p.s[p.i:j], p.s[p.i:j])
		}
	}
	switch w {
	case "":
		if p.eof() {
			return netip.Addr{}, p.errAt(start, "missing address")
		}
		return netip.Addr{}, p.errAt(start, "expected an address, found %s", p.found())
	case "any", "local", "same":
		return netip.Addr{}, p.errAt(start, "expected an address, found %q", w)
	}
	a, err := netip.ParseAddr(w)
	if err != nil || !a.Is4() {
		if strings.Trim(w, "0123456789.") == "" {
			return netip.Addr{}, p.errAt(start, "bad IPv4 address %q", w)
		}
		return netip.Addr{}, p.errAt(start, "unknown address %q (want any, local, an IP address, ADDR-ADDR or ADDR/PREFIX)", w)
	}
	p.i += len(w)
	return a, nil
}

func isHexByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexByte(s[i]) {
			return false
		}
	}
	return true
}

// impRules parses a comma-separated list of "ADDRESS-RANGE ADDRESS" or
// "ADDRESS-RANGE same".
func (p *parser) impRules() ([]ImpRule, error) {
	return commaList(p, "rule (want ADDRESS-RANGE ADDRESS or ADDRESS-RANGE same)", "rule", p.impRule,
		func(r *ImpRule, text string) { r.Text = text })
}

func (p *parser) impRule() (ImpRule, error) {
	r := ImpRule{Origin: p.origin}
	rng, err := p.addrRange()
	if err != nil {
		return r, err
	}
	r.Range = rng
	if p.skip(); p.at(':') {
		return r, p.errAt(p.i, "ports are not allowed in impbind rules")
	}
	if p.eof() || p.at(',') {
		return r, p.errAt(p.i, "missing target address or \"same\" after %v", rng)
	}
	tstart := p.i
	switch w := p.word(p.i); w {
	case "same":
		p.i += len(w)
		r.Same = true
		return r, nil
	case "any", "local":
		return r, p.errAt(tstart, "bad target %q (want an address or \"same\")", w)
	case "":
		if !p.at('[') {
			return r, p.errAt(tstart, "expected target address or \"same\", found %s", p.found())
		}
	}
	t, err := p.addr()
	if err != nil {
		return r, err
	}
	t = t.Unmap()
	if fam := rng.family(); fam != 0 && fam != family(t) {
		return r, p.errAt(tstart, "target %s is %s but the range is %s", bracket(t), familyName(family(t)), familyName(fam))
	}
	if p.skip(); p.at(':') {
		return r, p.errAt(p.i, "ports are not allowed in impbind rules")
	}
	r.Target = t
	return r, nil
}

// Package config reads noip's configuration: the classic ~/.noip file, the
// NOIP_* environment variables and the command-line options, layered into
// one [Config] whose every rule remembers where it came from.
//
// It implements the grammar of SPEC §4 (keywords debug, socketdir,
// autoports, realbind, realconnect, impbind; ACL entries "+|- ADDRESS-RANGE
// [:PORT-RANGE]"), the matching rules (first match decides, otherwise the
// opposite of the last entry, an empty list denies, v4-mapped addresses
// match as IPv4), impbind lookup and autoport candidates.
//
// Deliberately, it does not:
//   - resolve host names: an ACL that named hosts would change meaning with
//     DNS, so only literal addresses are accepted;
//   - tolerate mistakes: an unknown keyword or a malformed value is a
//     [*ParseError] naming the file (or variable), line and column, because
//     noip must not run with a policy the user did not write;
//   - look at the machine's interfaces: "local" is answered by a [Locals]
//     the caller passes in, so everything except [NewInterfaceLocals]
//     (local_linux.go) is pure and table-testable;
//   - choose the default socket directory (SPEC §5; see package sockdir) or
//     check that a port is free: it only says which ports to try.
package config

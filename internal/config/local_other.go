//go:build !linux

package config

import (
	"errors"
	"net/netip"
)

// InterfaceLocals watches the machine's interface addresses; only Linux
// has it.
type InterfaceLocals struct{}

// NewInterfaceLocals returns errors.ErrUnsupported outside Linux.
func NewInterfaceLocals() (*InterfaceLocals, error) { return nil, errors.ErrUnsupported }

// IsLocal reports loopback and unspecified addresses only.
func (*InterfaceLocals) IsLocal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsUnspecified()
}

// Err returns nil.
func (*InterfaceLocals) Err() error { return nil }

// Close does nothing.
func (*InterfaceLocals) Close() error { return nil }

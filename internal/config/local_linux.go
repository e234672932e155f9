package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// interfaceAddrs lists the machine's addresses; a variable so tests can
// supply their own.
var interfaceAddrs = netlinkAddrs

// netlinkAddrs asks the kernel (RTM_GETADDR) for every interface address.
// It does what net.InterfaceAddrs does without importing net, which would
// link the cgo resolver into noip and make it a dynamic binary.
func netlinkAddrs() ([]netip.Addr, error) {
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_UNSPEC)
	if err != nil {
		return nil, os.NewSyscallError("netlink RTM_GETADDR", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, fmt.Errorf("parsing RTM_GETADDR: %w", err)
	}
	var out []netip.Addr
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWADDR {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		for _, a := range attrs {
			if a.Attr.Type == syscall.IFA_ADDRESS || a.Attr.Type == syscall.IFA_LOCAL {
				if x, ok := netip.AddrFromSlice(a.Value); ok {
					out = append(out, x)
				}
			}
		}
	}
	return out, nil
}

// InterfaceLocals is the [Locals] of a running noip: the addresses of the
// machine's interfaces, re-read when the kernel announces an address
// change on a netlink socket (RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR).
//
// There is no background goroutine: IsLocal drains the netlink socket
// (non-blocking) and re-reads the addresses only if something arrived, so
// an answer never predates a change the kernel had announced when IsLocal
// was called. If the kernel drops notifications (ENOBUFS), it re-reads too.
type InterfaceLocals struct {
	mu    sync.Mutex
	fd    int // netlink socket, owned; -1 once closed
	addrs map[netip.Addr]bool
	err   error // from the last re-read; the previous addresses stay in use until one succeeds
	buf   []byte
}

// NewInterfaceLocals subscribes to address changes and reads the current
// addresses. Close releases the netlink socket.
func NewInterfaceLocals() (*InterfaceLocals, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("watching interface addresses: %w", os.NewSyscallError("socket", err))
	}
	// Subscribe before the first read, so no change falls between them.
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watching interface addresses: %w", os.NewSyscallError("bind", err))
	}
	return newInterfaceLocals(fd)
}

// newInterfaceLocals takes ownership of fd, a non-blocking datagram socket
// on which any arrival means "addresses changed".
func newInterfaceLocals(fd int) (*InterfaceLocals, error) {
	l := &InterfaceLocals{fd: fd, buf: make([]byte, 4096)}
	if err := l.reread(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return l, nil
}

// IsLocal reports whether a is an address of one of the machine's
// interfaces, or loopback or unspecified.
func (l *InterfaceLocals) IsLocal(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// After a failed re-read, try again rather than trust the old list.
	if l.changed() || l.err != nil {
		l.err = l.reread()
	}
	return l.addrs[a]
}

// Err returns the error of the last failed re-read, if the addresses in use
// are older than the kernel's.
func (l *InterfaceLocals) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// changed drains the socket and reports whether anything arrived. l.mu is
// held.
func (l *InterfaceLocals) changed() bool {
	if l.fd < 0 {
		return false
	}
	changed := false
	for {
		_, err := unix.Read(l.fd, l.buf)
		switch {
		case err == nil, err == unix.ENOBUFS:
			// A message (read in full or truncated), or an overrun: either
			// way the addresses must be read again.
			changed = true
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			return changed
		default:
			// The watch is broken; re-read every time rather than answer
			// from a stale list.
			return true
		}
	}
}

// reread replaces the cached addresses. l.mu is held, or l is new.
func (l *InterfaceLocals) reread() error {
	as, err := interfaceAddrs()
	if err != nil {
		return fmt.Errorf("listing interface addresses: %w", err)
	}
	m := make(map[netip.Addr]bool, len(as))
	for _, a := range as {
		m[a.Unmap()] = true
	}
	l.addrs = m
	return nil
}

// Close closes the netlink socket. Later calls answer from the last list.
func (l *InterfaceLocals) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fd < 0 {
		return errors.New("config: InterfaceLocals already closed")
	}
	err := unix.Close(l.fd)
	l.fd = -1
	return os.NewSyscallError("close", err)
}

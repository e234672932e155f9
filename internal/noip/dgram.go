package noip

import (
	"net/netip"

	"golang.org/x/sys/unix"

	"noip/internal/config"
	"noip/internal/supervise"
)

// dgram is the state of a plastic datagram socket.
type dgram struct{}

// connectDgram connects a plastic datagram socket.
func (p *Policy) connectDgram(c *supervise.Call, set *Settings, s *sock, dup int, ap netip.AddrPort, v config.Verdict) supervise.Result {
	return supervise.Fail(unix.EOPNOTSUPP)
}

// disconnectDgram dissolves a plastic datagram socket's association.
func (p *Policy) disconnectDgram(s *sock, dup int) supervise.Result {
	return supervise.Fail(unix.EOPNOTSUPP)
}

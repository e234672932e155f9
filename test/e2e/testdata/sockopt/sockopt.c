// sockopt: a table of getsockopt/setsockopt probes on TCP and UDP sockets
// in several states, one line per probe:
//
//	STATE FAMILY LEVEL OPTNAME OP -> ret=R errno=E len=L val=HEX(INT)
//
// TestSockoptDiff (../../sockopt_test.go) runs it plainly and under noip
// and compares the lines: under noip every Internet socket is a plastic one
// (a Unix socket), and SPEC §3 wants the same answers. The text before
// " -> " is the probe's key; it names the socket's state, family, the level
// and option (by name), and the operation:
//
//	get(N)          getsockopt with an optlen of N (512 is "large")
//	get(null-len)   getsockopt with a NULL optlen pointer
//	set(V/L)        setsockopt with value V (an int, or hex bytes "x…")
//	                and optlen L on a socket made afresh in that state,
//	                followed by " | get -> …": the read-back of the option
//
// States: tcp-fresh (unbound), tcp-bound (loopback, port 0), tcp-listen,
// tcp-client (connected, the connecting end), tcp-server (the accepted
// end); udp-fresh, udp-bound, udp-connected. Families inet4 (127.0.0.1)
// and inet6 (::1).
//
// Values that vary from run to run are masked (see printval and the
// M_* kinds), so that two plain runs print the same text. Every masking
// says what it keeps, in a comment at its kind.
//
// The program takes no arguments and exits 0 unless it cannot set up a
// socket state at all (which it reports as a "setup" line and skips).

#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

// Names newer than the Debian 12 headers.
#ifndef TCP_AO_ADD_KEY
#define TCP_AO_ADD_KEY 38
#define TCP_AO_DEL_KEY 39
#define TCP_AO_INFO 40
#define TCP_AO_GET_KEYS 41
#define TCP_AO_REPAIR 42
#endif
#ifndef TCP_IS_MPTCP
#define TCP_IS_MPTCP 43
#endif
#ifndef TCP_RTO_MAX_MS
#define TCP_RTO_MAX_MS 44
#endif
#ifndef TCP_RTO_MIN_US
#define TCP_RTO_MIN_US 45
#endif
#ifndef TCP_DELACK_MAX_US
#define TCP_DELACK_MAX_US 46
#endif
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SO_RCVPRIORITY
#define SO_RCVPRIORITY 82
#endif
#ifndef IP_RECVERR_RFC4884
#define IP_RECVERR_RFC4884 26
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#ifndef IP_PROTOCOL
#define IP_PROTOCOL 52
#endif
#ifndef IPV6_RECVERR_RFC4884
#define IPV6_RECVERR_RFC4884 31
#endif
#ifndef IPV6_FLOWINFO_SEND
#define IPV6_FLOWINFO_SEND 33
#endif
#ifndef IPV6_PREFER_SRC_PUBLIC
#define IPV6_PREFER_SRC_PUBLIC 0x0002
#endif
#ifndef IPV6_ROUTER_ALERT_ISOLATE
#define IPV6_ROUTER_ALERT_ISOLATE 30
#endif

// How a value is printed. M_RAW prints every byte; the others mask what
// varies between runs (or between two sockets made the same way).
enum {
	M_RAW,
	// TCP_INFO: the returned length and only the fields a connection
	// made the same way has the same every time: state, ca_state,
	// retransmits, probes, backoff, options, the window scales, snd_mss,
	// rcv_mss, unacked, sacked, lost, retrans, pmtu, snd_ssthresh,
	// whether snd_cwnd is > 0, advmss, reordering, total_retrans. Timers
	// (rto, ato, last_*), rtt, rcv_space/rcv_ssthresh, rates, byte and
	// segment counters depend on timing.
	M_TCPINFO,
	// A value that is random or a clock reading (SO_COOKIE, TCP_TIMESTAMP,
	// TCP_FASTOPEN_KEY), or a port (IP_PROTOCOL, which answers inet_num:
	// the local port of a bound socket): the length and whether it is
	// zero.
	M_NONZERO,
	// TCP_CC_INFO: the length, and of bbr's struct tcp_bbr_info (20
	// bytes) only the gains; bw_lo, bw_hi and min_rtt are measurements.
	M_CCINFO,
	// SO_INCOMING_CPU: the CPU that last handled the socket's packets;
	// only whether it is -1 (none yet).
	M_CPU,
	// SO_PEERNAME: the family and the address; the port is masked (the
	// peer's port is an ephemeral one).
	M_PEERNAME,
	// SO_PEERCRED: whether the pid is 0, then uid and gid as they are.
	M_PEERCRED,
	// SO_PEERPIDFD: the value is a new fd; only that there is one.
	M_PIDFD,
	// SO_MEMINFO: the length and the rcvbuf and sndbuf entries (the
	// others are allocation counters).
	M_MEMINFO,
};

struct opt {
	int level;
	const char *lname;
	int name;
	const char *oname;
	int mask;
};

#define O(l, n) {l, #l, n, #n, M_RAW}
#define OM(l, n, m) {l, #l, n, #n, m}

// Every option probed with get(512) in every state. The list covers what
// the programs of docs/sockopts.md use and their neighbours.
static const struct opt opts[] = {
	O(SOL_SOCKET, SO_DEBUG),
	O(SOL_SOCKET, SO_REUSEADDR),
	O(SOL_SOCKET, SO_TYPE),
	O(SOL_SOCKET, SO_ERROR),
	O(SOL_SOCKET, SO_DONTROUTE),
	O(SOL_SOCKET, SO_BROADCAST),
	O(SOL_SOCKET, SO_SNDBUF),
	O(SOL_SOCKET, SO_RCVBUF),
	O(SOL_SOCKET, SO_KEEPALIVE),
	O(SOL_SOCKET, SO_OOBINLINE),
	O(SOL_SOCKET, SO_NO_CHECK),
	O(SOL_SOCKET, SO_PRIORITY),
	O(SOL_SOCKET, SO_LINGER),
	O(SOL_SOCKET, SO_BSDCOMPAT),
	O(SOL_SOCKET, SO_REUSEPORT),
	O(SOL_SOCKET, SO_PASSCRED),
	OM(SOL_SOCKET, SO_PEERCRED, M_PEERCRED),
	O(SOL_SOCKET, SO_RCVLOWAT),
	O(SOL_SOCKET, SO_SNDLOWAT),
	O(SOL_SOCKET, SO_RCVTIMEO_OLD),
	O(SOL_SOCKET, SO_SNDTIMEO_OLD),
	O(SOL_SOCKET, SO_BINDTODEVICE),
	OM(SOL_SOCKET, SO_PEERNAME, M_PEERNAME),
	O(SOL_SOCKET, SO_TIMESTAMP_OLD),
	O(SOL_SOCKET, SO_ACCEPTCONN),
	O(SOL_SOCKET, SO_PEERSEC),
	O(SOL_SOCKET, SO_PASSSEC),
	O(SOL_SOCKET, SO_TIMESTAMPNS_OLD),
	O(SOL_SOCKET, SO_MARK),
	O(SOL_SOCKET, SO_TIMESTAMPING_OLD),
	O(SOL_SOCKET, SO_PROTOCOL),
	O(SOL_SOCKET, SO_DOMAIN),
	O(SOL_SOCKET, SO_RXQ_OVFL),
	O(SOL_SOCKET, SO_WIFI_STATUS),
	O(SOL_SOCKET, SO_PEEK_OFF),
	O(SOL_SOCKET, SO_NOFCS),
	O(SOL_SOCKET, SO_LOCK_FILTER),
	O(SOL_SOCKET, SO_SELECT_ERR_QUEUE),
	O(SOL_SOCKET, SO_BUSY_POLL),
	O(SOL_SOCKET, SO_MAX_PACING_RATE),
	O(SOL_SOCKET, SO_BPF_EXTENSIONS),
	OM(SOL_SOCKET, SO_INCOMING_CPU, M_CPU),
	OM(SOL_SOCKET, SO_MEMINFO, M_MEMINFO),
	O(SOL_SOCKET, SO_INCOMING_NAPI_ID),
	OM(SOL_SOCKET, SO_COOKIE, M_NONZERO),
	O(SOL_SOCKET, SO_PEERGROUPS),
	O(SOL_SOCKET, SO_ZEROCOPY),
	O(SOL_SOCKET, SO_TXTIME),
	O(SOL_SOCKET, SO_BINDTOIFINDEX),
	O(SOL_SOCKET, SO_TIMESTAMP_NEW),
	O(SOL_SOCKET, SO_RCVTIMEO_NEW),
	O(SOL_SOCKET, SO_PREFER_BUSY_POLL),
	O(SOL_SOCKET, SO_BUSY_POLL_BUDGET),
	O(SOL_SOCKET, SO_NETNS_COOKIE),
	O(SOL_SOCKET, SO_BUF_LOCK),
	O(SOL_SOCKET, SO_RESERVE_MEM),
	O(SOL_SOCKET, SO_TXREHASH),
	O(SOL_SOCKET, SO_RCVMARK),
	O(SOL_SOCKET, SO_PASSPIDFD),
	OM(SOL_SOCKET, SO_PEERPIDFD, M_PIDFD),
	O(SOL_SOCKET, SO_RCVPRIORITY),
	O(SOL_SOCKET, 999),

	O(IPPROTO_IP, IP_TOS),
	O(IPPROTO_IP, IP_TTL),
	O(IPPROTO_IP, IP_HDRINCL),
	O(IPPROTO_IP, IP_OPTIONS),
	O(IPPROTO_IP, IP_ROUTER_ALERT),
	O(IPPROTO_IP, IP_RECVOPTS),
	O(IPPROTO_IP, IP_RETOPTS),
	O(IPPROTO_IP, IP_PKTINFO),
	O(IPPROTO_IP, IP_PKTOPTIONS),
	O(IPPROTO_IP, IP_MTU_DISCOVER),
	O(IPPROTO_IP, IP_RECVERR),
	O(IPPROTO_IP, IP_RECVTTL),
	O(IPPROTO_IP, IP_RECVTOS),
	O(IPPROTO_IP, IP_MTU),
	O(IPPROTO_IP, IP_FREEBIND),
	O(IPPROTO_IP, IP_PASSSEC),
	O(IPPROTO_IP, IP_TRANSPARENT),
	O(IPPROTO_IP, IP_RECVORIGDSTADDR),
	O(IPPROTO_IP, IP_MINTTL),
	O(IPPROTO_IP, IP_NODEFRAG),
	O(IPPROTO_IP, IP_CHECKSUM),
	O(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT),
	O(IPPROTO_IP, IP_RECVFRAGSIZE),
	O(IPPROTO_IP, IP_RECVERR_RFC4884),
	O(IPPROTO_IP, IP_MULTICAST_IF),
	O(IPPROTO_IP, IP_MULTICAST_TTL),
	O(IPPROTO_IP, IP_MULTICAST_LOOP),
	O(IPPROTO_IP, IP_MULTICAST_ALL),
	O(IPPROTO_IP, IP_UNICAST_IF),
	O(IPPROTO_IP, IP_LOCAL_PORT_RANGE),
	OM(IPPROTO_IP, IP_PROTOCOL, M_NONZERO),
	O(IPPROTO_IP, 99),

	O(IPPROTO_IPV6, IPV6_ADDRFORM),
	O(IPPROTO_IPV6, IPV6_2292PKTOPTIONS),
	O(IPPROTO_IPV6, IPV6_CHECKSUM),
	O(IPPROTO_IPV6, IPV6_UNICAST_HOPS),
	O(IPPROTO_IPV6, IPV6_MULTICAST_IF),
	O(IPPROTO_IPV6, IPV6_MULTICAST_HOPS),
	O(IPPROTO_IPV6, IPV6_MULTICAST_LOOP),
	O(IPPROTO_IPV6, IPV6_ROUTER_ALERT),
	O(IPPROTO_IPV6, IPV6_MTU_DISCOVER),
	O(IPPROTO_IPV6, IPV6_MTU),
	O(IPPROTO_IPV6, IPV6_RECVERR),
	O(IPPROTO_IPV6, IPV6_V6ONLY),
	O(IPPROTO_IPV6, IPV6_FLOWINFO_SEND),
	O(IPPROTO_IPV6, IPV6_HDRINCL),
	O(IPPROTO_IPV6, IPV6_RECVPKTINFO),
	O(IPPROTO_IPV6, IPV6_RECVHOPLIMIT),
	O(IPPROTO_IPV6, IPV6_RECVHOPOPTS),
	O(IPPROTO_IPV6, IPV6_HOPOPTS),
	O(IPPROTO_IPV6, IPV6_RECVRTHDR),
	O(IPPROTO_IPV6, IPV6_RECVDSTOPTS),
	O(IPPROTO_IPV6, IPV6_RECVPATHMTU),
	O(IPPROTO_IPV6, IPV6_PATHMTU),
	O(IPPROTO_IPV6, IPV6_DONTFRAG),
	O(IPPROTO_IPV6, IPV6_RECVTCLASS),
	O(IPPROTO_IPV6, IPV6_TCLASS),
	O(IPPROTO_IPV6, IPV6_AUTOFLOWLABEL),
	O(IPPROTO_IPV6, IPV6_ADDR_PREFERENCES),
	O(IPPROTO_IPV6, IPV6_MINHOPCOUNT),
	O(IPPROTO_IPV6, IPV6_RECVORIGDSTADDR),
	O(IPPROTO_IPV6, IPV6_TRANSPARENT),
	O(IPPROTO_IPV6, IPV6_UNICAST_IF),
	O(IPPROTO_IPV6, IPV6_RECVFRAGSIZE),
	O(IPPROTO_IPV6, IPV6_FREEBIND),
	O(IPPROTO_IPV6, IPV6_RECVERR_RFC4884),
	O(IPPROTO_IPV6, 99),

	O(IPPROTO_TCP, TCP_NODELAY),
	O(IPPROTO_TCP, TCP_MAXSEG),
	O(IPPROTO_TCP, TCP_CORK),
	O(IPPROTO_TCP, TCP_KEEPIDLE),
	O(IPPROTO_TCP, TCP_KEEPINTVL),
	O(IPPROTO_TCP, TCP_KEEPCNT),
	O(IPPROTO_TCP, TCP_SYNCNT),
	O(IPPROTO_TCP, TCP_LINGER2),
	O(IPPROTO_TCP, TCP_DEFER_ACCEPT),
	O(IPPROTO_TCP, TCP_WINDOW_CLAMP),
	OM(IPPROTO_TCP, TCP_INFO, M_TCPINFO),
	O(IPPROTO_TCP, TCP_QUICKACK),
	O(IPPROTO_TCP, TCP_CONGESTION),
	O(IPPROTO_TCP, TCP_MD5SIG),
	O(IPPROTO_TCP, TCP_COOKIE_TRANSACTIONS),
	O(IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS),
	O(IPPROTO_TCP, TCP_THIN_DUPACK),
	O(IPPROTO_TCP, TCP_USER_TIMEOUT),
	O(IPPROTO_TCP, TCP_REPAIR),
	O(IPPROTO_TCP, TCP_REPAIR_QUEUE),
	O(IPPROTO_TCP, TCP_QUEUE_SEQ),
	O(IPPROTO_TCP, TCP_REPAIR_OPTIONS),
	O(IPPROTO_TCP, TCP_FASTOPEN),
	OM(IPPROTO_TCP, TCP_TIMESTAMP, M_NONZERO),
	O(IPPROTO_TCP, TCP_NOTSENT_LOWAT),
	OM(IPPROTO_TCP, TCP_CC_INFO, M_CCINFO),
	O(IPPROTO_TCP, TCP_SAVE_SYN),
	O(IPPROTO_TCP, TCP_SAVED_SYN),
	O(IPPROTO_TCP, TCP_REPAIR_WINDOW),
	O(IPPROTO_TCP, TCP_FASTOPEN_CONNECT),
	O(IPPROTO_TCP, TCP_ULP),
	O(IPPROTO_TCP, TCP_MD5SIG_EXT),
	OM(IPPROTO_TCP, TCP_FASTOPEN_KEY, M_NONZERO),
	O(IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE),
	O(IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE),
	O(IPPROTO_TCP, TCP_INQ),
	O(IPPROTO_TCP, TCP_TX_DELAY),
	O(IPPROTO_TCP, TCP_AO_ADD_KEY),
	O(IPPROTO_TCP, TCP_AO_DEL_KEY),
	O(IPPROTO_TCP, TCP_AO_INFO),
	O(IPPROTO_TCP, TCP_AO_GET_KEYS),
	O(IPPROTO_TCP, TCP_AO_REPAIR),
	O(IPPROTO_TCP, TCP_IS_MPTCP),
	O(IPPROTO_TCP, TCP_RTO_MAX_MS),
	O(IPPROTO_TCP, TCP_RTO_MIN_US),
	O(IPPROTO_TCP, TCP_DELACK_MAX_US),
	O(IPPROTO_TCP, 99),

	O(IPPROTO_UDP, UDP_CORK),
	O(IPPROTO_UDP, UDP_ENCAP),
	O(IPPROTO_UDP, UDP_NO_CHECK6_TX),
	O(IPPROTO_UDP, UDP_NO_CHECK6_RX),
	O(IPPROTO_UDP, UDP_SEGMENT),
	O(IPPROTO_UDP, UDP_GRO),
	O(IPPROTO_UDP, 99),

	// Levels that are no option level of an Internet socket.
	O(999, 1),
	O(SOL_RAW, 1),
	O(SOL_TLS, 1),
};

#define NOPTS (sizeof opts / sizeof opts[0])

// getsockopt with short buffers: the options where the kernel's handling
// of a short optlen differs by level (TCP copies what fits, IP narrows a
// small int to one byte, some refuse).
static const struct {
	int level, name;
	int lens[8];
} shorts[] = {
	{SOL_SOCKET, SO_TYPE, {0, 1, 3, -1}},
	{SOL_SOCKET, SO_RCVBUF, {0, 1, 3, -1}},
	{SOL_SOCKET, SO_LINGER, {0, 1, 3, 4, -1}},
	{SOL_SOCKET, SO_DOMAIN, {0, 1, 3, -1}},
	{SOL_SOCKET, SO_PROTOCOL, {0, 1, 3, -1}},
	{SOL_SOCKET, SO_BINDTODEVICE, {0, 1, 15, -1}},
	// SO_PEERNAME refuses a buffer longer than the address (EINVAL).
	{SOL_SOCKET, SO_PEERNAME, {0, 8, 16, 28, 110, -1}},
	{IPPROTO_IP, IP_TOS, {0, 1, 3, -1}},
	{IPPROTO_IP, IP_TTL, {0, 1, 3, -1}},
	{IPPROTO_IP, IP_MTU, {0, 1, 3, -1}},
	{IPPROTO_IP, IP_OPTIONS, {0, 1, 3, -1}},
	{IPPROTO_IP, IP_MULTICAST_TTL, {0, 1, 3, -1}},
	{IPPROTO_IPV6, IPV6_V6ONLY, {0, 1, 3, -1}},
	{IPPROTO_IPV6, IPV6_UNICAST_HOPS, {0, 1, 3, -1}},
	{IPPROTO_IPV6, IPV6_TCLASS, {0, 1, 3, -1}},
	{IPPROTO_IPV6, IPV6_MTU, {0, 1, 3, -1}},
	{IPPROTO_TCP, TCP_NODELAY, {0, 1, 3, -1}},
	{IPPROTO_TCP, TCP_MAXSEG, {0, 1, 3, -1}},
	{IPPROTO_TCP, TCP_KEEPIDLE, {0, 1, 3, -1}},
	{IPPROTO_TCP, TCP_INFO, {0, 1, 3, 8, 104, 232, -1}},
	{IPPROTO_TCP, TCP_CONGESTION, {0, 1, 3, 16, -1}},
	{IPPROTO_UDP, UDP_CORK, {0, 1, 3, -1}},
	{IPPROTO_UDP, UDP_SEGMENT, {0, 1, 3, -1}},
};

// setsockopt probes: a value (an int of optlen bytes, or raw bytes) set
// on a socket made afresh in each state, then read back.
struct setp {
	int level, name;
	int isint;
	int ival;
	const char *bytes; // raw value when !isint, as C string bytes
	int blen;
	int len;  // optlen passed; -1 as given
	int null; // pass a NULL optval
};

#define SI(l, n, v) {l, n, 1, v, 0, 0, 4, 0}
#define SIL(l, n, v, len) {l, n, 1, v, 0, 0, len, 0}
#define SB(l, n, b, blen) {l, n, 0, 0, b, blen, blen, 0}
#define SNULL(l, n) {l, n, 1, 0, 0, 0, 4, 1}

static const struct setp sets[] = {
	// SOL_SOCKET, valid
	SI(SOL_SOCKET, SO_REUSEADDR, 1),
	SI(SOL_SOCKET, SO_REUSEPORT, 1),
	SI(SOL_SOCKET, SO_KEEPALIVE, 1),
	SI(SOL_SOCKET, SO_BROADCAST, 1),
	SI(SOL_SOCKET, SO_OOBINLINE, 1),
	SI(SOL_SOCKET, SO_DONTROUTE, 1),
	SI(SOL_SOCKET, SO_SNDBUF, 65536),
	SI(SOL_SOCKET, SO_RCVBUF, 65536),
	SI(SOL_SOCKET, SO_RCVBUF, 1),
	SI(SOL_SOCKET, SO_SNDBUFFORCE, 300000),
	SI(SOL_SOCKET, SO_RCVLOWAT, 100),
	SI(SOL_SOCKET, SO_PRIORITY, 5),
	SI(SOL_SOCKET, SO_MARK, 7),
	SI(SOL_SOCKET, SO_TIMESTAMP_OLD, 1),
	SI(SOL_SOCKET, SO_TIMESTAMPNS_OLD, 1),
	SI(SOL_SOCKET, SO_ZEROCOPY, 1),
	SI(SOL_SOCKET, SO_MAX_PACING_RATE, 12500000),
	SI(SOL_SOCKET, SO_BUSY_POLL, 10),
	SI(SOL_SOCKET, SO_PEEK_OFF, 0),
	SI(SOL_SOCKET, SO_PASSCRED, 1),
	SI(SOL_SOCKET, SO_BINDTOIFINDEX, 1),
	SI(SOL_SOCKET, SO_INCOMING_CPU, 0),
	SI(SOL_SOCKET, SO_TXREHASH, 1),
	SB(SOL_SOCKET, SO_LINGER, "\1\0\0\0\5\0\0\0", 8),
	SB(SOL_SOCKET, SO_RCVTIMEO_OLD, "\1\0\0\0\0\0\0\0\x20\xa1\x07\0\0\0\0\0", 16),
	SB(SOL_SOCKET, SO_BINDTODEVICE, "lo", 3),
	// SOL_SOCKET, invalid
	SIL(SOL_SOCKET, SO_REUSEADDR, 1, 2),
	SB(SOL_SOCKET, SO_LINGER, "\1\0\0\0", 4),
	SB(SOL_SOCKET, SO_RCVTIMEO_OLD, "\1\0\0\0\0\0\0\0\0\x2d\x31\x01\0\0\0\0", 16), // tv_usec 2e7
	SB(SOL_SOCKET, SO_BINDTODEVICE, "nosuchdev0", 11),
	SI(SOL_SOCKET, SO_TYPE, 1),
	SI(SOL_SOCKET, SO_DOMAIN, 1),
	SI(SOL_SOCKET, SO_PROTOCOL, 1),
	SI(SOL_SOCKET, 999, 1),
	SNULL(SOL_SOCKET, SO_KEEPALIVE),

	// IP, valid
	SI(IPPROTO_IP, IP_TOS, 0x10),
	SI(IPPROTO_IP, IP_TOS, 0x13),
	SIL(IPPROTO_IP, IP_TOS, 0x10, 1),
	SI(IPPROTO_IP, IP_TTL, 32),
	SI(IPPROTO_IP, IP_TTL, -1),
	SIL(IPPROTO_IP, IP_TTL, 32, 1),
	SI(IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT),
	SI(IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_OMIT),
	SI(IPPROTO_IP, IP_RECVERR, 1),
	SI(IPPROTO_IP, IP_PKTINFO, 1),
	SI(IPPROTO_IP, IP_RECVTTL, 1),
	SI(IPPROTO_IP, IP_RECVTOS, 1),
	SI(IPPROTO_IP, IP_FREEBIND, 1),
	SI(IPPROTO_IP, IP_TRANSPARENT, 1),
	SI(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1),
	SI(IPPROTO_IP, IP_MINTTL, 10),
	SI(IPPROTO_IP, IP_MULTICAST_TTL, 5),
	SI(IPPROTO_IP, IP_MULTICAST_LOOP, 0),
	SI(IPPROTO_IP, IP_MULTICAST_ALL, 0),
	SI(IPPROTO_IP, IP_LOCAL_PORT_RANGE, (50000 << 16) | 40000),
	SB(IPPROTO_IP, IP_OPTIONS, "\1\1\1\0", 4),
	SB(IPPROTO_IP, IP_OPTIONS, "", 0),
	// IP, invalid
	SI(IPPROTO_IP, IP_TTL, 0),
	SI(IPPROTO_IP, IP_TTL, 256),
	SI(IPPROTO_IP, IP_MTU_DISCOVER, 6),
	SI(IPPROTO_IP, IP_MINTTL, 256),
	SI(IPPROTO_IP, IP_MULTICAST_TTL, 256),
	SIL(IPPROTO_IP, IP_TOS, 0x10, 0),
	SI(IPPROTO_IP, IP_MTU, 1000),
	SI(IPPROTO_IP, IP_HDRINCL, 1),
	SB(IPPROTO_IP, IP_OPTIONS, "\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1", 44),
	SI(IPPROTO_IP, 99, 1),
	SNULL(IPPROTO_IP, IP_TOS),

	// IPv6, valid
	SI(IPPROTO_IPV6, IPV6_V6ONLY, 1),
	SI(IPPROTO_IPV6, IPV6_V6ONLY, 0),
	SI(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 32),
	SI(IPPROTO_IPV6, IPV6_UNICAST_HOPS, -1),
	SI(IPPROTO_IPV6, IPV6_TCLASS, 0x10),
	SI(IPPROTO_IPV6, IPV6_TCLASS, 0x13),
	SI(IPPROTO_IPV6, IPV6_TCLASS, -1),
	SI(IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DONT),
	SI(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1),
	SI(IPPROTO_IPV6, IPV6_RECVERR, 1),
	SI(IPPROTO_IPV6, IPV6_DONTFRAG, 1),
	SI(IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, 0),
	SI(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 5),
	SI(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0),
	SI(IPPROTO_IPV6, IPV6_FREEBIND, 1),
	SI(IPPROTO_IPV6, IPV6_TRANSPARENT, 1),
	SI(IPPROTO_IPV6, IPV6_MINHOPCOUNT, 10),
	SI(IPPROTO_IPV6, IPV6_ADDR_PREFERENCES, IPV6_PREFER_SRC_PUBLIC),
	SI(IPPROTO_IPV6, IPV6_MTU, 1280),
	// IPv6, invalid
	SI(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 256),
	SI(IPPROTO_IPV6, IPV6_UNICAST_HOPS, -2),
	SI(IPPROTO_IPV6, IPV6_TCLASS, 256),
	SI(IPPROTO_IPV6, IPV6_MTU_DISCOVER, 6),
	SI(IPPROTO_IPV6, IPV6_MTU, 100),
	SIL(IPPROTO_IPV6, IPV6_V6ONLY, 1, 1),
	SIL(IPPROTO_IPV6, IPV6_V6ONLY, 1, 0),
	SI(IPPROTO_IPV6, 99, 1),
	SNULL(IPPROTO_IPV6, IPV6_TCLASS),

	// TCP, valid
	SI(IPPROTO_TCP, TCP_NODELAY, 1),
	SI(IPPROTO_TCP, TCP_NODELAY, 2),
	SIL(IPPROTO_TCP, TCP_NODELAY, 1, 8),
	SI(IPPROTO_TCP, TCP_MAXSEG, 1400),
	SI(IPPROTO_TCP, TCP_CORK, 1),
	SI(IPPROTO_TCP, TCP_KEEPIDLE, 30),
	SI(IPPROTO_TCP, TCP_KEEPINTVL, 5),
	SI(IPPROTO_TCP, TCP_KEEPCNT, 3),
	SI(IPPROTO_TCP, TCP_SYNCNT, 3),
	SI(IPPROTO_TCP, TCP_LINGER2, 30),
	SI(IPPROTO_TCP, TCP_LINGER2, -1),
	SI(IPPROTO_TCP, TCP_DEFER_ACCEPT, 5),
	SI(IPPROTO_TCP, TCP_WINDOW_CLAMP, 20000),
	SI(IPPROTO_TCP, TCP_WINDOW_CLAMP, 0),
	SI(IPPROTO_TCP, TCP_QUICKACK, 0),
	SB(IPPROTO_TCP, TCP_CONGESTION, "reno", 4),
	SB(IPPROTO_TCP, TCP_CONGESTION, "cubic", 6),
	SB(IPPROTO_TCP, TCP_CONGESTION, "bbr", 4),
	SI(IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, 1),
	SI(IPPROTO_TCP, TCP_THIN_DUPACK, 1),
	SI(IPPROTO_TCP, TCP_USER_TIMEOUT, 5000),
	SI(IPPROTO_TCP, TCP_REPAIR, 1),
	SI(IPPROTO_TCP, TCP_FASTOPEN, 16),
	SI(IPPROTO_TCP, TCP_NOTSENT_LOWAT, 16384),
	SI(IPPROTO_TCP, TCP_SAVE_SYN, 1),
	SI(IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1),
	SI(IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1),
	SI(IPPROTO_TCP, TCP_INQ, 1),
	SI(IPPROTO_TCP, TCP_TX_DELAY, 1000),
	SI(IPPROTO_TCP, TCP_RTO_MAX_MS, 60000),
	SI(IPPROTO_TCP, TCP_RTO_MIN_US, 100000),
	SI(IPPROTO_TCP, TCP_DELACK_MAX_US, 100000),
	// TCP, invalid
	SIL(IPPROTO_TCP, TCP_NODELAY, 1, 0),
	SIL(IPPROTO_TCP, TCP_NODELAY, 1, 3),
	SI(IPPROTO_TCP, TCP_MAXSEG, 10),
	SI(IPPROTO_TCP, TCP_MAXSEG, 70000),
	SI(IPPROTO_TCP, TCP_KEEPIDLE, 0),
	SI(IPPROTO_TCP, TCP_KEEPIDLE, 32768),
	SI(IPPROTO_TCP, TCP_KEEPINTVL, 0),
	SI(IPPROTO_TCP, TCP_KEEPCNT, 0),
	SI(IPPROTO_TCP, TCP_KEEPCNT, 128),
	SI(IPPROTO_TCP, TCP_SYNCNT, 0),
	SI(IPPROTO_TCP, TCP_SYNCNT, 128),
	SI(IPPROTO_TCP, TCP_USER_TIMEOUT, -1),
	SI(IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 2),
	SI(IPPROTO_TCP, TCP_TX_DELAY, -1),
	SB(IPPROTO_TCP, TCP_CONGESTION, "nosuchcc", 9),
	SB(IPPROTO_TCP, TCP_CONGESTION, "", 0),
	SB(IPPROTO_TCP, TCP_ULP, "nosuchulp", 10),
	SI(IPPROTO_TCP, TCP_INFO, 1),
	SI(IPPROTO_TCP, TCP_TIMESTAMP, 1),
	SI(IPPROTO_TCP, TCP_QUEUE_SEQ, 1),
	SB(IPPROTO_TCP, TCP_MD5SIG, "", 0),
	SI(IPPROTO_TCP, 99, 1),
	SNULL(IPPROTO_TCP, TCP_NODELAY),

	// UDP
	SI(IPPROTO_UDP, UDP_CORK, 1),
	SI(IPPROTO_UDP, UDP_SEGMENT, 1400),
	SI(IPPROTO_UDP, UDP_SEGMENT, 0),
	SI(IPPROTO_UDP, UDP_GRO, 1),
	SI(IPPROTO_UDP, UDP_NO_CHECK6_TX, 1),
	SI(IPPROTO_UDP, UDP_NO_CHECK6_RX, 1),
	SI(IPPROTO_UDP, UDP_SEGMENT, 70000),
	SIL(IPPROTO_UDP, UDP_CORK, 1, 2),
	SI(IPPROTO_UDP, 99, 1),

	// Unknown levels
	SI(999, 1, 1),
	SI(SOL_RAW, 1, 1),
};

#define NSETS (sizeof sets / sizeof sets[0])

static const char *levelname(int level) {
	switch (level) {
	case SOL_SOCKET:
		return "SOL_SOCKET";
	case IPPROTO_IP:
		return "IPPROTO_IP";
	case IPPROTO_IPV6:
		return "IPPROTO_IPV6";
	case IPPROTO_TCP:
		return "IPPROTO_TCP";
	case IPPROTO_UDP:
		return "IPPROTO_UDP";
	case SOL_RAW:
		return "SOL_RAW";
	case SOL_TLS:
		return "SOL_TLS";
	}
	static char b[16];
	snprintf(b, sizeof b, "%d", level);
	return b;
}

static const char *optname(int level, int name) {
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].level == level && opts[i].name == name) {
			const char *s = opts[i].oname;
			return s;
		}
	switch (level) {
	case SOL_SOCKET:
		if (name == SO_SNDBUFFORCE)
			return "SO_SNDBUFFORCE";
		break;
	}
	static char b[16];
	snprintf(b, sizeof b, "%d", name);
	return b;
}

static int maskof(int level, int name) {
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].level == level && opts[i].name == name)
			return opts[i].mask;
	return M_RAW;
}

static const char *errname(int e) {
	if (e == 0)
		return "0";
	const char *s = strerrorname_np(e);
	return s ? s : "?";
}

static uint32_t u32(const unsigned char *b, int off) {
	uint32_t v;
	memcpy(&v, b + off, 4);
	return v;
}

static void hex(const unsigned char *b, int n) {
	for (int i = 0; i < n; i++)
		printf("%02x", b[i]);
}

// printval prints "len=L val=…" for a successful get.
static void printval(int level, int name, const unsigned char *b, int len, int max) {
	printf(" len=%d", len);
	int n = len < max ? len : max;
	if (n < 0)
		n = 0;
	switch (len > 0 ? maskof(level, name) : M_RAW) {
	case M_TCPINFO:
		// Offsets in struct tcp_info (linux/tcp.h): see M_TCPINFO.
		if (n < 104) {
			printf(" val=");
			hex(b, n);
			return;
		}
		printf(" state=%u ca_state=%u retransmits=%u probes=%u backoff=%u options=%#x wscale=%u/%u",
		       b[0], b[1], b[2], b[3], b[4], b[5], b[6] & 15, b[6] >> 4);
		printf(" snd_mss=%u rcv_mss=%u unacked=%u sacked=%u lost=%u retrans=%u pmtu=%u",
		       u32(b, 16), u32(b, 20), u32(b, 24), u32(b, 28), u32(b, 32), u32(b, 36), u32(b, 60));
		printf(" snd_ssthresh=%u snd_cwnd>0=%d advmss=%u reordering=%u total_retrans=%u",
		       u32(b, 76), u32(b, 80) > 0, u32(b, 84), u32(b, 88), u32(b, 100));
		return;
	case M_NONZERO: {
		int nz = 0;
		for (int i = 0; i < n; i++)
			nz |= b[i];
		printf(" val=%s", nz ? "nonzero" : "zero");
		return;
	}
	case M_CCINFO:
		if (n == 20) {
			printf(" gains=");
			hex(b + 12, 8);
			return;
		}
		break;
	case M_CPU:
		if (n == 4) {
			int32_t v = (int32_t)u32(b, 0);
			printf(" val=%s", v == -1 ? "-1" : v >= 0 ? "cpu" : "negative");
			return;
		}
		break;
	case M_PEERNAME:
		if (n >= 2) {
			uint16_t fam;
			memcpy(&fam, b, 2);
			printf(" family=%u", fam);
			if (fam == AF_INET && n >= 8) {
				printf(" addr=");
				hex(b + 4, 4);
			} else if (fam == AF_INET6 && n >= 24) {
				printf(" addr=");
				hex(b + 8, 16);
			}
			return;
		}
		break;
	case M_PEERCRED:
		if (n == 12) {
			printf(" pid0=%d uid=%d gid=%d", u32(b, 0) == 0, (int)u32(b, 4), (int)u32(b, 8));
			return;
		}
		break;
	case M_PIDFD:
		if (n == 4) {
			close((int)u32(b, 0));
			printf(" val=fd");
			return;
		}
		break;
	case M_MEMINFO:
		if (n >= 16) {
			printf(" rcvbuf=%u sndbuf=%u", u32(b, 4), u32(b, 12));
			return;
		}
		break;
	}
	printf(" val=");
	hex(b, n);
	if (n == 4)
		printf("(%d)", (int)u32(b, 0));
}

// get prints one getsockopt probe, the key's OP part given.
static void get(int fd, int level, int name, int optlen) {
	unsigned char b[512];
	memset(b, 0, sizeof b);
	socklen_t l = (socklen_t)optlen;
	errno = 0;
	int r = getsockopt(fd, level, name, b, &l);
	int e = errno;
	printf(" -> ret=%d errno=%s", r, errname(r < 0 ? e : 0));
	if (r == 0)
		printval(level, name, b, (int)l, optlen < 0 ? 0 : optlen);
	printf("\n");
}

// Sockets in a state. mk makes one; the extra fds it needs (the
// listener of a connection, its other end) go to junk and are closed by
// cleanup.
enum { S_TCP_FRESH, S_TCP_BOUND, S_TCP_LISTEN, S_TCP_CLIENT, S_TCP_SERVER, S_UDP_FRESH, S_UDP_BOUND, S_UDP_CONNECTED, NSTATES };
static const char *statenames[] = {"tcp-fresh", "tcp-bound", "tcp-listen", "tcp-client", "tcp-server", "udp-fresh", "udp-bound", "udp-connected"};

static int junk[8], njunk;

static void cleanup(void) {
	while (njunk > 0)
		close(junk[--njunk]);
}

static socklen_t loopback(int fam, struct sockaddr_storage *ss) {
	memset(ss, 0, sizeof *ss);
	if (fam == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof *a;
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	a->sin6_addr = in6addr_loopback;
	return sizeof *a;
}

// bound makes a socket of the type bound to the family's loopback, port 0.
static int bound(int fam, int type) {
	struct sockaddr_storage ss;
	socklen_t n = loopback(fam, &ss);
	int fd = socket(fam, type, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, n) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

// connectto connects fd to where peer is bound.
static int connectto(int fd, int peer) {
	struct sockaddr_storage ss;
	socklen_t n = sizeof ss;
	if (getsockname(peer, (struct sockaddr *)&ss, &n) < 0)
		return -1;
	return connect(fd, (struct sockaddr *)&ss, n);
}

static int mk(int state, int fam) {
	int fd = -1, l, c;
	switch (state) {
	case S_TCP_FRESH:
		return socket(fam, SOCK_STREAM, 0);
	case S_TCP_BOUND:
		return bound(fam, SOCK_STREAM);
	case S_TCP_LISTEN:
		fd = bound(fam, SOCK_STREAM);
		if (fd >= 0 && listen(fd, 16) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	case S_TCP_CLIENT:
	case S_TCP_SERVER:
		l = bound(fam, SOCK_STREAM);
		if (l < 0 || listen(l, 16) < 0)
			return -1;
		junk[njunk++] = l;
		c = socket(fam, SOCK_STREAM, 0);
		if (c < 0 || connectto(c, l) < 0)
			return -1;
		fd = accept(l, 0, 0);
		if (fd < 0)
			return -1;
		if (state == S_TCP_CLIENT) {
			junk[njunk++] = fd;
			return c;
		}
		junk[njunk++] = c;
		return fd;
	case S_UDP_FRESH:
		return socket(fam, SOCK_DGRAM, 0);
	case S_UDP_BOUND:
		return bound(fam, SOCK_DGRAM);
	case S_UDP_CONNECTED:
		l = bound(fam, SOCK_DGRAM);
		if (l < 0)
			return -1;
		junk[njunk++] = l;
		fd = bound(fam, SOCK_DGRAM);
		if (fd < 0 || connectto(fd, l) < 0)
			return -1;
		return fd;
	}
	return -1;
}

static void prefix(int state, int fam, int level, int name) {
	printf("%s %s %s %s", statenames[state], fam == AF_INET ? "inet4" : "inet6", levelname(level), optname(level, name));
}

static void setprobe(int state, int fam, const struct setp *p) {
	prefix(state, fam, p->level, p->name);
	unsigned char v[64];
	memset(v, 0, sizeof v);
	if (p->isint) {
		memcpy(v, &p->ival, 4);
		printf(" set(%d/%d%s)", p->ival, p->len, p->null ? ",null" : "");
	} else {
		memcpy(v, p->bytes, p->blen);
		printf(" set(x");
		hex(v, p->blen);
		printf("/%d)", p->len);
	}
	int fd = mk(state, fam);
	if (fd < 0) {
		printf(" -> setup failed: %s\n", errname(errno));
		cleanup();
		return;
	}
	errno = 0;
	int r = setsockopt(fd, p->level, p->name, p->null ? NULL : v, (socklen_t)p->len);
	printf(" -> ret=%d errno=%s |", r, errname(r < 0 ? errno : 0));
	printf(" get");
	get(fd, p->level, p->name, 512);
	close(fd);
	cleanup();
}

int main(void) {
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	static const int fams[] = {AF_INET, AF_INET6};
	for (int st = 0; st < NSTATES; st++) {
		for (int f = 0; f < 2; f++) {
			int fam = fams[f];
			int fd = mk(st, fam);
			if (fd < 0) {
				printf("%s %s setup -> failed: %s\n", statenames[st], fam == AF_INET ? "inet4" : "inet6", errname(errno));
				cleanup();
				continue;
			}
			for (size_t i = 0; i < NOPTS; i++) {
				prefix(st, fam, opts[i].level, opts[i].name);
				printf(" get(512)");
				get(fd, opts[i].level, opts[i].name, 512);
			}
			for (size_t i = 0; i < sizeof shorts / sizeof shorts[0]; i++) {
				for (int j = 0; shorts[i].lens[j] >= 0; j++) {
					prefix(st, fam, shorts[i].level, shorts[i].name);
					printf(" get(%d)", shorts[i].lens[j]);
					get(fd, shorts[i].level, shorts[i].name, shorts[i].lens[j]);
				}
			}
			// A negative optlen, and no optlen at all.
			static const int bad[][2] = {{SOL_SOCKET, SO_TYPE}, {IPPROTO_IP, IP_TTL}, {IPPROTO_IPV6, IPV6_V6ONLY}, {IPPROTO_TCP, TCP_NODELAY}, {IPPROTO_UDP, UDP_CORK}};
			for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
				prefix(st, fam, bad[i][0], bad[i][1]);
				printf(" get(-1)");
				get(fd, bad[i][0], bad[i][1], -1);
				prefix(st, fam, bad[i][0], bad[i][1]);
				unsigned char b[8];
				errno = 0;
				int r = getsockopt(fd, bad[i][0], bad[i][1], b, NULL);
				printf(" get(null-len) -> ret=%d errno=%s\n", r, errname(r < 0 ? errno : 0));
			}
			close(fd);
			cleanup();
			for (size_t i = 0; i < NSETS; i++)
				setprobe(st, fam, &sets[i]);
		}
	}
	return 0;
}

// cases.c: socket-call cases for the differential errno suite
// (errnodiff_test.go). Each case makes its own sockets, makes one call and
// prints one line: NAME ret=R errno=ENAME [extra]. The output must be the
// same every run and must not depend on port numbers: ports come from
// $PORTBASE (or a base picked from the pid) and are never printed. The
// last line, "END cases=N", says that the program ran to its end.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

typedef union {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
	struct sockaddr_un un;
	unsigned char raw[512];
} A;

#define L4 ((socklen_t)sizeof(struct sockaddr_in))
#define L6 ((socklen_t)sizeof(struct sockaddr_in6))

static int portbase, portnext;
static int regfd, pipefd, nullfd, epfd, closedfd = 500;
static void *unmapped, *rdonly;

// Per-case state.
static char cname[128], extra[1024];
static long cret;
static int cerr, cisfd, crecorded;
static int fds[64], nfds;

static int nport(void) { return portbase + portnext++; }

static const char *ename(int e)
{
	static char b[32];
	const char *n;
	if (e == 0)
		return "0";
	n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(b, sizeof b, "E%d", e);
	return b;
}

static void X(const char *fmt, ...)
{
	size_t n = strlen(extra);
	va_list ap;
	if (n + 2 >= sizeof extra)
		return;
	extra[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(extra + n, sizeof extra - n, fmt, ap);
	va_end(ap);
}

static int reg(int fd)
{
	if (fd >= 0 && nfds < 64)
		fds[nfds++] = fd;
	return fd;
}

static void onalarm(int sig) { (void)sig; }

// Cases before $CASEFROM (an index, from 0) are skipped: a harness whose
// supervisor died in case K can run the rest from K+1.
static int casefrom, caseidx;

static int begin(const char *fmt, ...)
{
	if (caseidx++ < casefrom)
		return 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cname, sizeof cname, fmt, ap);
	va_end(ap);
	extra[0] = 0;
	cret = 0;
	cerr = 0;
	cisfd = 0;
	crecorded = 0;
	nfds = 0;
	// Nothing may block for long: a stuck call gets EINTR after 1 s.
	struct itimerval it = {{0, 0}, {1, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
	return 1;
}

static int end(void)
{
	struct itimerval it = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
	// Close with a reset (linger 0), so that no TIME_WAIT is left on a
	// port a later run may use; in creation order, so that a client goes
	// before the socket it was accepted as.
	struct linger lg = {1, 0};
	for (int i = 0; i < nfds; i++) {
		setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(fds[i]);
	}
	nfds = 0;
	if (!crecorded)
		X("norecord");
	unsigned char vec;
	if (mincore(unmapped, 1, &vec) == 0)
		X("unmapped-page-is-mapped");
	if (cisfd && cret >= 0)
		printf("%s ret=fd errno=0%s\n", cname, extra);
	else
		printf("%s ret=%ld errno=%s%s\n", cname, cret, cret == -1 ? ename(cerr) : "0", extra);
	fflush(stdout);
	return 0;
}

#define CASE(...) for (int _c = begin(__VA_ARGS__); _c; _c = end())
// R records the case's call; RF one that returns a new descriptor.
#define R(x) do { errno = 0; cret = (long)(x); cerr = errno; crecorded = 1; } while (0)
#define RF(x) do { R(x); cisfd = 1; reg((int)cret); } while (0)
// Q runs a setup call and notes in the line if it failed.
#define Q(x) do { errno = 0; if ((long)(x) < 0) X("setup(%s)=%s", #x, ename(errno)); } while (0)

static A a4(const char *ip, int port)
{
	A a;
	memset(&a, 0, sizeof a);
	a.in4.sin_family = AF_INET;
	a.in4.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.in4.sin_addr);
	return a;
}

static A a6(const char *ip, int port)
{
	A a;
	memset(&a, 0, sizeof a);
	a.in6.sin6_family = AF_INET6;
	a.in6.sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &a.in6.sin6_addr);
	return a;
}

// lo is the loopback address of family f, any the wildcard.
static A lo(int f, int port) { return f == AF_INET ? a4("127.0.0.1", port) : a6("::1", port); }
static A any(int f, int port) { return f == AF_INET ? a4("0.0.0.0", port) : a6("::", port); }
static socklen_t alen(int f) { return f == AF_INET ? L4 : L6; }
static const char *fn(int f) { return f == AF_INET ? "4" : "6"; }

static int S(int f, int type, int proto) { return reg(socket(f, type, proto)); }
static int tcp(int f) { return S(f, SOCK_STREAM, 0); }
static int udp(int f) { return S(f, SOCK_DGRAM, 0); }

static void bindto(int s, A a, socklen_t l)
{
	errno = 0;
	if (bind(s, &a.sa, l) < 0)
		X("setup(bind)=%s", ename(errno));
}

// bound returns a socket of type t bound to loopback at a fresh port.
static int bound(int f, int t, int *port)
{
	int s = S(f, t, 0), p = nport();
	bindto(s, lo(f, p), alen(f));
	if (port)
		*port = p;
	return s;
}

static int listener(int f, int *port)
{
	int s = bound(f, SOCK_STREAM, port);
	Q(listen(s, 8));
	return s;
}

static void connto(int s, A a, socklen_t l)
{
	errno = 0;
	if (connect(s, &a.sa, l) < 0)
		X("setup(connect)=%s", ename(errno));
}

// pair makes a connected TCP pair: client c, accepted a; l is the listener.
static void pair(int f, int *c, int *a, int *l)
{
	int p, ls = listener(f, &p);
	*c = tcp(f);
	connto(*c, lo(f, p), alen(f));
	errno = 0;
	*a = reg(accept(ls, NULL, NULL));
	if (*a < 0)
		X("setup(accept)=%s", ename(errno));
	if (l)
		*l = ls;
}

// upair makes two UDP sockets bound to loopback, each connected to the other.
static void upair(int f, int *x, int *y)
{
	int px, py;
	*x = bound(f, SOCK_DGRAM, &px);
	*y = bound(f, SOCK_DGRAM, &py);
	connto(*x, lo(f, py), alen(f));
	connto(*y, lo(f, px), alen(f));
}

static void nonblock(int s) { Q(fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)); }

static void rcvtimeo(int s)
{
	struct timeval tv = {0, 200000};
	Q(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
}

static int waitin(int s)
{
	struct pollfd p = {s, POLLIN, 0};
	return poll(&p, 1, 300);
}

// XA describes an address buffer of given bytes (prefilled with 0xaa)
// after a call returned rlen: the family, the bytes (port bytes shown as
// pp when not zero, 00 when zero) and how many bytes past given changed.
static void XA(A *b, socklen_t given, socklen_t rlen)
{
	char hex[2 * 64 + 1];
	int n = given > 64 ? 64 : (int)given, over = 0, k = 0;
	if ((int)given < 0)
		n = 0;
	for (int i = 0; i < n; i++) {
		if (i == 2 || i == 3) {
			int z = b->raw[2] == 0 && b->raw[3] == 0;
			k += sprintf(hex + k, z ? "00" : "pp");
		} else {
			k += sprintf(hex + k, "%02x", b->raw[i]);
		}
	}
	hex[k] = 0;
	for (int i = n < 0 ? 0 : n; i < (int)sizeof b->raw; i++)
		if (b->raw[i] != 0xaa)
			over++;
	X("len=%d fam=%d raw=%s over=%d", (int)rlen, b->sa.sa_family, k ? hex : "-", over);
}

// XO describes an option buffer of given bytes (prefilled with 0xaa) after
// getsockopt returned rlen: as an int when 4 bytes came back, else in hex.
static void XO(unsigned char *b, int given, socklen_t rlen)
{
	if ((int)rlen == 4 && given >= 4) {
		int v;
		memcpy(&v, b, 4);
		X("val=%d len=4", v);
		return;
	}
	char hex[2 * 16 + 1];
	int n = (int)rlen, k = 0;
	if (n > given)
		n = given;
	if (n > 16)
		n = 16;
	for (int i = 0; i < n; i++)
		k += sprintf(hex + k, "%02x", b[i]);
	hex[k] = 0;
	X("val=%s len=%d", k ? hex : "-", (int)rlen);
}

static int fdflags(int s)
{
	int nb = (fcntl(s, F_GETFL) & O_NONBLOCK) != 0, ce = (fcntl(s, F_GETFD) & FD_CLOEXEC) != 0;
	X("nb=%d cloexec=%d", nb, ce);
	return 0;
}

static void socket_cases(void)
{
	static const struct {
		const char *n;
		int f, t, p;
	} t[] = {
		{"tcp4", AF_INET, SOCK_STREAM, 0},
		{"tcp6", AF_INET6, SOCK_STREAM, 0},
		{"udp4", AF_INET, SOCK_DGRAM, 0},
		{"udp6", AF_INET6, SOCK_DGRAM, 0},
		{"tcp4_ipproto_tcp", AF_INET, SOCK_STREAM, IPPROTO_TCP},
		{"tcp6_ipproto_tcp", AF_INET6, SOCK_STREAM, IPPROTO_TCP},
		{"udp4_ipproto_udp", AF_INET, SOCK_DGRAM, IPPROTO_UDP},
		{"udp6_ipproto_udp", AF_INET6, SOCK_DGRAM, IPPROTO_UDP},
		{"tcp4_nonblock_cloexec", AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0},
		{"udp6_nonblock", AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0},
		{"udp4_cloexec", AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0},
		{"type0_4", AF_INET, 0, 0},
		{"type0_6", AF_INET6, 0, 0},
		{"type99_4", AF_INET, 99, 0},
		{"type99_6", AF_INET6, 99, 0},
		{"seqpacket4", AF_INET, SOCK_SEQPACKET, 0},
		{"seqpacket6", AF_INET6, SOCK_SEQPACKET, 0},
		{"badflag4", AF_INET, SOCK_STREAM | 0x40000000, 0},
		{"badflag6", AF_INET6, SOCK_DGRAM | 0x40000000, 0},
		{"badflag4_o_append", AF_INET, SOCK_STREAM | O_APPEND, 0},
		{"proto_m1_4", AF_INET, SOCK_STREAM, -1},
		{"proto_m1_6", AF_INET6, SOCK_DGRAM, -1},
		{"proto300_4", AF_INET, SOCK_STREAM, 300},
		{"proto300_6", AF_INET6, SOCK_DGRAM, 300},
		{"stream_udp4", AF_INET, SOCK_STREAM, IPPROTO_UDP},
		{"stream_udp6", AF_INET6, SOCK_STREAM, IPPROTO_UDP},
		{"dgram_tcp4", AF_INET, SOCK_DGRAM, IPPROTO_TCP},
		{"dgram_tcp6", AF_INET6, SOCK_DGRAM, IPPROTO_TCP},
		{"sctp_stream4", AF_INET, SOCK_STREAM, IPPROTO_SCTP},
		{"sctp_seqpacket6", AF_INET6, SOCK_SEQPACKET, IPPROTO_SCTP},
		{"mptcp4", AF_INET, SOCK_STREAM, IPPROTO_MPTCP},
		{"mptcp6", AF_INET6, SOCK_STREAM, IPPROTO_MPTCP},
		{"udplite4", AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE},
		{"raw4_icmp", AF_INET, SOCK_RAW, IPPROTO_ICMP},
		{"raw6_icmpv6", AF_INET6, SOCK_RAW, IPPROTO_ICMPV6},
		{"ping4", AF_INET, SOCK_DGRAM, IPPROTO_ICMP},
		{"family_m1", -1, SOCK_STREAM, 0},
		{"family_9999", 9999, SOCK_STREAM, 0},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		CASE("socket_%s", t[i].n) {
			RF(socket(t[i].f, t[i].t, t[i].p));
			if (cret >= 0)
				fdflags((int)cret);
		}
	static const struct {
		const char *n;
		int f, t;
	} p[] = {
		{"tcp4", AF_INET, SOCK_STREAM},
		{"udp4", AF_INET, SOCK_DGRAM},
		{"tcp6", AF_INET6, SOCK_STREAM},
		{"udp6", AF_INET6, SOCK_DGRAM},
		{"type99_4", AF_INET, 99},
	};
	for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
		CASE("socketpair_%s", p[i].n) {
			int sv[2] = {-1, -1};
			R(socketpair(p[i].f, p[i].t, 0, sv));
			reg(sv[0]);
			reg(sv[1]);
		}
}

// badfd_cases: every call on descriptors that are not sockets.
static void badfd_cases(void)
{
	const struct {
		const char *n;
		int fd;
	} t[] = {
		{"fdm1", -1}, {"fd9999", 9999}, {"closed", closedfd}, {"file", regfd},
		{"pipe", pipefd}, {"devnull", nullfd}, {"epoll", epfd},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int fd = t[i].fd;
		const char *n = t[i].n;
		A a = lo(AF_INET, nport()), b;
		socklen_t l = sizeof b;
		char buf[8] = "abc";
		int v = 1;
		struct iovec iov = {buf, 3};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
		CASE("badfd_%s_bind", n) R(bind(fd, &a.sa, L4));
		CASE("badfd_%s_connect", n) R(connect(fd, &a.sa, L4));
		CASE("badfd_%s_listen", n) R(listen(fd, 8));
		CASE("badfd_%s_accept", n) RF(accept(fd, NULL, NULL));
		CASE("badfd_%s_accept4", n) RF(accept4(fd, &b.sa, &l, SOCK_CLOEXEC));
		CASE("badfd_%s_getsockname", n) R(getsockname(fd, &b.sa, &l));
		CASE("badfd_%s_getpeername", n) R(getpeername(fd, &b.sa, &l));
		CASE("badfd_%s_getsockopt", n) { socklen_t ol = sizeof v; R(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &ol)); }
		CASE("badfd_%s_setsockopt", n) R(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
		CASE("badfd_%s_shutdown", n) R(shutdown(fd, SHUT_RDWR));
		CASE("badfd_%s_send", n) R(send(fd, buf, 3, MSG_DONTWAIT));
		CASE("badfd_%s_recv", n) R(recv(fd, buf, 3, MSG_DONTWAIT));
		CASE("badfd_%s_sendto", n) R(sendto(fd, buf, 3, MSG_DONTWAIT, &a.sa, L4));
		CASE("badfd_%s_recvfrom", n) { l = sizeof b; R(recvfrom(fd, buf, 3, MSG_DONTWAIT, &b.sa, &l)); }
		CASE("badfd_%s_sendmsg", n) R(sendmsg(fd, &m, MSG_DONTWAIT));
		CASE("badfd_%s_recvmsg", n) R(recvmsg(fd, &m, MSG_DONTWAIT));
	}
}

static const int lens4[] = {0, 1, 15, 16, 17, 27, 28, 127, 128, 129, -1, INT_MAX};
static const int lens6[] = {0, 1, 15, 16, 17, 23, 24, 27, 28, 127, 128, 129, -1, INT_MAX};

static void getname(int s)
{
	A b;
	socklen_t l = sizeof b;
	memset(&b, 0xaa, sizeof b);
	if (getsockname(s, &b.sa, &l) < 0)
		X("getsockname=%s", ename(errno));
	else
		XA(&b, 32, l);
}

static void bind_cases(void)
{
	int fams[] = {AF_INET, AF_INET6};
	for (int fi = 0; fi < 2; fi++) {
		int f = fams[fi], o = f == AF_INET ? AF_INET6 : AF_INET;
		const char *F = fn(f);
		const int *lens = f == AF_INET ? lens4 : lens6;
		int nl = f == AF_INET ? 12 : 14;
		for (int ti = 0; ti < 2; ti++) {
			int t = ti ? SOCK_DGRAM : SOCK_STREAM;
			const char *T = ti ? "udp" : "tcp";
			CASE("bind_%s%s_lo", T, F) { int s = S(f, t, 0); A a = lo(f, nport()); R(bind(s, &a.sa, alen(f))); getname(s); }
			CASE("bind_%s%s_any", T, F) { int s = S(f, t, 0); A a = any(f, nport()); R(bind(s, &a.sa, alen(f))); getname(s); }
			CASE("bind_%s%s_port0", T, F) { int s = S(f, t, 0); A a = lo(f, 0); R(bind(s, &a.sa, alen(f))); getname(s); }
			CASE("bind_%s%s_any_port0", T, F) { int s = S(f, t, 0); A a = any(f, 0); R(bind(s, &a.sa, alen(f))); getname(s); }
			for (int li = 0; li < nl; li++)
				CASE("bind_%s%s_len%d", T, F, lens[li]) {
					int s = S(f, t, 0);
					A a = lo(f, nport());
					R(bind(s, &a.sa, (socklen_t)lens[li]));
				}
			CASE("bind_%s%s_null", T, F) { int s = S(f, t, 0); R(bind(s, NULL, alen(f))); }
			CASE("bind_%s%s_null_len0", T, F) { int s = S(f, t, 0); R(bind(s, NULL, 0)); }
			CASE("bind_%s%s_ptr1", T, F) { int s = S(f, t, 0); R(bind(s, (void *)1, alen(f))); }
			CASE("bind_%s%s_unmapped", T, F) { int s = S(f, t, 0); R(bind(s, unmapped, alen(f))); }
			CASE("bind_%s%s_rdonly_zero", T, F) { int s = S(f, t, 0); R(bind(s, rdonly, alen(f))); getname(s); }
			CASE("bind_%s%s_family%s", T, F, fn(o)) { int s = S(f, t, 0); A a = lo(o, nport()); R(bind(s, &a.sa, alen(o))); }
			CASE("bind_%s%s_family%s_len28", T, F, fn(o)) { int s = S(f, t, 0); A a = lo(o, nport()); R(bind(s, &a.sa, L6)); }
			CASE("bind_%s%s_unix", T, F) {
				int s = S(f, t, 0);
				A a;
				memset(&a, 0, sizeof a);
				a.un.sun_family = AF_UNIX;
				strcpy(a.un.sun_path, "/tmp/noip-errnodiff-nonexistent");
				R(bind(s, &a.sa, sizeof a.un));
			}
			CASE("bind_%s%s_unspec_any", T, F) { int s = S(f, t, 0); A a = any(f, nport()); a.sa.sa_family = AF_UNSPEC; R(bind(s, &a.sa, alen(f))); getname(s); }
			CASE("bind_%s%s_unspec_lo", T, F) { int s = S(f, t, 0); A a = lo(f, nport()); a.sa.sa_family = AF_UNSPEC; R(bind(s, &a.sa, alen(f))); }
			CASE("bind_%s%s_family9999", T, F) { int s = S(f, t, 0); A a = lo(f, nport()); a.sa.sa_family = 9999; R(bind(s, &a.sa, alen(f))); }
			CASE("bind_%s%s_twice_same", T, F) { int p, s = bound(f, t, &p); A a = lo(f, p); R(bind(s, &a.sa, alen(f))); }
			CASE("bind_%s%s_twice_other", T, F) { int s = bound(f, t, NULL); A a = lo(f, nport()); R(bind(s, &a.sa, alen(f))); }
			CASE("bind_%s%s_after_connect", T, F) {
				int p, l = ti ? bound(f, t, &p) : listener(f, &p), s = S(f, t, 0);
				(void)l;
				connto(s, lo(f, p), alen(f));
				A a = lo(f, nport());
				R(bind(s, &a.sa, alen(f)));
			}
			CASE("bind_%s%s_inuse", T, F) { int p; bound(f, t, &p); int s = S(f, t, 0); A a = lo(f, p); R(bind(s, &a.sa, alen(f))); }
			CASE("bind_%s%s_inuse_any", T, F) { int p; bound(f, t, &p); int s = S(f, t, 0); A a = any(f, p); R(bind(s, &a.sa, alen(f))); }
			CASE("bind_%s%s_inuse_by_any", T, F) {
				int p = nport(), x = S(f, t, 0), s = S(f, t, 0);
				bindto(x, any(f, p), alen(f));
				A a = lo(f, p);
				R(bind(s, &a.sa, alen(f)));
			}
			CASE("bind_%s%s_inuse_reuseaddr", T, F) {
				int v = 1, p = nport(), x = S(f, t, 0), s = S(f, t, 0);
				Q(setsockopt(x, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
				Q(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
				bindto(x, lo(f, p), alen(f));
				A a = lo(f, p);
				R(bind(s, &a.sa, alen(f)));
			}
			CASE("bind_%s%s_inuse_reuseport", T, F) {
				int v = 1, p = nport(), x = S(f, t, 0), s = S(f, t, 0);
				Q(setsockopt(x, SOL_SOCKET, SO_REUSEPORT, &v, sizeof v));
				Q(setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &v, sizeof v));
				bindto(x, lo(f, p), alen(f));
				A a = lo(f, p);
				R(bind(s, &a.sa, alen(f)));
			}
			CASE("bind_%s%s_nonlocal", T, F) {
				int s = S(f, t, 0);
				A a = f == AF_INET ? a4("10.1.2.3", nport()) : a6("2001:db8::1", nport());
				R(bind(s, &a.sa, alen(f)));
			}
			CASE("bind_%s%s_nonlocal_freebind", T, F) {
				int v = 1, s = S(f, t, 0);
				Q(setsockopt(s, f == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, f == AF_INET ? IP_FREEBIND : IPV6_FREEBIND, &v, sizeof v));
				A a = f == AF_INET ? a4("10.1.2.3", nport()) : a6("2001:db8::1", nport());
				R(bind(s, &a.sa, alen(f)));
				getname(s);
			}
			CASE("bind_%s%s_multicast", T, F) {
				int s = S(f, t, 0);
				A a = f == AF_INET ? a4("224.0.0.1", nport()) : a6("ff02::1", nport());
				R(bind(s, &a.sa, alen(f)));
			}
			if (f == AF_INET) {
				CASE("bind_%s4_127_0_0_2", T) { int s = S(f, t, 0); A a = a4("127.0.0.2", nport()); R(bind(s, &a.sa, L4)); getname(s); }
				CASE("bind_%s4_broadcast", T) { int s = S(f, t, 0); A a = a4("255.255.255.255", nport()); R(bind(s, &a.sa, L4)); }
				CASE("bind_%s4_lo_broadcast", T) { int s = S(f, t, 0); A a = a4("127.255.255.255", nport()); R(bind(s, &a.sa, L4)); }
			} else {
				CASE("bind_%s6_mapped_lo", T) { int s = S(f, t, 0); A a = a6("::ffff:127.0.0.1", nport()); R(bind(s, &a.sa, L6)); getname(s); }
				CASE("bind_%s6_mapped_v6only", T) {
					int v = 1, s = S(f, t, 0);
					Q(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v));
					A a = a6("::ffff:127.0.0.1", nport());
					R(bind(s, &a.sa, L6));
				}
				CASE("bind_%s6_mapped_nonlocal", T) { int s = S(f, t, 0); A a = a6("::ffff:10.1.2.3", nport()); R(bind(s, &a.sa, L6)); }
				CASE("bind_%s6_linklocal_noscope", T) { int s = S(f, t, 0); A a = a6("fe80::1", nport()); R(bind(s, &a.sa, L6)); }
				CASE("bind_%s6_lo_scope1", T) { int s = S(f, t, 0); A a = a6("::1", nport()); a.in6.sin6_scope_id = 1; R(bind(s, &a.sa, L6)); getname(s); }
				CASE("bind_%s6_any_inuse_by_v4", T) {
					int p = nport(), x = S(AF_INET, t, 0), s = S(f, t, 0);
					bindto(x, any(AF_INET, p), L4);
					A a = any(f, p);
					R(bind(s, &a.sa, L6));
				}
				CASE("bind_%s6_any_v6only_inuse_by_v4", T) {
					int v = 1, p = nport(), x = S(AF_INET, t, 0), s = S(f, t, 0);
					bindto(x, any(AF_INET, p), L4);
					Q(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v));
					A a = any(f, p);
					R(bind(s, &a.sa, L6));
				}
			}
		}
		CASE("bind_tcp%s_after_listen", F) { int s = listener(f, NULL); A a = lo(f, nport()); R(bind(s, &a.sa, alen(f))); }
		CASE("bind_tcp%s_listener_port", F) { int p; listener(f, &p); int s = tcp(f); A a = lo(f, p); R(bind(s, &a.sa, alen(f))); }
		CASE("bind_tcp%s_listener_port_reuseaddr", F) {
			int v = 1, p = nport(), x = tcp(f), s = tcp(f);
			Q(setsockopt(x, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
			Q(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
			bindto(x, lo(f, p), alen(f));
			Q(listen(x, 8));
			A a = lo(f, p);
			R(bind(s, &a.sa, alen(f)));
		}
		CASE("bind_tcp%s_listener_port_any_reuseaddr", F) {
			int v = 1, p = nport(), x = tcp(f), s = tcp(f);
			Q(setsockopt(x, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
			Q(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
			bindto(x, lo(f, p), alen(f));
			Q(listen(x, 8));
			A a = any(f, p);
			R(bind(s, &a.sa, alen(f)));
		}
		CASE("bind_tcp%s_udp_port", F) { int p; bound(f, SOCK_DGRAM, &p); int s = tcp(f); A a = lo(f, p); R(bind(s, &a.sa, alen(f))); }
		CASE("bind_udp%s_tcp_port", F) { int p; listener(f, &p); int s = udp(f); A a = lo(f, p); R(bind(s, &a.sa, alen(f))); }
		CASE("bind_tcp%s_accepted_port", F) {
			int c, a0, l, p;
			pair(f, &c, &a0, &l);
			A b;
			socklen_t bl = sizeof b;
			Q(getsockname(c, &b.sa, &bl));
			p = ntohs(b.in4.sin_port);
			int s = tcp(f);
			A a = lo(f, p);
			R(bind(s, &a.sa, alen(f)));
		}
	}
}

static int soerror(int s)
{
	int e = -1;
	socklen_t l = sizeof e;
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
		X("so_error:%s", ename(errno));
	else
		X("so_error=%s", ename(e));
	return e;
}

static void peer(int s)
{
	A b;
	socklen_t l = sizeof b;
	memset(&b, 0xaa, sizeof b);
	if (getpeername(s, &b.sa, &l) < 0)
		X("getpeername=%s", ename(errno));
	else
		XA(&b, 32, l);
}

static void connect_cases(void)
{
	int fams[] = {AF_INET, AF_INET6};
	for (int fi = 0; fi < 2; fi++) {
		int f = fams[fi], o = f == AF_INET ? AF_INET6 : AF_INET;
		const char *F = fn(f);
		const int *lens = f == AF_INET ? lens4 : lens6;
		int nl = f == AF_INET ? 12 : 14;
		// TCP
		CASE("connect_tcp%s_free", F) { int s = tcp(f); A a = lo(f, nport()); R(connect(s, &a.sa, alen(f))); soerror(s); getname(s); }
		CASE("connect_tcp%s_free_any", F) { int s = tcp(f); A a = any(f, nport()); R(connect(s, &a.sa, alen(f))); }
		CASE("connect_tcp%s_port0", F) { int s = tcp(f); A a = lo(f, 0); R(connect(s, &a.sa, alen(f))); }
		CASE("connect_tcp%s_listener", F) { int p, l = listener(f, &p), s = tcp(f); (void)l; A a = lo(f, p); R(connect(s, &a.sa, alen(f))); getname(s); peer(s); }
		CASE("connect_tcp%s_listener_any", F) {
			int p = nport(), l = tcp(f), s = tcp(f);
			bindto(l, any(f, p), alen(f));
			Q(listen(l, 8));
			A a = lo(f, p);
			R(connect(s, &a.sa, alen(f)));
			peer(s);
		}
		CASE("connect_tcp%s_to_any_listener_any", F) {
			int p = nport(), l = tcp(f), s = tcp(f);
			bindto(l, any(f, p), alen(f));
			Q(listen(l, 8));
			A a = any(f, p);
			R(connect(s, &a.sa, alen(f)));
			peer(s);
		}
		CASE("connect_tcp%s_bound_unlistened", F) { int p, l = bound(f, SOCK_STREAM, &p), s = tcp(f); (void)l; A a = lo(f, p); R(connect(s, &a.sa, alen(f))); }
		CASE("connect_tcp%s_closed_listener", F) { int p, l = listener(f, &p), s = tcp(f); close(l); fds[0] = -1; A a = lo(f, p); R(connect(s, &a.sa, alen(f))); }
		CASE("connect_tcp%s_nb_listener", F) {
			int p, l = listener(f, &p), s = tcp(f);
			(void)l;
			nonblock(s);
			A a = lo(f, p);
			R(connect(s, &a.sa, alen(f)));
			struct pollfd pf = {s, POLLOUT, 0};
			X("poll=%d", poll(&pf, 1, 300));
			X("revents=%#x", pf.revents);
			soerror(s);
			peer(s);
		}
		CASE("connect_tcp%s_nb_free", F) {
			int s = tcp(f);
			nonblock(s);
			A a = lo(f, nport());
			R(connect(s, &a.sa, alen(f)));
			struct pollfd pf = {s, POLLOUT, 0};
			X("poll=%d", poll(&pf, 1, 300));
			X("revents=%#x", pf.revents);
			soerror(s);
			soerror(s);
		}
		CASE("connect_tcp%s_nb_free_twice", F) {
			int s = tcp(f);
			nonblock(s);
			A a = lo(f, nport());
			Q(connect(s, &a.sa, alen(f)) == 0 || errno == EINPROGRESS ? 0 : -1);
			struct pollfd pf = {s, POLLOUT, 0};
			poll(&pf, 1, 300);
			R(connect(s, &a.sa, alen(f)));
		}
		CASE("connect_tcp%s_nb_listener_twice", F) {
			int p, l = listener(f, &p), s = tcp(f);
			(void)l;
			nonblock(s);
			A a = lo(f, p);
			Q(connect(s, &a.sa, alen(f)) == 0 || errno == EINPROGRESS ? 0 : -1);
			struct pollfd pf = {s, POLLOUT, 0};
			poll(&pf, 1, 300);
			R(connect(s, &a.sa, alen(f)));
		}
		CASE("connect_tcp%s_twice", F) { int p, l = listener(f, &p), s = tcp(f); (void)l; A a = lo(f, p); connto(s, a, alen(f)); R(connect(s, &a.sa, alen(f))); }
		CASE("connect_tcp%s_twice_other", F) {
			int p, l = listener(f, &p), s = tcp(f);
			(void)l;
			connto(s, lo(f, p), alen(f));
			A a = lo(f, nport());
			R(connect(s, &a.sa, alen(f)));
		}
		CASE("connect_tcp%s_after_refused", F) { int s = tcp(f); A a = lo(f, nport()); connect(s, &a.sa, alen(f)); R(connect(s, &a.sa, alen(f))); }
		CASE("connect_tcp%s_after_listen", F) { int p, l = listener(f, &p); A a = lo(f, p); R(connect(l, &a.sa, alen(f))); }
		CASE("connect_tcp%s_after_listen_other", F) { int l = listener(f, NULL), p; listener(f, &p); A a = lo(f, p); R(connect(l, &a.sa, alen(f))); }
		CASE("connect_tcp%s_accepted", F) { int c, a0, l; pair(f, &c, &a0, &l); int p; listener(f, &p); A a = lo(f, p); R(connect(a0, &a.sa, alen(f))); }
		CASE("connect_tcp%s_bound", F) {
			int p, l = listener(f, &p), q, s = bound(f, SOCK_STREAM, &q);
			(void)l;
			A a = lo(f, p);
			R(connect(s, &a.sa, alen(f)));
			getname(s);
		}
		CASE("connect_tcp%s_bound_any", F) {
			int p, l = listener(f, &p), s = tcp(f);
			(void)l;
			bindto(s, any(f, nport()), alen(f));
			A a = lo(f, p);
			R(connect(s, &a.sa, alen(f)));
			getname(s);
		}
		CASE("connect_tcp%s_self", F) { int p, s = bound(f, SOCK_STREAM, &p); A a = lo(f, p); R(connect(s, &a.sa, alen(f))); getname(s); peer(s); }
		CASE("connect_tcp%s_after_shutdown", F) {
			int c, a0, l;
			pair(f, &c, &a0, &l);
			Q(shutdown(c, SHUT_RDWR));
			int p;
			listener(f, &p);
			A a = lo(f, p);
			R(connect(c, &a.sa, alen(f)));
		}
		for (int li = 0; li < nl; li++)
			CASE("connect_tcp%s_len%d", F, lens[li]) { int s = tcp(f); A a = lo(f, nport()); R(connect(s, &a.sa, (socklen_t)lens[li])); }
		CASE("connect_tcp%s_listener_len%d", F, f == AF_INET ? 17 : 128) {
			int p, l = listener(f, &p), s = tcp(f);
			(void)l;
			A a = lo(f, p);
			R(connect(s, &a.sa, f == AF_INET ? 17 : 128));
		}
		CASE("connect_tcp%s_null", F) { int s = tcp(f); R(connect(s, NULL, alen(f))); }
		CASE("connect_tcp%s_null_len0", F) { int s = tcp(f); R(connect(s, NULL, 0)); }
		CASE("connect_tcp%s_ptr1", F) { int s = tcp(f); R(connect(s, (void *)1, alen(f))); }
		CASE("connect_tcp%s_unmapped", F) { int s = tcp(f); R(connect(s, unmapped, alen(f))); }
		CASE("connect_tcp%s_rdonly_zero", F) { int s = tcp(f); R(connect(s, rdonly, alen(f))); }
		CASE("connect_tcp%s_family%s", F, fn(o)) { int s = tcp(f); A a = lo(o, nport()); R(connect(s, &a.sa, alen(o))); }
		CASE("connect_tcp%s_family%s_len28", F, fn(o)) { int s = tcp(f); A a = lo(o, nport()); R(connect(s, &a.sa, L6)); }
		CASE("connect_tcp%s_unix", F) {
			int s = tcp(f);
			A a;
			memset(&a, 0, sizeof a);
			a.un.sun_family = AF_UNIX;
			strcpy(a.un.sun_path, "/tmp/noip-errnodiff-nonexistent");
			R(connect(s, &a.sa, sizeof a.un));
		}
		CASE("connect_tcp%s_unspec", F) { int s = tcp(f); A a = lo(f, nport()); a.sa.sa_family = AF_UNSPEC; R(connect(s, &a.sa, alen(f))); getname(s); }
		CASE("connect_tcp%s_unspec_len2", F) { int s = tcp(f); A a = lo(f, nport()); a.sa.sa_family = AF_UNSPEC; R(connect(s, &a.sa, 2)); }
		CASE("connect_tcp%s_unspec_len1", F) { int s = tcp(f); A a = lo(f, nport()); a.sa.sa_family = AF_UNSPEC; R(connect(s, &a.sa, 1)); }
		CASE("connect_tcp%s_unspec_connected", F) {
			int c, a0, l;
			pair(f, &c, &a0, &l);
			A a = lo(f, 0);
			a.sa.sa_family = AF_UNSPEC;
			R(connect(c, &a.sa, alen(f)));
			peer(c);
			getname(c);
		}
		CASE("connect_tcp%s_unspec_listener", F) {
			int l = listener(f, NULL);
			A a = lo(f, 0);
			a.sa.sa_family = AF_UNSPEC;
			R(connect(l, &a.sa, alen(f)));
			X("listen_again=%d", listen(l, 8));
		}
		CASE("connect_tcp%s_family9999", F) { int s = tcp(f); A a = lo(f, nport()); a.sa.sa_family = 9999; R(connect(s, &a.sa, alen(f))); }
		CASE("connect_tcp%s_multicast", F) { int s = tcp(f); A a = f == AF_INET ? a4("224.0.0.1", nport()) : a6("ff02::1", nport()); R(connect(s, &a.sa, alen(f))); }
		if (f == AF_INET) {
			CASE("connect_tcp4_broadcast") { int s = tcp(f); A a = a4("255.255.255.255", nport()); R(connect(s, &a.sa, L4)); }
			CASE("connect_tcp4_lo_broadcast") { int s = tcp(f); A a = a4("127.255.255.255", nport()); R(connect(s, &a.sa, L4)); }
			CASE("connect_tcp4_127_0_0_2_free") { int s = tcp(f); A a = a4("127.0.0.2", nport()); R(connect(s, &a.sa, L4)); getname(s); }
			CASE("connect_tcp4_127_0_0_2_listener_lo") { int p, l = listener(f, &p), s = tcp(f); (void)l; A a = a4("127.0.0.2", p); R(connect(s, &a.sa, L4)); }
			CASE("connect_tcp4_127_0_0_2_listener_any") {
				int p = nport(), l = tcp(f), s = tcp(f);
				bindto(l, any(f, p), L4);
				Q(listen(l, 8));
				A a = a4("127.0.0.2", p);
				R(connect(s, &a.sa, L4));
				getname(s);
				peer(s);
			}
		} else {
			CASE("connect_tcp6_mapped_free") { int s = tcp(f); A a = a6("::ffff:127.0.0.1", nport()); R(connect(s, &a.sa, L6)); }
			CASE("connect_tcp6_mapped_listener4") {
				int p, l = listener(AF_INET, &p), s = tcp(f);
				(void)l;
				A a = a6("::ffff:127.0.0.1", p);
				R(connect(s, &a.sa, L6));
				getname(s);
				peer(s);
			}
			CASE("connect_tcp6_mapped_v6only") {
				int v = 1, p, l = listener(AF_INET, &p), s = tcp(f);
				(void)l;
				Q(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v));
				A a = a6("::ffff:127.0.0.1", p);
				R(connect(s, &a.sa, L6));
			}
			CASE("connect_tcp4_to_listener6_any") {
				int p = nport(), l = tcp(f), s = tcp(AF_INET);
				bindto(l, any(f, p), L6);
				Q(listen(l, 8));
				A a = lo(AF_INET, p);
				R(connect(s, &a.sa, L4));
				errno = 0;
				A b;
				memset(&b, 0xaa, sizeof b);
				socklen_t bl = sizeof b;
				int x = reg(accept(l, &b.sa, &bl));
				X("accept=%s", x < 0 ? ename(errno) : "fd");
				if (x >= 0)
					XA(&b, 32, bl);
			}
			CASE("connect_tcp4_to_listener6_v6only") {
				int v = 1, p = nport(), l = tcp(f), s = tcp(AF_INET);
				Q(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v));
				bindto(l, any(f, p), L6);
				Q(listen(l, 8));
				A a = lo(AF_INET, p);
				R(connect(s, &a.sa, L4));
			}
			CASE("connect_tcp6_linklocal_noscope") { int s = tcp(f); A a = a6("fe80::1", nport()); R(connect(s, &a.sa, L6)); }
		}
		// UDP
		CASE("connect_udp%s_free", F) { int s = udp(f); A a = lo(f, nport()); R(connect(s, &a.sa, alen(f))); getname(s); peer(s); }
		CASE("connect_udp%s_any", F) { int s = udp(f); A a = any(f, nport()); R(connect(s, &a.sa, alen(f))); getname(s); peer(s); }
		CASE("connect_udp%s_port0", F) { int s = udp(f); A a = lo(f, 0); R(connect(s, &a.sa, alen(f))); peer(s); }
		CASE("connect_udp%s_twice", F) { int s = udp(f); A a = lo(f, nport()); connto(s, a, alen(f)); a = lo(f, nport()); R(connect(s, &a.sa, alen(f))); peer(s); }
		CASE("connect_udp%s_unspec", F) {
			int s = udp(f);
			connto(s, lo(f, nport()), alen(f));
			A a = lo(f, 0);
			a.sa.sa_family = AF_UNSPEC;
			R(connect(s, &a.sa, alen(f)));
			peer(s);
			getname(s);
		}
		CASE("connect_udp%s_unspec_unconnected", F) { int s = udp(f); A a = lo(f, 0); a.sa.sa_family = AF_UNSPEC; R(connect(s, &a.sa, alen(f))); }
		CASE("connect_udp%s_len15", F) { int s = udp(f); A a = lo(f, nport()); R(connect(s, &a.sa, 15)); }
		CASE("connect_udp%s_len%d", F, alen(f) + 1) { int s = udp(f); A a = lo(f, nport()); R(connect(s, &a.sa, alen(f) + 1)); }
		CASE("connect_udp%s_len129", F) { int s = udp(f); A a = lo(f, nport()); R(connect(s, &a.sa, 129)); }
		CASE("connect_udp%s_null", F) { int s = udp(f); R(connect(s, NULL, alen(f))); }
		CASE("connect_udp%s_family%s", F, fn(o)) { int s = udp(f); A a = lo(o, nport()); R(connect(s, &a.sa, alen(o))); }
		CASE("connect_udp%s_multicast", F) { int s = udp(f); A a = f == AF_INET ? a4("224.0.0.1", nport()) : a6("ff02::1", nport()); R(connect(s, &a.sa, alen(f))); }
		CASE("connect_udp%s_bound", F) { int s = bound(f, SOCK_DGRAM, NULL); A a = lo(f, nport()); R(connect(s, &a.sa, alen(f))); getname(s); }
		if (f == AF_INET) {
			CASE("connect_udp4_broadcast") { int s = udp(f); A a = a4("255.255.255.255", nport()); R(connect(s, &a.sa, L4)); }
			CASE("connect_udp4_lo_broadcast") { int s = udp(f); A a = a4("127.255.255.255", nport()); R(connect(s, &a.sa, L4)); }
			CASE("connect_udp4_broadcast_so_broadcast") {
				int v = 1, s = udp(f);
				Q(setsockopt(s, SOL_SOCKET, SO_BROADCAST, &v, sizeof v));
				A a = a4("127.255.255.255", nport());
				R(connect(s, &a.sa, L4));
			}
		} else {
			CASE("connect_udp6_mapped") { int s = udp(f); A a = a6("::ffff:127.0.0.1", nport()); R(connect(s, &a.sa, L6)); getname(s); }
		}
	}
}

static void listen_cases(void)
{
	int fams[] = {AF_INET, AF_INET6};
	for (int fi = 0; fi < 2; fi++) {
		int f = fams[fi];
		const char *F = fn(f);
		CASE("listen_tcp%s_unbound", F) { int s = tcp(f); R(listen(s, 8)); getname(s); }
		CASE("listen_tcp%s_bound", F) { int s = bound(f, SOCK_STREAM, NULL); R(listen(s, 8)); getname(s); }
		CASE("listen_tcp%s_bound_any", F) { int s = tcp(f); bindto(s, any(f, nport()), alen(f)); R(listen(s, 8)); getname(s); }
		CASE("listen_tcp%s_twice", F) { int s = listener(f, NULL); R(listen(s, 8)); }
		CASE("listen_tcp%s_backlog_m1", F) { int s = bound(f, SOCK_STREAM, NULL); R(listen(s, -1)); }
		CASE("listen_tcp%s_backlog_0", F) { int s = bound(f, SOCK_STREAM, NULL); R(listen(s, 0)); }
		CASE("listen_tcp%s_backlog_1g", F) { int s = bound(f, SOCK_STREAM, NULL); R(listen(s, 1 << 30)); }
		CASE("listen_tcp%s_backlog_intmin", F) { int s = bound(f, SOCK_STREAM, NULL); R(listen(s, INT_MIN)); }
		CASE("listen_udp%s", F) { int s = udp(f); R(listen(s, 8)); }
		CASE("listen_udp%s_bound", F) { int s = bound(f, SOCK_DGRAM, NULL); R(listen(s, 8)); }
		CASE("listen_tcp%s_connected", F) { int c, a, l; pair(f, &c, &a, &l); R(listen(c, 8)); }
		CASE("listen_tcp%s_accepted", F) { int c, a, l; pair(f, &c, &a, &l); R(listen(a, 8)); }
		CASE("listen_tcp%s_after_refused", F) { int s = tcp(f); A a = lo(f, nport()); connect(s, &a.sa, alen(f)); R(listen(s, 8)); }
		CASE("listen_tcp%s_after_shutdown", F) { int s = listener(f, NULL); Q(shutdown(s, SHUT_RDWR)); R(listen(s, 8)); }
		CASE("listen_tcp%s_reuseaddr_both", F) {
			int v = 1, p = nport(), x = tcp(f), s = tcp(f);
			Q(setsockopt(x, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
			Q(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
			bindto(x, lo(f, p), alen(f));
			bindto(s, lo(f, p), alen(f));
			Q(listen(x, 8));
			R(listen(s, 8));
		}
		CASE("listen_tcp%s_reuseport_both", F) {
			int v = 1, p = nport(), x = tcp(f), s = tcp(f);
			Q(setsockopt(x, SOL_SOCKET, SO_REUSEPORT, &v, sizeof v));
			Q(setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &v, sizeof v));
			bindto(x, lo(f, p), alen(f));
			bindto(s, lo(f, p), alen(f));
			Q(listen(x, 8));
			R(listen(s, 8));
		}
	}
}

static void acceptinfo(int s)
{
	if (s >= 0) {
		fdflags(s);
		getname(s);
		peer(s);
	}
}

// pending makes a listener with one connection waiting to be accepted.
static int pending(int f)
{
	int p, l = listener(f, &p), c = tcp(f);
	connto(c, lo(f, p), alen(f));
	return l;
}

static void next(int l)
{
	int fl = fcntl(l, F_GETFL);
	fcntl(l, F_SETFL, fl | O_NONBLOCK);
	errno = 0;
	int x = reg(accept(l, NULL, NULL));
	X("next=%s", x < 0 ? ename(errno) : "fd");
	fcntl(l, F_SETFL, fl);
}

static void accept_cases(void)
{
	int fams[] = {AF_INET, AF_INET6};
	for (int fi = 0; fi < 2; fi++) {
		int f = fams[fi];
		const char *F = fn(f);
		CASE("accept_tcp%s_unbound", F) { int s = tcp(f); RF(accept(s, NULL, NULL)); }
		CASE("accept_tcp%s_bound", F) { int s = bound(f, SOCK_STREAM, NULL); RF(accept(s, NULL, NULL)); }
		CASE("accept_tcp%s_connected", F) { int c, a, l; pair(f, &c, &a, &l); RF(accept(c, NULL, NULL)); }
		CASE("accept_tcp%s_refused", F) { int s = tcp(f); A a = lo(f, nport()); connect(s, &a.sa, alen(f)); RF(accept(s, NULL, NULL)); }
		CASE("accept_udp%s", F) { int s = udp(f); RF(accept(s, NULL, NULL)); }
		CASE("accept_udp%s_bound", F) { int s = bound(f, SOCK_DGRAM, NULL); RF(accept(s, NULL, NULL)); }
		CASE("accept_tcp%s_empty_nonblock", F) { int s = listener(f, NULL); nonblock(s); RF(accept(s, NULL, NULL)); }
		CASE("accept4_tcp%s_empty_flag_nonblock", F) { int s = listener(f, NULL); nonblock(s); RF(accept4(s, NULL, NULL, SOCK_NONBLOCK)); }
		CASE("accept_tcp%s_empty_rcvtimeo", F) { int s = listener(f, NULL); rcvtimeo(s); RF(accept(s, NULL, NULL)); }
		CASE("accept_tcp%s_after_shutdown", F) { int s = listener(f, NULL); Q(shutdown(s, SHUT_RDWR)); nonblock(s); RF(accept(s, NULL, NULL)); }
		CASE("accept_tcp%s_pending", F) { int l = pending(f); RF(accept(l, NULL, NULL)); acceptinfo((int)cret); next(l); }
		CASE("accept4_tcp%s_flags_nonblock_cloexec", F) { int l = pending(f); RF(accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)); acceptinfo((int)cret); }
		CASE("accept_tcp%s_pending_nonblock_listener", F) { int l = pending(f); nonblock(l); RF(accept(l, NULL, NULL)); acceptinfo((int)cret); }
		CASE("accept4_tcp%s_badflag1", F) { int l = pending(f); RF(accept4(l, NULL, NULL, 1)); next(l); }
		CASE("accept4_tcp%s_badflag_m1", F) { int l = pending(f); RF(accept4(l, NULL, NULL, -1)); next(l); }
		CASE("accept4_tcp%s_badflag_empty", F) { int l = listener(f, NULL); RF(accept4(l, NULL, NULL, 0x100)); }
		CASE("accept4_tcp%s_badflag_unbound", F) { int s = tcp(f); RF(accept4(s, NULL, NULL, 0x100)); }
		int ls[] = {0, 2, 8, 16, 28, 128};
		for (int i = 0; i < 6; i++)
			CASE("accept_tcp%s_len%d", F, ls[i]) {
				int l = pending(f);
				A b;
				memset(&b, 0xaa, sizeof b);
				socklen_t bl = ls[i];
				RF(accept(l, &b.sa, &bl));
				if (cret >= 0)
					XA(&b, ls[i], bl);
				next(l);
			}
		CASE("accept_tcp%s_len_m1", F) { int l = pending(f); A b; socklen_t bl = -1; RF(accept(l, &b.sa, &bl)); next(l); }
		CASE("accept_tcp%s_addr_null_len", F) { int l = pending(f); socklen_t bl = 16; RF(accept(l, NULL, &bl)); X("len=%d", (int)bl); next(l); }
		CASE("accept_tcp%s_len_null", F) { int l = pending(f); A b; RF(accept(l, &b.sa, NULL)); next(l); }
		CASE("accept_tcp%s_addr_ptr1", F) { int l = pending(f); socklen_t bl = 32; RF(accept(l, (void *)1, &bl)); next(l); }
		CASE("accept_tcp%s_addr_rdonly", F) { int l = pending(f); socklen_t bl = 32; RF(accept(l, rdonly, &bl)); next(l); }
		CASE("accept_tcp%s_addr_unmapped", F) { int l = pending(f); socklen_t bl = 32; RF(accept(l, unmapped, &bl)); next(l); }
		CASE("accept_tcp%s_len_rdonly", F) { int l = pending(f); A b; RF(accept(l, &b.sa, rdonly)); next(l); }
		CASE("accept_tcp%s_len_unmapped", F) { int l = pending(f); A b; RF(accept(l, &b.sa, unmapped)); next(l); }
		CASE("accept_tcp%s_empty_addr_ptr1", F) { int l = listener(f, NULL); nonblock(l); socklen_t bl = 32; RF(accept(l, (void *)1, &bl)); }
	}
}

// Socket states for the name and option matrices.
enum { ST_UNBOUND, ST_BOUND, ST_LISTEN, ST_CONN, ST_ACCEPTED, ST_UDP, ST_UDPBOUND, ST_UDPCONN, NST };
static const char *stname[] = {"unbound", "bound", "listen", "conn", "accepted", "udp", "udpbound", "udpconn"};

static int mkstate(int st, int f)
{
	int c, a, l, x, y;
	switch (st) {
	case ST_UNBOUND: return tcp(f);
	case ST_BOUND: return bound(f, SOCK_STREAM, NULL);
	case ST_LISTEN: return listener(f, NULL);
	case ST_CONN: pair(f, &c, &a, &l); return c;
	case ST_ACCEPTED: pair(f, &c, &a, &l); return a;
	case ST_UDP: return udp(f);
	case ST_UDPBOUND: return bound(f, SOCK_DGRAM, NULL);
	default: upair(f, &x, &y); return x;
	}
}

static void name_cases(void)
{
	int fams[] = {AF_INET, AF_INET6}, ls[] = {0, 2, 8, 16, 28};
	for (int fi = 0; fi < 2; fi++) {
		int f = fams[fi];
		for (int st = 0; st < NST; st++)
			for (int peerc = 0; peerc < 2; peerc++)
				for (int li = 0; li < 5; li++)
					CASE("%s%s_%s_len%d", peerc ? "getpeername" : "getsockname", fn(f), stname[st], ls[li]) {
						int s = mkstate(st, f);
						A b;
						memset(&b, 0xaa, sizeof b);
						socklen_t l = ls[li];
						R(peerc ? getpeername(s, &b.sa, &l) : getsockname(s, &b.sa, &l));
						if (cret == 0)
							XA(&b, ls[li], l);
					}
		for (int peerc = 0; peerc < 2; peerc++) {
			const char *n = peerc ? "getpeername" : "getsockname";
			int (*g)(int, struct sockaddr *, socklen_t *) = peerc ? getpeername : getsockname;
			CASE("%s%s_len_m1", n, fn(f)) { int s = mkstate(ST_CONN, f); A b; socklen_t l = -1; R(g(s, &b.sa, &l)); }
			CASE("%s%s_len_intmax", n, fn(f)) { int s = mkstate(ST_CONN, f); A b; memset(&b, 0xaa, sizeof b); socklen_t l = INT_MAX; R(g(s, &b.sa, &l)); if (cret == 0) XA(&b, 32, l); }
			CASE("%s%s_addr_null", n, fn(f)) { int s = mkstate(ST_CONN, f); socklen_t l = 32; R(g(s, NULL, &l)); X("len=%d", (int)l); }
			CASE("%s%s_addr_null_len0", n, fn(f)) { int s = mkstate(ST_CONN, f); socklen_t l = 0; R(g(s, NULL, &l)); X("len=%d", (int)l); }
			CASE("%s%s_len_null", n, fn(f)) { int s = mkstate(ST_CONN, f); A b; R(g(s, &b.sa, NULL)); }
			CASE("%s%s_addr_ptr1", n, fn(f)) { int s = mkstate(ST_CONN, f); socklen_t l = 32; R(g(s, (void *)1, &l)); X("len=%d", (int)l); }
			CASE("%s%s_addr_rdonly", n, fn(f)) { int s = mkstate(ST_CONN, f); socklen_t l = 32; R(g(s, rdonly, &l)); X("len=%d", (int)l); }
			CASE("%s%s_addr_unmapped", n, fn(f)) { int s = mkstate(ST_CONN, f); socklen_t l = 32; R(g(s, unmapped, &l)); }
			CASE("%s%s_len_rdonly", n, fn(f)) { int s = mkstate(ST_CONN, f); A b; memset(&b, 0xaa, sizeof b); R(g(s, &b.sa, rdonly)); X("fam=%d", b.sa.sa_family); }
			CASE("%s%s_len_unmapped", n, fn(f)) { int s = mkstate(ST_CONN, f); A b; R(g(s, &b.sa, unmapped)); }
			CASE("%s%s_unconn_addr_ptr1", n, fn(f)) { int s = mkstate(ST_UNBOUND, f); socklen_t l = 32; R(g(s, (void *)1, &l)); }
		}
	}
}

// Option kinds: how getsockopt should show the value.
enum { K_INT, K_RAW, K_STR, K_INFO, K_CRED };
#define OT 1 // on TCP sockets
#define OU 2 // on UDP sockets
#define O4 4 // on AF_INET sockets
#define O6 8 // on AF_INET6 sockets
#define OA 15
#define OPT(l, n, k, sz, m) {#n, l, n, k, sz, m}
static const struct opt {
	const char *n;
	int level, name, kind, size, mask;
} opts[] = {
	OPT(SOL_SOCKET, SO_TYPE, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_DOMAIN, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_PROTOCOL, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_ACCEPTCONN, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_ERROR, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_REUSEADDR, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_REUSEPORT, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_KEEPALIVE, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_BROADCAST, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_LINGER, K_RAW, 8, OA),
	OPT(SOL_SOCKET, SO_OOBINLINE, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_RCVLOWAT, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_PRIORITY, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_PASSCRED, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_SNDBUF, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_RCVBUF, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_PEERCRED, K_CRED, 12, OA),
	OPT(SOL_SOCKET, SO_BINDTODEVICE, K_STR, 16, OA),
	OPT(SOL_SOCKET, SO_RCVTIMEO, K_RAW, 16, OA),
	OPT(SOL_SOCKET, SO_MARK, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_TIMESTAMP, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_DONTROUTE, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_PEEK_OFF, K_INT, 4, OA),
	OPT(SOL_SOCKET, SO_ZEROCOPY, K_INT, 4, OA),
	OPT(SOL_SOCKET, 999, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_TTL, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_TOS, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_OPTIONS, K_RAW, 40, OA),
	OPT(IPPROTO_IP, IP_MTU, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_MTU_DISCOVER, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_RECVERR, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_PKTINFO, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_RECVTOS, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_MULTICAST_TTL, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_MULTICAST_LOOP, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_FREEBIND, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_TRANSPARENT, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, K_INT, 4, OA),
	OPT(IPPROTO_IP, IP_HDRINCL, K_INT, 4, OA),
	OPT(IPPROTO_IP, 999, K_INT, 4, OA),
	OPT(IPPROTO_IPV6, IPV6_V6ONLY, K_INT, 4, OA),
	OPT(IPPROTO_IPV6, IPV6_UNICAST_HOPS, K_INT, 4, O6 | OT | OU),
	OPT(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, K_INT, 4, O6 | OT | OU),
	OPT(IPPROTO_IPV6, IPV6_TCLASS, K_INT, 4, O6 | OT | OU),
	OPT(IPPROTO_IPV6, IPV6_MTU, K_INT, 4, O6 | OT | OU),
	OPT(IPPROTO_IPV6, IPV6_MTU_DISCOVER, K_INT, 4, O6 | OT | OU),
	OPT(IPPROTO_IPV6, IPV6_RECVPKTINFO, K_INT, 4, O6 | OT | OU),
	OPT(IPPROTO_IPV6, IPV6_RECVERR, K_INT, 4, O6 | OT | OU),
	OPT(IPPROTO_IPV6, 999, K_INT, 4, O6 | OT | OU),
	OPT(IPPROTO_TCP, TCP_NODELAY, K_INT, 4, OA),
	OPT(IPPROTO_TCP, TCP_MAXSEG, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_CORK, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_KEEPIDLE, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_KEEPINTVL, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_KEEPCNT, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_SYNCNT, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_LINGER2, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_DEFER_ACCEPT, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_WINDOW_CLAMP, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_QUICKACK, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_USER_TIMEOUT, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_CONGESTION, K_STR, 16, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_INFO, K_INFO, 512, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_NOTSENT_LOWAT, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_FASTOPEN, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_ULP, K_STR, 16, OT | O4 | O6),
	OPT(IPPROTO_TCP, TCP_INQ, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_TCP, 999, K_INT, 4, OT | O4 | O6),
	OPT(IPPROTO_UDP, UDP_CORK, K_INT, 4, OA),
	OPT(IPPROTO_UDP, UDP_SEGMENT, K_INT, 4, OU | O4 | O6),
	OPT(IPPROTO_UDP, UDP_GRO, K_INT, 4, OU | O4 | O6),
	OPT(IPPROTO_UDP, 999, K_INT, 4, OU | O4 | O6),
	OPT(9999, 1, K_INT, 4, OA),
};

static const char *lvname(int level)
{
	switch (level) {
	case SOL_SOCKET: return "sock";
	case IPPROTO_IP: return "ip";
	case IPPROTO_IPV6: return "ip6";
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	default: return "level9999";
	}
}

static void showopt(const struct opt *o, unsigned char *b, socklen_t l)
{
	switch (o->kind) {
	case K_STR:
		X("val=\"%.*s\" len=%d", (int)strnlen((char *)b, l < (socklen_t)o->size ? l : (socklen_t)o->size), (char *)b, (int)l);
		break;
	case K_INFO:
		X("len=%d state=%d", (int)l, l > 0 ? ((struct tcp_info *)b)->tcpi_state : -1);
		break;
	case K_CRED: {
		struct ucred u;
		memcpy(&u, b, sizeof u);
		X("len=%d pid!=0=%d uid=%d gid=%d", (int)l, u.pid != 0, (int)u.uid, (int)u.gid);
		break;
	}
	default:
		XO(b, o->size, l);
	}
}

static void getopt_cases(void)
{
	static const int kinds[] = {ST_UNBOUND, ST_LISTEN, ST_CONN, ST_UDP, ST_UDPCONN};
	int fams[] = {AF_INET, AF_INET6};
	for (int fi = 0; fi < 2; fi++)
		for (int ki = 0; ki < 5; ki++) {
			int f = fams[fi], st = kinds[ki], isudp = st >= ST_UDP;
			for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
				const struct opt *o = &opts[i];
				if (!(o->mask & (isudp ? OU : OT)) || !(o->mask & (f == AF_INET ? O4 : O6)))
					continue;
				CASE("getsockopt%s_%s_%s_%s", fn(f), stname[st], lvname(o->level), o->n) {
					int s = mkstate(st, f);
					unsigned char b[512];
					memset(b, 0xaa, sizeof b);
					socklen_t l = o->size;
					R(getsockopt(s, o->level, o->name, b, &l));
					if (cret == 0)
						showopt(o, b, l);
				}
			}
		}
}

// One option per level, for the length and pointer cases.
static const struct lopt {
	const char *n;
	int f, st, level, name;
} lopts[] = {
	{"sock_SO_TYPE", AF_INET, ST_UNBOUND, SOL_SOCKET, SO_TYPE},
	{"sock_SO_RCVBUF", AF_INET6, ST_UDP, SOL_SOCKET, SO_RCVBUF},
	{"ip_IP_TTL", AF_INET, ST_UNBOUND, IPPROTO_IP, IP_TTL},
	{"ip_IP_TOS", AF_INET, ST_UDP, IPPROTO_IP, IP_TOS},
	{"ip6_IPV6_V6ONLY", AF_INET6, ST_UNBOUND, IPPROTO_IPV6, IPV6_V6ONLY},
	{"ip6_IPV6_UNICAST_HOPS", AF_INET6, ST_UDP, IPPROTO_IPV6, IPV6_UNICAST_HOPS},
	{"tcp_TCP_NODELAY", AF_INET, ST_UNBOUND, IPPROTO_TCP, TCP_NODELAY},
	{"tcp_TCP_MAXSEG", AF_INET6, ST_CONN, IPPROTO_TCP, TCP_MAXSEG},
	{"udp_UDP_CORK", AF_INET, ST_UDP, IPPROTO_UDP, UDP_CORK},
	{"level9999", AF_INET, ST_UNBOUND, 9999, 1},
};

static void optlen_cases(void)
{
	const int ls[] = {0, 1, 3, 8, -1};
	for (size_t i = 0; i < sizeof lopts / sizeof lopts[0]; i++) {
		const struct lopt *o = &lopts[i];
		const char *F = fn(o->f);
		for (int li = 0; li < 5; li++) {
			CASE("getsockopt%s_%s_optlen%d", F, o->n, ls[li]) {
				int s = mkstate(o->st, o->f);
				unsigned char b[64];
				memset(b, 0xaa, sizeof b);
				socklen_t l = ls[li];
				R(getsockopt(s, o->level, o->name, b, &l));
				if (cret == 0)
					XO(b, 8, l);
			}
			CASE("setsockopt%s_%s_optlen%d", F, o->n, ls[li]) {
				int s = mkstate(o->st, o->f);
				int v[2] = {1, 1};
				R(setsockopt(s, o->level, o->name, v, (socklen_t)ls[li]));
			}
		}
		CASE("getsockopt%s_%s_optval_null", F, o->n) { int s = mkstate(o->st, o->f); socklen_t l = 4; R(getsockopt(s, o->level, o->name, NULL, &l)); X("len=%d", (int)l); }
		CASE("getsockopt%s_%s_optval_null_len0", F, o->n) { int s = mkstate(o->st, o->f); socklen_t l = 0; R(getsockopt(s, o->level, o->name, NULL, &l)); X("len=%d", (int)l); }
		CASE("getsockopt%s_%s_optval_ptr1", F, o->n) { int s = mkstate(o->st, o->f); socklen_t l = 4; R(getsockopt(s, o->level, o->name, (void *)1, &l)); }
		CASE("getsockopt%s_%s_optval_rdonly", F, o->n) { int s = mkstate(o->st, o->f); socklen_t l = 4; R(getsockopt(s, o->level, o->name, rdonly, &l)); }
		CASE("getsockopt%s_%s_optlen_null", F, o->n) { int s = mkstate(o->st, o->f); int v; R(getsockopt(s, o->level, o->name, &v, NULL)); }
		CASE("getsockopt%s_%s_optlen_rdonly", F, o->n) { int s = mkstate(o->st, o->f); int v; R(getsockopt(s, o->level, o->name, &v, rdonly)); }
		CASE("getsockopt%s_%s_optlen_unmapped", F, o->n) { int s = mkstate(o->st, o->f); int v; R(getsockopt(s, o->level, o->name, &v, unmapped)); }
		CASE("setsockopt%s_%s_optval_null", F, o->n) { int s = mkstate(o->st, o->f); R(setsockopt(s, o->level, o->name, NULL, 4)); }
		CASE("setsockopt%s_%s_optval_unmapped", F, o->n) { int s = mkstate(o->st, o->f); R(setsockopt(s, o->level, o->name, unmapped, 4)); }
		CASE("setsockopt%s_%s_optval_rdonly", F, o->n) { int s = mkstate(o->st, o->f); R(setsockopt(s, o->level, o->name, rdonly, 4)); }
		CASE("setsockopt%s_%s_optname999", F, o->n) { int s = mkstate(o->st, o->f), v = 1; R(setsockopt(s, o->level, 999, &v, 4)); }
	}
}

// setget sets an option and reads it back.
static void setget(int s, int level, int name, const void *v, socklen_t vl, socklen_t gl)
{
	unsigned char b[64];
	memset(b, 0xaa, sizeof b);
	R(setsockopt(s, level, name, v, vl));
	socklen_t l = gl;
	errno = 0;
	if (getsockopt(s, level, name, b, &l) < 0)
		X("get=%s", ename(errno));
	else
		XO(b, gl, l);
}

static void setopt_cases(void)
{
	int fams[] = {AF_INET, AF_INET6};
	for (int fi = 0; fi < 2; fi++) {
		int f = fams[fi];
		const char *F = fn(f);
		const int ttls[] = {0, 1, 255, 256, -1, -2};
		for (int i = 0; i < 6; i++) {
			CASE("setsockopt%s_tcp_IP_TTL_%d", F, ttls[i]) { int s = tcp(f); setget(s, IPPROTO_IP, IP_TTL, &ttls[i], 4, 4); }
			CASE("setsockopt%s_udp_IP_TTL_%d", F, ttls[i]) { int s = udp(f); setget(s, IPPROTO_IP, IP_TTL, &ttls[i], 4, 4); }
			if (f == AF_INET6)
				CASE("setsockopt6_tcp_IPV6_UNICAST_HOPS_%d", ttls[i]) { int s = tcp(f); setget(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttls[i], 4, 4); }
		}
		CASE("setsockopt%s_tcp_IP_TTL_char", F) { int s = tcp(f); unsigned char c = 7; setget(s, IPPROTO_IP, IP_TTL, &c, 1, 4); }
		CASE("setsockopt%s_tcp_IP_TTL_get1", F) { int s = tcp(f), v = 9; setget(s, IPPROTO_IP, IP_TTL, &v, 4, 1); }
		CASE("setsockopt%s_conn_IP_TTL", F) { int c, a, l, v = 9; pair(f, &c, &a, &l); setget(c, IPPROTO_IP, IP_TTL, &v, 4, 4); }
		CASE("setsockopt%s_tcp_IP_TOS", F) { int s = tcp(f), v = 0x10; setget(s, IPPROTO_IP, IP_TOS, &v, 4, 4); }
		CASE("setsockopt%s_udp_IP_TOS", F) { int s = udp(f), v = 0x10; setget(s, IPPROTO_IP, IP_TOS, &v, 4, 4); }
		CASE("setsockopt%s_tcp_IP_TOS_300", F) { int s = tcp(f), v = 300; setget(s, IPPROTO_IP, IP_TOS, &v, 4, 4); }
		CASE("setsockopt%s_tcp_IP_OPTIONS_nop", F) {
			int s = tcp(f);
			unsigned char op[4] = {1, 1, 1, 0};
			R(setsockopt(s, IPPROTO_IP, IP_OPTIONS, op, 4));
			unsigned char b[40];
			socklen_t l = sizeof b;
			if (getsockopt(s, IPPROTO_IP, IP_OPTIONS, b, &l) == 0)
				X("len=%d", (int)l);
			else
				X("get=%s", ename(errno));
		}
		CASE("setsockopt%s_tcp_IP_OPTIONS_41", F) { int s = tcp(f); unsigned char op[44] = {0}; R(setsockopt(s, IPPROTO_IP, IP_OPTIONS, op, 41)); }
		CASE("setsockopt%s_tcp_IP_MTU_DISCOVER_9", F) { int s = tcp(f), v = 9; setget(s, IPPROTO_IP, IP_MTU_DISCOVER, &v, 4, 4); }
		CASE("setsockopt%s_udp_IP_MULTICAST_TTL_256", F) { int s = udp(f), v = 256; setget(s, IPPROTO_IP, IP_MULTICAST_TTL, &v, 4, 4); }
		CASE("setsockopt%s_udp_IP_RECVERR", F) { int s = udp(f), v = 1; setget(s, IPPROTO_IP, IP_RECVERR, &v, 4, 4); }
		CASE("setsockopt%s_udp_IP_PKTINFO", F) { int s = udp(f), v = 1; setget(s, IPPROTO_IP, IP_PKTINFO, &v, 4, 4); }
		CASE("setsockopt%s_tcp_IP_BIND_ADDRESS_NO_PORT", F) { int s = tcp(f), v = 1; setget(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &v, 4, 4); }
		CASE("setsockopt%s_tcp_IP_HDRINCL", F) { int s = tcp(f), v = 1; setget(s, IPPROTO_IP, IP_HDRINCL, &v, 4, 4); }
		CASE("setsockopt%s_udp_IP_ADD_MEMBERSHIP_short", F) { int s = udp(f), v = 1; R(setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &v, 4)); }
		CASE("setsockopt%s_tcp_IPV6_V6ONLY", F) { int s = tcp(f), v = 1; setget(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, 4, 4); }
		CASE("setsockopt%s_tcp_IPV6_V6ONLY_after_bind", F) { int s = bound(f, SOCK_STREAM, NULL), v = 1; setget(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, 4, 4); }
		CASE("setsockopt%s_udp_IPV6_V6ONLY_after_bind", F) { int s = bound(f, SOCK_DGRAM, NULL), v = 1; setget(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, 4, 4); }
		CASE("setsockopt%s_tcp_IPV6_V6ONLY_after_listen", F) { int s = tcp(f), v = 1; Q(listen(s, 8)); setget(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, 4, 4); }
		CASE("setsockopt%s_tcp_IPV6_V6ONLY_after_connect", F) { int c, a, l, v = 0; pair(f, &c, &a, &l); setget(c, IPPROTO_IPV6, IPV6_V6ONLY, &v, 4, 4); }
		CASE("setsockopt%s_tcp_IPV6_TCLASS", F) { int s = tcp(f), v = 0x10; setget(s, IPPROTO_IPV6, IPV6_TCLASS, &v, 4, 4); }
		CASE("setsockopt%s_tcp_IPV6_TCLASS_256", F) { int s = tcp(f), v = 256; setget(s, IPPROTO_IPV6, IPV6_TCLASS, &v, 4, 4); }
		CASE("setsockopt%s_udp_IPV6_RECVPKTINFO", F) { int s = udp(f), v = 1; setget(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, &v, 4, 4); }
		const int mss[] = {1, 87, 88, 1000, 65536};
		for (int i = 0; i < 5; i++)
			CASE("setsockopt%s_tcp_TCP_MAXSEG_%d", F, mss[i]) { int s = tcp(f); setget(s, IPPROTO_TCP, TCP_MAXSEG, &mss[i], 4, 4); }
		CASE("setsockopt%s_conn_TCP_MAXSEG_1000", F) { int c, a, l, v = 1000; pair(f, &c, &a, &l); setget(c, IPPROTO_TCP, TCP_MAXSEG, &v, 4, 4); }
		CASE("setsockopt%s_tcp_TCP_NODELAY", F) { int s = tcp(f), v = 1; setget(s, IPPROTO_TCP, TCP_NODELAY, &v, 4, 4); }
		CASE("setsockopt%s_conn_TCP_NODELAY", F) { int c, a, l, v = 1; pair(f, &c, &a, &l); setget(c, IPPROTO_TCP, TCP_NODELAY, &v, 4, 4); }
		CASE("setsockopt%s_tcp_TCP_NODELAY_7", F) { int s = tcp(f), v = 7; setget(s, IPPROTO_TCP, TCP_NODELAY, &v, 4, 4); }
		CASE("setsockopt%s_udp_TCP_NODELAY", F) { int s = udp(f), v = 1; setget(s, IPPROTO_TCP, TCP_NODELAY, &v, 4, 4); }
		CASE("setsockopt%s_tcp_TCP_KEEPIDLE_0", F) { int s = tcp(f), v = 0; setget(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, 4, 4); }
		CASE("setsockopt%s_tcp_TCP_KEEPIDLE_60", F) { int s = tcp(f), v = 60; setget(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, 4, 4); }
		CASE("setsockopt%s_tcp_TCP_KEEPCNT_200", F) { int s = tcp(f), v = 200; setget(s, IPPROTO_TCP, TCP_KEEPCNT, &v, 4, 4); }
		CASE("setsockopt%s_tcp_TCP_USER_TIMEOUT_m1", F) { int s = tcp(f), v = -1; setget(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, 4, 4); }
		CASE("setsockopt%s_tcp_TCP_DEFER_ACCEPT", F) { int s = listener(f, NULL), v = 5; setget(s, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, 4, 4); }
		CASE("setsockopt%s_tcp_TCP_CORK", F) { int s = tcp(f), v = 1; setget(s, IPPROTO_TCP, TCP_CORK, &v, 4, 4); }
		CASE("setsockopt%s_tcp_TCP_SYNCNT_256", F) { int s = tcp(f), v = 256; setget(s, IPPROTO_TCP, TCP_SYNCNT, &v, 4, 4); }
		CASE("setsockopt%s_tcp_TCP_FASTOPEN", F) { int s = listener(f, NULL), v = 5; setget(s, IPPROTO_TCP, TCP_FASTOPEN, &v, 4, 4); }
		CASE("setsockopt%s_tcp_TCP_CONGESTION_nosuchcc", F) { int s = tcp(f); R(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "nosuchcc", 8)); }
		CASE("setsockopt%s_tcp_TCP_CONGESTION_empty", F) { int s = tcp(f); R(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "", 0)); }
		CASE("setsockopt%s_tcp_TCP_CONGESTION_reno", F) {
			int s = tcp(f);
			R(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
			char b[16] = {0};
			socklen_t l = sizeof b;
			if (getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, b, &l) == 0)
				X("val=\"%s\"", b);
		}
		CASE("setsockopt%s_tcp_TCP_ULP_tls", F) { int s = tcp(f); R(setsockopt(s, IPPROTO_TCP, TCP_ULP, "tls", 3)); }
		CASE("setsockopt%s_tcp_TCP_INFO", F) { int s = tcp(f), v = 1; R(setsockopt(s, IPPROTO_TCP, TCP_INFO, &v, 4)); }
		CASE("setsockopt%s_tcp_TCP_INFO_get4", F) { int s = tcp(f); unsigned char b[8]; memset(b, 0xaa, 8); socklen_t l = 4; R(getsockopt(s, IPPROTO_TCP, TCP_INFO, b, &l)); XO(b, 4, l); }
		CASE("setsockopt%s_udp_UDP_CORK", F) { int s = udp(f), v = 1; setget(s, IPPROTO_UDP, UDP_CORK, &v, 4, 4); }
		CASE("setsockopt%s_udp_UDP_SEGMENT", F) { int s = udp(f), v = 1400; setget(s, IPPROTO_UDP, UDP_SEGMENT, &v, 4, 4); }
		CASE("setsockopt%s_tcp_UDP_CORK", F) { int s = tcp(f), v = 1; setget(s, IPPROTO_UDP, UDP_CORK, &v, 4, 4); }
		const int bufs[] = {0, 4096};
		for (int i = 0; i < 2; i++) {
			CASE("setsockopt%s_tcp_SO_RCVBUF_%d", F, bufs[i]) { int s = tcp(f); setget(s, SOL_SOCKET, SO_RCVBUF, &bufs[i], 4, 4); }
			CASE("setsockopt%s_tcp_SO_SNDBUF_%d", F, bufs[i]) { int s = tcp(f); setget(s, SOL_SOCKET, SO_SNDBUF, &bufs[i], 4, 4); }
			CASE("setsockopt%s_udp_SO_RCVBUF_%d", F, bufs[i]) { int s = udp(f); setget(s, SOL_SOCKET, SO_RCVBUF, &bufs[i], 4, 4); }
			CASE("setsockopt%s_udp_SO_SNDBUF_%d", F, bufs[i]) { int s = udp(f); setget(s, SOL_SOCKET, SO_SNDBUF, &bufs[i], 4, 4); }
			CASE("setsockopt%s_conn_SO_RCVBUF_%d", F, bufs[i]) { int c, a, l; pair(f, &c, &a, &l); setget(c, SOL_SOCKET, SO_RCVBUF, &bufs[i], 4, 4); }
		}
		CASE("setsockopt%s_tcp_SO_REUSEADDR", F) { int s = tcp(f), v = 1; setget(s, SOL_SOCKET, SO_REUSEADDR, &v, 4, 4); }
		CASE("setsockopt%s_tcp_SO_REUSEADDR_5", F) { int s = tcp(f), v = 5; setget(s, SOL_SOCKET, SO_REUSEADDR, &v, 4, 4); }
		CASE("setsockopt%s_tcp_SO_REUSEPORT", F) { int s = tcp(f), v = 1; setget(s, SOL_SOCKET, SO_REUSEPORT, &v, 4, 4); }
		CASE("setsockopt%s_udp_SO_REUSEPORT", F) { int s = udp(f), v = 1; setget(s, SOL_SOCKET, SO_REUSEPORT, &v, 4, 4); }
		CASE("setsockopt%s_tcp_SO_KEEPALIVE", F) { int s = tcp(f), v = 1; setget(s, SOL_SOCKET, SO_KEEPALIVE, &v, 4, 4); }
		CASE("setsockopt%s_udp_SO_BROADCAST", F) { int s = udp(f), v = 1; setget(s, SOL_SOCKET, SO_BROADCAST, &v, 4, 4); }
		CASE("setsockopt%s_tcp_SO_LINGER", F) { int s = tcp(f); struct linger lg = {1, 5}; setget(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg, 8); }
		CASE("setsockopt%s_tcp_SO_LINGER_short", F) { int s = tcp(f); struct linger lg = {1, 5}; setget(s, SOL_SOCKET, SO_LINGER, &lg, 4, 8); }
		CASE("setsockopt%s_tcp_SO_RCVTIMEO", F) { int s = tcp(f); struct timeval tv = {0, 200000}; setget(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv, 16); }
		CASE("setsockopt%s_tcp_SO_RCVTIMEO_short", F) { int s = tcp(f); struct timeval tv = {0, 200000}; setget(s, SOL_SOCKET, SO_RCVTIMEO, &tv, 8, 16); }
		CASE("setsockopt%s_tcp_SO_RCVTIMEO_badusec", F) { int s = tcp(f); struct timeval tv = {0, 2000000}; setget(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv, 16); }
		CASE("setsockopt%s_tcp_SO_PRIORITY", F) { int s = tcp(f), v = 6; setget(s, SOL_SOCKET, SO_PRIORITY, &v, 4, 4); }
		CASE("setsockopt%s_tcp_SO_MARK", F) { int s = tcp(f), v = 1; setget(s, SOL_SOCKET, SO_MARK, &v, 4, 4); }
		CASE("setsockopt%s_tcp_SO_RCVLOWAT", F) { int s = tcp(f), v = 10; setget(s, SOL_SOCKET, SO_RCVLOWAT, &v, 4, 4); }
		CASE("setsockopt%s_tcp_SO_OOBINLINE", F) { int s = tcp(f), v = 1; setget(s, SOL_SOCKET, SO_OOBINLINE, &v, 4, 4); }
		CASE("setsockopt%s_tcp_SO_PASSCRED", F) { int s = tcp(f), v = 1; setget(s, SOL_SOCKET, SO_PASSCRED, &v, 4, 4); }
		CASE("setsockopt%s_tcp_SO_TYPE", F) { int s = tcp(f), v = 1; R(setsockopt(s, SOL_SOCKET, SO_TYPE, &v, 4)); }
		CASE("setsockopt%s_tcp_SO_ERROR", F) { int s = tcp(f), v = 1; R(setsockopt(s, SOL_SOCKET, SO_ERROR, &v, 4)); }
		CASE("setsockopt%s_tcp_SO_BINDTODEVICE_lo", F) {
			int s = tcp(f);
			R(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));
			char b[16] = {0};
			socklen_t l = sizeof b;
			if (getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, b, &l) == 0)
				X("val=\"%s\" len=%d", b, (int)l);
		}
		CASE("setsockopt%s_tcp_SO_BINDTODEVICE_nosuchif", F) { int s = tcp(f); R(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "nosuchif", 9)); }
		CASE("setsockopt%s_tcp_SO_BINDTODEVICE_empty", F) { int s = tcp(f); R(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "", 0)); }
		CASE("setsockopt%s_level9999", F) { int s = tcp(f), v = 1; R(setsockopt(s, 9999, 1, &v, 4)); }
		CASE("setsockopt%s_udp_level9999", F) { int s = udp(f), v = 1; R(setsockopt(s, 9999, 1, &v, 4)); }
		CASE("setsockopt%s_tcp_SO_REUSEADDR_then_bind_inuse", F) {
			int v = 1, p, l = listener(f, &p), s = tcp(f);
			(void)l;
			Q(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 4));
			A a = lo(f, p);
			R(bind(s, &a.sa, alen(f)));
		}
		CASE("setsockopt%s_tcp_SO_ACCEPTCONN_listen", F) {
			int s = listener(f, NULL), v;
			socklen_t l = 4;
			R(getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &l));
			X("val=%d", v);
		}
	}
}

static void peerrecv(int s)
{
	char b[64];
	waitin(s);
	errno = 0;
	long n = recv(s, b, sizeof b, MSG_DONTWAIT);
	X("peer=%ld%s%s", n, n < 0 ? ":" : "", n < 0 ? ename(errno) : "");
}

static void put(int s, const char *d)
{
	errno = 0;
	if (send(s, d, strlen(d), 0) != (long)strlen(d))
		X("setup(send)=%s", ename(errno));
}

static void tcpio_cases(void)
{
	int fams[] = {AF_INET, AF_INET6};
	for (int fi = 0; fi < 2; fi++) {
		int f = fams[fi];
		const char *F = fn(f);
		const int sts[] = {ST_UNBOUND, ST_BOUND, ST_LISTEN};
		for (int si = 0; si < 3; si++) {
			int st = sts[si];
			const char *N = stname[st];
			char b[16] = "abc";
			struct iovec iov = {b, 3};
			struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
			CASE("tcp%s_%s_send", F, N) { int s = mkstate(st, f); R(send(s, "abc", 3, 0)); }
			CASE("tcp%s_%s_recv", F, N) { int s = mkstate(st, f); R(recv(s, b, 3, MSG_DONTWAIT)); }
			CASE("tcp%s_%s_recv_block", F, N) { int s = mkstate(st, f); rcvtimeo(s); R(recv(s, b, 3, 0)); }
			CASE("tcp%s_%s_sendto", F, N) { int s = mkstate(st, f); A a = lo(f, nport()); R(sendto(s, "abc", 3, 0, &a.sa, alen(f))); }
			CASE("tcp%s_%s_recvfrom", F, N) { int s = mkstate(st, f); A a; socklen_t l = sizeof a; R(recvfrom(s, b, 3, MSG_DONTWAIT, &a.sa, &l)); }
			CASE("tcp%s_%s_sendmsg", F, N) { int s = mkstate(st, f); R(sendmsg(s, &m, 0)); }
			CASE("tcp%s_%s_recvmsg", F, N) { int s = mkstate(st, f); R(recvmsg(s, &m, MSG_DONTWAIT)); }
			CASE("tcp%s_%s_write", F, N) { int s = mkstate(st, f); R(write(s, "abc", 3)); }
			CASE("tcp%s_%s_read", F, N) { int s = mkstate(st, f); nonblock(s); R(read(s, b, 3)); }
			CASE("tcp%s_%s_shutdown_rd", F, N) { int s = mkstate(st, f); R(shutdown(s, SHUT_RD)); }
			CASE("tcp%s_%s_shutdown_wr", F, N) { int s = mkstate(st, f); R(shutdown(s, SHUT_WR)); }
			CASE("tcp%s_%s_shutdown_rdwr", F, N) { int s = mkstate(st, f); R(shutdown(s, SHUT_RDWR)); }
			CASE("tcp%s_%s_shutdown_3", F, N) { int s = mkstate(st, f); R(shutdown(s, 3)); }
		}
		CASE("tcp%s_sendto_fastopen_listener", F) {
			int p, l = listener(f, &p), s = tcp(f);
			(void)l;
			A a = lo(f, p);
			R(sendto(s, "abc", 3, MSG_FASTOPEN, &a.sa, alen(f)));
			peer(s);
		}
		CASE("tcp%s_sendto_fastopen_free", F) { int s = tcp(f); A a = lo(f, nport()); R(sendto(s, "abc", 3, MSG_FASTOPEN, &a.sa, alen(f))); }
		CASE("tcp%s_sendto_fastopen_noaddr", F) { int s = tcp(f); R(sendto(s, "abc", 3, MSG_FASTOPEN, NULL, 0)); }
		// Connected.
		int c, a, l;
		char b[64];
		CASE("tcp%s_conn_send", F) { pair(f, &c, &a, &l); R(send(c, "hello", 5, 0)); peerrecv(a); }
		CASE("tcp%s_conn_write", F) { pair(f, &c, &a, &l); R(write(c, "hello", 5)); peerrecv(a); }
		CASE("tcp%s_conn_recv", F) { pair(f, &c, &a, &l); put(a, "hello"); waitin(c); R(recv(c, b, sizeof b, 0)); }
		CASE("tcp%s_conn_read", F) { pair(f, &c, &a, &l); put(a, "hello"); waitin(c); R(read(c, b, sizeof b)); }
		CASE("tcp%s_conn_recv_peek", F) { pair(f, &c, &a, &l); put(a, "hello"); waitin(c); R(recv(c, b, sizeof b, MSG_PEEK)); X("then=%ld", (long)recv(c, b, sizeof b, MSG_DONTWAIT)); }
		CASE("tcp%s_conn_recv_waitall", F) { pair(f, &c, &a, &l); put(a, "hello"); waitin(c); R(recv(c, b, 5, MSG_WAITALL)); }
		int ls[] = {0, 16, 28};
		for (int i = 0; i < 3; i++)
			CASE("tcp%s_conn_recvfrom_len%d", F, ls[i]) {
				pair(f, &c, &a, &l);
				put(a, "hello");
				waitin(c);
				A x;
				memset(&x, 0xaa, sizeof x);
				socklen_t xl = ls[i];
				R(recvfrom(c, b, sizeof b, 0, &x.sa, &xl));
				XA(&x, ls[i], xl);
			}
		CASE("tcp%s_conn_recvfrom_addr_ptr1", F) { pair(f, &c, &a, &l); put(a, "hello"); waitin(c); socklen_t xl = 16; R(recvfrom(c, b, sizeof b, 0, (void *)1, &xl)); X("len=%d", (int)xl); }
		CASE("tcp%s_conn_recvmsg_name", F) {
			pair(f, &c, &a, &l);
			put(a, "hello");
			waitin(c);
			A x;
			memset(&x, 0xaa, sizeof x);
			struct iovec iov = {b, sizeof b};
			struct msghdr m = {.msg_name = &x, .msg_namelen = 28, .msg_iov = &iov, .msg_iovlen = 1};
			R(recvmsg(c, &m, 0));
			X("namelen=%d flags=%#x", (int)m.msg_namelen, m.msg_flags);
			XA(&x, 28, m.msg_namelen);
		}
		CASE("tcp%s_conn_sendto_other", F) { pair(f, &c, &a, &l); A x = lo(f, nport()); R(sendto(c, "hello", 5, 0, &x.sa, alen(f))); peerrecv(a); }
		CASE("tcp%s_conn_sendto_len3", F) { pair(f, &c, &a, &l); A x = lo(f, nport()); R(sendto(c, "hello", 5, 0, &x.sa, 3)); }
		CASE("tcp%s_conn_sendto_len129", F) { pair(f, &c, &a, &l); A x = lo(f, nport()); R(sendto(c, "hello", 5, 0, &x.sa, 129)); }
		CASE("tcp%s_conn_sendto_addr_ptr1", F) { pair(f, &c, &a, &l); R(sendto(c, "hello", 5, 0, (void *)1, 16)); }
		CASE("tcp%s_conn_sendto_unix", F) {
			pair(f, &c, &a, &l);
			A x;
			memset(&x, 0, sizeof x);
			x.un.sun_family = AF_UNIX;
			strcpy(x.un.sun_path, "/tmp/noip-errnodiff-nonexistent");
			R(sendto(c, "hello", 5, 0, &x.sa, sizeof x.un));
		}
		CASE("tcp%s_conn_sendmsg_name", F) {
			pair(f, &c, &a, &l);
			A x = lo(f, nport());
			struct iovec iov = {"hello", 5};
			struct msghdr m = {.msg_name = &x, .msg_namelen = alen(f), .msg_iov = &iov, .msg_iovlen = 1};
			R(sendmsg(c, &m, 0));
			peerrecv(a);
		}
		CASE("tcp%s_conn_send_null", F) { pair(f, &c, &a, &l); R(send(c, NULL, 5, 0)); }
		CASE("tcp%s_conn_send_unmapped", F) { pair(f, &c, &a, &l); R(send(c, unmapped, 5, 0)); }
		CASE("tcp%s_conn_send_len0", F) { pair(f, &c, &a, &l); R(send(c, "x", 0, 0)); }
		CASE("tcp%s_conn_recv_rdonly", F) { pair(f, &c, &a, &l); put(a, "hello"); waitin(c); R(recv(c, rdonly, 5, 0)); X("then=%ld", (long)recv(c, b, sizeof b, MSG_DONTWAIT)); }
		CASE("tcp%s_conn_recv_len0", F) { pair(f, &c, &a, &l); put(a, "hello"); waitin(c); R(recv(c, b, 0, 0)); }
		CASE("tcp%s_conn_recv_empty", F) { pair(f, &c, &a, &l); R(recv(c, b, sizeof b, MSG_DONTWAIT)); }
		CASE("tcp%s_conn_recv_empty_rcvtimeo", F) { pair(f, &c, &a, &l); rcvtimeo(c); R(recv(c, b, sizeof b, 0)); }
		CASE("tcp%s_conn_recv_after_peer_shutdown", F) { pair(f, &c, &a, &l); Q(shutdown(a, SHUT_WR)); waitin(c); R(recv(c, b, sizeof b, 0)); }
		CASE("tcp%s_conn_recv_after_peer_close", F) { pair(f, &c, &a, &l); close(a); waitin(c); R(recv(c, b, sizeof b, 0)); }
		CASE("tcp%s_conn_send_after_shutdown_wr", F) { pair(f, &c, &a, &l); Q(shutdown(c, SHUT_WR)); R(send(c, "hello", 5, 0)); }
		CASE("tcp%s_conn_recv_after_shutdown_rd", F) { pair(f, &c, &a, &l); Q(shutdown(c, SHUT_RD)); R(recv(c, b, sizeof b, MSG_DONTWAIT)); }
		CASE("tcp%s_conn_shutdown_twice", F) { pair(f, &c, &a, &l); Q(shutdown(c, SHUT_RDWR)); R(shutdown(c, SHUT_RDWR)); }
		CASE("tcp%s_conn_shutdown_m1", F) { pair(f, &c, &a, &l); R(shutdown(c, -1)); }
		CASE("tcp%s_conn_shutdown_wr_getpeername", F) { pair(f, &c, &a, &l); R(shutdown(c, SHUT_WR)); peer(c); }
		CASE("tcp%s_conn_send_oob", F) {
			pair(f, &c, &a, &l);
			R(send(c, "hello", 5, MSG_OOB));
			waitin(a);
			errno = 0;
			long n = recv(a, b, 1, MSG_OOB);
			X("oob=%ld:%s", n, ename(n < 0 ? errno : 0));
		}
		CASE("tcp%s_conn_recv_oob_none", F) { pair(f, &c, &a, &l); R(recv(c, b, 1, MSG_OOB)); }
		CASE("tcp%s_conn_recv_errqueue", F) { pair(f, &c, &a, &l); R(recv(c, b, sizeof b, MSG_ERRQUEUE)); }
		CASE("tcp%s_conn_after_rst_recv", F) {
			struct linger lg = {1, 0};
			pair(f, &c, &a, &l);
			Q(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
			close(c);
			waitin(a);
			R(recv(a, b, sizeof b, MSG_DONTWAIT));
			X("again=%ld", (long)recv(a, b, sizeof b, MSG_DONTWAIT));
		}
		CASE("tcp%s_conn_after_rst_send", F) {
			struct linger lg = {1, 0};
			pair(f, &c, &a, &l);
			Q(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
			close(c);
			waitin(a);
			R(send(a, "hello", 5, 0));
			errno = 0;
			long n = send(a, "hello", 5, 0);
			X("again=%ld:%s", n, ename(n < 0 ? errno : 0));
		}
		CASE("tcp%s_conn_after_rst_so_error", F) {
			struct linger lg = {1, 0};
			pair(f, &c, &a, &l);
			Q(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
			close(c);
			waitin(a);
			int e = 0;
			socklen_t el = 4;
			R(getsockopt(a, SOL_SOCKET, SO_ERROR, &e, &el));
			X("so_error=%s", ename(e));
			peer(a);
		}
		CASE("tcp%s_conn_poll", F) {
			pair(f, &c, &a, &l);
			struct pollfd p = {c, POLLIN | POLLOUT, 0};
			R(poll(&p, 1, 0));
			X("revents=%#x", p.revents);
		}
		CASE("tcp%s_conn_poll_peer_closed", F) {
			pair(f, &c, &a, &l);
			close(a);
			waitin(c);
			struct pollfd p = {c, POLLIN | POLLOUT | POLLRDHUP, 0};
			R(poll(&p, 1, 0));
			X("revents=%#x", p.revents);
		}
	}
}

// selfsend makes a UDP socket bound to loopback holding one datagram "abc"
// that it sent itself.
static int selfsend(int f)
{
	int p, s = bound(f, SOCK_DGRAM, &p);
	A a = lo(f, p);
	errno = 0;
	if (sendto(s, "abc", 3, 0, &a.sa, alen(f)) != 3)
		X("setup(sendto)=%s", ename(errno));
	waitin(s);
	return s;
}

static void nextdgram(int s)
{
	char b[8];
	errno = 0;
	long n = recv(s, b, sizeof b, MSG_DONTWAIT);
	X("next=%ld%s%s", n, n < 0 ? ":" : "", n < 0 ? ename(errno) : "");
}

static void udp_cases(void)
{
	int fams[] = {AF_INET, AF_INET6};
	for (int fi = 0; fi < 2; fi++) {
		int f = fams[fi], o = f == AF_INET ? AF_INET6 : AF_INET;
		const char *F = fn(f);
		const int *lens = f == AF_INET ? lens4 : lens6;
		int nl = f == AF_INET ? 12 : 14;
		char b[64];
		int x, y;
		CASE("udp%s_send_unconnected", F) { int s = udp(f); R(send(s, "abc", 3, 0)); }
		CASE("udp%s_write_unconnected", F) { int s = udp(f); R(write(s, "abc", 3)); }
		CASE("udp%s_sendto_null_unconnected", F) { int s = udp(f); R(sendto(s, "abc", 3, 0, NULL, 0)); }
		CASE("udp%s_sendto_null_len16_unconnected", F) { int s = udp(f); R(sendto(s, "abc", 3, 0, NULL, 16)); }
		CASE("udp%s_sendto_free", F) { int s = udp(f); A a = lo(f, nport()); R(sendto(s, "abc", 3, 0, &a.sa, alen(f))); getname(s); nextdgram(s); }
		CASE("udp%s_sendto_any", F) { int s = udp(f); A a = any(f, nport()); R(sendto(s, "abc", 3, 0, &a.sa, alen(f))); }
		CASE("udp%s_sendto_port0", F) { int s = udp(f); A a = lo(f, 0); R(sendto(s, "abc", 3, 0, &a.sa, alen(f))); }
		for (int li = 0; li < nl; li++)
			CASE("udp%s_sendto_len%d", F, lens[li]) { int s = udp(f); A a = lo(f, nport()); R(sendto(s, "abc", 3, 0, &a.sa, (socklen_t)lens[li])); }
		CASE("udp%s_sendto_ptr1", F) { int s = udp(f); R(sendto(s, "abc", 3, 0, (void *)1, alen(f))); }
		CASE("udp%s_sendto_unmapped", F) { int s = udp(f); R(sendto(s, "abc", 3, 0, unmapped, alen(f))); }
		CASE("udp%s_sendto_rdonly_zero", F) { int s = udp(f); R(sendto(s, "abc", 3, 0, rdonly, alen(f))); }
		CASE("udp%s_sendto_buf_null", F) { int s = udp(f); A a = lo(f, nport()); R(sendto(s, NULL, 3, 0, &a.sa, alen(f))); }
		CASE("udp%s_sendto_family%s", F, fn(o)) { int s = udp(f); A a = lo(o, nport()); R(sendto(s, "abc", 3, 0, &a.sa, alen(o))); }
		CASE("udp%s_sendto_unix", F) {
			int s = udp(f);
			A a;
			memset(&a, 0, sizeof a);
			a.un.sun_family = AF_UNIX;
			strcpy(a.un.sun_path, "/tmp/noip-errnodiff-nonexistent");
			R(sendto(s, "abc", 3, 0, &a.sa, sizeof a.un));
		}
		CASE("udp%s_sendto_unspec", F) { int s = udp(f); A a = lo(f, nport()); a.sa.sa_family = AF_UNSPEC; R(sendto(s, "abc", 3, 0, &a.sa, alen(f))); }
		CASE("udp%s_sendto_oob", F) { int s = udp(f); A a = lo(f, nport()); R(sendto(s, "abc", 3, MSG_OOB, &a.sa, alen(f))); }
		CASE("udp%s_sendto_too_big", F) {
			int s = udp(f);
			static char big[70000];
			A a = lo(f, nport());
			R(sendto(s, big, f == AF_INET ? 65508 : 65528, 0, &a.sa, alen(f)));
		}
		CASE("udp%s_sendto_max", F) {
			int s = udp(f);
			static char big[70000];
			A a = lo(f, nport());
			R(sendto(s, big, f == AF_INET ? 65507 : 65527, 0, &a.sa, alen(f)));
		}
		if (f == AF_INET) {
			CASE("udp4_sendto_broadcast") { int s = udp(f); A a = a4("255.255.255.255", nport()); R(sendto(s, "abc", 3, 0, &a.sa, L4)); }
			CASE("udp4_sendto_lo_broadcast") { int s = udp(f); A a = a4("127.255.255.255", nport()); R(sendto(s, "abc", 3, 0, &a.sa, L4)); }
			CASE("udp4_sendto_127_0_0_2") { int s = udp(f); A a = a4("127.0.0.2", nport()); R(sendto(s, "abc", 3, 0, &a.sa, L4)); getname(s); }
		} else {
			CASE("udp6_sendto_mapped_self") {
				int p, s = bound(f, SOCK_DGRAM, &p);
				Q(close(s));
				s = udp(f);
				bindto(s, any(f, p), L6);
				A a = a6("::ffff:127.0.0.1", p);
				R(sendto(s, "abc", 3, 0, &a.sa, L6));
				waitin(s);
				A r;
				memset(&r, 0xaa, sizeof r);
				socklen_t rl = sizeof r;
				errno = 0;
				long n = recvfrom(s, b, sizeof b, MSG_DONTWAIT, &r.sa, &rl);
				X("recv=%ld:%s", n, ename(n < 0 ? errno : 0));
				if (n >= 0)
					XA(&r, 28, rl);
			}
			CASE("udp6_sendto_v4_self") {
				int p = nport(), s = udp(f);
				bindto(s, any(f, p), L6);
				A a = lo(AF_INET, p);
				R(sendto(s, "abc", 3, 0, &a.sa, L4));
				nextdgram(s);
			}
		}
		// Connected to a port nobody serves: ICMP errors.
		CASE("udp%s_conn_free_send", F) { int s = udp(f); connto(s, lo(f, nport()), alen(f)); R(send(s, "abc", 3, 0)); }
		CASE("udp%s_conn_free_recv", F) {
			int s = udp(f);
			connto(s, lo(f, nport()), alen(f));
			Q(send(s, "abc", 3, 0));
			waitin(s);
			R(recv(s, b, sizeof b, MSG_DONTWAIT));
			nextdgram(s);
		}
		CASE("udp%s_conn_free_send_again", F) {
			int s = udp(f);
			connto(s, lo(f, nport()), alen(f));
			Q(send(s, "abc", 3, 0));
			waitin(s);
			R(send(s, "abc", 3, 0));
		}
		CASE("udp%s_conn_free_so_error", F) {
			int s = udp(f);
			connto(s, lo(f, nport()), alen(f));
			Q(send(s, "abc", 3, 0));
			waitin(s);
			struct pollfd p = {s, POLLIN | POLLOUT, 0};
			poll(&p, 1, 0);
			X("revents=%#x", p.revents);
			int e = 0;
			socklen_t el = 4;
			R(getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el));
			X("so_error=%s", ename(e));
		}
		CASE("udp%s_unconn_free_recv", F) {
			int s = udp(f);
			A a = lo(f, nport());
			Q(sendto(s, "abc", 3, 0, &a.sa, alen(f)));
			R(recv(s, b, sizeof b, MSG_DONTWAIT));
		}
		CASE("udp%s_conn_send_peer", F) { upair(f, &x, &y); R(send(x, "abc", 3, 0)); peerrecv(y); }
		CASE("udp%s_conn_sendto_other", F) { upair(f, &x, &y); A a = lo(f, nport()); R(sendto(x, "abc", 3, 0, &a.sa, alen(f))); }
		CASE("udp%s_conn_sendto_peer", F) {
			upair(f, &x, &y);
			A a;
			socklen_t al = sizeof a;
			Q(getsockname(y, &a.sa, &al));
			R(sendto(x, "abc", 3, 0, &a.sa, al));
			peerrecv(y);
		}
		CASE("udp%s_conn_from_stranger", F) {
			upair(f, &x, &y);
			A a;
			socklen_t al = sizeof a;
			Q(getsockname(x, &a.sa, &al));
			int z = udp(f);
			Q(sendto(z, "abc", 3, 0, &a.sa, al));
			struct pollfd pf = {x, POLLIN, 0};
			poll(&pf, 1, 50); // nothing should come: do not wait long
			R(recv(x, b, sizeof b, MSG_DONTWAIT));
		}
		CASE("udp%s_disconnected_send", F) {
			int s = udp(f);
			connto(s, lo(f, nport()), alen(f));
			A a = lo(f, 0);
			a.sa.sa_family = AF_UNSPEC;
			Q(connect(s, &a.sa, alen(f)));
			R(send(s, "abc", 3, 0));
		}
		CASE("udp%s_shutdown_unconnected", F) { int s = udp(f); R(shutdown(s, SHUT_RDWR)); }
		CASE("udp%s_shutdown_connected", F) { upair(f, &x, &y); R(shutdown(x, SHUT_RDWR)); nextdgram(x); }
		CASE("udp%s_shutdown_rd_recv", F) { upair(f, &x, &y); Q(shutdown(x, SHUT_RD)); R(recv(x, b, sizeof b, MSG_DONTWAIT)); }
		CASE("udp%s_shutdown_wr_send", F) { upair(f, &x, &y); Q(shutdown(x, SHUT_WR)); R(send(x, "abc", 3, 0)); }
		// Receiving.
		CASE("udp%s_recvfrom_empty_unbound", F) { int s = udp(f); A a; socklen_t al = sizeof a; R(recvfrom(s, b, sizeof b, MSG_DONTWAIT, &a.sa, &al)); }
		CASE("udp%s_recvfrom_empty_bound", F) { int s = bound(f, SOCK_DGRAM, NULL); A a; socklen_t al = sizeof a; R(recvfrom(s, b, sizeof b, MSG_DONTWAIT, &a.sa, &al)); }
		CASE("udp%s_recv_empty_rcvtimeo", F) { int s = bound(f, SOCK_DGRAM, NULL); rcvtimeo(s); R(recv(s, b, sizeof b, 0)); }
		CASE("udp%s_read_empty_nonblock", F) { int s = bound(f, SOCK_DGRAM, NULL); nonblock(s); R(read(s, b, sizeof b)); }
		int ls[] = {0, 2, 8, 16, 28};
		for (int i = 0; i < 5; i++)
			CASE("udp%s_recvfrom_len%d", F, ls[i]) {
				int s = selfsend(f);
				A a;
				memset(&a, 0xaa, sizeof a);
				socklen_t al = ls[i];
				R(recvfrom(s, b, sizeof b, MSG_DONTWAIT, &a.sa, &al));
				XA(&a, ls[i], al);
			}
		CASE("udp%s_recvfrom_len_m1", F) { int s = selfsend(f); A a; socklen_t al = -1; R(recvfrom(s, b, sizeof b, MSG_DONTWAIT, &a.sa, &al)); nextdgram(s); }
		CASE("udp%s_recvfrom_addr_ptr1", F) { int s = selfsend(f); socklen_t al = 32; R(recvfrom(s, b, sizeof b, MSG_DONTWAIT, (void *)1, &al)); nextdgram(s); }
		CASE("udp%s_recvfrom_addr_rdonly", F) { int s = selfsend(f); socklen_t al = 32; R(recvfrom(s, b, sizeof b, MSG_DONTWAIT, rdonly, &al)); nextdgram(s); }
		CASE("udp%s_recvfrom_len_null", F) { int s = selfsend(f); A a; R(recvfrom(s, b, sizeof b, MSG_DONTWAIT, &a.sa, NULL)); nextdgram(s); }
		CASE("udp%s_recvfrom_buf_rdonly", F) { int s = selfsend(f); R(recvfrom(s, rdonly, 8, MSG_DONTWAIT, NULL, NULL)); nextdgram(s); }
		CASE("udp%s_recv_peek", F) { int s = selfsend(f); R(recv(s, b, sizeof b, MSG_PEEK | MSG_DONTWAIT)); nextdgram(s); }
		CASE("udp%s_recv_short", F) { int s = selfsend(f); R(recv(s, b, 1, MSG_DONTWAIT)); nextdgram(s); }
		CASE("udp%s_recv_trunc", F) { int s = selfsend(f); R(recv(s, b, 1, MSG_TRUNC | MSG_DONTWAIT)); }
		CASE("udp%s_recv_len0", F) { int s = selfsend(f); R(recv(s, b, 0, MSG_DONTWAIT)); nextdgram(s); }
		CASE("udp%s_recv_errqueue", F) { int s = selfsend(f); R(recv(s, b, sizeof b, MSG_ERRQUEUE | MSG_DONTWAIT)); }
		// sendmsg and recvmsg.
		struct iovec iov = {"abc", 3};
		CASE("udp%s_sendmsg_noname_unconnected", F) { int s = udp(f); struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1}; R(sendmsg(s, &m, 0)); }
		CASE("udp%s_sendmsg_name", F) { int p, s = bound(f, SOCK_DGRAM, &p); A a = lo(f, p); struct msghdr m = {.msg_name = &a, .msg_namelen = alen(f), .msg_iov = &iov, .msg_iovlen = 1}; R(sendmsg(s, &m, 0)); nextdgram(s); }
		CASE("udp%s_sendmsg_name_len0", F) { int s = udp(f); A a = lo(f, nport()); struct msghdr m = {.msg_name = &a, .msg_namelen = 0, .msg_iov = &iov, .msg_iovlen = 1}; R(sendmsg(s, &m, 0)); }
		CASE("udp%s_sendmsg_name_len15", F) { int s = udp(f); A a = lo(f, nport()); struct msghdr m = {.msg_name = &a, .msg_namelen = 15, .msg_iov = &iov, .msg_iovlen = 1}; R(sendmsg(s, &m, 0)); }
		CASE("udp%s_sendmsg_name_ptr1", F) { int s = udp(f); struct msghdr m = {.msg_name = (void *)1, .msg_namelen = alen(f), .msg_iov = &iov, .msg_iovlen = 1}; R(sendmsg(s, &m, 0)); }
		CASE("udp%s_sendmsg_msg_null", F) { int s = udp(f); R(sendmsg(s, NULL, 0)); }
		CASE("udp%s_sendmsg_noname_connected", F) { upair(f, &x, &y); struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1}; R(sendmsg(x, &m, 0)); peerrecv(y); }
		CASE("udp%s_sendmsg_name_connected_other", F) { upair(f, &x, &y); A a = lo(f, nport()); struct msghdr m = {.msg_name = &a, .msg_namelen = alen(f), .msg_iov = &iov, .msg_iovlen = 1}; R(sendmsg(x, &m, 0)); }
		for (int withname = 0; withname < 2; withname++)
			CASE("udp%s_recvmsg_%s", F, withname ? "name" : "noname") {
				int s = selfsend(f);
				A a;
				memset(&a, 0xaa, sizeof a);
				struct iovec ri = {b, sizeof b};
				struct msghdr m = {.msg_name = withname ? &a : NULL, .msg_namelen = withname ? 28 : 5, .msg_iov = &ri, .msg_iovlen = 1};
				R(recvmsg(s, &m, MSG_DONTWAIT));
				X("namelen=%d flags=%#x", (int)m.msg_namelen, m.msg_flags);
				if (withname)
					XA(&a, 28, m.msg_namelen);
			}
		CASE("udp%s_recvmsg_name_len0", F) {
			int s = selfsend(f);
			A a;
			memset(&a, 0xaa, sizeof a);
			struct iovec ri = {b, sizeof b};
			struct msghdr m = {.msg_name = &a, .msg_namelen = 0, .msg_iov = &ri, .msg_iovlen = 1};
			R(recvmsg(s, &m, MSG_DONTWAIT));
			X("namelen=%d", (int)m.msg_namelen);
			XA(&a, 0, m.msg_namelen);
		}
		CASE("udp%s_recvmsg_trunc", F) {
			int s = selfsend(f);
			struct iovec ri = {b, 1};
			struct msghdr m = {.msg_iov = &ri, .msg_iovlen = 1};
			R(recvmsg(s, &m, MSG_DONTWAIT));
			X("flags=%#x", m.msg_flags);
		}
		CASE("udp%s_recvmsg_name_ptr1", F) {
			int s = selfsend(f);
			struct iovec ri = {b, sizeof b};
			struct msghdr m = {.msg_name = (void *)1, .msg_namelen = 28, .msg_iov = &ri, .msg_iovlen = 1};
			R(recvmsg(s, &m, MSG_DONTWAIT));
			nextdgram(s);
		}
		CASE("udp%s_recvmsg_empty_nonblock", F) {
			int s = bound(f, SOCK_DGRAM, NULL);
			nonblock(s);
			struct iovec ri = {b, sizeof b};
			A a;
			struct msghdr m = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &ri, .msg_iovlen = 1};
			R(recvmsg(s, &m, 0));
		}
		CASE("udp%s_recvmsg_empty_dontwait", F) {
			int s = udp(f);
			struct iovec ri = {b, sizeof b};
			struct msghdr m = {.msg_iov = &ri, .msg_iovlen = 1};
			R(recvmsg(s, &m, MSG_DONTWAIT));
		}
		CASE("udp%s_recvmsg_pktinfo", F) {
			int v = 1, p, s = bound(f, SOCK_DGRAM, &p);
			Q(setsockopt(s, f == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, f == AF_INET ? IP_PKTINFO : IPV6_RECVPKTINFO, &v, 4));
			A a = lo(f, p);
			Q(sendto(s, "abc", 3, 0, &a.sa, alen(f)));
			waitin(s);
			char cb[256];
			struct iovec ri = {b, sizeof b};
			struct msghdr m = {.msg_iov = &ri, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof cb};
			R(recvmsg(s, &m, MSG_DONTWAIT));
			if (cret < 0)
				m.msg_controllen = 0;
			X("controllen=%d", (int)m.msg_controllen);
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
				X("cmsg=%d/%d/%d", c->cmsg_level, c->cmsg_type, (int)c->cmsg_len);
		}
		CASE("udp%s_recvmsg_msg_null", F) { int s = udp(f); R(recvmsg(s, NULL, MSG_DONTWAIT)); }
	}
}

static void ifr(struct ifreq *r, const char *name)
{
	memset(r, 0, sizeof *r);
	strncpy(r->ifr_name, name, IFNAMSIZ - 1);
}

static void xifaddr(struct ifreq *r)
{
	char s[64] = "-";
	if (r->ifr_addr.sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&r->ifr_addr)->sin_addr, s, sizeof s);
	X("fam=%d addr=%s", r->ifr_addr.sa_family, s);
}

static void ioctl_cases(void)
{
	int fams[] = {AF_INET, AF_INET6};
	for (int fi = 0; fi < 2; fi++)
		for (int ti = 0; ti < 2; ti++) {
			int f = fams[fi], t = ti ? SOCK_DGRAM : SOCK_STREAM;
			const char *F = fn(f), *T = ti ? "udp" : "tcp";
			struct ifreq r;
			CASE("ioctl_%s%s_SIOCGIFADDR_lo", T, F) { int s = S(f, t, 0); ifr(&r, "lo"); R(ioctl(s, SIOCGIFADDR, &r)); xifaddr(&r); }
			CASE("ioctl_%s%s_SIOCGIFADDR_nosuchif", T, F) { int s = S(f, t, 0); ifr(&r, "nosuchif"); R(ioctl(s, SIOCGIFADDR, &r)); }
			CASE("ioctl_%s%s_SIOCGIFADDR_ptr1", T, F) { int s = S(f, t, 0); R(ioctl(s, SIOCGIFADDR, (void *)1)); }
			CASE("ioctl_%s%s_SIOCSIFADDR_nosuchif", T, F) {
				int s = S(f, t, 0);
				ifr(&r, "nosuchif");
				A a = a4("10.1.2.3", 0);
				memcpy(&r.ifr_addr, &a.in4, sizeof a.in4);
				R(ioctl(s, SIOCSIFADDR, &r));
			}
			CASE("ioctl_%s%s_SIOCGIFINDEX_lo", T, F) { int s = S(f, t, 0); ifr(&r, "lo"); R(ioctl(s, SIOCGIFINDEX, &r)); X("index=%d", r.ifr_ifindex); }
			CASE("ioctl_%s%s_SIOCGIFFLAGS_lo", T, F) { int s = S(f, t, 0); ifr(&r, "lo"); R(ioctl(s, SIOCGIFFLAGS, &r)); X("flags=%#x", r.ifr_flags & 0xffff); }
			CASE("ioctl_%s%s_SIOCGIFMTU_lo", T, F) { int s = S(f, t, 0); ifr(&r, "lo"); R(ioctl(s, SIOCGIFMTU, &r)); X("mtu=%d", r.ifr_mtu); }
			CASE("ioctl_%s%s_SIOCGIFNETMASK_lo", T, F) { int s = S(f, t, 0); ifr(&r, "lo"); R(ioctl(s, SIOCGIFNETMASK, &r)); xifaddr(&r); }
			CASE("ioctl_%s%s_SIOCGIFNAME_1", T, F) { int s = S(f, t, 0); ifr(&r, ""); r.ifr_ifindex = 1; R(ioctl(s, SIOCGIFNAME, &r)); X("name=%s", r.ifr_name); }
			CASE("ioctl_%s%s_SIOCGIFCONF", T, F) {
				int s = S(f, t, 0);
				struct ifreq rs[16];
				struct ifconf ic = {.ifc_len = sizeof rs, .ifc_req = rs};
				R(ioctl(s, SIOCGIFCONF, &ic));
				X("n=%d", ic.ifc_len / (int)sizeof(struct ifreq));
			}
			CASE("ioctl_%s%s_FIONREAD_fresh", T, F) { int s = S(f, t, 0), n = -7; R(ioctl(s, FIONREAD, &n)); X("n=%d", n); }
			CASE("ioctl_%s%s_FIONREAD_ptr1", T, F) { int s = ti ? selfsend(f) : mkstate(ST_CONN, f); R(ioctl(s, FIONREAD, (void *)1)); }
			CASE("ioctl_%s%s_SIOCOUTQ_fresh", T, F) { int s = S(f, t, 0), n = -7; R(ioctl(s, SIOCOUTQ, &n)); X("n=%d", n); }
			CASE("ioctl_%s%s_FIONBIO", T, F) { int s = S(f, t, 0), v = 1; R(ioctl(s, FIONBIO, &v)); fdflags(s); }
			CASE("ioctl_%s%s_SIOCGSTAMP", T, F) { int s = S(f, t, 0); struct timeval tv; R(ioctl(s, SIOCGSTAMP, &tv)); }
			CASE("ioctl_%s%s_unknown", T, F) { int s = S(f, t, 0), v = 0; R(ioctl(s, 0x89ff, &v)); }
			CASE("ioctl_%s%s_TCGETS", T, F) { int s = S(f, t, 0); char v[64]; R(ioctl(s, 0x5401, v)); }
		}
	for (int fi = 0; fi < 2; fi++) {
		int f = fams[fi], c, a, l, n;
		const char *F = fn(f);
		CASE("ioctl_tcp%s_FIONREAD_listen", F) { int s = listener(f, NULL); n = -7; R(ioctl(s, FIONREAD, &n)); X("n=%d", n); }
		CASE("ioctl_tcp%s_FIONREAD_conn", F) { pair(f, &c, &a, &l); put(a, "hello"); waitin(c); n = -7; R(ioctl(c, FIONREAD, &n)); X("n=%d", n); }
		CASE("ioctl_tcp%s_FIONREAD_conn_empty", F) { pair(f, &c, &a, &l); n = -7; R(ioctl(c, FIONREAD, &n)); X("n=%d", n); }
		CASE("ioctl_tcp%s_SIOCOUTQ_listen", F) { int s = listener(f, NULL); n = -7; R(ioctl(s, SIOCOUTQ, &n)); X("n=%d", n); }
		CASE("ioctl_tcp%s_SIOCATMARK_conn", F) { pair(f, &c, &a, &l); n = -7; R(ioctl(c, SIOCATMARK, &n)); X("n=%d", n); }
		CASE("ioctl_udp%s_FIONREAD_dgram", F) { int s = selfsend(f); n = -7; R(ioctl(s, FIONREAD, &n)); X("n=%d", n); }
		CASE("ioctl_udp%s_SIOCGSTAMP_after_recv", F) {
			int s = selfsend(f);
			char b[8];
			Q(recv(s, b, sizeof b, MSG_DONTWAIT));
			struct timeval tv = {0, 0};
			R(ioctl(s, SIOCGSTAMP, &tv));
			X("nonzero=%d", tv.tv_sec != 0);
		}
	}
}

static void misc_cases(void)
{
	int fams[] = {AF_INET, AF_INET6};
	for (int fi = 0; fi < 2; fi++) {
		int f = fams[fi];
		const char *F = fn(f);
		char b[16];
		CASE("dup_tcp%s_bind_via_dup", F) { int s = tcp(f), d = reg(dup(s)); A a = lo(f, nport()); R(bind(d, &a.sa, alen(f))); getname(s); }
		CASE("dup_tcp%s_listen_via_dup", F) { int s = bound(f, SOCK_STREAM, NULL), d = reg(dup(s)); R(listen(d, 8)); int v; socklen_t l = 4; getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &l); X("acceptconn=%d", v); }
		CASE("dup_tcp%s_connect_via_dup", F) {
			int p, l = listener(f, &p), s = tcp(f), d = reg(dup(s));
			(void)l;
			A a = lo(f, p);
			R(connect(d, &a.sa, alen(f)));
			peer(s);
		}
		CASE("dup_tcp%s_accept_via_dup", F) { int l = pending(f), d = reg(dup(l)); RF(accept(d, NULL, NULL)); acceptinfo((int)cret); }
		CASE("dup_tcp%s_bind_close_orig", F) {
			int s = tcp(f), d = reg(dup(s));
			A a = lo(f, nport());
			bindto(s, a, alen(f));
			close(s);
			R(listen(d, 8));
			getname(d);
		}
		CASE("dup_tcp%s_dup2_over", F) {
			int s = bound(f, SOCK_STREAM, NULL), t2 = tcp(f);
			RF(dup2(s, t2));
			getname(t2);
		}
		CASE("dup_udp%s_sendto_via_dup", F) { int s = bound(f, SOCK_DGRAM, NULL), d = reg(dup(s)); A a; socklen_t al = sizeof a; Q(getsockname(s, &a.sa, &al)); R(sendto(d, "abc", 3, 0, &a.sa, al)); nextdgram(s); }
		CASE("fcntl_tcp%s_getfl", F) { int s = tcp(f); R(fcntl(s, F_GETFL) & ~O_LARGEFILE); }
		CASE("fcntl_tcp%s_bound_getfl_nonblock", F) { int s = tcp(f); nonblock(s); bindto(s, lo(f, nport()), alen(f)); R(fcntl(s, F_GETFL) & ~O_LARGEFILE); }
		CASE("fcntl_tcp%s_listen_nonblock_keeps", F) { int s = tcp(f); nonblock(s); bindto(s, lo(f, nport()), alen(f)); Q(listen(s, 8)); R(fcntl(s, F_GETFL) & ~O_LARGEFILE); }
		CASE("fcntl_tcp%s_cloexec_bound", F) { int s = S(f, SOCK_STREAM | SOCK_CLOEXEC, 0); bindto(s, lo(f, nport()), alen(f)); R(fcntl(s, F_GETFD)); }
		CASE("poll_tcp%s_fresh", F) { int s = tcp(f); struct pollfd p = {s, POLLIN | POLLOUT, 0}; R(poll(&p, 1, 0)); X("revents=%#x", p.revents); }
		CASE("poll_tcp%s_listen", F) { int s = listener(f, NULL); struct pollfd p = {s, POLLIN | POLLOUT, 0}; R(poll(&p, 1, 0)); X("revents=%#x", p.revents); }
		CASE("poll_tcp%s_listen_pending", F) { int s = pending(f); waitin(s); struct pollfd p = {s, POLLIN | POLLOUT, 0}; R(poll(&p, 1, 0)); X("revents=%#x", p.revents); }
		CASE("poll_udp%s_fresh", F) { int s = udp(f); struct pollfd p = {s, POLLIN | POLLOUT, 0}; R(poll(&p, 1, 0)); X("revents=%#x", p.revents); }
		CASE("poll_udp%s_dgram", F) { int s = selfsend(f); struct pollfd p = {s, POLLIN | POLLOUT, 0}; R(poll(&p, 1, 0)); X("revents=%#x", p.revents); }
		CASE("closed_tcp%s_getsockname", F) { int s = tcp(f); close(s); A a; socklen_t l = sizeof a; R(getsockname(s, &a.sa, &l)); }
		CASE("closed_tcp%s_bound_rebind", F) {
			int p, s = bound(f, SOCK_STREAM, &p);
			close(s);
			int t2 = tcp(f);
			A a = lo(f, p);
			R(bind(t2, &a.sa, alen(f)));
		}
		CASE("closed_tcp%s_listener_rebind", F) {
			int p, s = listener(f, &p);
			close(s);
			int t2 = tcp(f);
			A a = lo(f, p);
			R(bind(t2, &a.sa, alen(f)));
			X("listen=%d", listen(t2, 8));
		}
		CASE("closed_udp%s_bound_rebind", F) {
			int p, s = bound(f, SOCK_DGRAM, &p);
			close(s);
			int t2 = udp(f);
			A a = lo(f, p);
			R(bind(t2, &a.sa, alen(f)));
		}
		CASE("write_tcp%s_unconnected_len0", F) { int s = tcp(f); R(write(s, b, 0)); }
	}
}

static void setup(void)
{
	const char *pb = getenv("PORTBASE");
	portbase = pb && *pb ? atoi(pb) : 20000 + (int)(getpid() % 20000);
	const char *cf = getenv("CASEFROM");
	casefrom = cf && *cf ? atoi(cf) : 0;
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onalarm; // no SA_RESTART: a stuck call fails with EINTR
	sigaction(SIGALRM, &sa, NULL);
	char path[] = "/tmp/noip-errnodiff-XXXXXX";
	regfd = mkstemp(path);
	unlink(path);
	int p[2];
	if (pipe(p) == 0) {
		pipefd = p[1];
		close(p[0]);
	}
	nullfd = open("/dev/null", O_RDWR);
	epfd = epoll_create1(0);
	dup2(nullfd, closedfd);
	close(closedfd);
	long pg = sysconf(_SC_PAGESIZE);
	// Three read-only pages, the middle one unmapped: nothing this
	// program does later maps a page, so the hole stays a hole.
	rdonly = mmap(NULL, 3 * pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unmapped = (char *)rdonly + pg;
	munmap(unmapped, pg);
}

int main(void)
{
	setup();
	socket_cases();
	badfd_cases();
	bind_cases();
	connect_cases();
	listen_cases();
	accept_cases();
	name_cases();
	getopt_cases();
	optlen_cases();
	setopt_cases();
	tcpio_cases();
	udp_cases();
	ioctl_cases();
	misc_cases();
	printf("END cases=%d\n", caseidx);
	return 0;
}

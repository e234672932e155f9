// escape tries, one case per run, to get a real Internet socket past noip:
// TestEscape runs it under noip with no rules, hands it real sockets made
// outside (fd 3: an unbound TCP socket, fd 4: an unbound UDP socket, fd 5:
// a real TCP listener with a client waiting, fd 6: an unbound IPv6 UDP
// socket), and watches a real TCP and a real UDP listener on 127.0.0.1
// for anything that arrives. Every call is a raw syscall, as a static or
// hand-written program makes it. Each case prints what its calls returned;
// the test judges by what the network saw, not by these lines.
//
// usage: escape CASE TCPPORT UDPPORT UNIXPATH
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/io_uring.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

extern char **environ;

static int tcpPort, udpPort;
static const char *unixPath;
static char self[4096];

static struct sockaddr_in tcpAddr, udpAddr;
static struct sockaddr_in6 udpAddr6;

static void say(const char *what, long r) {
	if (r < 0)
		printf("%s -1 %s\n", what, strerror(errno));
	else
		printf("%s %ld\n", what, r);
	fflush(stdout);
}

static long sys_connect(int fd, const void *sa, socklen_t n) { return syscall(SYS_connect, fd, sa, n); }
static long sys_sendto(int fd, const void *b, size_t n, int fl, const void *sa, socklen_t sn) {
	return syscall(SYS_sendto, fd, b, n, fl, sa, sn);
}

static long sendmsgTo(int fd, const void *sa, socklen_t n) {
	struct iovec iov = {"m", 1};
	struct msghdr mh = {.msg_name = (void *)sa, .msg_namelen = n, .msg_iov = &iov, .msg_iovlen = 1};
	return syscall(SYS_sendmsg, fd, &mh, 0);
}

static long sendmmsgTo(int fd, const void *sa, socklen_t n) {
	struct iovec iov = {"mm", 2};
	struct mmsghdr m[2];
	memset(m, 0, sizeof m);
	for (int i = 0; i < 2; i++) {
		m[i].msg_hdr.msg_name = (void *)sa;
		m[i].msg_hdr.msg_namelen = n;
		m[i].msg_hdr.msg_iov = &iov;
		m[i].msg_hdr.msg_iovlen = 1;
	}
	return syscall(SYS_sendmmsg, fd, m, 2, 0);
}

// everything makes every call this program knows on the inherited real
// sockets: the body of the cases that run it in another process or thread.
static void everything(const char *who) {
	char what[128];
#define SAY(name, call) (snprintf(what, sizeof what, "%s " name, who), say(what, call))
	SAY("connect tcp", sys_connect(3, &tcpAddr, sizeof tcpAddr));
	SAY("sendto udp", sys_sendto(4, "x", 1, 0, &udpAddr, sizeof udpAddr));
	SAY("sendmsg udp", sendmsgTo(4, &udpAddr, sizeof udpAddr));
	SAY("sendmmsg udp", sendmmsgTo(4, &udpAddr, sizeof udpAddr));
	SAY("sendto udp6 mapped", sys_sendto(6, "x", 1, 0, &udpAddr6, sizeof udpAddr6));
	SAY("listen tcp", syscall(SYS_listen, 3, 8));
	fcntl(5, F_SETFL, O_NONBLOCK);
	SAY("accept listener", syscall(SYS_accept4, 5, NULL, NULL, 0));
	int s = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	SAY("own connect", sys_connect(s, &tcpAddr, sizeof tcpAddr));
	int u = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	SAY("own sendto", sys_sendto(u, "x", 1, 0, &udpAddr, sizeof udpAddr));
#undef SAY
}

// The 64-bit program's way into the 32-bit ABI: int $0x80 takes i386
// syscall numbers and 32-bit pointers (this program is built -no-pie and
// static, so its data is below 4 GiB).
#if defined(__x86_64__)
static long int80(long nr, long a, long b, long c) {
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	if (r < 0 && r > -4096) {
		errno = -r;
		return -1;
	}
	return r;
}
static uint32_t scArgs[6];
#endif

// raceConnect: one thread connects fd 7 again and again while another
// keeps putting the real TCP socket (fd 3) and a Unix socket there.
static volatile int racing = 1;
static volatile long swaps;
static int unixSock;
static void *swapper(void *arg) {
	(void)arg;
	while (racing) {
		dup2(3, 7);
		dup2(unixSock, 7);
		dup2(4, 7);
		swaps++;
	}
	return NULL;
}

// realTouched reports whether the real TCP (fd 3) or UDP (fd 4) socket
// has been bound, connected or made to listen: the race was won.
static int realTouched(void) {
	for (int fd = 3; fd <= 4; fd++) {
		struct sockaddr_in a;
		socklen_t l = sizeof a;
		if (getsockname(fd, (struct sockaddr *)&a, &l) == 0 && a.sin_port != 0)
			return 1;
	}
	int v = 0;
	socklen_t l = sizeof v;
	return getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v;
}

// race runs until both sides have gone 20000 times and the race was won
// (plainly, it is won within milliseconds; on a busy machine, later), for
// at most 3 s.
static void race(const char *kind) {
	unixSock = socket(AF_UNIX, strcmp(kind, "sendto") == 0 ? SOCK_DGRAM : SOCK_STREAM, 0);
	dup2(unixSock, 7);
	pthread_t th;
	pthread_create(&th, NULL, swapper, NULL);
	int n = 0, ok = 0;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		long r;
		if (strcmp(kind, "connect") == 0)
			r = sys_connect(7, &tcpAddr, sizeof tcpAddr);
		else if (strcmp(kind, "sendto") == 0)
			r = sys_sendto(7, "r", 1, MSG_DONTWAIT | MSG_NOSIGNAL, &udpAddr, sizeof udpAddr);
		else
			r = syscall(SYS_listen, 7, 8);
		if (r >= 0)
			ok++;
		n++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((n < 20000 || swaps < 20000 || (n % 256 != 0 || !realTouched())) && (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 3000);
	racing = 0;
	pthread_join(th, NULL);
	printf("race %s tries %d swaps %ld succeeded %d\n", kind, n, swaps, ok);
}

static void *threadMain(void *arg) {
	everything((const char *)arg);
	return NULL;
}

// fromUnix gets a real socket from outside over SCM_RIGHTS: the test
// serves one per connection at unixPath.
static int fromUnix(void) {
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	strncpy(sun.sun_path, unixPath, sizeof sun.sun_path - 1);
	if (connect(s, (struct sockaddr *)&sun, sizeof sun) < 0) {
		say("unix connect", -1);
		return -1;
	}
	char byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	if (recvmsg(s, &mh, 0) < 0) {
		say("recvmsg", -1);
		return -1;
	}
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS) {
		printf("no fd received\n");
		return -1;
	}
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	close(s);
	return fd;
}

// ringConnect drives an io_uring made outside (its io_uring_params in
// $ESCAPE_RING, as hex) to connect fd 3 to the TCP listener, as a program
// handed a ring would: map its queues, queue an IORING_OP_CONNECT, and
// submit it (a polling ring needs no call at all).
static void ringConnect(int ring) {
	struct io_uring_params p;
	const char *hex = getenv("ESCAPE_RING");
	if (!hex || strlen(hex) != 2 * sizeof p) {
		printf("no ring params\n");
		return;
	}
	for (size_t i = 0; i < sizeof p; i++)
		sscanf(hex + 2 * i, "%2hhx", (unsigned char *)&p + i);
	size_t sqSize = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	char *sq = mmap(NULL, sqSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
	say("ring mmap sq", sq == MAP_FAILED ? -1 : 0);
	struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
	say("ring mmap sqes", sqes == MAP_FAILED ? -1 : 0);
	say("ring enter", syscall(SYS_io_uring_enter, ring, 0, 0, 0, NULL, 0));
	if (sq == MAP_FAILED || sqes == MAP_FAILED)
		return;
	unsigned *tail = (unsigned *)(sq + p.sq_off.tail), mask = *(unsigned *)(sq + p.sq_off.ring_mask);
	unsigned *array = (unsigned *)(sq + p.sq_off.array);
	unsigned t = *tail, idx = t & mask;
	memset(&sqes[idx], 0, sizeof sqes[idx]);
	sqes[idx].opcode = IORING_OP_CONNECT;
	sqes[idx].fd = 3;
	sqes[idx].addr = (unsigned long)&tcpAddr;
	sqes[idx].off = sizeof tcpAddr;
	array[idx] = idx;
	__atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
	unsigned flags = *(unsigned *)(sq + p.sq_off.flags);
	if (!(p.flags & IORING_SETUP_SQPOLL) || (flags & IORING_SQ_NEED_WAKEUP))
		say("ring submit", syscall(SYS_io_uring_enter, ring, 1, 1,
		                           IORING_ENTER_GETEVENTS | ((p.flags & IORING_SETUP_SQPOLL) ? IORING_ENTER_SQ_WAKEUP : 0), NULL, 0));
	usleep(200000); // the polling thread's time to act
}

int main(int argc, char **argv) {
	if (argc < 5) {
		fprintf(stderr, "usage: escape CASE TCPPORT UDPPORT UNIXPATH\n");
		return 2;
	}
	const char *c = argv[1];
	tcpPort = atoi(argv[2]);
	udpPort = atoi(argv[3]);
	unixPath = argv[4];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sl > 0)
		self[sl] = 0;
	tcpAddr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(tcpPort), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	udpAddr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(udpPort), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	udpAddr6 = (struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_port = htons(udpPort)};
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &udpAddr6.sin6_addr);

	if (strcmp(c, "inherited") == 0) {
		everything("inherited");
	} else if (strcmp(c, "fastopen") == 0) {
		say("fastopen tcp", sys_sendto(3, "f", 1, MSG_FASTOPEN, &tcpAddr, sizeof tcpAddr));
	} else if (strcmp(c, "connect_udp") == 0) {
		say("connect udp", sys_connect(4, &udpAddr, sizeof udpAddr));
		say("send udp", syscall(SYS_sendto, 4, "c", 1, 0, NULL, 0));
		struct iovec iov = {"c", 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		say("sendmsg udp", syscall(SYS_sendmsg, 4, &mh, 0));
	} else if (strcmp(c, "bind_unspec") == 0) {
		struct sockaddr_in unspec = {.sin_family = AF_UNSPEC};
		say("bind unspec any", syscall(SYS_bind, 3, &unspec, sizeof unspec));
		say("listen", syscall(SYS_listen, 3, 8));
	} else if (strcmp(c, "scm_rights") == 0) {
		int fd = fromUnix();
		if (fd >= 0) {
			dup2(fd, 4);
			say("received sendto", sys_sendto(4, "s", 1, 0, &udpAddr, sizeof udpAddr));
			say("received sendmsg", sendmsgTo(4, &udpAddr, sizeof udpAddr));
		}
		fd = fromUnix();
		if (fd >= 0) {
			say("received connect", sys_connect(fd, &tcpAddr, sizeof tcpAddr));
			say("received fastopen", sys_sendto(fd, "f", 1, MSG_FASTOPEN, &tcpAddr, sizeof tcpAddr));
		}
		fd = fromUnix();
		if (fd >= 0)
			say("received listen", syscall(SYS_listen, fd, 8));
#if defined(__x86_64__)
	} else if (strcmp(c, "int80") == 0) {
		// i386: connect 362, sendto 369, listen 363, socketcall 102.
		static struct sockaddr_in lowTcp, lowUdp;
		lowTcp = tcpAddr;
		lowUdp = udpAddr;
		say("int80 connect", int80(362, 3, (long)(uintptr_t)&lowTcp, sizeof lowTcp));
		say("int80 listen", int80(363, 3, 8, 0));
		scArgs[0] = 3;
		scArgs[1] = (uint32_t)(uintptr_t)&lowTcp;
		scArgs[2] = sizeof lowTcp;
		say("int80 socketcall connect", int80(102, 3, (long)(uintptr_t)scArgs, 0));
		static const char x[] = "x";
		uint32_t sendArgs[6] = {4, (uint32_t)(uintptr_t)x, 1, 0, (uint32_t)(uintptr_t)&lowUdp, sizeof lowUdp};
		memcpy(scArgs, sendArgs, sizeof sendArgs);
		say("int80 socketcall sendto", int80(102, 11, (long)(uintptr_t)scArgs, 0));
		say("int80 socketcall listen", (scArgs[0] = 3, scArgs[1] = 8, int80(102, 4, (long)(uintptr_t)scArgs, 0)));
	} else if (strcmp(c, "x32") == 0) {
		// x32 numbers: connect 42, sendto 44, listen 50, with bit 30.
		say("x32 connect", syscall(0x40000000 | 42, 3, &tcpAddr, sizeof tcpAddr));
		say("x32 sendto", syscall(0x40000000 | 44, 4, "x", 1, 0, &udpAddr, sizeof udpAddr));
		say("x32 listen", syscall(0x40000000 | 50, 3, 8));
#else
	} else if (strcmp(c, "i386") == 0) {
		everything("i386");
		unsigned long a[6] = {3, (unsigned long)&tcpAddr, sizeof tcpAddr};
		say("i386 socketcall connect", syscall(SYS_socketcall, 3, a));
		unsigned long b[6] = {4, (unsigned long)"x", 1, 0, (unsigned long)&udpAddr, sizeof udpAddr};
		say("i386 socketcall sendto", syscall(SYS_socketcall, 11, b));
		unsigned long l[2] = {3, 8};
		say("i386 socketcall listen", syscall(SYS_socketcall, 4, l));
#endif
	} else if (strcmp(c, "ring_inherited") == 0) {
		ringConnect(7);
	} else if (strcmp(c, "ring_holder") == 0) {
		// Outside noip: a ring for ring_taken to take. (Not a polling
		// one: its kernel thread would act with the holder's fds, and the
		// plain run would show nothing. noip refuses both alike, at the
		// mmap of the ring's entries.)
		struct io_uring_params p = {0};
		int fd = syscall(SYS_io_uring_setup, 4, &p);
		if (fd < 0) {
			say("io_uring_setup", -1);
			return 1;
		}
		printf("ring %d %d ", getpid(), fd);
		for (size_t i = 0; i < sizeof p; i++)
			printf("%02x", ((unsigned char *)&p)[i]);
		printf("\n");
		fflush(stdout);
		char b[64];
		while (read(0, b, sizeof b) > 0)
			;
		return 0;
	} else if (strcmp(c, "ring_taken") == 0) {
		// The kernel will not pass a ring over SCM_RIGHTS; pidfd_getfd
		// takes one from another process of the user.
		int pid = 0, fd = -1;
		sscanf(getenv("ESCAPE_RING_FROM") ? getenv("ESCAPE_RING_FROM") : "", "%d %d", &pid, &fd);
		int pidfd = syscall(SYS_pidfd_open, pid, 0);
		int ring = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, fd, 0);
		say("pidfd_getfd ring", ring);
		if (ring >= 0)
			ringConnect(ring);
	} else if (strcmp(c, "nondumpable") == 0) {
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		say("dumpable", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
		everything("nondumpable");
	} else if (strcmp(c, "race_connect") == 0) {
		race("connect");
	} else if (strcmp(c, "race_sendto") == 0) {
		race("sendto");
	} else if (strcmp(c, "race_listen") == 0) {
		race("listen");
	} else if (strcmp(c, "thread") == 0) {
		pthread_t th;
		pthread_create(&th, NULL, threadMain, "thread");
		pthread_join(th, NULL);
	} else if (strcmp(c, "vfork") == 0) {
		pid_t pid = vfork();
		if (pid == 0) {
			// Only raw calls and _exit are allowed in a vfork child; the
			// lines are written with write(2).
			char line[128];
			long r = sys_connect(3, &tcpAddr, sizeof tcpAddr);
			int n = snprintf(line, sizeof line, "vfork connect %ld %d\n", r, r < 0 ? errno : 0);
			write(1, line, n);
			r = sys_sendto(4, "v", 1, 0, &udpAddr, sizeof udpAddr);
			n = snprintf(line, sizeof line, "vfork sendto %ld %d\n", r, r < 0 ? errno : 0);
			write(1, line, n);
			_exit(0);
		}
		waitpid(pid, NULL, 0);
	} else if (strcmp(c, "clone3") == 0) {
		struct {
			uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
		} args = {.exit_signal = SIGCHLD};
		long pid = syscall(SYS_clone3, &args, sizeof args);
		if (pid == 0) {
			everything("clone3");
			_exit(0);
		}
		if (pid < 0) {
			say("clone3", pid);
		} else {
			waitpid(pid, NULL, 0);
		}
	} else if (strcmp(c, "spawn") == 0) {
		char *args[] = {self, "child", argv[2], argv[3], argv[4], NULL};
		pid_t pid;
		int e = posix_spawn(&pid, self, NULL, NULL, args, environ);
		if (e != 0) {
			errno = e;
			say("posix_spawn", -1);
		} else {
			waitpid(pid, NULL, 0);
		}
	} else if (strcmp(c, "child") == 0) {
		everything("spawned");
	} else if (strcmp(c, "daemon") == 0) {
		// Double fork: the grandchild outlives the command noip ran, and
		// only then tries.
		// The command's end of a pipe: it closes when the command exits.
		int gone[2];
		pipe(gone);
		if (fork() == 0) {
			setsid();
			if (fork() == 0) {
				char b;
				close(gone[1]);
				while (read(gone[0], &b, 1) > 0)
					;
				usleep(300000);
				int fd = open(unixPath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
				dup2(fd, 1);
				dup2(fd, 2);
				close(0);
				everything("daemon");
				printf("daemon done\n");
				fflush(stdout);
				sleep(30); // the test kills it once it has looked
				_exit(0);
			}
			_exit(0);
		}
		close(gone[0]);
		wait(NULL);
	} else {
		fprintf(stderr, "unknown case %s\n", c);
		return 2;
	}
	printf("done\n");
	fflush(stdout);
	if (getenv("ESCAPE_HOLD")) {
		// Stay, with every socket, until the test has looked.
		char b[64];
		while (read(0, b, sizeof b) > 0)
			;
	}
	return 0;
}

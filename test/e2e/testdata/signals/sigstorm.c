// sigstorm: a server and a client (two processes) exchange N numbered
// connections (tcp) or datagrams (udp) over 127.0.0.1 while each process
// takes SIGALRM at 1 kHz, its handler installed with SA_RESTART or without.
// Blocking accept, connect, recv and send are what the signals interrupt.
// Each side counts what it saw: every number once (none lost, none twice),
// EINTR only where the program asked for it (no SA_RESTART), and no other
// error. TestSignalStorm runs it with and without noip.
//
// usage: sigstorm restart|norestart tcp|udp PORT N
//        sigstorm thread PORT
//
// The second form blocks a worker thread in accept and sends the process
// (not the thread) a signal that only that worker can take: its accept
// must end with EINTR.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile long signals;
static long eintr, errors, unbegun;
static int restart;

static void onAlarm(int sig) {
	(void)sig;
	signals++;
}

static void storm(void) {
	struct sigaction sa = {.sa_handler = onAlarm, .sa_flags = restart ? SA_RESTART : 0};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 1000}, {0, 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static void calm(void) {
	struct itimerval it = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
}

// interrupted counts an EINTR and says whether to retry: where the program
// asked for EINTR (no SA_RESTART) it is expected, else it is an error.
static int interrupted(const char *what) {
	if (errno != EINTR) {
		fprintf(stderr, "%s: %s\n", what, strerror(errno));
		errors++;
		return 0;
	}
	eintr++;
	if (restart) {
		fprintf(stderr, "%s: EINTR despite SA_RESTART\n", what);
		errors++;
	}
	return 1;
}

// full reads or writes exactly n bytes, across interruptions.
static int full(int fd, void *b, size_t n, int writing) {
	size_t done = 0;
	while (done < n) {
		ssize_t r = writing ? write(fd, (char *)b + done, n - done) : read(fd, (char *)b + done, n - done);
		if (r > 0) {
			done += r;
		} else if (r == 0) {
			fprintf(stderr, "%s: early EOF\n", writing ? "write" : "read");
			errors++;
			return -1;
		} else if (!interrupted(writing ? "write" : "read")) {
			return -1;
		}
	}
	return 0;
}

// pause a random time up to 1.5 ms, so that the other side waits, blocked,
// for a while the signals can hit.
static void jitter(void) {
	struct timespec ts = {0, (rand() % 1500) * 1000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct sockaddr_in addr;

static int tcpServer(int n, int ready) {
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s, 128) < 0) {
		perror("server bind/listen");
		return 1;
	}
	write(ready, "r", 1);
	close(ready);
	unsigned char *seen = calloc(n, 1);
	long dup = 0, accepted = 0;
	storm();
	while (accepted < n) {
		int c = accept(s, NULL, NULL);
		if (c < 0) {
			if (!interrupted("accept"))
				break;
			continue;
		}
		accepted++;
		uint32_t seq;
		if (full(c, &seq, 4, 0) == 0) {
			if (seq < (uint32_t)n) {
				if (seen[seq]++)
					dup++;
			} else {
				errors++;
			}
			full(c, &seq, 4, 1);
		}
		close(c);
	}
	calm();
	long missing = 0;
	for (int i = 0; i < n; i++)
		missing += !seen[i];
	printf("server accepted %ld missing %ld duplicated %ld eintr %ld errors %ld signals %ld\n", accepted, missing, dup, eintr, errors, signals);
	return 0;
}

static int tcpClient(int n) {
	long acked = 0;
	storm();
	for (int i = 0; i < n; i++) {
		jitter();
		int s;
		while ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			if (!interrupted("socket"))
				return 1;
	again:
		if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
			if (!interrupted("connect")) {
				close(s);
				continue;
			}
			// Interrupted, the connection goes on: wait for it.
			struct pollfd p = {s, POLLOUT, 0};
			while (poll(&p, 1, -1) < 0)
				;
			int err = 0;
			socklen_t l = sizeof err;
			getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err) {
				fprintf(stderr, "connect, after EINTR: %s\n", strerror(err));
				errors++;
				close(s);
				continue;
			}
			struct sockaddr_in peer;
			l = sizeof peer;
			if (getpeername(s, (struct sockaddr *)&peer, &l) < 0) {
				// Interrupted before it began (under noip: before
				// the supervisor took it, see docs/design.md).
				unbegun++;
				goto again;
			}
		}
		uint32_t seq = i, ack;
		if (full(s, &seq, 4, 1) == 0 && full(s, &ack, 4, 0) == 0) {
			if (ack == seq)
				acked++;
			else
				errors++;
		}
		close(s);
	}
	calm();
	printf("client connected %d acked %ld eintr %ld unbegun %ld errors %ld signals %ld\n", n, acked, eintr, unbegun, errors, signals);
	return 0;
}

static int udpServer(int n, int ready) {
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
		perror("server bind");
		return 1;
	}
	write(ready, "r", 1);
	close(ready);
	unsigned char *seen = calloc(n, 1);
	long dup = 0, got = 0;
	storm();
	for (;;) {
		uint32_t seq;
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		ssize_t r = recvfrom(s, &seq, 4, 0, (struct sockaddr *)&from, &fl);
		if (r < 0) {
			if (!interrupted("recvfrom"))
				break;
			continue;
		}
		if (seq == 0xffffffff)
			break; // the client is done
		got++;
		if (r != 4 || seq >= (uint32_t)n) {
			errors++;
			continue;
		}
		if (seen[seq]++)
			dup++;
		while (sendto(s, &seq, 4, 0, (struct sockaddr *)&from, fl) < 0)
			if (!interrupted("sendto"))
				break;
	}
	calm();
	long missing = 0;
	for (int i = 0; i < n; i++)
		missing += !seen[i];
	printf("server received %ld missing %ld duplicated %ld eintr %ld errors %ld signals %ld\n", got, missing, dup, eintr, errors, signals);
	return 0;
}

static int udpClient(int n) {
	int s;
	while ((s = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		if (!interrupted("socket"))
			return 1;
	long echoed = 0, lost = 0;
	storm();
	for (int i = 0; i < n; i++) {
		if (i % 8 == 0)
			jitter();
		uint32_t seq = i, back;
		while (sendto(s, &seq, 4, 0, (struct sockaddr *)&addr, sizeof addr) < 0)
			if (!interrupted("sendto"))
				break;
		// Wait for the echo, at most 5 s (poll is never restarted).
		struct timespec deadline, now;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += 5;
		for (;;) {
			struct pollfd p = {s, POLLIN, 0};
			clock_gettime(CLOCK_MONOTONIC, &now);
			long left = (deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1000000;
			if (left <= 0 || poll(&p, 1, left) == 0) {
				lost++;
				break;
			}
			if (!(p.revents & POLLIN))
				continue;
			ssize_t r = recv(s, &back, 4, 0);
			if (r < 0) {
				if (!interrupted("recv"))
					break;
				continue;
			}
			if (back == seq)
				echoed++;
			else
				errors++;
			break;
		}
	}
	calm();
	uint32_t fin = 0xffffffff;
	sendto(s, &fin, 4, 0, (struct sockaddr *)&addr, sizeof addr);
	printf("client sent %d echoed %ld lost %ld eintr %ld errors %ld signals %ld\n", n, echoed, lost, eintr, errors, signals);
	return 0;
}

static int listener;

static void *acceptor(void *arg) {
	(void)arg;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int c = accept(listener, NULL, NULL);
	int e = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("accept %d %s after %ld ms\n", c, c < 0 ? strerror(e) : "ok", ms);
	return NULL;
}

static int threadCase(void) {
	listener = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 8) < 0) {
		perror("bind/listen");
		return 1;
	}
	struct sigaction sa = {.sa_handler = onAlarm};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_t th;
	pthread_create(&th, NULL, acceptor, NULL);
	pthread_sigmask(SIG_BLOCK, &set, NULL); // only the worker takes it
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, NULL);
	kill(getpid(), SIGUSR1);
	pthread_join(th, NULL);
	printf("signals %ld\n", signals);
	return 0;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "thread") == 0) {
		addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(atoi(argv[2])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		return threadCase();
	}
	if (argc != 5) {
		fprintf(stderr, "usage: sigstorm restart|norestart tcp|udp PORT N | thread PORT\n");
		return 2;
	}
	restart = strcmp(argv[1], "restart") == 0;
	int tcp = strcmp(argv[2], "tcp") == 0, n = atoi(argv[4]);
	addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(atoi(argv[3])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int p[2];
	pipe(p);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		_exit(tcp ? tcpServer(n, p[1]) : udpServer(n, p[1]));
	}
	close(p[1]);
	char b;
	if (read(p[0], &b, 1) != 1) {
		fprintf(stderr, "the server did not start\n");
		return 1;
	}
	srand(getpid());
	int r = tcp ? tcpClient(n) : udpClient(n);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return r || !WIFEXITED(st) || WEXITSTATUS(st);
}

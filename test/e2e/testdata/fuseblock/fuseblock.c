/*
 * fuseblock: a program that parks a path lookup in a FUSE request that is
 * never answered.  Regression-test attacker for noip: a supervisor that
 * resolves the tracee's paths (e.g. stat("/proc/TID/cwd/blockme")) on its
 * notification loop hangs there, and with it every notified call of the tree.
 *
 * No libfuse: the raw /dev/fuse protocol (linux/fuse.h).
 *
 * usage: fuseblock [-d DIR] [-n] [-q] HANG ACTION
 *
 *   HANG    comma list of what is never answered for the name "blockme":
 *             lookup   FUSE_LOOKUP of "blockme" in the root
 *             getattr  FUSE_GETATTR of blockme (lookup succeeds, attrs
 *                      never cached)
 *             open     FUSE_OPEN of blockme
 *             read     FUSE_READ of blockme (file has size 4096, direct_io)
 *             none     nothing hangs
 *           Unless "lookup" is listed, blockme is a regular file, mode 0755
 *           (empty, or 4096 bytes with "read").  Other names: ENOENT.
 *   ACTION  what the main process does in the mount, after printing "ready":
 *             execve      execve("blockme", ...)
 *             execve-dot  execve("./blockme", ...)
 *             stat        stat("blockme")
 *             open        open("blockme", O_RDWR|O_CREAT, 0644)
 *             uopen       open("blockme", O_RDONLY)
 *             connect     connect(AF_UNIX socket, "blockme")
 *             none        nothing (just wait)
 *           If the call ever returns, "ACTION returned RC (ERRNO)" is printed
 *           on stdout and the program exits with status 3.
 *   -d DIR  mount on DIR and leave it attached there (DIR must exist; the
 *           caller removes it).  Default: mkdtemp $TMPDIR/fuseblock.XXXXXX,
 *           and once the process is inside the mount, detach it
 *           (umount2 MNT_DETACH) and rmdir the directory, so nothing at all
 *           is left on the host; the mount lives on only as our cwd.
 *   -n      no user namespace: only unshare(CLONE_NEWNS) (needs real root).
 *           Also used automatically when running as root and
 *           unshare(CLONE_NEWUSER) fails.
 *   -q      do not report held requests on stderr.
 *
 * Processes: the main process (the one that blocks) and a FUSE server child.
 * The child has PR_SET_PDEATHSIG SIGKILL; the main process does not keep the
 * /dev/fuse fd, so when the child dies the connection is aborted and every
 * pending request fails (ECONNABORTED).  When the main process itself is the
 * one stuck in a FUSE request and gets a fatal signal, the kernel sends
 * FUSE_INTERRUPT; the server answers the held request with EINTR only if it
 * came from the main process (so kill works without noip), never for other
 * requesters (a supervisor stays stuck even when its thread gets signals,
 * e.g. Go's SIGURG preemption).  Everything lives in a private mount
 * namespace, so no mount outlives the two processes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

#define NAME "blockme"
#define FILE_ID 2
#define MAX_WRITE 65536

static int hang_lookup, hang_getattr, hang_open, hang_read, quiet;

static void die(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	fprintf(stderr, "fuseblock: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s (errno %d)\n", strerror(e), e);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: fuseblock [-d DIR] [-n] [-q] "
		"lookup|getattr|open|read|none[,...] "
		"execve|execve-dot|stat|open|uopen|connect|none\n");
	exit(2);
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		die("open %s", path);
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die("write %s <- %s", path, s);
	close(fd);
}

/* ---- FUSE server ------------------------------------------------------ */

struct held {
	uint64_t unique;
	uint32_t pid;
};

static struct held held[256];
static int nheld;

static void reply(int fd, uint64_t unique, int err, const void *p, size_t n)
{
	struct fuse_out_header oh;
	struct iovec iov[2];

	oh.len = sizeof oh + (err ? 0 : n);
	oh.error = err;
	oh.unique = unique;
	iov[0].iov_base = &oh;
	iov[0].iov_len = sizeof oh;
	iov[1].iov_base = (void *)p;
	iov[1].iov_len = err ? 0 : n;
	/* ENOENT: the request was interrupted/aborted meanwhile; ignore. */
	if (writev(fd, iov, 2) < 0 && errno != ENOENT) {
		perror("fuseblock server: writev");
		_exit(1);
	}
}

static void fill_attr(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof *a);
	a->ino = ino;
	a->uid = 0;
	a->gid = 0;
	a->blksize = 4096;
	if (ino == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	} else {
		a->mode = S_IFREG | 0755;
		a->nlink = 1;
		a->size = hang_read ? 4096 : 0;
		a->blocks = a->size / 512;
	}
}

static void hold(const struct fuse_in_header *h, const char *what)
{
	if (nheld < (int)(sizeof held / sizeof held[0])) {
		held[nheld].unique = h->unique;
		held[nheld].pid = h->pid;
		nheld++;
	}
	if (!quiet)
		fprintf(stderr, "fuseblock: holding %s from pid %u "
			"(unique %llu), never answering\n",
			what, h->pid, (unsigned long long)h->unique);
}

static void serve(int fd, pid_t mainpid)
{
	static char buf[MAX_WRITE + (1 << 16)];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		struct fuse_in_header *h = (struct fuse_in_header *)buf;
		void *arg = h + 1;

		if (n < 0) {
			if (errno == EINTR || errno == ENOENT || errno == EAGAIN)
				continue;
			if (errno == ENODEV) /* unmounted / aborted */
				_exit(0);
			perror("fuseblock server: read /dev/fuse");
			_exit(1);
		}
		if ((size_t)n < sizeof *h)
			continue;

		switch (h->opcode) {
		case FUSE_INIT: {
			struct fuse_init_in *in = arg;
			struct fuse_init_out out;

			memset(&out, 0, sizeof out);
			out.major = FUSE_KERNEL_VERSION;
			out.minor = in->minor < FUSE_KERNEL_MINOR_VERSION ?
				in->minor : FUSE_KERNEL_MINOR_VERSION;
			out.max_readahead = in->max_readahead;
			out.max_background = 16;
			out.congestion_threshold = 12;
			out.max_write = MAX_WRITE;
			out.time_gran = 1;
			reply(fd, h->unique, 0, &out, sizeof out);
			break;
		}
		case FUSE_LOOKUP: {
			const char *name = arg;
			struct fuse_entry_out out;

			if (h->nodeid != FUSE_ROOT_ID || strcmp(name, NAME)) {
				reply(fd, h->unique, -ENOENT, NULL, 0);
				break;
			}
			if (hang_lookup) {
				hold(h, "LOOKUP \"" NAME "\"");
				break;
			}
			memset(&out, 0, sizeof out);
			out.nodeid = FILE_ID;
			out.generation = 1;
			/* getattr mode: attrs are never valid, stat must ask. */
			out.attr_valid = hang_getattr ? 0 : 3600;
			fill_attr(&out.attr, FILE_ID);
			reply(fd, h->unique, 0, &out, sizeof out);
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out out;

			if (h->nodeid == FILE_ID && hang_getattr) {
				hold(h, "GETATTR " NAME);
				break;
			}
			memset(&out, 0, sizeof out);
			out.attr_valid = h->nodeid == FILE_ID && hang_getattr ?
				0 : 3600;
			fill_attr(&out.attr, h->nodeid);
			reply(fd, h->unique, 0, &out, sizeof out);
			break;
		}
		case FUSE_OPEN:
		case FUSE_OPENDIR: {
			struct fuse_open_out out;

			if (h->opcode == FUSE_OPEN && hang_open) {
				hold(h, "OPEN " NAME);
				break;
			}
			memset(&out, 0, sizeof out);
			out.fh = h->nodeid;
			if (h->opcode == FUSE_OPEN && hang_read)
				out.open_flags = FOPEN_DIRECT_IO;
			reply(fd, h->unique, 0, &out, sizeof out);
			break;
		}
		case FUSE_READ:
			if (hang_read) {
				hold(h, "READ " NAME);
				break;
			}
			reply(fd, h->unique, 0, NULL, 0); /* EOF */
			break;
		case FUSE_READDIR:
			reply(fd, h->unique, 0, NULL, 0); /* empty */
			break;
		case FUSE_ACCESS:
		case FUSE_FLUSH:
		case FUSE_RELEASE:
		case FUSE_RELEASEDIR:
		case FUSE_FSYNC:
		case FUSE_FSYNCDIR:
			reply(fd, h->unique, 0, NULL, 0);
			break;
		case FUSE_STATFS: {
			struct fuse_statfs_out out;

			memset(&out, 0, sizeof out);
			out.st.bsize = 4096;
			out.st.frsize = 4096;
			out.st.namelen = 255;
			reply(fd, h->unique, 0, &out, sizeof out);
			break;
		}
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
			break; /* no reply */
		case FUSE_INTERRUPT: {
			struct fuse_interrupt_in *in = arg;
			int i;

			/* No reply to the interrupt itself. */
			for (i = 0; i < nheld; i++) {
				if (held[i].unique != in->unique)
					continue;
				if (held[i].pid != (uint32_t)mainpid)
					break; /* not ours: stays stuck */
				reply(fd, held[i].unique, -EINTR, NULL, 0);
				held[i] = held[--nheld];
				break;
			}
			break;
		}
		case FUSE_DESTROY:
			reply(fd, h->unique, 0, NULL, 0);
			_exit(0);
		default:
			reply(fd, h->unique, -ENOSYS, NULL, 0);
			break;
		}
	}
}

/* ---- main process ------------------------------------------------------ */

static void parse_hang(char *s)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "lookup"))
			hang_lookup = 1;
		else if (!strcmp(tok, "getattr"))
			hang_getattr = 1;
		else if (!strcmp(tok, "open"))
			hang_open = 1;
		else if (!strcmp(tok, "read"))
			hang_read = 1;
		else if (strcmp(tok, "none"))
			usage();
	}
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *action;
	char tmpl[4096], opts[128], map[64];
	int opt, nouserns = 0, created = 0, fd, rc, e;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	pid_t mainpid, pid;

	while ((opt = getopt(argc, argv, "+d:nq")) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'n': nouserns = 1; break;
		case 'q': quiet = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 2)
		usage();
	parse_hang(argv[optind]);
	action = argv[optind + 1];
	if (strcmp(action, "execve") && strcmp(action, "execve-dot") &&
	    strcmp(action, "stat") && strcmp(action, "open") &&
	    strcmp(action, "uopen") && strcmp(action, "connect") &&
	    strcmp(action, "none"))
		usage();

	if (!nouserns) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0) {
			write_file("/proc/self/setgroups", "deny");
			snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
			write_file("/proc/self/uid_map", map);
			snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
			write_file("/proc/self/gid_map", map);
		} else if (uid == 0) {
			e = errno;
			fprintf(stderr, "fuseblock: unshare(CLONE_NEWUSER|CLONE_NEWNS): "
				"%s; real root, trying without a user namespace\n",
				strerror(e));
			nouserns = 1;
		} else {
			die("unshare(CLONE_NEWUSER|CLONE_NEWNS)");
		}
	}
	if (nouserns && unshare(CLONE_NEWNS) < 0)
		die("unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("mount(/, MS_REC|MS_PRIVATE)");

	if (!dir) {
		const char *t = getenv("TMPDIR");

		snprintf(tmpl, sizeof tmpl, "%s/fuseblock.XXXXXX",
			 t && *t ? t : "/tmp");
		if (!mkdtemp(tmpl))
			die("mkdtemp %s", tmpl);
		dir = tmpl;
		created = 1;
	}

	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (created)
			rmdir(dir);
		errno = e;
		die("open /dev/fuse");
	}
	snprintf(opts, sizeof opts,
		 "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	if (mount("fuseblock", dir, "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
		e = errno;
		if (created)
			rmdir(dir);
		errno = e;
		die("mount fuse on %s (%s)", dir, opts);
	}

	mainpid = getpid();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			die("prctl(PR_SET_PDEATHSIG)");
		if (getppid() != mainpid)
			_exit(0);
		serve(fd, mainpid);
		_exit(0);
	}
	/* Only the server holds the device: its death aborts the connection. */
	close(fd);

	if (chdir(dir) < 0)
		die("chdir %s", dir);
	if (created) {
		if (umount2(dir, MNT_DETACH) < 0)
			die("umount2 %s MNT_DETACH", dir);
		if (rmdir(dir) < 0)
			die("rmdir %s", dir);
	}

	printf("ready\n");
	fflush(stdout);

	errno = 0;
	if (!strcmp(action, "execve") || !strcmp(action, "execve-dot")) {
		const char *path = action[6] ? "./" NAME : NAME;
		char *av[] = { (char *)path, NULL };

		rc = execve(path, av, environ);
	} else if (!strcmp(action, "stat")) {
		struct stat st;

		rc = stat(NAME, &st);
	} else if (!strcmp(action, "open")) {
		rc = open(NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	} else if (!strcmp(action, "uopen")) {
		rc = open(NAME, O_RDONLY | O_CLOEXEC);
	} else if (!strcmp(action, "connect")) {
		struct sockaddr_un sa;
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s < 0)
			die("socket(AF_UNIX)");
		memset(&sa, 0, sizeof sa);
		sa.sun_family = AF_UNIX;
		strcpy(sa.sun_path, NAME);
		rc = connect(s, (struct sockaddr *)&sa, sizeof sa);
	} else {
		for (;;)
			pause();
	}
	e = errno;
	printf("%s returned %d (%s)\n", action, rc, rc < 0 ? strerror(e) : "ok");
	fflush(stdout);
	return 3;
}

/*
 * External hooks: each executable of a stage's directory runs in turn,
 * in its own process group, with the intent on stdin and a deadline. The
 * caller may be any thread: nothing here touches signal dispositions or
 * process-wide state. A child is watched through a pidfd (or, on kernels
 * without one, by polling waitid every few milliseconds), and is killed
 * with its group and reaped before this returns.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

#define RUNNER_PATH		"PATH=/usr/local/bin:/usr/bin:/bin"
/* Without a pidfd, how often to look whether the hook has exited. */
#define RUNNER_WAIT_SLICE_MS	20
/* Bytes of input written per wake-up. */
#define RUNNER_WRITE_CHUNK	(64 * 1024)
/* Descriptors closed one by one when close_range(2) is missing. */
#define RUNNER_MAX_FDS		65536

/* Leftovers of editors and package managers, never run. */
static const char *const runner_skip_suffixes[] = {
	"~", ".bak", ".orig", ".rej", ".swp", ".dpkg-old", ".dpkg-new",
	".dpkg-dist", ".rpmnew", ".rpmsave", NULL
};

/* What the child reports through its exec pipe when it cannot start. */
struct runner_fail {
	int	step;		/* RUNNER_STEP_* */
	int	errnum;
};
#define RUNNER_STEP_CHDIR	1
#define RUNNER_STEP_EXEC	2

/* One hook's run, from the parent's side. */
struct runner_proc {
	pid_t		 pid;
	int		 in;		/* our end of its stdin, or -1 */
	int		 errfd;		/* its stderr, or -1 */
	int		 execfd;	/* closes on exec; data if exec failed */
	int		 pidfd;		/* readable when it exits, or -1 */
	const char	*input;
	size_t		 inlen, inoff;
	char		*errbuf;	/* RUNNER_STDERR_MAX + 1 */
	size_t		 errlen;
	size_t		 errdropped;
	struct runner_fail fail;
	size_t		 faillen;
	size_t		 failextra;	/* never: the child writes one */
	int		 exited, timedout, status;
	int		 outfd;		/* its stdout when captured, or -1 */
	char		*outbuf;	/* outmax + 1, or NULL */
	size_t		 outlen, outmax, outdropped;
};

static int
runner_skip_name(const char *name)
{
	const char *const *s;
	size_t n = strlen(name), k;

	if (name[0] == '.')
		return 1;
	for (s = runner_skip_suffixes; *s != NULL; s++) {
		k = strlen(*s);
		if (n >= k && strcmp(name + n - k, *s) == 0)
			return 1;
	}
	return 0;
}

static int
runner_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
runner_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

/* The hooks of dir, sorted; a missing dir has none. */
static int
runner_list(char ***out, size_t *nout, const char *dir, struct ag_err *err)
{
	struct dirent *de;
	struct stat sb;
	char **names = NULL;
	size_t n = 0;
	DIR *d;
	int r;

	*out = NULL;
	*nout = 0;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return ag_err_set(err, AG_EIO, "hooks: %s: %s", dir,
		    strerror(errno));
	}
	if ((names = calloc(RUNNER_MAX_HOOKS, sizeof *names)) == NULL) {
		r = ag_err_set(err, AG_EINTERNAL, "hooks: out of memory");
		goto out;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				r = ag_err_set(err, AG_EIO, "hooks: %s: %s",
				    dir, strerror(errno));
				goto out;
			}
			break;
		}
		if (runner_skip_name(de->d_name))
			continue;
		/* follows symbolic links: a link to a hook is a hook */
		if (fstatat(dirfd(d), de->d_name, &sb, 0) < 0 ||
		    !S_ISREG(sb.st_mode) ||
		    (sb.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0)
			continue;
		if (n == RUNNER_MAX_HOOKS) {
			r = ag_err_set(err, AG_ETOOBIG, "hooks: %s holds more "
			    "than %d hooks", dir, RUNNER_MAX_HOOKS);
			goto out;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			r = ag_err_set(err, AG_EINTERNAL,
			    "hooks: out of memory");
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof *names, runner_cmp);
	*out = names;
	*nout = n;
	names = NULL;
	r = 0;
out:
	runner_names_free(names, n);
	closedir(d);
	return r;
}

static long long
runner_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
runner_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * The child, between fork and execve: only async-signal-safe calls, as
 * the parent may have other threads holding locks. fds: its stdin, stdout,
 * stderr and the exec pipe, moved out of the way first so that none is
 * overwritten by another's dup2 when the parent had 0-2 closed.
 */
static void
runner_child(const char *dir, char *const argv[], char *const envp[],
    const int fds[4], int maxfd)
{
	struct runner_fail f = { RUNNER_STEP_EXEC, 0 };
	struct sigaction sa;
	sigset_t none;
	ssize_t w;
	int hi[4], i, sig;

	setpgid(0, 0);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);	/* SIG_IGN is inherited */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (i = 0; i < 4; i++)
		if ((hi[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
			_exit(127);
	for (i = 0; i < 4; i++)
		if (dup2(hi[i], i) < 0)
			_exit(127);
	fcntl(3, F_SETFD, FD_CLOEXEC);
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0)
#endif
		for (i = 4; i < maxfd; i++)
			close(i);
	if (chdir(dir) < 0) {
		f.step = RUNNER_STEP_CHDIR;
		f.errnum = errno;
		w = write(3, &f, sizeof f);
		_exit(w == sizeof f ? 127 : 126);
	}
	execve(argv[0], argv, envp);
	f.errnum = errno;
	w = write(3, &f, sizeof f);
	_exit(w == sizeof f ? 127 : 126);
}

/* Reads what fd has now: into buf up to max, the rest counted and dropped. */
static void
runner_drain(int *fd, char *buf, size_t *len, size_t max, size_t *dropped)
{
	char scratch[8192];
	size_t room;
	ssize_t n;

	while (*fd >= 0) {
		room = max - *len;
		if (room > 0)
			n = read(*fd, buf + *len, room);
		else
			n = read(*fd, scratch, sizeof scratch);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			runner_close(fd);
			return;
		}
		if (room > 0)
			*len += (size_t)n;
		else
			*dropped += (size_t)n;
	}
}

static void
runner_feed(struct runner_proc *p)
{
	size_t chunk;
	ssize_t n;

	while (p->in >= 0 && p->inoff < p->inlen) {
		chunk = p->inlen - p->inoff;
		if (chunk > RUNNER_WRITE_CHUNK)
			chunk = RUNNER_WRITE_CHUNK;
		/* a socket, so that a hook that stops reading is no SIGPIPE */
		n = send(p->in, p->input + p->inoff, chunk,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			runner_close(&p->in);	/* it no longer reads */
			return;
		}
		p->inoff += (size_t)n;
	}
	runner_close(&p->in);
}

static int
runner_has_exited(struct runner_proc *p, short pidfd_revents)
{
	siginfo_t si;

	if (p->pidfd >= 0)
		return (pidfd_revents & (POLLIN | POLLHUP | POLLERR)) != 0;
	/* WNOWAIT: a zombie keeps its pid and group from reuse until reaped */
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno != EINTR;
	return si.si_pid != 0;
}

/* Feeds stdin and reads stderr until the hook exits or time runs out. */
static void
runner_watch(struct runner_proc *p, int timeout_ms)
{
	struct pollfd pfd[5];
	long long deadline = runner_now_ms() + timeout_ms, left;
	int ip, ie, ix, iw, io, np, wait;
	short wrev;

	for (;;) {
		np = 0;
		ip = ie = ix = iw = io = -1;
		if (p->outfd >= 0) {
			pfd[np].fd = p->outfd;
			pfd[np].events = POLLIN;
			io = np++;
		}
		if (p->in >= 0) {
			pfd[np].fd = p->in;
			pfd[np].events = POLLOUT;
			ip = np++;
		}
		if (p->errfd >= 0) {
			pfd[np].fd = p->errfd;
			pfd[np].events = POLLIN;
			ie = np++;
		}
		if (p->execfd >= 0) {
			pfd[np].fd = p->execfd;
			pfd[np].events = POLLIN;
			ix = np++;
		}
		if (p->pidfd >= 0) {
			pfd[np].fd = p->pidfd;
			pfd[np].events = POLLIN;
			iw = np++;
		}
		left = deadline - runner_now_ms();
		if (left <= 0) {
			p->timedout = 1;
			return;
		}
		wait = (int)left;
		if (p->pidfd < 0 && wait > RUNNER_WAIT_SLICE_MS)
			wait = RUNNER_WAIT_SLICE_MS;
		if (poll(pfd, (nfds_t)np, wait) < 0) {
			if (errno == EINTR)
				continue;
			/* cannot watch: let the deadline decide */
			usleep(1000 * RUNNER_WAIT_SLICE_MS);
			continue;
		}
		if (ip >= 0 && pfd[ip].revents != 0)
			runner_feed(p);
		if (ie >= 0 && pfd[ie].revents != 0)
			runner_drain(&p->errfd, p->errbuf, &p->errlen,
			    RUNNER_STDERR_MAX, &p->errdropped);
		if (io >= 0 && pfd[io].revents != 0)
			runner_drain(&p->outfd, p->outbuf, &p->outlen,
			    p->outmax, &p->outdropped);
		if (ix >= 0 && pfd[ix].revents != 0)
			runner_drain(&p->execfd, (char *)&p->fail,
			    &p->faillen, sizeof p->fail, &p->failextra);
		wrev = iw >= 0 ? pfd[iw].revents : 0;
		if (runner_has_exited(p, wrev)) {
			/* what it wrote before it exited */
			runner_drain(&p->errfd, p->errbuf, &p->errlen,
			    RUNNER_STDERR_MAX, &p->errdropped);
			runner_drain(&p->outfd, p->outbuf, &p->outlen,
			    p->outmax, &p->outdropped);
			runner_drain(&p->execfd, (char *)&p->fail,
			    &p->faillen, sizeof p->fail, &p->failextra);
			p->exited = 1;
			return;
		}
	}
}

/* Seconds for a message: 10000 -> "10", 300 -> "0.3". */
static void
runner_secs(char *buf, size_t bufsz, int ms)
{
	size_t n;

	if (ms % 1000 == 0) {
		snprintf(buf, bufsz, "%d", ms / 1000);
		return;
	}
	snprintf(buf, bufsz, "%d.%03d", ms / 1000, ms % 1000);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
}

/* "KILL" for SIGKILL: strsignal() is not thread-safe, sigabbrev_np() is. */
static const char *
runner_signame(int sig)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	return sigabbrev_np(sig);
#else
	return NULL;
#endif
}

/* The refusal: "hook NAME: ..." lines, stderr made printable. */
static int
runner_refusal(char **msg, const char *name, const struct runner_proc *p,
    int timeout_ms, struct ag_err *err)
{
	char head[512], secs[32], *m = NULL;
	size_t i, n = p->errlen, hl;
	int sig;

	while (n > 0 && (p->errbuf[n - 1] == '\n' ||
	    p->errbuf[n - 1] == '\r' || p->errbuf[n - 1] == ' ' ||
	    p->errbuf[n - 1] == '\t'))
		n--;
	if (p->faillen == sizeof p->fail)
		snprintf(head, sizeof head, "hook %s: cannot %s: %s%s", name,
		    p->fail.step == RUNNER_STEP_CHDIR ? "enter its directory" :
		    "execute", strerror(p->fail.errnum),
		    p->fail.errnum == ENOENT || p->fail.errnum == ENOEXEC ?
		    " (is its #! line right?)" : "");
	else if (p->timedout) {
		runner_secs(secs, sizeof secs, timeout_ms);
		snprintf(head, sizeof head, "hook %s timed out after %ss",
		    name, secs);
	} else if (n > 0)
		snprintf(head, sizeof head, "hook %s: ", name);
	else if (WIFEXITED(p->status))
		snprintf(head, sizeof head, "hook %s: exited with status %d",
		    name, WEXITSTATUS(p->status));
	else if (WIFSIGNALED(p->status)) {
		sig = WTERMSIG(p->status);
		snprintf(head, sizeof head, "hook %s: killed by signal %d%s%s%s",
		    name, sig, runner_signame(sig) ? " (SIG" : "",
		    runner_signame(sig) ? runner_signame(sig) : "",
		    runner_signame(sig) ? ")" : "");
	} else
		snprintf(head, sizeof head, "hook %s: failed", name);
	hl = strlen(head);
	/* head, then stderr on its own lines unless head ends in ": " */
	if ((m = malloc(hl + 1 + n + 1 + sizeof "... (truncated)\n")) ==
	    NULL)
		return ag_err_set(err, AG_EINTERNAL, "hooks: out of memory");
	memcpy(m, head, hl);
	if (n > 0 && (hl < 2 || strcmp(head + hl - 2, ": ") != 0))
		m[hl++] = '\n';
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p->errbuf[i];

		m[hl++] = (ch < 0x20 && ch != '\n' && ch != '\t') ||
		    ch == 0x7f ? '?' : (char)ch;
	}
	m[hl++] = '\n';
	if (n > 0 && p->errdropped > 0) {
		memcpy(m + hl, "... (truncated)\n", sizeof "... (truncated)\n");
		hl += sizeof "... (truncated)\n" - 1;
	}
	m[hl] = '\0';
	ag_err_set(err, AG_EINVAL, "%.*s", (int)strcspn(m, "\n"), m);
	*msg = m;
	return AG_EINVAL;
}

/* "HOME=" and dir, malloc'd. */
static char *
runner_str(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s;

	if ((s = malloc(na + nb + 1)) == NULL)
		return NULL;
	memcpy(s, a, na);
	memcpy(s + na, b, nb + 1);
	return s;
}

static char *
runner_path(const char *dir, const char *name)
{
	size_t nd = strlen(dir), nn = strlen(name);
	char *s;

	if ((s = malloc(nd + 1 + nn + 1)) == NULL)
		return NULL;
	memcpy(s, dir, nd);
	s[nd] = '/';
	memcpy(s + nd + 1, name, nn + 1);
	return s;
}

/* A render hook's stdout: up to max bytes kept, the rest counted. */
struct runner_capture {
	char	*buf;		/* malloc'd, NUL-terminated */
	size_t	 len;
	size_t	 max;
	size_t	 dropped;
	int	 status;	/* its exit status, when it exited */
};

/*
 * Runs one hook: 0 it accepted, AG_EINVAL it refused, <0 an error. With
 * cap, its stdout is kept there and any exit status is handed back in
 * cap->status (0 returned) for the caller to judge.
 */
static int
runner_one(char **msg, const char *dir, const char *name, const char *stage,
    const char *input, size_t inlen, int timeout_ms,
    struct runner_capture *cap, struct ag_err *err)
{
	struct runner_proc p;
	struct rlimit rl;
	char *path = NULL, *envp[5] = { NULL }, *argv[2];
	int sv[2] = { -1, -1 }, ep[2] = { -1, -1 }, xp[2] = { -1, -1 };
	int op[2] = { -1, -1 };
	int devnull = -1, fds[4], maxfd = RUNNER_MAX_FDS, i, r;

	memset(&p, 0, sizeof p);
	p.pid = -1;
	p.in = p.errfd = p.execfd = p.pidfd = p.outfd = -1;
	p.input = input;
	p.inlen = inlen;
	if ((path = runner_path(dir, name)) == NULL)
		goto oom;
	if ((envp[0] = strdup(RUNNER_PATH)) == NULL ||
	    (envp[1] = runner_str("HOME=", dir)) == NULL ||
	    (envp[2] = runner_str("AUGER_STAGE=", stage)) == NULL ||
	    (envp[3] = strdup("LANG=C")) == NULL ||
	    (p.errbuf = malloc(RUNNER_STDERR_MAX + 1)) == NULL)
		goto oom;
	argv[0] = path;
	argv[1] = NULL;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < RUNNER_MAX_FDS)
		maxfd = (int)rl.rlim_cur;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(ep, O_CLOEXEC) < 0 || pipe2(xp, O_CLOEXEC) < 0 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    (cap != NULL && pipe2(op, O_CLOEXEC) < 0)) {
		r = ag_err_set(err, AG_EIO, "hook %s: cannot make its pipes: "
		    "%s", name, strerror(errno));
		goto out;
	}
	if (cap != NULL && (p.outbuf = malloc(cap->max + 1)) == NULL)
		goto oom;
	p.outmax = cap != NULL ? cap->max : 0;
	fds[0] = sv[1];
	fds[1] = cap != NULL ? op[1] : devnull;
	fds[2] = ep[1];
	fds[3] = xp[1];
	if ((p.pid = fork()) < 0) {
		r = ag_err_set(err, AG_EIO, "hook %s: cannot fork: %s", name,
		    strerror(errno));
		goto out;
	}
	if (p.pid == 0)
		runner_child(dir, argv, envp, fds, maxfd);
	/* both sides set the group, so that it exists before any kill */
	setpgid(p.pid, p.pid);
	runner_close(&sv[1]);
	runner_close(&ep[1]);
	runner_close(&xp[1]);
	runner_close(&op[1]);
	runner_close(&devnull);
	p.outfd = op[0];
	op[0] = -1;
	if (p.outfd >= 0)
		fcntl(p.outfd, F_SETFL, O_NONBLOCK);
	p.in = sv[0];
	p.errfd = ep[0];
	p.execfd = xp[0];
	sv[0] = ep[0] = xp[0] = -1;
#ifdef SYS_pidfd_open
	p.pidfd = (int)syscall(SYS_pidfd_open, p.pid, 0U);
#endif
	fcntl(p.errfd, F_SETFL, O_NONBLOCK);
	fcntl(p.execfd, F_SETFL, O_NONBLOCK);
	if (p.inlen == 0)
		runner_close(&p.in);
	runner_watch(&p, timeout_ms);
	/* the hook, and whatever it left running in its group */
	kill(-p.pid, SIGKILL);
	if (p.timedout)
		kill(p.pid, SIGKILL);
	while (waitpid(p.pid, &p.status, 0) < 0 && errno == EINTR)
		;
	p.pid = -1;
	if (cap != NULL && !p.timedout && p.faillen != sizeof p.fail &&
	    WIFEXITED(p.status) && (WEXITSTATUS(p.status) == 0 ||
	    WEXITSTATUS(p.status) == RUNNER_DECLINE)) {
		p.outbuf[p.outlen] = '\0';
		cap->buf = p.outbuf;
		cap->len = p.outlen;
		cap->dropped = p.outdropped;
		cap->status = WEXITSTATUS(p.status);
		p.outbuf = NULL;
		r = 0;
		goto out;
	}
	if (!p.timedout && p.faillen != sizeof p.fail &&
	    WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0) {
		r = 0;
		goto out;
	}
	r = runner_refusal(msg, name, &p, timeout_ms, err);
	goto out;
oom:
	r = ag_err_set(err, AG_EINTERNAL, "hooks: out of memory");
out:
	if (p.pid > 0) {
		kill(-p.pid, SIGKILL);
		kill(p.pid, SIGKILL);
		while (waitpid(p.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	runner_close(&p.in);
	runner_close(&p.errfd);
	runner_close(&p.execfd);
	runner_close(&p.pidfd);
	runner_close(&sv[0]);
	runner_close(&sv[1]);
	runner_close(&ep[0]);
	runner_close(&ep[1]);
	runner_close(&xp[0]);
	runner_close(&xp[1]);
	runner_close(&op[0]);
	runner_close(&op[1]);
	runner_close(&p.outfd);
	runner_close(&devnull);
	for (i = 0; i < 4; i++)
		free(envp[i]);
	free(p.errbuf);
	free(p.outbuf);
	free(path);
	return r;
}

int
runner_run(char **msg, const char *dir, const char *stage, const char *input,
    size_t inlen, int timeout_ms, struct ag_err *err)
{
	char **names = NULL;
	size_t n = 0, i;
	int r;

	*msg = NULL;
	if (dir == NULL || *dir == '\0' || strlen(dir) >= PATH_MAX)
		return ag_err_set(err, AG_EINVAL, "hooks: no directory");
	if (stage == NULL || *stage == '\0' || strlen(stage) > 64 ||
	    strchr(stage, '=') != NULL)
		return ag_err_set(err, AG_EINVAL, "hooks: bad stage name");
	if (input == NULL && inlen > 0)
		return ag_err_set(err, AG_EINVAL, "hooks: no input");
	if (inlen > RUNNER_MAX_INPUT)
		return ag_err_set(err, AG_ETOOBIG, "hooks: input of %zu bytes, "
		    "over the limit of %d", inlen, RUNNER_MAX_INPUT);
	if (timeout_ms <= 0)
		timeout_ms = RUNNER_DEFAULT_TIMEOUT_MS;
	if ((r = runner_list(&names, &n, dir, err)) < 0)
		return r;
	for (i = 0; i < n; i++)
		if ((r = runner_one(msg, dir, names[i], stage, input, inlen,
		    timeout_ms, NULL, err)) != 0)
			break;
	runner_names_free(names, n);
	return r;
}

int
runner_render(char **out, size_t *outlen, char **msg, const char *dir,
    const char *input, size_t inlen, int timeout_ms, struct ag_err *err)
{
	struct runner_capture cap;
	char **names = NULL;
	size_t n = 0, i;
	int r = AG_ENOTFOUND;

	*out = NULL;
	*outlen = 0;
	*msg = NULL;
	if (dir == NULL || *dir == '\0' || strlen(dir) >= PATH_MAX)
		return ag_err_set(err, AG_EINVAL, "hooks: no directory");
	if (input == NULL || inlen > RUNNER_MAX_INPUT)
		return ag_err_set(err, AG_EINVAL, "hooks: no input, or over "
		    "%d bytes", RUNNER_MAX_INPUT);
	if (timeout_ms <= 0)
		timeout_ms = RUNNER_DEFAULT_TIMEOUT_MS;
	if ((r = runner_list(&names, &n, dir, err)) < 0)
		return r;
	r = AG_ENOTFOUND;
	for (i = 0; i < n; i++) {
		memset(&cap, 0, sizeof cap);
		cap.max = RUNNER_STDOUT_MAX;
		if ((r = runner_one(msg, dir, names[i], "render", input, inlen,
		    timeout_ms, &cap, err)) != 0)
			break;
		if (cap.status == RUNNER_DECLINE) {
			free(cap.buf);
			r = AG_ENOTFOUND;
			continue;
		}
		if (cap.dropped > 0 || cap.len == 0) {
			free(cap.buf);
			r = ag_err_set(err, AG_EINVAL, cap.len == 0 ?
			    "hook %s: rendered nothing (exit %d declines)" :
			    "hook %s: printed more than %d bytes of manifests",
			    names[i], cap.len == 0 ? RUNNER_DECLINE :
			    RUNNER_STDOUT_MAX);
			if ((*msg = malloc(strlen(err->msg) + 2)) != NULL)
				sprintf(*msg, "%s\n", err->msg);
			break;
		}
		*out = cap.buf;
		*outlen = cap.len;
		r = 0;
		break;
	}
	if (r == AG_ENOTFOUND)
		ag_err_set(err, AG_ENOTFOUND, "no render hook claimed the chart");
	runner_names_free(names, n);
	return r;
}

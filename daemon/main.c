/*
 * augerd: the daemon. Parses flags, prepares the data directory, starts the
 * workers and the HTTP listener, and shuts down cleanly on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <git2.h>

#include "auger/maintain.h"
#include "auger/receive.h"
#include "auger/repo.h"
#include "auger/version.h"
#include "augerd.h"
#include "auth.h"
#include "../hooks/config.h"
#include "../hooks/render.h"
#include "releasesvc.h"
#include "http.h"
#include "log.h"
#include "maint.h"
#include "packcache.h"
#include "prewarm.h"
#include "session.h"
#include "ui.h"
#include "repostate.h"
#include "ssh.h"
#include "tls.h"
#include "worker.h"

struct augerd augerd;

#define MAIN_PER_ADDR	256
#define MAIN_MIN_RATE	1024
#define MAIN_MAX_CONNS	4096
#define MAIN_HEAD_SECS	20
#define MAIN_BODY_SECS	3600	/* --body-timeout */
#define MAIN_GRACE_SECS	30	/* --shutdown-grace */
#define MAIN_CUT_SECS	5	/* after the cut, for workers to return */

/*
 * Raises the soft file-descriptor limit to the hard one and returns what
 * it now is: every connection, pack and repository costs descriptors.
 */
static long
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

/* Removes the quarantines and ref locks a crash left in every repository. */
static void
sweep_quarantines(void)
{
	struct ag_err err = { 0, "" };
	char **names = NULL, path[4400];
	size_t n = 0, i;
	int removed = 0;

	if (ag_repo_list(&names, &n, augerd.repos, &err) < 0) {
		log_warn("listing repositories: %s", err.msg);
		return;
	}
	for (i = 0; i < n; i++) {
		ag_repo_path(path, sizeof path, augerd.repos, names[i]);
		removed += ag_receive_sweep(path);
		free(names[i]);
	}
	free(names);
	if (removed > 0)
		log_info("removed %d leftover%s of an earlier run (quarantine "
		    "dirs, ref locks)", removed, removed == 1 ? "" : "s");
}

/* The index's map growth, in the daemon's log. */
static void
store_log(void *arg, const char *msg)
{
	(void)arg;
	log_info("%s", msg);
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: augerd [options]\n"
"       augerd reindex [--data DIR]   rebuild the release index from git\n"
"       augerd maintain [--data DIR]  repack every repository, then exit\n"
"\n"
"auger's daemon: hosts git repositories for Flux over smart HTTP.\n"
"\n"
"  --data DIR          data directory (default ./data): repos/, index/,\n"
"                      admin.token, http.addr\n"
"  --http HOST:PORT    HTTP listener (default 127.0.0.1:8080; port 0 picks\n"
"                      a free port, written to DIR/http.addr)\n"
"  --public-url URL    base URL clients use (default http://HOST:PORT, or\n"
"                      https:// with TLS)\n"
"  --tls-cert FILE     serve HTTPS: the certificate chain, PEM, leaf first\n"
"  --tls-key FILE      its private key, PEM (both reloaded on SIGHUP)\n"
"  --workers N         worker threads for packs and API calls (default:\n"
"                      the number of cores)\n"
"  --max-push BYTES    largest accepted push (default %lu)\n"
"  --max-blob BYTES    largest object a push may hold, inflated (default\n"
"                      %lu)\n"
"  --max-conns N       open HTTP connections in all (default: 4096, or\n"
"                      half the file-descriptor limit if lower)\n"
"  --max-conns-per-addr N\n"
"                      open HTTP connections per client address (default\n"
"                      %d; 0: no cap)\n"
"  --body-min-rate BYTES\n"
"                      a request body slower than this per second, over\n"
"                      %d s, is cut with 408 (default %d)\n"
"  --request-timeout SECS\n"
"                      time to send a request head, from connecting or\n"
"                      from its first byte (default %d)\n"
"  --body-timeout SECS time to send a whole request body, however fast\n"
"                      it comes (default %d)\n"
"  --max-queued N      pack builds, and pushes, waiting for a worker; past\n"
"                      it a git client gets ERR \"busy\" (default %d)\n"
"  --index-size BYTES  the release index's map to start with (default 8G;\n"
"                      K/M/G/T suffixes); when it fills, it grows\n"
"  --maint-grace SECS  old packs stay this long after a repack, for readers\n"
"                      in flight (default %d)\n"
"  --prewarm N         after refs move, build Flux's depth-1 replies for the\n"
"                      tips of N branches (HEAD's first) into the fetch\n"
"                      cache (default 4; 0: off)\n"
"  --shutdown-grace SECS\n"
"                      on SIGTERM/SIGINT, time for what is in flight to\n"
"                      finish before it is cut; a second signal cuts at\n"
"                      once (default %d)\n"
"  --session-ttl SECS  a dashboard sign-in lasts this long (default %d);\n"
"                      deleting its token ends it at once\n"
"  --config FILE       YAML: per-env validation and policy settings\n"
"                      (see README); external hooks live in DIR/hooks/\n"
"  --render-hook-timeout SECS\n"
"                      time a render hook (DIR/hooks/render.d) has to\n"
"                      render a chart (default %d)\n"
"  --ssh HOST:PORT|off SSH listener (default 127.0.0.1:2222; port 0 picks a\n"
"                      free port, written to DIR/ssh.addr); host keys live\n"
"                      in DIR/ssh/\n"
"  --ssh-max-startups START:RATE:FULL\n"
"                      connections not yet authenticated (default %d:%d:%d,\n"
"                      as OpenSSH's MaxStartups): beyond START, new ones are\n"
"                      refused with a chance of RATE%% rising to 100%% at FULL\n"
"  --ssh-max-startups-per-addr N\n"
"                      of those, from one address (default %d)\n"
"  --ssh-login-grace SECS\n"
"                      a connection not authenticated by then is closed\n"
"                      (default %d)\n"
"  --debug             more logging\n"
"  --version, --help\n", (unsigned long)(512UL << 20),
	    (unsigned long)AG_RECEIVE_MAX_BLOB, MAIN_PER_ADDR, 10,
	    MAIN_MIN_RATE, MAIN_HEAD_SECS, MAIN_BODY_SECS,
	    WORKER_MAX_QUEUED_PACK,
	    AG_MAINTAIN_GRACE, MAIN_GRACE_SECS, SESSION_TTL_DEFAULT,
	    RENDER_HOOK_TIMEOUT_MS / 1000, SSH_STARTUPS_BEGIN,
	    SSH_STARTUPS_RATE, SSH_STARTUPS_FULL, SSH_STARTUPS_PER_ADDR,
	    SSH_LOGIN_GRACE);
}

/* A whole decimal number in lo..hi from a flag, or -1. */
static int
int_flag(const char *flag, const char *arg, long lo, long hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || errno != 0 || v < lo || v > hi) {
		fprintf(stderr, "augerd: %s must be a number in %ld..%ld, not "
		    "\"%s\"\n", flag, lo, hi, arg);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int
mkdir_p(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		log_warn("mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Writes path atomically (temp file, fsync, rename). */
static int
write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[4200];
	int fd;
	size_t len = strlen(text);

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode)) < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

/* Reads DATA/admin.token, creating it (mode 0600) on first start. */
static int
admin_token(void)
{
	char path[4200], token[128], line[160];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "%s/admin.token", augerd.data);
	if ((f = fopen(path, "r")) == NULL) {
		if (errno != ENOENT || auth_new_token(token) < 0)
			return -1;
		snprintf(line, sizeof line, "%s\n", token);
		if (write_file(path, line, 0600) < 0)
			return -1;
		log_info("created admin token in %s (mode 0600)", path);
		if ((f = fopen(path, "r")) == NULL)
			return -1;
	}
	n = fread(token, 1, sizeof token - 1, f);
	fclose(f);
	token[n] = '\0';
	token[strcspn(token, "\r\n")] = '\0';
	if (strlen(token) < 16) {
		log_warn("%s holds no usable token", path);
		return -1;
	}
	auth_hash(augerd.admin_hash, token);
	return 0;
}

/*
 * Shutdown: the first signal stops accepting and lets what is in flight
 * finish for --shutdown-grace seconds (pushes still uploading included);
 * then every connection is cut, and workers, whose streams now fail, get
 * a few seconds to return. A second signal cuts at once. Whatever still
 * runs after that is left to the exit: refs move by compare-and-swap and
 * LMDB commits whole, so nothing acknowledged is lost.
 */
static struct event *sig_term, *sig_int, *sig_hup, *stop_timer;

/* SIGHUP: new TLS files for new connections; open ones keep theirs. */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	char msg[512];

	(void)sig;
	(void)what;
	(void)arg;
	if (tls_reload(msg, sizeof msg) < 0)
		log_warn("SIGHUP: TLS not reloaded, still serving the old "
		    "certificate: %s", msg);
	else
		log_info("SIGHUP: TLS certificate and key reloaded");
}
static int stopping, cut_done, hard_exit;
static struct timespec stop_at, cut_at;
static double cut_wait;

static double
secs_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
stop_cut(const char *why, double wait)
{
	int n = httpd_cut_all(), s = ssh_active();

	ssh_cut_all();
	log_warn("%s: cut %d HTTP request%s and %d SSH connection%s still "
	    "running", why, n, n == 1 ? "" : "s", s, s == 1 ? "" : "s");
	cut_done = 1;
	cut_wait = wait;
	clock_gettime(CLOCK_MONOTONIC, &cut_at);
}

static void
stop_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (worker_busy() == 0 && httpd_busy() == 0 && ssh_active() == 0) {
		event_base_loopexit(augerd.base, NULL);
		return;
	}
	if (!cut_done && secs_since(&stop_at) >= augerd.shutdown_grace)
		stop_cut("shutdown grace time over", MAIN_CUT_SECS);
	if (cut_done && secs_since(&cut_at) >= cut_wait) {
		log_warn("%d job%s still running after the cut: exiting "
		    "without them", worker_busy(), worker_busy() == 1 ? "" :
		    "s");
		hard_exit = 1;
		event_base_loopexit(augerd.base, NULL);
		return;
	}
	event_add(stop_timer, &(struct timeval){ 0, 100000 });
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (stopping++) {
		if (!cut_done || cut_wait > 1)
			stop_cut("second signal", 1);
		return;
	}
	log_info("signal %d: no new connections; finishing in-flight work "
	    "(up to %d s)", (int)sig, augerd.shutdown_grace);
	clock_gettime(CLOCK_MONOTONIC, &stop_at);
	httpd_drain();
	ui_drain();
	ssh_close_listener();
	stop_timer = evtimer_new(augerd.base, stop_check, NULL);
	stop_check(-1, 0, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "http", required_argument, NULL, 'H' },
		{ "public-url", required_argument, NULL, 'u' },
		{ "workers", required_argument, NULL, 'w' },
		{ "max-push", required_argument, NULL, 'm' },
		{ "max-blob", required_argument, NULL, 'B' },
		{ "max-conns", required_argument, NULL, 'C' },
		{ "max-conns-per-addr", required_argument, NULL, 'A' },
		{ "body-min-rate", required_argument, NULL, 'R' },
		{ "request-timeout", required_argument, NULL, 'T' },
		{ "body-timeout", required_argument, NULL, 'b' },
		{ "render-hook-timeout", required_argument, NULL, 'r' },
		{ "shutdown-grace", required_argument, NULL, 'g' },
		{ "maint-grace", required_argument, NULL, 'M' },
		{ "prewarm", required_argument, NULL, 'W' },
		{ "tls-cert", required_argument, NULL, 'X' },
		{ "tls-key", required_argument, NULL, 'Y' },
		{ "max-queued", required_argument, NULL, 'Q' },
		{ "index-size", required_argument, NULL, 'I' },
		{ "ssh", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "session-ttl", required_argument, NULL, 'L' },
		{ "ssh-max-startups", required_argument, NULL, 'S' },
		{ "ssh-max-startups-per-addr", required_argument, NULL, 'P' },
		{ "ssh-login-grace", required_argument, NULL, 'G' },
		{ "debug", no_argument, NULL, 'D' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ag_err err = { 0, "" };
	const char *data = "./data", *listen = "127.0.0.1:8080";
	const char *public_url = NULL, *ssh_listen = "127.0.0.1:2222";
	const char *tls_cert = NULL, *tls_key = NULL;
	const char *config_path = NULL;
	char bound[256], path[4200], line[300];
	long workers = sysconf(_SC_NPROCESSORS_ONLN), nofile, v;
	int c, rc = 1, reindex = 0, max_conns = 0, v32;
	int max_queued = WORKER_MAX_QUEUED_PACK;
	int render_hook_secs = RENDER_HOOK_TIMEOUT_MS / 1000;
	size_t index_size = AG_STORE_MAP_DEFAULT;
	char *end;

	augerd.max_push = 512UL << 20;
	augerd.max_blob = AG_RECEIVE_MAX_BLOB;
	augerd.http_limits.max_conns_per_addr = MAIN_PER_ADDR;
	augerd.http_limits.body_min_rate = MAIN_MIN_RATE;
	augerd.http_limits.head_secs = MAIN_HEAD_SECS;
	augerd.http_limits.body_secs = MAIN_BODY_SECS;
	augerd.shutdown_grace = MAIN_GRACE_SECS;
	augerd.ssh_startups_begin = SSH_STARTUPS_BEGIN;
	augerd.ssh_startups_rate = SSH_STARTUPS_RATE;
	augerd.ssh_startups_full = SSH_STARTUPS_FULL;
	augerd.ssh_startups_per_addr = SSH_STARTUPS_PER_ADDR;
	augerd.ssh_login_grace = SSH_LOGIN_GRACE;
	augerd.maint_grace = AG_MAINTAIN_GRACE;
	augerd.prewarm = 4;
	if (argc > 1 && (strcmp(argv[1], "reindex") == 0 ||
	    strcmp(argv[1], "maintain") == 0)) {
		/* augerd reindex|maintain --data DIR: one job, then exit. */
		reindex = strcmp(argv[1], "reindex") == 0 ? 1 : 2;
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'H': listen = optarg; break;
		case 'u': public_url = optarg; break;
		case 'X': tls_cert = optarg; break;
		case 'Y': tls_key = optarg; break;
		case 'w':
			workers = strtol(optarg, NULL, 10);
			if (workers < 1 || workers > 256) {
				fprintf(stderr, "augerd: --workers must be "
				    "1..256\n");
				return 2;
			}
			break;
		case 'm':
			augerd.max_push = strtoul(optarg, NULL, 10);
			if (augerd.max_push < 1024) {
				fprintf(stderr, "augerd: --max-push must be at "
				    "least 1024 bytes\n");
				return 2;
			}
			break;
		case 'B':
			augerd.max_blob = strtoul(optarg, &end, 10);
			if (*end != '\0' || augerd.max_blob < 1024) {
				fprintf(stderr, "augerd: --max-blob must be a "
				    "byte count of at least 1024\n");
				return 2;
			}
			break;
		case 'T':
			v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > 3600) {
				fprintf(stderr, "augerd: --request-timeout must "
				    "be 1..3600 seconds\n");
				return 2;
			}
			augerd.http_limits.head_secs = (int)v;
			break;
		case 'b':
			if (int_flag("--body-timeout", optarg, 1, 86400,
			    &augerd.http_limits.body_secs) < 0)
				return 2;
			break;
		case 'r':
			if (int_flag("--render-hook-timeout", optarg, 1,
			    RENDER_HOOK_MAX_TIMEOUT_MS / 1000,
			    &render_hook_secs) < 0)
				return 2;
			break;
		case 'g':
			if (int_flag("--shutdown-grace", optarg, 0, 3600,
			    &augerd.shutdown_grace) < 0)
				return 2;
			break;
		case 'Q':
			if (int_flag("--max-queued", optarg, 1, 100000,
			    &max_queued) < 0)
				return 2;
			break;
		case 'I':
			if (ag_store_parse_size(&index_size, optarg) < 0 ||
			    index_size < AG_STORE_MAP_MIN ||
			    index_size > AG_STORE_MAP_MAX) {
				fprintf(stderr, "augerd: --index-size must be a "
				    "byte count (K/M/G/T suffixes) in %zuK..%zuG, "
				    "not \"%s\"\n", AG_STORE_MAP_MIN >> 10,
				    AG_STORE_MAP_MAX >> 30, optarg);
				return 2;
			}
			break;
		case 'M':
			if (int_flag("--maint-grace", optarg, 0, 86400,
			    &augerd.maint_grace) < 0)
				return 2;
			break;
		case 'L':
			if (int_flag("--session-ttl", optarg, 1,
			    SESSION_TTL_MAX, &v32) < 0)
				return 2;
			session_set_ttl(v32);
			break;
		case 'W':
			if (int_flag("--prewarm", optarg, 0, 64,
			    &augerd.prewarm) < 0)
				return 2;
			break;
		case 'C':
		case 'A':
		case 'R':
			v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < (c == 'C' ? 1 : 0) ||
			    v > 1000000) {
				fprintf(stderr, "augerd: --%s must be %s..1000000"
				    "\n", c == 'C' ? "max-conns" : c == 'A' ?
				    "max-conns-per-addr" : "body-min-rate",
				    c == 'C' ? "1" : "0");
				return 2;
			}
			if (c == 'C')
				max_conns = (int)v;
			else if (c == 'A')
				augerd.http_limits.max_conns_per_addr = (int)v;
			else
				augerd.http_limits.body_min_rate = (size_t)v;
			break;
		case 's': ssh_listen = optarg; break;
		case 'c': config_path = optarg; break;
		case 'S':
			if (ssh_startups_parse(optarg,
			    &augerd.ssh_startups_begin,
			    &augerd.ssh_startups_rate,
			    &augerd.ssh_startups_full, line,
			    sizeof line) < 0) {
				fprintf(stderr, "augerd: %s\n", line);
				return 2;
			}
			break;
		case 'P':
			if (int_flag("--ssh-max-startups-per-addr", optarg, 1,
			    SSH_STARTUPS_MAX, &augerd.ssh_startups_per_addr) < 0)
				return 2;
			break;
		case 'G':
			if (int_flag("--ssh-login-grace", optarg, 1,
			    SSH_LOGIN_GRACE_MAX, &augerd.ssh_login_grace) < 0)
				return 2;
			break;
		case 'D': log_set_debug(1); break;
		case 'V': printf("augerd %s\n", AG_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "augerd: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (workers < 1)
		workers = 2;
	augerd.workers = (int)workers;
	nofile = raise_nofile();
	if (max_conns == 0) {
		max_conns = MAIN_MAX_CONNS;
		if (max_conns > nofile / 2)
			max_conns = (int)(nofile / 2);
		if (max_conns < 16)
			max_conns = 16;
	} else if (max_conns > nofile - 64)
		log_warn("--max-conns %d is close to the file-descriptor limit "
		    "(%ld)", max_conns, nofile);
	augerd.http_limits.max_conns = max_conns;
	if (realpath(data, augerd.data) == NULL) {
		if (mkdir_p(data, 0700) < 0 ||
		    realpath(data, augerd.data) == NULL) {
			fprintf(stderr, "augerd: cannot use data dir %s: %s\n",
			    data, strerror(errno));
			return 1;
		}
		log_info("created data directory %s", augerd.data);
	}
	snprintf(augerd.repos, sizeof augerd.repos, "%s/repos", augerd.data);
	snprintf(path, sizeof path, "%s/cache", augerd.data);
	if (mkdir_p(augerd.repos, 0755) < 0 || mkdir_p(path, 0700) < 0)
		return 1;
	if (config_path != NULL) {
		if (config_load(&augerd.config, config_path, &err) < 0) {
			fprintf(stderr, "augerd: %s\n", err.msg);
			return 2;
		}
		log_info("config %s loaded", config_path);
	}
	snprintf(path, sizeof path, "%s/hooks", augerd.data);
	if (mkdir_p(path, 0755) < 0)
		return 1;
	snprintf(path, sizeof path, "%s/hooks/validate.d", augerd.data);
	if (mkdir_p(path, 0755) < 0)
		return 1;
	snprintf(path, sizeof path, "%s/hooks/render.d", augerd.data);
	if (mkdir_p(path, 0755) < 0)
		return 1;
	render_hooks_set(path, render_hook_secs * 1000);
	signal(SIGPIPE, SIG_IGN);
	git_libgit2_init();
	/* Refs and objects we write survive a crash (fsync). */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)256 << 20);
	/* However many packs a repository has, they cannot eat the fds. */
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_FILE_LIMIT,
	    (size_t)(nofile / 8 > 16 ? (nofile / 8 < 512 ? nofile / 8 : 512) :
	    16));
	if (reindex == 2) {
		rc = maint_offline() < 0 ? 1 : 0;
		log_info("maintain done%s", rc ? " (with errors)" : "");
		goto out;
	}
	snprintf(path, sizeof path, "%s/index", augerd.data);
	if (ag_store_open_sized(&augerd.store, path, index_size, store_log,
	    NULL, &err) < 0) {
		log_warn("%s", err.msg);
		goto out;
	}
	log_info("index %s: map of %zu bytes", path,
	    ag_store_map_size(augerd.store));
	if (admin_token() < 0) {
		log_warn("cannot read or create %s/admin.token", augerd.data);
		goto out;
	}
	/* Git is the source of truth: index what LMDB missed (a crash). */
	if ((reindex == 1 ? releasesvc_reindex_all() :
	    releasesvc_catch_up_all()) < 0 && reindex == 1)
		goto out;
	if (reindex) {
		log_info("reindex done");
		rc = 0;
		goto out;
	}
	sweep_quarantines();
	evthread_use_pthreads();
	if ((augerd.base = event_base_new()) == NULL)
		goto out;
	worker_set_max_queued(JOB_PACK, max_queued);
	worker_set_max_queued(JOB_PUSH, max_queued);
	if (worker_start(augerd.base, augerd.workers, augerd.repos) < 0) {
		log_warn("cannot start workers");
		goto out;
	}
	if (maint_start(augerd.base) < 0 || ui_start(augerd.base) < 0)
		goto out;
	if ((tls_cert == NULL) != (tls_key == NULL)) {
		log_warn("--tls-cert and --tls-key go together");
		rc = 2;
		goto out;
	}
	if (tls_cert != NULL) {
		char msg[512];

		if (tls_load(tls_cert, tls_key, msg, sizeof msg) < 0) {
			log_warn("%s", msg);
			rc = 2;
			goto out;
		}
	}
	if (http_start(augerd.base, listen, bound, sizeof bound) < 0) {
		log_warn("cannot listen on %s: %s", listen, strerror(errno));
		goto out;
	}
	if (public_url != NULL)
		snprintf(augerd.public_url, sizeof augerd.public_url, "%s",
		    public_url);
	else
		snprintf(augerd.public_url, sizeof augerd.public_url,
		    "%s://%s", tls_enabled() ? "https" : "http", bound);
	snprintf(path, sizeof path, "%s/http.addr", augerd.data);
	snprintf(line, sizeof line, "%s\n", bound);
	if (write_file(path, line, 0644) < 0)
		log_warn("cannot write %s", path);
	if (strcmp(ssh_listen, "off") != 0) {
		snprintf(path, sizeof path, "%s/ssh", augerd.data);
		if (ssh_start(ssh_listen, path, augerd.ssh_addr,
		    sizeof augerd.ssh_addr) < 0) {
			log_warn("cannot serve SSH on %s", ssh_listen);
			goto out;
		}
		snprintf(path, sizeof path, "%s/ssh.addr", augerd.data);
		snprintf(line, sizeof line, "%s\n", augerd.ssh_addr);
		if (write_file(path, line, 0644) < 0)
			log_warn("cannot write %s", path);
		log_info("listening on ssh://git@%s", augerd.ssh_addr);
	}
	log_info("augerd %s: data %s, %d workers, %ld file descriptors, at "
	    "most %d HTTP connections (%d per address)", AG_VERSION,
	    augerd.data, augerd.workers, nofile, augerd.http_limits.max_conns,
	    augerd.http_limits.max_conns_per_addr);
	log_info("listening on %s://%s (public URL %s)", tls_enabled() ?
	    "https" : "http", bound, augerd.public_url);
	sig_term = evsignal_new(augerd.base, SIGTERM, on_signal, NULL);
	if (tls_enabled() && (sig_hup = evsignal_new(augerd.base, SIGHUP,
	    on_hup, NULL)) != NULL)
		event_add(sig_hup, NULL);
	sig_int = evsignal_new(augerd.base, SIGINT, on_signal, NULL);
	event_add(sig_term, NULL);
	event_add(sig_int, NULL);
	event_base_dispatch(augerd.base);
	log_info("stopping");
	rc = 0;
	if (hard_exit || ssh_stop(MAIN_CUT_SECS) > 0) {
		/* Threads still run on shared state: nothing is freed. */
		log_info("stopped (work still running was left to the exit)");
		fflush(stderr);
		_exit(0);
	}
out:
	ssh_stop(0);
	worker_stop();
	http_stop();
	ui_stop();
	if (sig_term)
		event_free(sig_term);
	if (sig_int)
		event_free(sig_int);
	if (sig_hup)
		event_free(sig_hup);
	tls_free();
	if (stop_timer)
		event_free(stop_timer);
	maint_stop();
	maint_free_all();
	repostate_free_all();
	packcache_free_all();
	ag_store_close(augerd.store);
	config_free(augerd.config);
	if (augerd.base)
		event_base_free(augerd.base);
	git_libgit2_shutdown();
	if (rc == 0)
		log_info("stopped");
	return rc;
}

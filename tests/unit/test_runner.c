/* Unit tests of the external hook runner (hooks/runner.c), with real hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"
#include "../../hooks/runner.h"

static const char input[] = "{\"stage\":\"validate\",\"marker\":\"MARK-7f3a\"}";

/* Writes a /bin/sh hook named name into dir with the given mode. */
static void
hook(const char *dir, const char *name, int mode, const char *body)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, (mode_t)mode), 0);
}

static int
run(char **msg, const char *dir, int timeout_ms)
{
	struct ag_err err = { 0, "" };
	int r;

	r = runner_run(msg, dir, "validate", input, sizeof input - 1,
	    timeout_ms, &err);
	if (r == AG_EINVAL) {
		assert_non_null(*msg);
		/* err holds the message's first line */
		assert_int_equal(strncmp(err.msg, *msg, strlen(err.msg)), 0);
	} else
		assert_null(*msg);
	return r;
}

static int
count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* No child of ours is left, running or a zombie. */
static void
assert_no_children(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_accept(void **state)
{
	char *dir = scratch_dir("hooks"), *msg = NULL;
	int fds = count_fds();

	/* an empty dir, then one hook that accepts with words on stderr */
	assert_int_equal(run(&msg, dir, 5000), 0);
	hook(dir, "10-ok", 0755, "echo fine >&2\necho out\nexit 0");
	assert_int_equal(run(&msg, dir, 5000), 0);
	assert_int_equal(count_fds(), fds);
	assert_no_children();
	rmtree(dir);
	free(dir);
}

static void
test_missing_dir(void **state)
{
	char *msg = NULL;
	struct ag_err err = { 0, "" };

	assert_int_equal(run(&msg, "/nonexistent/auger/hooks/validate.d",
	    1000), 0);
	/* a file where the dir should be is an error, not "no hooks" */
	assert_int_equal(runner_run(&msg, "/etc/passwd", "validate", "", 0,
	    1000, &err), AG_EIO);
	assert_null(msg);
}

static void
test_refuse_stderr(void **state)
{
	char *dir = scratch_dir("hooks"), *msg = NULL;

	hook(dir, "10-no", 0755, "echo 'web: no team label' >&2\n"
	    "echo 'second line' >&2\nexit 3");
	assert_int_equal(run(&msg, dir, 5000), AG_EINVAL);
	assert_string_equal(msg, "hook 10-no: web: no team label\n"
	    "second line\n");
	free(msg);
	msg = NULL;
	hook(dir, "10-no", 0755, "exit 4");
	assert_int_equal(run(&msg, dir, 5000), AG_EINVAL);
	assert_string_equal(msg, "hook 10-no: exited with status 4\n");
	free(msg);
	msg = NULL;
	hook(dir, "10-no", 0755, "kill -9 $$");
	assert_int_equal(run(&msg, dir, 5000), AG_EINVAL);
	assert_non_null(strstr(msg, "hook 10-no: killed by signal 9"));
	free(msg);
	msg = NULL;
	/* control characters do not reach the user's terminal */
	hook(dir, "10-no", 0755, "printf 'a\\033[31mb\\000c\\n' >&2; exit 1");
	assert_int_equal(run(&msg, dir, 5000), AG_EINVAL);
	assert_string_equal(msg, "hook 10-no: a?[31mb?c\n");
	free(msg);
	assert_no_children();
	rmtree(dir);
	free(dir);
}

static void
test_exec_failure(void **state)
{
	char *dir = scratch_dir("hooks"), *msg = NULL, path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/10-bad", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("#!/nonexistent/interpreter\nexit 0\n", f);
	fclose(f);
	chmod(path, 0755);
	assert_int_equal(run(&msg, dir, 5000), AG_EINVAL);
	assert_string_equal(msg, "hook 10-bad: cannot execute: No such file "
	    "or directory (is its #! line right?)\n");
	free(msg);
	assert_no_children();
	rmtree(dir);
	free(dir);
}

/* A hook that sleeps, and a child of its own that holds stderr open. */
static void
test_timeout(void **state)
{
	char *dir = scratch_dir("hooks"), *msg = NULL, pidfile[1024], stat[64];
	char buf[256];
	double t0;
	FILE *f;
	int fds = count_fds(), pid = 0, i, gone = 0;

	hook(dir, "10-slow", 0755, "echo started >&2\nsleep 30 &\n"
	    "echo $! > sleeper.pid\nsleep 30");
	t0 = now_s();
	assert_int_equal(run(&msg, dir, 300), AG_EINVAL);
	assert_true(now_s() - t0 < 5.0);
	assert_string_equal(msg, "hook 10-slow timed out after 0.3s\n"
	    "started\n");
	free(msg);
	assert_int_equal(count_fds(), fds);
	assert_no_children();
	/* its background child was killed with it */
	snprintf(pidfile, sizeof pidfile, "%s/sleeper.pid", dir);
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	snprintf(stat, sizeof stat, "/proc/%d/stat", pid);
	for (i = 0; i < 200 && !gone; i++) {
		f = fopen(stat, "r");
		if (f == NULL) {
			gone = 1;
			break;
		}
		/* a zombie waiting for init counts as gone */
		if (fgets(buf, sizeof buf, f) != NULL &&
		    strstr(buf, ") Z ") != NULL)
			gone = 1;
		fclose(f);
		usleep(10000);
	}
	assert_true(gone);
	rmtree(dir);
	free(dir);
}

static void
test_big_stderr(void **state)
{
	char *dir = scratch_dir("hooks"), *msg = NULL;
	size_t len;

	hook(dir, "10-loud", 0755,
	    "head -c 5000000 /dev/zero | tr '\\0' x >&2; exit 1");
	assert_int_equal(run(&msg, dir, 20000), AG_EINVAL);
	len = strlen(msg);
	assert_true(len > RUNNER_STDERR_MAX);
	assert_true(len < RUNNER_STDERR_MAX + 100);
	assert_int_equal(strncmp(msg, "hook 10-loud: xxxx", 18), 0);
	assert_string_equal(msg + len - 18, "x\n... (truncated)\n");
	free(msg);
	assert_no_children();
	rmtree(dir);
	free(dir);
}

static void
test_skipped(void **state)
{
	char *dir = scratch_dir("hooks"), *msg = NULL, path[1024];

	hook(dir, "10-not-executable", 0644, "exit 1");
	hook(dir, ".20-hidden", 0755, "exit 1");
	hook(dir, "30-backup~", 0755, "exit 1");
	hook(dir, "40-x.dpkg-old", 0755, "exit 1");
	snprintf(path, sizeof path, "%s/50-dir", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(run(&msg, dir, 5000), 0);
	/* a link to a hook is a hook */
	hook(dir, ".real", 0755, "echo linked >&2; exit 1");
	snprintf(path, sizeof path, "%s/60-link", dir);
	assert_int_equal(symlink(".real", path), 0);
	assert_int_equal(run(&msg, dir, 5000), AG_EINVAL);
	assert_string_equal(msg, "hook 60-link: linked\n");
	free(msg);
	rmtree(dir);
	free(dir);
}

static void
test_order(void **state)
{
	char *dir = scratch_dir("hooks"), *msg = NULL, path[1024], buf[64];
	size_t n;
	FILE *f;

	/* name order, not creation order: 2 before 10 is not wanted here */
	hook(dir, "b", 0755, "echo b >> marker");
	hook(dir, "a", 0755, "echo a >> marker");
	hook(dir, "C", 0755, "echo C >> marker");
	assert_int_equal(run(&msg, dir, 5000), 0);
	snprintf(path, sizeof path, "%s/marker", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, "C\na\nb\n");
	rmtree(dir);
	free(dir);

	/* the first refuses: the second never runs */
	dir = scratch_dir("hooks");
	hook(dir, "10-first", 0755, "echo nope >&2; exit 1");
	hook(dir, "20-second", 0755, "touch second-ran");
	assert_int_equal(run(&msg, dir, 5000), AG_EINVAL);
	assert_string_equal(msg, "hook 10-first: nope\n");
	free(msg);
	snprintf(path, sizeof path, "%s/second-ran", dir);
	assert_int_equal(access(path, F_OK), -1);
	rmtree(dir);
	free(dir);
}

static void
test_environment(void **state)
{
	char *dir = scratch_dir("hooks"), *msg = NULL;
	int fd, spare = 9;

	assert_int_equal(setenv("SECRET_TEST_VAR", "hunter2", 1), 0);
	/* a descriptor without close-on-exec must not reach the hook */
	while (spare > 3 && fcntl(spare, F_GETFD) != -1)
		spare--;
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, spare), spare);
	hook(dir, "10-env", 0755,
	    "[ -z \"${SECRET_TEST_VAR+set}\" ] || "
	    "{ echo leaked >&2; exit 1; }\n"
	    "[ \"$PATH\" = /usr/local/bin:/usr/bin:/bin ] || "
	    "{ echo \"PATH=$PATH\" >&2; exit 1; }\n"
	    "[ \"$AUGER_STAGE\" = validate ] || { echo stage >&2; exit 1; }\n"
	    "[ \"$LANG\" = C ] || { echo lang >&2; exit 1; }\n"
	    "[ \"$HOME\" = \"$(pwd -P)\" ] || "
	    "{ echo \"HOME=$HOME pwd=$(pwd -P)\" >&2; exit 1; }\n"
	    "[ \"$0\" = \"$HOME/10-env\" ] || { echo \"argv0=$0\" >&2; exit 1; }\n"
	    "for fd in 3 4 5 6 7 8 9; do\n"
	    "  if { true <&$fd; } 2>/dev/null; then\n"
	    "    echo \"fd $fd is open\" >&2; exit 1\n"
	    "  fi\n"
	    "done\n"
	    "exit 0");
	assert_int_equal(run(&msg, dir, 5000), 0);
	close(spare);
	close(fd);
	unsetenv("SECRET_TEST_VAR");
	rmtree(dir);
	free(dir);
}

static void
test_stdin(void **state)
{
	char *dir = scratch_dir("hooks"), *msg = NULL, *big, cmd[256];
	struct ag_err err = { 0, "" };
	size_t bigsz = 4 * 1024 * 1024;

	hook(dir, "10-read", 0755,
	    "grep -q MARK-7f3a || { echo 'no marker' >&2; exit 1; }");
	assert_int_equal(run(&msg, dir, 5000), 0);
	assert_int_equal(runner_run(&msg, dir, "validate", "{}", 2, 5000,
	    &err), AG_EINVAL);
	assert_string_equal(msg, "hook 10-read: no marker\n");
	free(msg);
	msg = NULL;
	rmtree(dir);
	free(dir);

	/* megabytes in: read whole, or not read at all (no SIGPIPE) */
	big = malloc(bigsz);
	assert_non_null(big);
	memset(big, 'y', bigsz);
	dir = scratch_dir("hooks");
	snprintf(cmd, sizeof cmd, "[ \"$(wc -c)\" -eq %zu ] || exit 1",
	    bigsz);
	hook(dir, "10-count", 0755, cmd);
	hook(dir, "20-ignore", 0755, "exit 0");
	assert_int_equal(runner_run(&msg, dir, "validate", big, bigsz, 20000,
	    &err), 0);
	hook(dir, "20-ignore", 0755, "exec 0<&-; sleep 0.2; exit 0");
	assert_int_equal(runner_run(&msg, dir, "validate", big, bigsz, 20000,
	    &err), 0);
	assert_null(msg);
	free(big);
	assert_no_children();
	rmtree(dir);
	free(dir);
}

/* Copies hooks/examples/NAME (the tests run from the repository root). */
static void
copy_example(const char *dir, const char *name)
{
	char src[512], dst[1024], buf[4096];
	FILE *in, *out;
	size_t n;

	snprintf(src, sizeof src, "hooks/examples/%s", name);
	snprintf(dst, sizeof dst, "%s/%s", dir, name);
	in = fopen(src, "r");
	assert_non_null(in);
	out = fopen(dst, "w");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(chmod(dst, 0755), 0);
}

/* The shipped example hook, on input shaped like the daemon's. */
static void
test_example_team_label(void **state)
{
	static const char bad[] = "{\"stage\":\"validate\",\"intent\":"
	    "{\"source\":\"push\",\"env\":\"staging\",\"repo\":"
	    "\"gitops-staging-apps\",\"ref\":\"refs/heads/main\","
	    "\"actor\":\"alice\",\"message\":\"bump\"},\"files\":[],"
	    "\"documents\":[{\"path\":\"web/deployment.yaml\",\"index\":0,"
	    "\"object\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
	    "\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"}}}},"
	    "{\"path\":\"web/service.yaml\",\"index\":0,\"object\":"
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":"
	    "{\"name\":\"web\"}}}]}";
	char *dir = scratch_dir("hooks"), *msg = NULL, *good, *p;
	struct ag_err err = { 0, "" };

	copy_example(dir, "10-require-team-label");
	assert_int_equal(runner_run(&msg, dir, "validate", bad,
	    sizeof bad - 1, 10000, &err), AG_EINVAL);
	assert_non_null(strstr(msg, "hook 10-require-team-label: every "
	    "Deployment needs a metadata.labels.team label"));
	assert_non_null(strstr(msg, "  web/deployment.yaml"));
	assert_null(strstr(msg, "service"));
	free(msg);
	msg = NULL;
	good = strdup(bad);
	assert_non_null(good);
	p = strstr(good, "\"app\":\"web\"");
	assert_non_null(p);
	memcpy(p, "\"team\":\"ab\"", 11);
	assert_int_equal(runner_run(&msg, dir, "validate", good,
	    strlen(good), 10000, &err), 0);
	free(good);
	rmtree(dir);
	free(dir);
}

struct thread_arg {
	const char	*dir;
	int		 r;
	char		*msg;
};

static void *
thread_run(void *p)
{
	struct thread_arg *a = p;
	struct ag_err err = { 0, "" };

	a->r = runner_run(&a->msg, a->dir, "validate", input,
	    sizeof input - 1, 10000, &err);
	return NULL;
}

/* Several threads at once, some accepted, some refused, none mixed up. */
static void
test_threads(void **state)
{
	char *ok = scratch_dir("hooks"), *no = scratch_dir("hooks");
	struct thread_arg a[8];
	pthread_t t[8];
	int fds = count_fds(), i;

	hook(ok, "10-ok", 0755, "cat >/dev/null; sleep 0.1; exit 0");
	hook(no, "10-no", 0755, "cat >/dev/null; echo refused >&2; exit 1");
	for (i = 0; i < 8; i++) {
		a[i].dir = i % 2 ? no : ok;
		a[i].msg = NULL;
		assert_int_equal(pthread_create(&t[i], NULL, thread_run,
		    &a[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (i % 2) {
			assert_int_equal(a[i].r, AG_EINVAL);
			assert_string_equal(a[i].msg, "hook 10-no: refused\n");
		} else {
			assert_int_equal(a[i].r, 0);
			assert_null(a[i].msg);
		}
		free(a[i].msg);
	}
	assert_int_equal(count_fds(), fds);
	assert_no_children();
	rmtree(ok);
	rmtree(no);
	free(ok);
	free(no);
}

static void
test_bad_args(void **state)
{
	struct ag_err err = { 0, "" };
	char *msg = NULL;

	assert_int_equal(runner_run(&msg, NULL, "validate", "", 0, 1000,
	    &err), AG_EINVAL);
	ag_err_clear(&err);
	assert_int_equal(runner_run(&msg, "/tmp", "", "", 0, 1000, &err),
	    AG_EINVAL);
	ag_err_clear(&err);
	assert_int_equal(runner_run(&msg, "/tmp", "a=b", "", 0, 1000, &err),
	    AG_EINVAL);
	ag_err_clear(&err);
	assert_int_equal(runner_run(&msg, "/tmp", "validate", NULL, 3, 1000,
	    &err), AG_EINVAL);
	assert_null(msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_missing_dir),
		cmocka_unit_test(test_refuse_stderr),
		cmocka_unit_test(test_exec_failure),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_big_stderr),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_example_team_label),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

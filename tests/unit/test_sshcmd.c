/* Unit tests of the SSH exec command grammar (src/sshcmd.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auger/refs.h"
#include "auger/repo.h"
#include "auger/sshcmd.h"

/* Parses cmd, expecting success, the service svc and the name want. */
static void
expect_ok(const char *cmd, enum ag_service want_svc, const char *want)
{
	struct ag_err err = { 0, "" };
	enum ag_service svc = want_svc == AG_SVC_UPLOAD ? AG_SVC_RECEIVE :
	    AG_SVC_UPLOAD;
	char name[AG_REPO_NAME_MAX + 1];
	int r;

	memset(name, 'X', sizeof name);
	name[sizeof name - 1] = '\0';
	r = ag_sshcmd_parse(cmd, &svc, name, sizeof name, &err);
	if (r != 0)
		print_error("command <%s> refused: %s\n", cmd, err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(err.code, 0);
	if (svc != want_svc)
		print_error("command <%s>: wrong service\n", cmd);
	assert_int_equal(svc, want_svc);
	if (strcmp(name, want) != 0)
		print_error("command <%s>: name <%s>, want <%s>\n", cmd, name,
		    want);
	assert_string_equal(name, want);
}

/*
 * Parses cmd, expecting a refusal with a non-empty message. Returns the
 * error code; copies the message to msg (if set).
 */
static int
expect_refused_msg(const char *cmd, char *msg, size_t msgsz)
{
	struct ag_err err = { 0, "" };
	enum ag_service svc = AG_SVC_UPLOAD;
	char name[AG_REPO_NAME_MAX + 1] = "";
	int r;

	r = ag_sshcmd_parse(cmd, &svc, name, sizeof name, &err);
	if (r == 0)
		print_error("command <%.80s> accepted as <%s>\n", cmd, name);
	assert_true(r < 0);
	assert_true(err.code < 0);
	if (err.msg[0] == '\0')
		print_error("command <%.80s>: empty error message\n", cmd);
	assert_true(strlen(err.msg) > 0);
	if (msg != NULL)
		snprintf(msg, msgsz, "%s", err.msg);
	return r;
}

static int
expect_refused(const char *cmd)
{
	return expect_refused_msg(cmd, NULL, 0);
}

static const struct {
	const char	*verb;
	enum ag_service	 svc;
} verbs[] = {
	{ "git-upload-pack", AG_SVC_UPLOAD },
	{ "git upload-pack", AG_SVC_UPLOAD },
	{ "git-receive-pack", AG_SVC_RECEIVE },
	{ "git receive-pack", AG_SVC_RECEIVE },
};

/* 4 verbs x quoted/bare x leading "/" x ".git": 32 forms, all accepted. */
static void
test_all_forms(void **state)
{
	char cmd[256], path[128];
	size_t v;
	int quoted, slash, dotgit, n = 0;

	(void)state;
	for (v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
		for (quoted = 0; quoted < 2; quoted++)
			for (slash = 0; slash < 2; slash++)
				for (dotgit = 0; dotgit < 2; dotgit++) {
					snprintf(path, sizeof path, "%sdemo%s",
					    slash ? "/" : "",
					    dotgit ? ".git" : "");
					snprintf(cmd, sizeof cmd,
					    quoted ? "%s '%s'" : "%s %s",
					    verbs[v].verb, path);
					expect_ok(cmd, verbs[v].svc, "demo");
					n++;
				}
	assert_int_equal(n, 32);
}

/* The same forms with a namespaced name and names with . _ - digits. */
static void
test_names(void **state)
{
	static const char *names[] = {
		"ns/demo", "team-a/gitops-staging-apps", "a", "0", "a.b_c-d",
		"gitops-production-infra", "x1/y2",
	};
	char cmd[256];
	size_t i, v;

	(void)state;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		for (v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
			snprintf(cmd, sizeof cmd, "%s '%s'", verbs[v].verb,
			    names[i]);
			expect_ok(cmd, verbs[v].svc, names[i]);
			snprintf(cmd, sizeof cmd, "%s '/%s.git'",
			    verbs[v].verb, names[i]);
			expect_ok(cmd, verbs[v].svc, names[i]);
			snprintf(cmd, sizeof cmd, "%s /%s.git", verbs[v].verb,
			    names[i]);
			expect_ok(cmd, verbs[v].svc, names[i]);
		}
}

/* A trailing "/" is optional too (the header says so). */
static void
test_trailing_slash(void **state)
{
	(void)state;
	expect_ok("git-upload-pack 'demo/'", AG_SVC_UPLOAD, "demo");
	expect_ok("git-upload-pack '/demo/'", AG_SVC_UPLOAD, "demo");
	expect_ok("git-receive-pack /ns/demo/", AG_SVC_RECEIVE, "ns/demo");
}

/* The quoted runs of sq_quote: 'a'\''b' is a'b, 'a'\!'b' is a!b. */
static void
test_sq_escapes(void **state)
{
	char msg[AG_ERR_MSG_MAX], malformed[AG_ERR_MSG_MAX];
	struct ag_err nerr = { 0, "" };

	(void)state;
	/*
	 * Escapes are understood (the path unquotes to "it's" / "hi!"), and
	 * the result is refused by the name rules, not as a malformed quote.
	 */
	expect_refused_msg("git-upload-pack 'it'''", malformed,
	    sizeof malformed);
	expect_refused_msg("git-upload-pack 'it'\\''s'", msg, sizeof msg);
	if (strcmp(msg, malformed) == 0)
		print_error("'it'\\''s' refused as malformed: %s\n", msg);
	assert_string_not_equal(msg, malformed);
	/* The very refusal the name rules give for "it's". */
	assert_true(ag_repo_name_check("it's", &nerr) < 0);
	assert_string_equal(msg, nerr.msg);
	expect_refused_msg("git-upload-pack 'hi'\\!''", msg, sizeof msg);
	assert_string_not_equal(msg, malformed);
	ag_err_clear(&nerr);
	assert_true(ag_repo_name_check("hi!", &nerr) < 0);
	assert_string_equal(msg, nerr.msg);
	/* Other backslash escapes and adjacent quotes are malformed. */
	expect_refused("git-upload-pack 'de'\\x'mo'");
	expect_refused("git-upload-pack 'de''mo'");
	expect_refused("git-upload-pack 'demo'\\");
	expect_refused("git-upload-pack 'demo'\\'");
	/* A backslash inside quotes is literal: refused by the name rules. */
	expect_refused("git-upload-pack 'de\\mo'");
}

static void
test_refused(void **state)
{
	char long_cmd[AG_SSHCMD_MAX + 64];
	size_t n;

	(void)state;
	expect_refused("ls");
	expect_refused("");
	expect_refused("git-upload-pack '../x'");
	expect_refused("git-upload-pack ../x");
	expect_refused("git-upload-pack 'x/../y'");
	expect_refused("git-upload-pack '--help'");
	expect_refused("git-upload-pack --help");
	expect_refused("git-upload-pack '-x'");
	expect_refused("git-upload-pack '/abs/../../etc'");
	/* "/etc/passwd" is the repository name "etc/passwd", inside the root. */
	expect_ok("git-upload-pack '/etc/passwd'", AG_SVC_UPLOAD, "etc/passwd");
	expect_refused("git-upload-pack '/etc/passwd/x'");
	expect_refused("git-upload-pack '//demo'");
	expect_refused("git-upload-pack 'demo");	/* unterminated */
	expect_refused("git-upload-pack '");
	expect_refused("git-upload-pack 'demo' x");	/* trailing garbage */
	expect_refused("git-upload-pack 'demo';rm -rf /");
	expect_refused("git-upload-pack 'demo'x");
	expect_refused("git-upload-pack 'demo' ");
	expect_refused("git-upload-pack demo;rm");	/* shell metachar */
	expect_refused("git-upload-pack demo|cat");
	expect_refused("git-upload-pack demo&");
	expect_refused("git-upload-pack $(id)");
	expect_refused("git-upload-pack `id`");
	expect_refused("git-upload-pack demo>x");
	expect_refused("git-upload-pack de\"mo");
	expect_refused("git-upload-pack demo x");
	expect_refused("git-upload-pack de\tmo");
	expect_refused("git-upload-pack 'de\nmo'");
	expect_refused("git-upload-pack demo\n");
	expect_refused("git-upload-archive 'x'");
	expect_refused("git-upload-archive 'demo'");
	expect_refused("git upload-archive 'demo'");
	expect_refused("git-upload-pack");
	expect_refused("git-upload-pack ");
	expect_refused("git-upload-pack ''");
	expect_refused("git-upload-pack '/'");
	expect_refused("git-upload-pack '.git'");
	expect_refused("git-upload-pack '/.git'");
	expect_refused(" git-upload-pack 'demo'");
	expect_refused("git-upload-pack  'demo'");	/* two spaces */
	expect_refused("git  upload-pack 'demo'");
	expect_refused("GIT-UPLOAD-PACK 'demo'");
	expect_refused("git-upload-packx 'demo'");
	expect_refused("git-upload-pack\t'demo'");
	expect_refused("git 'upload-pack' 'demo'");
	expect_refused("sh -c 'git-upload-pack demo'");
	expect_refused("git-upload-pack 'Demo'");	/* name rules */
	expect_refused("git-upload-pack 'a/b/c'");
	expect_refused("git-upload-pack 'demo.lock'");
	expect_refused("git-upload-pack 'demo.git.git'");
	/* Overlong: more than AG_SSHCMD_MAX bytes. */
	n = (size_t)snprintf(long_cmd, sizeof long_cmd, "git-upload-pack '");
	memset(long_cmd + n, 'a', sizeof long_cmd - n - 2);
	long_cmd[sizeof long_cmd - 2] = '\'';
	long_cmd[sizeof long_cmd - 1] = '\0';
	assert_true(strlen(long_cmd) > AG_SSHCMD_MAX);
	expect_refused(long_cmd);
	/* A name longer than the rules allow, in a command within the limit. */
	n = (size_t)snprintf(long_cmd, sizeof long_cmd, "git-upload-pack '");
	memset(long_cmd + n, 'a', 200);
	long_cmd[n + 200] = '\'';
	long_cmd[n + 201] = '\0';
	expect_refused(long_cmd);
}

/* A NULL command is refused like an empty one; no crash. */
static void
test_null(void **state)
{
	struct ag_err err = { 0, "" };
	enum ag_service svc;
	char name[64];

	(void)state;
	assert_true(ag_sshcmd_parse(NULL, &svc, name, sizeof name, &err) < 0);
	assert_true(strlen(err.msg) > 0);
}

/* The output buffer bounds the name; a small one is refused, not overrun. */
static void
test_small_buffer(void **state)
{
	struct ag_err err = { 0, "" };
	enum ag_service svc;
	char buf[16];

	(void)state;
	memset(buf, 'Z', sizeof buf);
	assert_true(ag_sshcmd_parse("git-upload-pack 'demo'", &svc, buf, 5,
	    &err) == 0);
	assert_string_equal(buf, "demo");
	assert_int_equal(buf[5], 'Z');
	memset(buf, 'Z', sizeof buf);
	ag_err_clear(&err);
	assert_true(ag_sshcmd_parse("git-upload-pack 'demo'", &svc, buf, 4,
	    &err) < 0);
	assert_true(strlen(err.msg) > 0);
	assert_int_equal(buf[4], 'Z');
}

/* Exactly AG_SSHCMD_MAX bytes is not refused for its length. */
static void
test_length_limit(void **state)
{
	char cmd[AG_SSHCMD_MAX + 2], msg[AG_ERR_MSG_MAX], msg2[AG_ERR_MSG_MAX];
	size_t n;

	(void)state;
	n = (size_t)snprintf(cmd, sizeof cmd, "git-upload-pack '");
	memset(cmd + n, 'a', AG_SSHCMD_MAX - n - 1);
	cmd[AG_SSHCMD_MAX - 1] = '\'';
	cmd[AG_SSHCMD_MAX] = '\0';
	assert_int_equal(strlen(cmd), AG_SSHCMD_MAX);
	/* Refused, but by the name rules (too long a name), not the limit. */
	expect_refused_msg(cmd, msg, sizeof msg);
	cmd[AG_SSHCMD_MAX - 1] = 'a';
	cmd[AG_SSHCMD_MAX] = '\'';
	cmd[AG_SSHCMD_MAX + 1] = '\0';
	expect_refused_msg(cmd, msg2, sizeof msg2);
	assert_string_not_equal(msg, msg2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_forms),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_trailing_slash),
		cmocka_unit_test(test_sq_escapes),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_length_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

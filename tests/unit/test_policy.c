/*
 * Unit tests of deploy policies (src/policy.c): gobwas/glob's syntax and
 * Gimlet's deployTrigger (pkg/dashboard/worker/gitops.go).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "auger/policy.h"

struct gcase {
	int		 want;
	const char	*glob, *s;
};

/* gobwas/glob glob_test.go, the cases without separators. */
static const struct gcase gobwas_cases[] = {
	{ 1, "* ?at * eyes", "my cat has very bright eyes" },
	{ 1, "", "" },
	{ 0, "", "b" },
	{ 1, "*\xc3\xa4", "\xc3\xa5\xc3\xa4" },
	{ 1, "abc", "abc" },
	{ 1, "a*c", "abc" },
	{ 1, "a*c", "a12345c" },
	{ 1, "a?c", "a1c" },
	{ 1, "a.*", "a.b.c" },	/* no separators: * crosses '.' */
	{ 1, "?at", "cat" },
	{ 1, "*", "abc" },
	{ 1, "\\*", "*" },
	{ 1, "**", "a.b.c" },
	{ 0, "?at", "at" },
	{ 1, "*test", "this is a test" },
	{ 1, "*is *", "this is a test" },
	{ 1, "**is**a***test*", "this is a test" },
	{ 0, "*is", "this is a test" },
	{ 0, "*no*", "this is a test" },
	{ 1, "[!a]*", "this is a test3" },
	{ 1, "*abc", "abcabc" },
	{ 1, "?*?", "ac" },
	{ 0, "sta", "stagnation" },
	{ 0, "sta?n", "stagnation" },
	{ 1, "{abc,def}ghi", "defghi" },
	{ 1, "{abc,abcd}a", "abcda" },
	{ 1, "{a,ab}{bc,f}", "abc" },
	{ 1, "{*,**}{a,b}", "ab" },
	{ 0, "{*,**}{a,b}", "ac" },
	{ 1, "/{rate,[a-z][a-z][a-z]}*", "/usd" },
	{ 1, "/{rate,[0-9][0-9][0-9]}*", "/rate" },
	{ 1, "*//{,*.}example.com", "http://example.com" },
	{ 0, "*//{,*.}example.com", "http://example.com.net" },
	{ 1, "[a-z][!a-x]*cat*[h][!b]*eyes*", "my cat has very bright eyes" },
	{ 0, "[a-z][!a-x]*cat*[h][!b]*eyes*", "my dog has very bright eyes" },
	{ 1, "{https://*.google.*,*yandex.*,*yahoo.*,*mail.ru}",
	    "http://yahoo.com" },
	{ 0, "{https://*.google.*,*yandex.*,*yahoo.*,*mail.ru}",
	    "http://google.com" },
	{ 1, "{abc*[a-c]def,abc?[d-g]def,abc[zte]?def}", "abczqdef" },
	/* lexer details: ',' and '}' are text outside braces */
	{ 1, "a,b}", "a,b}" },
	{ 1, "[ab-c]", "-" },	/* a list once past the first character */
	{ 1, "[\\]]", "]" },
	{ 1, "{a,b", "b" },	/* an unclosed brace ends with the glob */
	{ 1, "release-*", "release-1.2" },
	{ 1, "feature/**", "feature/a/b" },
};

static void
test_gobwas(void **state)
{
	struct ag_err err = { 0, "" };
	size_t i;
	int m;

	(void)state;
	for (i = 0; i < sizeof gobwas_cases / sizeof gobwas_cases[0]; i++) {
		m = ag_policy_globmatch(gobwas_cases[i].glob,
		    gobwas_cases[i].s, &err);
		if (m != gobwas_cases[i].want)
			fail_msg("glob \"%s\" on \"%s\": %d, want %d (%s)",
			    gobwas_cases[i].glob, gobwas_cases[i].s, m,
			    gobwas_cases[i].want, err.msg);
	}
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = { "[abc", "[]", "[!]", "[z-a]",
	    "[a-bc]", "x[", NULL };
	struct ag_err err = { 0, "" };
	const char *const *b;
	char longg[AG_POLICY_GLOB_MAX + 2];

	(void)state;
	for (b = bad; *b != NULL; b++) {
		ag_err_clear(&err);
		if (ag_policy_globmatch(*b, "x", &err) != AG_EINVAL)
			fail_msg("glob \"%s\" accepted", *b);
		assert_non_null(strstr(err.msg, "malformed glob"));
	}
	memset(longg, 'a', sizeof longg - 1);
	longg[sizeof longg - 1] = '\0';
	ag_err_clear(&err);
	assert_int_equal(ag_policy_globmatch(longg, "a", &err), AG_EINVAL);
	/* many stars on a long text stays linear: no backtracking */
	{
		char text[20001];

		memset(text, 'a', sizeof text - 1);
		text[sizeof text - 1] = '\0';
		assert_int_equal(ag_policy_globmatch("*a*a*a*a*a*a*a*a*a*b",
		    text, &err), 0);
	}
}

static void
test_branch_glob(void **state)
{
	struct ag_err err = { 0, "" };

	(void)state;
	/* Gimlet's PrepPreview writes branch "!{main,master}" (manifest.go) */
	assert_int_equal(ag_policy_glob("!{main,master}", "main", &err), 0);
	assert_int_equal(ag_policy_glob("!{main,master}", "master", &err), 0);
	assert_int_equal(ag_policy_glob("!{main,master}", "feature/x", &err),
	    1);
	assert_int_equal(ag_policy_glob("!feature/*", "feature/z", &err), 0);
	assert_int_equal(ag_policy_glob("!feature/*", "main", &err), 1);
	/* exactMatch: a name that is also a malformed-looking glob */
	assert_int_equal(ag_policy_glob("main", "main", &err), 1);
	assert_int_equal(ag_policy_glob("main", "mainx", &err), 0);
}

static int
match(const char *deploy, const char *version)
{
	struct ag_err err = { 0, "" };
	json_t *d = json_loads(deploy, JSON_DECODE_ANY, NULL);
	json_t *v = json_loads(version, 0, NULL);
	int r;

	if (d == NULL || v == NULL)
		fail_msg("bad JSON in test: %s / %s", deploy, version);
	r = ag_policy_match(d, v, &err);
	json_decref(d);
	json_decref(v);
	return r;
}

#define PUSH_MAIN	"{\"branch\":\"main\",\"event\":\"push\"," \
			"\"message\":\"fix\"}"

static void
test_deploy_trigger(void **state)
{
	(void)state;
	/* deployTrigger: a nil or zero policy deploys nothing */
	assert_int_equal(match("null", PUSH_MAIN), 0);
	assert_int_equal(match("{}", PUSH_MAIN), 0);
	/* branch requires event push or pr */
	assert_int_equal(match("{\"branch\":\"main\"}", PUSH_MAIN), 0);
	assert_int_equal(match("{\"branch\":\"main\",\"event\":\"tag\"}",
	    PUSH_MAIN), 0);
	assert_int_equal(match("{\"branch\":\"main\",\"event\":\"push\"}",
	    PUSH_MAIN), 1);
	assert_int_equal(match("{\"branch\":\"main\",\"event\":\"pr\"}",
	    "{\"branch\":\"main\",\"event\":\"pr\"}"), 1);
	assert_int_equal(match("{\"branch\":\"main\",\"event\":\"pr\"}",
	    PUSH_MAIN), 0);
	/* tag requires event tag */
	assert_int_equal(match("{\"tag\":\"v*\"}",
	    "{\"tag\":\"v1\",\"event\":\"tag\"}"), 0);
	/* fixtures/artifact.json: deploy {tag: v*, event: tag} */
	assert_int_equal(match("{\"tag\":\"v*\",\"event\":\"tag\"}",
	    "{\"tag\":\"v1.2\",\"event\":\"tag\"}"), 1);
	assert_int_equal(match("{\"tag\":\"v*\",\"event\":\"tag\"}",
	    "{\"tag\":\"1.2\",\"event\":\"tag\"}"), 0);
	assert_int_equal(match("{\"tag\":\"v*\",\"event\":\"tag\"}",
	    PUSH_MAIN), 0);
	/* an event alone; a version without event is a push (Go's zero) */
	assert_int_equal(match("{\"event\":\"push\"}",
	    "{\"branch\":\"x\"}"), 1);
	assert_int_equal(match("{\"event\":\"tag\"}",
	    "{\"branch\":\"x\",\"tag\":\"v1\"}"), 0);
	/* the preview policy of PrepPreview */
	assert_int_equal(match("{\"branch\":\"!{main,master}\",\"event\":"
	    "\"push\"}", "{\"branch\":\"feature/a\",\"event\":\"push\"}"), 1);
	assert_int_equal(match("{\"branch\":\"!{main,master}\",\"event\":"
	    "\"push\"}", PUSH_MAIN), 0);
	/* bad event names say so */
	assert_int_equal(match("{\"branch\":\"main\",\"event\":\"merge\"}",
	    PUSH_MAIN), AG_EINVAL);
}

static void
test_messages(void **state)
{
	(void)state;
	/* patterns alone are a policy */
	assert_int_equal(match("{\"commitMessagePatterns\":[\"*ship-it*\"]}",
	    "{\"message\":\"please ship-it\"}"), 1);
	assert_int_equal(match("{\"commitMessagePatterns\":[\"*ship-it*\"]}",
	    "{\"message\":\"docs\"}"), 0);
	/* [DEPLOY: ALL] passes the patterns check... */
	assert_int_equal(match("{\"branch\":\"main\",\"event\":\"push\","
	    "\"commitMessagePatterns\":[\"release: *\"]}",
	    "{\"branch\":\"main\",\"message\":\"hotfix [DEPLOY: ALL]\"}"), 1);
	/* ...but overrides neither branch nor event */
	assert_int_equal(match("{\"branch\":\"main\",\"event\":\"push\"}",
	    "{\"branch\":\"hotfix/y\",\"message\":\"x [DEPLOY: ALL]\"}"), 0);
	assert_int_equal(match("{\"tag\":\"v*\",\"event\":\"tag\"}",
	    "{\"branch\":\"main\",\"message\":\"x [DEPLOY: ALL]\"}"), 0);
	assert_int_equal(match("{\"branch\":\"main\",\"event\":\"push\","
	    "\"commitMessagePatterns\":[\"release: *\"]}",
	    "{\"branch\":\"dev\",\"message\":\"x [DEPLOY: ALL]\"}"), 0);
	/* brackets in patterns are literal (escapeSquareBracketChars) */
	assert_int_equal(match("{\"commitMessagePatterns\":[\"*[ci]*\"]}",
	    "{\"message\":\"build [ci] now\"}"), 1);
	assert_int_equal(match("{\"commitMessagePatterns\":[\"*[ci]*\"]}",
	    "{\"message\":\"c\"}"), 0);
	/* braces stay globs in patterns */
	assert_int_equal(match("{\"commitMessagePatterns\":"
	    "[\"{feat,fix}: *\"]}", "{\"message\":\"fix: typo\"}"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gobwas),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_branch_glob),
		cmocka_unit_test(test_deploy_trigger),
		cmocka_unit_test(test_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

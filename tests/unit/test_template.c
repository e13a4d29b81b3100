/* Unit tests of Gimlet-style templating (src/template.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "auger/template.h"

static json_t *
vars(void)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:b, s:f, s:s, s:n}",
	    "SHA", "7f3c2a1", "BRANCH", "feature/My_Branch",
	    "APP", "web", "NUM", 42, "FLAG", 1, "RATIO", 1.5,
	    "EVIL", "{{ .SHA }}", "NOTHING");
}

static char *
expand_ok(const char *text)
{
	struct ag_err err = { 0, "" };
	json_t *v = vars();
	char *out = NULL;

	if (ag_template_expand(&out, text, v, &err) != 0)
		fail_msg("expand of %s failed: %s", text, err.msg);
	json_decref(v);
	return out;
}

static const char *
expand_err(const char *text, int code)
{
	static struct ag_err err;
	json_t *v = vars();
	char *out = NULL;

	ag_err_clear(&err);
	assert_int_equal(ag_template_expand(&out, text, v, &err), code);
	assert_null(out);
	json_decref(v);
	return err.msg;
}

static void
check(const char *text, const char *want)
{
	char *out = expand_ok(text);

	assert_string_equal(out, want);
	free(out);
}

static void
test_vars(void **state)
{
	(void)state;
	check("image: repo:{{ .SHA }}", "image: repo:7f3c2a1");
	check("{{.SHA}}", "7f3c2a1");
	check("{{   .SHA\t}}-{{.APP}}", "7f3c2a1-web");
	check("no templates here", "no templates here");
	check("", "");
	check("n={{ .NUM }} f={{ .FLAG }} r={{ .RATIO }}", "n=42 f=true r=1.5");
	check("a }} b", "a }} b");
	/* Go's trim markers */
	check("a  {{- .APP }}  b", "a" "web  b");
	check("a  {{ .APP -}}  \n b", "a  web" "b");
	check("x\n{{- .APP -}}\ny", "xweby");
}

static void
test_sanitize(void **state)
{
	char out[64];
	char longin[200];

	(void)state;
	assert_string_equal(ag_sanitize_dns(out, sizeof out,
	    "feature/My_Branch"), "feature-my-branch");
	assert_string_equal(ag_sanitize_dns(out, sizeof out, "main"), "main");
	assert_string_equal(ag_sanitize_dns(out, sizeof out,
	    "--Fix//Bug__#12--"), "fix-bug-12");
	assert_string_equal(ag_sanitize_dns(out, sizeof out, "a..b"), "a-b");
	assert_string_equal(ag_sanitize_dns(out, sizeof out, "héllo"),
	    "h-llo");
	assert_string_equal(ag_sanitize_dns(out, sizeof out, "///"), "");
	assert_string_equal(ag_sanitize_dns(out, sizeof out, ""), "");
	/* cut at 53 like Gimlet, then the trailing '-' goes */
	memset(longin, 'a', sizeof longin);
	longin[52] = '/';
	longin[199] = '\0';
	ag_sanitize_dns(out, sizeof out, longin);
	assert_int_equal(strlen(out), 52);
	assert_int_equal(strspn(out, "a"), 52);
	memset(longin, 'B', sizeof longin);
	longin[199] = '\0';
	ag_sanitize_dns(out, sizeof out, longin);
	assert_int_equal(strlen(out), AG_SANITIZE_DNS_MAX);
	assert_int_equal(strspn(out, "b"), AG_SANITIZE_DNS_MAX);

	check("host: {{ .BRANCH | sanitizeDNSName }}.example.com",
	    "host: feature-my-branch.example.com");
	check("{{.BRANCH|sanitizeDNSName}}", "feature-my-branch");
	check("{{ .BRANCH | sanitizeDNSName | sanitizeDNSName }}",
	    "feature-my-branch");
}

static void
test_unknown_var(void **state)
{
	const char *m;

	(void)state;
	m = expand_err("a: 1\nb: 2\nc: {{ .FOO }}\n", AG_EINVAL);
	assert_string_equal(m, "template: line 3: no variable \"FOO\" "
	    "(missingkey=error)");
	m = expand_err("{{ .sha }}", AG_EINVAL);
	assert_string_equal(m, "template: line 1: no variable \"sha\" "
	    "(missingkey=error)");
	m = expand_err("x: {{ .NOTHING }}", AG_EINVAL);
	assert_non_null(strstr(m, "\"NOTHING\" is not a string"));
}

static void
test_malformed(void **state)
{
	const char *m;

	(void)state;
	m = expand_err("a\nb: {{ .SHA", AG_EINVAL);
	assert_string_equal(m, "template: line 2: unclosed action "
	    "\"{{ .SHA\"");
	m = expand_err("{{ if .SHA }}x{{ end }}", AG_EINVAL);
	assert_non_null(strstr(m, "line 1: unsupported template action "
	    "\"{{ if .SHA }}\""));
	m = expand_err("\n\n{{ .SHA | upper }}", AG_EINVAL);
	assert_non_null(strstr(m, "line 3: unsupported template action "
	    "\"{{ .SHA | upper }}\""));
	m = expand_err("{{ .Values.image }}", AG_EINVAL);
	assert_non_null(strstr(m, "\"{{ .Values.image }}\""));
	m = expand_err("{{ SHA }}", AG_EINVAL);
	assert_non_null(strstr(m, "unsupported"));
	m = expand_err("{{ }}", AG_EINVAL);
	assert_non_null(strstr(m, "unsupported"));
	m = expand_err("{{ .SHA | sanitizeDNSNameX }}", AG_EINVAL);
	assert_non_null(strstr(m, "unsupported"));
	m = expand_err("{{/* comment */}}", AG_EINVAL);
	assert_non_null(strstr(m, "unsupported"));
}

/* A value that looks like a template is copied, not expanded again. */
static void
test_no_recursion(void **state)
{
	(void)state;
	check("x: {{ .EVIL }}", "x: {{ .SHA }}");
	check("{{ .EVIL | sanitizeDNSName }}", "sha");
}

static void
test_json(void **state)
{
	struct ag_err err = { 0, "" };
	json_t *in, *out = NULL, *v = vars(), *want;

	(void)state;
	in = json_pack("{s:s, s:{s:{s:s, s:s}, s:[s, i, {s:s}], s:s}, s:i}",
	    "app", "web-{{ .BRANCH | sanitizeDNSName }}",
	    "values", "image", "repository", "ghcr.io/acme/web",
	    "tag", "{{ .SHA }}",
	    "list", "{{ .APP }}", 3, "{{ .APP }}", "key stays",
	    "evil", "{{ .EVIL }}",
	    "n", 7);
	assert_int_equal(ag_template_json(&out, in, v, &err), 0);
	want = json_pack("{s:s, s:{s:{s:s, s:s}, s:[s, i, {s:s}], s:s}, s:i}",
	    "app", "web-feature-my-branch",
	    "values", "image", "repository", "ghcr.io/acme/web",
	    "tag", "7f3c2a1",
	    "list", "web", 3, "{{ .APP }}", "key stays",
	    "evil", "{{ .SHA }}",
	    "n", 7);
	assert_true(json_equal(out, want));
	/* the input is untouched */
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(in, "values"), "image"), "tag")), "{{ .SHA }}");
	json_decref(out);
	json_decref(want);
	json_decref(in);

	/* errors say where */
	in = json_pack("{s:{s:[s, s]}}", "values", "list", "ok",
	    "a\n{{ .MISSING }}");
	out = NULL;
	assert_int_equal(ag_template_json(&out, in, v, &err), AG_EINVAL);
	assert_null(out);
	assert_string_equal(err.msg, "template: line 2: no variable "
	    "\"MISSING\" (missingkey=error) at values.list[1]");
	json_decref(in);
	json_decref(v);

	/* NULL vars: no variables at all */
	in = json_string("plain");
	ag_err_clear(&err);
	assert_int_equal(ag_template_json(&out, in, NULL, &err), 0);
	assert_true(json_equal(in, out));
	json_decref(out);
	json_decref(in);
}

static void
test_limits(void **state)
{
	struct ag_err err = { 0, "" };
	size_t vlen = 1024 * 1024, i, n = 9;
	char *big, *text, *out = NULL;
	json_t *v;

	(void)state;
	big = malloc(vlen + 1);
	memset(big, 'x', vlen);
	big[vlen] = '\0';
	v = json_pack("{s:s}", "BIG", big);
	text = malloc(n * 10 + 1);
	text[0] = '\0';
	for (i = 0; i < n; i++)
		strcat(text, "{{ .BIG }}");
	assert_int_equal(ag_template_expand(&out, text, v, &err),
	    AG_ETOOBIG);
	assert_null(out);
	assert_non_null(strstr(err.msg, "limit"));
	free(text);
	free(big);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vars),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_unknown_var),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_no_recursion),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

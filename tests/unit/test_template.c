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
	assert_non_null(strstr(m, "line 2: unclosed action"));
	m = expand_err("{{ .Values.image }}", AG_EINVAL);
	assert_non_null(strstr(m, "field chain \".Values.image\""));
	m = expand_err("{{ SHA }}", AG_EINVAL);
	assert_non_null(strstr(m, "function \"SHA\" not defined"));
	m = expand_err("{{ }}", AG_EINVAL);
	assert_non_null(strstr(m, "missing value"));
	m = expand_err("{{ .SHA | sanitizeDNSNameX }}", AG_EINVAL);
	assert_non_null(strstr(m, "not defined"));
	m = expand_err("{{ range .SHA }}x{{ end }}", AG_EINVAL);
	assert_non_null(strstr(m, "unsupported template action "
	    "\"{{ range .SHA }}\""));
	m = expand_err("{{ $x := .SHA }}", AG_EINVAL);
	assert_non_null(strstr(m, "unsupported"));
	m = expand_err("{{ if .SHA }}x", AG_EINVAL);
	assert_non_null(strstr(m, "no {{ end }}"));
	m = expand_err("x{{ end }}", AG_EINVAL);
	assert_non_null(strstr(m, "unexpected {{ end }}"));
	m = expand_err("{{ .SHA | .APP }}", AG_EINVAL);
	assert_non_null(strstr(m, "non-function"));
	m = expand_err("{{ upper }}", AG_EINVAL);
	assert_non_null(strstr(m, "wrong number of args for upper"));
	m = expand_err("{{ trunc \"3\" .SHA }}", AG_EINVAL);
	assert_non_null(strstr(m, "expected int, got string"));
	m = expand_err("{{ \"abc }}", AG_EINVAL);
	assert_non_null(strstr(m, "unterminated quoted string"));
	m = expand_err("{{ substr 5 2 .SHA }}", AG_EINVAL);
	assert_non_null(strstr(m, "out of range"));
	m = expand_err("{{ eq .SHA 3 }}", AG_EINVAL);
	assert_non_null(strstr(m, "incompatible types"));
	m = expand_err("{{ (upper .SHA }}", AG_EINVAL);
	assert_non_null(strstr(m, "paren"));
	/* missingkey=error holds inside default too, as in Go */
	m = expand_err("{{ .NOPE | default \"d\" }}", AG_EINVAL);
	assert_non_null(strstr(m, "no variable \"NOPE\""));
}

/* Go's actions beyond {{ .VAR }}: control, comments, constants, escapes. */
static void
test_actions(void **state)
{
	(void)state;
	check("{{ if .SHA }}x{{ end }}", "x");
	check("{{ if eq .APP \"api\" }}a{{ else if eq .APP \"web\" }}w"
	    "{{ else }}o{{ end }}", "w");
	check("{{ if not .SHA }}x{{ else }}y{{ end }}", "y");
	check("{{ with .APP }}[{{ . }}]{{ end }}", "[web]");
	check("a{{/* a comment {{ .NOPE }} */}}b", "ab");
	check("a {{- /* trimmed */ -}} b", "ab");
	/* the escape Go templates use for literal braces */
	check("{{\"{{\"}} .SHA }}", "{{ .SHA }}");
	check("{{`{{ .RAW }}`}}", "{{ .RAW }}");
	check("{{ \"q\\\"x\\n\" }}", "q\"x\n");
	check("{{ 42 }} {{ true }} {{ nil }}", "42 true <no value>");
	check("{{ index . \"APP\" }}", "web");
	check("{{ len .APP }}", "3");
	check("{{ print .APP 1 2 \"x\" }}", "web1 2x");
	check("{{ printf \"%s-%d-%q\" .APP 7 .APP }}", "web-7-\"web\"");
	check("{{ and .APP .SHA }}|{{ or \"\" .APP }}", "7f3c2a1|web");
	check("{{ (.APP) | upper }}", "WEB");
}

/* sprig's generic functions (Masterminds/sprig functions.go genericMap). */
static void
test_sprig(void **state)
{
	(void)state;
	check("{{ .SHA | upper }}", "7F3C2A1");
	check("{{ upper .APP }}-{{ lower \"AbC\" }}", "WEB-abc");
	check("{{ .SHA | trunc 3 }}|{{ trunc -2 .SHA }}|{{ trunc 99 .APP }}",
	    "7f3|a1|web");
	check("{{ .BRANCH | replace \"/\" \"-\" }}", "feature-My_Branch");
	check("{{ replace \"\" \"-\" \"ab\" }}", "-a-b-");
	check("{{ .APP | quote }} {{ squote .APP }} {{ quote nil }}",
	    "\"web\" 'web' ");
	check("{{ quote \"a\\\"b\\n\" 3 }}", "\"a\\\"b\\n\" \"3\"");
	check("[{{ trim \"  x y \\n\" }}]", "[x y]");
	check("{{ trimAll \"$\" \"$$5.00$\" }}", "5.00");
	check("{{ trimPrefix \"feature/\" .BRANCH }}", "My_Branch");
	check("{{ trimSuffix \"-rc\" \"1.0-rc\" }}", "1.0");
	check("{{ hasPrefix \"feat\" .BRANCH }} {{ hasSuffix \"x\" .APP }}",
	    "true false");
	check("{{ contains \"My\" .BRANCH }}", "true");
	check("{{ substr 0 3 .SHA }}|{{ substr 2 -1 .SHA }}|"
	    "{{ substr -1 2 .SHA }}", "7f3|3c2a1|7f");
	check("{{ b64enc .APP }} {{ b64dec \"d2Vi\" }} {{ b64enc \"ab\" }}",
	    "d2Vi web YWI=");
	check("{{ b64dec \"!!\" }}", "illegal base64 data at input byte 0");
	check("{{ sha256sum \"hello\" }}",
	    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	check("{{ sha1sum \"hello\" }}",
	    "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
	check("{{ adler32sum \"hello\" }}", "103547413");
	check("{{ title \"hello wide-world\" }}", "Hello Wide-World");
	check("{{ untitle \"Hello World\" }}", "hello world");
	check("{{ nospace \" a b\\tc \" }}", "abc");
	check("{{ repeat 3 .APP }}", "webwebweb");
	check("{{ cat .APP nil 1 \"x\" }}", "web 1 x");
	check("{{ indent 2 \"a\\nb\" }}", "  a\n  b");
	check("x:{{ nindent 2 \"a\" }}", "x:\n  a");
	check("{{ toString 5 }}{{ toString true }}", "5true");
	check("{{ \"\" | default \"d\" }}|{{ default \"d\" .APP }}", "d|web");
	check("{{ empty \"\" }} {{ empty .APP }} {{ empty 0 }}",
	    "true false true");
	check("{{ coalesce \"\" nil .APP }}", "web");
	check("{{ ternary \"y\" \"n\" true }}{{ true | ternary \"y\" \"n\" }}"
	    "{{ ternary \"y\" \"n\" (eq .APP \"x\") }}", "yyn");
	check("{{ abbrev 5 \"hello world\" }}", "he...");
	check("{{ add 1 2 \"3\" }} {{ sub 5 2 }} {{ mul 2 3 }} {{ div 7 2 }} "
	    "{{ mod 7 2 }} {{ max 1 9 3 }} {{ min 4 2 }} {{ add1 .NUM }}",
	    "6 3 6 3 1 9 2 43");
	check("{{ atoi \"12\" | add 1 }}", "13");
	check("{{ swapcase \"aB\" }}", "Ab");
	check("{{ plural \"one\" \"many\" 2 }}", "many");
	check("{{ .BRANCH | lower | replace \"_\" \"-\" | trunc 14 }}",
	    "feature/my-bra");
}

/*
 * Vars that reference vars are resolved first (Gimlet's ResolveVars,
 * pkg/dx/manifest.go); what a template outputs is never read again.
 */
static void
test_var_in_var(void **state)
{
	struct ag_err err = { 0, "" };
	json_t *v;
	char *out = NULL;

	(void)state;
	check("x: {{ .EVIL }}", "x: 7f3c2a1");
	check("{{ .EVIL | sanitizeDNSName }}", "7f3c2a1");
	v = json_pack("{s:s, s:s, s:s, s:s, s:s}", "SHA", "abc",
	    "TAG", "{{ .SHA | upper }}-{{ .SUFFIX }}", "SUFFIX", "{{ .SHA }}",
	    "LIT", "{{\"{{\"}} .SHA }}", "A", "{{ .B }}");
	json_object_set_new(v, "B", json_string("{{ .A }}"));
	assert_int_equal(ag_template_expand(&out, "{{ .TAG }}", v, &err), 0);
	assert_string_equal(out, "ABC-abc");
	free(out);
	/* an escape in a var stays an escape: its output is not re-read */
	assert_int_equal(ag_template_expand(&out, "{{ .LIT }}", v, &err), 0);
	assert_string_equal(out, "{{ .SHA }}");
	free(out);
	out = NULL;
	assert_int_equal(ag_template_expand(&out, "{{ .A }}", v, &err),
	    AG_EINVAL);
	assert_non_null(strstr(err.msg, "refers to itself"));
	/* a var that is never used may hold anything */
	ag_err_clear(&err);
	json_object_set_new(v, "BROKEN", json_string("{{ nope"));
	assert_int_equal(ag_template_expand(&out, "{{ .SHA }}", v, &err), 0);
	assert_string_equal(out, "abc");
	free(out);
	out = NULL;
	assert_int_equal(ag_template_expand(&out, "{{ .BROKEN }}", v, &err),
	    AG_EINVAL);
	assert_non_null(strstr(err.msg, "in variable \"BROKEN\""));
	json_decref(v);
}

/*
 * Gimlet's own inputs: fixtures/artifact.json (context GITHUB_SHA used as
 * {{ .GITHUB_SHA }}), CollectVariables' items, and a manifest whose YAML
 * comment holds braces (the template runs on the parsed manifest).
 */
static void
test_gimlet(void **state)
{
	/* gimlet-io/gimlet fixtures/artifact.json, one manifest kept */
	static const char artifact[] =
	    "{\"version\": {\"repositoryName\": \"laszlocph/gimletd-test-repo\","
	    " \"sha\": \"071431009c8e9d6293d16f58b4d1a7176eac953b\","
	    " \"created\": 1634734120, \"branch\": \"main\","
	    " \"message\": \"Testing monorepos\"},"
	    " \"context\": {\"GITHUB_BRANCH\": \"main\","
	    "  \"GITHUB_SHA\": \"071431009c8e9d6293d16f58b4d1a7176eac953b\"},"
	    " \"items\": [{\"name\": \"image\", \"tag\": \"v2\", \"n\": 3}],"
	    " \"vars\": {\"GITHUB_BRANCH\": \"from-vars\"},"
	    " \"environments\": [{\"app\": \"myapp\", \"env\": \"production\","
	    "  \"namespace\": \"gimlet-demo\", \"values\": {"
	    "   \"gitRepository\": \"laszlocph/gimletd-test-repo\","
	    "   \"gitSha\": \"{{ .GITHUB_SHA }}\","
	    "   \"image\": {\"repository\": \"ghcr.io/podtato-head/"
	    "podtatoserver\", \"tag\": \"{{ .tag }}\"}, \"replicas\": 3}}]}";
	/* examples/simple/simple-with-variables.yaml, a comment added */
	static const char manifest[] =
	    "app: myapp\n"
	    "env: staging\n"
	    "namespace: my-team\n"
	    "# image tag: {{ .GIT_SHA }} or {{ broken\n"
	    "chart:\n"
	    "  repository: https://chart.onechart.dev\n"
	    "  name: onechart\n"
	    "  version: 0.32.0\n"
	    "values:\n"
	    "  replicas: 1\n"
	    "  image:\n"
	    "    repository: myapp\n"
	    "    tag: \"{{ .GIT_SHA }}\"\n";
	struct ag_err err = { 0, "" };
	json_t *a, *vars, *out = NULL;

	(void)state;
	a = json_loads(artifact, 0, NULL);
	assert_non_null(a);
	vars = ag_template_artifact_vars(a, "myapp");
	assert_string_equal(json_string_value(json_object_get(vars,
	    "GITHUB_SHA")), "071431009c8e9d6293d16f58b4d1a7176eac953b");
	/* vars override context */
	assert_string_equal(json_string_value(json_object_get(vars,
	    "GITHUB_BRANCH")), "from-vars");
	/* items: strings only */
	assert_string_equal(json_string_value(json_object_get(vars, "tag")),
	    "v2");
	assert_null(json_object_get(vars, "n"));
	assert_string_equal(json_string_value(json_object_get(vars, "SHA")),
	    "071431009c8e9d6293d16f58b4d1a7176eac953b");
	assert_string_equal(json_string_value(json_object_get(vars, "EVENT")),
	    "push");
	assert_string_equal(json_string_value(json_object_get(vars, "APP")),
	    "myapp");
	assert_int_equal(ag_template_json(&out, json_array_get(
	    json_object_get(a, "environments"), 0), vars, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    out, "values"), "gitSha")),
	    "071431009c8e9d6293d16f58b4d1a7176eac953b");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(out, "values"), "image"), "tag")), "v2");
	json_decref(out);
	json_decref(vars);
	json_decref(a);

	vars = json_pack("{s:s}", "GIT_SHA", "abcdef");	/* examples/demo.env */
	out = NULL;
	assert_int_equal(ag_template_yaml(&out, manifest, strlen(manifest),
	    "m.yaml", vars, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(out, "values"), "image"), "tag")), "abcdef");
	json_decref(out);
	json_decref(vars);
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
	    "evil", "7f3c2a1",
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
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_sprig),
		cmocka_unit_test(test_var_in_var),
		cmocka_unit_test(test_gimlet),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

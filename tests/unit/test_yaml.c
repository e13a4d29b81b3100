/* Unit tests of YAML <-> JSON (src/yaml.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "auger/yaml.h"

static json_t *
load_ok(const char *text)
{
	struct ag_err err = { 0, "" };
	json_t *j = NULL;

	if (ag_yaml_load(&j, text, strlen(text), "t.yaml", &err) != 0)
		fail_msg("load failed: %s", err.msg);
	return j;
}

/* Loads text expecting failure; returns the message. */
static const char *
load_err(const char *text, int code)
{
	static struct ag_err err;
	json_t *j = NULL;

	ag_err_clear(&err);
	assert_int_equal(ag_yaml_load(&j, text, strlen(text), "t.yaml", &err),
	    code);
	assert_null(j);
	assert_int_equal(err.code, code);
	return err.msg;
}

static char *
dump_ok(const json_t *j)
{
	struct ag_err err = { 0, "" };
	char *s = NULL;
	size_t n = 0;

	if (ag_yaml_dump(&s, &n, j, &err) != 0)
		fail_msg("dump failed: %s", err.msg);
	assert_non_null(s);
	assert_int_equal(strlen(s), n);
	return s;
}

static void
test_types(void **state)
{
	json_t *j;

	(void)state;
	j = load_ok("i: 42\nneg: -7\nhex: 0x1F\noct: 0o17\nold: 0755\n"
	    "big: 1_000\nf: 1.5\ne: 1e3\nt: true\nT: True\nf2: false\n"
	    "n: null\ntilde: ~\nempty:\nyes: yes\nno: no\non: on\n"
	    "s: hello\nq: \"42\"\nsq: 'true'\nlit: |\n  a\n  b\n"
	    "date: 2024-01-02\nver: 1.2.3\n");
	assert_int_equal(json_integer_value(json_object_get(j, "i")), 42);
	assert_int_equal(json_integer_value(json_object_get(j, "neg")), -7);
	assert_int_equal(json_integer_value(json_object_get(j, "hex")), 31);
	assert_int_equal(json_integer_value(json_object_get(j, "oct")), 15);
	/* 0755 is octal, as in Go's yaml.v3 and YAML 1.1: file modes work */
	assert_int_equal(json_integer_value(json_object_get(j, "old")), 493);
	assert_int_equal(json_integer_value(json_object_get(j, "big")), 1000);
	assert_true(json_is_real(json_object_get(j, "f")));
	assert_true(json_real_value(json_object_get(j, "f")) == 1.5);
	assert_true(json_real_value(json_object_get(j, "e")) == 1000.0);
	assert_true(json_is_true(json_object_get(j, "t")));
	assert_true(json_is_true(json_object_get(j, "T")));
	assert_true(json_is_false(json_object_get(j, "f2")));
	assert_true(json_is_null(json_object_get(j, "n")));
	assert_true(json_is_null(json_object_get(j, "tilde")));
	assert_true(json_is_null(json_object_get(j, "empty")));
	/* YAML 1.2: yes/no/on are strings */
	assert_string_equal(json_string_value(json_object_get(j, "yes")),
	    "yes");
	assert_string_equal(json_string_value(json_object_get(j, "no")), "no");
	assert_string_equal(json_string_value(json_object_get(j, "on")), "on");
	assert_string_equal(json_string_value(json_object_get(j, "s")),
	    "hello");
	assert_string_equal(json_string_value(json_object_get(j, "q")), "42");
	assert_string_equal(json_string_value(json_object_get(j, "sq")),
	    "true");
	assert_string_equal(json_string_value(json_object_get(j, "lit")),
	    "a\nb\n");
	assert_string_equal(json_string_value(json_object_get(j, "date")),
	    "2024-01-02");
	assert_string_equal(json_string_value(json_object_get(j, "ver")),
	    "1.2.3");
	json_decref(j);
}

static void
test_order_and_nesting(void **state)
{
	const char *text = "zeta: 1\nalpha:\n  - a\n  - {b: [1, 2]}\nmid: x\n";
	const char *k;
	const char *want[] = { "zeta", "alpha", "mid" };
	json_t *j, *x;
	int i = 0;

	(void)state;
	j = load_ok(text);
	json_object_foreach(j, k, x)
		assert_string_equal(k, want[i++]);
	assert_int_equal(i, 3);
	x = json_array_get(json_object_get(j, "alpha"), 1);
	assert_int_equal(json_array_size(json_object_get(x, "b")), 2);
	json_decref(j);
}

static void
test_round_trip(void **state)
{
	const char *texts[] = {
		"a: 1\nb: two\nc:\n- 1\n- x: y\n",
		"s: \"multi\\nline\\n\"\nt: \"  lead\"\nu: \"a: b\"\n",
		"list:\n- \"\"\n- \"null\"\n- \"1.0\"\n- \"0777\"\n- yes\n",
		"deep: {a: {b: {c: {d: [[], {}]}}}}\n",
		"uni: \"h\\u00e9llo \\u2603\"\nnul: \"a\\0b\"\ntab: \"a\\tb\"\n",
		"f: 0.1\ng: -0.0\nh: 1e300\ni: 12345.678\nj: -9223372036854775808\n",
		"end: \"x\\n\\n\"\nlnl: \"\\nfoo\"\nsp: \"  x\\ny\"\nsp2: \"x \\ny\"\n",
		NULL
	};
	struct ag_err err = { 0, "" };
	json_t *a, *b;
	char *s;
	int i;

	(void)state;
	for (i = 0; texts[i] != NULL; i++) {
		a = load_ok(texts[i]);
		s = dump_ok(a);
		b = NULL;
		if (ag_yaml_load(&b, s, strlen(s), "dump", &err) != 0)
			fail_msg("reload of %s failed: %s", s, err.msg);
		if (!json_equal(a, b))
			fail_msg("round trip changed %s into %s", texts[i], s);
		json_decref(a);
		json_decref(b);
		free(s);
	}
}

/* Strings that would read back as another type must be quoted. */
static void
test_quoting(void **state)
{
	const char *amb[] = { "true", "false", "True", "null", "Null", "~",
	    "", "1", "-1", "1.0", ".5", "1e3", "0x1F", "0777", "yes", "no",
	    "on", "off", "Y", "n", "1_000", "2024-01-02", "12:30", ".inf",
	    "-.inf", ".nan", "=", "<<", NULL };
	const char *plain[] = { "hello", "nginx", "/", "myapp",
	    "ghcr.io/a/b", NULL };
	json_t *j, *back;
	char *s, want[64];
	int i;

	(void)state;
	for (i = 0; amb[i] != NULL; i++) {
		j = json_pack("{s:s}", "k", amb[i]);
		s = dump_ok(j);
		snprintf(want, sizeof want, "k: \"%s\"\n", amb[i]);
		assert_string_equal(s, want);
		back = load_ok(s);
		assert_true(json_equal(j, back));
		json_decref(back);
		json_decref(j);
		free(s);
	}
	for (i = 0; plain[i] != NULL; i++) {
		j = json_pack("{s:s}", "k", plain[i]);
		s = dump_ok(j);
		snprintf(want, sizeof want, "k: %s\n", plain[i]);
		assert_string_equal(s, want);
		json_decref(j);
		free(s);
	}
	/* libyaml quotes what cannot be plain */
	j = json_pack("{s:s, s:s, s:s}", "a", "x: y", "b", "- z", "c", "#c");
	s = dump_ok(j);
	back = load_ok(s);
	assert_true(json_equal(j, back));
	assert_null(strstr(s, "a: x: y"));
	json_decref(back);
	json_decref(j);
	free(s);
	/* numeric keys are quoted too */
	j = json_pack("{s:s}", "80", "http");
	s = dump_ok(j);
	assert_string_equal(s, "\"80\": http\n");
	json_decref(j);
	free(s);
}

static void
test_dump_exact(void **state)
{
	json_t *j;
	char *s;

	(void)state;
	j = json_pack("{s:s, s:i, s:f, s:b, s:n, s:[i, {s:s}], s:{}, s:[],"
	    " s:s}", "name", "web", "replicas", 2, "ratio", 1.0, "on", 1,
	    "none", "list", 1, "k", "v", "emptyo", "emptya", "text",
	    "line1\nline2\n");
	s = dump_ok(j);
	assert_string_equal(s,
	    "name: web\n"
	    "replicas: 2\n"
	    "ratio: 1.0\n"
	    "\"on\": true\n"
	    "none: null\n"
	    "list:\n"
	    "- 1\n"
	    "- k: v\n"
	    "emptyo: {}\n"
	    "emptya: []\n"
	    "text: |\n"
	    "  line1\n"
	    "  line2\n");
	json_decref(j);
	free(s);
}

static void
test_determinism(void **state)
{
	json_t *j;
	char *a, *b;

	(void)state;
	j = load_ok("b: 1\na: [x, y, {z: \"1\"}]\nc: |\n  text\n");
	a = dump_ok(j);
	b = dump_ok(j);
	assert_string_equal(a, b);
	/* keys keep document order, not sorted */
	assert_true(strstr(a, "b: 1") < strstr(a, "a:"));
	free(a);
	free(b);
	json_decref(j);
}

static void
test_error_positions(void **state)
{
	const char *m;

	(void)state;
	m = load_err("a: 1\nb: c: d\n", AG_EINVAL);
	assert_non_null(strstr(m, "t.yaml:2:5: "));
	assert_non_null(strstr(m, "mapping values are not allowed"));
	m = load_err("a:\n  b: [1, 2\nc: 3\n", AG_EINVAL);
	assert_int_equal(strncmp(m, "t.yaml:3:", 9), 0);
	m = load_err("a: 1\na: 2\n", AG_EINVAL);
	assert_string_equal(m, "t.yaml:2:1: duplicate mapping key \"a\"");
	m = load_err("x: 'open\n", AG_EINVAL);
	assert_int_equal(strncmp(m, "t.yaml:2:1: ", 12), 0);
	m = load_err("a: \"\\xff\"\nb: \x01\n", AG_EINVAL);
	assert_int_equal(strncmp(m, "t.yaml:2:4: ", 12), 0);
	m = load_err("a: .inf\n", AG_EINVAL);
	assert_int_equal(strncmp(m, "t.yaml:1:4: ", 12), 0);
	m = load_err("a: !custom x\n", AG_EINVAL);
	assert_non_null(strstr(m, "unsupported tag"));
	m = load_err("? [a]\n: 1\n", AG_EINVAL);
	assert_non_null(strstr(m, "only scalars"));
	m = load_err("<<: {a: 1}\n", AG_EINVAL);
	assert_non_null(strstr(m, "merge keys"));
}

static void
test_alias_refused(void **state)
{
	const char *m;

	(void)state;
	m = load_err("a: &x [1, 2]\nb: *x\n", AG_EINVAL);
	assert_string_equal(m, "t.yaml:1:4: anchors and aliases are not "
	    "supported (&x)");
	/* the billion laughs never gets to expand */
	m = load_err("a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a]\n"
	    "c: [*b,*b,*b,*b]\n", AG_EINVAL);
	assert_non_null(strstr(m, "anchors and aliases"));
	m = load_err("a: *nowhere\n", AG_EINVAL);
	assert_non_null(strstr(m, "t.yaml:1:4:"));
}

static void
test_limits(void **state)
{
	char *deep;
	size_t i, n = 0;
	struct ag_err err = { 0, "" };
	json_t *j = NULL;
	const char *m;

	(void)state;
	deep = malloc(1000);
	for (i = 0; i < AG_YAML_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (i = 0; i < AG_YAML_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	j = load_ok(deep);		/* exactly the limit */
	json_decref(j);
	n = 0;
	for (i = 0; i <= AG_YAML_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (i = 0; i <= AG_YAML_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	m = load_err(deep, AG_ETOOBIG);
	assert_non_null(strstr(m, "nesting deeper than 64"));
	assert_int_equal(strncmp(m, "t.yaml:1:65:", 12), 0);
	free(deep);

	/* node count: 100001 items */
	n = 2 + 2 * (AG_YAML_MAX_NODES + 1);
	deep = malloc(n + 1);
	deep[0] = '[';
	for (i = 0; i <= AG_YAML_MAX_NODES; i++) {
		deep[1 + 2 * i] = '1';
		deep[2 + 2 * i] = ',';
	}
	deep[n - 1] = ']';
	deep[n] = '\0';
	m = load_err(deep, AG_ETOOBIG);
	assert_non_null(strstr(m, "more than 100000 YAML nodes"));
	free(deep);

	/* input size is checked before parsing */
	assert_int_equal(ag_yaml_load(&j, "a", AG_YAML_MAX_INPUT + 1, "big",
	    &err), AG_ETOOBIG);
	assert_non_null(strstr(err.msg, "big:"));

	/* dumping refuses what loading would */
	j = json_array();
	{
		json_t *cur = j, *nx;

		for (i = 0; i < AG_YAML_MAX_DEPTH; i++) {
			nx = json_array();
			json_array_append_new(cur, nx);
			cur = nx;
		}
	}
	{
		char *s = NULL;

		ag_err_clear(&err);
		assert_int_equal(ag_yaml_dump(&s, NULL, j, &err), AG_ETOOBIG);
		assert_null(s);
	}
	json_decref(j);
}

static void
test_documents(void **state)
{
	struct ag_err err = { 0, "" };
	const char *stream = "# leading comment\na: 1\n---\n---\nb: 2\n---\n"
	    "null\n---\n- x\n";
	json_t *j = NULL, *back = NULL;
	char *s = NULL;
	const char *m;

	(void)state;
	assert_int_equal(ag_yaml_load_all(&j, stream, strlen(stream), "s",
	    &err), 0);
	assert_int_equal(json_array_size(j), 3);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(j, 0), "a")), 1);
	assert_true(json_is_array(json_array_get(j, 2)));
	assert_int_equal(ag_yaml_dump_all(&s, NULL, j, &err), 0);
	assert_string_equal(s, "---\na: 1\n---\nb: 2\n---\n- x\n");
	assert_int_equal(ag_yaml_load_all(&back, s, strlen(s), "s", &err), 0);
	assert_true(json_equal(j, back));
	free(s);
	json_decref(back);
	json_decref(j);

	/* one document only for ag_yaml_load */
	m = load_err("a: 1\n---\nb: 2\n", AG_EINVAL);
	assert_string_equal(m, "t.yaml:2:1: a second YAML document starts "
	    "here; exactly one was expected");
	/* empty input and empty document are null */
	j = load_ok("");
	assert_true(json_is_null(j));
	json_decref(j);
	j = load_ok("# only a comment\n");
	assert_true(json_is_null(j));
	json_decref(j);
	j = NULL;
	assert_int_equal(ag_yaml_load_all(&j, "", 0, NULL, &err), 0);
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
	/* errors name <input> without a file name */
	ag_err_clear(&err);
	j = NULL;
	assert_int_equal(ag_yaml_load_all(&j, "a: [", 4, NULL, &err),
	    AG_EINVAL);
	assert_int_equal(strncmp(err.msg, "<input>:", 8), 0);
	/* dump_all wants an array */
	ag_err_clear(&err);
	j = json_object();
	assert_int_equal(ag_yaml_dump_all(&s, NULL, j, &err), AG_EINVAL);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_order_and_nesting),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_dump_exact),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_error_positions),
		cmocka_unit_test(test_alias_refused),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

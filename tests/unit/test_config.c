/* Unit tests of the daemon's config file (hooks/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "../../hooks/config.h"

static const char full_example[] =
    "defaults:\n"
    "  hookTimeout: 10s        # or milliseconds as an integer\n"
    "  allowClusterScoped: false\n"
    "  policy:\n"
    "    denyLatestTag: false\n"
    "    requireResourceLimits: false\n"
    "envs:\n"
    "  production:\n"
    "    allowClusterScoped: false\n"
    "    policy:\n"
    "      denyLatestTag: true\n"
    "      requireResourceLimits: true\n";

static struct config *
parse_ok(const char *text)
{
	struct ag_err err = { 0, "" };
	struct config *c = NULL;
	int r;

	r = config_parse(&c, text, strlen(text), "augerd.yaml", &err);
	if (r != 0)
		fail_msg("config_parse: %s", err.msg);
	assert_non_null(c);
	return c;
}

/* Parses text that must fail; returns the message in a static buffer. */
static const char *
parse_bad(const char *text, int code)
{
	static struct ag_err err;
	struct config *c = (struct config *)1;

	memset(&err, 0, sizeof err);
	assert_int_equal(config_parse(&c, text, strlen(text), "augerd.yaml",
	    &err), code);
	assert_null(c);
	assert_int_equal(err.code, code);
	return err.msg;
}

static void
test_full_example(void **state)
{
	struct config *c = parse_ok(full_example);
	const struct config_env *e;

	assert_int_equal(c->nenvs, 1);
	assert_string_equal(c->envs[0].name, "production");
	assert_int_equal(c->defaults.hook_timeout_ms, 10000);
	assert_int_equal(c->defaults.deny_latest_tag, 0);
	assert_int_equal(c->defaults.require_limits, 0);
	assert_int_equal(c->defaults.allow_cluster_scoped, 0);
	e = config_env(c, "production");
	assert_ptr_equal(e, &c->envs[0]);
	assert_int_equal(e->deny_latest_tag, 1);
	assert_int_equal(e->require_limits, 1);
	assert_int_equal(e->allow_cluster_scoped, 0);
	assert_int_equal(e->hook_timeout_ms, 10000);
	/* an env not listed reads the defaults */
	e = config_env(c, "staging");
	assert_ptr_equal(e, &c->defaults);
	assert_int_equal(e->deny_latest_tag, 0);
	assert_ptr_equal(config_env(c, NULL), &c->defaults);
	config_free(c);
}

static void
test_defaults(void **state)
{
	const struct config_env *e = config_env(NULL, "production");
	struct config *c;

	assert_non_null(e);
	assert_int_equal(e->hook_timeout_ms, 10000);
	assert_int_equal(e->allow_cluster_scoped, 0);
	assert_int_equal(e->deny_latest_tag, 0);
	assert_int_equal(e->require_limits, 0);

	/* empty text, an empty map, a comment only: all defaults */
	c = parse_ok("");
	assert_int_equal(c->nenvs, 0);
	assert_int_equal(c->defaults.hook_timeout_ms, 10000);
	config_free(c);
	c = parse_ok("{}\n");
	assert_int_equal(c->defaults.hook_timeout_ms, 10000);
	config_free(c);
	c = parse_ok("# nothing\ndefaults:\nenvs:\n");
	assert_int_equal(c->nenvs, 0);
	config_free(c);

	/* an env starts from the defaults section, wherever that is */
	c = parse_ok("envs:\n"
	    "  staging:\n"
	    "    policy:\n"
	    "      requireResourceLimits: true\n"
	    "  production: {}\n"
	    "defaults:\n"
	    "  hookTimeout: 2s\n"
	    "  allowClusterScoped: true\n"
	    "  policy: {denyLatestTag: true}\n");
	assert_int_equal(c->nenvs, 2);
	e = config_env(c, "staging");
	assert_string_equal(e->name, "staging");
	assert_int_equal(e->hook_timeout_ms, 2000);
	assert_int_equal(e->allow_cluster_scoped, 1);
	assert_int_equal(e->deny_latest_tag, 1);
	assert_int_equal(e->require_limits, 1);
	e = config_env(c, "production");
	assert_string_equal(e->name, "production");
	assert_int_equal(e->require_limits, 0);
	assert_int_equal(e->deny_latest_tag, 1);
	assert_string_equal(config_env(c, "dev")->name, "");
	config_free(c);
	config_free(NULL);
}

static void
test_timeouts(void **state)
{
	static const struct {
		const char	*v;
		int		 ms;
	} ok[] = {
		{ "10s", 10000 }, { "500ms", 500 }, { "1500", 1500 },
		{ "\"250\"", 250 }, { "2m", 120000 }, { "1ms", 1 },
		{ "600s", 600000 }
	};
	static const char *const bad[] = {
		"0", "-5", "0s", "1.5s", "10 s", "10h", "s", "\"\"", "true",
		"601s", "11m", "99999999999999999999", "[1]", "{a: 1}",
		"10S"
	};
	char text[256];
	struct config *c;
	const char *msg;
	size_t i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		snprintf(text, sizeof text, "defaults:\n  hookTimeout: %s\n",
		    ok[i].v);
		c = parse_ok(text);
		assert_int_equal(c->defaults.hook_timeout_ms, ok[i].ms);
		config_free(c);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "envs:\n  prod:\n"
		    "    hookTimeout: %s\n", bad[i]);
		msg = parse_bad(text, AG_EINVAL);
		if (strstr(msg, "augerd.yaml:3:5: envs.prod.hookTimeout "
		    "must be a duration") == NULL)
			fail_msg("%s: %s", bad[i], msg);
	}
}

static void
test_unknown_keys(void **state)
{
	const char *msg;

	msg = parse_bad("defaults:\n  hookTimeout: 1s\n  color: blue\n",
	    AG_EINVAL);
	assert_non_null(strstr(msg, "augerd.yaml:3:3: unknown key "
	    "defaults.color"));
	msg = parse_bad("envs:\n  prod:\n    policy:\n"
	    "      denyLatestTag: true\n      denyLatest: true\n", AG_EINVAL);
	assert_non_null(strstr(msg, "augerd.yaml:5:7: unknown key "
	    "envs.prod.policy.denyLatest"));
	assert_non_null(strstr(msg, "denyLatestTag, requireResourceLimits"));
	msg = parse_bad("listen: 8080\n", AG_EINVAL);
	assert_non_null(strstr(msg, "augerd.yaml:1:1: unknown key listen"));
	/* a key found in the wrong place is still located */
	msg = parse_bad("defaults:\n  policy:\n    hookTimeout: 1s\n",
	    AG_EINVAL);
	assert_non_null(strstr(msg, "augerd.yaml:3:5: unknown key "
	    "defaults.policy.hookTimeout"));
}

static void
test_bad_types(void **state)
{
	const char *msg;

	msg = parse_bad("defaults:\n  allowClusterScoped: \"yes\"\n",
	    AG_EINVAL);
	assert_non_null(strstr(msg, "augerd.yaml:2:3: "
	    "defaults.allowClusterScoped must be true or false"));
	msg = parse_bad("envs:\n  prod:\n    policy:\n"
	    "      requireResourceLimits: 1\n", AG_EINVAL);
	assert_non_null(strstr(msg, "augerd.yaml:4:7: "
	    "envs.prod.policy.requireResourceLimits must be true or false"));
	msg = parse_bad("defaults: [1, 2]\n", AG_EINVAL);
	assert_non_null(strstr(msg, "augerd.yaml:1:1: defaults must be a "
	    "map"));
	msg = parse_bad("envs:\n  prod:\n    policy: strict\n", AG_EINVAL);
	assert_non_null(strstr(msg, "augerd.yaml:3:5: envs.prod.policy must "
	    "be a map"));
	msg = parse_bad("envs: [prod]\n", AG_EINVAL);
	assert_non_null(strstr(msg, "envs must be a map"));
	msg = parse_bad("- defaults\n", AG_EINVAL);
	assert_non_null(strstr(msg, "augerd.yaml:1:1: the config must be a "
	    "map"));
	msg = parse_bad("envs:\n  Prod_1: {}\n", AG_EINVAL);
	assert_non_null(strstr(msg, "augerd.yaml:2:3: envs: \"Prod_1\" is "
	    "not a valid env name"));
	/* the loader's own errors keep their position */
	msg = parse_bad("defaults:\n  hookTimeout: [\n", AG_EINVAL);
	assert_non_null(strstr(msg, "augerd.yaml:"));
	msg = parse_bad("envs:\n  a: {}\n  a: {}\n", AG_EINVAL);
	assert_non_null(strstr(msg, "augerd.yaml:3:"));
}

static void
test_limits(void **state)
{
	struct ag_err err = { 0, "" };
	struct config *c = NULL;
	char *text;
	size_t i, off = 0, cap = 64 * 300;

	text = malloc(cap);
	assert_non_null(text);
	off += (size_t)snprintf(text + off, cap - off, "envs:\n");
	for (i = 0; i < CONFIG_MAX_ENVS; i++)
		off += (size_t)snprintf(text + off, cap - off,
		    "  env-%zu: {}\n", i);
	c = parse_ok(text);
	assert_int_equal(c->nenvs, CONFIG_MAX_ENVS);
	assert_string_equal(config_env(c, "env-255")->name, "env-255");
	config_free(c);
	c = NULL;
	snprintf(text + off, cap - off, "  env-last: {}\n");
	assert_int_equal(config_parse(&c, text, strlen(text), NULL, &err),
	    AG_ETOOBIG);
	assert_non_null(strstr(err.msg, "<config>:1:1: envs has 257 "
	    "entries, over the limit of 256"));
	assert_null(c);
	free(text);
	ag_err_clear(&err);
	assert_int_equal(config_parse(&c, "", CONFIG_MAX_INPUT + 1, NULL,
	    &err), AG_ETOOBIG);
}

static void
test_load(void **state)
{
	struct ag_err err = { 0, "" };
	struct config *c = NULL;
	char *dir = scratch_dir("config"), path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/augerd.yaml", dir);
	assert_int_equal(config_load(&c, path, &err), AG_ENOTFOUND);
	assert_non_null(strstr(err.msg, path));
	assert_null(c);
	ag_err_clear(&err);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(full_example, f);
	fclose(f);
	assert_int_equal(config_load(&c, path, &err), 0);
	assert_int_equal(config_env(c, "production")->deny_latest_tag, 1);
	config_free(c);
	c = NULL;
	/* errors name the file */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("defaults:\n  bogus: 1\n", f);
	fclose(f);
	assert_int_equal(config_load(&c, path, &err), AG_EINVAL);
	assert_non_null(strstr(err.msg, "augerd.yaml:2:3: unknown key"));
	ag_err_clear(&err);
	assert_int_equal(config_load(&c, dir, &err), AG_EIO);
	ag_err_clear(&err);
	assert_int_equal(config_load(&c, NULL, &err), AG_EINVAL);
	rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_bad_types),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

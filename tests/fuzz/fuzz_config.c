/*
 * Fuzzes the config parser (hooks/config.c): whatever parses holds only
 * values in range and finds its own envs; every failure says why. The
 * same bytes also go through the validate stages as a pushed YAML file,
 * with every policy on, since those read untrusted bytes too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../hooks/config.h"
#include "../../hooks/validate.h"

#define FUZZ_MAX_INPUT	(256 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_env(const struct config_env *e)
{
	if (e->hook_timeout_ms < 1 ||
	    e->hook_timeout_ms > CONFIG_MAX_TIMEOUT_MS ||
	    (e->allow_cluster_scoped != 0 && e->allow_cluster_scoped != 1) ||
	    (e->deny_latest_tag != 0 && e->deny_latest_tag != 1) ||
	    (e->require_limits != 0 && e->require_limits != 1) ||
	    memchr(e->name, '\0', sizeof e->name) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ag_err err = { 0, "" };
	struct config *c = NULL;
	struct config_env env;
	struct validate_file f;
	char *msg = NULL;
	size_t i;
	int r;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (config_parse(&c, (const char *)data, size, "fuzz.yaml",
	    &err) == 0) {
		if (c == NULL || c->nenvs > CONFIG_MAX_ENVS)
			abort();
		check_env(&c->defaults);
		for (i = 0; i < c->nenvs; i++) {
			check_env(&c->envs[i]);
			if (config_env(c, c->envs[i].name) != &c->envs[i])
				abort();
		}
		config_free(c);
	} else if (c != NULL || err.msg[0] == '\0')
		abort();

	memset(&env, 0, sizeof env);
	env.deny_latest_tag = env.require_limits = 1;
	env.hook_timeout_ms = CONFIG_DEFAULT_TIMEOUT_MS;
	f.path = "web/fuzz.yaml";
	f.data = (const char *)data;
	f.len = size;
	ag_err_clear(&err);
	r = validate_all(&msg, &f, 1, &env, &err);
	if (r == AG_EINVAL && (msg == NULL || strlen(msg) >= VALIDATE_MSG_MAX ||
	    msg[strlen(msg) - 1] != '\n'))
		abort();
	if (r != AG_EINVAL && msg != NULL)
		abort();
	free(msg);
	return 0;
}

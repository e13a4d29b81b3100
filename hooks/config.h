/* augerd --config FILE: per-env settings of the hook chain, from YAML. */
#ifndef AUGER_HOOKS_CONFIG_H
#define AUGER_HOOKS_CONFIG_H

#include <stddef.h>

#include "auger/err.h"

/* At most this many sections under envs:. */
#define CONFIG_MAX_ENVS		256
/* Bytes of config file accepted. */
#define CONFIG_MAX_INPUT	(1024 * 1024)
/* hookTimeout, in milliseconds: at least 1 ms, at most 10 minutes. */
#define CONFIG_DEFAULT_TIMEOUT_MS	10000
#define CONFIG_MAX_TIMEOUT_MS		(10 * 60 * 1000)

struct config_env {
	char	name[64];		/* the env; "" for the defaults */
	int	allow_cluster_scoped;	/* default 0 */
	int	deny_latest_tag;	/* policy: images must not use :latest or no tag; default 0 */
	int	require_limits;		/* policy: every container needs resources.limits cpu+memory; default 0 */
	int	hook_timeout_ms;	/* external hooks; default 10000 */
};

struct config {
	struct config_env	 defaults;	/* "defaults:" section, applies to envs not listed */
	struct config_env	*envs;		/* owned; in file order */
	size_t			 nenvs;
};

/*
 * Parses the YAML text:
 *
 *	defaults:
 *	  hookTimeout: 10s	# "500ms", "10s", "2m", or an integer of ms
 *	  allowClusterScoped: false
 *	  policy:
 *	    denyLatestTag: false
 *	    requireResourceLimits: false
 *	envs:
 *	  production:
 *	    policy:
 *	      denyLatestTag: true
 *
 * An env section starts from the defaults: section and overrides the keys
 * it sets. Unknown keys, wrong types and invalid env names are errors
 * reading "FILE:LINE:COL: what" (filename NULL reads "<config>"). An empty
 * text is all defaults. Limits: CONFIG_MAX_ENVS envs, CONFIG_MAX_INPUT
 * bytes.
 */
int	config_parse(struct config **out, const char *text, size_t len,
	    const char *filename, struct ag_err *err);
/* Reads and parses the file at path; a missing file is AG_ENOTFOUND. */
int	config_load(struct config **out, const char *path, struct ag_err *err);
/* Accepts NULL. */
void	config_free(struct config *c);
/*
 * The settings for env: its own section, else the defaults. Never NULL
 * when c is non-NULL; with c NULL, a static entry of built-in defaults.
 * Borrowed: valid as long as c.
 */
const struct config_env *config_env(const struct config *c, const char *env);

#endif

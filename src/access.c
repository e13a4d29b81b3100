/* Access rules: roles scoped to environments, decided in one place. */
#include <string.h>

#include "auger/access.h"

int
ag_access_repo_env(char *env, size_t envsz, const char *repo)
{
	size_t len = strlen(repo), el;
	const char *suffix;

	if (strncmp(repo, "gitops-", 7) != 0 || strchr(repo, '/') != NULL)
		return 0;
	if (len > 12 && strcmp(repo + len - 5, "-apps") == 0)
		suffix = repo + len - 5;
	else if (len > 13 && strcmp(repo + len - 6, "-infra") == 0)
		suffix = repo + len - 6;
	else
		return 0;
	el = (size_t)(suffix - (repo + 7));
	if (el == 0 || el >= envsz)
		return 0;
	memcpy(env, repo + 7, el);
	env[el] = '\0';
	return 1;
}

static int
has_env(const struct ag_grant *g, const char *env)
{
	int i;

	if (g->all_envs)
		return 1;
	for (i = 0; i < g->nenvs; i++)
		if (strcmp(g->envs[i], env) == 0)
			return 1;
	return 0;
}

/*
 * An env's infra repository holds what Flux applies with cluster-wide
 * rights (validation lets cluster-scoped kinds through there), so writing
 * it is taking over the cluster: only admin pushes it. Deploy credentials
 * change an env through its apps repository, where every file is held to
 * the namespaced rules.
 */
int
ag_access_allowed(const struct ag_grant *g, enum ag_op op, const char *repo)
{
	char env[AG_ENV_NAME_MAX + 1];
	int gitops = repo != NULL &&
	    ag_access_repo_env(env, sizeof env, repo);
	size_t len = repo != NULL ? strlen(repo) : 0;
	int infra = gitops && strcmp(repo + len - 6, "-infra") == 0;

	switch (g->role) {
	case AG_ROLE_ADMIN:
		return 1;
	case AG_ROLE_DEPLOY:
		if (op == AG_OP_ADMIN || repo == NULL)
			return 0;
		if (!gitops)
			return 1;
		return has_env(g, env) && (op == AG_OP_FETCH || !infra);
	default:
		return op == AG_OP_FETCH && gitops && has_env(g, env);
	}
}

int
ag_access_role_may(const struct ag_grant *g, enum ag_op op)
{
	switch (g->role) {
	case AG_ROLE_ADMIN:
		return 1;
	case AG_ROLE_DEPLOY:
		return op != AG_OP_ADMIN;
	default:
		return op == AG_OP_FETCH;
	}
}

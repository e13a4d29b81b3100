/* Access rules: what a role, scoped to some environments, may do. */
#ifndef AUGER_ACCESS_H
#define AUGER_ACCESS_H

#include <stddef.h>

enum ag_role {
	AG_ROLE_READ = 0,
	AG_ROLE_DEPLOY,
	AG_ROLE_ADMIN
};

enum ag_op {
	AG_OP_FETCH,	/* clone, fetch, ls-remote */
	AG_OP_PUSH,	/* pushes (fast-forward; forcing is admin-only) */
	AG_OP_ADMIN	/* repository and credential management */
};

#define AG_ACCESS_MAX_ENVS	16
#define AG_ENV_NAME_MAX		63

struct ag_grant {
	enum ag_role	role;
	int		all_envs;	/* envs ["*"] */
	char		envs[AG_ACCESS_MAX_ENVS][AG_ENV_NAME_MAX + 1];
	int		nenvs;
};

/*
 * The env a GitOps repository belongs to: "gitops-<env>-apps" and
 * "gitops-<env>-infra" belong to <env>. Returns 1 and fills env, or 0 for
 * any other (application) repository.
 */
int	ag_access_repo_env(char *env, size_t envsz, const char *repo);

/*
 * The one place access is decided. admin: everything. deploy: fetch and
 * push app repositories; fetch both GitOps repositories of its envs and
 * push their apps repository only: gitops-<env>-infra holds cluster-scoped
 * objects Flux applies with cluster-wide rights, so pushing it is admin's
 * alone. read: fetch the GitOps repositories of its envs only. repo may be
 * NULL for non-repository operations (then admin only).
 */
int	ag_access_allowed(const struct ag_grant *g, enum ag_op op,
	    const char *repo);

/*
 * Whether g's role may do op on any repository at all: the least a request
 * needs, decided from its headers before its body is read (an API route's
 * minimum). ag_access_allowed still decides the request itself.
 */
int	ag_access_role_may(const struct ag_grant *g, enum ag_op op);

#endif

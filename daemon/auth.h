/*
 * Credentials and access decisions: who is asking (a token today), and
 * whether that role may do an operation on a repository or endpoint.
 */
#ifndef DAEMON_AUTH_H
#define DAEMON_AUTH_H

#include <stddef.h>

enum role {
	ROLE_READ = 0,
	ROLE_DEPLOY,
	ROLE_ADMIN
};

#define AUTH_MAX_ENVS	16
#define AUTH_NAME_MAX	64

struct cred {
	char		name[AUTH_NAME_MAX];
	enum role	role;
	int		all_envs;
	char		envs[AUTH_MAX_ENVS][64];
	int		nenvs;
};

enum op {
	OP_FETCH,	/* clone, fetch, ls-remote */
	OP_PUSH,	/* fast-forward pushes */
	OP_ADMIN	/* repository and credential management */
};

/*
 * Resolves an Authorization header value (Bearer, or Basic with the token
 * as password). Returns 0 and fills c, or -1.
 */
int		 auth_header(struct cred *c, const char *header);
int		 auth_token(struct cred *c, const char *token);
/* Resolves an SSH key by its SHA256 fingerprint. */
int		 auth_key(struct cred *c, const char *fingerprint);
/* Decides and logs one line: who, what, allowed or denied. */
int		 auth_allow(const struct cred *c, enum op op, const char *repo);
const char	*auth_role_name(enum role r);
int		 auth_role_parse(enum role *r, const char *s);
/* The env a gitops repo belongs to ("gitops-<env>-apps"), or 0. */
int		 auth_repo_env(char *env, size_t envsz, const char *repo);
/* A new random token: 64 hex characters and a NUL. */
int		 auth_new_token(char out[65]);
void		 auth_hash(unsigned char out[32], const char *token);

#endif

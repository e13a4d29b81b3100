/*
 * Credentials and access decisions: who is asking (a token today), and
 * whether that role may do an operation on a repository or endpoint.
 */
#ifndef DAEMON_AUTH_H
#define DAEMON_AUTH_H

#include <stddef.h>

#include "auger/access.h"
#include "auger/receive.h"

#define AUTH_MAX_ENVS	AG_ACCESS_MAX_ENVS
#define AUTH_NAME_MAX	64

/* Who is asking: a credential's name and what it was granted. */
struct cred {
	char		 name[AUTH_NAME_MAX];
	struct ag_grant	 g;
};

/*
 * Resolves an Authorization header value (Bearer, or Basic with the token
 * as password). Returns 0 and fills c, or -1.
 */
int		 auth_header(struct cred *c, const char *header);
int		 auth_token(struct cred *c, const char *token);
/* The same from the token's SHA-256 (sessions keep only that). */
int		 auth_token_hash(struct cred *c, const unsigned char h[32]);
/* Resolves an SSH key by its SHA256 fingerprint. */
int		 auth_key(struct cred *c, const char *fingerprint);
/* Decides and logs one line: who, what, allowed or denied. */
int		 auth_allow(const struct cred *c, enum ag_op op, const char *repo);
/*
 * Whether c's role can ever do op, whatever the repository (the headers'
 * check, before a body is read); a denial is logged as auth_allow does.
 */
int		 auth_role_may(const struct cred *c, enum ag_op op,
		    const char *what);
const char	*auth_role_name(enum ag_role r);
int		 auth_role_parse(enum ag_role *r, const char *s);
/* A new random token: 64 hex characters and a NUL. */
int		 auth_new_token(char out[65]);
void		 auth_hash(unsigned char out[32], const char *token);
/*
 * What a push by c to repo may do, in one place for HTTP and SSH: only
 * admin forces, moves or deletes tags, and deletes branches of GitOps
 * repositories (app repositories keep branch deletes: previews end so).
 */
void		 auth_receive_opts(struct ag_receive_opts *o,
		    const struct cred *c, const char *repo);
/* Whether a token or key ("tokens" or "keys") already has this name. */
int		 auth_name_taken(const char *db, const char *name);

#endif

/*
 * Dashboard sessions: a signed-in browser holds a random session id in a
 * cookie; the daemon keeps, per session, the hash of the token it signed in
 * with, its CSRF token and its expiry. The credential is resolved again
 * from the token on every request, so a deleted token ends its sessions at
 * once. Sessions live in memory: a restart signs everyone out.
 */
#ifndef DAEMON_SESSION_H
#define DAEMON_SESSION_H

#include <stddef.h>
#include <time.h>

#include "auth.h"

#define SESSION_ID_LEN		43	/* base64url of 32 random bytes */
#define SESSION_CSRF_LEN	43
#define SESSION_MAX		4096	/* live sessions in all */
#define SESSION_PER_TOKEN	32	/* per token; its oldest goes first */
#define SESSION_TTL_DEFAULT	43200	/* --session-ttl, seconds */
#define SESSION_TTL_MAX		(30 * 86400)

/* What a request's session resolves to. */
struct session_view {
	struct cred	 cred;
	char		 csrf[SESSION_CSRF_LEN + 1];
	time_t		 expires;
};

void	session_set_ttl(int secs);
int	session_ttl(void);
/*
 * Signs in with a token: a new session for its credential. id receives
 * the cookie value, v what it resolves to. -1: unknown token (or no
 * randomness).
 */
int	session_create(char id[SESSION_ID_LEN + 1], struct session_view *v,
	    const char *token);
/*
 * The session of a cookie value: 0 and v filled, or -1 when there is
 * none, it expired, or its token was deleted (the session ends then).
 */
int	session_get(struct session_view *v, const char *id);
void	session_end(const char *id);
/*
 * Whether given is want, both SESSION_CSRF_LEN characters (constant
 * time): sign-in's double-submit value and the session's CSRF token.
 */
int	session_value_eq(const char *want, const char *given);
/* Whether a form's csrf value is the session's (constant time). */
int	session_csrf_ok(const struct session_view *v, const char *given);
/* A random value for cookies and tokens: 43 base64url characters. */
int	session_random(char out[SESSION_ID_LEN + 1]);
/* Sessions alive now (for tests and logs). */
int	session_count(void);

#endif

/* The SSH listener (libssh): public-key auth, git exec commands only. */
#ifndef DAEMON_SSH_H
#define DAEMON_SSH_H

#include <stddef.h>

#include <jansson.h>

/* Named limits of the SSH endpoint. */
#define SSH_MAX_SESSIONS	256	/* authenticated, in total */
#define SSH_MAX_PER_IP		32	/* authenticated, from one address */
#define SSH_MAX_AUTH		20	/* auth requests in one session */
#define SSH_IDLE_SECS		120
#define SSH_MAX_SESSION_SECS	3600
#define SSH_MAX_ENV_VALUE	64

/*
 * Limits on connections that have not authenticated yet ("startups"), as
 * OpenSSH's MaxStartups, PerSourceMaxStartups and LoginGraceTime. They are
 * checked at accept, before a thread or a libssh session is spent.
 */
#define SSH_STARTUPS_BEGIN	10	/* --ssh-max-startups START:RATE:FULL */
#define SSH_STARTUPS_RATE	30	/* percent refused at START */
#define SSH_STARTUPS_FULL	100	/* all refused from FULL on */
#define SSH_STARTUPS_MAX	1024	/* the largest FULL accepted */
#define SSH_STARTUPS_PER_ADDR	10	/* --ssh-max-startups-per-addr */
#define SSH_LOGIN_GRACE		20	/* --ssh-login-grace, seconds */
#define SSH_LOGIN_GRACE_MAX	3600
#define SSH_REFUSALS_PER_SEC	10	/* refusal log lines a second, in all */

/* Loads or creates the host keys in keydir and starts listening. */
int	ssh_start(const char *hostport, const char *keydir, char *bound,
	    size_t boundsz);
/* Stops accepting; connections still logging in are closed. */
void	ssh_close_listener(void);
/* Connections admitted and not yet ended. */
int	ssh_active(void);
/* Cuts every connection (shutdown): their threads see the end at once. */
void	ssh_cut_all(void);
/*
 * Stops accepting and waits up to secs for sessions to end; frees what
 * they share when none is left. Returns how many are still running.
 */
int	ssh_stop(int secs);
/* The host keys: [{type, fingerprint, publicKey}] for known_hosts. */
json_t	*ssh_host_keys(void);
/*
 * Parses --ssh-max-startups: START:RATE:FULL, or FULL alone (START = FULL,
 * RATE = 100), as OpenSSH reads MaxStartups. 0, or -1 with a message.
 */
int	ssh_startups_parse(const char *spec, int *begin, int *rate, int *full,
	    char *msg, size_t msgsz);
/* SHA256:... fingerprint of an OpenSSH public key line, or -1. */
int	ssh_key_parse(const char *line, char *fp, size_t fpsz, char *norm,
	    size_t normsz);

#endif

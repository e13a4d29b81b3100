/* The SSH listener (libssh): public-key auth, git exec commands only. */
#ifndef DAEMON_SSH_H
#define DAEMON_SSH_H

#include <stddef.h>

#include <jansson.h>

/* Named limits of the SSH endpoint. */
#define SSH_MAX_SESSIONS	256	/* in total */
#define SSH_MAX_PER_IP		32	/* from one address */
#define SSH_MAX_AUTH		20	/* auth requests in one session */
#define SSH_IDLE_SECS		120
#define SSH_MAX_SESSION_SECS	3600
#define SSH_MAX_ENV_VALUE	64

/* Loads or creates the host keys in keydir and starts listening. */
int	ssh_start(const char *hostport, const char *keydir, char *bound,
	    size_t boundsz);
/* Stops accepting and waits (bounded) for sessions to end. */
void	ssh_stop(void);
/* The host keys: [{type, fingerprint, publicKey}] for known_hosts. */
json_t	*ssh_host_keys(void);
/* SHA256:... fingerprint of an OpenSSH public key line, or -1. */
int	ssh_key_parse(const char *line, char *fp, size_t fpsz, char *norm,
	    size_t normsz);

#endif

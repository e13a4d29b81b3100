/*
 * Native TLS for the HTTP listener (OpenSSL through libevent's
 * bufferevent_openssl): a certificate chain and key in PEM, TLS 1.2 and
 * 1.3, session resumption (a server-side cache and TLS 1.3 tickets), and a
 * reload on SIGHUP that serves new connections with the new files while
 * the open ones keep theirs.
 */
#ifndef DAEMON_TLS_H
#define DAEMON_TLS_H

#include <openssl/ssl.h>

/* Loads cert (a chain: the leaf first) and key; 0, or -1 with msg. */
int	tls_load(const char *cert, const char *key, char *msg, size_t msglen);
/* Loads the same files again; the old context stays if that fails. */
int	tls_reload(char *msg, size_t msglen);
/* Whether TLS is on. */
int	tls_enabled(void);
/* A new server-side SSL for one connection, or NULL. */
SSL	*tls_new(void);
void	tls_free(void);

#endif

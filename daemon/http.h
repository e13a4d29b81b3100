/* The HTTP listener: routing, authentication, and git's smart HTTP. */
#ifndef DAEMON_HTTP_H
#define DAEMON_HTTP_H

#include <jansson.h>

#include "auth.h"
#include "httpd.h"

int	http_start(struct event_base *base, const char *hostport,
	    char *bound, size_t boundsz);
/* Stops accepting connections; open ones go on. */
void	http_close_listeners(void);
void	http_stop(void);

/* Replies with a JSON body; steals j. */
void	http_reply_json(struct httpd_req *req, int status, json_t *j);
/* Replies {"error": "..."} with status. */
void	http_reply_error(struct httpd_req *req, int status,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * One API call in-process, on the calling worker, as c: the same route,
 * handler and access checks as over HTTP (the dashboard's only way to the
 * data). Returns the HTTP status; *out the answer (2xx) or err the error.
 */
int	http_api_call(const struct cred *c, enum ag_http1_method m,
	    const char *path, const char *query, const char *body, json_t **out,
	    char *err, size_t errsz);
/* The HTTP status for an AG_E* code (the one mapping). */
int	http_status_of(int code);

#endif

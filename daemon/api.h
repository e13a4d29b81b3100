/* The REST API under /api: repositories and tokens. */
#ifndef DAEMON_API_H
#define DAEMON_API_H

#include <event2/http.h>

#include "auth.h"

/* Handles a request whose path starts with /api/. */
void	api_dispatch(struct evhttp_request *req, const char *path,
	    const struct cred *c);

#endif

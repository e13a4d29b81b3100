/* The REST API under /api: repositories and tokens. */
#ifndef DAEMON_API_H
#define DAEMON_API_H

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "auth.h"
#include "httpd.h"
#include "worker.h"

/* One API call: parsed on the loop, run on a worker, answered on the loop. */
struct apijob {
	struct job		 job;
	struct httpd_req	*req;
	enum ag_http1_method	 method;
	char			 path[512];
	struct evkeyvalq	 query;		/* parsed query string */
	struct cred		 cred;
	char			 signature[160];	/* X-Signature */
	char			*body;
	size_t			 bodylen;
	/* the reply */
	int			 status;
	json_t			*out;
	char			 error[1024];
};

/* Handles a request whose path starts with /api/. */
void	api_dispatch(struct httpd_req *req, const char *path,
	    const struct cred *c);
/* Sets an error reply. */
void	api_fail(struct apijob *a, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* The request body as a JSON object, or NULL with the reply set. */
json_t	*api_body(struct apijob *a);
/* A query parameter, or NULL. */
const char *api_query(struct apijob *a, const char *name);

#endif

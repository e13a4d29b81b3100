/*
 * The REST API's requests (struct apijob) and the handlers of
 * repositories, tokens, keys and SSH. Routing is the listener's (http.c).
 */
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
	int			 code;	/* AG_E*: status from http_status_of */
	json_t			*out;
	char			 error[AG_ERR_MSG_MAX + 512];
};

/* A handler: arg is the route's '*' part, or NULL. */
typedef void (*api_fn)(struct apijob *a, const char *arg);

/* Sets an error reply. */
void	api_fail(struct apijob *a, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Sets an error reply from err: its code decides the status. */
void	api_fail_err(struct apijob *a, const struct ag_err *err);
/* The request body as a JSON object, or NULL with the reply set. */
json_t	*api_body(struct apijob *a);
/* A query parameter, or NULL. */
const char *api_query(struct apijob *a, const char *name);


void	api_repos_list(struct apijob *a, const char *arg);
void	api_repos_create(struct apijob *a, const char *arg);
void	api_tokens_list(struct apijob *a, const char *arg);
void	api_tokens_create(struct apijob *a, const char *arg);
void	api_tokens_delete(struct apijob *a, const char *name);
void	api_keys_list(struct apijob *a, const char *arg);
void	api_keys_create(struct apijob *a, const char *arg);
void	api_keys_delete(struct apijob *a, const char *name);
void	api_ssh_info(struct apijob *a, const char *arg);

#endif

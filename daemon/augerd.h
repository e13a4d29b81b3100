/* augerd's process-wide state and the limits it enforces. */
#ifndef DAEMON_AUGERD_H
#define DAEMON_AUGERD_H

#include <stddef.h>

#include <event2/event.h>

#include "auger/store.h"
#include "httpd.h"

/* Named limits on what one HTTP request may cost. */
#define HTTP_MAX_HEADERS	(32 * 1024)	/* all headers of a request */
#define HTTP_MAX_API_BODY	(1024 * 1024)
#define HTTP_MAX_ANON_BODY	(64 * 1024)	/* what no credential may send */
#define HTTP_MAX_UPLOAD_BODY	(64UL * 1024 * 1024)	/* fetch requests */
#define HTTP_MAX_INFLATED	(64UL * 1024 * 1024)	/* gzip'd fetch bodies */
#define HTTP_IDLE_SECS		120	/* no byte moved either way */
#define HTTP_MAX_REQUEST_SECS	3600	/* one request, start to end */
#define HTTP_STREAM_HIGH	(4UL * 1024 * 1024)	/* unsent reply bytes */

struct config;

struct augerd {
	char			 data[4096];	/* --data */
	char			 repos[4200];	/* DATA/repos */
	char			 public_url[1024];
	char			 ssh_addr[256];	/* bound SSH address, or "" */
	struct event_base	*base;
	struct ag_store		*store;
	unsigned char		 admin_hash[32];	/* sha256(admin token) */
	size_t			 max_push;
	size_t			 max_blob;	/* --max-blob, inflated */
	struct config		*config;	/* --config, or NULL */
	int			 workers;
	struct httpd_limits	 http_limits;
	int			 shutdown_grace;	/* --shutdown-grace, s */
	int			 maint_grace;	/* --maint-grace, s */
	int			 prewarm;	/* --prewarm: branches, 0 off */
	/* SSH connections not yet authenticated (see ssh.h). */
	int			 ssh_startups_begin;	/* --ssh-max-startups */
	int			 ssh_startups_rate;	/* percent */
	int			 ssh_startups_full;
	int			 ssh_startups_per_addr;	/* --ssh-max-startups-per-addr */
	int			 ssh_login_grace;	/* --ssh-login-grace, seconds */
};

extern struct augerd augerd;

#endif

/*
 * The dashboard: server-rendered pages at / and /ui/, signed in with a
 * token (session.h), its data only through the API's own routes
 * (http_api_call), live updates as Server-Sent Events (live.h).
 */
#ifndef DAEMON_UI_H
#define DAEMON_UI_H

#include <event2/event.h>

#include "httpd.h"

#define UI_MAX_FORM	(16 * 1024)	/* a form's body */
#define UI_SSE_MAX	256		/* open event streams in all */
#define UI_SSE_PER_CRED	16		/* of them, one credential's */
#define UI_SSE_PING	15		/* seconds between keep-alives */

/* Whether path is the dashboard's: "/" and everything under /ui/. */
int	ui_path(const char *path);
/* Serves one dashboard request (the loop; the listener routed it). */
void	ui_handle(struct httpd_req *req);
int	ui_start(struct event_base *base);
/* Shutdown: event streams end, so nothing waits on them. */
void	ui_drain(void);
void	ui_stop(void);

#endif

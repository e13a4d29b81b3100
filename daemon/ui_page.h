/*
 * Inside the dashboard: one request as a job (parsed on the loop, its page
 * built on a worker, answered on the loop), and the HTML writer the pages
 * share (ui_html.c). Not for use outside ui*.c.
 */
#ifndef DAEMON_UI_PAGE_H
#define DAEMON_UI_PAGE_H

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "auth.h"
#include "httpd.h"
#include "session.h"
#include "worker.h"

struct uijob {
	struct job		 job;
	struct httpd_req	*req;
	struct session_view	 sv;
	int			 post;
	char			 path[512];
	struct evkeyvalq	 query;
	struct evkeyvalq	 form;	/* a POST's fields */
	/* the reply */
	int			 status;
	struct evbuffer		*out;
	char			 location[512];	/* a 303's target */
};

/* Builds the page of j->path (a worker). */
void	ui_page_run(struct uijob *j);

/*
 * Appends to b by fmt: %s text, HTML-escaped (NULL: nothing); %r raw; %u
 * percent-encoded for a URL; %d int; %I json_int_t; %% a '%'. Nothing
 * else is a conversion: the compiler cannot check these, so keep them
 * this small.
 */
void	hf(struct evbuffer *b, const char *fmt, ...);
/* The page's start: <head>, the header bar, <main>. sv NULL: signed out. */
void	ui_head(struct evbuffer *b, const char *title,
	    const struct session_view *sv);
void	ui_foot(struct evbuffer *b);
/* An error page's HTML: a heading and the message, whole. */
void	ui_error_body(struct evbuffer *b, const char *title, const char *msg,
	    const struct session_view *sv);
/* A whole error page: status, a heading and the message. */
void	ui_error_page(struct uijob *j, int status, const char *title,
	    const char *msg);
/* <time datetime=ISO>UTC text</time> of unix seconds (0: "-"). */
void	ui_time(struct evbuffer *b, json_int_t t);
/* Flux's verdict as a coloured badge. */
void	ui_flux(struct evbuffer *b, const char *status);
/* A form's hidden CSRF field. */
void	ui_csrf(struct evbuffer *b, const struct session_view *sv);
/* Whether c may deploy to (write) env, by the access rules. */
int	ui_may_write(const struct cred *c, const char *env);
/* Whether s is an env or app name (a DNS label, as the API takes). */
int	ui_name_ok(const char *s);

#endif

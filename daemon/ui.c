/*
 * The dashboard's loop side: assets, sign-in and sign-out, the session and
 * CSRF checks every request passes, the jobs that build pages on workers,
 * and the event streams (Server-Sent Events). The pages are ui_pages.c.
 *
 * What a request must show before anything runs for it: a live session
 * (cookie auger_session) for every page; for every POST also the form's
 * csrf field equal to the session's, and an Origin, when the browser sends
 * one, that is this server. Sign-in's own form carries a double-submit
 * value (cookie auger_csrf) instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "auger/access.h"
#include "auger/http1.h"
#include "augerd.h"
#include "live.h"
#include "log.h"
#include "tls.h"
#include "ui.h"
#include "ui_assets.h"
#include "ui_page.h"

#define COOKIE_SESSION	"auger_session"
#define COOKIE_CSRF	"auger_csrf"

/* ------------------------------------------------------------ helpers */

int
ui_path(const char *path)
{
	return strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0 ||
	    strncmp(path, "/ui/", 4) == 0 || strcmp(path, "/favicon.ico") == 0;
}

/* The value of cookie name in the request, into out; -1 if none. */
static int
cookie(struct httpd_req *req, const char *name, char *out, size_t outsz)
{
	return ag_http1_cookie(httpd_header(req, "Cookie"), name, out, outsz);
}

/* Headers every dashboard answer carries. */
static void
common_headers(struct httpd_req *req)
{
	httpd_add_header(req, "Content-Security-Policy", "default-src 'self'; "
	    "script-src 'self'; style-src 'self'; img-src 'self' data:; "
	    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
	    "base-uri 'none'");
	httpd_add_header(req, "X-Content-Type-Options", "nosniff");
	httpd_add_header(req, "X-Frame-Options", "DENY");
	httpd_add_header(req, "Referrer-Policy", "same-origin");
}

static void
set_cookie(struct httpd_req *req, const char *name, const char *value,
    const char *path, int max_age)
{
	char c[256];

	snprintf(c, sizeof c, "%s=%s; Path=%s; Max-Age=%d; HttpOnly; "
	    "SameSite=Strict%s", name, value, path, max_age,
	    tls_enabled() ? "; Secure" : "");
	httpd_add_header(req, "Set-Cookie", c);
}

static void
reply_html(struct httpd_req *req, int status, struct evbuffer *b)
{
	common_headers(req);
	httpd_add_header(req, "Content-Type", "text/html; charset=utf-8");
	httpd_add_header(req, "Cache-Control", "no-store");
	httpd_reply(req, status, b);
}

static void
redirect(struct httpd_req *req, const char *to)
{
	common_headers(req);
	httpd_add_header(req, "Location", to);
	httpd_add_header(req, "Cache-Control", "no-store");
	httpd_reply(req, 303, NULL);
}

/* An error page built on the loop (no data behind it). */
static void
loop_page(struct httpd_req *req, int status, const char *title,
    const char *msg, const struct session_view *sv)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		httpd_reply(req, 500, NULL);
		return;
	}
	ui_error_body(b, title, msg, sv);
	reply_html(req, status, b);
	evbuffer_free(b);
}

/*
 * Whether the request's Origin, when it has one, is this server: the
 * scheme we serve and the Host it asked for.
 */
static int
origin_ok(struct httpd_req *req)
{
	const char *o = httpd_header(req, "Origin"), *host, *p;
	char want[512];
	size_t n;

	if (o == NULL)
		return 1;	/* SameSite=Strict and the CSRF field remain */
	if ((host = httpd_header(req, "Host")) == NULL)
		return 0;
	snprintf(want, sizeof want, "%s://%s", tls_enabled() ? "https" :
	    "http", host);
	if (strcasecmp(o, want) == 0)
		return 1;
	/* Behind a proxy: the origin of --public-url (scheme://host:port). */
	if ((p = strstr(augerd.public_url, "://")) == NULL || p[3] == '\0')
		return 0;
	n = strcspn(p + 3, "/") + (size_t)(p + 3 - augerd.public_url);
	return strlen(o) == n && strncasecmp(augerd.public_url, o, n) == 0;
}

/* ------------------------------------------------------------ assets */

static void
serve_asset(struct httpd_req *req, const char *name)
{
	const struct ui_asset *a;
	struct evbuffer *b;
	size_t n = strlen(name);

	for (a = ui_assets; a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			break;
	if (a->name == NULL || (b = evbuffer_new()) == NULL) {
		httpd_reply(req, 404, NULL);
		return;
	}
	evbuffer_add(b, a->data, a->len);
	common_headers(req);
	httpd_add_header(req, "Content-Type", n > 4 &&
	    strcmp(name + n - 4, ".css") == 0 ? "text/css; charset=utf-8" :
	    n > 4 && strcmp(name + n - 4, ".svg") == 0 ? "image/svg+xml" :
	    "text/javascript; charset=utf-8");
	/* The binary is the version: an hour is enough, a restart refreshes. */
	httpd_add_header(req, "Cache-Control", "max-age=3600");
	httpd_reply(req, 200, b);
	evbuffer_free(b);
}

/* ------------------------------------------------------------ sign-in */

static void
signin_page(struct httpd_req *req, int status, const char *msg)
{
	char csrf[SESSION_ID_LEN + 1];
	struct evbuffer *b;

	if (cookie(req, COOKIE_CSRF, csrf, sizeof csrf) < 0 ||
	    strlen(csrf) != SESSION_CSRF_LEN) {
		if (session_random(csrf) < 0) {
			httpd_reply(req, 500, NULL);
			return;
		}
		set_cookie(req, COOKIE_CSRF, csrf, "/ui/signin", 3600);
	}
	if ((b = evbuffer_new()) == NULL) {
		httpd_reply(req, 500, NULL);
		return;
	}
	ui_head(b, "Sign in", NULL);
	hf(b, "<div class=\"signin card\"><h1>Sign in</h1>");
	if (msg != NULL)
		hf(b, "<p class=\"error\">%s</p>", msg);
	hf(b, "<form method=\"post\" action=\"/ui/signin\">"
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	    "<label for=\"token\">Token</label>"
	    "<input type=\"password\" id=\"token\" name=\"token\" "
	    "autocomplete=\"current-password\" required autofocus>"
	    "<button id=\"signin\" type=\"submit\">Sign in</button></form>"
	    "<p class=\"hint\">Any auger token: admin, deploy or read. "
	    "<code>auger token create</code> makes one; the admin token is "
	    "in the data directory's <code>admin.token</code>.</p></div>",
	    csrf);
	ui_foot(b);
	reply_html(req, status, b);
	evbuffer_free(b);
}

static void
signin_post(struct httpd_req *req, struct evkeyvalq *form)
{
	char pre[SESSION_ID_LEN + 1], id[SESSION_ID_LEN + 1], c[128];
	const char *given = evhttp_find_header(form, "csrf");
	struct session_view sv;

	if (!origin_ok(req) || cookie(req, COOKIE_CSRF, pre, sizeof pre) < 0 ||
	    !session_value_eq(pre, given)) {
		loop_page(req, 403, "Refused", "the form's CSRF token is "
		    "missing or wrong: load the sign-in page again", NULL);
		return;
	}
	if (session_create(id, &sv, evhttp_find_header(form, "token")) < 0) {
		if (httpd_peer_may_log(req))
			log_info("%s ui: sign-in refused (unknown token)",
			    httpd_peer(req));
		signin_page(req, 401, "unknown token");
		return;
	}
	log_info("%s ui: %s (%s) signed in", httpd_peer(req), sv.cred.name,
	    auth_role_name(sv.cred.g.role));
	set_cookie(req, COOKIE_SESSION, id, "/", session_ttl());
	snprintf(c, sizeof c, "%s=; Path=/ui/signin; Max-Age=0; HttpOnly; "
	    "SameSite=Strict", COOKIE_CSRF);
	httpd_add_header(req, "Set-Cookie", c);
	redirect(req, "/");
}

/* ------------------------------------------------------------ jobs */

static void
uijob_free(struct uijob *j)
{
	evhttp_clear_headers(&j->query);
	evhttp_clear_headers(&j->form);
	if (j->out != NULL)
		evbuffer_free(j->out);
	free(j);
}

static void
uijob_run(struct job *job, struct worker *w)
{
	(void)w;
	ui_page_run((struct uijob *)job);
}

static void
uijob_done(struct job *job)
{
	struct uijob *j = (struct uijob *)job;

	if (j->status == 303)
		redirect(j->req, j->location);
	else
		reply_html(j->req, j->status, j->out);
	uijob_free(j);
}

/* The env of a write (POST) page, for its serial queue; NULL if none. */
static const char *
write_env(struct uijob *j, char *buf, size_t bufsz)
{
	const char *env = NULL, *e;

	if (strncmp(j->path, "/ui/env/", 8) == 0) {
		snprintf(buf, bufsz, "env:%s", j->path + 8);
		if ((e = strchr(buf + 4, '/')) != NULL)
			buf[e - buf] = '\0';
		return buf;
	}
	if ((env = evhttp_find_header(&j->form, "env")) != NULL) {
		snprintf(buf, bufsz, "env:%s", env);
		return buf;
	}
	return NULL;
}

static void
submit(struct uijob *j)
{
	char key[128];
	int r;

	j->job.run = uijob_run;
	j->job.done = uijob_done;
	j->status = 200;
	r = j->post && write_env(j, key, sizeof key) != NULL ?
	    worker_submit_serial(&j->job, key) : worker_submit(&j->job);
	if (r < 0) {
		httpd_add_header(j->req, "Retry-After", "1");
		loop_page(j->req, 503, "Busy", "the server is busy: try again "
		    "in a moment", &j->sv);
		uijob_free(j);
	}
}

static struct uijob *
uijob_new(struct httpd_req *req, const struct session_view *sv)
{
	struct uijob *j;

	if ((j = calloc(1, sizeof *j)) == NULL ||
	    (j->out = evbuffer_new()) == NULL) {
		free(j);
		return NULL;
	}
	TAILQ_INIT(&j->query);
	TAILQ_INIT(&j->form);
	j->req = req;
	j->sv = *sv;
	snprintf(j->path, sizeof j->path, "%s", httpd_path(req));
	if (httpd_query(req) != NULL &&
	    evhttp_parse_query_str(httpd_query(req), &j->query) < 0) {
		uijob_free(j);
		return NULL;
	}
	return j;
}

/* ------------------------------------------------------------ POST */

struct post {
	struct session_view	 sv;
	int			 signed_in;
};

static void
post_body(struct httpd_req *req, void *arg)
{
	struct post *p = arg;
	struct evbuffer *in;
	struct uijob *j = NULL;
	const char *path = httpd_path(req);
	char *body = NULL, id[SESSION_ID_LEN + 1];
	size_t len;

	if (!httpd_body_ok(req)) {
		httpd_reply(req, 400, NULL);
		free(p);
		return;
	}
	in = httpd_body(req);
	len = evbuffer_get_length(in);
	if ((j = uijob_new(req, &p->sv)) == NULL) {
		loop_page(req, 400, "Bad request", "malformed query string",
		    NULL);
		goto out;
	}
	if ((body = malloc(len + 1)) == NULL) {
		httpd_reply(req, 500, NULL);
		goto out;
	}
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	j->post = 1;
	if (evhttp_parse_query_str(body, &j->form) < 0) {
		loop_page(req, 400, "Bad form", "the form's body is not "
		    "application/x-www-form-urlencoded", NULL);
		goto out;
	}
	if (strcmp(path, "/ui/signin") == 0) {
		signin_post(req, &j->form);
		goto out;
	}
	if (!p->signed_in) {
		loop_page(req, 403, "Signed out", "your session ended (signed "
		    "out, expired, or its token was deleted): sign in again",
		    NULL);
		goto out;
	}
	if (!origin_ok(req) || !session_csrf_ok(&p->sv,
	    evhttp_find_header(&j->form, "csrf"))) {
		log_info("%s ui: %s: a form without its CSRF token refused",
		    httpd_peer(req), p->sv.cred.name);
		loop_page(req, 403, "Refused", "the form's CSRF token is "
		    "missing or wrong: reload the page and try again", &p->sv);
		goto out;
	}
	if (strcmp(path, "/ui/signout") == 0) {
		if (cookie(req, COOKIE_SESSION, id, sizeof id) == 0)
			session_end(id);
		set_cookie(req, COOKIE_SESSION, "", "/", 0);
		redirect(req, "/ui/signin");
		goto out;
	}
	submit(j);
	j = NULL;
out:
	if (j != NULL)
		uijob_free(j);
	free(body);
	free(p);
}

/* ------------------------------------------------------------ events */

struct sse {
	struct httpd_req	*req;
	char			 id[SESSION_ID_LEN + 1];
	struct cred		 cred;
	uint64_t		 seen;
	TAILQ_ENTRY(sse)	 entry;
};

static TAILQ_HEAD(, sse) streams = TAILQ_HEAD_INITIALIZER(streams);
static int		 nstreams;
static int		 draining;	/* shutting down: no new streams */
static struct event	*ping_ev;

static void
sse_end(struct sse *s)
{
	TAILQ_REMOVE(&streams, s, entry);
	nstreams--;
	httpd_set_callbacks(s->req, NULL, NULL, NULL);
	httpd_stream_end(s->req);
	free(s);
}

static void
sse_closed(struct httpd_req *req, void *arg)
{
	(void)req;
	sse_end(arg);
}

static void
sse_write(struct sse *s, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		return;
	evbuffer_add(b, text, strlen(text));
	httpd_stream_chunk(s->req, b);
	evbuffer_free(b);
}

/* Sends s what it has not seen and may see; 0, or -1 if it was ended. */
static int
sse_pump(struct sse *s)
{
	struct live_event *e;
	char repo[128];
	struct evbuffer *b;

	if ((e = malloc(sizeof *e)) == NULL || (b = evbuffer_new()) == NULL) {
		free(e);
		return 0;
	}
	while (live_next(e, s->seen)) {
		s->seen = e->seq;
		snprintf(repo, sizeof repo, "gitops-%s-apps", e->env);
		if (!ag_access_allowed(&s->cred.g, AG_OP_FETCH, repo))
			continue;
		evbuffer_add_printf(b, "id: %llu\nevent: %s\ndata: %s\n\n",
		    (unsigned long long)e->seq, e->type, e->data);
	}
	free(e);
	if (evbuffer_get_length(b) > 0)
		httpd_stream_chunk(s->req, b);
	evbuffer_free(b);
	/* A reader this far behind reconnects and catches up from the ring. */
	if (httpd_unsent(s->req) > 1024 * 1024) {
		sse_end(s);
		return -1;
	}
	return 0;
}

static void
sse_wake(void)
{
	struct sse *s, *next;

	for (s = TAILQ_FIRST(&streams); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		sse_pump(s);
	}
}

/* Keep-alives; a stream whose session ended ends with it. */
static void
sse_ping(evutil_socket_t fd, short what, void *arg)
{
	struct session_view sv;
	struct sse *s, *next;

	(void)fd;
	(void)what;
	(void)arg;
	for (s = TAILQ_FIRST(&streams); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (session_get(&sv, s->id) < 0) {
			sse_write(s, "event: signedout\ndata: {}\n\n");
			sse_end(s);
			continue;
		}
		s->cred = sv.cred;
		sse_write(s, ": keep-alive\n\n");
	}
}

static void
sse_start(struct httpd_req *req, const struct session_view *sv,
    const char *id)
{
	const char *last = httpd_header(req, "Last-Event-ID");
	struct sse *s;
	char *end;

	int mine = 0;

	TAILQ_FOREACH(s, &streams, entry)
		mine += strcmp(s->cred.name, sv->cred.name) == 0;
	/* One credential cannot take every stream from the others. */
	if (draining || nstreams >= UI_SSE_MAX || mine >= UI_SSE_PER_CRED) {
		httpd_add_header(req, "Retry-After", "5");
		httpd_reply(req, 503, NULL);
		return;
	}
	if (httpd_method(req) == AG_HTTP1_HEAD) {
		common_headers(req);
		httpd_add_header(req, "Content-Type", "text/event-stream");
		httpd_reply(req, 200, NULL);
		return;
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		httpd_reply(req, 500, NULL);
		return;
	}
	s->req = req;
	memcpy(s->id, id, SESSION_ID_LEN);
	s->id[SESSION_ID_LEN] = '\0';
	s->cred = sv->cred;
	s->seen = live_last();
	/* A browser that reconnects says what it saw last. */
	if (last != NULL) {
		unsigned long long v = strtoull(last, &end, 10);

		if (*end == '\0' && v <= s->seen)
			s->seen = v;
	}
	TAILQ_INSERT_TAIL(&streams, s, entry);
	nstreams++;
	common_headers(req);
	httpd_add_header(req, "Content-Type", "text/event-stream");
	httpd_add_header(req, "Cache-Control", "no-store");
	httpd_add_header(req, "X-Accel-Buffering", "no");
	httpd_set_callbacks(req, NULL, sse_closed, s);
	httpd_stream_start(req, 200);
	sse_write(s, "retry: 3000\n: auger events\n\n");
	sse_pump(s);
}

/* ------------------------------------------------------------ routing */

void
ui_handle(struct httpd_req *req)
{
	const char *path = httpd_path(req);
	enum ag_http1_method m = httpd_method(req);
	char id[SESSION_ID_LEN + 8];
	struct session_view sv;
	struct uijob *j;
	struct post *p;
	int signed_in;

	if (strcmp(path, "/favicon.ico") == 0) {
		serve_asset(req, "favicon.svg");
		return;
	}
	if (strcmp(path, "/ui") == 0 || strcmp(path, "/ui/") == 0) {
		redirect(req, "/");
		return;
	}
	if (strncmp(path, "/ui/assets/", 11) == 0 && (m == AG_HTTP1_GET ||
	    m == AG_HTTP1_HEAD)) {
		serve_asset(req, path + 11);
		return;
	}
	memset(&sv, 0, sizeof sv);
	signed_in = cookie(req, COOKIE_SESSION, id, sizeof id) == 0 &&
	    session_get(&sv, id) == 0;
	if (m == AG_HTTP1_POST) {
		if ((p = calloc(1, sizeof *p)) == NULL) {
			httpd_reply(req, 500, NULL);
			return;
		}
		p->sv = sv;
		p->signed_in = signed_in;
		/* Signed out, only the sign-in form is read, and it is small. */
		httpd_read_body(req, signed_in ? UI_MAX_FORM : 4096, post_body,
		    p);
		return;
	}
	if (m != AG_HTTP1_GET && m != AG_HTTP1_HEAD) {
		httpd_add_header(req, "Allow", "GET, HEAD, POST");
		httpd_reply(req, 405, NULL);
		return;
	}
	if (strcmp(path, "/ui/signin") == 0) {
		if (signed_in)
			redirect(req, "/");
		else
			signin_page(req, 200, NULL);
		return;
	}
	if (!signed_in) {
		redirect(req, "/ui/signin");
		return;
	}
	if (strcmp(path, "/ui/events") == 0) {
		sse_start(req, &sv, id);
		return;
	}
	if ((j = uijob_new(req, &sv)) == NULL) {
		loop_page(req, 400, "Bad request", "malformed query string",
		    &sv);
		return;
	}
	submit(j);
}

int
ui_start(struct event_base *base)
{
	struct timeval tv = { UI_SSE_PING, 0 };

	if (live_start(base, sse_wake) < 0 ||
	    (ping_ev = event_new(base, -1, EV_PERSIST, sse_ping, NULL)) ==
	    NULL)
		return -1;
	return event_add(ping_ev, &tv);
}

void
ui_drain(void)
{
	draining = 1;
	while (!TAILQ_EMPTY(&streams))
		sse_end(TAILQ_FIRST(&streams));
}

void
ui_stop(void)
{
	ui_drain();
	if (ping_ev != NULL)
		event_free(ping_ev);
	ping_ev = NULL;
	live_stop();
}

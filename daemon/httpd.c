/*
 * augerd's HTTP/1.1 server on libevent bufferevents. A connection is a
 * small state machine (head, body, handled, closing); the request head is
 * parsed by src/http1.c and handed to the router before a byte of body
 * is read, so a request that will be refused costs at most the read
 * buffer. Connections are capped in total and per address, heads and
 * bodies have deadlines and a minimum rate, and running out of file
 * descriptors pauses accepting instead of spinning.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "tls.h"
#include "httpd.h"
#include "log.h"

#define HTTPD_READ_HIGH		(64 * 1024)	/* socket bytes buffered */
#define HTTPD_PIPE_HIGH		(1024 * 1024)	/* streamed body buffered */
#define HTTPD_WRITE_LOW		(256 * 1024)	/* "drained" below this */
#define HTTPD_IDLE_SECS		120	/* keep-alive, or a stalled write */
#define HTTPD_RATE_WINDOW	10	/* seconds per min-rate check */
#define HTTPD_PEER_BUCKETS	4096
#define HTTPD_EMFILE_PAUSE_MS	250
#define HTTPD_LINGER_MAX	(256 * 1024)	/* drained after a refusal */

enum conn_state {
	CONN_HEAD,	/* reading a request head */
	CONN_BODY,	/* reading a body the handler asked for */
	CONN_HANDLED,	/* a handler owns the request; writing its reply */
	CONN_CLOSING,	/* flushing the last reply, then closing */
	CONN_LINGER	/* reply sent and write side shut: draining input */
};

static const char *conn_state_names[] = { "head", "body", "handled",
	"closing", "linger" };

/* One remote address: its open connections and when it last logged. */
struct peer {
	char		 addr[64];
	int		 conns;
	time_t		 logged;
	struct peer	*next;
};

struct httpd_pipe {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct evbuffer	*buf;
	int		 eof;
	int		 broken;
	int		 paused;	/* the loop stopped reading for us */
	struct event	*wake;		/* the reader drained: resume */
};

struct conn;

struct httpd_req {
	struct conn		*c;	/* NULL once the client went away */
	struct ag_http1_head	 head;
	char			*path;
	const char		*query;
	char			 peer[64];
	struct peer		*peerent;	/* borrowed, for log limits */
	/* Body. */
	int			 body_mode;	/* 0 none, 1 buffered, 2 piped */
	size_t			 body_limit;
	uint64_t		 body_got;	/* decoded bytes so far */
	int			 body_done;
	struct ag_http1_chunked	 chunked;
	struct evbuffer		*body;
	struct httpd_pipe	*pipe;
	httpd_body_fn		 body_fn;
	void			*body_arg;
	/* Reply. */
	struct evbuffer		*outhdr;	/* extra header lines */
	int			 started;	/* status line sent */
	int			 chunked_out;
	int			 ended;
	httpd_event_fn		 drained, closed;
	void			*cb_arg;
};

struct conn {
	struct bufferevent	*bev;
	enum conn_state		 state;
	struct peer		*peer;
	struct httpd_req	*req;		/* the current request */
	time_t			 since;		/* state entered */
	time_t			 head_start;	/* first byte of a head */
	time_t			 window_start;	/* min-rate window */
	uint64_t		 window_bytes;
	int			 close_after;	/* no keep-alive */
	int			 served;	/* requests ended on it */
	int			 reading;	/* EV_READ wanted */
	TAILQ_ENTRY(conn)	 entry;
};

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static struct event_base *httpd_base;
static struct evconnlistener *httpd_listener;
static struct event *httpd_tick, *httpd_resume;
static httpd_handler httpd_route;
static struct httpd_limits httpd_lim;
static struct peer *peers[HTTPD_PEER_BUCKETS];
static int nconns, nreqs_owned, emfile_logged, draining;
static time_t refused_logged;
static char date_hdr[64];
static time_t date_at;

static void	conn_read_cb(struct bufferevent *bev, void *arg);
static void	conn_drive(struct conn *c);

static time_t
now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

const char *
httpd_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 507: return "Insufficient Storage";
	default: return status < 400 ? "OK" : status < 500 ? "Bad Request" :
	    "Internal Server Error";
	}
}

/* ---------------------------------------------------------------- peers */

static unsigned
peer_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % HTTPD_PEER_BUCKETS;
}

static struct peer *
peer_get(const char *addr)
{
	unsigned b = peer_hash(addr);
	struct peer *p;

	for (p = peers[b]; p != NULL; p = p->next)
		if (strcmp(p->addr, addr) == 0)
			return p;
	if ((p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	snprintf(p->addr, sizeof p->addr, "%s", addr);
	p->next = peers[b];
	peers[b] = p;
	return p;
}

/* Forgets addresses with no connection that have not logged lately. */
static void
peer_prune(time_t now)
{
	struct peer **pp, *p;
	int b;

	for (b = 0; b < HTTPD_PEER_BUCKETS; b++)
		for (pp = &peers[b]; (p = *pp) != NULL;) {
			if (p->conns == 0 && now - p->logged > 2) {
				*pp = p->next;
				free(p);
			} else
				pp = &p->next;
		}
}

static int
peer_may_log(struct peer *p)
{
	time_t now = now_secs();

	if (p == NULL || p->logged == now)
		return 0;
	p->logged = now;
	return 1;
}

int
httpd_peer_may_log(struct httpd_req *r)
{
	return peer_may_log(r->peerent);
}

static void
sockaddr_text(char *out, size_t outsz, const struct sockaddr *sa)
{
	out[0] = '\0';
	if (sa->sa_family == AF_INET)
		evutil_inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)sa)->sin_addr, out, outsz);
	else if (sa->sa_family == AF_INET6)
		evutil_inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, out, outsz);
	if (out[0] == '\0')
		snprintf(out, outsz, "?");
}

/* ---------------------------------------------------------------- pipe */

static void
pipe_wake(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_req *r = arg;

	(void)fd;
	(void)what;
	if (r->c != NULL && r->c->state == CONN_BODY)
		conn_drive(r->c);
}

static struct httpd_pipe *
pipe_new(struct httpd_req *r)
{
	struct httpd_pipe *p;

	if ((p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->buf = evbuffer_new();
	p->wake = event_new(httpd_base, -1, 0, pipe_wake, r);
	if (p->buf == NULL || p->wake == NULL) {
		if (p->buf != NULL)
			evbuffer_free(p->buf);
		if (p->wake != NULL)
			event_free(p->wake);
		free(p);
		return NULL;
	}
	return p;
}

static void
pipe_free(struct httpd_pipe *p)
{
	if (p == NULL)
		return;
	event_free(p->wake);
	evbuffer_free(p->buf);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

static void
pipe_break(struct httpd_pipe *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->broken = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

ssize_t
httpd_body_read(struct httpd_req *r, void *buf, size_t len)
{
	struct httpd_pipe *p = r->pipe;
	size_t n;
	int wake = 0;

	if (p == NULL)
		return 0;
	pthread_mutex_lock(&p->mu);
	while (!p->broken && !p->eof && evbuffer_get_length(p->buf) == 0)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->broken && evbuffer_get_length(p->buf) == 0) {
		pthread_mutex_unlock(&p->mu);
		return -1;
	}
	n = (size_t)evbuffer_remove(p->buf, buf, len);
	if (p->paused && evbuffer_get_length(p->buf) < HTTPD_PIPE_HIGH / 2) {
		p->paused = 0;
		wake = 1;
	}
	pthread_mutex_unlock(&p->mu);
	if (wake)
		event_active(p->wake, EV_READ, 0);
	return (ssize_t)n;
}

/* ---------------------------------------------------------------- requests */

static void
req_free(struct httpd_req *r)
{
	if (r == NULL)
		return;
	ag_http1_head_free(&r->head);
	free(r->path);
	if (r->body != NULL)
		evbuffer_free(r->body);
	if (r->outhdr != NULL)
		evbuffer_free(r->outhdr);
	pipe_free(r->pipe);
	free(r);
}

enum ag_http1_method
httpd_method(const struct httpd_req *r)
{
	return r->head.method;
}

const char *
httpd_method_name(const struct httpd_req *r)
{
	return r->head.method_name;
}

const char *
httpd_path(const struct httpd_req *r)
{
	return r->path;
}

const char *
httpd_query(const struct httpd_req *r)
{
	return r->query;
}

const char *
httpd_header(const struct httpd_req *r, const char *name)
{
	return ag_http1_field(&r->head, name);
}

const char *
httpd_peer(const struct httpd_req *r)
{
	return r->peer;
}

int
httpd_alive(const struct httpd_req *r)
{
	return r->c != NULL;
}

int
httpd_body_ok(const struct httpd_req *r)
{
	return r->c != NULL && r->body_done && !r->ended;
}

struct evbuffer *
httpd_body(struct httpd_req *r)
{
	return r->body;
}

size_t
httpd_unsent(const struct httpd_req *r)
{
	if (r->c == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(r->c->bev));
}

void
httpd_set_callbacks(struct httpd_req *r, httpd_event_fn drained,
    httpd_event_fn closed, void *arg)
{
	r->drained = drained;
	r->closed = closed;
	r->cb_arg = arg;
}

void
httpd_add_header(struct httpd_req *r, const char *name, const char *value)
{
	if (r->outhdr == NULL && (r->outhdr = evbuffer_new()) == NULL)
		return;
	/* Values are ours, but a CR or LF must never split a header. */
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return;
	evbuffer_add_printf(r->outhdr, "%s: %s\r\n", name, value);
}

/* ---------------------------------------------------------------- conns */

static void
conn_set_state(struct conn *c, enum conn_state s)
{
	if (c->state != s)
		log_debug("http conn %p: %s -> %s", (void *)c,
		    conn_state_names[c->state], conn_state_names[s]);
	c->state = s;
	c->since = now_secs();
}

static void
conn_reading(struct conn *c, int on)
{
	if (on == c->reading)
		return;
	c->reading = on;
	if (on) {
		bufferevent_enable(c->bev, EV_READ);
		c->window_start = now_secs();
		c->window_bytes = 0;
	} else
		bufferevent_disable(c->bev, EV_READ);
}

/* Frees the connection; a request a handler still owns lives on. */
static void
conn_free(struct conn *c)
{
	struct httpd_req *r = c->req;

	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	if (c->peer != NULL)
		c->peer->conns--;
	if (r != NULL) {
		r->c = NULL;
		r->peerent = NULL;
		pipe_break(r->pipe);
		if (r->ended)
			req_free(r);
		else if (r->body_mode == 1 && !r->body_done) {
			/* The body callback ends it (httpd_body_ok is 0). */
			if (r->body_fn != NULL)
				r->body_fn(r, r->body_arg);
		} else if (r->closed != NULL)
			r->closed(r, r->cb_arg);
	}
	bufferevent_free(c->bev);
	free(c);
}

static void
date_refresh(void)
{
	time_t t = time(NULL);
	struct tm tm;

	if (t == date_at)
		return;
	date_at = t;
	gmtime_r(&t, &tm);
	strftime(date_hdr, sizeof date_hdr, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Whether body bytes the client sent (or will send) were left unread. */
static int
body_pending(const struct httpd_req *r)
{
	return (r->head.chunked || r->head.length > 0) && !r->body_done;
}

static void
write_head(struct httpd_req *r, int status, int64_t length)
{
	struct evbuffer *out = bufferevent_get_output(r->c->bev);
	struct conn *c = r->c;

	date_refresh();
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status,
	    httpd_reason(status), date_hdr);
	if (r->outhdr != NULL)
		evbuffer_add_buffer(out, r->outhdr);
	if (length >= 0)
		evbuffer_add_printf(out, "Content-Length: %lld\r\n",
		    (long long)length);
	else if (r->head.minor >= 1) {
		evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
		r->chunked_out = 1;
	} else
		c->close_after = 1;	/* HTTP/1.0: the close ends it */
	if (!r->head.keepalive || body_pending(r) || draining)
		c->close_after = 1;
	if (c->close_after)
		evbuffer_add_printf(out, "Connection: close\r\n");
	evbuffer_add(out, "\r\n", 2);
	r->started = 1;
}

/* The request ended on the loop: close, or read the next one. */
static void
req_end(struct httpd_req *r)
{
	struct conn *c = r->c;

	r->ended = 1;
	if (nreqs_owned > 0)
		nreqs_owned--;
	if (c == NULL) {
		req_free(r);
		return;
	}
	if (c->close_after || !r->head.keepalive || body_pending(r) ||
	    draining) {
		c->close_after = 1;
		conn_set_state(c, CONN_CLOSING);
	} else
		conn_set_state(c, CONN_HANDLED);
	/*
	 * The output flushes first; the write callback moves on, from the
	 * loop (deferred), so no handler sees its request freed under it.
	 */
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		bufferevent_trigger(c->bev, EV_WRITE,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void
httpd_reply(struct httpd_req *r, int status, struct evbuffer *body)
{
	size_t len = body != NULL ? evbuffer_get_length(body) : 0;

	if (r->ended)
		return;
	if (r->c != NULL && !r->started) {
		write_head(r, status, (int64_t)len);
		if (body != NULL && r->head.method != AG_HTTP1_HEAD)
			bufferevent_write_buffer(r->c->bev, body);
	}
	req_end(r);
}

void
httpd_stream_start(struct httpd_req *r, int status)
{
	if (r->c != NULL && !r->started)
		write_head(r, status, -1);
}

void
httpd_stream_chunk(struct httpd_req *r, struct evbuffer *chunk)
{
	struct evbuffer *out;
	size_t len = evbuffer_get_length(chunk);

	if (r->c == NULL || len == 0 || r->ended)
		return;
	if (!r->started)
		httpd_stream_start(r, 200);
	out = bufferevent_get_output(r->c->bev);
	if (r->head.method == AG_HTTP1_HEAD) {
		evbuffer_drain(chunk, len);
		return;
	}
	if (r->chunked_out)
		evbuffer_add_printf(out, "%zx\r\n", len);
	evbuffer_add_buffer(out, chunk);
	if (r->chunked_out)
		evbuffer_add(out, "\r\n", 2);
}

void
httpd_stream_end(struct httpd_req *r)
{
	if (r->ended)
		return;
	if (r->c != NULL) {
		if (!r->started)
			write_head(r, 200, 0);
		else if (r->chunked_out && r->head.method != AG_HTTP1_HEAD)
			bufferevent_write(r->c->bev, "0\r\n\r\n", 5);
	}
	req_end(r);
}

/* A framing error before any handler saw the request. */
static void
conn_error(struct conn *c, int status, const char *msg)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char body[640];
	int n;

	n = snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", msg);
	date_refresh();
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %d\r\n"
	    "Connection: close\r\n\r\n%s", status, httpd_reason(status),
	    date_hdr, n, body);
	if (c->peer != NULL && peer_may_log(c->peer))
		log_info("%s http %d: %s", c->peer->addr, status, msg);
	c->close_after = 1;
	conn_reading(c, 0);
	conn_set_state(c, CONN_CLOSING);
}

/* Answers a request whose body failed; the handler is not called. */
static void
body_fail(struct httpd_req *r, int status, const char *msg)
{
	char json[640];
	struct evbuffer *b = evbuffer_new();

	snprintf(json, sizeof json, "{\"error\":\"%s\"}\n", msg);
	if (r->c != NULL && r->c->peer != NULL && peer_may_log(r->c->peer))
		log_info("%s http %d: %s", r->peer, status, msg);
	pipe_break(r->pipe);
	if (r->c != NULL)
		conn_reading(r->c, 0);
	if (r->body_mode == 2) {
		/* A worker reads the pipe and will end the request itself. */
		if (r->c != NULL) {
			r->c->close_after = 1;
			conn_set_state(r->c, CONN_HANDLED);
		}
		if (b != NULL)
			evbuffer_free(b);
		return;
	}
	if (b != NULL)
		evbuffer_add(b, json, strlen(json));
	httpd_add_header(r, "Content-Type", "application/json");
	httpd_reply(r, status, b);
	if (b != NULL)
		evbuffer_free(b);
	/* The callback still runs once, to let go of what it holds. */
	if (r->body_fn != NULL)
		r->body_fn(r, r->body_arg);
}

/* Moves body bytes from the socket into the body buffer or the pipe. */
static void
conn_body(struct conn *c)
{
	struct httpd_req *r = c->req;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	unsigned char tmp[16384];
	struct ag_err err = { 0, "" };
	size_t avail, used, outlen, n;
	int rc;

	while ((avail = evbuffer_get_length(in)) > 0 && !r->body_done) {
		if (r->pipe != NULL) {
			pthread_mutex_lock(&r->pipe->mu);
			if (evbuffer_get_length(r->pipe->buf) >=
			    HTTPD_PIPE_HIGH) {
				r->pipe->paused = 1;
				pthread_mutex_unlock(&r->pipe->mu);
				conn_reading(c, 0);
				return;
			}
			pthread_mutex_unlock(&r->pipe->mu);
		}
		if (r->head.chunked) {
			unsigned char *p = evbuffer_pullup(in,
			    avail > sizeof tmp ? (ev_ssize_t)sizeof tmp :
			    (ev_ssize_t)avail);

			rc = ag_http1_chunked_feed(&r->chunked, p,
			    avail > sizeof tmp ? sizeof tmp : avail, &used,
			    tmp, sizeof tmp, &outlen, &err);
			evbuffer_drain(in, used);
			if (rc < 0) {
				body_fail(r, 400, err.msg);
				return;
			}
			if (rc == 1)
				r->body_done = 1;
		} else {
			n = (size_t)((uint64_t)r->head.length - r->body_got);
			if (n > avail)
				n = avail;
			if (n > sizeof tmp)
				n = sizeof tmp;
			outlen = (size_t)evbuffer_remove(in, tmp, n);
			if (r->body_got + outlen == (uint64_t)r->head.length)
				r->body_done = 1;
		}
		c->window_bytes += outlen;
		r->body_got += outlen;
		if (r->body_got > r->body_limit) {
			body_fail(r, 413, "request body is larger than the "
			    "limit for this endpoint");
			return;
		}
		if (r->pipe != NULL) {
			pthread_mutex_lock(&r->pipe->mu);
			evbuffer_add(r->pipe->buf, tmp, outlen);
			if (r->body_done)
				r->pipe->eof = 1;
			pthread_cond_broadcast(&r->pipe->cv);
			pthread_mutex_unlock(&r->pipe->mu);
		} else
			evbuffer_add(r->body, tmp, outlen);
	}
	if (!r->body_done)
		return;
	/* Reading stays on, to see the client leave while it waits. */
	conn_set_state(c, CONN_HANDLED);
	if (r->pipe == NULL && r->body_fn != NULL)
		r->body_fn(r, r->body_arg);
}

static void
body_begin(struct httpd_req *r, size_t limit, int mode)
{
	struct conn *c = r->c;

	r->body_mode = mode;
	r->body_limit = limit;
	if (c == NULL)
		return;
	if (!r->head.chunked && r->head.length <= 0) {
		r->body_done = 1;
		if (r->pipe != NULL)
			r->pipe->eof = 1;
		if (mode == 1 && r->body_fn != NULL)
			r->body_fn(r, r->body_arg);
		return;
	}
	if (r->head.length > 0 && (uint64_t)r->head.length > limit) {
		/* Refused from the header: not a byte of it is read. */
		body_fail(r, 413, "request body is larger than the limit for "
		    "this endpoint");
		return;
	}
	if (r->head.expect_continue && r->head.minor >= 1)
		bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	conn_set_state(c, CONN_BODY);
	c->window_start = now_secs();
	c->window_bytes = 0;
	conn_reading(c, 1);
	conn_body(c);
}

void
httpd_read_body(struct httpd_req *r, size_t limit, httpd_body_fn fn,
    void *arg)
{
	r->body_fn = fn;
	r->body_arg = arg;
	if ((r->body = evbuffer_new()) == NULL) {
		body_fail(r, 500, "out of memory");
		return;
	}
	body_begin(r, limit, 1);
}

void
httpd_stream_body(struct httpd_req *r, size_t limit)
{
	if ((r->pipe = pipe_new(r)) == NULL) {
		/* No pipe: the worker reads an empty body and says so. */
		r->body_mode = 2;
		if (r->c != NULL)
			r->c->close_after = 1;
		return;
	}
	body_begin(r, limit, 2);
}

/* Parses the next request head, if it is all there, and routes it. */
static void
conn_head(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in);
	struct ag_err err = { 0, "" };
	struct httpd_req *r;
	ssize_t n;
	char *q;

	if (len == 0)
		return;
	if ((r = calloc(1, sizeof *r)) == NULL) {
		conn_error(c, 503, "out of memory");
		return;
	}
	n = ag_http1_head_parse(&r->head, (const char *)evbuffer_pullup(in,
	    len > AG_HTTP1_MAX_HEAD + 64 ? AG_HTTP1_MAX_HEAD + 64 :
	    (ev_ssize_t)len), len > AG_HTTP1_MAX_HEAD + 64 ?
	    AG_HTTP1_MAX_HEAD + 64 : len, &err);
	if (n <= 0) {
		free(r);
		if (n == 0)
			return;	/* more to come */
		conn_error(c, n == AG_ETOOBIG ? 431 : n == AG_ENOTFOUND ?
		    501 : 400, err.msg);
		return;
	}
	evbuffer_drain(in, (size_t)n);
	if ((r->path = strdup(r->head.target)) == NULL) {
		req_free(r);
		conn_error(c, 503, "out of memory");
		return;
	}
	if ((q = strchr(r->path, '?')) != NULL) {
		*q = '\0';
		r->query = q + 1;
	}
	snprintf(r->peer, sizeof r->peer, "%s", c->peer ? c->peer->addr : "?");
	r->peerent = c->peer;
	r->c = c;
	c->req = r;
	c->head_start = 0;
	if (!r->head.keepalive)
		c->close_after = 1;
	/* Reading stays on, to see the client leave; bytes wait buffered. */
	conn_set_state(c, CONN_HANDLED);
	nreqs_owned++;
	httpd_route(r);
}

/* Runs the connection forward from whatever it has. */
static void
conn_drive(struct conn *c)
{
	switch (c->state) {
	case CONN_HEAD:
		conn_head(c);
		break;
	case CONN_BODY:
		if (c->req != NULL) {
			conn_reading(c, 1);
			conn_body(c);
		}
		break;
	case CONN_LINGER:
		/* Drained, not kept; and only so much of it. */
		c->window_bytes += evbuffer_get_length(
		    bufferevent_get_input(c->bev));
		evbuffer_drain(bufferevent_get_input(c->bev),
		    evbuffer_get_length(bufferevent_get_input(c->bev)));
		if (c->window_bytes > HTTPD_LINGER_MAX)
			conn_free(c);
		break;
	default:
		break;
	}
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_drive(arg);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct httpd_req *r = c->req;

	(void)bev;
	if (r != NULL && !r->ended) {
		if (r->drained != NULL)
			r->drained(r, r->cb_arg);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return;
	if (c->state == CONN_CLOSING) {
		/*
		 * Closing with unread input would send a reset that can
		 * destroy the reply before the client reads it: shut the
		 * write side and drain what comes, for a moment.
		 */
		if (bufferevent_openssl_get_ssl(c->bev) != NULL)
			/* TLS: close_notify first, then the TCP half-close. */
			SSL_shutdown(bufferevent_openssl_get_ssl(c->bev));
		shutdown(bufferevent_getfd(c->bev), SHUT_WR);
		conn_set_state(c, CONN_LINGER);
		c->window_bytes = 0;
		conn_reading(c, 1);
		conn_drive(c);
		return;
	}
	if (c->state == CONN_LINGER)
		return;
	if (r != NULL && r->ended) {
		/* Keep-alive: the next request may already be buffered. */
		c->req = NULL;
		req_free(r);
		c->served++;
		conn_set_state(c, CONN_HEAD);
		conn_reading(c, 1);
		conn_head(c);
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT) {
		if (c->peer != NULL && peer_may_log(c->peer))
			log_info("%s http: client stopped reading; closing",
			    c->peer->addr);
		conn_free(c);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (c->state == CONN_BODY && c->req != NULL &&
		    c->peer != NULL && peer_may_log(c->peer))
			log_info("%s http: client closed during the body",
			    c->peer->addr);
		conn_free(c);
	}
}

/* A refusal at accept: one short answer, best effort, then close. */
static void
refuse(evutil_socket_t fd, const char *addr, const char *why)
{
	char msg[256];
	int n;
	time_t now = now_secs();

	n = snprintf(msg, sizeof msg, "HTTP/1.1 503 Service Unavailable\r\n"
	    "Retry-After: 1\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n"
	    "{\"error\":\"%s\"}\n", strlen(why) + 13, why);
	if (send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		(void)0;
	evutil_closesocket(fd);
	if (refused_logged != now) {
		refused_logged = now;
		log_warn("http: refused a connection from %s: %s", addr, why);
	}
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	char addr[64];
	struct peer *p;
	struct conn *c;
	int one = 1;

	(void)l;
	(void)salen;
	(void)arg;
	emfile_logged = 0;
	sockaddr_text(addr, sizeof addr, sa);
	if (nconns >= httpd_lim.max_conns) {
		refuse(fd, addr, "too many connections");
		return;
	}
	if ((p = peer_get(addr)) == NULL) {
		refuse(fd, addr, "out of memory");
		return;
	}
	if (httpd_lim.max_conns_per_addr > 0 &&
	    p->conns >= httpd_lim.max_conns_per_addr) {
		refuse(fd, addr, "too many connections from this address");
		return;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		refuse(fd, addr, "out of memory");
		return;
	}
	if (tls_enabled()) {
		/*
		 * The handshake runs inside the request-head deadline: a
		 * client that stalls in it is cut like a slow head.
		 */
		SSL *ssl = tls_new();

		if (ssl != NULL && (c->bev = bufferevent_openssl_socket_new(
		    httpd_base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE)) == NULL)
			SSL_free(ssl);
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else
		c->bev = bufferevent_socket_new(httpd_base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		free(c);
		refuse(fd, addr, "out of memory");
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->peer = p;
	p->conns++;
	nconns++;
	TAILQ_INSERT_TAIL(&conns, c, entry);
	c->state = CONN_HEAD;
	c->since = now_secs();
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, HTTPD_READ_HIGH);
	bufferevent_setwatermark(c->bev, EV_WRITE, HTTPD_WRITE_LOW, 0);
	/* A reply the client stops reading times out. */
	bufferevent_set_timeouts(c->bev, NULL,
	    &(struct timeval){ HTTPD_IDLE_SECS, 0 });
	bufferevent_enable(c->bev, EV_WRITE);
	conn_reading(c, 1);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (httpd_listener != NULL)
		evconnlistener_enable(httpd_listener);
}

/* accept() failed: out of descriptors pauses accepting, never spins. */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();

	(void)arg;
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		if (!emfile_logged)
			log_warn("http: accept: %s (%d connections open); "
			    "pausing accepts", strerror(e), nconns);
		emfile_logged = 1;
		evconnlistener_disable(l);
		event_add(httpd_resume, &(struct timeval){ 0,
		    HTTPD_EMFILE_PAUSE_MS * 1000 });
		return;
	}
	log_warn("http: accept: %s", strerror(e));
}

/* Once a second: deadlines and minimum rates of every connection. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c, *next;
	time_t now = now_secs();
	static time_t pruned;

	(void)fd;
	(void)what;
	(void)arg;
	for (c = TAILQ_FIRST(&conns); c != NULL; c = next) {
		size_t inlen = evbuffer_get_length(bufferevent_get_input(
		    c->bev));

		next = TAILQ_NEXT(c, entry);
		switch (c->state) {
		case CONN_HEAD:
			/* A new connection owes its first head in time. */
			if (inlen == 0 && (c->served ? now - c->since >
			    HTTPD_IDLE_SECS : now - c->since >
			    httpd_lim.head_secs)) {
				conn_free(c);
				continue;
			}
			if (inlen > 0 && c->head_start == 0)
				c->head_start = now;
			if (c->head_start != 0 && now - c->head_start >
			    httpd_lim.head_secs) {
				conn_error(c, 408, "request head not received "
				    "in time");
				continue;
			}
			break;
		case CONN_BODY:
			if (now - c->since > httpd_lim.body_secs) {
				body_fail(c->req, 408, "request body not "
				    "received in time");
				continue;
			}
			if (!c->reading) {	/* we paused it: not its fault */
				c->window_start = now;
				c->window_bytes = 0;
				break;
			}
			if (now - c->window_start >= HTTPD_RATE_WINDOW) {
				if (c->window_bytes < httpd_lim.body_min_rate *
				    (uint64_t)(now - c->window_start)) {
					body_fail(c->req, 408, "request body "
					    "arrives slower than the minimum "
					    "rate");
					continue;
				}
				c->window_start = now;
				c->window_bytes = 0;
			}
			break;
		case CONN_LINGER:
			if (now - c->since >= 2) {
				conn_free(c);
				continue;
			}
			break;
		default:
			break;
		}
	}
	if (now - pruned >= 10) {
		pruned = now;
		peer_prune(now);
	}
}

/* HOST:PORT where HOST is a name ("localhost:8080"). */
static int
resolve(struct sockaddr_storage *ss, int *sl, const char *hostport)
{
	struct evutil_addrinfo hints, *ai = NULL;
	const char *colon = strrchr(hostport, ':');
	char host[256];

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof host)
		return -1;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE;
	if (evutil_getaddrinfo(host, colon + 1, &hints, &ai) != 0 ||
	    ai == NULL)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sl = (int)ai->ai_addrlen;
	evutil_freeaddrinfo(ai);
	return 0;
}

int
httpd_start(struct event_base *base, const char *hostport,
    const struct httpd_limits *lim, httpd_handler h, char *bound,
    size_t boundsz)
{
	struct sockaddr_storage ss;
	int sl = sizeof ss;
	socklen_t bl = sizeof ss;
	char addr[64];

	httpd_base = base;
	httpd_route = h;
	httpd_lim = *lim;
	memset(&ss, 0, sizeof ss);
	if (evutil_parse_sockaddr_port(hostport, (struct sockaddr *)&ss,
	    &sl) < 0 && resolve(&ss, &sl, hostport) < 0)
		return -1;
	if ((httpd_listener = evconnlistener_new_bind(base, accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)&ss, sl)) == NULL)
		return -1;
	evconnlistener_set_error_cb(httpd_listener, accept_error_cb);
	httpd_resume = evtimer_new(base, resume_cb, NULL);
	httpd_tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(httpd_tick, &(struct timeval){ 1, 0 });
	if (getsockname(evconnlistener_get_fd(httpd_listener),
	    (struct sockaddr *)&ss, &bl) == 0) {
		sockaddr_text(addr, sizeof addr, (struct sockaddr *)&ss);
		if (ss.ss_family == AF_INET6)
			snprintf(bound, boundsz, "[%s]:%d", addr, ntohs(
			    ((struct sockaddr_in6 *)&ss)->sin6_port));
		else
			snprintf(bound, boundsz, "%s:%d", addr, ntohs(
			    ((struct sockaddr_in *)&ss)->sin_port));
	}
	return 0;
}

void
httpd_close_listeners(void)
{
	if (httpd_listener != NULL)
		evconnlistener_free(httpd_listener);
	httpd_listener = NULL;
}

int
httpd_conns(void)
{
	return nconns;
}

int
httpd_busy(void)
{
	return nreqs_owned;
}

void
httpd_drain(void)
{
	struct conn *c, *next;

	draining = 1;
	httpd_close_listeners();
	/* Idle keep-alive connections go now; the others after their reply. */
	for (c = TAILQ_FIRST(&conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == CONN_HEAD && c->req == NULL &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			conn_free(c);
	}
}

int
httpd_cut_all(void)
{
	struct conn *c;
	int n = 0;

	while ((c = TAILQ_FIRST(&conns)) != NULL) {
		if (c->req != NULL && !c->req->ended)
			n++;
		conn_free(c);
	}
	return n;
}

void
httpd_stop(void)
{
	struct conn *c;
	int b;

	httpd_close_listeners();
	while ((c = TAILQ_FIRST(&conns)) != NULL)
		conn_free(c);
	if (httpd_tick != NULL)
		event_free(httpd_tick);
	if (httpd_resume != NULL)
		event_free(httpd_resume);
	httpd_tick = httpd_resume = NULL;
	for (b = 0; b < HTTPD_PEER_BUCKETS; b++)
		while (peers[b] != NULL) {
			struct peer *p = peers[b];

			peers[b] = p->next;
			free(p);
		}
}

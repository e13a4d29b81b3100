/*
 * augerd's HTTP/1.1 server: connections, request framing, admission
 * control and deadlines. Routing lives in http.c; this file decides what a
 * client may cost before anyone looks at what it asked for.
 */
#ifndef DAEMON_HTTPD_H
#define DAEMON_HTTPD_H

#include <stddef.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "auger/http1.h"

struct httpd_req;

/* Limits, set from flags before httpd_start. */
struct httpd_limits {
	int	max_conns;		/* open connections in all */
	int	max_conns_per_addr;	/* 0: no per-address cap */
	size_t	body_min_rate;		/* bytes/s a body must keep up */
	int	head_secs;		/* to send a whole request head */
	int	body_secs;		/* to send a whole request body */
};

/*
 * Called on the loop when a request head is complete. The handler owns
 * the request from then on: it must end it once with httpd_reply,
 * httpd_stream_end, or (from a body callback) one of them.
 */
typedef void (*httpd_handler)(struct httpd_req *r);
/* A buffered body is complete (or failed: the reply was sent). */
typedef void (*httpd_body_fn)(struct httpd_req *r, void *arg);
typedef void (*httpd_event_fn)(struct httpd_req *r, void *arg);

int	httpd_start(struct event_base *base, const char *hostport,
	    const struct httpd_limits *lim, httpd_handler h, char *bound,
	    size_t boundsz);
void	httpd_close_listeners(void);
/* Open connections. */
int	httpd_conns(void);
/* Requests a handler owns that have not ended (bodies being read too). */
int	httpd_busy(void);
/* Shutdown: stop accepting, close idle connections, no more keep-alive. */
void	httpd_drain(void);
/*
 * Shutdown's end: closes every connection; handlers see their clients
 * gone (streams fail, bodies break). Returns the requests that were cut.
 */
int	httpd_cut_all(void);
void	httpd_stop(void);

enum ag_http1_method httpd_method(const struct httpd_req *r);
const char *httpd_method_name(const struct httpd_req *r);
const char *httpd_path(const struct httpd_req *r);	/* before '?' */
const char *httpd_query(const struct httpd_req *r);	/* after '?', or NULL */
const char *httpd_header(const struct httpd_req *r, const char *name);
const char *httpd_peer(const struct httpd_req *r);	/* address text */
/* Whether this peer may write a denial to the log now (1 per second). */
int	httpd_peer_may_log(struct httpd_req *r);
/* Whether the client is still connected. */
int	httpd_alive(const struct httpd_req *r);

/*
 * Reads the whole body (at most limit bytes, chunked decoded) and calls
 * fn on the loop, exactly once. When httpd_body_ok(r) is 0 there, the
 * body failed: it was too big, malformed or too slow and httpd answered
 * (413, 400, 408), or the client left; fn lets go of arg and ends the
 * request with httpd_reply (a no-op reply that frees it). Call this last.
 */
void	httpd_read_body(struct httpd_req *r, size_t limit, httpd_body_fn fn,
	    void *arg);
int	httpd_body_ok(const struct httpd_req *r);
/* The buffered body; the request keeps ownership. */
struct evbuffer *httpd_body(struct httpd_req *r);

/*
 * Streams the body to a worker: reads block on the worker's side until
 * bytes come, with at most a fixed amount buffered in between.
 */
void	httpd_stream_body(struct httpd_req *r, size_t limit);
/* Worker side: bytes read, 0 at the body's end, -1 if it broke. */
ssize_t	httpd_body_read(struct httpd_req *r, void *buf, size_t len);

void	httpd_add_header(struct httpd_req *r, const char *name,
	    const char *value);
/* A whole reply; body may be NULL. Ends the request. */
void	httpd_reply(struct httpd_req *r, int status, struct evbuffer *body);
/* A reply whose body comes in pieces (chunked, or close-delimited). */
void	httpd_stream_start(struct httpd_req *r, int status);
void	httpd_stream_chunk(struct httpd_req *r, struct evbuffer *chunk);
void	httpd_stream_end(struct httpd_req *r);
/* Bytes queued toward the client and not yet written. */
size_t	httpd_unsent(const struct httpd_req *r);
/*
 * drained: the queue fell under the low-water mark; closed: the client
 * went away (the request stays valid until it is ended).
 */
void	httpd_set_callbacks(struct httpd_req *r, httpd_event_fn drained,
	    httpd_event_fn closed, void *arg);

const char *httpd_reason(int status);

#endif

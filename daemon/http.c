/*
 * The HTTP listener: routes /api/ to the API handlers (api.c, deploy.c)
 * and /<repo>.git/ to git's smart HTTP (gitprotocol-http). Advertisements
 * come from the per-repo cache; upload-pack and receive-pack run on
 * workers and stream their replies back through a bounded buffer, so the
 * loop only moves bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <zlib.h>

#include "auger/cachekey.h"
#include "auger/pkt.h"
#include "auger/receive.h"
#include "auger/repo.h"
#include "auger/upload.h"
#include "api.h"
#include "augerd.h"
#include "auth.h"
#include "deploy.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "maint.h"
#include "packcache.h"
#include "pushdeploy.h"
#include "repostate.h"
#include "ui.h"
#include "worker.h"

int
http_status_of(int code)
{
	switch (code) {
	case AG_EINVAL:		return 400;
	case AG_EAUTH:		return 401;
	case AG_EFORBIDDEN:	return 403;
	case AG_ENOTFOUND:	return 404;
	case AG_ECONFLICT:	return 409;
	case AG_ETOOBIG:	return 413;
	case AG_ETIMEOUT:	return 504;
	case AG_ENOSPACE:	return 507;	/* Insufficient Storage */
	default:		return 500;
	}
}

/* Whether DATA/repos/<name>.git is there (a stat needs no descriptor). */
static int
http_repo_exists(const char *name)
{
	char path[4400];
	struct stat sb;

	snprintf(path, sizeof path, "%s/%s.git", augerd.repos, name);
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void
no_cache(struct httpd_req *req)
{
	httpd_add_header(req, "Expires", "Fri, 01 Jan 1980 00:00:00 GMT");
	httpd_add_header(req, "Pragma", "no-cache");
	httpd_add_header(req, "Cache-Control",
	    "no-cache, max-age=0, must-revalidate");
}

void
http_reply_json(struct httpd_req *req, int status, json_t *j)
{
	struct evbuffer *b = evbuffer_new();
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	if (b == NULL || s == NULL) {
		free(s);
		if (b != NULL)
			evbuffer_free(b);
		httpd_reply(req, 500, NULL);
		return;
	}
	evbuffer_add(b, s, strlen(s));
	evbuffer_add(b, "\n", 1);
	free(s);
	httpd_add_header(req, "Content-Type", "application/json");
	httpd_reply(req, status, b);
	evbuffer_free(b);
}

void
http_reply_error(struct httpd_req *req, int status, const char *fmt, ...)
{
	char msg[AG_ERR_MSG_MAX + 512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (status == 401)
		httpd_add_header(req, "WWW-Authenticate",
		    "Basic realm=\"auger\"");
	if (status == 503)
		httpd_add_header(req, "Retry-After", "1");
	http_reply_json(req, status, json_pack("{s:s}", "error", msg));
}

/* A reply body streamed from a worker to the loop, with back-pressure. */
struct stream {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct evbuffer		*pending;	/* written, not yet handed on */
	size_t			 unsent;	/* pending + the socket's queue */
	int			 dead;		/* the client went away */
	struct event		*wake;
	struct timespec		 start;
	/* Loop side only: */
	struct httpd_req	*req;
	int			 started;
	const char		*ctype;
};

static void
stream_drained(struct httpd_req *req, void *arg)
{
	struct stream *s = arg;

	pthread_mutex_lock(&s->mu);
	s->unsent = evbuffer_get_length(s->pending) + httpd_unsent(req);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void
stream_kill(struct stream *s)
{
	pthread_mutex_lock(&s->mu);
	s->dead = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void
stream_closed(struct httpd_req *req, void *arg)
{
	(void)req;
	stream_kill(arg);
}

/* Loop: hands what the worker wrote to the connection. */
static void
stream_pump(struct stream *s)
{
	struct evbuffer *chunk;

	if (!httpd_alive(s->req)) {
		stream_kill(s);
		return;
	}
	if ((chunk = evbuffer_new()) == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	evbuffer_add_buffer(chunk, s->pending);
	pthread_mutex_unlock(&s->mu);
	if (evbuffer_get_length(chunk) > 0) {
		if (!s->started) {
			httpd_add_header(s->req, "Content-Type", s->ctype);
			no_cache(s->req);
			httpd_stream_start(s->req, 200);
			s->started = 1;
		}
		httpd_stream_chunk(s->req, chunk);
	}
	evbuffer_free(chunk);
	stream_drained(s->req, s);
}

static void
stream_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stream_pump(arg);
}

static struct stream *
stream_new(struct httpd_req *req, const char *ctype)
{
	struct stream *s;

	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->pending = evbuffer_new();
	s->wake = event_new(augerd.base, -1, 0, stream_wake, s);
	if (s->pending == NULL || s->wake == NULL) {
		if (s->pending)
			evbuffer_free(s->pending);
		if (s->wake)
			event_free(s->wake);
		free(s);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	s->req = req;
	s->ctype = ctype;
	httpd_set_callbacks(req, stream_drained, stream_closed, s);
	return s;
}

/* Worker side: the io write of a stream; blocks while the client lags. */
static int
stream_write(void *ctx, const void *buf, size_t len)
{
	struct stream *s = ctx;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - s->start.tv_sec > HTTP_MAX_REQUEST_SECS)
		return -1;
	pthread_mutex_lock(&s->mu);
	while (!s->dead && s->unsent > HTTP_STREAM_HIGH)
		pthread_cond_wait(&s->cv, &s->mu);
	if (s->dead) {
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	evbuffer_add(s->pending, buf, len);
	s->unsent += len;
	pthread_mutex_unlock(&s->mu);
	event_active(s->wake, EV_READ, 0);
	return 0;
}

/* Frees a stream that never carried a reply. */
static void
stream_free(struct stream *s)
{
	event_free(s->wake);
	evbuffer_free(s->pending);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

/* Any thread: whether the client of a stream went away. */
static int
stream_dead(struct stream *s)
{
	int dead;

	pthread_mutex_lock(&s->mu);
	dead = s->dead;
	pthread_mutex_unlock(&s->mu);
	return dead;
}

/* Loop: the worker is done; ends the reply (or answers an early error). */
static void
stream_finish(struct stream *s, int status, const char *errmsg)
{
	stream_pump(s);
	httpd_set_callbacks(s->req, NULL, NULL, NULL);
	if (s->started || s->dead) {
		httpd_stream_end(s->req);
	} else if (status >= 400) {
		http_reply_error(s->req, status, "%s", errmsg);
	} else {
		httpd_add_header(s->req, "Content-Type", s->ctype);
		no_cache(s->req);
		httpd_reply(s->req, 200, NULL);
	}
	stream_free(s);
}

enum gitop {
	GIT_ADV,	/* info/refs when the cache is stale */
	GIT_UPLOAD,
	GIT_RECEIVE
};

struct gitjob {
	struct job		 job;
	enum gitop		 op;
	enum ag_service		 svc;
	int			 v2;
	struct httpd_req	*req;
	struct cred		 cred;
	char			 name[AG_REPO_NAME_MAX + 1];
	struct evbuffer		*body;		/* upload-pack: the whole body */
	int			 gzip;
	struct stream		*s;
	unsigned char		 key[32];	/* packcache key, if has_key */
	int			 has_key;
	/* results */
	int			 status;
	struct ag_err		 err;
	struct adv		*adv;
	size_t			 updated;
	double			 ms;
	struct ag_upload_stats	 pack;
	/* Loop only: the flight this job leads, or waits in. */
	struct flight		*flight;
	struct gitjob		*fnext;
	struct spool		*sp;		/* a reader of the spool */
	uint64_t		 foff;		/* how far it has been sent */
	int			 fstarted;
	/* Worker side, a flight's builder: the spool it writes. */
	struct spool		*lead_sp;
};

/*
 * The bytes of a build in flight, as they are produced: the builder job
 * appends them to an unlinked file under DATA/cache/ and every reader is
 * sent what is there at its own pace (its own read offset, at most
 * HTTP_STREAM_HIGH unsent in memory), however far behind it is.
 */
struct spool {
	int		 fd;
	_Atomic uint64_t written;
	_Atomic int	 state;		/* 0 running, 1 complete, -1 failed */
	_Atomic int	 readers;	/* readers still reading */
	struct event	*wake;
	int		 refs;		/* loop: the flight + each reader */
	struct gitjob	*rl;		/* loop: the readers, by fnext */
};

/*
 * Single flight: concurrent identical upload-pack requests (one cache
 * key) share one build. The first leads; the others wait, holding their
 * connection, and are answered from the cache entry the leader leaves. If
 * the leader failed (or its client left first), the next waiter leads; if
 * its answer was too large to keep, every waiter builds its own (at most
 * WORKER_PACKS_PER_REPO at a time). Loop thread only.
 */
struct flight {
	unsigned char	 key[32];
	struct gitjob	*leader;
	struct gitjob	*waiters, *tail;
	size_t		 n;
	int		 ok;		/* the leader answered in full */
	int		 landing;
	struct spool	*sp;		/* the leader's bytes, or NULL */
	struct flight	*next;
};

#define FLIGHT_MAX_WAITERS	4096

static struct flight *flights;
static void flight_land(struct flight *f);

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Inflates a gzip body into a new buffer, at most HTTP_MAX_INFLATED. */
static int
gunzip(unsigned char **out, size_t *outlen, const unsigned char *in,
    size_t inlen, struct ag_err *err)
{
	z_stream z;
	unsigned char *buf = NULL, *nb;
	size_t cap = inlen * 4 + 4096;
	int rc;

	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return ag_err_set(err, AG_EINTERNAL, "zlib init failed");
	if (cap > HTTP_MAX_INFLATED)
		cap = HTTP_MAX_INFLATED;
	if ((buf = malloc(cap)) == NULL)
		goto oom;
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)inlen;
	for (;;) {
		z.next_out = buf + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			free(buf);
			inflateEnd(&z);
			return ag_err_set(err, AG_EINVAL,
			    "bad gzip request body: %s", z.msg ? z.msg : "?");
		}
		if (z.avail_out == 0) {
			if (cap >= HTTP_MAX_INFLATED) {
				free(buf);
				inflateEnd(&z);
				return ag_err_set(err, AG_ETOOBIG,
				    "request body inflates past %lu bytes",
				    HTTP_MAX_INFLATED);
			}
			cap = cap * 2 > HTTP_MAX_INFLATED ? HTTP_MAX_INFLATED :
			    cap * 2;
			if ((nb = realloc(buf, cap)) == NULL)
				goto oom;
			buf = nb;
		} else if (z.avail_in == 0) {
			free(buf);
			inflateEnd(&z);
			return ag_err_set(err, AG_EINVAL,
			    "truncated gzip request body");
		}
	}
	*out = buf;
	*outlen = z.total_out;
	inflateEnd(&z);
	return 0;
oom:
	free(buf);
	inflateEnd(&z);
	return ag_err_set(err, AG_EINTERNAL, "out of memory");
}

/*
 * The io of a git request: reads the body, writes the reply stream, and
 * keeps a copy of the reply for the fetch cache (up to its entry limit).
 */
struct bodyio {
	const unsigned char	*data;
	size_t			 len, off;
	struct httpd_req	*piped;		/* receive-pack: streamed */
	z_stream		*z;		/* a gzip'd piped body (JGit) */
	unsigned char		*zin;
	int			 zend;
	struct stream		*s;
	int			 s_gone;	/* s's client left (spool goes on) */
	struct spool		*sp;		/* a flight's spool, or NULL */
	int			 capture;
	unsigned char		*copy;
	size_t			 copylen, copycap;
};

/*
 * A gzip'd push body, inflated as it streams in (JGit compresses every
 * push). The inflated size is bounded by --max-push like a plain body.
 */
static ssize_t
body_inflate(struct bodyio *b, void *buf, size_t len)
{
	ssize_t n;
	int rc;

	if (b->zend)
		return 0;
	b->z->next_out = buf;
	b->z->avail_out = (uInt)(len > 65536 ? 65536 : len);
	for (;;) {
		if (b->z->avail_in == 0) {
			if ((n = httpd_body_read(b->piped, b->zin, 65536)) < 0)
				return -1;
			if (n == 0)
				return -1;	/* truncated gzip stream */
			b->z->next_in = b->zin;
			b->z->avail_in = (uInt)n;
		}
		rc = inflate(b->z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			b->zend = 1;
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -1;
		if (b->z->total_out > augerd.max_push + (1 << 20))
			return -1;
		if ((size_t)((unsigned char *)b->z->next_out -
		    (unsigned char *)buf) > 0 || b->zend)
			return (unsigned char *)b->z->next_out -
			    (unsigned char *)buf;
	}
}

static ssize_t
body_read(void *ctx, void *buf, size_t len)
{
	struct bodyio *b = ctx;
	size_t n = b->len - b->off;

	if (b->piped != NULL && b->z != NULL)
		return body_inflate(b, buf, len);
	if (b->piped != NULL)
		return httpd_body_read(b->piped, buf, len);
	if (n > len)
		n = len;
	if (n == 0)
		return 0;
	memcpy(buf, b->data + b->off, n);
	b->off += n;
	return (ssize_t)n;
}

static int
body_write(void *ctx, const void *buf, size_t len)
{
	struct bodyio *b = ctx;
	unsigned char *np;
	size_t cap;

	if (b->capture && b->copylen + len > PACKCACHE_MAX_ENTRY) {
		b->capture = 0;	/* too big to keep: let the copy go now */
		free(b->copy);
		b->copy = NULL;
		b->copylen = b->copycap = 0;
	}
	if (b->capture && b->copylen + len > b->copycap) {
		cap = b->copycap ? b->copycap : 65536;
		while (cap < b->copylen + len)
			cap *= 2;
		if ((np = realloc(b->copy, cap)) == NULL)
			b->capture = 0;
		else {
			b->copy = np;
			b->copycap = cap;
		}
	}
	if (b->capture) {
		memcpy(b->copy + b->copylen, buf, len);
		b->copylen += len;
	}
	if (b->sp != NULL) {
		uint64_t at = atomic_load(&b->sp->written);

		if (pwrite(b->sp->fd, buf, len, (off_t)at) != (ssize_t)len)
			b->sp = NULL;	/* disk full: waiters fall back */
		else {
			atomic_store(&b->sp->written, at + len);
			event_active(b->sp->wake, EV_READ, 0);
		}
	}
	if (b->s_gone || b->s == NULL)
		return b->s == NULL && b->sp == NULL ? -1 : 0;
	if (stream_write(b->s, buf, len) < 0) {
		/* Its own client left: go on for the ones reading along. */
		if (b->sp != NULL && atomic_load(&b->sp->readers) > 0) {
			b->s_gone = 1;
			return 0;
		}
		return -1;
	}
	return 0;
}

/* Worker side: a complete spool small enough to keep goes to the cache. */
static void
spool_to_cache(struct spool *sp, const unsigned char key[32])
{
	uint64_t len = atomic_load(&sp->written);
	unsigned char *buf;

	if (len == 0 || len > PACKCACHE_MAX_ENTRY ||
	    (buf = malloc((size_t)len)) == NULL)
		return;
	if (pread(sp->fd, buf, (size_t)len, 0) == (ssize_t)len)
		packcache_put(key, buf, (size_t)len);
	free(buf);
}

/* Worker side, before it starts: a clone whose client left is skipped. */
static int
gitjob_cancelled(struct job *job)
{
	struct gitjob *g = (struct gitjob *)job;

	if (g->lead_sp != NULL)	/* a builder: while anyone reads along */
		return atomic_load(&g->lead_sp->readers) == 0;
	return g->s != NULL && g->op == GIT_UPLOAD && stream_dead(g->s);
}

/* The pack writer polls this: stop when nobody reads any more. */
static int
gitjob_gone(void *arg)
{
	struct bodyio *b = arg;

	if (b->sp != NULL && atomic_load(&b->sp->readers) > 0)
		return 0;
	return b->s == NULL || b->s_gone || stream_dead(b->s);
}

static void
gitjob_run(struct job *job, struct worker *w)
{
	struct gitjob *g = (struct gitjob *)job;
	struct repostate *st;
	git_repository *repo;
	struct adv *adv = NULL;
	struct ag_io io;
	struct bodyio bio;
	unsigned char *body = NULL, *inflated = NULL;
	size_t len = 0;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((st = repostate_get(g->name)) == NULL) {
		g->status = 500;
		ag_err_set(&g->err, AG_EINTERNAL, "out of memory");
		return;
	}
	if ((repo = worker_repo(w, g->name, repostate_gen(st))) == NULL) {
		/* It exists but could not be opened (out of descriptors). */
		if (http_repo_exists(g->name)) {
			g->status = 503;
			ag_err_set(&g->err, AG_EIO, "repository \"%s\" cannot be "
			    "opened now (%s); try again", g->name,
			    strerror(errno));
			return;
		}
		g->status = 404;
		ag_err_set(&g->err, AG_ENOTFOUND, "repository \"%s\" not found",
		    g->name);
		return;
	}
	/*
	 * A ref list that cannot be read whole (descriptors run out, a tag
	 * unreadable) is 503, never a shorter advertisement.
	 */
	if ((adv = repostate_adv(st)) == NULL &&
	    repostate_refresh(st, repo, &adv, &g->err) < 0) {
		g->status = 503;
		return;
	}
	if (g->op == GIT_ADV) {
		g->adv = adv;
		return;
	}
	if (g->body != NULL) {
		len = evbuffer_get_length(g->body);
		body = evbuffer_pullup(g->body, -1);
	}
	if (g->gzip && g->op == GIT_UPLOAD) {
		if (gunzip(&inflated, &len, body, len, &g->err) < 0) {
			g->status = http_status_of(g->err.code);
			adv_unref(adv);
			return;
		}
		body = inflated;
	}
	memset(&bio, 0, sizeof bio);
	bio.data = body;
	bio.len = len;
	if (g->op == GIT_RECEIVE)
		bio.piped = g->req;
	if (g->op == GIT_RECEIVE && g->gzip) {
		if ((bio.z = calloc(1, sizeof *bio.z)) == NULL ||
		    (bio.zin = malloc(65536)) == NULL ||
		    inflateInit2(bio.z, 15 + 16) != Z_OK) {
			free(bio.z);
			free(bio.zin);
			g->status = 500;
			ag_err_set(&g->err, AG_EINTERNAL, "out of memory");
			adv_unref(adv);
			return;
		}
	}
	bio.s = g->s;
	bio.sp = g->lead_sp;
	/* A flight's reply is read back from its spool for the cache. */
	bio.capture = g->has_key && g->lead_sp == NULL;
	io.read = body_read;
	io.write = body_write;
	io.flush = NULL;
	io.ctx = &bio;
	g->status = 200;
	if (g->op == GIT_UPLOAD) {
		struct ag_upload_opts o = { .stateless = 1,
		    .stats = &g->pack,
		    .cancelled = gitjob_gone, .cancel_arg = &bio };
		int rc;

		rc = g->v2 ? ag_upload_v2(repo, adv->refs, &io, &o, &g->err) :
		    ag_upload_v0(repo, adv->refs, &io, &o, &g->err);
		/* A whole, clean answer serves the next identical request. */
		if (rc == 0 && g->err.code == 0 && bio.capture)
			packcache_put(g->key, bio.copy, bio.copylen);
		if (rc == 0 && g->err.code == 0 && bio.sp != NULL)
			spool_to_cache(bio.sp, g->key);
		if (g->lead_sp != NULL) {
			/* The readers along learn how it ended. */
			atomic_store(&g->lead_sp->state, rc == 0 &&
			    g->err.code == 0 && bio.sp != NULL ? 1 : -1);
			event_active(g->lead_sp->wake, EV_READ, 0);
		}
	} else {
		struct ag_receive_opts o = {
			.ref_lock = &st->ref_lock,
			.moved = maint_moved_cb,
			.moved_arg = st,
			.prune_lock = maint_prune_lock(g->name),
		};
		struct pushctx pc;

		auth_receive_opts(&o, &g->cred, g->name);
		pushdeploy_setup(&o, &pc, g->name, &g->cred);
		ag_receive_pack(repo, &io, &o, &g->updated, &g->err);
	}
	if (bio.z != NULL) {
		inflateEnd(bio.z);
		free(bio.z);
		free(bio.zin);
	}
	free(bio.copy);
	free(inflated);
	adv_unref(adv);
	g->ms = ms_since(&t0);
}

static void
gitjob_free(struct gitjob *g)
{
	struct flight *f = g->flight;

	if (f != NULL && f->leader == g) {
		g->flight = NULL;
		flight_land(f);
	}
	if (g->body != NULL)
		evbuffer_free(g->body);
	adv_unref(g->adv);
	free(g);
}

/* evbuffer's reference cleanup: drops the advertisement's reference. */
static void
adv_release(const void *data, size_t len, void *extra)
{
	(void)data;
	(void)len;
	adv_unref(extra);
}

static void
reply_adv(struct httpd_req *req, struct adv *a, enum ag_service svc)
{
	struct evbuffer *b = evbuffer_new();
	char ctype[64];

	snprintf(ctype, sizeof ctype, "application/x-%s-advertisement",
	    ag_service_name(svc));
	if (b == NULL) {
		adv_unref(a);
		httpd_reply(req, 500, NULL);
		return;
	}
	/* Zero-copy: the buffer holds a reference on the cached bytes. */
	if (svc == AG_SVC_UPLOAD)
		evbuffer_add_reference(b, a->upload, a->upload_len,
		    adv_release, a);
	else
		evbuffer_add_reference(b, a->receive, a->receive_len,
		    adv_release, a);
	httpd_add_header(req, "Content-Type", ctype);
	no_cache(req);
	httpd_reply(req, 200, b);
	evbuffer_free(b);
}

static void
reply_v2_caps(struct httpd_req *req)
{
	static char *caps;
	static size_t capslen;
	struct evbuffer *b;

	if (caps == NULL && ag_refs_adv_v2(&caps, &capslen, 0, NULL) < 0) {
		httpd_reply(req, 500, NULL);
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		httpd_reply(req, 500, NULL);
		return;
	}
	evbuffer_add_reference(b, caps, capslen, NULL, NULL);
	httpd_add_header(req, "Content-Type",
	    "application/x-git-upload-pack-advertisement");
	no_cache(req);
	httpd_reply(req, 200, b);
	evbuffer_free(b);
}

static void
gitjob_done(struct job *job)
{
	struct gitjob *g = (struct gitjob *)job;
	const char *peer;

	if (g->req == NULL) {
		/* A flight's builder: its readers are on the spool. */
		if (g->flight != NULL && g->flight->leader == g)
			g->flight->ok = g->status == 200 && g->err.code == 0;
		if (g->status == 0)
			log_info("git-upload-pack %s by %s: cancelled, every "
			    "reader left before its turn", g->name, g->cred.name);
		else if (g->err.code != 0)
			log_info("git-upload-pack %s: the shared build failed: "
			    "%s", g->name, g->err.msg);
		else
			log_info("git-upload-pack %s by %s: ok, %zu objects "
			    "(%zu reused, %zu deltas), %" PRIu64 " bytes, "
			    "%.1f ms, one build for the readers along", g->name,
			    g->cred.name, g->pack.objects, g->pack.reused,
			    g->pack.deltas, g->pack.bytes, g->ms);
		gitjob_free(g);
		return;
	}
	peer = httpd_peer(g->req);
	if (g->op == GIT_ADV) {
		if (g->adv != NULL)
			reply_adv(g->req, adv_ref(g->adv), g->svc);
		else
			http_reply_error(g->req, g->status, "%s", g->err.msg);
		gitjob_free(g);
		return;
	}
	if (g->flight != NULL && g->flight->leader == g)
		g->flight->ok = g->status == 200 && g->err.code == 0;
	if (g->status == 0)
		log_info("%s %s %s by %s: cancelled, the client left before "
		    "its turn", peer, ag_service_name(g->svc), g->name,
		    g->cred.name);
	else if (g->err.code != 0)
		log_info("%s %s %s by %s: %s", peer,
		    ag_service_name(g->svc), g->name, g->cred.name,
		    g->err.msg);
	else if (g->pack.whole_pack)
		log_info("%s %s %s by %s: ok, the maintained pack as it is, "
		    "%.1f ms", peer, ag_service_name(g->svc), g->name,
		    g->cred.name, g->ms);
	else if (g->pack.objects > 0)
		log_info("%s %s %s by %s: ok, %zu objects (%zu reused, %zu "
		    "deltas), %" PRIu64 " bytes, %.1f ms", peer,
		    ag_service_name(g->svc), g->name, g->cred.name,
		    g->pack.objects, g->pack.reused, g->pack.deltas,
		    g->pack.bytes, g->ms);
	else
		log_info("%s %s %s by %s: ok%s, %.1f ms", peer,
		    ag_service_name(g->svc), g->name, g->cred.name,
		    g->op == GIT_RECEIVE && g->updated ? ", refs moved" : "",
		    g->ms);
	stream_finish(g->s, g->status >= 400 ? g->status : 200, g->err.msg);
	g->s = NULL;
	gitjob_free(g);
}

static void
cache_release(const void *data, size_t len, void *extra)
{
	(void)data;
	(void)len;
	packcache_unref(extra);
}

static int
wants_v2(struct httpd_req *req)
{
	const char *gp = httpd_header(req, "Git-Protocol");

	return gp != NULL && strstr(gp, "version=2") != NULL;
}

/*
 * Answers an upload-pack POST from the fetch cache when an identical
 * request was answered at the same ref state: 0 if answered. Otherwise
 * key is set for the worker to store its answer under (key[0] 0xff and
 * all-0xff when the ref state is not known yet: nothing is stored).
 */
static int
cache_reply(struct httpd_req *req, const char *name, const struct cred *c,
    unsigned char key[32])
{
	struct evbuffer *in = httpd_body(req), *b;
	struct packcache_entry *e;
	struct repostate *st;
	const unsigned char *data;
	struct adv *a;
	size_t len = in != NULL ? evbuffer_get_length(in) : 0;

	if (len == 0 || len > 65536 || (st = repostate_find(name)) == NULL ||
	    (a = repostate_adv(st)) == NULL)
		return -1;
	ag_cachekey(key, name, a->refs->state, wants_v2(req),
	    evbuffer_pullup(in, -1), len);
	adv_unref(a);
	if ((e = packcache_get(key)) == NULL || (b = evbuffer_new()) == NULL) {
		packcache_unref(e);
		return -1;
	}
	data = packcache_data(e, &len);
	evbuffer_add_reference(b, data, len, cache_release, e);
	httpd_add_header(req, "Content-Type",
	    "application/x-git-upload-pack-result");
	no_cache(req);
	httpd_reply(req, 200, b);
	evbuffer_free(b);
	log_info("git-upload-pack %s by %s: ok, from the fetch cache (%zu "
	    "bytes)", name, c->name, len);
	return 0;
}

/* Queues the git job; the request's body is read (or streamed) first. */
static void
git_submit(struct gitjob *g)
{
	int rc;

	if ((rc = worker_submit(&g->job)) == WORKER_EBUSY) {
		/* Back-pressure: git shows an ERR line as "remote error". */
		struct evbuffer *b = evbuffer_new();
		char msg[256], ctype[64];
		int n;

		n = snprintf(msg, sizeof msg, "ERR augerd is busy: %d %s "
		    "queued; retry shortly\n", worker_queued(g->job.class),
		    g->job.class == JOB_PACK ? "pack builds" : "pushes");
		log_warn("%s %s %s: refused, the %s queue is full",
		    httpd_peer(g->req), ag_service_name(g->svc), g->name,
		    g->job.class == JOB_PACK ? "pack" : "push");
		if (g->s != NULL)
			httpd_set_callbacks(g->req, NULL, NULL, NULL);
		if (b != NULL)
			evbuffer_add_printf(b, "%04x%s", n + 4, msg);
		snprintf(ctype, sizeof ctype, "application/x-%s-%s",
		    ag_service_name(g->svc), g->op == GIT_ADV ?
		    "advertisement" : "result");
		httpd_add_header(g->req, "Content-Type", ctype);
		httpd_add_header(g->req, "Retry-After", "1");
		httpd_reply(g->req, 200, b);
		if (b != NULL)
			evbuffer_free(b);
		if (g->s != NULL)
			stream_free(g->s);
		g->s = NULL;
		gitjob_free(g);
	} else if (rc < 0) {
		if (g->s != NULL)
			stream_finish(g->s, 500, "out of memory");
		else
			httpd_reply(g->req, 500, NULL);
		g->s = NULL;
		gitjob_free(g);
	}
}

static void spool_pump(struct gitjob *g);

static void
spool_unref(struct spool *sp)
{
	if (--sp->refs > 0)
		return;
	event_free(sp->wake);
	close(sp->fd);
	free(sp);
}

/* Loop: the leader wrote more, or finished: every reader moves on. */
static void
spool_wake(evutil_socket_t fd, short what, void *arg)
{
	struct spool *sp = arg;
	struct gitjob *g, *next;

	(void)fd;
	(void)what;
	sp->refs++;		/* a reader that ends must not free it here */
	for (g = sp->rl; g != NULL; g = next) {
		next = g->fnext;
		spool_pump(g);
	}
	spool_unref(sp);
}

/* An unlinked file under DATA/cache/ for one flight, or NULL. */
static struct spool *
spool_new(void)
{
	char dir[4200], path[4300];
	struct spool *sp;
	int fd;

	snprintf(dir, sizeof dir, "%s/cache", augerd.data);
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0) {
		snprintf(path, sizeof path, "%s/spool.XXXXXX", dir);
		if ((fd = mkostemp(path, O_CLOEXEC)) < 0)
			return NULL;
		unlink(path);
	}
	if ((sp = calloc(1, sizeof *sp)) == NULL ||
	    (sp->wake = event_new(augerd.base, -1, 0, spool_wake, sp)) ==
	    NULL) {
		free(sp);
		close(fd);
		return NULL;
	}
	sp->fd = fd;
	sp->refs = 1;
	return sp;
}

static void
spool_drained(struct httpd_req *req, void *arg)
{
	(void)req;
	spool_pump(arg);
}

static void
spool_closed(struct httpd_req *req, void *arg)
{
	struct gitjob *g = arg;

	(void)req;
	stream_kill(g->s);
	/* Ended from the loop's next turn, not inside the callback. */
	event_active(g->sp->wake, EV_READ, 0);
}

/* Takes reader g off its spool (the caller ends or resubmits it). */
static void
spool_leave(struct gitjob *g)
{
	struct spool *sp = g->sp;
	struct gitjob **pp;

	httpd_set_callbacks(g->req, NULL, NULL, NULL);
	for (pp = &sp->rl; *pp != NULL; pp = &(*pp)->fnext)
		if (*pp == g) {
			*pp = g->fnext;
			break;
		}
	g->fnext = NULL;
	g->sp = NULL;
	atomic_fetch_sub(&sp->readers, 1);
	spool_unref(sp);
}

/* Loop: the reply's head, once, before a reader's first byte. */
static void
spool_start(struct gitjob *g)
{
	if (g->fstarted)
		return;
	httpd_add_header(g->req, "Content-Type",
	    "application/x-git-upload-pack-result");
	no_cache(g->req);
	httpd_stream_start(g->req, 200);
	g->fstarted = 1;
}

/* Loop: ends reader g's reply and frees it. */
static void
spool_end(struct gitjob *g)
{
	spool_leave(g);
	httpd_stream_end(g->req);
	stream_free(g->s);
	g->s = NULL;
	gitjob_free(g);
}

/*
 * Loop: sends reader g what the builder has written beyond g's offset, as
 * far as g's connection takes it (HTTP_STREAM_HIGH unsent at most); ends
 * g's reply at the end of a complete build. A build that failed before g
 * got a byte sends g to build its own; after, g's reply is cut short.
 */
static void
spool_pump(struct gitjob *g)
{
	struct spool *sp = g->sp;
	/*
	 * The state first: a complete build's last byte is then counted in
	 * written (read second); the other order could end g's reply short.
	 */
	int st = atomic_load(&sp->state);
	uint64_t w = atomic_load(&sp->written);
	struct evbuffer_iovec v;
	struct evbuffer *b;
	ssize_t n;

	if (!httpd_alive(g->req) || stream_dead(g->s)) {
		spool_end(g);
		return;
	}
	while (g->foff < w && httpd_unsent(g->req) < HTTP_STREAM_HIGH) {
		size_t want = w - g->foff > 65536 ? 65536 :
		    (size_t)(w - g->foff);

		if ((b = evbuffer_new()) == NULL)
			return;
		/* Read straight into the chunk's own buffer. */
		if (evbuffer_reserve_space(b, (ev_ssize_t)want, &v, 1) < 1 ||
		    (n = pread(sp->fd, v.iov_base, want, (off_t)g->foff)) <=
		    0) {
			evbuffer_free(b);
			st = -1;
			break;
		}
		v.iov_len = (size_t)n;
		evbuffer_commit_space(b, &v, 1);
		spool_start(g);
		httpd_stream_chunk(g->req, b);
		evbuffer_free(b);
		g->foff += (uint64_t)n;
	}
	if (st == 1 && g->foff == w) {
		spool_start(g);
		log_info("%s git-upload-pack %s by %s: ok, shared with the build "
		    "in flight (%" PRIu64 " bytes, read along as it was "
		    "written)", httpd_peer(g->req), g->name, g->cred.name,
		    g->foff);
		spool_end(g);
	} else if (st == -1 && g->fstarted) {
		log_info("%s git-upload-pack %s by %s: the build it read along "
		    "failed; reply cut after %" PRIu64 " bytes",
		    httpd_peer(g->req), g->name, g->cred.name, g->foff);
		spool_end(g);
	} else if (st == -1) {
		/* Nothing sent yet: it builds its own. */
		spool_leave(g);
		httpd_set_callbacks(g->req, stream_drained, stream_closed, g->s);
		git_submit(g);
	}
}

static struct flight *
flight_find(const unsigned char key[32])
{
	struct flight *f;

	for (f = flights; f != NULL; f = f->next)
		if (memcmp(f->key, key, 32) == 0)
			return f;
	return NULL;
}

/* Answers a waiter from the leader's cache entry. */
static void
flight_serve(struct gitjob *g, struct packcache_entry *e)
{
	struct stream *s = g->s;
	struct evbuffer *b;
	const unsigned char *data;
	size_t len;

	g->s = NULL;
	if (stream_dead(s) || (b = evbuffer_new()) == NULL) {
		stream_finish(s, 500, "out of memory");
		return;
	}
	httpd_set_callbacks(s->req, NULL, NULL, NULL);
	data = packcache_data(e, &len);
	evbuffer_add_reference(b, data, len, cache_release, e);
	httpd_add_header(s->req, "Content-Type",
	    "application/x-git-upload-pack-result");
	no_cache(s->req);
	httpd_reply(s->req, 200, b);
	evbuffer_free(b);
	log_info("%s git-upload-pack %s by %s: ok, shared with the build "
	    "in flight (%zu bytes)", httpd_peer(s->req), g->name,
	    g->cred.name, len);
	stream_free(s);
}

static struct gitjob *
flight_pop(struct flight *f)
{
	struct gitjob *g = f->waiters;

	if (g != NULL) {
		f->waiters = g->fnext;
		if (f->waiters == NULL)
			f->tail = NULL;
		g->fnext = NULL;
		g->flight = NULL;
		f->n--;
	}
	return g;
}

/* The leader is gone (answered, failed or refused): the waiters go on. */
static void
flight_land(struct flight *f)
{
	struct packcache_entry *e;
	struct flight **pp;
	struct gitjob *w;

	f->leader = NULL;
	if (f->landing)
		return;		/* a resubmitted waiter failed at once */
	if (f->sp != NULL) {
		/*
		 * The readers along finish from the spool (one that got
		 * nothing yet builds its own); nobody new joins.
		 */
		struct spool *sp = f->sp;

		if (atomic_load(&sp->state) == 0)
			atomic_store(&sp->state, -1);	/* it never ran */
		event_active(sp->wake, EV_READ, 0);
		for (pp = &flights; *pp != NULL; pp = &(*pp)->next)
			if (*pp == f) {
				*pp = f->next;
				break;
			}
		free(f);
		spool_unref(sp);
		return;
	}
	f->landing = 1;
	while (f->leader == NULL && f->waiters != NULL) {
		if ((e = packcache_get(f->key)) != NULL) {
			while ((w = flight_pop(f)) != NULL) {
				packcache_ref(e);
				flight_serve(w, e);
				gitjob_free(w);
			}
			packcache_unref(e);
			break;
		}
		if (f->ok) {
			/* Too large to keep: each builds its own. */
			while ((w = flight_pop(f)) != NULL)
				git_submit(w);
			break;
		}
		w = flight_pop(f);
		if (stream_dead(w->s)) {
			stream_finish(w->s, 200, NULL);
			w->s = NULL;
			gitjob_free(w);
			continue;
		}
		f->leader = w;
		w->flight = f;
		git_submit(w);	/* refused: gitjob_free lands it again */
	}
	f->landing = 0;
	if (f->leader != NULL)
		return;
	for (pp = &flights; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	free(f);
}

/*
 * Joins the flight of g's key as a waiter (1), or makes g the leader of a
 * new one (0; g is then submitted by the caller).
 */
static int
flight_join(struct gitjob *g)
{
	struct flight *f = flight_find(g->key);
	struct gitjob *b;

	if (f != NULL && f->leader != NULL && f->n < FLIGHT_MAX_WAITERS) {
		f->n++;
		if (f->sp != NULL) {
			/* Reads along from the spool, at its own pace. */
			g->sp = f->sp;
			g->sp->refs++;
			atomic_fetch_add(&g->sp->readers, 1);
			g->fnext = g->sp->rl;
			g->sp->rl = g;
			httpd_set_callbacks(g->req, spool_drained, spool_closed,
			    g);
			spool_pump(g);
			return 1;
		}
		g->flight = f;
		if (f->tail != NULL)
			f->tail->fnext = g;
		else
			f->waiters = g;
		f->tail = g;
		return 1;
	}
	if (f != NULL || (f = calloc(1, sizeof *f)) == NULL)
		return 0;
	memcpy(f->key, g->key, 32);
	f->next = flights;
	flights = f;
	if ((f->sp = spool_new()) != NULL &&
	    (b = calloc(1, sizeof *b)) != NULL) {
		/*
		 * The build belongs to no client: a builder job writes the
		 * spool at disk speed, and g reads it like any later reader,
		 * so a slow first client holds nobody back.
		 */
		b->job = g->job;
		b->op = g->op;
		b->svc = g->svc;
		b->v2 = g->v2;
		b->cred = g->cred;
		memcpy(b->name, g->name, sizeof b->name);
		b->job.repo = b->name;
		b->body = g->body;
		b->gzip = g->gzip;
		g->body = NULL;
		memcpy(b->key, g->key, 32);
		b->has_key = 1;
		b->lead_sp = f->sp;
		b->flight = f;
		f->leader = b;
		f->n = 1;
		g->sp = f->sp;
		g->sp->refs++;
		atomic_fetch_add(&g->sp->readers, 1);
		g->sp->rl = g;
		httpd_set_callbacks(g->req, spool_drained, spool_closed, g);
		if (worker_submit(&b->job) == 0)
			return 1;
		/* Busy: g asks on its own (and gets the busy answer). */
		g->body = b->body;
		b->body = NULL;
		spool_leave(g);
		httpd_set_callbacks(g->req, stream_drained, stream_closed, g->s);
		f->leader = NULL;
		b->flight = NULL;
		gitjob_free(b);
		flight_land(f);
		return 0;
	}
	if (f->sp != NULL) {
		spool_unref(f->sp);
		f->sp = NULL;
	}
	/* Without a spool, waiters get the cache entry at the end. */
	f->leader = g;
	g->flight = f;
	return 0;
}

/* The upload-pack body is all here: the fetch cache, or a worker. */
static void
upload_body(struct httpd_req *req, void *arg)
{
	struct gitjob *g = arg;
	unsigned char key[32];

	memset(key, 0xff, sizeof key);
	if (!httpd_body_ok(req)) {
		httpd_reply(req, 400, NULL);
		gitjob_free(g);
		return;
	}
	if (cache_reply(req, g->name, &g->cred, key) == 0) {
		gitjob_free(g);
		return;
	}
	if (key[0] != 0xff) {
		memcpy(g->key, key, 32);
		g->has_key = 1;
	}
	if ((g->body = evbuffer_new()) == NULL) {
		httpd_reply(req, 500, NULL);
		gitjob_free(g);
		return;
	}
	evbuffer_add_buffer(g->body, httpd_body(req));
	if ((g->s = stream_new(req,
	    "application/x-git-upload-pack-result")) == NULL) {
		httpd_reply(req, 500, NULL);
		gitjob_free(g);
		return;
	}
	if (g->has_key && flight_join(g))
		return;
	git_submit(g);
}

static void
git_dispatch(struct httpd_req *req, const char *name, const char *rest,
    const struct cred *c)
{
	enum ag_http1_method cmd = httpd_method(req);
	const char *q = httpd_query(req);
	struct repostate *st;
	struct gitjob *g;
	struct adv *a;
	enum ag_service svc;
	enum gitop op;
	const char *ct, *ce;
	char want_ct[64];

	if (strcmp(rest, "/info/refs") == 0 && (cmd == AG_HTTP1_GET ||
	    cmd == AG_HTTP1_HEAD)) {
		if (q != NULL && strcmp(q, "service=git-upload-pack") == 0)
			svc = AG_SVC_UPLOAD;
		else if (q != NULL && strcmp(q, "service=git-receive-pack") == 0)
			svc = AG_SVC_RECEIVE;
		else {
			http_reply_error(req, 403, "only the smart protocol is "
			    "served: add ?service=git-upload-pack or "
			    "?service=git-receive-pack");
			return;
		}
		op = GIT_ADV;
	} else if (strcmp(rest, "/git-upload-pack") == 0 &&
	    cmd == AG_HTTP1_POST) {
		svc = AG_SVC_UPLOAD;
		op = GIT_UPLOAD;
	} else if (strcmp(rest, "/git-receive-pack") == 0 &&
	    cmd == AG_HTTP1_POST) {
		svc = AG_SVC_RECEIVE;
		op = GIT_RECEIVE;
	} else {
		http_reply_error(req, 404, "no such git endpoint \"%s\" (the "
		    "dumb protocol is not served)", rest);
		return;
	}
	/* Decided on the headers: a refused push costs no body. */
	if (!auth_allow(c, svc == AG_SVC_UPLOAD ? AG_OP_FETCH : AG_OP_PUSH, name)) {
		http_reply_error(req, 403, "%s may not %s %s", c->name,
		    svc == AG_SVC_UPLOAD ? "fetch from" : "push to", name);
		return;
	}
	if (op == GIT_ADV && svc == AG_SVC_UPLOAD && wants_v2(req)) {
		/* v2 advertises capabilities, not refs: nothing to look up. */
		if (repostate_find(name) == NULL &&
		    ag_repo_name_check(name, NULL) == 0) {
			char path[4096];
			FILE *f;

			ag_repo_path(path, sizeof path, augerd.repos, name);
			if ((f = fopen(path, "r")) == NULL) {
				http_reply_error(req, 404,
				    "repository \"%s\" not found", name);
				return;
			}
			fclose(f);
		}
		reply_v2_caps(req);
		return;
	}
	if (op == GIT_ADV && (st = repostate_find(name)) != NULL &&
	    (a = repostate_adv(st)) != NULL) {
		reply_adv(req, a, svc);		/* the hot path */
		return;
	}
	if (op != GIT_ADV) {
		snprintf(want_ct, sizeof want_ct, "application/x-%s-request",
		    ag_service_name(svc));
		ct = httpd_header(req, "Content-Type");
		if (ct != NULL && strcmp(ct, want_ct) != 0) {
			http_reply_error(req, 415, "Content-Type must be %s",
			    want_ct);
			return;
		}
	}
	if ((g = calloc(1, sizeof *g)) == NULL) {
		httpd_reply(req, 500, NULL);
		return;
	}
	g->job.run = gitjob_run;
	g->job.done = gitjob_done;
	g->job.class = op == GIT_UPLOAD ? JOB_PACK : op == GIT_RECEIVE ?
	    JOB_PUSH : JOB_API;
	g->job.repo = g->name;
	g->job.cancelled = gitjob_cancelled;
	g->op = op;
	g->svc = svc;
	g->v2 = svc == AG_SVC_UPLOAD && wants_v2(req);
	g->req = req;
	g->cred = *c;
	snprintf(g->name, sizeof g->name, "%s", name);
	if (op == GIT_ADV) {
		git_submit(g);
		return;
	}
	ce = httpd_header(req, "Content-Encoding");
	if (ce != NULL && (strcmp(ce, "gzip") == 0 ||
	    strcmp(ce, "x-gzip") == 0))
		g->gzip = 1;
	else if (ce != NULL && strcmp(ce, "identity") != 0) {
		free(g);
		http_reply_error(req, 415, "Content-Encoding %s is not "
		    "supported (gzip and identity are)", ce);
		return;
	}
	if (op == GIT_UPLOAD) {
		/* Small, and hashed whole for the fetch cache. */
		httpd_read_body(req, HTTP_MAX_UPLOAD_BODY, upload_body, g);
		return;
	}
	/* A push streams into the indexer; memory stays bounded. */
	if ((g->s = stream_new(req,
	    "application/x-git-receive-pack-result")) == NULL) {
		httpd_reply(req, 500, NULL);
		gitjob_free(g);
		return;
	}
	httpd_stream_body(req, augerd.max_push + (1 << 20));
	git_submit(g);
}

/* The API (/api/): its routes, run on workers, answered on the loop. */
/*
 * The route table: method, path (a trailing '*' takes one argument), the
 * least a credential's role must be able to do for the handler to have
 * anything to say (ag_access_role_may), checked on the request headers so
 * a forbidden request is refused before its body is read. The handler's
 * own check (may, auth_allow) still decides the request.
 */
static const struct route {
	enum ag_http1_method	 method;
	const char		*path;
	api_fn			 fn;
	enum ag_op		 least;
} routes[] = {
	{ AG_HTTP1_GET, "/api/repos", api_repos_list, AG_OP_FETCH },
	{ AG_HTTP1_POST, "/api/repos", api_repos_create, AG_OP_ADMIN },
	{ AG_HTTP1_GET, "/api/tokens", api_tokens_list, AG_OP_ADMIN },
	{ AG_HTTP1_POST, "/api/tokens", api_tokens_create, AG_OP_ADMIN },
	{ AG_HTTP1_DELETE, "/api/tokens/*", api_tokens_delete, AG_OP_ADMIN },
	{ AG_HTTP1_GET, "/api/keys", api_keys_list, AG_OP_ADMIN },
	{ AG_HTTP1_POST, "/api/keys", api_keys_create, AG_OP_ADMIN },
	{ AG_HTTP1_DELETE, "/api/keys/*", api_keys_delete, AG_OP_ADMIN },
	{ AG_HTTP1_GET, "/api/ssh", api_ssh_info, AG_OP_FETCH },
	{ AG_HTTP1_GET, "/api/envs", deploy_envs_list, AG_OP_FETCH },
	{ AG_HTTP1_POST, "/api/envs", deploy_envs_create, AG_OP_ADMIN },
	{ AG_HTTP1_POST, "/api/bootstrap", deploy_bootstrap, AG_OP_ADMIN },
	{ AG_HTTP1_POST, "/api/artifact", deploy_artifact_create, AG_OP_PUSH },
	{ AG_HTTP1_POST, "/api/artifacts", deploy_artifact_create, AG_OP_PUSH },
	{ AG_HTTP1_GET, "/api/artifacts", deploy_artifacts_list, AG_OP_FETCH },
	{ AG_HTTP1_GET, "/api/releases", deploy_releases_list, AG_OP_FETCH },
	{ AG_HTTP1_POST, "/api/releases", deploy_releases_create, AG_OP_PUSH },
	{ AG_HTTP1_GET, "/api/status", deploy_status, AG_OP_FETCH },
	{ AG_HTTP1_POST, "/api/rollback", deploy_rollback, AG_OP_PUSH },
	{ AG_HTTP1_POST, "/api/delete", deploy_delete, AG_OP_PUSH },
	/* Signed by Flux (HMAC, checked by the handler), no credential. */
	{ AG_HTTP1_POST, "/api/flux-events", deploy_flux_events, AG_OP_FETCH },
	/* Gimlet's client (pkg/client/client.go) */
	{ AG_HTTP1_GET, "/api/eventArtifactTrack", deploy_track_artifact,
	    AG_OP_FETCH },
	{ AG_HTTP1_GET, "/api/eventReleaseTrack", deploy_track_event,
	    AG_OP_FETCH },
	{ AG_HTTP1_GET, "/api/gitopsRepo", deploy_gitops_repo, AG_OP_FETCH },
	{ AG_HTTP1_GET, "/api/gitopsManifests/*", deploy_gitops_manifests,
	    AG_OP_FETCH },
	{ AG_HTTP1_GET, "/api/user", deploy_user, AG_OP_FETCH },
	{ AG_HTTP1_GET, "/api/users", deploy_users, AG_OP_ADMIN },
};

static const struct route *
http_route_find(enum ag_http1_method m, const char *path, const char **arg,
    int *path_known)
{
	size_t i, n;

	*path_known = 0;
	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const char *p = routes[i].path;

		n = strlen(p);
		if (p[n - 1] == '*') {
			if (strncmp(path, p, n - 1) != 0 || path[n - 1] == '\0' ||
			    strchr(path + n - 1, '/') != NULL)
				continue;
			*arg = path + n - 1;
		} else if (strcmp(path, p) != 0)
			continue;
		*path_known = 1;
		if (routes[i].method == m)
			return &routes[i];
	}
	return NULL;
}

/* The route of m on path, or NULL once a 404 or 405 is answered. */
static const struct route *
http_route_reply(struct httpd_req *req, enum ag_http1_method m,
    const char *path)
{
	const struct route *rt;
	const char *arg;
	int known = 0;

	if ((rt = http_route_find(m, path, &arg, &known)) != NULL)
		return rt;
	if (known)
		http_reply_error(req, 405, "method not allowed on %s", path);
	else
		http_reply_error(req, 404, "no API endpoint %s", path);
	return NULL;
}

/*
 * Writes to one env (deploy, rollback, delete) queue behind each other
 * instead of holding workers while they wait for the env's lock. The key
 * is the env, from the query string or the small JSON body.
 */
static int
http_serial_key(struct apijob *a, char *key, size_t keysz)
{
	const char *env;
	json_t *j = NULL;

	if (a->method != AG_HTTP1_POST ||
	    (strcmp(a->path, "/api/releases") != 0 &&
	    strcmp(a->path, "/api/rollback") != 0 &&
	    strcmp(a->path, "/api/delete") != 0))
		return 0;
	env = api_query(a, "env");
	if (env == NULL && a->bodylen > 0 && a->bodylen < 65536 &&
	    (j = json_loadb(a->body, a->bodylen, 0, NULL)) != NULL)
		env = json_string_value(json_object_get(j, "env"));
	if (env != NULL)
		snprintf(key, keysz, "env:%s", env);
	json_decref(j);
	return env != NULL;
}

static void
http_apijob_run(struct job *job, struct worker *w)
{
	struct apijob *a = (struct apijob *)job;
	const struct route *rt;
	const char *arg = NULL;
	int known;

	(void)w;
	rt = http_route_find(a->method, a->path, &arg, &known);
	rt->fn(a, arg);
}

/* The status a handler answered: its AG_E* code decides, if it set one. */
static int
apijob_status(const struct apijob *a)
{
	return a->code != 0 ? http_status_of(a->code) : a->status;
}

static void
http_apijob_done(struct job *job)
{
	struct apijob *a = (struct apijob *)job;

	a->status = apijob_status(a);
	if (a->status >= 400)
		http_reply_error(a->req, a->status, "%s", a->error);
	else
		http_reply_json(a->req, a->status, a->out);
	evhttp_clear_headers(&a->query);
	free(a->body);
	free(a);
}

static void
http_api_dispatch(struct httpd_req *req, const char *path,
    const struct cred *c)
{
	struct evbuffer *in = httpd_body(req);
	enum ag_http1_method m = httpd_method(req);
	const char *sig;
	struct apijob *a = NULL;
	size_t len = in != NULL ? evbuffer_get_length(in) : 0;
	char key[128];

	if (m == AG_HTTP1_HEAD)
		m = AG_HTTP1_GET;
	if (strlen(path) >= sizeof a->path ||
	    http_route_reply(req, m, path) == NULL)
		return;
	if (len > HTTP_MAX_API_BODY) {
		http_reply_error(req, 413, "API request bodies are limited to "
		    "%d bytes", HTTP_MAX_API_BODY);
		return;
	}
	if ((a = calloc(1, sizeof *a)) == NULL ||
	    (a->body = malloc(len + 1)) == NULL) {
		free(a);
		httpd_reply(req, 500, NULL);
		return;
	}
	a->query.tqh_first = NULL;	/* TAILQ_INIT */
	a->query.tqh_last = &a->query.tqh_first;
	if (httpd_query(req) != NULL &&
	    evhttp_parse_query_str(httpd_query(req), &a->query) < 0) {
		free(a->body);
		free(a);
		http_reply_error(req, 400, "malformed query string");
		return;
	}
	if (len > 0)
		evbuffer_remove(in, a->body, len);
	a->body[len] = '\0';
	a->bodylen = len;
	sig = httpd_header(req, "X-Signature");
	snprintf(a->signature, sizeof a->signature, "%s", sig ? sig : "");
	a->req = req;
	a->method = m;
	a->cred = *c;
	snprintf(a->path, sizeof a->path, "%s", path);
	a->job.run = http_apijob_run;
	a->job.done = http_apijob_done;
	if (http_serial_key(a, key, sizeof key) ? worker_submit_serial(&a->job,
	    key) < 0 : worker_submit(&a->job) < 0) {
		evhttp_clear_headers(&a->query);
		free(a->body);
		free(a);
		httpd_reply(req, 500, NULL);
	}
}

int
http_api_call(const struct cred *c, enum ag_http1_method m, const char *path,
    const char *query, const char *body, json_t **out, char *err,
    size_t errsz)
{
	const struct route *rt;
	const char *arg = NULL;
	struct apijob *a;
	int known, status;

	*out = NULL;
	if ((a = calloc(1, sizeof *a)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return 500;
	}
	a->query.tqh_first = NULL;
	a->query.tqh_last = &a->query.tqh_first;
	if (strlen(path) >= sizeof a->path ||
	    (rt = http_route_find(m, path, &arg, &known)) == NULL ||
	    (query != NULL && evhttp_parse_query_str(query, &a->query) < 0)) {
		snprintf(err, errsz, "no API call %s", path);
		free(a);
		return 404;
	}
	a->method = m;
	a->cred = *c;
	snprintf(a->path, sizeof a->path, "%s", path);
	a->body = (char *)(body != NULL ? body : "");
	a->bodylen = strlen(a->body);
	rt->fn(a, arg);
	status = apijob_status(a);
	if (status >= 400) {
		snprintf(err, errsz, "%s", a->error);
		json_decref(a->out);
	} else
		*out = a->out;
	evhttp_clear_headers(&a->query);
	free(a);
	return status;
}

/*
 * What the headers decide of an API request, before its body is read: an
 * unknown path or method, and a role that can never use the route (a read
 * token's POST /api/tokens costs no body). -1 when answered.
 */
static int
http_api_head_check(struct httpd_req *req, const char *path,
    const struct cred *c)
{
	enum ag_http1_method m = httpd_method(req);
	const struct route *rt;

	if (m == AG_HTTP1_HEAD)
		m = AG_HTTP1_GET;
	if ((rt = http_route_reply(req, m, path)) == NULL)
		return -1;
	if (auth_role_may(c, rt->least, path))
		return 0;
	http_reply_error(req, 403, "%s may not %s %s: it takes %s credential",
	    c->name, httpd_method_name(req), path, rt->least == AG_OP_ADMIN ?
	    "an admin" : "a deploy or admin");
	return -1;
}

/* The API body is all here. */
static void
api_body_done(struct httpd_req *req, void *arg)
{
	struct cred *c = arg;

	if (httpd_body_ok(req))
		http_api_dispatch(req, httpd_path(req), c);
	else
		httpd_reply(req, 400, NULL);
	free(c);
}

/*
 * ?access_token=<token> on an API path, as Gimlet's token.ParseRequest
 * takes it when there is no Authorization header: the same checks as a
 * Bearer token. The token is never logged (paths are logged without their
 * query). 0 and c filled, or -1; *ah stays NULL for the log line.
 */
static int
http_access_token(struct cred *c, struct httpd_req *req, const char *path)
{
	struct evkeyvalq q = { NULL, NULL };
	const char *t;
	int r = -1;

	if (strncmp(path, "/api/", 5) != 0 || httpd_query(req) == NULL)
		return -1;
	q.tqh_last = &q.tqh_first;
	if (evhttp_parse_query_str(httpd_query(req), &q) == 0 &&
	    (t = evhttp_find_header(&q, "access_token")) != NULL && *t != '\0')
		r = auth_token(c, t);
	evhttp_clear_headers(&q);
	return r < 0 ? -1 : 0;
}

static void
http_handle(struct httpd_req *req)
{
	const char *path = httpd_path(req), *rest, *ah;
	char name[AG_REPO_NAME_MAX + 1];
	struct cred c, *cp;

	if (path == NULL || *path == '\0')
		path = "/";
	/* /health is Gimlet's (pkg/dashboard/server/router.go). */
	if (strcmp(path, "/healthz") == 0 || strcmp(path, "/health") == 0) {
		http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
		return;
	}
	/* The dashboard signs in with a session of its own (ui.c). */
	if (ui_path(path)) {
		ui_handle(req);
		return;
	}
	memset(&c, 0, sizeof c);
	if (strcmp(path, "/api/flux-events") == 0) {
		/* Flux signs its events (HMAC, checked by the handler). */
		snprintf(c.name, sizeof c.name, "flux-events");
	} else if ((ah = httpd_header(req, "Authorization")) != NULL ?
	    auth_header(&c, ah) < 0 : http_access_token(&c, req, path) < 0) {
		/* Decided on the headers: the body is never read. */
		if (httpd_peer_may_log(req))
			log_info("%s http %s %s: 401 (%s)", httpd_peer(req),
			    httpd_method_name(req), path, ah == NULL ?
			    "no credential" : "unknown credential");
		http_reply_error(req, 401, "authentication required: use a "
		    "token as the password (Basic), as a Bearer token, or as "
		    "?access_token= on /api/");
		return;
	}
	if (strncmp(path, "/api/", 5) == 0) {
		if (http_api_head_check(req, path, &c) < 0)
			return;
		if ((cp = malloc(sizeof *cp)) == NULL) {
			httpd_reply(req, 500, NULL);
			return;
		}
		*cp = c;
		httpd_read_body(req, strcmp(path, "/api/flux-events") == 0 ?
		    HTTP_MAX_ANON_BODY : HTTP_MAX_API_BODY, api_body_done, cp);
		return;
	}
	if (ag_repo_split_path(path, name, sizeof name, &rest) < 0) {
		http_reply_error(req, 404, "no such path: git URLs look like "
		    "/<repo>.git, the API lives under /api/");
		return;
	}
	git_dispatch(req, name, rest, &c);
}

int
http_start(struct event_base *base, const char *hostport, char *bound,
    size_t boundsz)
{
	char dir[4200];

	/* Single-flight spools (unlinked files: nothing is left behind). */
	snprintf(dir, sizeof dir, "%s/cache", augerd.data);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		log_warn("cannot create %s: %s (builds in flight are shared "
		    "only once done)", dir, strerror(errno));
	return httpd_start(base, hostport, &augerd.http_limits, http_handle,
	    bound, boundsz);
}

void
http_close_listeners(void)
{
	httpd_close_listeners();
}

void
http_stop(void)
{
	httpd_stop();
}

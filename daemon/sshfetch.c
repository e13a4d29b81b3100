/*
 * SSH fetches through the fetch cache (see sshfetch.h).
 *
 * Over SSH, upload-pack is one stateful exchange, not one request per
 * round as over HTTP. What a cacheable exchange looks like is read ahead
 * of the engine: the wants section up to its flush, then one packet that
 * must be "done". Everything read ahead is replayed to ag_upload_v0 when
 * the exchange is not cacheable, so the engine sees the stream untouched.
 *
 * The git CLI, asked for a shallow clone, waits for the server's shallow
 * lines before it sends "done"; go-git sends its whole request at once.
 * So after a deepen request the "done" is looked for only if it is
 * already on its way (SSHFETCH_DONE_WAIT_MS), never waited for.
 *
 * A build for the cache is made whole in memory (at most
 * PACKCACHE_MAX_ENTRY) before its own client is sent a byte, so the
 * identical requests waiting on it are never held back by that client's
 * pace. A reply that grows past the limit is streamed from there on and
 * the waiters build their own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auger/cachekey.h"
#include "auger/pkt.h"
#include "auger/upload.h"
#include "packcache.h"
#include "sshfetch.h"

/* As much of a request as HTTP's cache considers (http.c cache_reply). */
#define SSHFETCH_PEEK_MAX	65536
#define SSHFETCH_DONE_WAIT_MS	10
/* A waiter gives up on a build in flight after this and builds its own. */
#define SSHFETCH_WAIT_SECS	300

/*
 * One exchange: the request read ahead of the engine (replayed to it),
 * and, for a build for the cache, the reply held whole until it is built.
 */
struct exch {
	unsigned char	 buf[SSHFETCH_PEEK_MAX];
	size_t		 len;		/* read ahead */
	size_t		 off;		/* replayed so far */
	struct ag_io	*under;
	int		 ended;		/* under said EOF */
	/* capture */
	struct flight	*f;
	unsigned char	*out;
	size_t		 outlen, outcap;
	int		 capture;
	int		 spilled;	/* too large to keep: streamed through */
};

/*
 * A build in flight for one key. The table and every flight are guarded
 * by mu; waiters sleep on cv (one for all: builds are few at a time).
 */
struct flight {
	unsigned char	 key[32];
	int		 done;		/* the leader is finished with it */
	int		 ok;		/* and left an entry in the cache */
	int		 refs;		/* the leader and each waiter */
	struct flight	*next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct flight *flights;

static ssize_t
exch_read(void *ctx, void *buf, size_t len)
{
	struct exch *p = ctx;
	size_t n = p->len - p->off;

	if (n == 0)
		return p->ended ? 0 : p->under->read(p->under->ctx, buf, len);
	if (n > len)
		n = len;
	memcpy(buf, p->buf + p->off, n);
	p->off += n;
	return (ssize_t)n;
}

static int
exch_flush(void *ctx)
{
	struct exch *p = ctx;

	return p->under->flush != NULL ? p->under->flush(p->under->ctx) : 0;
}

/* Reads until p holds want bytes: 0, or -1 at EOF, an error or the cap. */
static int
peek_fill(struct exch *p, size_t want)
{
	ssize_t n;

	if (want > sizeof p->buf)
		return -1;
	while (p->len < want) {
		n = p->under->read(p->under->ctx, p->buf + p->len,
		    want - p->len);
		if (n <= 0) {
			/* The engine meets the same end after the replay. */
			p->ended = n == 0;
			return -1;
		}
		p->len += (size_t)n;
	}
	return 0;
}

/*
 * Reads one packet ahead: its length (0 for a flush, 1 and 2 for the
 * other special packets, 4.. for data, its payload at *payload), or -1.
 */
static int
peek_pkt(struct exch *p, const unsigned char **payload)
{
	char hdr[5];
	size_t at = p->len;
	int n;

	if (peek_fill(p, at + 4) < 0)
		return -1;
	memcpy(hdr, p->buf + at, 4);
	hdr[4] = '\0';
	if ((n = ag_pkt_parse_len(hdr)) < 0 || n == 3)
		return -1;
	if (n >= 4 && peek_fill(p, at + (size_t)n) < 0)
		return -1;
	*payload = p->buf + at + 4;
	return n;
}

static int
starts(const unsigned char *p, int n, const char *word)
{
	size_t w = strlen(word);

	return n >= 4 && (size_t)(n - 4) >= w && memcmp(p, word, w) == 0;
}

/*
 * Reads the request ahead: 1 when it is wants (and shallow, deepen or
 * filter lines), a flush and "done", the shape an identical later request
 * can be answered for from the cache. 0 otherwise; all is replayed.
 */
static int
peek_request(struct exch *p, sshfetch_ready_fn ready)
{
	const unsigned char *pl;
	int n, lines = 0, deepen = 0;

	for (;;) {
		if ((n = peek_pkt(p, &pl)) < 0)
			return 0;
		if (n == 0)
			break;
		if (n < 4 || (lines == 0 && !starts(pl, n, "want ")))
			return 0;
		lines++;
		if (starts(pl, n, "deepen"))
			deepen = 1;
	}
	if (lines == 0)
		return 0;	/* a bare flush: nothing wanted */
	/* A shallow request's client may wait for our shallow lines. */
	if (deepen && ready(p->under->ctx, SSHFETCH_DONE_WAIT_MS) <= 0)
		return 0;
	if ((n = peek_pkt(p, &pl)) < 4)
		return 0;
	return (n == 8 && memcmp(pl, "done", 4) == 0) ||
	    (n == 9 && memcmp(pl, "done\n", 5) == 0);
}

static struct flight **
flight_slot(const unsigned char key[32])
{
	struct flight **fp;

	for (fp = &flights; *fp != NULL; fp = &(*fp)->next)
		if (memcmp((*fp)->key, key, 32) == 0)
			break;
	return fp;
}

/* The leader is done with f: it leaves the table, and the waiters wake. */
static void
flight_end(struct flight *f, int ok)
{
	struct flight **fp;

	pthread_mutex_lock(&mu);
	if (!f->done) {
		f->done = 1;
		f->ok = ok;
		for (fp = &flights; *fp != NULL; fp = &(*fp)->next)
			if (*fp == f) {
				*fp = f->next;
				break;
			}
		pthread_cond_broadcast(&cv);
	}
	pthread_mutex_unlock(&mu);
}

static void
flight_release(struct flight *f)
{
	int last;

	pthread_mutex_lock(&mu);
	last = --f->refs == 0;
	pthread_mutex_unlock(&mu);
	if (last)
		free(f);
}

/*
 * Joins the flight of key. NULL when the caller is to build: *lead is
 * then its new flight (NULL without memory for one, or after waiting too
 * long on another). Else the flight it waited on, ended; the caller
 * releases it.
 */
static struct flight *
flight_wait(const unsigned char key[32], struct flight **lead)
{
	struct flight **fp, *f;
	struct timespec until;
	int rc = 0;

	*lead = NULL;
	pthread_mutex_lock(&mu);
	if ((f = *(fp = flight_slot(key))) == NULL) {
		if ((f = calloc(1, sizeof *f)) != NULL) {
			memcpy(f->key, key, 32);
			f->refs = 1;
			*fp = f;
		}
		pthread_mutex_unlock(&mu);
		*lead = f;
		return NULL;
	}
	f->refs++;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SSHFETCH_WAIT_SECS;
	while (!f->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cv, &mu, &until);
	if (!f->done) {
		/* Too long: it builds alone (the leader still holds f). */
		f->refs--;
		pthread_mutex_unlock(&mu);
		return NULL;
	}
	pthread_mutex_unlock(&mu);
	return f;
}

/* The engine's writes: straight through, or held for the cache. */
static int
exch_write(void *ctx, const void *buf, size_t len)
{
	struct exch *x = ctx;
	unsigned char *nb;
	size_t cap;

	if (!x->capture || x->spilled)
		return x->under->write(x->under->ctx, buf, len);
	if (x->outlen + len > PACKCACHE_MAX_ENTRY) {
		/* Too large to keep: the waiters build their own now. */
		x->spilled = 1;
		if (x->f != NULL)
			flight_end(x->f, 0);
		if (x->outlen > 0 && x->under->write(x->under->ctx, x->out,
		    x->outlen) < 0)
			return -1;
		free(x->out);
		x->out = NULL;
		x->outlen = x->outcap = 0;
		return x->under->write(x->under->ctx, buf, len);
	}
	if (x->outlen + len > x->outcap) {
		cap = x->outcap ? x->outcap : 65536;
		while (cap < x->outlen + len)
			cap *= 2;
		if ((nb = realloc(x->out, cap)) == NULL)
			return -1;
		x->out = nb;
		x->outcap = cap;
	}
	memcpy(x->out + x->outlen, buf, len);
	x->outlen += len;
	return 0;
}

/* Sends an entry's bytes: the engine's result, as it was built. */
static int
serve_entry(struct ag_io *io, struct packcache_entry *e, size_t *bytes)
{
	const unsigned char *data = packcache_data(e, bytes);
	int rc = io->write(io->ctx, data, *bytes);

	packcache_unref(e);
	return rc;
}

/*
 * Runs the engine on the replayed request. With capture, the reply is
 * held, kept in the cache when whole and clean, and then sent.
 */
static int
run_engine(git_repository *repo, const struct ag_refs *refs, struct exch *x,
    const unsigned char *key, struct ag_err *err, int *kept)
{
	struct ag_io io = { exch_read, exch_write, exch_flush, x };
	struct ag_upload_opts o = { .stateless = 0 };
	int rc;

	*kept = 0;
	rc = ag_upload_v0(repo, refs, &io, &o, err);
	if (!x->capture || x->spilled)
		return rc;
	if (rc == 0 && err->code == 0 && x->outlen > 0) {
		packcache_put(key, x->out, x->outlen);
		*kept = 1;
	}
	/* The waiters go on while this client is sent its copy. */
	if (x->f != NULL)
		flight_end(x->f, *kept);
	if (x->outlen > 0 && x->under->write(x->under->ctx, x->out,
	    x->outlen) < 0 && rc == 0)
		rc = ag_err_set(err, AG_EIO, "client went away");
	return rc;
}

int
sshfetch_v0(git_repository *repo, const char *name,
    const struct ag_refs *refs, struct ag_io *io, sshfetch_ready_fn ready,
    struct ag_err *err, enum sshfetch_how *how, size_t *bytes)
{
	struct packcache_entry *e;
	struct flight *f, *lead;
	struct exch *x;
	unsigned char key[32];
	int rc, kept;

	*how = SSHFETCH_UNCACHED;
	*bytes = 0;
	if ((x = calloc(1, sizeof *x)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	x->under = io;
	if (!peek_request(x, ready)) {
		rc = run_engine(repo, refs, x, NULL, err, &kept);
		goto out;
	}
	ag_cachekey(key, name, refs->state, 0, x->buf, x->len);
	if ((e = packcache_get(key)) != NULL) {
		*how = SSHFETCH_HIT;
		rc = serve_entry(io, e, bytes);
		goto out;
	}
	if ((f = flight_wait(key, &lead)) != NULL) {
		e = f->ok ? packcache_get(key) : NULL;
		flight_release(f);
		if (e != NULL) {
			*how = SSHFETCH_SHARED;
			rc = serve_entry(io, e, bytes);
			goto out;
		}
		/* Failed, too large, or gone already: its own build. */
	}
	x->capture = 1;
	x->f = lead;
	rc = run_engine(repo, refs, x, key, err, &kept);
	if (lead != NULL) {
		flight_end(lead, kept);
		flight_release(lead);
	}
	if (kept) {
		*how = SSHFETCH_KEPT;
		*bytes = x->outlen;
	}
out:
	free(x->out);
	free(x);
	return rc;
}

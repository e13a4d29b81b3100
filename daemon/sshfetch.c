/*
 * SSH fetches through the fetch cache (see sshfetch.h).
 *
 * Over SSH, upload-pack is one stateful exchange, not one request per
 * round as over HTTP. Whether an exchange is a cacheable one is read
 * ahead of the engine (auger/peek.h), which is handed what was read.
 *
 * A build for the cache is made whole in memory (at most
 * PACKCACHE_MAX_ENTRY, and SSHFETCH_HELD_MAX for all builds at once)
 * before its own client is sent a byte, so the identical requests waiting
 * on it are never held back by that client's pace. A reply that grows
 * past either limit is streamed from there on and the waiters build their
 * own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auger/cachekey.h"
#include "auger/peek.h"
#include "auger/upload.h"
#include "packcache.h"
#include "sshfetch.h"

/* A waiter gives up on a build in flight after this and builds its own. */
#define SSHFETCH_WAIT_SECS	300

/*
 * One exchange: the request read ahead of the engine (handed back to
 * it), and, for a build for the cache, the reply held whole until built.
 */
struct exch {
	struct ag_peek	 in;
	struct ag_io	*under;
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
	struct exch *x = ctx;

	return ag_peek_read(&x->in, buf, len);
}

static int
exch_flush(void *ctx)
{
	struct exch *x = ctx;

	return x->under->flush != NULL ? x->under->flush(x->under->ctx) : 0;
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

/* The bytes every leader holds at once: past it, replies stream. */
#define SSHFETCH_HELD_MAX	PACKCACHE_MAX_TOTAL

static _Atomic size_t held;

/* Lets x's held reply go (and its part of the budget). */
static void
exch_let_go(struct exch *x)
{
	atomic_fetch_sub(&held, x->outcap);
	free(x->out);
	x->out = NULL;
	x->outlen = x->outcap = 0;
}

/*
 * Not to be kept (too large, or the budget is spent): the waiters build
 * their own now, and what was held goes out, then the rest streams.
 */
static int
exch_spill(struct exch *x)
{
	int rc = 0;

	x->spilled = 1;
	if (x->f != NULL)
		flight_end(x->f, 0);
	if (x->outlen > 0)
		rc = x->under->write(x->under->ctx, x->out, x->outlen);
	exch_let_go(x);
	return rc;
}

/* The engine's writes: straight through, or held for the cache. */
static int
exch_write(void *ctx, const void *buf, size_t len)
{
	struct exch *x = ctx;
	unsigned char *nb;
	size_t cap;

	if (x->capture && !x->spilled && x->outlen + len > x->outcap) {
		cap = x->outcap ? x->outcap : 65536;
		while (cap < x->outlen + len)
			cap *= 2;
		if (x->outlen + len > PACKCACHE_MAX_ENTRY ||
		    atomic_fetch_add(&held, cap - x->outcap) + cap -
		    x->outcap > SSHFETCH_HELD_MAX) {
			if (x->outlen + len <= PACKCACHE_MAX_ENTRY)
				atomic_fetch_sub(&held, cap - x->outcap);
			if (exch_spill(x) < 0)
				return -1;
		} else if ((nb = realloc(x->out, cap)) == NULL) {
			atomic_fetch_sub(&held, cap - x->outcap);
			if (exch_spill(x) < 0)
				return -1;
		} else {
			x->out = nb;
			x->outcap = cap;
		}
	}
	if (!x->capture || x->spilled)
		return x->under->write(x->under->ctx, buf, len);
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
 * Runs the engine on the replayed request: v0's whole exchange, or one v2
 * command (with stateless, which the read-ahead ended after it). With
 * capture, the reply is held, kept in the cache when whole and clean, and
 * then sent.
 */
static int
run_engine(git_repository *repo, const struct ag_refs *refs, struct exch *x,
    int v2, int stateless, const unsigned char *key, struct ag_err *err,
    int *kept)
{
	struct ag_io io = { exch_read, exch_write, exch_flush, x };
	struct ag_upload_opts o = { .stateless = stateless };
	int rc;

	*kept = 0;
	rc = v2 ? ag_upload_v2(repo, refs, &io, &o, err) :
	    ag_upload_v0(repo, refs, &io, &o, err);
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

/*
 * Answers the cacheable request read ahead into x: from the cache, from
 * an identical build in flight, or from its own build, kept.
 */
static int
serve_cacheable(git_repository *repo, const char *name,
    const struct ag_refs *refs, struct exch *x, int v2, struct ag_err *err,
    enum sshfetch_how *how, size_t *bytes)
{
	struct packcache_entry *e;
	struct flight *f, *lead;
	unsigned char key[32];
	int rc, kept;

	ag_cachekey(key, name, refs->state, v2, x->in.buf, x->in.len);
	if ((e = packcache_get(key)) != NULL) {
		*how = SSHFETCH_HIT;
		return serve_entry(x->under, e, bytes);
	}
	if ((f = flight_wait(key, &lead)) != NULL) {
		e = f->ok ? packcache_get(key) : NULL;
		flight_release(f);
		if (e != NULL) {
			*how = SSHFETCH_SHARED;
			return serve_entry(x->under, e, bytes);
		}
		/* Failed, too large, or gone already: its own build. */
	}
	x->capture = 1;
	x->spilled = 0;
	x->f = lead;
	rc = run_engine(repo, refs, x, v2, 1, key, err, &kept);
	if (lead != NULL) {
		flight_end(lead, kept);
		flight_release(lead);
	}
	if (kept) {
		*how = SSHFETCH_KEPT;
		*bytes = x->outlen;
	}
	exch_let_go(x);
	x->capture = 0;
	x->f = NULL;
	return rc;
}

static struct exch *
exch_new(struct ag_io *io)
{
	struct exch *x = calloc(1, sizeof *x);

	if (x != NULL) {
		x->under = io;
		ag_peek_init(&x->in, io);
	}
	return x;
}

static void
exch_free(struct exch *x)
{
	exch_let_go(x);
	free(x);
}

int
sshfetch_v0(git_repository *repo, const char *name,
    const struct ag_refs *refs, struct ag_io *io, ag_peek_ready_fn ready,
    struct ag_err *err, enum sshfetch_how *how, size_t *bytes)
{
	struct exch *x;
	int rc, kept;

	*how = SSHFETCH_UNCACHED;
	*bytes = 0;
	if ((x = exch_new(io)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	if (ag_peek_request(&x->in, ready))
		rc = serve_cacheable(repo, name, refs, x, 0, err, how, bytes);
	else
		rc = run_engine(repo, refs, x, 0, 0, NULL, err, &kept);
	exch_free(x);
	return rc;
}

int
sshfetch_v2(git_repository *repo, const char *name,
    const struct ag_refs *refs, struct ag_io *io, struct ag_err *err,
    enum sshfetch_how *how, size_t *bytes)
{
	struct exch *x;
	int rc = 0, fetch, kept, got;

	*how = SSHFETCH_UNCACHED;
	*bytes = 0;
	if ((x = exch_new(io)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	while (rc == 0 && err->code == 0 &&
	    (got = ag_peek_command(&x->in, &fetch)) != 0) {
		if (got < 0) {
			/* The engine takes it from here, and reports. */
			rc = run_engine(repo, refs, x, 1, 0, NULL, err, &kept);
			break;
		}
		if (fetch) {
			*how = SSHFETCH_UNCACHED;
			*bytes = 0;
			rc = serve_cacheable(repo, name, refs, x, 1, err, how,
			    bytes);
		} else
			rc = run_engine(repo, refs, x, 1, 1, NULL, err, &kept);
	}
	exch_free(x);
	return rc;
}

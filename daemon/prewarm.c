/*
 * Pre-warming the fetch cache (see prewarm.h). When refs move, on the
 * worker that moved them and before the new advertisement is installed,
 * the reply to each request shape Flux's go-git sends for a depth-1 clone
 * is built for the tips of HEAD's branch and the first few other
 * branches, exactly as a client's request would be answered (ag_upload_v0,
 * stateless), and stored under the same key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auger/cachekey.h"
#include "auger/upload.h"
#include "augerd.h"
#include "log.h"
#include "packcache.h"
#include "prewarm.h"

#define PREWARM_BRANCHES	64	/* most --prewarm allows */
/*
 * Larger replies are not built ahead: a gitops tip is small, and a large
 * one would push what clients asked for out of the cache.
 */
#define PREWARM_MAX_REPLY	(4UL * 1024 * 1024)

/*
 * Flux clones a branch with go-git, depth 1 and no tags: it asks for
 * side-band-64k, ofs-delta, shallow and no-progress (go-git 5.4 filters
 * multi_ack out of what it takes; other versions keep multi_ack_detailed).
 * The order and the agent do not matter: the cache key sorts and drops.
 */
static const char *const shapes[] = {
	"side-band-64k ofs-delta shallow no-progress",
	"multi_ack_detailed side-band-64k ofs-delta shallow no-progress",
};
#define NSHAPES	(sizeof shapes / sizeof shapes[0])

/* The io of one pre-warm exchange: the request in, the reply out. */
struct warm_io {
	const char	*req;
	size_t		 reqlen, off;
	unsigned char	*out;
	size_t		 len, cap;
};

static ssize_t
warm_read(void *ctx, void *buf, size_t len)
{
	struct warm_io *w = ctx;
	size_t n = w->reqlen - w->off < len ? w->reqlen - w->off : len;

	memcpy(buf, w->req + w->off, n);
	w->off += n;
	return (ssize_t)n;
}

/* A reply larger than pre-warm keeps stops here. */
static int
warm_write(void *ctx, const void *buf, size_t len)
{
	struct warm_io *w = ctx;
	unsigned char *np;

	if (w->len + len > PREWARM_MAX_REPLY)
		return -1;
	if (w->len + len > w->cap) {
		size_t cap = w->cap ? w->cap : 65536;

		while (cap < w->len + len)
			cap *= 2;
		if ((np = realloc(w->out, cap)) == NULL)
			return -1;
		w->out = np;
		w->cap = cap;
	}
	memcpy(w->out + w->len, buf, len);
	w->len += len;
	return 0;
}

static size_t
put_pkt(char *out, size_t cap, size_t at, const char *line)
{
	size_t n = strlen(line);

	if (n < 0xfff0 && at + n + 4 <= cap) {
		char hex[8];

		snprintf(hex, sizeof hex, "%04x", (unsigned)(n + 4));
		memcpy(out + at, hex, 4);
		memcpy(out + at + 4, line, n);
	}
	return at + n + 4;
}

/* Builds and stores the reply to one shape for tip: 1 built, 0 had. */
static int
warm_one(git_repository *repo, const char *name, const struct ag_refs *refs,
    const git_oid *tip, const char *caps)
{
	char body[512], line[256], hex[GIT_OID_HEXSZ + 1];
	unsigned char key[32];
	struct packcache_entry *e;
	struct ag_upload_opts o = { .stateless = 1 };
	struct warm_io w;
	struct ag_io io;
	struct ag_err err = { 0, "" };
	size_t len = 0;
	int rc;

	git_oid_tostr(hex, sizeof hex, tip);
	snprintf(line, sizeof line, "want %s %s agent=go-git/5\n", hex, caps);
	len = put_pkt(body, sizeof body, len, line);
	len = put_pkt(body, sizeof body, len, "deepen 1\n");
	if (len + 4 > sizeof body)
		return -1;
	memcpy(body + len, "0000", 4);
	len += 4;
	len = put_pkt(body, sizeof body, len, "done\n");
	if (len > sizeof body)
		return -1;
	ag_cachekey(key, name, refs->state, 0, (unsigned char *)body, len);
	if ((e = packcache_get(key)) != NULL) {
		packcache_unref(e);
		return 0;
	}
	memset(&w, 0, sizeof w);
	w.req = body;
	w.reqlen = len;
	io.read = warm_read;
	io.write = warm_write;
	io.flush = NULL;
	io.ctx = &w;
	rc = ag_upload_v0(repo, refs, &io, &o, &err);
	if (rc == 0 && err.code == 0)
		packcache_put(key, w.out, w.len);
	free(w.out);
	return rc == 0 && err.code == 0 ? 1 : -1;
}

/* The branches to warm: HEAD's first, then the others in name order. */
static size_t
pick_tips(const struct ag_refs *refs, const git_oid **tips, size_t max)
{
	const struct ag_ref *h = refs->head_target != NULL ?
	    ag_refs_find(refs, refs->head_target) : NULL;
	size_t n = 0, i, k;

	if (h != NULL)
		tips[n++] = &h->oid;
	for (i = 0; i < refs->n && n < max; i++) {
		const struct ag_ref *r = &refs->v[i];

		if (r == h || strncmp(r->name, "refs/heads/", 11) != 0)
			continue;
		for (k = 0; k < n; k++)
			if (git_oid_equal(tips[k], &r->oid))
				break;
		if (k == n)
			tips[n++] = &r->oid;
	}
	return n;
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

void
prewarm_now(git_repository *repo, const char *name, const struct ag_refs *refs)
{
	const git_oid *tips[PREWARM_BRANCHES];
	struct timespec t0;
	size_t n, i, k;
	int r, built = 0, had = 0, failed = 0;

	if (augerd.prewarm <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = pick_tips(refs, tips, (size_t)augerd.prewarm);
	for (i = 0; i < n; i++)
		for (k = 0; k < NSHAPES; k++) {
			r = warm_one(repo, name, refs, tips[i], shapes[k]);
			if (r > 0)
				built++;
			else if (r == 0)
				had++;
			else
				failed++;
		}
	if (built > 0 || failed > 0)
		log_info("prewarm %s: %d depth-1 replies built for the new "
		    "tips, %d cached already, %d not kept (over 4 MiB, or "
		    "failed), %.1f ms", name, built, had, failed,
		    ms_since(&t0));
}

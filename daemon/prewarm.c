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
#include "auger/io.h"
#include "auger/pkt.h"
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

/*
 * The io of one pre-warm exchange: the request read from memory, the
 * reply written to memory (the project's ag_io_mem and ag_io_buf), the
 * reply bounded by what pre-warm keeps.
 */
struct warm_io {
	struct ag_io		in, out;
	struct ag_io_mem	req;
	struct ag_io_buf	reply;
};

static ssize_t
warm_read(void *ctx, void *buf, size_t len)
{
	struct warm_io *w = ctx;

	return w->in.read(w->in.ctx, buf, len);
}

/* A reply larger than pre-warm keeps stops here. */
static int
warm_write(void *ctx, const void *buf, size_t len)
{
	struct warm_io *w = ctx;

	if (w->reply.len + len > PREWARM_MAX_REPLY)
		return -1;
	return w->out.write(w->out.ctx, buf, len);
}

/* Flux's depth-1 request for tip with caps, as go-git frames it. */
static int
flux_request(struct ag_io_buf *body, const git_oid *tip, const char *caps)
{
	struct ag_pkt_writer *pw;
	struct ag_io io;
	char hex[GIT_OID_HEXSZ + 1];
	int r;

	if ((pw = malloc(sizeof *pw)) == NULL)
		return -1;
	ag_io_buf_init(&io, body);
	ag_pkt_writer_init(pw, &io);
	git_oid_tostr(hex, sizeof hex, tip);
	r = ag_pkt_printf(pw, "want %s %s agent=go-git/5\n", hex, caps) < 0 ||
	    ag_pkt_printf(pw, "deepen 1\n") < 0 || ag_pkt_flush(pw) < 0 ||
	    ag_pkt_printf(pw, "done\n") < 0 || ag_pkt_push(pw) < 0 ? -1 : 0;
	free(pw);
	return r;
}

/* Builds and stores the reply to one shape for tip: 1 built, 0 had. */
static int
warm_one(git_repository *repo, const char *name, const struct ag_refs *refs,
    const git_oid *tip, const char *caps)
{
	unsigned char key[32];
	struct packcache_entry *e;
	struct ag_upload_opts o = { .stateless = 1 };
	struct ag_io_buf body;
	struct warm_io w;
	struct ag_io io;
	struct ag_err err = { 0, "" };
	int rc = -1;

	memset(&body, 0, sizeof body);
	if (flux_request(&body, tip, caps) < 0)
		goto out;
	ag_cachekey(key, name, refs->state, 0, (unsigned char *)body.p,
	    body.len);
	if ((e = packcache_get(key)) != NULL) {
		packcache_unref(e);
		rc = 0;
		goto out;
	}
	ag_io_mem_init(&w.in, &w.req, body.p, body.len);
	ag_io_buf_init(&w.out, &w.reply);
	io.read = warm_read;
	io.write = warm_write;
	io.flush = NULL;
	io.ctx = &w;
	if (ag_upload_v0(repo, refs, &io, &o, &err) == 0 && err.code == 0) {
		packcache_put(key, (unsigned char *)w.reply.p, w.reply.len);
		rc = 1;
	}
	free(w.reply.p);
out:
	free(body.p);
	return rc;
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

/*
 * SSH fetches through the fetch cache, with a single flight. A protocol v0
 * request that sends its wants and then "done" without haves (a clone,
 * Flux's fetch of a new revision), or a v2 fetch command of that shape, is
 * the same bytes an HTTP client POSTs,
 * keyed the same way (auger/cachekey.h): SSH and HTTP clients, and the
 * pre-warm, share one entry. Identical requests over SSH at the same time
 * share one build. Session threads only: this blocks.
 */
#ifndef DAEMON_SSHFETCH_H
#define DAEMON_SSHFETCH_H

#include <stddef.h>

#include <git2.h>

#include "auger/err.h"
#include "auger/io.h"
#include "auger/peek.h"
#include "auger/refs.h"

/* How an exchange was answered, for the access log. */
enum sshfetch_how {
	SSHFETCH_UNCACHED,	/* negotiated (haves), or not a cacheable shape */
	SSHFETCH_HIT,		/* from the fetch cache */
	SSHFETCH_SHARED,	/* waited for an identical build in flight */
	SSHFETCH_KEPT		/* built here and kept for the next */
};


/*
 * Serves one v0 upload-pack exchange after the advertisement, as
 * ag_upload_v0 does, from the cache when it can. *how and *bytes (the
 * reply's size when it was whole in memory) say how.
 */
int	sshfetch_v0(git_repository *repo, const char *name,
	    const struct ag_refs *refs, struct ag_io *io,
	    ag_peek_ready_fn ready, struct ag_err *err,
	    enum sshfetch_how *how, size_t *bytes);

/*
 * Serves protocol v2 commands after the capability advertisement until
 * the client ends, as ag_upload_v2 does, each command read ahead whole: a
 * fetch with "done" and no haves (a clone's) goes through the cache, keyed
 * as the same request POSTed over HTTP is. *how and *bytes tell of the
 * last fetch.
 */
int	sshfetch_v2(git_repository *repo, const char *name,
	    const struct ag_refs *refs, struct ag_io *io, struct ag_err *err,
	    enum sshfetch_how *how, size_t *bytes);

#endif

/*
 * Repository maintenance: one pack of everything reachable, written with
 * offset deltas and swapped in beside the old packs; the old packs and
 * loose objects are listed as garbage and removed only after a grace
 * period, and only if every ref is still whole without them, so readers
 * in flight keep working. A maintained pack also knows the ref tips it
 * was built from, so a fetch that wants exactly those tips (a full
 * clone) can be answered with the pack file itself.
 */
#ifndef AUGER_MAINTAIN_H
#define AUGER_MAINTAIN_H

#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "auger/err.h"

#define AG_MAINTAIN_MAX_PACKS	16	/* more packs than this: repack */
#define AG_MAINTAIN_MAX_LOOSE	1024	/* more loose objects: repack */
#define AG_MAINTAIN_GRACE	300	/* seconds garbage is kept */
#define AG_MAINTAIN_MAX_TIPS	65536	/* ref tips a pack records */

struct ag_maintain_stats {
	size_t		packs;		/* packs before */
	size_t		loose;		/* loose objects before */
	size_t		objects;	/* in the new pack */
	uint64_t	bytes;		/* of the new pack */
	size_t		removed_packs;
	size_t		removed_loose;
	char		pack[64];	/* "pack-<hash>" written, or "" */
};

/* Counts packs and loose objects of the repository at path. */
int	ag_maintain_count(const char *repo_path, size_t *packs,
	    size_t *loose);

/*
 * Writes one pack of every object reachable from the refs (threads for
 * the delta search), with offset deltas, into objects/pack, and lists
 * the packs and loose objects that were there before as garbage
 * (objects/info/auger-garbage). Nothing is removed here.
 */
int	ag_maintain_repack(git_repository *repo, int threads,
	    struct ag_maintain_stats *st, struct ag_err *err);

/*
 * Removes the listed garbage once it is grace seconds old, if every ref
 * is connected without it (else it stays, and 1 is returned: repack
 * again). The caller holds what keeps refs and pushes still (the ref
 * lock, and the prune lock that receive-pack takes for reading).
 * Returns 0 (done, or nothing due yet), 1, or an error.
 */
int	ag_maintain_prune(git_repository *repo, int grace,
	    struct ag_maintain_stats *st, struct ag_err *err);

/*
 * A maintained pack holding exactly what wants reach: wants must be the
 * very ref tips the pack was built from. 1 and the .pack path in path,
 * 0 if there is none.
 */
int	ag_maintain_covering_pack(char *path, size_t pathsz,
	    git_repository *repo, const git_oid *wants, size_t nwants);

#endif

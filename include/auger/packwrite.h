/*
 * A pack written from what the repository already stores. Each object is
 * copied as its pack holds it (compressed bytes, checked against the
 * index's CRC), a stored delta is kept when its base goes into the same
 * pack, and only the rest (loose objects, deltas whose base is left out)
 * is read whole and compressed again. No delta search: that is the work
 * git's upload-pack skips by reusing, and what made every clone pay for
 * libgit2's packbuilder searching from scratch.
 */
#ifndef AUGER_PACKWRITE_H
#define AUGER_PACKWRITE_H

#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "auger/err.h"

/* The objects of a pack, in the order they should go (bases move first). */
struct ag_packlist {
	git_oid		*id;
	git_object_t	*type;
	size_t		 n, cap;
};

struct ag_packwrite_stats {
	size_t	objects;	/* entries written */
	size_t	reused;		/* copied as stored (whole or delta) */
	size_t	deltas;		/* of those, deltas */
	size_t	inflated;	/* read whole and compressed again */
	uint64_t bytes;		/* pack size, trailer included */
};

struct ag_oidset;

struct ag_packwrite_opts {
	int	ofs_delta;	/* deltas by offset (else by base id) */
	/*
	 * Objects the client has (NULL: none): a stored delta against one
	 * of them goes out as it is, by the base's id (a thin pack).
	 */
	const struct ag_oidset *thin_bases;
	/* Receives the pack in pieces; non-zero stops the write. */
	int	(*sink)(void *buf, size_t len, void *arg);
	/* Called every few hundred objects; non-zero stops (a client gone). */
	int	(*progress)(int stage, uint32_t cur, uint32_t total, void *arg);
	void	*arg;
};

void	ag_packlist_init(struct ag_packlist *l);
void	ag_packlist_free(struct ag_packlist *l);
int	ag_packlist_add(struct ag_packlist *l, const git_oid *id,
	    git_object_t type);

/*
 * Writes the pack of list's objects (each exactly once: the caller
 * de-duplicates). Returns 0, or a negative AG_E* with err set; AG_EIO
 * when the sink or progress stopped it.
 */
int	ag_packwrite(git_repository *repo, const struct ag_packlist *list,
	    const struct ag_packwrite_opts *o, struct ag_packwrite_stats *st,
	    struct ag_err *err);

#endif

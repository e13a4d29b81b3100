/*
 * A streaming scanner of a pack stream (gitformat-pack): finds where the
 * pack ends (header count, the objects, the SHA-1 trailer) so that
 * receive-pack stops reading there rather than at end of input, refuses a
 * header whose object count is over a limit before anything is allocated,
 * and refuses any object whose inflated size (a delta's result size) is
 * over a limit. It only parses: the caller still hands the bytes to
 * git_indexer. Memory use is constant whatever the pack.
 */
#ifndef AUGER_PACKSCAN_H
#define AUGER_PACKSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "auger/err.h"

/* 0 in a field: no limit. */
struct ag_packscan_limits {
	uint64_t	max_objects;	/* objects the header may claim */
	uint64_t	max_blob;	/* inflated size of one object */
};

struct ag_packscan;

/* lim NULL: no limits. */
int	ag_packscan_new(struct ag_packscan **out,
	    const struct ag_packscan_limits *lim);
void	ag_packscan_free(struct ag_packscan *s);	/* accepts NULL */

/*
 * Consumes bytes of the pack stream. Returns how many of len bytes belong
 * to the pack (< len only when the pack ended inside buf; 0 once it has
 * ended), or a negative AG_E* with err set: AG_EINVAL for a malformed
 * pack ("pack header: ...", "object 12 at offset 3456: ...", objects
 * counted from 1), AG_ETOOBIG for a count over max_objects or an object
 * over max_blob. Errors stick: later calls return the same one.
 */
ssize_t	ag_packscan_feed(struct ag_packscan *s, const void *buf, size_t len,
	    struct ag_err *err);
/* The trailer was read and verified. */
int	ag_packscan_done(const struct ag_packscan *s);
/* Objects declared in the header, once known (0 before). */
uint32_t ag_packscan_count(const struct ag_packscan *s);

/*
 * At end of input: 0 when the pack is complete, else AG_EINVAL saying
 * where it was cut ("pack truncated inside object 3 of 5 ..."), or the
 * error feed returned.
 */
int	ag_packscan_end(const struct ag_packscan *s, struct ag_err *err);
/* Bytes of the pack consumed so far (after an error: where it stopped). */
uint64_t ag_packscan_offset(const struct ag_packscan *s);
/* Objects of each pack type (1 commit ... 7 ref-delta) seen so far. */
uint32_t ag_packscan_type_count(const struct ag_packscan *s, int type);

#endif

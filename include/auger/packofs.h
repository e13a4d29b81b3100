/*
 * Rewrites a pack's REF_DELTA entries as OFS_DELTA. libgit2's packbuilder
 * writes only REF_DELTA; go-git (inside Flux) resolves a REF_DELTA only
 * when its base is a whole object, so a delta whose base is another delta
 * fails there ("reference delta not found"). With offsets every client
 * can follow the chain. Bases are always written before their deltas.
 */
#ifndef AUGER_PACKOFS_H
#define AUGER_PACKOFS_H

#include <stddef.h>

#include <git2.h>

#include "auger/err.h"

/*
 * Reads the pack in[0..inlen) and writes the rewritten pack (new trailer
 * checksum) into a malloc'd *out. Object ids are computed as the pack is
 * read (delta targets by applying the delta to their base).
 */
int	ag_packofs(unsigned char **out, size_t *outlen, const unsigned char *in,
	    size_t inlen, struct ag_err *err);

#endif

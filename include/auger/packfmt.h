/*
 * The pack format's entries (git's Documentation/gitformat-pack): their
 * types, and the entry header every pack reader and writer here shares.
 */
#ifndef AUGER_PACKFMT_H
#define AUGER_PACKFMT_H

#include <stddef.h>
#include <stdint.h>

#define OBJ_COMMIT	1
#define OBJ_TREE	2
#define OBJ_BLOB	3
#define OBJ_TAG		4
#define OBJ_OFS_DELTA	6
#define OBJ_REF_DELTA	7

/* The longest header: type and a 64-bit size, a 64-bit offset or an id. */
#define AG_PACK_HEAD_MAX	(10 + 20)

/* What an entry header says. */
struct ag_pack_head {
	int			 type;		/* OBJ_* */
	uint64_t		 size;		/* inflated (of the delta) */
	uint64_t		 ofs;		/* OFS_DELTA: distance back */
	const unsigned char	*base_id;	/* REF_DELTA: 20 bytes, in p */
};

/*
 * Reads the entry header at p[0..n): the header's length (the deflated
 * data follows), or -1 when it runs past n, names no type, has a size
 * past 64 bits, or an OFS_DELTA distance of 0 or past 64 bits. Whether
 * the distance stays inside the pack is the caller's to check.
 */
int	ag_pack_head_read(const unsigned char *p, size_t n,
	    struct ag_pack_head *h);
/*
 * Writes an entry header into out: type and size, then for OFS_DELTA the
 * distance ofs and for REF_DELTA the 20 bytes at base_id. Its length.
 */
size_t	ag_pack_head_put(unsigned char out[AG_PACK_HEAD_MAX], int type,
	    uint64_t size, uint64_t ofs, const unsigned char *base_id);

#endif

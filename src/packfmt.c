/* Pack entry headers (see packfmt.h). */
#include <string.h>

#include "auger/packfmt.h"

int
ag_pack_head_read(const unsigned char *p, size_t n, struct ag_pack_head *h)
{
	size_t i = 0;
	unsigned shift = 4, c;

	if (n == 0)
		return -1;
	c = p[i++];
	h->type = (int)(c >> 4 & 7);
	h->size = c & 15;
	h->ofs = 0;
	h->base_id = NULL;
	while (c & 0x80) {
		/* Seven more bits must still fit in 64. */
		if (i >= n || shift > 57)
			return -1;
		c = p[i++];
		h->size |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	}
	switch (h->type) {
	case OBJ_COMMIT:
	case OBJ_TREE:
	case OBJ_BLOB:
	case OBJ_TAG:
		break;
	case OBJ_OFS_DELTA:
		/* Big-endian, with one added per byte after the first. */
		if (i >= n)
			return -1;
		c = p[i++];
		h->ofs = c & 0x7f;
		while (c & 0x80) {
			if (i >= n || h->ofs >= (UINT64_MAX >> 8))
				return -1;
			c = p[i++];
			h->ofs = ((h->ofs + 1) << 7) | (c & 0x7f);
		}
		if (h->ofs == 0)
			return -1;
		break;
	case OBJ_REF_DELTA:
		if (n - i < 20)
			return -1;
		h->base_id = p + i;
		i += 20;
		break;
	default:
		return -1;
	}
	return (int)i;
}

size_t
ag_pack_head_put(unsigned char out[AG_PACK_HEAD_MAX], int type,
    uint64_t size, uint64_t ofs, const unsigned char *base_id)
{
	unsigned char c = (unsigned char)(type << 4 | (size & 15)), o[10];
	size_t n = 0, pos = sizeof o - 1;

	size >>= 4;
	while (size) {
		out[n++] = c | 0x80;
		c = size & 0x7f;
		size >>= 7;
	}
	out[n++] = c;
	if (type == OBJ_OFS_DELTA) {
		o[pos] = ofs & 0x7f;
		while (ofs >>= 7)
			o[--pos] = 0x80 | (--ofs & 0x7f);
		memcpy(out + n, o + pos, sizeof o - pos);
		n += sizeof o - pos;
	} else if (type == OBJ_REF_DELTA) {
		memcpy(out + n, base_id, 20);
		n += 20;
	}
	return n;
}

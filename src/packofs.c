/*
 * REF_DELTA to OFS_DELTA, for clients that need offsets (go-git). One pass:
 * each entry is inflated to learn its id (whole objects are hashed, deltas
 * applied to their base, which precedes them), and REF_DELTA headers whose
 * base is in the pack are rewritten with the base's new offset.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "auger/io.h"
#include "auger/oidset.h"
#include "auger/packfmt.h"
#include "auger/packofs.h"

#define PACK_MAX_OBJECT	(512UL * 1024 * 1024)

/* What we keep of each entry: where it went, its type and content. */
struct entry {
	size_t		 out_off;
	int		 type;		/* the resolved object type */
	unsigned char	*data;		/* content, kept while it may be a base */
	size_t		 len;
};

/* The rewritten pack grows in an ag_io_buf; put appends to it. */
struct buf {
	struct ag_io		 io;
	struct ag_io_buf	 b;
};

static int
put(struct buf *b, const void *d, size_t n)
{
	return b->io.write(b->io.ctx, d, n);
}

/* Inflates exactly want bytes from in; *used: compressed bytes consumed. */
static unsigned char *
inflate_entry(const unsigned char *in, size_t avail, size_t want,
    size_t *used)
{
	z_stream z;
	unsigned char *out;
	int rc;

	if (want > PACK_MAX_OBJECT || (out = malloc(want ? want : 1)) == NULL)
		return NULL;
	memset(&z, 0, sizeof z);
	if (inflateInit(&z) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (unsigned char *)in;
	z.avail_in = avail > UINT32_MAX ? UINT32_MAX : (uInt)avail;
	z.next_out = out;
	z.avail_out = (uInt)want;
	rc = inflate(&z, Z_FINISH);
	if (rc != Z_STREAM_END || z.total_out != want) {
		inflateEnd(&z);
		free(out);
		return NULL;
	}
	*used = z.total_in;
	inflateEnd(&z);
	return out;
}

static int
delta_varint(const unsigned char **p, const unsigned char *end, size_t *v)
{
	size_t r = 0;
	int shift = 0;
	unsigned char c;

	do {
		if (*p >= end || shift > 56)
			return -1;
		c = *(*p)++;
		r |= (size_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	*v = r;
	return 0;
}

/* Applies a git delta to base (gitformat-pack, "Deltified representation"). */
static unsigned char *
apply_delta(const unsigned char *base, size_t blen, const unsigned char *d,
    size_t dlen, size_t *outlen)
{
	const unsigned char *p = d, *end = d + dlen;
	size_t slen, tlen, o = 0, off, sz;
	unsigned char *out, c;
	int i;

	if (delta_varint(&p, end, &slen) < 0 || slen != blen ||
	    delta_varint(&p, end, &tlen) < 0 || tlen > PACK_MAX_OBJECT ||
	    (out = malloc(tlen ? tlen : 1)) == NULL)
		return NULL;
	while (p < end) {
		c = *p++;
		if (c & 0x80) {
			off = sz = 0;
			for (i = 0; i < 4; i++)
				if (c & (1 << i)) {
					if (p >= end)
						goto bad;
					off |= (size_t)*p++ << (8 * i);
				}
			for (i = 0; i < 3; i++)
				if (c & (0x10 << i)) {
					if (p >= end)
						goto bad;
					sz |= (size_t)*p++ << (8 * i);
				}
			if (sz == 0)
				sz = 0x10000;
			if (off + sz > blen || o + sz > tlen)
				goto bad;
			memcpy(out + o, base + off, sz);
			o += sz;
		} else if (c != 0) {
			if ((size_t)(end - p) < c || o + c > tlen)
				goto bad;
			memcpy(out + o, p, c);
			p += c;
			o += c;
		} else
			goto bad;
	}
	if (o != tlen)
		goto bad;
	*outlen = tlen;
	return out;
bad:
	free(out);
	return NULL;
}

static void
object_id(git_oid *id, int type, const unsigned char *data, size_t len)
{
	git_odb_hash(id, data, len, type == OBJ_COMMIT ? GIT_OBJECT_COMMIT :
	    type == OBJ_TREE ? GIT_OBJECT_TREE : type == OBJ_BLOB ?
	    GIT_OBJECT_BLOB : GIT_OBJECT_TAG);
}

int
ag_packofs(unsigned char **out, size_t *outlen, const unsigned char *in,
    size_t inlen, struct ag_err *err)
{
	struct buf b;
	struct entry *ents = NULL;
	struct ag_oidset ids;
	const unsigned char *p = in, *end;
	unsigned char *data = NULL, h8[AG_PACK_HEAD_MAX];
	struct ag_pack_head h;
	uint32_t count, i;
	size_t size, used, len;
	unsigned char sum[32];
	unsigned int sumlen;
	git_oid id, base_id;
	int type, hn, v, r = -1;

	ag_oidset_init(&ids);
	ag_io_buf_init(&b.io, &b.b);
	if (inlen < 12 + 20 || memcmp(in, "PACK", 4) != 0)
		return ag_err_set(err, AG_EINVAL, "not a pack");
	end = in + inlen - 20;
	count = (uint32_t)in[8] << 24 | (uint32_t)in[9] << 16 |
	    (uint32_t)in[10] << 8 | in[11];
	if ((ents = calloc(count ? count : 1, sizeof *ents)) == NULL ||
	    put(&b, in, 12) < 0)
		goto oom;
	p = in + 12;
	for (i = 0; i < count; i++) {
		struct entry *e = &ents[i];
		const unsigned char *hdr = p;
		int base = -1;

		if (p >= end || (hn = ag_pack_head_read(p, (size_t)(end - p),
		    &h)) < 0 || h.size > PACK_MAX_OBJECT)
			goto bad;
		type = h.type;
		size = (size_t)h.size;
		if (type == OBJ_OFS_DELTA)
			goto keep;	/* already offsets: nothing to do */
		p += hn;
		if (type == OBJ_REF_DELTA) {
			git_oid_fromraw(&base_id, h.base_id);
			if (ag_oidset_get(&ids, &base_id, &v))
				base = v;
		}
		if ((data = inflate_entry(p, (size_t)(end - p), size,
		    &used)) == NULL)
			goto bad;
		e->out_off = b.b.len;
		if (type == OBJ_REF_DELTA && base >= 0) {
			struct entry *be = &ents[base];
			unsigned char *full;

			if (be->data == NULL ||
			    (full = apply_delta(be->data, be->len, data, size,
			    &len)) == NULL)
				goto bad;
			e->type = be->type;
			free(data);
			data = NULL;
			e->data = full;
			e->len = len;
			if (put(&b, h8, ag_pack_head_put(h8, OBJ_OFS_DELTA,
			    size, e->out_off - be->out_off, NULL)) < 0 ||
			    put(&b, p, used) < 0)
				goto oom;
		} else if (type == OBJ_REF_DELTA) {
			/* A base outside the pack (thin): leave it be. */
			free(data);
			data = NULL;
			e->type = 0;
			if (put(&b, hdr, (size_t)(p - hdr) + used) < 0)
				goto oom;
		} else {
			e->type = type;
			e->data = data;
			e->len = size;
			data = NULL;
			if (put(&b, hdr, (size_t)(p - hdr) + used) < 0)
				goto oom;
		}
		if (e->type != 0) {
			object_id(&id, e->type, e->data, e->len);
			if (ag_oidset_put(&ids, &id, (int)i) < 0)
				goto oom;
		}
		p += used;
		continue;
keep:
		/* libgit2 writes none; we could not know its length here. */
		goto bad;
	}
	if (p != end)
		goto bad;
	EVP_Digest(b.b.p, b.b.len, sum, &sumlen, EVP_sha1(), NULL);
	if (put(&b, sum, 20) < 0)
		goto oom;
	*out = (unsigned char *)b.b.p;
	*outlen = b.b.len;
	b.b.p = NULL;
	r = 0;
	goto out;
oom:
	r = ag_err_set(err, AG_EINTERNAL, "out of memory");
	goto out;
bad:
	r = ag_err_set(err, AG_EINVAL, "malformed pack entry %u", i);
out:
	if (ents != NULL)
		for (i = 0; i < count; i++)
			free(ents[i].data);
	free(ents);
	free(data);
	free(b.b.p);
	ag_oidset_clear(&ids);
	return r;
}

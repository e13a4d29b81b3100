/*
 * Pack stream scanning (gitformat-pack): a byte-at-a-time state machine
 * over the header, each object's type and size, its delta base, its zlib
 * stream (inflated through a fixed scratch buffer and thrown away) and the
 * SHA-1 trailer. Nothing is allocated from what the pack declares.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "auger/packfmt.h"
#include "auger/packscan.h"

#define PACK_HDR_LEN	12
#define PACK_SHA1_LEN	20


/* Where the scanner is in the stream. */
enum scan_state {
	S_HEADER,	/* "PACK", version, count */
	S_OBJHDR,	/* an object's type and size varint */
	S_OFS,		/* an OFS_DELTA's base offset */
	S_REF,		/* a REF_DELTA's base id */
	S_DATA,		/* an object's zlib stream */
	S_TRAILER,	/* the SHA-1 of all that came before */
	S_DONE,
	S_ERROR
};

struct ag_packscan {
	struct ag_packscan_limits lim;
	enum scan_state	 st;
	EVP_MD_CTX	*md;
	z_stream	 z;
	int		 zinit;
	unsigned char	 fixed[PACK_SHA1_LEN];	/* header, then trailer */
	size_t		 nfixed;
	uint32_t	 count;		/* objects the header declares */
	uint32_t	 nobj;		/* objects completed */
	uint64_t	 off;		/* pack bytes consumed */
	uint64_t	 obj_off;	/* where the current object starts */
	/* The current object. */
	int		 type;
	uint64_t	 size;		/* its declared inflated size */
	unsigned	 shift;
	uint64_t	 ofs;		/* OFS_DELTA: distance to the base */
	unsigned	 nofs;		/* its bytes read */
	size_t		 nref;		/* REF_DELTA: base id bytes read */
	uint64_t	 out;		/* bytes inflated so far */
	int		 dpart;		/* delta header: 0 base, 1 result, 2 read */
	uint64_t	 dval;
	unsigned	 dshift;
	uint32_t	 types[8];
	int		 errcode;
	char		 errmsg[AG_ERR_MSG_MAX];
	unsigned char	 scratch[16384];
};

int
ag_packscan_new(struct ag_packscan **out, const struct ag_packscan_limits *lim)
{
	struct ag_packscan *s;

	*out = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return AG_EINTERNAL;
	if (lim != NULL)
		s->lim = *lim;
	if ((s->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(s->md, EVP_sha1(), NULL) != 1 ||
	    inflateInit(&s->z) != Z_OK) {
		ag_packscan_free(s);
		return AG_EINTERNAL;
	}
	s->zinit = 1;
	s->st = S_HEADER;
	*out = s;
	return 0;
}

void
ag_packscan_free(struct ag_packscan *s)
{
	if (s == NULL)
		return;
	if (s->zinit)
		inflateEnd(&s->z);
	EVP_MD_CTX_free(s->md);
	free(s);
}

/* Fails the scan for good: the message is kept for later calls. */
static int
__attribute__((format(printf, 4, 5)))
fail(struct ag_packscan *s, struct ag_err *err, int code, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
	va_end(ap);
	s->errcode = code;
	s->st = S_ERROR;
	return ag_err_set(err, code, "%s", s->errmsg);
}

/* An error in the current object: "object N at offset X: ...". */
static int
__attribute__((format(printf, 4, 5)))
fail_obj(struct ag_packscan *s, struct ag_err *err, int code,
    const char *fmt, ...)
{
	char what[AG_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return fail(s, err, code, "object %u at offset %llu: %s",
	    s->nobj + 1, (unsigned long long)s->obj_off, what);
}

static int
too_big(struct ag_packscan *s, struct ag_err *err, uint64_t size)
{
	return fail(s, err, AG_ETOOBIG,
	    "object %u inflates to %llu bytes; the limit (--max-blob) is %llu",
	    s->nobj + 1, (unsigned long long)size,
	    (unsigned long long)s->lim.max_blob);
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* The next object starts at the current offset, or the trailer does. */
static void
next_object(struct ag_packscan *s, uint64_t at)
{
	s->obj_off = at;
	s->st = s->nobj == s->count ? S_TRAILER : S_OBJHDR;
	s->type = 0;
	s->size = 0;
	s->shift = 0;
	s->ofs = 0;
	s->nofs = 0;
	s->nref = 0;
	s->out = 0;
	s->dpart = 0;
	s->dval = 0;
	s->dshift = 0;
	s->nfixed = 0;
}

static int
parse_header(struct ag_packscan *s, struct ag_err *err)
{
	uint32_t version;

	if (memcmp(s->fixed, "PACK", 4) != 0)
		return fail(s, err, AG_EINVAL,
		    "pack header: bad signature (not \"PACK\")");
	version = be32(s->fixed + 4);
	if (version != 2 && version != 3)
		return fail(s, err, AG_EINVAL,
		    "pack header: version %u is not supported (2 or 3)",
		    version);
	s->count = be32(s->fixed + 8);
	if (s->lim.max_objects != 0 && s->count > s->lim.max_objects)
		return fail(s, err, AG_ETOOBIG,
		    "pack claims %u objects; the limit is %llu", s->count,
		    (unsigned long long)s->lim.max_objects);
	next_object(s, PACK_HDR_LEN);
	return 0;
}

/* One byte of the type-and-size varint (gitformat-pack, "Size encoding"). */
static int
objhdr_byte(struct ag_packscan *s, unsigned c, struct ag_err *err)
{
	uint64_t bits;

	if (s->shift == 0) {
		s->type = (int)(c >> 4 & 7);
		s->size = c & 0x0f;
		s->shift = 4;
	} else {
		bits = c & 0x7f;
		if (s->shift > 63 || (s->shift > 57 && bits >> (64 - s->shift)))
			return fail_obj(s, err, AG_EINVAL,
			    "object size does not fit in 64 bits");
		s->size |= bits << s->shift;
		s->shift += 7;
	}
	if (c & 0x80)
		return 0;
	switch (s->type) {
	case OBJ_COMMIT:
	case OBJ_TREE:
	case OBJ_BLOB:
	case OBJ_TAG:
		s->st = S_DATA;
		break;
	case OBJ_OFS_DELTA:
		s->st = S_OFS;
		break;
	case OBJ_REF_DELTA:
		s->st = S_REF;
		break;
	default:
		return fail_obj(s, err, AG_EINVAL, "bad object type %d",
		    s->type);
	}
	s->types[s->type]++;
	/* A delta's own data counts too: the indexer inflates it whole. */
	if (s->lim.max_blob != 0 && s->size > s->lim.max_blob)
		return too_big(s, err, s->size);
	return 0;
}

/* One byte of an OFS_DELTA offset (big-endian, "add one" per byte). */
static int
ofs_byte(struct ag_packscan *s, unsigned c, struct ag_err *err)
{
	if (s->nofs++ == 0) {
		s->ofs = c & 0x7f;
	} else {
		if (s->ofs > (UINT64_MAX >> 7) - 1)
			return fail_obj(s, err, AG_EINVAL,
			    "delta base offset does not fit in 64 bits");
		s->ofs = ((s->ofs + 1) << 7) | (c & 0x7f);
	}
	if (c & 0x80)
		return 0;
	/* The base is an earlier object: after the header, before us. */
	if (s->ofs == 0 || s->ofs > s->obj_off - PACK_HDR_LEN)
		return fail_obj(s, err, AG_EINVAL,
		    "delta base offset %llu points outside the pack",
		    (unsigned long long)s->ofs);
	s->st = S_DATA;
	return 0;
}

/* The first inflated bytes of a delta: base size, then result size. */
static int
delta_bytes(struct ag_packscan *s, const unsigned char *p, size_t n,
    struct ag_err *err)
{
	size_t i;
	uint64_t bits;

	for (i = 0; i < n && s->dpart < 2; i++) {
		bits = p[i] & 0x7f;
		if (s->dshift > 63 ||
		    (s->dshift > 57 && bits >> (64 - s->dshift)))
			return fail_obj(s, err, AG_EINVAL,
			    "delta header size does not fit in 64 bits");
		s->dval |= bits << s->dshift;
		s->dshift += 7;
		if (p[i] & 0x80)
			continue;
		if (s->dpart == 1 && s->lim.max_blob != 0 &&
		    s->dval > s->lim.max_blob)
			return too_big(s, err, s->dval);
		s->dpart++;
		s->dval = 0;
		s->dshift = 0;
	}
	return 0;
}

/*
 * Inflates what buf holds of the current object's zlib stream; *used is
 * how much of it the stream took. The stream's end ends the object.
 */
static int
data_bytes(struct ag_packscan *s, const unsigned char *buf, size_t len,
    size_t *used, struct ag_err *err)
{
	size_t produced, keep;
	uInt before;
	int zr, r;

	*used = 0;
	s->z.next_in = (unsigned char *)buf;
	s->z.avail_in = len > UINT_MAX ? UINT_MAX : (uInt)len;
	for (;;) {
		s->z.next_out = s->scratch;
		s->z.avail_out = sizeof s->scratch;
		before = s->z.avail_in;
		zr = inflate(&s->z, Z_NO_FLUSH);
		*used += before - s->z.avail_in;
		produced = sizeof s->scratch - s->z.avail_out;
		/*
		 * The bytes in order, whatever the chunking: those within the
		 * declared size first, so that the same byte fails first.
		 */
		keep = produced;
		if (keep > s->size - s->out)
			keep = (size_t)(s->size - s->out);
		if (s->type >= OBJ_OFS_DELTA &&
		    (r = delta_bytes(s, s->scratch, keep, err)) < 0)
			return r;
		s->out += keep;
		if (produced > keep)
			return fail_obj(s, err, AG_EINVAL,
			    "inflates past its declared size of %llu bytes",
			    (unsigned long long)s->size);
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_BUF_ERROR && s->z.avail_in == 0)
			return 0;	/* wants more input */
		if (zr == Z_MEM_ERROR)
			return fail_obj(s, err, AG_EINTERNAL,
			    "out of memory inflating");
		if (zr != Z_OK)
			return fail_obj(s, err, AG_EINVAL,
			    "bad zlib stream (%s)",
			    s->z.msg != NULL ? s->z.msg : "corrupt");
		if (s->z.avail_in == 0 && s->z.avail_out != 0)
			return 0;	/* wants more input */
	}
	if (s->out != s->size)
		return fail_obj(s, err, AG_EINVAL,
		    "inflates to %llu bytes, its header says %llu",
		    (unsigned long long)s->out, (unsigned long long)s->size);
	if (s->type >= OBJ_OFS_DELTA && s->dpart < 2)
		return fail_obj(s, err, AG_EINVAL, "delta header truncated");
	if (inflateReset(&s->z) != Z_OK)
		return fail_obj(s, err, AG_EINTERNAL, "inflateReset failed");
	s->nobj++;
	next_object(s, s->off + *used);
	return 0;
}

static int
check_trailer(struct ag_packscan *s, struct ag_err *err)
{
	unsigned char want[EVP_MAX_MD_SIZE];
	char got[2 * PACK_SHA1_LEN + 1], exp[2 * PACK_SHA1_LEN + 1];
	unsigned int n = 0, i;

	if (EVP_DigestFinal_ex(s->md, want, &n) != 1 || n != PACK_SHA1_LEN)
		return fail(s, err, AG_EINTERNAL, "pack trailer: SHA-1 failed");
	if (memcmp(want, s->fixed, PACK_SHA1_LEN) == 0) {
		s->st = S_DONE;
		return 0;
	}
	for (i = 0; i < PACK_SHA1_LEN; i++) {
		snprintf(got + 2 * i, 3, "%02x", s->fixed[i]);
		snprintf(exp + 2 * i, 3, "%02x", want[i]);
	}
	return fail(s, err, AG_EINVAL,
	    "pack trailer: checksum %s does not match the pack's %s", got,
	    exp);
}

ssize_t
ag_packscan_feed(struct ag_packscan *s, const void *data, size_t len,
    struct ag_err *err)
{
	const unsigned char *buf = data;
	size_t i = 0, h0 = 0, n, used;
	int r = 0, hashing = 1;

	if (s->st == S_ERROR)
		return ag_err_set(err, s->errcode, "%s", s->errmsg);
	if (s->st == S_DONE)
		return 0;
	if (s->st == S_TRAILER)
		hashing = 0;
	while (i < len && r == 0 && s->st != S_DONE) {
		switch (s->st) {
		case S_HEADER:
			n = PACK_HDR_LEN - s->nfixed;
			if (n > len - i)
				n = len - i;
			memcpy(s->fixed + s->nfixed, buf + i, n);
			s->nfixed += n;
			i += n;
			s->off += n;
			if (s->nfixed == PACK_HDR_LEN)
				r = parse_header(s, err);
			break;
		case S_OBJHDR:
			r = objhdr_byte(s, buf[i], err);
			i++;
			s->off++;
			break;
		case S_OFS:
			r = ofs_byte(s, buf[i], err);
			i++;
			s->off++;
			break;
		case S_REF:
			n = PACK_SHA1_LEN - s->nref;
			if (n > len - i)
				n = len - i;
			s->nref += n;
			i += n;
			s->off += n;
			if (s->nref == PACK_SHA1_LEN)
				s->st = S_DATA;
			break;
		case S_DATA:
			r = data_bytes(s, buf + i, len - i, &used, err);
			i += used;
			s->off += used;
			break;
		case S_TRAILER:
			if (hashing) {
				/* The trailer hashes all bytes before it. */
				if (EVP_DigestUpdate(s->md, buf + h0,
				    i - h0) != 1)
					return fail(s, err, AG_EINTERNAL,
					    "pack: SHA-1 failed");
				hashing = 0;
			}
			n = PACK_SHA1_LEN - s->nfixed;
			if (n > len - i)
				n = len - i;
			memcpy(s->fixed + s->nfixed, buf + i, n);
			s->nfixed += n;
			i += n;
			s->off += n;
			if (s->nfixed == PACK_SHA1_LEN)
				r = check_trailer(s, err);
			break;
		default:
			return fail(s, err, AG_EINTERNAL, "pack: bad state");
		}
	}
	if (r < 0)
		return r;
	if (hashing && i > h0 && EVP_DigestUpdate(s->md, buf + h0,
	    i - h0) != 1)
		return fail(s, err, AG_EINTERNAL, "pack: SHA-1 failed");
	return (ssize_t)i;
}

int
ag_packscan_done(const struct ag_packscan *s)
{
	return s->st == S_DONE;
}

uint32_t
ag_packscan_count(const struct ag_packscan *s)
{
	return s->st == S_HEADER ? 0 : s->count;
}

uint64_t
ag_packscan_offset(const struct ag_packscan *s)
{
	return s->off;
}

uint32_t
ag_packscan_type_count(const struct ag_packscan *s, int type)
{
	return type >= 0 && type < 8 ? s->types[type] : 0;
}

int
ag_packscan_end(const struct ag_packscan *s, struct ag_err *err)
{
	switch (s->st) {
	case S_DONE:
		return 0;
	case S_ERROR:
		return ag_err_set(err, s->errcode, "%s", s->errmsg);
	case S_HEADER:
		return ag_err_set(err, AG_EINVAL,
		    "pack truncated inside its header (%zu of %d bytes)",
		    s->nfixed, PACK_HDR_LEN);
	case S_TRAILER:
		return ag_err_set(err, AG_EINVAL,
		    "pack truncated inside its trailer (%zu of %d bytes)",
		    s->nfixed, PACK_SHA1_LEN);
	default:
		return ag_err_set(err, AG_EINVAL,
		    "pack truncated inside object %u of %u at offset %llu",
		    s->nobj + 1, s->count, (unsigned long long)s->obj_off);
	}
}

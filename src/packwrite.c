/*
 * A pack from the stored representations (see packwrite.h).
 *
 * The repository's packs are mapped and read through their .idx (version
 * 2): the fan-out and sorted ids find an object, the offsets sorted once
 * per pack (git's "reverse index") give where each entry ends, so an
 * entry's compressed bytes can be copied without inflating them. An
 * OFS_DELTA's base is found by its offset, a REF_DELTA's by its id; when
 * that base is in the list too, the delta goes out as stored, after its
 * base, addressed by offset when the client takes ofs-delta. Anything
 * else is read through libgit2 and deflated whole.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "auger/oidset.h"
#include "auger/packfmt.h"
#include "auger/packwrite.h"

#define IDX_HDR		(8 + 256 * 4)
#define OUT_BUF		65536
#define MAX_PACKS	4096
#define PROGRESS_EVERY	256

/* An entry of the reverse index: its offset and index position. */
struct pw_rev {
	uint64_t	off;
	uint32_t	pos;
};

/* One mapped pack and its index. */
struct pw_pack {
	const unsigned char	*idx, *pack;
	size_t			 idxlen, packlen;
	uint32_t		 n;
	const unsigned char	*ids, *crcs, *offs, *large;
	size_t			 nlarge;
	struct pw_rev		*rev;	/* entries sorted by offset; lazy */
};

/* Each object of the list: where it is stored, how it goes out. */
struct pw_obj {
	int		 pack;		/* -1: not in a pack */
	uint32_t	 pos;		/* its position in that pack's index */
	uint64_t	 off, end;	/* its entry, header included */
	uint64_t	 data;		/* where the compressed bytes start */
	uint64_t	 size;		/* as the entry header says */
	int		 kind;		/* OBJ_* of the stored entry */
	long		 base;		/* list index of a delta's base, -1, or
					   -2: a base the client has (thin) */
	git_oid		 thin;		/* that base */
	uint64_t	 out;		/* where it went (0: not yet) */
	unsigned char	 state;		/* 0 waiting, 1 on the path, 2 written */
};

struct pw {
	git_repository			*repo;
	git_odb				*odb;
	const struct ag_packlist	*list;
	const struct ag_packwrite_opts	*o;
	struct ag_packwrite_stats	*st;
	struct pw_pack			*packs;
	size_t				 npacks;
	struct pw_obj			*objs;
	struct ag_oidset		 index;	/* id -> list index */
	EVP_MD_CTX			*md;
	unsigned char			*buf;
	size_t				 buflen;
	uint64_t			 written;
	z_stream			 z;
	int				 zinit;
	struct ag_err			*err;
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

void
ag_packlist_init(struct ag_packlist *l)
{
	memset(l, 0, sizeof *l);
}

void
ag_packlist_free(struct ag_packlist *l)
{
	free(l->id);
	free(l->type);
	memset(l, 0, sizeof *l);
}

int
ag_packlist_add(struct ag_packlist *l, const git_oid *id, git_object_t type)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		git_oid *ni;
		git_object_t *nt;

		if ((ni = realloc(l->id, cap * sizeof *ni)) == NULL)
			return -1;
		l->id = ni;
		if ((nt = realloc(l->type, cap * sizeof *nt)) == NULL)
			return -1;
		l->type = nt;
		l->cap = cap;
	}
	git_oid_cpy(&l->id[l->n], id);
	l->type[l->n++] = type;
	return 0;
}

/* Maps path read-only; NULL when it cannot be read. */
static const unsigned char *
map_file(const char *path, size_t *len)
{
	struct stat sb;
	void *p;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || sb.st_size <= 0) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);	/* the mapping outlives the fd, and a prune */
	if (p == MAP_FAILED)
		return NULL;
	*len = (size_t)sb.st_size;
	return p;
}

static void
pack_unmap(struct pw_pack *k)
{
	if (k->idx != NULL)
		munmap((void *)k->idx, k->idxlen);
	if (k->pack != NULL)
		munmap((void *)k->pack, k->packlen);
	free(k->rev);
	memset(k, 0, sizeof *k);
}

/*
 * Maps DIR/NAME.idx and its pack; 0 when both are sound (version 2 index,
 * sizes that add up, the pack's header counting the same objects), else
 * -1 and the pack is simply not used: its objects come through libgit2.
 */
static int
pack_map(struct pw_pack *k, const char *dir, const char *name, size_t nlen)
{
	char path[4096];
	uint32_t i, prev = 0;
	size_t need;

	memset(k, 0, sizeof *k);
	if (snprintf(path, sizeof path, "%s/%.*s.idx", dir, (int)nlen,
	    name) >= (int)sizeof path)
		return -1;
	if ((k->idx = map_file(path, &k->idxlen)) == NULL)
		return -1;
	if (snprintf(path, sizeof path, "%s/%.*s.pack", dir, (int)nlen,
	    name) >= (int)sizeof path)
		goto bad;
	if ((k->pack = map_file(path, &k->packlen)) == NULL)
		goto bad;
	if (k->idxlen < IDX_HDR + 40 || memcmp(k->idx, "\377tOc", 4) != 0 ||
	    be32(k->idx + 4) != 2)
		goto bad;
	for (i = 0; i < 256; i++) {
		uint32_t f = be32(k->idx + 8 + i * 4);

		if (f < prev)
			goto bad;
		prev = f;
	}
	k->n = prev;
	need = IDX_HDR + (size_t)k->n * 28 + 40;
	if (k->idxlen < need || (k->idxlen - need) % 8 != 0)
		goto bad;
	k->ids = k->idx + IDX_HDR;
	k->crcs = k->ids + (size_t)k->n * 20;
	k->offs = k->crcs + (size_t)k->n * 4;
	k->large = k->offs + (size_t)k->n * 4;
	k->nlarge = (k->idxlen - need) / 8;
	if (k->packlen < 32 || memcmp(k->pack, "PACK", 4) != 0 ||
	    (be32(k->pack + 4) != 2 && be32(k->pack + 4) != 3) ||
	    be32(k->pack + 8) != k->n ||
	    memcmp(k->pack + k->packlen - 20, k->idx + k->idxlen - 40,
	    20) != 0)
		goto bad;
	return 0;
bad:
	pack_unmap(k);
	return -1;
}

/* Offset of the entry at index position pos; UINT64_MAX when malformed. */
static uint64_t
pack_off(const struct pw_pack *k, uint32_t pos)
{
	uint32_t o = be32(k->offs + (size_t)pos * 4);
	uint64_t off;

	if (!(o & 0x80000000u))
		off = o;
	else if ((o & 0x7fffffffu) >= k->nlarge)
		return UINT64_MAX;
	else
		off = be64(k->large + (size_t)(o & 0x7fffffffu) * 8);
	if (off < 12 || off >= k->packlen - 20)
		return UINT64_MAX;
	return off;
}

/* Position of id in k's index, or -1. */
static long
pack_find(const struct pw_pack *k, const git_oid *id)
{
	const unsigned char *raw = id->id;
	uint32_t lo = raw[0] ? be32(k->idx + 8 + (raw[0] - 1) * 4) : 0;
	uint32_t hi = be32(k->idx + 8 + raw[0] * 4);

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(k->ids + (size_t)mid * 20, raw, 20);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int
cmp_rev(const void *a, const void *b)
{
	const struct pw_rev *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* The reverse index: entries by offset, built on first need. */
static int
pack_rev(struct pw_pack *k)
{
	uint32_t i;

	if (k->rev != NULL)
		return 0;
	if ((k->rev = malloc(((size_t)k->n + 1) * sizeof *k->rev)) == NULL)
		return -1;
	for (i = 0; i < k->n; i++) {
		k->rev[i].off = pack_off(k, i);
		k->rev[i].pos = i;
	}
	qsort(k->rev, k->n, sizeof *k->rev, cmp_rev);
	return 0;
}

/* The index position of the entry at off, and its rank by offset; or -1. */
static long
pack_at(const struct pw_pack *k, uint64_t off, uint32_t *rank)
{
	uint32_t lo = 0, hi = k->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (k->rev[mid].off == off) {
			*rank = mid;
			return (long)k->rev[mid].pos;
		}
		if (k->rev[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int
pw_packs_load(struct pw *w)
{
	char dir[4096];
	struct dirent *de;
	DIR *d;

	if (snprintf(dir, sizeof dir, "%sobjects/pack",
	    git_repository_path(w->repo)) >= (int)sizeof dir)
		return 0;
	if ((d = opendir(dir)) == NULL)
		return 0;	/* no packs: everything through libgit2 */
	while ((de = readdir(d)) != NULL && w->npacks < MAX_PACKS) {
		size_t len = strlen(de->d_name);
		struct pw_pack *np;

		if (len < 10 || strncmp(de->d_name, "pack-", 5) != 0 ||
		    strcmp(de->d_name + len - 4, ".idx") != 0)
			continue;
		if ((np = realloc(w->packs, (w->npacks + 1) *
		    sizeof *np)) == NULL) {
			closedir(d);
			return -1;
		}
		w->packs = np;
		if (pack_map(&w->packs[w->npacks], dir, de->d_name,
		    len - 4) == 0)
			w->npacks++;
	}
	closedir(d);
	return 0;
}

/*
 * Reads the entry header at off in k: kind, size, and for a delta the
 * base (by offset, or the id's bytes). -1 when it runs off the pack.
 */
static int
entry_head(const struct pw_pack *k, uint64_t off, uint64_t end,
    struct pw_obj *ob, uint64_t *base_off, const unsigned char **base_id)
{
	struct ag_pack_head h;
	int n;

	if (off >= end || (n = ag_pack_head_read(k->pack + off,
	    (size_t)(end - off), &h)) < 0 ||
	    (h.type == OBJ_OFS_DELTA && h.ofs > off))
		return -1;
	ob->kind = h.type;
	ob->size = h.size;
	*base_off = h.type == OBJ_OFS_DELTA ? off - h.ofs : 0;
	*base_id = h.base_id;
	ob->data = off + (uint64_t)n;
	return ob->data < end ? 0 : -1;
}

/* Finds where list object i is stored and whether its delta can stay. */
static int
pw_locate(struct pw *w, size_t i)
{
	struct pw_obj *ob = &w->objs[i];
	const unsigned char *base_id = NULL;
	uint64_t base_off = 0;
	git_oid bid;
	size_t k;
	uint32_t rank;
	long pos;
	int bi;

	ob->pack = -1;
	ob->base = -1;
	for (k = 0; k < w->npacks; k++) {
		struct pw_pack *pk = &w->packs[k];

		if ((pos = pack_find(pk, &w->list->id[i])) < 0)
			continue;
		if (pack_rev(pk) < 0)
			return -1;
		ob->off = pack_off(pk, (uint32_t)pos);
		if (ob->off == UINT64_MAX || pack_at(pk, ob->off, &rank) !=
		    pos)
			continue;
		ob->end = rank + 1 < pk->n ? pk->rev[rank + 1].off :
		    pk->packlen - 20;
		if (ob->end == UINT64_MAX || ob->end <= ob->off ||
		    entry_head(pk, ob->off, ob->end, ob, &base_off,
		    &base_id) < 0)
			continue;
		ob->pack = (int)k;
		ob->pos = (uint32_t)pos;
		break;
	}
	if (ob->pack < 0)
		return 0;
	if (ob->kind == OBJ_OFS_DELTA) {
		struct pw_pack *pk = &w->packs[ob->pack];
		long bpos = pack_at(pk, base_off, &rank);

		if (bpos < 0) {
			ob->pack = -1;	/* points nowhere: read it whole */
			return 0;
		}
		git_oid_fromraw(&bid, pk->ids + (size_t)bpos * 20);
	} else if (ob->kind == OBJ_REF_DELTA)
		git_oid_fromraw(&bid, base_id);
	else {
		/* A whole object of another type than listed is not reused. */
		if ((git_object_t)ob->kind != w->list->type[i] &&
		    w->list->type[i] != GIT_OBJECT_ANY)
			ob->pack = -1;
		return 0;
	}
	if (ag_oidset_get(&w->index, &bid, &bi)) {
		if ((size_t)bi != i)
			ob->base = bi;
	} else if (w->o->thin_bases != NULL &&
	    ag_oidset_get(w->o->thin_bases, &bid, NULL)) {
		ob->base = -2;
		git_oid_cpy(&ob->thin, &bid);
	}
	return 0;
}

static int
pw_flush(struct pw *w)
{
	if (w->buflen == 0)
		return 0;
	if (w->o->sink(w->buf, w->buflen, w->o->arg) != 0)
		return ag_err_set(w->err, AG_EIO, "client went away");
	w->buflen = 0;
	return 0;
}

static int
pw_put(struct pw *w, const void *data, size_t len)
{
	const unsigned char *p = data;

	EVP_DigestUpdate(w->md, p, len);
	w->written += len;
	while (len > 0) {
		size_t n = OUT_BUF - w->buflen;

		if (n > len)
			n = len;
		memcpy(w->buf + w->buflen, p, n);
		w->buflen += n;
		p += n;
		len -= n;
		if (w->buflen == OUT_BUF && pw_flush(w) < 0)
			return -1;
	}
	return 0;
}

/* An entry header: kind and size, then a delta's base reference. */
static int
put_head(struct pw *w, int kind, uint64_t size, uint64_t rel,
    const git_oid *base)
{
	unsigned char h[AG_PACK_HEAD_MAX];

	return pw_put(w, h, ag_pack_head_put(h, kind, size, rel,
	    base != NULL ? base->id : NULL));
}

/* Whether the stored bytes of ob match the CRC its index keeps. */
static int
crc_ok(const struct pw *w, const struct pw_obj *ob)
{
	const struct pw_pack *k = &w->packs[ob->pack];
	uLong crc = crc32(0L, Z_NULL, 0);
	uint64_t at = ob->off;

	while (at < ob->end) {
		uint64_t n = ob->end - at > (1u << 30) ? (1u << 30) :
		    ob->end - at;

		crc = crc32(crc, k->pack + at, (uInt)n);
		at += n;
	}
	return crc == be32(k->crcs + (size_t)ob->pos * 4);
}

/* Reads the object whole through libgit2 and writes it deflated. */
static int
put_whole(struct pw *w, size_t i)
{
	git_odb_object *obj = NULL;
	unsigned char *zbuf = NULL;
	int kind, r = -1, zr;

	if (git_odb_read(&obj, w->odb, &w->list->id[i]) < 0) {
		char hex[GIT_OID_HEXSZ + 1];

		git_oid_tostr(hex, sizeof hex, &w->list->id[i]);
		return ag_err_git(w->err, "reading object %s", hex);
	}
	switch (git_odb_object_type(obj)) {
	case GIT_OBJECT_COMMIT: kind = OBJ_COMMIT; break;
	case GIT_OBJECT_TREE: kind = OBJ_TREE; break;
	case GIT_OBJECT_BLOB: kind = OBJ_BLOB; break;
	case GIT_OBJECT_TAG: kind = OBJ_TAG; break;
	default:
		git_odb_object_free(obj);
		return ag_err_set(w->err, AG_EINTERNAL, "unexpected type");
	}
	if (put_head(w, kind, git_odb_object_size(obj), 0, NULL) < 0)
		goto out;
	if ((zbuf = malloc(OUT_BUF)) == NULL) {
		ag_err_set(w->err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	deflateReset(&w->z);
	w->z.next_in = (Bytef *)git_odb_object_data(obj);
	w->z.avail_in = 0;
	{
		size_t left = git_odb_object_size(obj);

		do {
			uInt chunk = left > (1u << 30) ? (1u << 30) :
			    (uInt)left;

			if (w->z.avail_in == 0 && left > 0) {
				w->z.avail_in = chunk;
				left -= chunk;
			}
			w->z.next_out = zbuf;
			w->z.avail_out = OUT_BUF;
			zr = deflate(&w->z, left == 0 ? Z_FINISH : Z_NO_FLUSH);
			if (zr == Z_STREAM_ERROR) {
				ag_err_set(w->err, AG_EINTERNAL, "deflate");
				goto out;
			}
			if (pw_put(w, zbuf, OUT_BUF - w->z.avail_out) < 0)
				goto out;
		} while (zr != Z_STREAM_END);
	}
	w->st->inflated++;
	r = 0;
out:
	free(zbuf);
	git_odb_object_free(obj);
	return r;
}

/* Writes list object i, its stored form when it can be kept. */
static int
put_one(struct pw *w, size_t i)
{
	struct pw_obj *ob = &w->objs[i];
	const struct pw_pack *k;
	uint64_t here = w->written;

	if (ob->pack < 0 || ((ob->kind == OBJ_OFS_DELTA ||
	    ob->kind == OBJ_REF_DELTA) && (ob->base == -1 || (ob->base >= 0 &&
	    w->objs[ob->base].state != 2))) || !crc_ok(w, ob)) {
		if (put_whole(w, i) < 0)
			return -1;
	} else {
		k = &w->packs[ob->pack];
		if (ob->base == -2) {
			/* Thin: the client resolves it from its own copy. */
			if (put_head(w, OBJ_REF_DELTA, ob->size, 0,
			    &ob->thin) < 0)
				return -1;
			w->st->deltas++;
			if (pw_put(w, k->pack + ob->data, ob->end - ob->data) <
			    0)
				return -1;
		} else if (ob->kind == OBJ_OFS_DELTA ||
		    ob->kind == OBJ_REF_DELTA) {
			const struct pw_obj *b = &w->objs[ob->base];

			if (put_head(w, w->o->ofs_delta ? OBJ_OFS_DELTA :
			    OBJ_REF_DELTA, ob->size, here - b->out,
			    &w->list->id[ob->base]) < 0)
				return -1;
			w->st->deltas++;
			if (pw_put(w, k->pack + ob->data, ob->end - ob->data) <
			    0)
				return -1;
		} else if (pw_put(w, k->pack + ob->off, ob->end - ob->off) < 0)
			return -1;
		w->st->reused++;
	}
	ob->out = here;
	ob->state = 2;
	w->st->objects++;
	return 0;
}

/*
 * Writes list object i after the chain of bases it needs. A chain that
 * comes back on itself (one object stored in two packs, each a delta of
 * the other) is cut: that object goes out whole.
 */
static int
put_chain(struct pw *w, size_t i, long *path)
{
	size_t n = 0;
	long j = (long)i;

	while (w->objs[j].state == 0) {
		w->objs[j].state = 1;
		path[n++] = j;
		if (w->objs[j].base < 0)	/* none, or thin */
			break;
		if (w->objs[w->objs[j].base].state == 1) {
			w->objs[j].base = -1;
			break;
		}
		j = w->objs[j].base;
	}
	while (n > 0)
		if (put_one(w, (size_t)path[--n]) < 0)
			return -1;
	return 0;
}

int
ag_packwrite(git_repository *repo, const struct ag_packlist *list,
    const struct ag_packwrite_opts *o, struct ag_packwrite_stats *st,
    struct ag_err *err)
{
	struct pw w;
	unsigned char hdr[12], sum[EVP_MAX_MD_SIZE];
	unsigned int sumlen = 0;
	long *path = NULL;
	size_t i, k;
	int r = -1;

	memset(&w, 0, sizeof w);
	memset(st, 0, sizeof *st);
	w.repo = repo;
	w.list = list;
	w.o = o;
	w.st = st;
	w.err = err;
	ag_oidset_init(&w.index);
	if (list->n > UINT32_MAX || list->n > (size_t)INT32_MAX)
		return ag_err_set(err, AG_ETOOBIG, "too many objects");
	if (git_repository_odb(&w.odb, repo) < 0)
		return ag_err_git(err, "opening odb");
	if ((w.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(w.md, EVP_sha1(), NULL) != 1 ||
	    (w.buf = malloc(OUT_BUF)) == NULL ||
	    (w.objs = calloc(list->n ? list->n : 1, sizeof *w.objs)) == NULL ||
	    (path = malloc((list->n ? list->n : 1) * sizeof *path)) == NULL ||
	    deflateInit(&w.z, Z_DEFAULT_COMPRESSION) != Z_OK) {
		ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	w.zinit = 1;
	for (i = 0; i < list->n; i++)
		if (ag_oidset_put(&w.index, &list->id[i], (int)i) < 0) {
			ag_err_set(err, AG_EINTERNAL, "out of memory");
			goto out;
		}
	if (pw_packs_load(&w) < 0) {
		ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < list->n; i++) {
		if (pw_locate(&w, i) < 0) {
			ag_err_set(err, AG_EINTERNAL, "out of memory");
			goto out;
		}
		if (o->progress != NULL && i % PROGRESS_EVERY == 0 &&
		    o->progress(0, (uint32_t)i, (uint32_t)list->n, o->arg)) {
			ag_err_set(err, AG_EIO, "client went away");
			goto out;
		}
	}
	memcpy(hdr, "PACK\0\0\0\2", 8);
	hdr[8] = (unsigned char)(list->n >> 24);
	hdr[9] = (unsigned char)(list->n >> 16);
	hdr[10] = (unsigned char)(list->n >> 8);
	hdr[11] = (unsigned char)list->n;
	if (pw_put(&w, hdr, sizeof hdr) < 0)
		goto out;
	for (i = 0; i < list->n; i++) {
		if (put_chain(&w, i, path) < 0)
			goto out;
		if (o->progress != NULL && i % PROGRESS_EVERY == 0 &&
		    o->progress(1, (uint32_t)i, (uint32_t)list->n, o->arg)) {
			ag_err_set(err, AG_EIO, "client went away");
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(w.md, sum, &sumlen) != 1 || sumlen != 20) {
		ag_err_set(err, AG_EINTERNAL, "sha1");
		goto out;
	}
	/* The trailer is not part of what it sums. */
	if (pw_flush(&w) < 0)
		goto out;
	memcpy(w.buf, sum, 20);
	w.buflen = 20;
	if (pw_flush(&w) < 0)
		goto out;
	st->bytes = w.written + 20;
	r = 0;
out:
	if (w.zinit)
		deflateEnd(&w.z);
	for (k = 0; k < w.npacks; k++)
		pack_unmap(&w.packs[k]);
	free(w.packs);
	free(path);
	free(w.objs);
	free(w.buf);
	EVP_MD_CTX_free(w.md);
	ag_oidset_clear(&w.index);
	git_odb_free(w.odb);
	return r < 0 && err->code == 0 ? ag_err_set(err, AG_EINTERNAL,
	    "writing pack") : r;
}

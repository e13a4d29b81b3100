/* Unit tests of the pack stream scanner (src/packscan.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/sha.h>
#include <zlib.h>

#include "auger/packofs.h"
#include "auger/packscan.h"
#include "testutil.h"

/* What a scan of a whole input ended with. */
struct scan {
	ssize_t		 rc;		/* the failing feed's result, or 0 */
	size_t		 used;		/* bytes the pack took */
	int		 done;
	uint32_t	 count;
	uint32_t	 types[8];
	struct ag_err	 err;
};

/*
 * Feeds in[0..len) in chunks of chunk bytes (0: whole; SIZE_MAX: sizes
 * from a fixed pseudo-random sequence), stopping at the pack's end or the
 * first error, as receive-pack would.
 */
static void
scan(struct scan *out, const void *in, size_t len, size_t chunk,
    const struct ag_packscan_limits *lim)
{
	const unsigned char *p = in;
	struct ag_packscan *s;
	size_t off = 0, n;
	uint32_t rnd = 12345;
	ssize_t r;
	int i;

	memset(out, 0, sizeof *out);
	assert_int_equal(ag_packscan_new(&s, lim), 0);
	while (off < len) {
		if (chunk == 0)
			n = len - off;
		else if (chunk == SIZE_MAX) {
			rnd = rnd * 1103515245 + 12345;
			n = 1 + (rnd >> 16) % 5000;
		} else
			n = chunk;
		if (n > len - off)
			n = len - off;
		r = ag_packscan_feed(s, p + off, n, &out->err);
		if (r < 0) {
			out->rc = r;
			assert_int_equal(out->err.code, r);
			assert_true(out->err.msg[0] != '\0');
			break;
		}
		assert_true((size_t)r <= n);
		off += (size_t)r;
		if ((size_t)r < n) {
			/* Only the pack's end stops short of a chunk. */
			assert_true(ag_packscan_done(s));
			break;
		}
		if (ag_packscan_done(s))
			break;
	}
	out->used = off;
	out->done = ag_packscan_done(s);
	out->count = ag_packscan_count(s);
	for (i = 0; i < 8; i++)
		out->types[i] = ag_packscan_type_count(s, i);
	if (out->rc == 0)
		assert_int_equal(ag_packscan_offset(s), off);
	ag_packscan_free(s);
}

/* The same scan, whole, one byte at a time, and in random chunks. */
static void
scan_all_ways(struct scan *out, const void *in, size_t len,
    const struct ag_packscan_limits *lim)
{
	static const size_t chunks[] = { 1, 7, 4096, SIZE_MAX };
	struct scan other;
	size_t i;

	scan(out, in, len, 0, lim);
	for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		scan(&other, in, len, chunks[i], lim);
		assert_int_equal(other.rc, out->rc);
		assert_int_equal(other.done, out->done);
		assert_int_equal(other.count, out->count);
		assert_memory_equal(other.types, out->types, sizeof out->types);
		assert_string_equal(other.err.msg, out->err.msg);
		if (out->rc == 0)
			assert_int_equal(other.used, out->used);
	}
}

/* A pack built by hand: objects appended, then the trailer. */
static void
put_objhdr(struct tbuf *b, int type, uint64_t size)
{
	unsigned char c = (unsigned char)(type << 4 | (size & 0x0f));

	size >>= 4;
	while (size != 0) {
		c |= 0x80;
		tbuf_add(b, &c, 1);
		c = size & 0x7f;
		size >>= 7;
	}
	tbuf_add(b, &c, 1);
}

static void
put_ofs(struct tbuf *b, uint64_t ofs)
{
	unsigned char buf[16];
	size_t pos = sizeof buf - 1;

	buf[pos] = ofs & 0x7f;
	while (ofs >>= 7)
		buf[--pos] = 0x80 | (--ofs & 0x7f);
	tbuf_add(b, buf + pos, sizeof buf - pos);
}

static void
put_varint(struct tbuf *b, uint64_t v)
{
	unsigned char c;

	do {
		c = v & 0x7f;
		v >>= 7;
		if (v != 0)
			c |= 0x80;
		tbuf_add(b, &c, 1);
	} while (v != 0);
}

static void
put_zlib(struct tbuf *b, const void *data, size_t len)
{
	uLongf n = compressBound(len);
	unsigned char *z = malloc(n);

	assert_non_null(z);
	assert_int_equal(compress2(z, &n, data, len, 6), Z_OK);
	tbuf_add(b, z, n);
	free(z);
}

static void
put_header(struct tbuf *b, uint32_t version, uint32_t count)
{
	unsigned char h[12] = { 'P', 'A', 'C', 'K' };

	h[4] = version >> 24;
	h[5] = version >> 16;
	h[6] = version >> 8;
	h[7] = version;
	h[8] = count >> 24;
	h[9] = count >> 16;
	h[10] = count >> 8;
	h[11] = count;
	tbuf_add(b, h, sizeof h);
}

static void
put_trailer(struct tbuf *b)
{
	unsigned char md[SHA_DIGEST_LENGTH];

	SHA1((const unsigned char *)b->p, b->len, md);
	tbuf_add(b, md, sizeof md);
}

/* A whole object: header, zlib of data. */
static void
put_obj(struct tbuf *b, int type, const void *data, size_t len)
{
	put_objhdr(b, type, len);
	put_zlib(b, data, len);
}

/* A small valid pack: a blob, a tree, an OFS and a REF delta. */
static void
small_pack(struct tbuf *b)
{
	static const char blob[] = "hello, hello, hello, world\n";
	struct tbuf d = { 0 };
	size_t blob_off;

	put_header(b, 2, 4);
	blob_off = b->len;
	put_obj(b, 3, blob, sizeof blob - 1);
	put_obj(b, 2, "", 0);
	/* Delta: copy 5 bytes from the base's start, insert "!". */
	put_varint(&d, sizeof blob - 1);
	put_varint(&d, 6);
	tbuf_add(&d, "\x90\x05\x01!", 4);
	put_objhdr(b, 6, d.len);
	put_ofs(b, b->len - 1 - blob_off);	/* the header is one byte */
	put_zlib(b, d.p, d.len);
	put_objhdr(b, 7, d.len);
	tbuf_add(b, "01234567890123456789", 20);
	put_zlib(b, d.p, d.len);
	put_trailer(b);
	tbuf_free(&d);
}

static void
test_small_pack(void **state)
{
	struct tbuf b = { 0 };
	struct scan sc;

	(void)state;
	small_pack(&b);
	scan_all_ways(&sc, b.p, b.len, NULL);
	assert_int_equal(sc.rc, 0);
	assert_true(sc.done);
	assert_int_equal(sc.used, b.len);
	assert_int_equal(sc.count, 4);
	assert_int_equal(sc.types[3], 1);
	assert_int_equal(sc.types[2], 1);
	assert_int_equal(sc.types[6], 1);
	assert_int_equal(sc.types[7], 1);
	/* Version 3 reads the same. */
	b.p[7] = 3;
	b.len -= 20;
	put_trailer(&b);
	scan(&sc, b.p, b.len, 0, NULL);
	assert_true(sc.done);
	tbuf_free(&b);
}

static void
test_empty_pack(void **state)
{
	struct tbuf b = { 0 };
	struct scan sc;
	struct ag_packscan *s;
	struct ag_err err = { 0, "" };

	(void)state;
	put_header(&b, 2, 0);
	put_trailer(&b);
	assert_int_equal(b.len, 32);
	scan_all_ways(&sc, b.p, b.len, NULL);
	assert_int_equal(sc.rc, 0);
	assert_true(sc.done);
	assert_int_equal(sc.used, 32);
	assert_int_equal(sc.count, 0);
	/* Once done, nothing more is taken. */
	assert_int_equal(ag_packscan_new(&s, NULL), 0);
	assert_int_equal(ag_packscan_count(s), 0);
	assert_int_equal(ag_packscan_feed(s, b.p, b.len, &err), 32);
	assert_int_equal(ag_packscan_feed(s, "more", 4, &err), 0);
	assert_int_equal(ag_packscan_end(s, &err), 0);
	assert_int_equal(err.code, 0);
	ag_packscan_free(s);
	ag_packscan_free(NULL);
	tbuf_free(&b);
}

static void
test_trailing_junk(void **state)
{
	struct tbuf b = { 0 };
	struct scan sc;
	size_t len;

	(void)state;
	small_pack(&b);
	len = b.len;
	/* What follows the trailer is not the pack's: another pack even. */
	tbuf_add(&b, "0000PACKjunk after the pack", 27);
	scan_all_ways(&sc, b.p, b.len, NULL);
	assert_int_equal(sc.rc, 0);
	assert_true(sc.done);
	assert_int_equal(sc.used, len);
	tbuf_free(&b);
}

static void
expect_fail(const void *in, size_t len, const struct ag_packscan_limits *lim,
    int code, const char *msg)
{
	struct scan sc;

	scan_all_ways(&sc, in, len, lim);
	if (sc.rc != code || strstr(sc.err.msg, msg) == NULL)
		print_error("want %d \"%s\", got %zd \"%s\"\n", code, msg,
		    sc.rc, sc.err.msg);
	assert_int_equal(sc.rc, code);
	assert_non_null(strstr(sc.err.msg, msg));
	assert_false(sc.done);
}

static void
test_bad_header(void **state)
{
	struct tbuf b = { 0 };
	struct ag_packscan_limits lim = { 2000000, 0 };

	(void)state;
	expect_fail("PACX\0\0\0\2\0\0\0\0", 12, NULL, AG_EINVAL,
	    "pack header: bad signature");
	expect_fail("0000\0\0\0\2\0\0\0\0", 12, NULL, AG_EINVAL,
	    "pack header: bad signature");
	expect_fail("PACK\0\0\0\1\0\0\0\0", 12, NULL, AG_EINVAL,
	    "pack header: version 1 is not supported (2 or 3)");
	expect_fail("PACK\0\0\0\4\0\0\0\0", 12, NULL, AG_EINVAL,
	    "pack header: version 4");
	expect_fail("PACK\xff\xff\xff\xff\0\0\0\0", 12, NULL, AG_EINVAL,
	    "version 4294967295");
	/* The count is refused before any object is read. */
	put_header(&b, 2, 0xffffffff);
	expect_fail(b.p, b.len, &lim, AG_ETOOBIG,
	    "pack claims 4294967295 objects; the limit is 2000000");
	tbuf_free(&b);
	put_header(&b, 2, 2000001);
	expect_fail(b.p, b.len, &lim, AG_ETOOBIG, "pack claims 2000001");
	tbuf_free(&b);
}

static void
test_huge_count_no_limit(void **state)
{
	struct ag_packscan *s;
	struct ag_err err = { 0, "" };
	struct tbuf b = { 0 };

	(void)state;
	/* No limit: the count is only a number, nothing is sized by it. */
	put_header(&b, 2, 0xffffffff);
	put_obj(&b, 3, "x", 1);
	assert_int_equal(ag_packscan_new(&s, NULL), 0);
	assert_int_equal(ag_packscan_feed(s, b.p, b.len, &err), b.len);
	assert_int_equal(ag_packscan_count(s), 0xffffffff);
	assert_false(ag_packscan_done(s));
	assert_int_equal(ag_packscan_end(s, &err), AG_EINVAL);
	assert_non_null(strstr(err.msg, "inside object 2 of 4294967295"));
	ag_packscan_free(s);
	tbuf_free(&b);
}

static void
test_truncated(void **state)
{
	struct tbuf b = { 0 };
	struct ag_packscan *s;
	struct ag_err err;
	size_t cut;

	(void)state;
	small_pack(&b);
	/* Every prefix: all of it taken, the pack not done, end says so. */
	for (cut = 0; cut < b.len; cut++) {
		ag_err_clear(&err);
		assert_int_equal(ag_packscan_new(&s, NULL), 0);
		assert_int_equal(ag_packscan_feed(s, b.p, cut, &err), cut);
		assert_false(ag_packscan_done(s));
		assert_int_equal(ag_packscan_end(s, &err), AG_EINVAL);
		assert_non_null(strstr(err.msg, "pack truncated inside"));
		if (cut < 12)
			assert_non_null(strstr(err.msg, "its header"));
		else if (cut >= b.len - 20)
			assert_non_null(strstr(err.msg, "its trailer"));
		else
			assert_non_null(strstr(err.msg, "of 4 at offset"));
		ag_packscan_free(s);
	}
	tbuf_free(&b);
}

static void
test_bad_trailer(void **state)
{
	struct tbuf b = { 0 };
	struct ag_packscan *s;
	struct ag_err err = { 0, "" };
	char msg[AG_ERR_MSG_MAX];

	(void)state;
	small_pack(&b);
	b.p[b.len - 1] ^= 1;
	expect_fail(b.p, b.len, NULL, AG_EINVAL,
	    "pack trailer: checksum ");
	/* The error sticks. */
	assert_int_equal(ag_packscan_new(&s, NULL), 0);
	assert_int_equal(ag_packscan_feed(s, b.p, b.len, &err), AG_EINVAL);
	snprintf(msg, sizeof msg, "%s", err.msg);
	ag_err_clear(&err);
	assert_int_equal(ag_packscan_feed(s, "x", 1, &err), AG_EINVAL);
	assert_string_equal(err.msg, msg);
	ag_err_clear(&err);
	assert_int_equal(ag_packscan_end(s, &err), AG_EINVAL);
	assert_string_equal(err.msg, msg);
	ag_packscan_free(s);
	/* A flipped bit in the header's count, trailer unchanged. */
	b.p[b.len - 1] ^= 1;
	b.p[11] = 3;
	expect_fail(b.p, b.len, NULL, AG_EINVAL, "pack trailer: checksum ");
	tbuf_free(&b);
}

static void
test_bad_objects(void **state)
{
	struct tbuf b = { 0 }, d = { 0 };
	unsigned char big[11];
	char *zeros;
	size_t i;

	(void)state;
	/* Types 0 and 5 do not exist. */
	put_header(&b, 2, 1);
	put_obj(&b, 5, "x", 1);
	put_trailer(&b);
	expect_fail(b.p, b.len, NULL, AG_EINVAL,
	    "object 1 at offset 12: bad object type 5");
	tbuf_free(&b);
	put_header(&b, 2, 2);
	put_obj(&b, 1, "x", 1);
	put_obj(&b, 0, "x", 1);
	put_trailer(&b);
	expect_fail(b.p, b.len, NULL, AG_EINVAL, "object 2 at offset ");
	tbuf_free(&b);
	/* Declared sizes that the stream does not match. */
	put_header(&b, 2, 1);
	put_objhdr(&b, 3, 10);
	put_zlib(&b, "12345", 5);
	put_trailer(&b);
	expect_fail(b.p, b.len, NULL, AG_EINVAL,
	    "object 1 at offset 12: inflates to 5 bytes, its header says 10");
	tbuf_free(&b);
	put_header(&b, 2, 1);
	put_objhdr(&b, 3, 3);
	put_zlib(&b, "12345", 5);
	put_trailer(&b);
	expect_fail(b.p, b.len, NULL, AG_EINVAL,
	    "inflates past its declared size of 3 bytes");
	tbuf_free(&b);
	/* A zlib bomb under a small declared size stops at that size. */
	zeros = calloc(1, 10 << 20);
	assert_non_null(zeros);
	put_header(&b, 2, 1);
	put_objhdr(&b, 3, 100);
	put_zlib(&b, zeros, 10 << 20);
	put_trailer(&b);
	expect_fail(b.p, b.len, NULL, AG_EINVAL,
	    "inflates past its declared size of 100 bytes");
	tbuf_free(&b);
	free(zeros);
	/* Not zlib. */
	put_header(&b, 2, 1);
	put_objhdr(&b, 3, 5);
	tbuf_add(&b, "notzlibatall", 12);
	put_trailer(&b);
	expect_fail(b.p, b.len, NULL, AG_EINVAL, "bad zlib stream");
	tbuf_free(&b);
	/* A size that does not fit in 64 bits. */
	put_header(&b, 2, 1);
	memset(big, 0xff, sizeof big);
	big[0] = 0x30 | 0x80 | 0x0f;
	tbuf_add(&b, big, sizeof big);
	put_trailer(&b);
	expect_fail(b.p, b.len, NULL, AG_EINVAL, "does not fit in 64 bits");
	tbuf_free(&b);
	/* OFS_DELTA bases: 0 away, before the first object, overflowing. */
	put_varint(&d, 1);
	put_varint(&d, 1);
	tbuf_add(&d, "\x01x", 2);
	put_header(&b, 2, 2);
	put_obj(&b, 3, "a", 1);
	put_objhdr(&b, 6, d.len);
	put_ofs(&b, 0);
	put_zlib(&b, d.p, d.len);
	put_trailer(&b);
	expect_fail(b.p, b.len, NULL, AG_EINVAL,
	    "delta base offset 0 points outside the pack");
	tbuf_free(&b);
	put_header(&b, 2, 2);
	put_obj(&b, 3, "a", 1);
	i = b.len;
	put_objhdr(&b, 6, d.len);
	put_ofs(&b, i - 11);	/* one byte before the first object */
	put_zlib(&b, d.p, d.len);
	put_trailer(&b);
	expect_fail(b.p, b.len, NULL, AG_EINVAL, "points outside the pack");
	tbuf_free(&b);
	put_header(&b, 2, 1);
	put_objhdr(&b, 6, d.len);
	memset(big, 0xff, sizeof big);
	tbuf_add(&b, big, sizeof big);
	put_trailer(&b);
	expect_fail(b.p, b.len, NULL, AG_EINVAL,
	    "delta base offset does not fit in 64 bits");
	tbuf_free(&b);
	/*
	 * A delta header that overflows, in a stream longer than declared:
	 * the overflow comes first in the bytes, so it is the error in
	 * every chunking (a whole feed inflates both at once).
	 */
	put_header(&b, 2, 1);
	put_objhdr(&b, 7, 12);
	tbuf_add(&b, "01234567890123456789", 20);
	zeros = malloc(5000);
	assert_non_null(zeros);
	memset(zeros, 0xff, 5000);
	put_zlib(&b, zeros, 5000);
	free(zeros);
	put_trailer(&b);
	expect_fail(b.p, b.len, NULL, AG_EINVAL,
	    "delta header size does not fit in 64 bits");
	tbuf_free(&b);
	/* A delta too short to hold its two sizes. */
	put_header(&b, 2, 1);
	put_objhdr(&b, 7, 1);
	tbuf_add(&b, "01234567890123456789", 20);
	put_zlib(&b, "\x05", 1);
	put_trailer(&b);
	expect_fail(b.p, b.len, NULL, AG_EINVAL, "delta header truncated");
	tbuf_free(&b);
	tbuf_free(&d);
}

static void
test_max_blob_handmade(void **state)
{
	struct ag_packscan_limits lim = { 0, 1 << 20 };
	struct tbuf b = { 0 }, d = { 0 };
	struct scan sc;
	char *data;
	int i;

	(void)state;
	/* A whole object over the limit, refused from its header. */
	data = calloc(1, (1 << 20) + 1);
	assert_non_null(data);
	put_header(&b, 2, 2);
	put_obj(&b, 1, "c", 1);
	put_obj(&b, 3, data, (1 << 20) + 1);
	put_trailer(&b);
	expect_fail(b.p, b.len, &lim, AG_ETOOBIG,
	    "object 2 inflates to 1048577 bytes; the limit (--max-blob) is "
	    "1048576");
	/* At the limit it passes. */
	tbuf_free(&b);
	put_header(&b, 2, 1);
	put_obj(&b, 3, data, 1 << 20);
	put_trailer(&b);
	scan(&sc, b.p, b.len, 0, &lim);
	assert_true(sc.done);
	tbuf_free(&b);
	free(data);
	/* A small delta whose result is 3 MiB: 48 copies of 64 KiB. */
	data = calloc(1, 1 << 16);
	assert_non_null(data);
	put_varint(&d, 1 << 16);
	put_varint(&d, 3 << 20);
	for (i = 0; i < 48; i++)
		tbuf_add(&d, "\x80", 1);	/* copy 0x10000 from 0 */
	put_header(&b, 2, 2);
	put_obj(&b, 3, data, 1 << 16);
	i = (int)b.len;
	put_objhdr(&b, 6, d.len);
	put_ofs(&b, (uint64_t)i - 12);
	put_zlib(&b, d.p, d.len);
	put_trailer(&b);
	scan(&sc, b.p, b.len, 0, NULL);
	assert_true(sc.done);
	expect_fail(b.p, b.len, &lim, AG_ETOOBIG,
	    "object 2 inflates to 3145728 bytes; the limit (--max-blob) is "
	    "1048576");
	tbuf_free(&b);
	tbuf_free(&d);
	free(data);
}

/*
 * A repository with history worth packing: a file that grows a line per
 * commit (deltas), a tag, and optionally one big blob.
 */
static void
make_repo(git_repository **out, const char *dir, size_t bigsize)
{
	git_repository *repo;
	git_signature *sig;
	git_treebuilder *tb;
	git_tree *tree;
	git_commit *parent = NULL;
	const git_commit *parents[1];
	git_oid blob, big, tid, cid, tagid;
	struct tbuf text = { 0 };
	char line[128];
	char *bigdata;
	int i, j;

	assert_int_equal(git_repository_init(&repo, dir, 0), 0);
	assert_int_equal(git_signature_new(&sig, "T", "t@example.com",
	    1700000000, 0), 0);
	for (i = 0; i < 40; i++)
		for (j = 0; j < 10; j++) {
			snprintf(line, sizeof line, "line %d.%d of a file that "
			    "changes a little in each commit\n", i, j);
			tbuf_str(&text, line);
		}
	for (i = 0; i < 8; i++) {
		snprintf(line, sizeof line, "change %d\n", i);
		tbuf_str(&text, line);
		assert_int_equal(git_blob_create_from_buffer(&blob, repo,
		    text.p, text.len), 0);
		assert_int_equal(git_treebuilder_new(&tb, repo, NULL), 0);
		assert_int_equal(git_treebuilder_insert(NULL, tb, "file.txt",
		    &blob, GIT_FILEMODE_BLOB), 0);
		if (bigsize > 0 && i == 3) {
			bigdata = calloc(1, bigsize);
			assert_non_null(bigdata);
			assert_int_equal(git_blob_create_from_buffer(&big,
			    repo, bigdata, bigsize), 0);
			free(bigdata);
			assert_int_equal(git_treebuilder_insert(NULL, tb,
			    "big.bin", &big, GIT_FILEMODE_BLOB), 0);
		}
		assert_int_equal(git_treebuilder_write(&tid, tb), 0);
		git_treebuilder_free(tb);
		assert_int_equal(git_tree_lookup(&tree, repo, &tid), 0);
		parents[0] = parent;
		assert_int_equal(git_commit_create(&cid, repo, "HEAD", sig,
		    sig, NULL, line, tree, parent ? 1 : 0, parents), 0);
		git_tree_free(tree);
		git_commit_free(parent);
		assert_int_equal(git_commit_lookup(&parent, repo, &cid), 0);
	}
	assert_int_equal(git_tag_create(&tagid, repo, "v1",
	    (const git_object *)parent, sig, "release\n", 0), 0);
	git_commit_free(parent);
	git_signature_free(sig);
	tbuf_free(&text);
	*out = repo;
}

/* libgit2's pack of everything reachable from HEAD and the tag. */
static void
pack_repo(git_buf *out, git_repository *repo)
{
	git_packbuilder *pb;
	git_revwalk *walk;
	git_oid tag;

	assert_int_equal(git_packbuilder_new(&pb, repo), 0);
	assert_int_equal(git_revwalk_new(&walk, repo), 0);
	assert_int_equal(git_revwalk_push_head(walk), 0);
	assert_int_equal(git_packbuilder_insert_walk(pb, walk), 0);
	assert_int_equal(git_reference_name_to_id(&tag, repo,
	    "refs/tags/v1"), 0);
	assert_int_equal(git_packbuilder_insert(pb, &tag, NULL), 0);
	assert_int_equal(git_packbuilder_write_buf(out, pb), 0);
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
}

/* Reads a file whole. */
static int
slurp(struct tbuf *b, const char *path)
{
	char buf[65536];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		tbuf_add(b, buf, n);
	fclose(f);
	return 0;
}

static void
check_real_pack(const void *p, size_t len, uint32_t objects)
{
	struct tbuf junk = { 0 };
	struct scan sc;

	scan_all_ways(&sc, p, len, NULL);
	if (sc.rc != 0)
		print_error("scan failed: %s\n", sc.err.msg);
	assert_int_equal(sc.rc, 0);
	assert_true(sc.done);
	assert_int_equal(sc.used, len);
	assert_int_equal(sc.count, objects);
	tbuf_add(&junk, p, len);
	tbuf_add(&junk, "\0\0\0\0garbage", 11);
	scan_all_ways(&sc, junk.p, junk.len, NULL);
	assert_true(sc.done);
	assert_int_equal(sc.used, len);
	tbuf_free(&junk);
}

static void
test_real_packs(void **state)
{
	git_repository *repo;
	git_buf pack = { 0 };
	unsigned char *ofs = NULL;
	size_t ofslen = 0;
	struct ag_err err = { 0, "" };
	struct tbuf cli = { 0 };
	struct scan sc;
	char *dir = scratch_dir("packscan"), *cmd;
	uint32_t n;

	(void)state;
	make_repo(&repo, dir, 0);
	pack_repo(&pack, repo);
	/* 8 commits, 8 trees, 8 blobs, a tag. */
	scan(&sc, pack.ptr, pack.size, 0, NULL);
	n = sc.count;
	assert_int_equal(n, 25);
	/* libgit2 writes REF_DELTA... */
	assert_true(sc.types[7] > 0);
	assert_int_equal(sc.types[6], 0);
	assert_int_equal(sc.types[1], 8);
	assert_int_equal(sc.types[4], 1);
	check_real_pack(pack.ptr, pack.size, n);
	/* ... which packofs turns into OFS_DELTA. */
	assert_int_equal(ag_packofs(&ofs, &ofslen, (unsigned char *)pack.ptr,
	    pack.size, &err), 0);
	scan(&sc, ofs, ofslen, 0, NULL);
	assert_true(sc.types[6] > 0);
	assert_int_equal(sc.types[7], 0);
	check_real_pack(ofs, ofslen, n);
	/* git's own pack-objects, when git is there. */
	assert_true(asprintf(&cmd, "cd '%s' && echo HEAD | git pack-objects "
	    "-q --revs --stdout --delta-base-offset > cli.pack 2>/dev/null",
	    dir) > 0);
	if (system(cmd) == 0) {
		free(cmd);
		assert_true(asprintf(&cmd, "%s/cli.pack", dir) > 0);
		assert_int_equal(slurp(&cli, cmd), 0);
		scan(&sc, cli.p, cli.len, 0, NULL);
		assert_int_equal(sc.rc, 0);
		assert_int_equal(sc.count, 24);
		assert_true(sc.types[6] > 0);
		check_real_pack(cli.p, cli.len, 24);
	}
	free(cmd);
	tbuf_free(&cli);
	free(ofs);
	git_buf_dispose(&pack);
	git_repository_free(repo);
	rmtree(dir);
	free(dir);
}

static void
test_real_max_blob(void **state)
{
	struct ag_packscan_limits lim = { 0, 1 << 20 };
	git_repository *repo;
	git_buf pack = { 0 };
	struct scan sc;
	char *dir = scratch_dir("packscan");

	(void)state;
	make_repo(&repo, dir, 2 << 20);
	pack_repo(&pack, repo);
	/* 2 MiB of zeros packs into a few KiB. */
	assert_true(pack.size < 100000);
	expect_fail(pack.ptr, pack.size, &lim, AG_ETOOBIG,
	    "inflates to 2097152 bytes; the limit (--max-blob) is 1048576");
	lim.max_blob = 2 << 20;
	scan(&sc, pack.ptr, pack.size, 0, &lim);
	assert_true(sc.done);
	lim.max_objects = 26;
	scan(&sc, pack.ptr, pack.size, 0, &lim);
	assert_true(sc.done);
	lim.max_objects = 25;
	expect_fail(pack.ptr, pack.size, &lim, AG_ETOOBIG,
	    "pack claims 26 objects; the limit is 25");
	git_buf_dispose(&pack);
	git_repository_free(repo);
	rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_pack),
		cmocka_unit_test(test_empty_pack),
		cmocka_unit_test(test_trailing_junk),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_huge_count_no_limit),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_trailer),
		cmocka_unit_test(test_bad_objects),
		cmocka_unit_test(test_max_blob_handmade),
		cmocka_unit_test(test_real_packs),
		cmocka_unit_test(test_real_max_blob),
	};
	int r;

	git_libgit2_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	git_libgit2_shutdown();
	return r;
}

/*
 * Helpers shared by the unit tests: an in-memory io, a pkt-line request
 * builder and response parser, scratch directories and small libgit2
 * histories. Header-only, so each test_*.c builds alone.
 */
#ifndef AUGER_TESTUTIL_H
#define AUGER_TESTUTIL_H

#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "auger/io.h"
#include "auger/pkt.h"

/* A growable byte buffer. */
struct tbuf {
	char	*p;
	size_t	 len, cap;
};

static inline void
tbuf_add(struct tbuf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + len + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (b->p == NULL)
			abort();
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static inline void
tbuf_free(struct tbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* Appends one pkt-line whose payload is the formatted text. */
static inline void
__attribute__((format(printf, 2, 3)))
tbuf_pkt(struct tbuf *b, const char *fmt, ...)
{
	char hdr[16], *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0 || n > 0xffff - 4)
		abort();
	snprintf(hdr, sizeof hdr, "%04x", (unsigned)n + 4);
	tbuf_add(b, hdr, 4);
	tbuf_add(b, s, (size_t)n);
	free(s);
}

/* Appends one pkt-line with a binary payload. */
static inline void
tbuf_pktn(struct tbuf *b, const void *data, size_t len)
{
	char hdr[16];

	if (len > 0xffff - 4)
		abort();
	snprintf(hdr, sizeof hdr, "%04zx", len + 4);
	tbuf_add(b, hdr, 4);
	tbuf_add(b, data, len);
}

static inline void
tbuf_str(struct tbuf *b, const char *s)
{
	tbuf_add(b, s, strlen(s));
}

/*
 * An io reading from a fixed buffer (at most chunk bytes per read when
 * chunk is set) and appending writes to out; fail_write/fail_read make
 * the calls fail, fail_flush makes flush fail.
 */
struct mio {
	const unsigned char *in;
	size_t		 inlen, inoff, chunk;
	struct tbuf	 out;
	int		 fail_read, fail_write, fail_flush;
	int		 writes, flushes;
};

static inline ssize_t
mio_read(void *ctx, void *buf, size_t len)
{
	struct mio *m = ctx;
	size_t n = m->inlen - m->inoff;

	if (m->fail_read)
		return -1;
	if (n > len)
		n = len;
	if (m->chunk > 0 && n > m->chunk)
		n = m->chunk;
	if (n > 0)
		memcpy(buf, m->in + m->inoff, n);
	m->inoff += n;
	return (ssize_t)n;
}

static inline int
mio_write(void *ctx, const void *buf, size_t len)
{
	struct mio *m = ctx;

	if (m->fail_write)
		return -1;
	m->writes++;
	tbuf_add(&m->out, buf, len);
	return 0;
}

static inline int
mio_flush(void *ctx)
{
	struct mio *m = ctx;

	m->flushes++;
	return m->fail_flush ? -1 : 0;
}

static inline void
mio_init(struct ag_io *io, struct mio *m, const void *in, size_t inlen)
{
	memset(m, 0, sizeof *m);
	m->in = in;
	m->inlen = inlen;
	io->read = mio_read;
	io->write = mio_write;
	io->flush = mio_flush;
	io->ctx = m;
}

static inline void
mio_free(struct mio *m)
{
	tbuf_free(&m->out);
}

/* One packet of a response: type 0 data, else AG_PKT_FLUSH etc. */
struct tpkt {
	int		 type;
	const char	*data;	/* points into the response */
	size_t		 len;
};

/*
 * Parses the next packet of buf at *off. Returns 1 and fills p, 0 at the
 * end, -1 when the bytes are not pkt-lines.
 */
static inline int
tpkt_next(const char *buf, size_t buflen, size_t *off, struct tpkt *p)
{
	char hdr[5];
	int n;

	if (*off == buflen)
		return 0;
	if (buflen - *off < 4)
		return -1;
	memcpy(hdr, buf + *off, 4);
	hdr[4] = '\0';
	if ((n = ag_pkt_parse_len(hdr)) < 0)
		return -1;
	if (n < 4) {
		p->type = n == 0 ? AG_PKT_FLUSH : n == 1 ? AG_PKT_DELIM :
		    AG_PKT_END;
		p->data = NULL;
		p->len = 0;
		*off += 4;
		return 1;
	}
	if (buflen - *off < (size_t)n)
		return -1;
	p->type = AG_PKT_DATA;
	p->data = buf + *off + 4;
	p->len = (size_t)n - 4;
	*off += (size_t)n;
	return 1;
}

/* Whether packet p is a data packet holding exactly the text s. */
static inline int
tpkt_is(const struct tpkt *p, const char *s)
{
	return p->type == AG_PKT_DATA && p->len == strlen(s) &&
	    memcmp(p->data, s, p->len) == 0;
}

static inline int
rmtree_cb(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Removes a scratch directory and everything in it. */
static inline void
rmtree(const char *path)
{
	if (path != NULL && path[0] != '\0')
		nftw(path, rmtree_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Makes a scratch directory; the caller frees and rmtree()s it. */
static inline char *
scratch_dir(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char *p;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if (asprintf(&p, "%s/auger-%s-XXXXXX", tmp, tag) < 0)
		abort();
	if (mkdtemp(p) == NULL)
		abort();
	return p;
}

/*
 * Writes a commit on top of parent (or a root commit) whose tree holds one
 * file "f" with the given content; deterministic (fixed author and time),
 * so two repositories built alike hold the same ids. Updates ref if set.
 */
static inline int
make_commit(git_oid *out, git_repository *repo, const git_oid *parent,
    const char *content, const char *ref)
{
	git_signature *sig = NULL;
	git_treebuilder *tb = NULL;
	git_tree *tree = NULL;
	git_commit *pc = NULL;
	const git_commit *parents[1];
	git_oid blob, tid;
	int r = -1;

	if (git_signature_new(&sig, "Test", "test@example.com", 1700000000,
	    0) < 0)
		goto out;
	if (git_blob_create_from_buffer(&blob, repo, content,
	    strlen(content)) < 0)
		goto out;
	if (git_treebuilder_new(&tb, repo, NULL) < 0 ||
	    git_treebuilder_insert(NULL, tb, "f", &blob,
	    GIT_FILEMODE_BLOB) < 0 || git_treebuilder_write(&tid, tb) < 0 ||
	    git_tree_lookup(&tree, repo, &tid) < 0)
		goto out;
	if (parent != NULL && git_commit_lookup(&pc, repo, parent) < 0)
		goto out;
	parents[0] = pc;
	if (git_commit_create(out, repo, ref, sig, sig, NULL, content, tree,
	    pc ? 1 : 0, parents) < 0)
		goto out;
	r = 0;
out:
	git_commit_free(pc);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	git_signature_free(sig);
	return r;
}

static inline char *
hexof(char buf[GIT_OID_HEXSZ + 1], const git_oid *id)
{
	return git_oid_tostr(buf, GIT_OID_HEXSZ + 1, id);
}

#endif

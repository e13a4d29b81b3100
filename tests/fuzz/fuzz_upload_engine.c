/*
 * Fuzzes the upload-pack engines (ag_upload_v0, ag_upload_v2) end to end:
 * negotiation, shallow planning and pack streaming, on a small repository
 * made once in a scratch directory. The first input byte picks the
 * protocol and statelessness; the rest is the client's request. Output is
 * discarded, after checking that it is well-formed pkt-lines when the
 * answer is side-band framed.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "auger/refs.h"
#include "auger/upload.h"

#define FUZZ_MAX_INPUT	(64 * 1024)

static char		 scratch[256];
static git_repository	*repo;
static struct ag_refs	*refs;

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
cleanup(void)
{
	ag_refs_free(refs);
	git_repository_free(repo);
	refs = NULL;
	repo = NULL;
	if (scratch[0] != '\0')
		nftw(scratch, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	git_libgit2_shutdown();
}

static int
commit(git_oid *out, const git_oid *parent, const char *text, const char *ref)
{
	git_signature *sig = NULL;
	git_treebuilder *tb = NULL;
	git_tree *tree = NULL;
	git_commit *pc = NULL;
	const git_commit *parents[1];
	git_oid blob, tid;
	int r = -1;

	if (git_signature_new(&sig, "F", "f@example.com", 1700000000, 0) < 0 ||
	    git_blob_create_from_buffer(&blob, repo, text, strlen(text)) < 0 ||
	    git_treebuilder_new(&tb, repo, NULL) < 0 ||
	    git_treebuilder_insert(NULL, tb, "f", &blob,
	    GIT_FILEMODE_BLOB) < 0 || git_treebuilder_write(&tid, tb) < 0 ||
	    git_tree_lookup(&tree, repo, &tid) < 0)
		goto out;
	if (parent != NULL && git_commit_lookup(&pc, repo, parent) < 0)
		goto out;
	parents[0] = pc;
	r = git_commit_create(out, repo, ref, sig, sig, NULL, text, tree,
	    pc ? 1 : 0, parents);
out:
	git_commit_free(pc);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	git_signature_free(sig);
	return r;
}

/*
 * The repository: main c0 <- c1 <- c2 <- merge(c2, side) <- c3, side
 * branching at c1, dev at c1, and an annotated tag v1 at c2.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	git_repository_init_options o = GIT_REPOSITORY_INIT_OPTIONS_INIT;
	struct ag_err err = { 0, "" };
	git_oid c[4], s, m, tag;
	git_signature *sig = NULL;
	git_object *target = NULL;
	git_reference *ref = NULL;
	git_commit *p1 = NULL, *p2 = NULL;
	git_tree *tree = NULL;
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	git_libgit2_init();
	snprintf(scratch, sizeof scratch, "%s/auger-fuzz-XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL)
		abort();
	atexit(cleanup);
	o.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
	o.initial_head = "main";
	if (git_repository_init_ext(&repo, scratch, &o) < 0 ||
	    commit(&c[0], NULL, "a\n", "refs/heads/main") < 0 ||
	    commit(&c[1], &c[0], "b\n", "refs/heads/main") < 0 ||
	    commit(&c[2], &c[1], "c\n", "refs/heads/main") < 0 ||
	    commit(&s, &c[1], "side\n", "refs/heads/side") < 0)
		abort();
	/* a merge of main and side */
	if (git_signature_new(&sig, "F", "f@example.com", 1700000000, 0) < 0 ||
	    git_commit_lookup(&p1, repo, &c[2]) < 0 ||
	    git_commit_lookup(&p2, repo, &s) < 0 ||
	    git_commit_tree(&tree, p1) < 0)
		abort();
	{
		const git_commit *parents[2] = { p1, p2 };

		if (git_commit_create(&m, repo, "refs/heads/main", sig, sig,
		    NULL, "merge\n", tree, 2, parents) < 0)
			abort();
	}
	if (commit(&c[3], &m, "d\n", "refs/heads/main") < 0 ||
	    git_reference_create(&ref, repo, "refs/heads/dev", &c[1], 0,
	    "f") < 0 ||
	    git_object_lookup(&target, repo, &c[2], GIT_OBJECT_COMMIT) < 0 ||
	    git_tag_create(&tag, repo, "v1", target, sig, "v1\n", 0) < 0)
		abort();
	git_reference_free(ref);
	git_object_free(target);
	git_tree_free(tree);
	git_commit_free(p1);
	git_commit_free(p2);
	git_signature_free(sig);
	if (ag_refs_load(&refs, repo, &err) < 0)
		abort();
	return 0;
}

/* The client's end: the request to read, the answer written. */
struct fio {
	const uint8_t	*in;
	size_t		 inlen, inoff;
	unsigned char	*out;
	size_t		 outlen, outcap;
	int		 cut;		/* the answer passed the 1 MB kept */
};

static ssize_t
fio_read(void *ctx, void *buf, size_t len)
{
	struct fio *f = ctx;
	size_t n = f->inlen - f->inoff;

	if (n > len)
		n = len;
	if (n > 0)
		memcpy(buf, f->in + f->inoff, n);
	f->inoff += n;
	return (ssize_t)n;
}

static int
fio_write(void *ctx, const void *buf, size_t len)
{
	struct fio *f = ctx;
	unsigned char *np;

	/* Keep the first 1 MB: enough to check the framing. */
	if (f->cut || f->outlen + len > 1024 * 1024) {
		f->cut = 1;
		return 0;
	}
	if (f->outlen + len > f->outcap) {
		size_t cap = f->outcap ? f->outcap : 4096;

		while (cap < f->outlen + len)
			cap *= 2;
		if ((np = realloc(f->out, cap)) == NULL)
			return -1;
		f->out = np;
		f->outcap = cap;
	}
	memcpy(f->out + f->outlen, buf, len);
	f->outlen += len;
	return 0;
}

/*
 * Every packet header of a v2 answer is a valid pkt-line length, and the
 * packets tile the answer exactly (v0 may end with a raw pack).
 */
static void
check_framing(const struct fio *f)
{
	size_t off = 0;
	char hdr[5];
	int n;

	if (f->cut)
		return;
	while (off + 4 <= f->outlen) {
		memcpy(hdr, f->out + off, 4);
		hdr[4] = '\0';
		if ((n = ag_pkt_parse_len(hdr)) < 0)
			abort();
		off += n < 4 ? 4 : (size_t)n;
	}
	if (off != f->outlen)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ag_upload_opts o = { 0 };
	struct ag_err err = { 0, "" };
	struct ag_io io;
	struct fio f;
	int rc, v2;

	if (size < 1 || size > FUZZ_MAX_INPUT || repo == NULL)
		return 0;
	v2 = data[0] & 1;
	o.stateless = (data[0] >> 1) & 1;
	o.keepalive_ms = 100000;	/* no timing-dependent output */
	memset(&f, 0, sizeof f);
	f.in = data + 1;
	f.inlen = size - 1;
	io.read = fio_read;
	io.write = fio_write;
	io.flush = NULL;
	io.ctx = &f;
	rc = v2 ? ag_upload_v2(repo, refs, &io, &o, &err) :
	    ag_upload_v0(repo, refs, &io, &o, &err);
	if (rc < 0 && (err.code == 0 || err.msg[0] == '\0'))
		abort();	/* a failure without a message */
	if (v2)
		check_framing(&f);
	free(f.out);
	return 0;
}

/*
 * Unit tests of upload-pack: request parsing (v0 wants, v2 fetch
 * arguments) and the v0/v2 engines end to end on a scratch repository.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auger/refs.h"
#include "auger/repo.h"
#include "auger/upload.h"
#include "testutil.h"

#define OID_A "0123456789abcdef0123456789abcdef01234567"
#define OID_B "89abcdef0123456789abcdef0123456789abcdef"

/* Parses in as a v0 wants section (v2 == 0) or v2 fetch arguments. */
static int
parse(struct ag_upload_req *req, const struct tbuf *in, int v2,
    struct ag_err *err)
{
	struct ag_pkt_reader *r = malloc(sizeof *r);
	struct ag_io io;
	struct mio m;
	int rc;

	assert_non_null(r);
	mio_init(&io, &m, in->p, in->len);
	ag_pkt_reader_init(r, &io, 0);
	ag_upload_req_init(req);
	ag_err_clear(err);
	rc = v2 ? ag_upload_parse_fetch_v2(req, r, err) :
	    ag_upload_parse_wants(req, r, err);
	free(r);
	mio_free(&m);
	return rc;
}

/* Expects in to be refused with code and a message holding part. */
static void
expect_refused(const struct tbuf *in, int v2, int code, const char *part)
{
	struct ag_upload_req req;
	struct ag_err err;

	assert_int_equal(parse(&req, in, v2, &err), code);
	assert_int_equal(err.code, code);
	if (strstr(err.msg, part) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, part);
	ag_upload_req_free(&req);
}

/* One line and a flush, refused. */
static void
expect_line_refused(const char *line, int v2, int code, const char *part)
{
	struct tbuf in = { 0 };

	tbuf_pkt(&in, "%s\n", line);
	tbuf_str(&in, "0000");
	expect_refused(&in, v2, code, part);
	tbuf_free(&in);
}

static void
test_wants_caps(void **state)
{
	struct ag_upload_req req;
	struct ag_err err;
	struct tbuf in = { 0 };
	git_oid a, b;

	(void)state;
	git_oid_fromstr(&a, OID_A);
	git_oid_fromstr(&b, OID_B);
	tbuf_pkt(&in, "want " OID_A " multi_ack_detailed side-band-64k "
	    "ofs-delta shallow no-progress agent=go-git/5.x\n");
	tbuf_pkt(&in, "want " OID_B "\n");
	tbuf_str(&in, "0000");
	assert_int_equal(parse(&req, &in, 0, &err), 0);
	assert_int_equal(req.wants.n, 2);
	assert_true(git_oid_equal(&req.wants.v[0], &a));
	assert_true(git_oid_equal(&req.wants.v[1], &b));
	assert_int_equal(req.caps, AG_CAP_MULTI_ACK_DETAILED |
	    AG_CAP_SIDE_BAND_64K | AG_CAP_OFS_DELTA | AG_CAP_SHALLOW |
	    AG_CAP_NO_PROGRESS);
	assert_string_equal(req.agent, "go-git/5.x");
	assert_int_equal(req.depth, 0);
	assert_int_equal(req.saw_wants_flush, 1);
	assert_int_equal(req.haves.n, 0);
	ag_upload_req_free(&req);
	tbuf_free(&in);

	/* Every capability, and unknown ones ignored. */
	tbuf_pkt(&in, "want " OID_A " multi_ack no-done side-band "
	    "include-tag deepen-relative thin-pack frobnicate "
	    "agent=git/2.43.0\n");
	tbuf_str(&in, "0000");
	assert_int_equal(parse(&req, &in, 0, &err), 0);
	assert_int_equal(req.caps, AG_CAP_MULTI_ACK | AG_CAP_NO_DONE |
	    AG_CAP_SIDE_BAND | AG_CAP_INCLUDE_TAG | AG_CAP_DEEPEN_RELATIVE |
	    AG_CAP_THIN_PACK);
	assert_string_equal(req.agent, "git/2.43.0");
	ag_upload_req_free(&req);
	tbuf_free(&in);

	/* Prefixes of names are not the names. */
	tbuf_pkt(&in, "want " OID_A " multi_ack_detailedX side-band-6 "
	    "agent=\n");
	tbuf_str(&in, "0000");
	assert_int_equal(parse(&req, &in, 0, &err), 0);
	assert_int_equal(req.caps, 0);
	assert_string_equal(req.agent, "");
	ag_upload_req_free(&req);
	tbuf_free(&in);
}

static void
test_wants_agent_bounded(void **state)
{
	struct ag_upload_req req;
	struct ag_err err;
	struct tbuf in = { 0 };
	char agent[1000];

	(void)state;
	memset(agent, 'g', sizeof agent - 1);
	agent[sizeof agent - 1] = '\0';
	tbuf_pkt(&in, "want " OID_A " agent=%s\n", agent);
	tbuf_str(&in, "0000");
	assert_int_equal(parse(&req, &in, 0, &err), 0);
	assert_int_equal(strlen(req.agent), sizeof req.agent - 1);
	ag_upload_req_free(&req);
	tbuf_free(&in);
}

static void
test_wants_shallow_deepen(void **state)
{
	struct ag_upload_req req;
	struct ag_err err;
	struct tbuf in = { 0 };
	git_oid b;

	(void)state;
	git_oid_fromstr(&b, OID_B);
	tbuf_pkt(&in, "want " OID_A " shallow\n");
	tbuf_pkt(&in, "shallow " OID_B "\n");
	tbuf_pkt(&in, "shallow " OID_A "\n");
	tbuf_pkt(&in, "deepen 3\n");
	tbuf_str(&in, "0000");
	assert_int_equal(parse(&req, &in, 0, &err), 0);
	assert_int_equal(req.wants.n, 1);
	assert_int_equal(req.shallows.n, 2);
	assert_true(git_oid_equal(&req.shallows.v[0], &b));
	assert_int_equal(req.depth, 3);
	ag_upload_req_free(&req);
	tbuf_free(&in);

	/* The largest depth (git's "infinite"). */
	tbuf_pkt(&in, "want " OID_A "\n");
	tbuf_pkt(&in, "deepen 2147483647\n");
	tbuf_str(&in, "0000");
	assert_int_equal(parse(&req, &in, 0, &err), 0);
	assert_int_equal(req.depth, AG_UPLOAD_INFINITE_DEPTH);
	ag_upload_req_free(&req);
	tbuf_free(&in);

	/* Lines without a trailing LF are fine too. */
	tbuf_pkt(&in, "want " OID_A);
	tbuf_pkt(&in, "deepen 1");
	tbuf_str(&in, "0000");
	assert_int_equal(parse(&req, &in, 0, &err), 0);
	assert_int_equal(req.depth, 1);
	ag_upload_req_free(&req);
	tbuf_free(&in);
}

static void
test_wants_refused(void **state)
{
	struct tbuf in = { 0 };

	(void)state;
	expect_line_refused("want 0123", 0, AG_EINVAL, "bad want line");
	expect_line_refused("want " OID_A "0", 0, AG_EINVAL, "bad want");
	expect_line_refused("want 0123456789ABCDEF0123456789abcdef01234567",
	    0, AG_EINVAL, "bad want line");
	expect_line_refused("want 0123456789abcdef0123456789abcdef0123456g",
	    0, AG_EINVAL, "bad want line");
	expect_line_refused("want  " OID_A, 0, AG_EINVAL, "bad want line");
	expect_line_refused("want", 0, AG_EINVAL, "expected want");
	expect_line_refused("shallow " OID_A " x", 0, AG_EINVAL,
	    "bad shallow line");
	expect_line_refused("shallow 0123456789ABCDEF0123456789abcdef01234567",
	    0, AG_EINVAL, "bad shallow line");
	expect_line_refused("deepen 0", 0, AG_EINVAL, "deepen 0");
	expect_line_refused("deepen ", 0, AG_EINVAL, "without a depth");
	expect_line_refused("deepen -1", 0, AG_EINVAL, "bad deepen depth");
	expect_line_refused("deepen 1x", 0, AG_EINVAL, "bad deepen depth");
	expect_line_refused("deepen 2147483648", 0, AG_ETOOBIG,
	    "deepen depth above");
	expect_line_refused("deepen 99999999999999999999999", 0, AG_ETOOBIG,
	    "deepen depth above");
	expect_line_refused("deepen-since 17x", 0, AG_EINVAL,
	    "bad deepen-since time");
	expect_line_refused("deepen-since 0", 0, AG_EINVAL,
	    "deepen-since 0 is not a time");
	expect_line_refused("deepen-not ", 0, AG_EINVAL,
	    "bad deepen-not ref name");
	expect_line_refused("filter blob:none", 0, AG_EINVAL, "filter");
	/* v0 has no have lines in the wants section */
	expect_line_refused("have " OID_A, 0, AG_EINVAL, "expected want");
	expect_line_refused("done", 0, AG_EINVAL, "expected want");

	/* Capabilities ride on the first want only. */
	tbuf_pkt(&in, "want " OID_A "\n");
	tbuf_pkt(&in, "want " OID_B " side-band-64k\n");
	tbuf_str(&in, "0000");
	expect_refused(&in, 0, AG_EINVAL, "unexpected text after the id");
	tbuf_free(&in);

	/* A NUL inside a line. */
	tbuf_pktn(&in, "want " OID_A "\0x\n", 48);
	tbuf_str(&in, "0000");
	expect_refused(&in, 0, AG_EINVAL, "NUL byte");
	tbuf_free(&in);

	/* A delimiter or response-end inside the list. */
	tbuf_pkt(&in, "want " OID_A "\n");
	tbuf_str(&in, "0001");
	expect_refused(&in, 0, AG_EINVAL, "unexpected special packet");
	tbuf_free(&in);

	/* The stream ends inside the list. */
	tbuf_pkt(&in, "want " OID_A "\n");
	expect_refused(&in, 0, AG_EINVAL, "ended inside the want list");
	tbuf_free(&in);

	/* Framing errors come through. */
	tbuf_str(&in, "0032want ");
	expect_refused(&in, 0, AG_EINVAL, "truncated");
	tbuf_free(&in);
}

static void
test_wants_limit(void **state)
{
	struct tbuf in = { 0 };
	struct ag_upload_req req;
	struct ag_err err;
	size_t i;

	(void)state;
	for (i = 0; i < AG_UPLOAD_MAX_WANTS; i++)
		tbuf_pkt(&in, "want %040zx\n", i);
	tbuf_str(&in, "0000");
	/* At the limit: accepted. */
	assert_int_equal(parse(&req, &in, 0, &err), 0);
	assert_int_equal(req.wants.n, AG_UPLOAD_MAX_WANTS);
	ag_upload_req_free(&req);
	/* One more: refused, naming the limit. */
	in.len -= 4;
	tbuf_pkt(&in, "want %040x\n", 7);
	tbuf_str(&in, "0000");
	expect_refused(&in, 0, AG_ETOOBIG, "too many want lines (limit 65536)");
	tbuf_free(&in);
}

static void
test_wants_probe(void **state)
{
	struct tbuf in = { 0 };
	struct ag_upload_req req;
	struct ag_err err;

	(void)state;
	/* git's "0000" probe */
	tbuf_str(&in, "0000");
	assert_int_equal(parse(&req, &in, 0, &err), 0);
	assert_int_equal(req.wants.n, 0);
	assert_int_equal(req.saw_wants_flush, 1);
	ag_upload_req_free(&req);
	tbuf_free(&in);
	/* An empty body */
	assert_int_equal(parse(&req, &in, 0, &err), 0);
	assert_int_equal(req.wants.n, 0);
	assert_int_equal(req.saw_wants_flush, 0);
	ag_upload_req_free(&req);
}

static void
test_fetch_v2_args(void **state)
{
	struct tbuf in = { 0 };
	struct ag_upload_req req;
	struct ag_err err;
	git_oid a, b;

	(void)state;
	git_oid_fromstr(&a, OID_A);
	git_oid_fromstr(&b, OID_B);
	tbuf_pkt(&in, "thin-pack\n");
	tbuf_pkt(&in, "no-progress\n");
	tbuf_pkt(&in, "include-tag\n");
	tbuf_pkt(&in, "ofs-delta\n");
	tbuf_pkt(&in, "deepen-relative\n");
	tbuf_pkt(&in, "want " OID_A "\n");
	tbuf_pkt(&in, "want " OID_B "\n");
	tbuf_pkt(&in, "have " OID_B "\n");
	tbuf_pkt(&in, "shallow " OID_A "\n");
	tbuf_pkt(&in, "deepen 2\n");
	tbuf_pkt(&in, "done\n");
	tbuf_str(&in, "0000");
	assert_int_equal(parse(&req, &in, 1, &err), 0);
	assert_int_equal(req.caps, AG_CAP_THIN_PACK | AG_CAP_NO_PROGRESS |
	    AG_CAP_INCLUDE_TAG | AG_CAP_OFS_DELTA | AG_CAP_DEEPEN_RELATIVE);
	assert_int_equal(req.wants.n, 2);
	assert_true(git_oid_equal(&req.wants.v[0], &a));
	assert_int_equal(req.haves.n, 1);
	assert_true(git_oid_equal(&req.haves.v[0], &b));
	assert_int_equal(req.shallows.n, 1);
	assert_int_equal(req.depth, 2);
	assert_int_equal(req.done, 1);
	ag_upload_req_free(&req);
	tbuf_free(&in);

	/* No arguments at all. */
	tbuf_str(&in, "0000");
	assert_int_equal(parse(&req, &in, 1, &err), 0);
	assert_int_equal(req.wants.n, 0);
	assert_int_equal(req.done, 0);
	ag_upload_req_free(&req);
	tbuf_free(&in);
}

static void
test_fetch_v2_refused(void **state)
{
	struct tbuf in = { 0 };

	(void)state;
	expect_line_refused("frobnicate", 1, AG_EINVAL,
	    "unknown fetch argument \"frobnicate\"");
	expect_line_refused("done now", 1, AG_EINVAL, "unknown fetch argument");
	expect_line_refused("sideband-all", 1, AG_EINVAL, "not advertised");
	expect_line_refused("wait-for-done", 1, AG_EINVAL, "not advertised");
	expect_line_refused("want-ref refs/heads/main", 1, AG_EINVAL,
	    "not advertised");
	expect_line_refused("packfile-uris https", 1, AG_EINVAL,
	    "not advertised");
	/* v2 wants carry no capabilities */
	expect_line_refused("want " OID_A " ofs-delta", 1, AG_EINVAL,
	    "unexpected text after the id");
	expect_line_refused("have " OID_A " x", 1, AG_EINVAL, "bad have line");
	expect_line_refused("have 0123456789ABCDEF0123456789abcdef01234567",
	    1, AG_EINVAL, "bad have line");
	expect_line_refused("deepen 0", 1, AG_EINVAL, "deepen 0");
	expect_line_refused("deepen-since -5", 1, AG_EINVAL, "deepen-since");
	expect_line_refused("filter blob:none", 1, AG_EINVAL, "filter");

	/* The arguments end with a flush, not EOF or a delimiter. */
	tbuf_pkt(&in, "want " OID_A "\n");
	expect_refused(&in, 1, AG_EINVAL, "must end with a flush");
	tbuf_str(&in, "0001");
	expect_refused(&in, 1, AG_EINVAL, "must end with a flush");
	tbuf_free(&in);

	tbuf_pktn(&in, "done\0", 5);
	tbuf_str(&in, "0000");
	expect_refused(&in, 1, AG_EINVAL, "NUL byte");
	tbuf_free(&in);
}

/* A scratch repository with a small history. */
struct fx {
	char		*root;
	git_repository	*repo;
	struct ag_refs	*refs;
	git_oid		 c[3];		/* main: c[0] <- c[1] <- c[2] */
	git_oid		 tag;		/* annotated v1 -> c[1] */
	git_oid		 orphan;	/* a commit no ref reaches */
	char		 hex[3][GIT_OID_HEXSZ + 1];
	char		 taghex[GIT_OID_HEXSZ + 1];
};

static int
setup_repo(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	struct ag_err err = { 0, "" };
	git_signature *sig = NULL;
	git_object *target = NULL;
	git_reference *ref = NULL;

	git_libgit2_init();
	assert_non_null(fx);
	fx->root = scratch_dir("upload");
	assert_int_equal(ag_repo_create(fx->root, "demo", &err), 0);
	assert_int_equal(ag_repo_open(&fx->repo, fx->root, "demo", &err), 0);
	assert_int_equal(make_commit(&fx->c[0], fx->repo, NULL, "one\n",
	    "refs/heads/main"), 0);
	assert_int_equal(make_commit(&fx->c[1], fx->repo, &fx->c[0], "two\n",
	    "refs/heads/main"), 0);
	assert_int_equal(make_commit(&fx->c[2], fx->repo, &fx->c[1],
	    "three\n", "refs/heads/main"), 0);
	assert_int_equal(make_commit(&fx->orphan, fx->repo, NULL, "orphan\n",
	    NULL), 0);
	assert_int_equal(git_reference_create(&ref, fx->repo,
	    "refs/heads/dev", &fx->c[0], 0, "test"), 0);
	git_reference_free(ref);
	assert_int_equal(git_signature_new(&sig, "Test", "t@example.com",
	    1700000000, 0), 0);
	assert_int_equal(git_object_lookup(&target, fx->repo, &fx->c[1],
	    GIT_OBJECT_COMMIT), 0);
	assert_int_equal(git_tag_create(&fx->tag, fx->repo, "v1", target, sig,
	    "version 1\n", 0), 0);
	git_object_free(target);
	git_signature_free(sig);
	for (int i = 0; i < 3; i++)
		hexof(fx->hex[i], &fx->c[i]);
	hexof(fx->taghex, &fx->tag);
	assert_int_equal(ag_refs_load(&fx->refs, fx->repo, &err), 0);
	*state = fx;
	return 0;
}

static int
teardown_repo(void **state)
{
	struct fx *fx = *state;

	ag_refs_free(fx->refs);
	git_repository_free(fx->repo);
	rmtree(fx->root);
	free(fx->root);
	free(fx);
	git_libgit2_shutdown();
	return 0;
}

/* Runs one v0 (or v2) exchange; the response is left in m->out. */
static int
run_engine(struct fx *fx, const struct tbuf *in, int v2, struct mio *m,
    struct ag_err *err)
{
	struct ag_upload_opts o = { 0 };
	struct ag_io io;

	o.stateless = 1;
	mio_init(&io, m, in->p, in->len);
	ag_err_clear(err);
	return v2 ? ag_upload_v2(fx->repo, fx->refs, &io, &o, err) :
	    ag_upload_v0(fx->repo, fx->refs, &io, &o, err);
}

/*
 * Reads band packets from off until a flush: checks that every one is on
 * band 1, that the data is a pack, and returns its object count (after
 * indexing it, to know it is whole). Leaves off after the flush.
 */
static unsigned
read_pack(const struct tbuf *out, size_t *off, const char *scratch)
{
	struct tbuf pack = { 0 };
	struct tpkt p = { 0 };
	git_indexer *idx = NULL;
	git_indexer_options io = GIT_INDEXER_OPTIONS_INIT;
	git_indexer_progress st;
	unsigned count;
	int first = 1;

	for (;;) {
		assert_int_equal(tpkt_next(out->p, out->len, off, &p), 1);
		if (p.type == AG_PKT_FLUSH)
			break;
		assert_int_equal(p.type, AG_PKT_DATA);
		assert_true(p.len >= 1);
		if ((unsigned char)p.data[0] != 1)
			fail_msg("band %d packet: %.*s", p.data[0],
			    (int)p.len - 1, p.data + 1);
		if (first && p.len > 1) {
			/* The first data on band 1 is the pack header. */
			assert_true(p.len >= 5);
			assert_memory_equal(p.data + 1, "PACK", 4);
			first = 0;
		}
		tbuf_add(&pack, p.data + 1, p.len - 1);
	}
	assert_true(pack.len >= 12 + 20);
	assert_memory_equal(pack.p, "PACK", 4);
	count = (unsigned)(unsigned char)pack.p[8] << 24 |
	    (unsigned)(unsigned char)pack.p[9] << 16 |
	    (unsigned)(unsigned char)pack.p[10] << 8 |
	    (unsigned)(unsigned char)pack.p[11];
	/* Shallow packs lack parents: index without connectivity checks. */
	io.verify = 0;
	memset(&st, 0, sizeof st);
	assert_int_equal(git_indexer_new(&idx, scratch, 0644, NULL, &io), 0);
	assert_int_equal(git_indexer_append(idx, pack.p, pack.len, &st), 0);
	assert_int_equal(git_indexer_commit(idx, &st), 0);
	assert_int_equal(st.total_objects, count);
	assert_int_equal(st.indexed_objects, count);
	git_indexer_free(idx);
	tbuf_free(&pack);
	return count;
}

static void
next_pkt(const struct mio *m, size_t *off, struct tpkt *p)
{
	if (tpkt_next(m->out.p, m->out.len, off, p) != 1)
		fail_msg("response ends early or is not pkt-lines (at %zu of "
		    "%zu)", *off, m->out.len);
}

static void
expect_line(const struct mio *m, size_t *off, const char *fmt, ...)
{
	struct tpkt p = { 0 };
	char want[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof want, fmt, ap);
	va_end(ap);
	next_pkt(m, off, &p);
	if (!tpkt_is(&p, want))
		fail_msg("expected \"%s\", got type %d \"%.*s\"", want, p.type,
		    (int)p.len, p.data ? p.data : "");
}

static void
expect_special(const struct mio *m, size_t *off, int type)
{
	struct tpkt p = { 0 };

	next_pkt(m, off, &p);
	if (p.type != type)
		fail_msg("expected special packet %d, got %d \"%.*s\"", type,
		    p.type, (int)p.len, p.data ? p.data : "");
}

static char *
pack_scratch(const struct fx *fx, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", fx->root, name) < 0)
		abort();
	assert_int_equal(mkdir(p, 0755), 0);
	return p;
}

/* Flux's exchange, byte for byte (DESIGN.md, Git protocol). */
static void
test_v0_flux_shallow(void **state)
{
	struct fx *fx = *state;
	struct tbuf in = { 0 };
	struct ag_err err;
	struct mio m;
	size_t off = 0, i, naks = 0;
	struct tpkt p = { 0 };
	char *dir = pack_scratch(fx, "flux");

	tbuf_pkt(&in, "want %s multi_ack_detailed side-band-64k ofs-delta "
	    "shallow no-progress agent=go-git/5.x\n", fx->hex[2]);
	tbuf_pkt(&in, "deepen 1\n");
	tbuf_str(&in, "0000");
	tbuf_pkt(&in, "done\n");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), 0);
	assert_int_equal(err.code, 0);
	expect_line(&m, &off, "shallow %s\n", fx->hex[2]);
	expect_special(&m, &off, AG_PKT_FLUSH);
	expect_line(&m, &off, "NAK\n");
	/* depth 1: the tip commit, its tree and its blob */
	assert_int_equal(read_pack(&m.out, &off, dir), 3);
	assert_int_equal(off, m.out.len);
	/* exactly one NAK in the whole answer */
	for (off = 0, i = 0; tpkt_next(m.out.p, m.out.len, &off, &p) == 1;
	    i++)
		if (tpkt_is(&p, "NAK\n"))
			naks++;
	assert_int_equal(naks, 1);
	mio_free(&m);
	tbuf_free(&in);
	rmtree(dir);
	free(dir);
}

/* deepen 2 from the tip: two commits, c[1] is the boundary. */
static void
test_v0_deepen_2(void **state)
{
	struct fx *fx = *state;
	struct tbuf in = { 0 };
	struct ag_err err;
	struct mio m;
	size_t off = 0;
	char *dir = pack_scratch(fx, "deepen2");

	tbuf_pkt(&in, "want %s side-band-64k shallow\n", fx->hex[2]);
	tbuf_pkt(&in, "deepen 2\n");
	tbuf_str(&in, "0000");
	tbuf_pkt(&in, "done\n");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), 0);
	expect_line(&m, &off, "shallow %s\n", fx->hex[1]);
	expect_special(&m, &off, AG_PKT_FLUSH);
	expect_line(&m, &off, "NAK\n");
	assert_int_equal(read_pack(&m.out, &off, dir), 6);
	assert_int_equal(off, m.out.len);
	mio_free(&m);
	tbuf_free(&in);
	rmtree(dir);
	free(dir);
}

static void
test_v0_full_clone(void **state)
{
	struct fx *fx = *state;
	struct tbuf in = { 0 };
	struct ag_err err;
	struct mio m;
	size_t off = 0;
	char *dir = pack_scratch(fx, "full"), *dir2 = pack_scratch(fx, "tag");

	tbuf_pkt(&in, "want %s multi_ack_detailed side-band-64k ofs-delta "
	    "agent=git/2.43.0\n", fx->hex[2]);
	tbuf_pkt(&in, "want %s\n", fx->hex[0]);
	tbuf_str(&in, "0000");
	tbuf_pkt(&in, "done\n");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), 0);
	expect_line(&m, &off, "NAK\n");
	/* three commits, three trees, three blobs */
	assert_int_equal(read_pack(&m.out, &off, dir), 9);
	assert_int_equal(off, m.out.len);
	mio_free(&m);
	tbuf_free(&in);

	/* include-tag adds the annotated tag that points into the pack */
	off = 0;
	tbuf_pkt(&in, "want %s side-band-64k include-tag\n", fx->hex[2]);
	tbuf_str(&in, "0000");
	tbuf_pkt(&in, "done\n");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), 0);
	expect_line(&m, &off, "NAK\n");
	assert_int_equal(read_pack(&m.out, &off, dir2), 10);
	mio_free(&m);
	tbuf_free(&in);
	rmtree(dir);
	rmtree(dir2);
	free(dir);
	free(dir2);
}

static void
test_v0_no_sideband(void **state)
{
	struct fx *fx = *state;
	struct tbuf in = { 0 };
	struct ag_err err;
	struct mio m;

	tbuf_pkt(&in, "want %s\n", fx->hex[0]);
	tbuf_str(&in, "0000");
	tbuf_pkt(&in, "done\n");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), 0);
	/* NAK, then the raw pack with no framing and no flush */
	assert_true(m.out.len > 8 + 12 + 20);
	assert_memory_equal(m.out.p, "0008NAK\nPACK", 12);
	assert_int_equal((unsigned char)m.out.p[8 + 11], 3);
	mio_free(&m);
	tbuf_free(&in);
}

static void
test_v0_haves(void **state)
{
	struct fx *fx = *state;
	struct tbuf in = { 0 };
	struct ag_err err;
	struct mio m;
	size_t off = 0;
	char *dir = pack_scratch(fx, "haves");

	tbuf_pkt(&in, "want %s multi_ack_detailed side-band-64k\n",
	    fx->hex[2]);
	tbuf_str(&in, "0000");
	tbuf_pkt(&in, "have %s\n", OID_A);	/* not ours */
	tbuf_pkt(&in, "have %s\n", fx->hex[1]);
	tbuf_pkt(&in, "done\n");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), 0);
	expect_line(&m, &off, "ACK %s common\n", fx->hex[1]);
	expect_line(&m, &off, "ACK %s\n", fx->hex[1]);
	/* only what c[1] lacks: c[2], its tree and blob */
	assert_int_equal(read_pack(&m.out, &off, dir), 3);
	assert_int_equal(off, m.out.len);
	mio_free(&m);
	tbuf_free(&in);

	/* A stateless round without done: negotiation answer only. */
	off = 0;
	tbuf_pkt(&in, "want %s multi_ack_detailed side-band-64k\n",
	    fx->hex[2]);
	tbuf_str(&in, "0000");
	tbuf_pkt(&in, "have %s\n", OID_A);
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), 0);
	expect_line(&m, &off, "NAK\n");
	assert_int_equal(off, m.out.len);
	mio_free(&m);
	tbuf_free(&in);

	/* A have line that is not one */
	off = 0;
	tbuf_pkt(&in, "want %s\n", fx->hex[2]);
	tbuf_str(&in, "0000");
	tbuf_pkt(&in, "have 1234\n");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), AG_EINVAL);
	expect_line(&m, &off, "ERR bad have line \"have 1234\"\n");
	mio_free(&m);
	tbuf_free(&in);
	rmtree(dir);
	free(dir);
}

static void
test_v0_not_our_ref(void **state)
{
	struct fx *fx = *state;
	struct tbuf in = { 0 };
	struct ag_err err;
	struct mio m;
	char ohex[GIT_OID_HEXSZ + 1];
	size_t off = 0;

	/* An id the repository does not hold */
	tbuf_pkt(&in, "want %s side-band-64k\n", OID_A);
	tbuf_str(&in, "0000");
	tbuf_pkt(&in, "done\n");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), AG_ENOTFOUND);
	expect_line(&m, &off, "ERR upload-pack: not our ref %s\n", OID_A);
	assert_int_equal(off, m.out.len);
	mio_free(&m);
	tbuf_free(&in);

	/* A commit it holds that no ref reaches */
	off = 0;
	hexof(ohex, &fx->orphan);
	tbuf_pkt(&in, "want %s side-band-64k\n", fx->hex[2]);
	tbuf_pkt(&in, "want %s\n", ohex);
	tbuf_str(&in, "0000");
	tbuf_pkt(&in, "done\n");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), AG_ENOTFOUND);
	expect_line(&m, &off, "ERR upload-pack: not our ref %s\n", ohex);
	mio_free(&m);
	tbuf_free(&in);
}

static void
test_v0_reachable_and_tag_wants(void **state)
{
	struct fx *fx = *state;
	struct tbuf in = { 0 };
	struct ag_err err;
	struct mio m;
	size_t off = 0;
	char *dir = pack_scratch(fx, "reach");

	/* c[1]: no tip, but reachable (allow-reachable-sha1-in-want) */
	tbuf_pkt(&in, "want %s side-band-64k\n", fx->hex[1]);
	tbuf_pkt(&in, "want %s\n", fx->taghex);
	tbuf_str(&in, "0000");
	tbuf_pkt(&in, "done\n");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), 0);
	expect_line(&m, &off, "NAK\n");
	/* c[0], c[1] with trees and blobs, and the tag */
	assert_int_equal(read_pack(&m.out, &off, dir), 7);
	mio_free(&m);
	tbuf_free(&in);
	rmtree(dir);
	free(dir);
}

static void
test_v0_probe_and_bad_request(void **state)
{
	struct fx *fx = *state;
	struct tbuf in = { 0 };
	struct ag_err err;
	struct mio m;
	size_t off = 0;

	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), 0);
	assert_int_equal(m.out.len, 0);
	mio_free(&m);
	tbuf_free(&in);

	tbuf_pkt(&in, "want nope\n");
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 0, &m, &err), AG_EINVAL);
	expect_line(&m, &off, "ERR bad want line \"want nope\"\n");
	mio_free(&m);
	tbuf_free(&in);
}

/* The ids of the fixture's refs, as ls-refs prints them. */
static void
test_v2_ls_refs(void **state)
{
	struct fx *fx = *state;
	struct tbuf in = { 0 };
	struct ag_err err;
	struct mio m;
	size_t off = 0;
	char dev[GIT_OID_HEXSZ + 1];

	hexof(dev, &fx->c[0]);
	tbuf_pkt(&in, "command=ls-refs\n");
	tbuf_pkt(&in, "agent=git/2.43.0\n");
	tbuf_pkt(&in, "object-format=sha1\n");
	tbuf_str(&in, "0001");
	tbuf_pkt(&in, "peel\n");
	tbuf_pkt(&in, "symrefs\n");
	tbuf_pkt(&in, "ref-prefix refs/heads/\n");
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), 0);
	expect_line(&m, &off, "%s refs/heads/dev\n", dev);
	expect_line(&m, &off, "%s refs/heads/main\n", fx->hex[2]);
	expect_special(&m, &off, AG_PKT_FLUSH);
	assert_int_equal(off, m.out.len);
	mio_free(&m);
	tbuf_free(&in);

	/* HEAD as a symref, tags peeled */
	off = 0;
	tbuf_pkt(&in, "command=ls-refs\n");
	tbuf_str(&in, "0001");
	tbuf_pkt(&in, "peel\n");
	tbuf_pkt(&in, "symrefs\n");
	tbuf_pkt(&in, "ref-prefix HEAD\n");
	tbuf_pkt(&in, "ref-prefix refs/tags/\n");
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), 0);
	expect_line(&m, &off, "%s HEAD symref-target:refs/heads/main\n",
	    fx->hex[2]);
	expect_line(&m, &off, "%s refs/tags/v1 peeled:%s\n", fx->taghex,
	    fx->hex[1]);
	expect_special(&m, &off, AG_PKT_FLUSH);
	assert_int_equal(off, m.out.len);
	mio_free(&m);
	tbuf_free(&in);

	/* No arguments: everything, no symref or peel decoration */
	off = 0;
	tbuf_pkt(&in, "command=ls-refs\n");
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), 0);
	expect_line(&m, &off, "%s HEAD\n", fx->hex[2]);
	expect_line(&m, &off, "%s refs/heads/dev\n", dev);
	expect_line(&m, &off, "%s refs/heads/main\n", fx->hex[2]);
	expect_line(&m, &off, "%s refs/tags/v1\n", fx->taghex);
	expect_special(&m, &off, AG_PKT_FLUSH);
	assert_int_equal(off, m.out.len);
	mio_free(&m);
	tbuf_free(&in);

	/* An unknown argument is an error */
	off = 0;
	tbuf_pkt(&in, "command=ls-refs\n");
	tbuf_str(&in, "0001");
	tbuf_pkt(&in, "frob\n");
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), AG_EINVAL);
	expect_line(&m, &off, "ERR unknown ls-refs argument \"frob\"\n");
	mio_free(&m);
	tbuf_free(&in);
}

static void
test_v2_fetch(void **state)
{
	struct fx *fx = *state;
	struct tbuf in = { 0 };
	struct ag_err err;
	struct mio m;
	size_t off = 0;
	char *d1 = pack_scratch(fx, "v2a"), *d2 = pack_scratch(fx, "v2b"),
	    *d3 = pack_scratch(fx, "v2c");

	tbuf_pkt(&in, "command=fetch\n");
	tbuf_pkt(&in, "agent=git/2.43.0\n");
	tbuf_str(&in, "0001");
	tbuf_pkt(&in, "ofs-delta\n");
	tbuf_pkt(&in, "no-progress\n");
	tbuf_pkt(&in, "want %s\n", fx->hex[2]);
	tbuf_pkt(&in, "done\n");
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), 0);
	expect_line(&m, &off, "packfile\n");
	assert_int_equal(read_pack(&m.out, &off, d1), 9);
	assert_int_equal(off, m.out.len);
	mio_free(&m);
	tbuf_free(&in);

	/* deepen 1: a shallow-info section first */
	off = 0;
	tbuf_pkt(&in, "command=fetch\n");
	tbuf_str(&in, "0001");
	tbuf_pkt(&in, "want %s\n", fx->hex[2]);
	tbuf_pkt(&in, "deepen 1\n");
	tbuf_pkt(&in, "done\n");
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), 0);
	expect_line(&m, &off, "shallow-info\n");
	expect_line(&m, &off, "shallow %s\n", fx->hex[2]);
	expect_special(&m, &off, AG_PKT_DELIM);
	expect_line(&m, &off, "packfile\n");
	assert_int_equal(read_pack(&m.out, &off, d2), 3);
	assert_int_equal(off, m.out.len);
	mio_free(&m);
	tbuf_free(&in);

	/* Negotiation without done: ready, so the pack follows. */
	off = 0;
	tbuf_pkt(&in, "command=fetch\n");
	tbuf_str(&in, "0001");
	tbuf_pkt(&in, "want %s\n", fx->hex[2]);
	tbuf_pkt(&in, "have %s\n", fx->hex[1]);
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), 0);
	expect_line(&m, &off, "acknowledgments\n");
	expect_line(&m, &off, "ACK %s\n", fx->hex[1]);
	expect_line(&m, &off, "ready\n");
	expect_special(&m, &off, AG_PKT_DELIM);
	expect_line(&m, &off, "packfile\n");
	assert_int_equal(read_pack(&m.out, &off, d3), 3);
	assert_int_equal(off, m.out.len);
	mio_free(&m);
	tbuf_free(&in);

	/* Nothing in common and no done: NAK and stop. */
	off = 0;
	tbuf_pkt(&in, "command=fetch\n");
	tbuf_str(&in, "0001");
	tbuf_pkt(&in, "want %s\n", fx->hex[2]);
	tbuf_pkt(&in, "have %s\n", OID_B);
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), 0);
	expect_line(&m, &off, "acknowledgments\n");
	expect_line(&m, &off, "NAK\n");
	expect_special(&m, &off, AG_PKT_FLUSH);
	assert_int_equal(off, m.out.len);
	mio_free(&m);
	tbuf_free(&in);

	/* not our ref */
	off = 0;
	tbuf_pkt(&in, "command=fetch\n");
	tbuf_str(&in, "0001");
	tbuf_pkt(&in, "want %s\n", OID_A);
	tbuf_pkt(&in, "done\n");
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), AG_ENOTFOUND);
	expect_line(&m, &off, "ERR upload-pack: not our ref %s\n", OID_A);
	mio_free(&m);
	tbuf_free(&in);

	rmtree(d1);
	rmtree(d2);
	rmtree(d3);
	free(d1);
	free(d2);
	free(d3);
}

static void
test_v2_bad_requests(void **state)
{
	struct fx *fx = *state;
	struct tbuf in = { 0 };
	struct ag_err err;
	struct mio m;
	size_t off = 0;

	tbuf_pkt(&in, "command=frobnicate\n");
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), AG_EINVAL);
	expect_line(&m, &off, "ERR unknown command \"frobnicate\"\n");
	mio_free(&m);
	tbuf_free(&in);

	off = 0;
	tbuf_pkt(&in, "command=fetch\n");
	tbuf_pkt(&in, "object-format=sha256\n");
	tbuf_str(&in, "0001");
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), AG_EINVAL);
	expect_line(&m, &off, "ERR object-format sha256 is not served\n");
	mio_free(&m);
	tbuf_free(&in);

	off = 0;
	tbuf_pkt(&in, "command=fetch\n");
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), AG_EINVAL);
	expect_line(&m, &off, "ERR fetch without any want\n");
	mio_free(&m);
	tbuf_free(&in);

	off = 0;
	tbuf_pkt(&in, "command=%s\n", "ls-refs-with-a-very-long-name-indeed");
	tbuf_str(&in, "0000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), AG_EINVAL);
	expect_line(&m, &off, "ERR bad command line "
	    "\"command=ls-refs-with-a-very-long-name-indeed\"\n");
	mio_free(&m);
	tbuf_free(&in);

	/* Only flushes: nothing asked, nothing said. */
	tbuf_str(&in, "00000000");
	assert_int_equal(run_engine(fx, &in, 1, &m, &err), 0);
	assert_int_equal(m.out.len, 0);
	mio_free(&m);
	tbuf_free(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wants_caps),
		cmocka_unit_test(test_wants_agent_bounded),
		cmocka_unit_test(test_wants_shallow_deepen),
		cmocka_unit_test(test_wants_refused),
		cmocka_unit_test(test_wants_limit),
		cmocka_unit_test(test_wants_probe),
		cmocka_unit_test(test_fetch_v2_args),
		cmocka_unit_test(test_fetch_v2_refused),
#define REPO_TEST(f) \
	cmocka_unit_test_setup_teardown(f, setup_repo, teardown_repo)
		REPO_TEST(test_v0_flux_shallow),
		REPO_TEST(test_v0_deepen_2),
		REPO_TEST(test_v0_full_clone),
		REPO_TEST(test_v0_no_sideband),
		REPO_TEST(test_v0_haves),
		REPO_TEST(test_v0_not_our_ref),
		REPO_TEST(test_v0_reachable_and_tag_wants),
		REPO_TEST(test_v0_probe_and_bad_request),
		REPO_TEST(test_v2_ls_refs),
		REPO_TEST(test_v2_fetch),
		REPO_TEST(test_v2_bad_requests),
#undef REPO_TEST
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

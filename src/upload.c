/*
 * upload-pack over any byte stream: request parsing with hard limits,
 * have negotiation (multi_ack, multi_ack_detailed, no-done), shallow
 * boundaries, and a pack streamed from libgit2's packbuilder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auger/maintain.h"
#include "auger/oidset.h"
#include "auger/packwrite.h"
#include "auger/upload.h"

void
ag_upload_req_init(struct ag_upload_req *req)
{
	memset(req, 0, sizeof *req);
}

static void
oidvec_free(struct ag_oidvec *v)
{
	free(v->v);
	memset(v, 0, sizeof *v);
}

void
ag_upload_req_free(struct ag_upload_req *req)
{
	oidvec_free(&req->wants);
	oidvec_free(&req->haves);
	oidvec_free(&req->shallows);
	while (req->ndeepen_not > 0)
		free(req->deepen_not[--req->ndeepen_not]);
	free(req->deepen_not);
	req->deepen_not = NULL;
}

static int
oidvec_push(struct ag_oidvec *v, const git_oid *id, size_t max,
    const char *what, struct ag_err *err)
{
	git_oid *nv;

	if (v->n >= max)
		return ag_err_set(err, AG_ETOOBIG,
		    "too many %s lines (limit %zu)", what, max);
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		if ((nv = realloc(v->v, v->cap * sizeof *nv)) == NULL)
			return ag_err_set(err, AG_EINTERNAL, "out of memory");
		v->v = nv;
	}
	git_oid_cpy(&v->v[v->n++], id);
	return 0;
}

/* Parses exactly 40 lowercase hex digits followed by end or a space. */
static int
parse_oid(git_oid *out, const char *p, const char **end)
{
	size_t i;

	for (i = 0; i < GIT_OID_HEXSZ; i++) {
		char c = p[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
	}
	if (p[GIT_OID_HEXSZ] != '\0' && p[GIT_OID_HEXSZ] != ' ')
		return -1;
	if (git_oid_fromstrn(out, p, GIT_OID_HEXSZ) < 0)
		return -1;
	*end = p + GIT_OID_HEXSZ;
	return 0;
}

static int
parse_depth(int *out, const char *p, struct ag_err *err)
{
	long long v = 0;
	const char *s = p;

	if (*s == '\0')
		return ag_err_set(err, AG_EINVAL, "deepen without a depth");
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return ag_err_set(err, AG_EINVAL,
			    "bad deepen depth \"%.32s\"", p);
		v = v * 10 + (*s - '0');
		if (v > AG_UPLOAD_INFINITE_DEPTH)
			return ag_err_set(err, AG_ETOOBIG,
			    "deepen depth above %d", AG_UPLOAD_INFINITE_DEPTH);
	}
	if (v == 0)
		return ag_err_set(err, AG_EINVAL, "deepen 0 is not a depth");
	*out = (int)v;
	return 0;
}

/* "deepen-since <seconds since the epoch>", as git's parse_timestamp. */
static int
parse_since(int64_t *out, const char *p, struct ag_err *err)
{
	int64_t v = 0;
	const char *s = p;

	if (*s == '\0')
		return ag_err_set(err, AG_EINVAL, "deepen-since without a time");
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
			return ag_err_set(err, AG_EINVAL,
			    "bad deepen-since time \"%.32s\"", p);
		v = v * 10 + (*s - '0');
	}
	if (v == 0)
		return ag_err_set(err, AG_EINVAL, "deepen-since 0 is not a "
		    "time");
	*out = v;
	return 0;
}

static int
push_deepen_not(struct ag_upload_req *req, const char *ref,
    struct ag_err *err)
{
	char **nv;

	if (*ref == '\0' || strlen(ref) > 1024)
		return ag_err_set(err, AG_EINVAL, "bad deepen-not ref name");
	if (req->ndeepen_not >= AG_UPLOAD_MAX_DEEPEN_NOT)
		return ag_err_set(err, AG_ETOOBIG, "more than %d deepen-not "
		    "lines", AG_UPLOAD_MAX_DEEPEN_NOT);
	if ((nv = realloc(req->deepen_not, (req->ndeepen_not + 1) *
	    sizeof *nv)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	req->deepen_not = nv;
	if ((nv[req->ndeepen_not] = strdup(ref)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	req->ndeepen_not++;
	return 0;
}

static const struct {
	const char	*name;
	unsigned	 bit;
} capnames[] = {
	{ "multi_ack", AG_CAP_MULTI_ACK },
	{ "multi_ack_detailed", AG_CAP_MULTI_ACK_DETAILED },
	{ "no-done", AG_CAP_NO_DONE },
	{ "side-band", AG_CAP_SIDE_BAND },
	{ "side-band-64k", AG_CAP_SIDE_BAND_64K },
	{ "ofs-delta", AG_CAP_OFS_DELTA },
	{ "no-progress", AG_CAP_NO_PROGRESS },
	{ "include-tag", AG_CAP_INCLUDE_TAG },
	{ "shallow", AG_CAP_SHALLOW },
	{ "deepen-relative", AG_CAP_DEEPEN_RELATIVE },
	{ "thin-pack", AG_CAP_THIN_PACK },
};

/* Reads the space-separated capabilities after the first want. */
static void
parse_caps(struct ag_upload_req *req, const char *p)
{
	const char *e;
	size_t len, i;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		len = (size_t)(e - p);
		if (len > 6 && strncmp(p, "agent=", 6) == 0) {
			snprintf(req->agent, sizeof req->agent, "%.*s",
			    (int)(len - 6), p + 6);
		}
		for (i = 0; i < sizeof capnames / sizeof capnames[0]; i++) {
			if (strlen(capnames[i].name) == len &&
			    strncmp(capnames[i].name, p, len) == 0)
				req->caps |= capnames[i].bit;
		}
		p = e;
	}
}

/* One line common to the v0 wants section and v2 fetch arguments. */
static int
parse_arg(struct ag_upload_req *req, const char *line, int v2,
    struct ag_err *err)
{
	const char *end, *arg;
	git_oid id;

	if (strncmp(line, "want ", 5) == 0) {
		if (parse_oid(&id, line + 5, &end) < 0)
			return ag_err_set(err, AG_EINVAL,
			    "bad want line \"%.60s\"", line);
		/* Capabilities ride on the first want only (v0). */
		if (!v2 && req->wants.n == 0 && *end == ' ')
			parse_caps(req, end + 1);
		else if (*end != '\0')
			return ag_err_set(err, AG_EINVAL,
			    "unexpected text after the id in \"%.60s\"", line);
		return oidvec_push(&req->wants, &id, AG_UPLOAD_MAX_WANTS,
		    "want", err);
	}
	if (strncmp(line, "shallow ", 8) == 0) {
		if (parse_oid(&id, line + 8, &end) < 0 || *end != '\0')
			return ag_err_set(err, AG_EINVAL,
			    "bad shallow line \"%.60s\"", line);
		return oidvec_push(&req->shallows, &id, AG_UPLOAD_MAX_SHALLOWS,
		    "shallow", err);
	}
	if (strncmp(line, "deepen ", 7) == 0)
		return parse_depth(&req->depth, line + 7, err);
	if (strncmp(line, "deepen-since ", 13) == 0)
		return parse_since(&req->deepen_since, line + 13, err);
	if (strncmp(line, "deepen-not ", 11) == 0)
		return push_deepen_not(req, line + 11, err);
	if (strncmp(line, "filter ", 7) == 0)
		return ag_err_set(err, AG_EINVAL,
		    "partial clone (filter) is not supported");
	if (!v2)
		return ag_err_set(err, AG_EINVAL,
		    "expected want, shallow or deepen, got \"%.60s\"", line);
	if (strncmp(line, "have ", 5) == 0) {
		if (parse_oid(&id, line + 5, &end) < 0 || *end != '\0')
			return ag_err_set(err, AG_EINVAL,
			    "bad have line \"%.60s\"", line);
		return oidvec_push(&req->haves, &id, AG_UPLOAD_MAX_HAVES,
		    "have", err);
	}
	arg = line;
	if (strcmp(arg, "done") == 0)
		req->done = 1;
	else if (strcmp(arg, "thin-pack") == 0)
		req->caps |= AG_CAP_THIN_PACK;
	else if (strcmp(arg, "no-progress") == 0)
		req->caps |= AG_CAP_NO_PROGRESS;
	else if (strcmp(arg, "include-tag") == 0)
		req->caps |= AG_CAP_INCLUDE_TAG;
	else if (strcmp(arg, "ofs-delta") == 0)
		req->caps |= AG_CAP_OFS_DELTA;
	else if (strcmp(arg, "deepen-relative") == 0)
		req->caps |= AG_CAP_DEEPEN_RELATIVE;
	else if (strcmp(arg, "wait-for-done") == 0 ||
	    strcmp(arg, "sideband-all") == 0 ||
	    strncmp(arg, "want-ref ", 9) == 0 ||
	    strncmp(arg, "packfile-uris ", 14) == 0)
		return ag_err_set(err, AG_EINVAL,
		    "fetch argument \"%.40s\" was not advertised", arg);
	else
		return ag_err_set(err, AG_EINVAL,
		    "unknown fetch argument \"%.60s\"", arg);
	return 0;
}

int
ag_upload_parse_wants(struct ag_upload_req *req, struct ag_pkt_reader *r,
    struct ag_err *err)
{
	const char *line;
	size_t len;
	int t;

	for (;;) {
		if ((t = ag_pkt_read(r, &line, &len, 1, err)) < 0)
			return t;
		if (t == AG_PKT_EOF) {
			if (req->wants.n == 0)
				return 0;
			return ag_err_set(err, AG_EINVAL,
			    "request ended inside the want list");
		}
		if (t == AG_PKT_FLUSH) {
			req->saw_wants_flush = 1;
			return 0;
		}
		if (t != AG_PKT_DATA)
			return ag_err_set(err, AG_EINVAL,
			    "unexpected special packet in the want list");
		if (strlen(line) != len)
			return ag_err_set(err, AG_EINVAL,
			    "NUL byte inside a want-list line");
		if ((t = parse_arg(req, line, 0, err)) < 0)
			return t;
	}
}

int
ag_upload_parse_fetch_v2(struct ag_upload_req *req, struct ag_pkt_reader *r,
    struct ag_err *err)
{
	const char *line;
	size_t len;
	int t;

	for (;;) {
		if ((t = ag_pkt_read(r, &line, &len, 1, err)) < 0)
			return t;
		if (t == AG_PKT_FLUSH)
			return 0;
		if (t != AG_PKT_DATA)
			return ag_err_set(err, AG_EINVAL,
			    "fetch arguments must end with a flush packet");
		if (strlen(line) != len)
			return ag_err_set(err, AG_EINVAL,
			    "NUL byte inside a fetch argument");
		if ((t = parse_arg(req, line, 1, err)) < 0)
			return t;
	}
}

/* Sends ERR to the client (outside any side band) and returns code. */
static int
send_err(struct ag_pkt_writer *w, struct ag_err *err, int code)
{
	if (err != NULL && err->code == 0)
		ag_err_set(err, code, "upload-pack failed");
	ag_pkt_printf(w, "ERR %s\n", err != NULL ? err->msg : "failed");
	ag_pkt_push(w);
	return code;
}

/* The object type of id, or GIT_OBJECT_INVALID if it is missing. */
static git_object_t
obj_type(git_odb *odb, const git_oid *id)
{
	size_t size;
	git_object_t type;

	if (!git_odb_exists_ext(odb, id, GIT_ODB_LOOKUP_NO_REFRESH))
		return GIT_OBJECT_INVALID;
	if (git_odb_read_header(&size, &type, odb, id) < 0)
		return GIT_OBJECT_INVALID;
	return type;
}

/* Peels id through tags to a commit; 1 if it is not a commit-ish. */
static int
peel_commit(git_oid *out, git_repository *repo, const git_oid *id)
{
	git_object *obj = NULL, *peeled = NULL;
	int r = 1;

	if (git_object_lookup(&obj, repo, id, GIT_OBJECT_ANY) < 0) {
		git_error_clear();
		return 1;
	}
	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) == 0) {
		git_oid_cpy(out, git_object_id(peeled));
		r = 0;
	}
	git_error_clear();
	git_object_free(peeled);
	git_object_free(obj);
	return r;
}

/*
 * allow-tip-sha1-in-want and allow-reachable-sha1-in-want: a want must be
 * a ref tip, or a commit reachable from one.
 */
static int
check_wants(git_repository *repo, git_odb *odb, const struct ag_refs *refs,
    const struct ag_upload_req *req, struct ag_err *err)
{
	git_oid *tips = NULL, c;
	size_t i, ntips = 0;
	char hex[GIT_OID_HEXSZ + 1];
	int r = 0, reach;

	for (i = 0; i < req->wants.n && r == 0; i++) {
		const git_oid *w = &req->wants.v[i];
		git_object_t t = obj_type(odb, w);

		git_oid_tostr(hex, sizeof hex, w);
		if (t == GIT_OBJECT_INVALID && ag_refs_is_tip(refs, w)) {
			/*
			 * An advertised tip is there: it could not be read
			 * (out of descriptors, say), which is no "not our ref".
			 */
			const git_error *ge = git_error_last();

			r = ag_err_set(err, AG_EIO, "upload-pack: cannot read "
			    "%s now (%s); try again", hex, ge != NULL &&
			    ge->message != NULL ? ge->message :
			    strerror(errno));
			break;
		}
		if (t == GIT_OBJECT_INVALID) {
			r = ag_err_set(err, AG_ENOTFOUND,
			    "upload-pack: not our ref %s", hex);
			break;
		}
		if (ag_refs_is_tip(refs, w))
			continue;
		if (t != GIT_OBJECT_COMMIT) {
			r = ag_err_set(err, AG_ENOTFOUND,
			    "upload-pack: not our ref %s", hex);
			break;
		}
		if (tips == NULL) {
			if ((tips = calloc(refs->n + 1, sizeof *tips)) == NULL)
				return ag_err_set(err, AG_EINTERNAL,
				    "out of memory");
			for (size_t j = 0; j < refs->n; j++) {
				const struct ag_ref *rf = &refs->v[j];

				if (peel_commit(&c, repo, rf->has_peeled ?
				    &rf->peeled : &rf->oid) == 0)
					git_oid_cpy(&tips[ntips++], &c);
			}
		}
		reach = ntips == 0 ? 0 :
		    git_graph_reachable_from_any(repo, w, tips, ntips);
		git_error_clear();
		if (reach != 1)
			r = ag_err_set(err, AG_ENOTFOUND,
			    "upload-pack: not our ref %s", hex);
	}
	free(tips);
	return r;
}

/* Negotiation state shared by v0 and v2. */
struct nego {
	git_repository	*repo;
	git_odb		*odb;
	const struct ag_upload_req *req;
	struct ag_oidvec common;	/* haves we have, in order */
	int		 ready_known, ready;
};

/* ok_to_give_up: every wanted commit has a common commit in its past. */
static int
nego_ready(struct nego *n)
{
	size_t i, j, from;
	git_oid c;
	int found;

	if (n->ready_known)
		return n->ready;
	n->ready_known = 1;
	n->ready = 0;
	if (n->common.n == 0)
		return 0;
	/* Look only at the newest commons: enough in practice, bounded. */
	from = n->common.n > 32 ? n->common.n - 32 : 0;
	for (i = 0; i < n->req->wants.n; i++) {
		if (peel_commit(&c, n->repo, &n->req->wants.v[i]) != 0)
			continue;
		found = 0;
		for (j = from; j < n->common.n && !found; j++) {
			if (git_oid_equal(&c, &n->common.v[j]) ||
			    git_graph_descendant_of(n->repo, &c,
			    &n->common.v[j]) == 1)
				found = 1;
		}
		git_error_clear();
		if (!found)
			return 0;
	}
	n->ready = 1;
	return 1;
}

/* Records a have; returns 1 if it is ours (common), 0 if not. */
static int
nego_have(struct nego *n, const git_oid *id, struct ag_err *err)
{
	git_object_t t = obj_type(n->odb, id);

	if (t == GIT_OBJECT_INVALID)
		return 0;
	if (t == GIT_OBJECT_COMMIT) {
		if (oidvec_push(&n->common, id, AG_UPLOAD_MAX_HAVES, "have",
		    err) < 0)
			return -1;
		n->ready_known = 0;
	}
	return 1;
}

/* Everything the pack depends on, worked out before it is built. */
struct plan {
	int		 shallow_mode;	/* any deepen or client shallow */
	struct ag_oidset depth;		/* commit -> BFS depth (deepen) */
	int		 limit;		/* depth of the boundary */
	struct ag_oidset client_shallow; /* val 1: unshallowed */
	struct ag_oidset have;		/* commits the client has */
	struct ag_oidset send;		/* commits to send */
	struct ag_oidvec order;		/* commits to send, walk order */
	struct ag_oidvec shallow_out;	/* "shallow" lines */
	struct ag_oidvec unshallow_out;	/* "unshallow" lines */
	struct ag_oidset border;	/* deepen-since/not: stop here */
};

static void
plan_free(struct plan *p)
{
	ag_oidset_clear(&p->depth);
	ag_oidset_clear(&p->border);
	ag_oidset_clear(&p->client_shallow);
	ag_oidset_clear(&p->have);
	ag_oidset_clear(&p->send);
	oidvec_free(&p->order);
	oidvec_free(&p->shallow_out);
	oidvec_free(&p->unshallow_out);
}

/* A FIFO of commit ids for the breadth-first walks below. */
struct queue {
	git_oid	*v;
	int	*d;
	size_t	 head, n, cap;
};

static int
queue_push(struct queue *q, const git_oid *id, int d)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		git_oid *nv = realloc(q->v, cap * sizeof *nv);
		int *nd;

		if (nv == NULL)
			return -1;
		q->v = nv;
		if ((nd = realloc(q->d, cap * sizeof *nd)) == NULL)
			return -1;
		q->d = nd;
		q->cap = cap;
	}
	git_oid_cpy(&q->v[q->n], id);
	q->d[q->n++] = d;
	return 0;
}

static void
queue_free(struct queue *q)
{
	free(q->v);
	free(q->d);
}

/* Breadth-first from starts: each commit's least depth, up to limit. */
static int
walk_depths(struct plan *p, git_repository *repo, const git_oid *starts,
    size_t nstarts, int limit, struct ag_err *err)
{
	struct queue q = { 0 };
	git_commit *c = NULL;
	git_oid id;
	unsigned int i, np;
	int d, r = -1;
	size_t k;

	for (k = 0; k < nstarts; k++) {
		if (peel_commit(&id, repo, &starts[k]) != 0)
			continue;
		if (ag_oidset_put(&p->depth, &id, 1) == 1 &&
		    queue_push(&q, &id, 1) < 0)
			goto oom;
	}
	while (q.head < q.n) {
		git_oid_cpy(&id, &q.v[q.head]);
		d = q.d[q.head++];
		if (d >= limit)
			continue;
		if (git_commit_lookup(&c, repo, &id) < 0) {
			r = ag_err_git(err, "reading commit");
			goto out;
		}
		np = git_commit_parentcount(c);
		for (i = 0; i < np; i++) {
			const git_oid *pid = git_commit_parent_id(c, i);

			/*
			 * Breadth first, so the first path to a commit is
			 * its shortest: a commit reached again (one want an
			 * ancestor of another) keeps its smaller depth.
			 */
			if (ag_oidset_get(&p->depth, pid, NULL))
				continue;
			if (ag_oidset_put(&p->depth, pid, d + 1) < 0 ||
			    queue_push(&q, pid, d + 1) < 0)
				goto oom;
		}
		git_commit_free(c);
		c = NULL;
	}
	r = 0;
	goto out;
oom:
	r = ag_err_set(err, AG_EINTERNAL, "out of memory");
out:
	git_commit_free(c);
	queue_free(&q);
	return r;
}

/*
 * Walks from starts over parents. mode 0 marks what the client has
 * (stopping at its shallow commits); mode 1 collects what to send,
 * skipping what it has and stopping at shallow boundaries.
 */
static int
walk_mark(struct plan *p, git_repository *repo, const git_oid *starts,
    size_t nstarts, int mode, struct ag_err *err)
{
	struct queue q = { 0 };
	struct ag_oidset seen;
	git_commit *c = NULL;
	git_oid id;
	unsigned int i, np;
	int v, expand, r = -1, d;
	size_t k;

	ag_oidset_init(&seen);
	for (k = 0; k < nstarts; k++) {
		if (peel_commit(&id, repo, &starts[k]) != 0)
			continue;
		if (ag_oidset_put(&seen, &id, 0) == 1 &&
		    queue_push(&q, &id, 0) < 0)
			goto oom;
	}
	while (q.head < q.n) {
		git_oid_cpy(&id, &q.v[q.head++]);
		expand = 1;
		if (mode == 0) {
			if (ag_oidset_put(&p->have, &id, 1) < 0)
				goto oom;
			if (ag_oidset_get(&p->client_shallow, &id, NULL))
				expand = 0;
		} else {
			int cs = ag_oidset_get(&p->client_shallow, &id, &v);

			if (ag_oidset_get(&p->have, &id, NULL)) {
				/*
				 * The client has it. Past it lies what the
				 * client has too, except below commits being
				 * unshallowed: while there are such, walk on
				 * through what it has (adding nothing) to
				 * reach them; stop at its other shallows.
				 */
				expand = p->unshallow_out.n > 0 ?
				    !(cs && v == 0) : 0;
			} else {
				if (ag_oidset_put(&p->send, &id, 1) < 0 ||
				    oidvec_push(&p->order, &id, SIZE_MAX,
				    "commit", err) < 0)
					goto oom;
				if (cs && v == 0)
					expand = 0;
				if (p->limit > 0 &&
				    ag_oidset_get(&p->depth, &id, &d) &&
				    d >= p->limit)
					expand = 0;
				if (ag_oidset_get(&p->border, &id, NULL))
					expand = 0;
			}
		}
		if (!expand)
			continue;
		if (git_commit_lookup(&c, repo, &id) < 0) {
			r = ag_err_git(err, "reading commit");
			goto out;
		}
		np = git_commit_parentcount(c);
		for (i = 0; i < np; i++) {
			const git_oid *pid = git_commit_parent_id(c, i);

			if (ag_oidset_put(&seen, pid, 0) == 1 &&
			    queue_push(&q, pid, 0) < 0)
				goto oom;
		}
		git_commit_free(c);
		c = NULL;
	}
	r = 0;
	goto out;
oom:
	r = ag_err_set(err, AG_EINTERNAL, "out of memory");
out:
	git_commit_free(c);
	ag_oidset_clear(&seen);
	queue_free(&q);
	return r;
}

/* Whether the request deepens by time or by excluded refs. */
static int
by_revlist(const struct ag_upload_req *req)
{
	return req->deepen_since > 0 || req->ndeepen_not > 0;
}

/* Whether the request asks for a shallow section at all. */
static int
deepening(const struct ag_upload_req *req)
{
	return req->depth > 0 || by_revlist(req);
}

/* Puts starts and all their ancestors in set; stops at what it holds. */
static int
mark_ancestors(struct ag_oidset *set, git_repository *repo,
    const git_oid *starts, size_t n, struct ag_err *err)
{
	struct queue q = { 0 };
	git_commit *c = NULL;
	git_oid id;
	unsigned int i, np;
	size_t k;
	int r = -1;

	for (k = 0; k < n; k++)
		if (ag_oidset_put(set, &starts[k], 1) == 1 &&
		    queue_push(&q, &starts[k], 0) < 0)
			goto oom;
	while (q.head < q.n) {
		git_oid_cpy(&id, &q.v[q.head++]);
		if (git_commit_lookup(&c, repo, &id) < 0) {
			r = ag_err_git(err, "reading commit");
			goto out;
		}
		np = git_commit_parentcount(c);
		for (i = 0; i < np; i++) {
			const git_oid *pid = git_commit_parent_id(c, i);

			if (ag_oidset_put(set, pid, 1) == 1 &&
			    queue_push(&q, pid, 0) < 0)
				goto oom;
		}
		git_commit_free(c);
		c = NULL;
	}
	r = 0;
	goto out;
oom:
	r = ag_err_set(err, AG_EINTERNAL, "out of memory");
out:
	git_commit_free(c);
	queue_free(&q);
	return r;
}

/*
 * deepen-since and deepen-not, as git's "rev-list --max-age=T wants --not
 * <refs>" (upload-pack.c, deepen_by_rev_list): the commits kept are those
 * reachable from the wants that are neither older than T, nor ancestors
 * of a commit older than T met on the way, nor reachable from a
 * deepen-not ref. A kept commit with a parent not kept is the boundary.
 */
static int
plan_revlist(struct plan *p, git_repository *repo,
    const struct ag_upload_req *req, struct ag_err *err)
{
	struct ag_oidset un, reach;
	struct queue q = { 0 };
	git_oid *old = NULL, *nots = NULL, id, *nv;
	size_t nold = 0, capold = 0, nnots = 0, i, kept = 0;
	git_reference *ref = NULL;
	git_object *peeled = NULL;
	git_commit *c = NULL;
	unsigned int j, np;
	int r = -1, border;

	ag_oidset_init(&un);
	ag_oidset_init(&reach);
	if ((nots = calloc(req->ndeepen_not + 1, sizeof *nots)) == NULL)
		goto oom;
	for (i = 0; i < req->ndeepen_not; i++) {
		if (git_reference_dwim(&ref, repo, req->deepen_not[i]) < 0 ||
		    git_reference_peel(&peeled, ref, GIT_OBJECT_COMMIT) < 0) {
			git_error_clear();
			r = ag_err_set(err, AG_EINVAL, "deepen-not is not a ref: "
			    "%.200s", req->deepen_not[i]);
			goto out;
		}
		git_oid_cpy(&nots[nnots++], git_object_id(peeled));
		git_object_free(peeled);
		git_reference_free(ref);
		peeled = NULL;
		ref = NULL;
	}
	if (mark_ancestors(&un, repo, nots, nnots, err) < 0)
		goto out;
	for (i = 0; i < req->wants.n; i++)
		if (peel_commit(&id, repo, &req->wants.v[i]) == 0 &&
		    ag_oidset_put(&reach, &id, 1) == 1 &&
		    queue_push(&q, &id, 0) < 0)
			goto oom;
	while (q.head < q.n) {
		git_oid_cpy(&id, &q.v[q.head++]);
		if (ag_oidset_get(&un, &id, NULL))
			continue;
		if (git_commit_lookup(&c, repo, &id) < 0) {
			r = ag_err_git(err, "reading commit");
			goto out;
		}
		if (req->deepen_since > 0 &&
		    (int64_t)git_commit_time(c) < req->deepen_since) {
			if (nold == capold) {
				capold = capold ? capold * 2 : 16;
				if ((nv = realloc(old, capold * sizeof *nv)) ==
				    NULL)
					goto oom;
				old = nv;
			}
			git_oid_cpy(&old[nold++], &id);
		} else {
			np = git_commit_parentcount(c);
			for (j = 0; j < np; j++) {
				const git_oid *pid = git_commit_parent_id(c, j);

				if (ag_oidset_put(&reach, pid, 1) == 1 &&
				    queue_push(&q, pid, 0) < 0)
					goto oom;
			}
		}
		git_commit_free(c);
		c = NULL;
	}
	/* What an old commit reaches is out too (revision.c, max_age). */
	if (mark_ancestors(&un, repo, old, nold, err) < 0)
		goto out;
	for (i = 0; i < reach.cap; i++) {
		const git_oid *k = &reach.keys[i];
		int v;

		if (!reach.used[i] || ag_oidset_get(&un, k, NULL))
			continue;
		kept++;
		if (git_commit_lookup(&c, repo, k) < 0) {
			r = ag_err_git(err, "reading commit");
			goto out;
		}
		border = 0;
		np = git_commit_parentcount(c);
		for (j = 0; j < np && !border; j++) {
			const git_oid *pid = git_commit_parent_id(c, j);

			if (!ag_oidset_get(&reach, pid, NULL) ||
			    ag_oidset_get(&un, pid, NULL))
				border = 1;
		}
		git_commit_free(c);
		c = NULL;
		if (border) {
			if (ag_oidset_put(&p->border, k, 1) < 0)
				goto oom;
			if (!ag_oidset_get(&p->client_shallow, k, NULL) &&
			    oidvec_push(&p->shallow_out, k, SIZE_MAX,
			    "shallow", err) < 0)
				goto out;
		} else if (ag_oidset_get(&p->client_shallow, k, &v) &&
		    v == 0) {
			ag_oidset_put(&p->client_shallow, k, 1);
			if (oidvec_push(&p->unshallow_out, k, SIZE_MAX,
			    "unshallow", err) < 0)
				goto out;
		}
	}
	if (kept == 0) {
		r = ag_err_set(err, AG_EINVAL, "no commits selected for "
		    "shallow requests (deepen-since or deepen-not excludes "
		    "every wanted commit)");
		goto out;
	}
	r = 0;
	goto out;
oom:
	r = ag_err_set(err, AG_EINTERNAL, "out of memory");
out:
	git_commit_free(c);
	git_object_free(peeled);
	git_reference_free(ref);
	ag_oidset_clear(&un);
	ag_oidset_clear(&reach);
	queue_free(&q);
	free(old);
	free(nots);
	return r;
}

/*
 * Works out the shallow boundary (gitprotocol-pack, "Shallow clone and
 * fetch"): "deepen N" counts from the wants, deepen-relative from the
 * client's current shallow commits; commits at the limit become shallow,
 * client shallow commits above it are unshallowed.
 */
static int
plan_shallow(struct plan *p, git_repository *repo,
    const struct ag_upload_req *req, struct ag_err *err)
{
	size_t i;
	int d;

	for (i = 0; i < req->shallows.n; i++)
		if (ag_oidset_put(&p->client_shallow, &req->shallows.v[i], 0) <
		    0)
			return ag_err_set(err, AG_EINTERNAL, "out of memory");
	if (req->depth > 0 && by_revlist(req))
		return ag_err_set(err, AG_EINVAL, "deepen and deepen-since (or "
		    "deepen-not) cannot be used together");
	if (by_revlist(req))
		return plan_revlist(p, repo, req, err);
	if (req->depth == 0)
		return 0;
	if (req->caps & AG_CAP_DEEPEN_RELATIVE) {
		p->limit = req->depth >= AG_UPLOAD_INFINITE_DEPTH ?
		    AG_UPLOAD_INFINITE_DEPTH : req->depth + 1;
		if (walk_depths(p, repo, req->shallows.v, req->shallows.n,
		    p->limit, err) < 0)
			return -1;
	} else {
		p->limit = req->depth;
		if (walk_depths(p, repo, req->wants.v, req->wants.n, p->limit,
		    err) < 0)
			return -1;
	}
	for (i = 0; i < p->depth.cap; i++) {
		if (!p->depth.used[i] || p->depth.vals[i] < p->limit)
			continue;
		if (ag_oidset_get(&p->client_shallow, &p->depth.keys[i], NULL))
			continue;
		if (oidvec_push(&p->shallow_out, &p->depth.keys[i], SIZE_MAX,
		    "shallow", err) < 0)
			return -1;
	}
	for (i = 0; i < req->shallows.n; i++) {
		if (ag_oidset_get(&p->depth, &req->shallows.v[i], &d) &&
		    d < p->limit) {
			ag_oidset_put(&p->client_shallow, &req->shallows.v[i],
			    1);
			if (oidvec_push(&p->unshallow_out, &req->shallows.v[i],
			    SIZE_MAX, "unshallow", err) < 0)
				return -1;
		}
	}
	return 0;
}

static int
plan_make(struct plan *p, git_repository *repo,
    const struct ag_upload_req *req, const struct ag_oidvec *common,
    struct ag_err *err)
{
	memset(p, 0, sizeof *p);
	p->shallow_mode = deepening(req) || req->shallows.n > 0;
	if (plan_shallow(p, repo, req, err) < 0)
		return -1;
	if (walk_mark(p, repo, common->v, common->n, 0, err) < 0)
		return -1;
	return walk_mark(p, repo, req->wants.v, req->wants.n, 1, err);
}

static int
send_shallow_lines(struct ag_pkt_writer *w, const struct plan *p,
    const char *prefix)
{
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;

	for (i = 0; i < p->shallow_out.n; i++) {
		git_oid_tostr(hex, sizeof hex, &p->shallow_out.v[i]);
		ag_pkt_printf(w, "%sshallow %s\n", prefix, hex);
	}
	for (i = 0; i < p->unshallow_out.n; i++) {
		git_oid_tostr(hex, sizeof hex, &p->unshallow_out.v[i]);
		ag_pkt_printf(w, "%sunshallow %s\n", prefix, hex);
	}
	return w->failed ? AG_EIO : 0;
}

/* Streams pack bytes to the client, with keepalives while it is built. */
struct sender {
	struct ag_pkt_writer *w;
	int		 band;		/* 0: raw pack, else side-band */
	int		 keepalive_ms;
	struct timespec	 last;
	int		 failed;
	int		(*cancelled)(void *);
	void		*cancel_arg;
};

static long
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 +
	    (now.tv_nsec - since->tv_nsec) / 1000000;
}

static int
pack_progress(int stage, uint32_t current, uint32_t total, void *payload)
{
	struct sender *s = payload;

	(void)stage;
	(void)current;
	(void)total;
	/* A build for a client that left stops here, not at its end. */
	if (s->cancelled != NULL && s->cancelled(s->cancel_arg)) {
		s->failed = 1;
		return -1;
	}
	if (s->band && elapsed_ms(&s->last) >= s->keepalive_ms) {
		/* An empty band-1 packet: "0005\1", as git sends. */
		if (ag_pkt_band(s->w, 1, "", 0) < 0 || ag_pkt_push(s->w) < 0) {
			s->failed = 1;
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &s->last);
	}
	return 0;
}

static int
pack_chunk(void *buf, size_t size, void *payload)
{
	struct sender *s = payload;
	int rc;

	rc = s->band ? ag_pkt_band(s->w, 1, buf, size) :
	    ag_pkt_raw(s->w, buf, size);
	if (rc < 0) {
		s->failed = 1;
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->last);
	return 0;
}

/*
 * The objects of a pack, gathered in the order they go: the commits, then
 * tags, then trees and blobs as the trees are walked. What the client has
 * is left out: each sent commit's tree is walked beside its parent's, and
 * only what differs from the parent goes in (col_pair).
 */
struct collect {
	git_repository		*repo;
	struct ag_packlist	 list;
	struct ag_oidset	 seen;	/* in the list */
	struct ag_oidset	 have;	/* trees and blobs the client has */
	struct ag_oidvec	 roots;	/* root trees still to walk */
	struct sender		*s;
	size_t			 steps;
};

static int
col_add(struct collect *c, const git_oid *id, git_object_t type)
{
	int r;

	if (ag_oidset_get(&c->have, id, NULL))
		return 0;
	if ((r = ag_oidset_put(&c->seen, id, 0)) <= 0)
		return r;
	return ag_packlist_add(&c->list, id, type);
}

/*
 * Walks the tree id: into the list (have 0), or into the client's set
 * (have 1). A subtree already in either set is not walked again.
 */
static int
col_tree(struct collect *c, const git_oid *id, int have, struct ag_err *err)
{
	struct ag_oidvec stack = { 0 };
	git_tree *t = NULL;
	git_oid cur;
	size_t i, n;
	int r = -1, k;

	if (oidvec_push(&stack, id, SIZE_MAX, "tree", err) < 0)
		return -1;
	while (stack.n > 0) {
		git_oid_cpy(&cur, &stack.v[--stack.n]);
		if (ag_oidset_get(&c->have, &cur, NULL) ||
		    (!have && ag_oidset_get(&c->seen, &cur, NULL)))
			continue;
		if ((have ? ag_oidset_put(&c->have, &cur, 0) :
		    col_add(c, &cur, GIT_OBJECT_TREE)) < 0)
			goto oom;
		if (++c->steps % 1024 == 0 && pack_progress(0, 0, 0, c->s)) {
			r = ag_err_set(err, AG_EIO, "client went away");
			goto out;
		}
		if (git_tree_lookup(&t, c->repo, &cur) < 0) {
			r = ag_err_git(err, "reading tree");
			goto out;
		}
		n = git_tree_entrycount(t);
		for (i = n; i-- > 0;) {
			const git_tree_entry *e = git_tree_entry_byindex(t, i);
			const git_oid *eid = git_tree_entry_id(e);

			switch (git_tree_entry_type(e)) {
			case GIT_OBJECT_TREE:
				if (oidvec_push(&stack, eid, SIZE_MAX, "tree",
				    err) < 0)
					goto out;
				break;
			case GIT_OBJECT_BLOB:
				k = have ? ag_oidset_put(&c->have, eid, 0) :
				    col_add(c, eid, GIT_OBJECT_BLOB);
				if (k < 0)
					goto oom;
				break;
			default:	/* a submodule's commit: not ours */
				break;
			}
		}
		git_tree_free(t);
		t = NULL;
	}
	r = 0;
	goto out;
oom:
	r = ag_err_set(err, AG_EINTERNAL, "out of memory");
out:
	git_tree_free(t);
	oidvec_free(&stack);
	return r;
}

/* Adds what id is: a tag chain, a commit (and its tree), a tree, a blob. */
static int
col_object(struct collect *c, const git_oid *id, struct ag_err *err)
{
	git_object *obj = NULL;
	git_oid cur;
	int r = 0;

	git_oid_cpy(&cur, id);
	for (;;) {
		if (git_object_lookup(&obj, c->repo, &cur, GIT_OBJECT_ANY) < 0)
			return ag_err_git(err, "reading object");
		switch (git_object_type(obj)) {
		case GIT_OBJECT_TAG:
			if (col_add(c, &cur, GIT_OBJECT_TAG) < 0)
				r = ag_err_set(err, AG_EINTERNAL,
				    "out of memory");
			git_oid_cpy(&cur, git_tag_target_id((git_tag *)obj));
			git_object_free(obj);
			if (r < 0)
				return r;
			continue;
		case GIT_OBJECT_COMMIT:
			if (col_add(c, &cur, GIT_OBJECT_COMMIT) < 0 ||
			    oidvec_push(&c->roots, git_commit_tree_id(
			    (git_commit *)obj), SIZE_MAX, "tree", err) < 0)
				r = ag_err_set(err, AG_EINTERNAL,
				    "out of memory");
			break;
		case GIT_OBJECT_TREE:
			r = col_tree(c, &cur, 0, err);
			break;
		default:
			if (col_add(c, &cur, git_object_type(obj)) < 0)
				r = ag_err_set(err, AG_EINTERNAL,
				    "out of memory");
		}
		git_object_free(obj);
		return r;
	}
}

/* One step of col_pair: a tree and the same path in the parent's tree. */
struct pair {
	git_oid	id, pid;
};

/*
 * Walks the tree id of a sent commit beside pid, the same tree of its
 * parent: what the parent has at the same path is left out (it goes with
 * the parent, or the client holds it), and only what differs is walked,
 * as git's "sparse" walk does. phave: the client has the parent; its
 * entries then become bases a thin pack may use.
 */
static int
col_pair(struct collect *c, const git_oid *id, const git_oid *pid, int phave,
    struct ag_err *err)
{
	struct pair *st = NULL, *ns;
	size_t n = 0, cap = 0, i, ne;
	git_tree *t = NULL, *pt = NULL;
	struct pair cur;
	int r = -1;

#define PAIR_PUSH(a, b) do {						\
	if (n == cap) {							\
		cap = cap ? cap * 2 : 64;				\
		if ((ns = realloc(st, cap * sizeof *st)) == NULL)	\
			goto oom;					\
		st = ns;						\
	}								\
	git_oid_cpy(&st[n].id, (a));					\
	git_oid_cpy(&st[n].pid, (b));					\
	n++;								\
} while (0)
	PAIR_PUSH(id, pid);
	while (n > 0) {
		cur = st[--n];
		if (phave && ag_oidset_put(&c->have, &cur.pid, 0) < 0)
			goto oom;
		if (git_oid_equal(&cur.id, &cur.pid) ||
		    ag_oidset_get(&c->have, &cur.id, NULL) ||
		    ag_oidset_get(&c->seen, &cur.id, NULL))
			continue;
		if (col_add(c, &cur.id, GIT_OBJECT_TREE) < 0)
			goto oom;
		if (++c->steps % 1024 == 0 && pack_progress(0, 0, 0, c->s)) {
			r = ag_err_set(err, AG_EIO, "client went away");
			goto out;
		}
		if (git_tree_lookup(&t, c->repo, &cur.id) < 0 ||
		    git_tree_lookup(&pt, c->repo, &cur.pid) < 0) {
			r = ag_err_git(err, "reading tree");
			goto out;
		}
		ne = git_tree_entrycount(t);
		for (i = 0; i < ne; i++) {
			const git_tree_entry *e = git_tree_entry_byindex(t, i);
			const git_tree_entry *pe = git_tree_entry_byname(pt,
			    git_tree_entry_name(e));
			const git_oid *eid = git_tree_entry_id(e);
			git_object_t et = git_tree_entry_type(e);

			if (pe != NULL && git_tree_entry_type(pe) != et)
				pe = NULL;
			if (pe != NULL && git_oid_equal(eid,
			    git_tree_entry_id(pe))) {
				if (phave && ag_oidset_put(&c->have, eid,
				    0) < 0)
					goto oom;
				continue;
			}
			if (et == GIT_OBJECT_TREE) {
				if (pe != NULL)
					PAIR_PUSH(eid, git_tree_entry_id(pe));
				else if (col_tree(c, eid, 0, err) < 0)
					goto out;
			} else if (et == GIT_OBJECT_BLOB) {
				if (col_add(c, eid, GIT_OBJECT_BLOB) < 0 ||
				    (pe != NULL && phave && ag_oidset_put(
				    &c->have, git_tree_entry_id(pe), 0) < 0))
					goto oom;
			}
		}
		git_tree_free(t);
		git_tree_free(pt);
		t = pt = NULL;
	}
#undef PAIR_PUSH
	r = 0;
	goto out;
oom:
	r = ag_err_set(err, AG_EINTERNAL, "out of memory");
out:
	git_tree_free(t);
	git_tree_free(pt);
	free(st);
	return r;
}

/*
 * The trees of the sent commits, oldest first: each beside its first
 * parent's when the parent is sent too or the client has it, else whole.
 */
static int
col_trees(struct collect *c, const struct plan *p, struct ag_err *err)
{
	git_commit *cm = NULL, *pc = NULL;
	size_t k;
	int r = -1, phave;

	for (k = p->order.n; k-- > 0;) {
		const git_oid *pid;

		if (git_commit_lookup(&cm, c->repo, &p->order.v[k]) < 0) {
			r = ag_err_git(err, "reading commit");
			goto out;
		}
		pid = git_commit_parentcount(cm) > 0 ?
		    git_commit_parent_id(cm, 0) : NULL;
		phave = pid != NULL && ag_oidset_get(&p->have, pid, NULL);
		if (pid != NULL && (phave ||
		    ag_oidset_get(&p->send, pid, NULL))) {
			if (git_commit_lookup(&pc, c->repo, pid) < 0) {
				r = ag_err_git(err, "reading commit");
				goto out;
			}
			if (col_pair(c, git_commit_tree_id(cm),
			    git_commit_tree_id(pc), phave, err) < 0)
				goto out;
			git_commit_free(pc);
			pc = NULL;
		} else if (col_tree(c, git_commit_tree_id(cm), 0, err) < 0)
			goto out;
		git_commit_free(cm);
		cm = NULL;
	}
	r = 0;
out:
	git_commit_free(cm);
	git_commit_free(pc);
	return r;
}

/* Adds annotated tags that point into the pack (include-tag). */
static int
col_tags(struct collect *c, const struct ag_refs *refs,
    const struct ag_oidset *sent, struct ag_err *err)
{
	size_t i;

	for (i = 0; i < refs->n; i++) {
		const struct ag_ref *rf = &refs->v[i];

		if (rf->has_peeled && ag_oidset_get(sent, &rf->peeled, NULL) &&
		    !ag_oidset_get(&c->seen, &rf->oid, NULL) &&
		    col_object(c, &rf->oid, err) < 0)
			return -1;
	}
	return 0;
}

static int
col_pack(struct collect *c, const struct ag_refs *refs,
    const struct ag_upload_req *req, const struct ag_oidvec *common,
    const struct plan *p, struct ag_err *err)
{
	size_t i;

	(void)common;	/* the client's commits are in p->have */
	for (i = 0; i < p->order.n; i++)
		if (col_add(c, &p->order.v[i], GIT_OBJECT_COMMIT) < 0)
			return ag_err_set(err, AG_EINTERNAL, "out of memory");
	/* Wanted tags and non-commits go in as themselves. */
	for (i = 0; i < req->wants.n; i++)
		if (!ag_oidset_get(&c->seen, &req->wants.v[i], NULL) &&
		    !ag_oidset_get(&p->have, &req->wants.v[i], NULL) &&
		    col_object(c, &req->wants.v[i], err) < 0)
			return -1;
	if ((req->caps & AG_CAP_INCLUDE_TAG) &&
	    col_tags(c, refs, &p->send, err) < 0)
		return -1;
	if (col_trees(c, p, err) < 0)
		return -1;
	/* Roots of wanted tags' commits that are not sent as history. */
	for (i = 0; i < c->roots.n; i++)
		if (col_tree(c, &c->roots.v[i], 0, err) < 0)
			return -1;
	return 0;
}

/* 1 when no maintained pack covers the wants; else 0 or an error. */
static int
send_whole_pack(git_repository *repo, const struct ag_upload_req *req,
    struct sender *s, struct ag_err *err)
{
	char path[4400];
	unsigned char *buf;
	ssize_t n;
	int fd, r = 0;

	if (!ag_maintain_covering_pack(path, sizeof path, repo, req->wants.v,
	    req->wants.n))
		return 1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 1;	/* pruned meanwhile: build one */
	if ((buf = malloc(65536)) == NULL) {
		close(fd);
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	while ((n = read(fd, buf, 65536)) > 0)
		if (pack_chunk(buf, (size_t)n, s) < 0) {
			r = ag_err_set(err, AG_EIO, "client went away");
			break;
		}
	if (n < 0)
		r = ag_err_set(err, AG_EIO, "reading the pack: %s",
		    strerror(errno));
	free(buf);
	close(fd);
	return r;
}

static int
build_pack(git_repository *repo, const struct ag_refs *refs,
    const struct ag_upload_req *req, const struct ag_oidvec *common,
    struct plan *p, struct sender *s, struct ag_upload_stats *stats,
    struct ag_err *err)
{
	struct collect c;
	struct ag_packwrite_opts wo;
	struct ag_packwrite_stats st;
	int r;

	/*
	 * A full clone of a maintained repository wants exactly the tips
	 * its pack was built from: the pack file is the answer, as is.
	 */
	if (!p->shallow_mode && common->n == 0 &&
	    (req->caps & AG_CAP_OFS_DELTA) &&
	    (r = send_whole_pack(repo, req, s, err)) != 1) {
		if (r == 0 && stats != NULL)
			stats->whole_pack = 1;
		return r;
	}
	memset(&c, 0, sizeof c);
	c.repo = repo;
	c.s = s;
	ag_packlist_init(&c.list);
	ag_oidset_init(&c.seen);
	ag_oidset_init(&c.have);
	if ((r = col_pack(&c, refs, req, common, p, err)) < 0) {
		if (s->failed)
			r = ag_err_set(err, AG_EIO, "client went away");
		goto out;
	}
	memset(&wo, 0, sizeof wo);
	/* go-git follows a chain of deltas only by offset: ask, and get it. */
	wo.ofs_delta = (req->caps & AG_CAP_OFS_DELTA) != 0;
	wo.thin_bases = (req->caps & AG_CAP_THIN_PACK) ? &c.have : NULL;
	wo.sink = pack_chunk;
	wo.progress = pack_progress;
	wo.arg = s;
	r = ag_packwrite(repo, &c.list, &wo, &st, err);
	if (r < 0 && s->failed)
		r = ag_err_set(err, AG_EIO, "client went away");
	if (r == 0 && stats != NULL) {
		stats->objects = st.objects;
		stats->reused = st.reused;
		stats->deltas = st.deltas;
		stats->bytes = st.bytes;
	}
out:
	ag_packlist_free(&c.list);
	ag_oidset_clear(&c.seen);
	ag_oidset_clear(&c.have);
	oidvec_free(&c.roots);
	return r;
}

/*
 * Sends the pack (after the negotiation lines): on side-band 1 when the
 * client asked for one, ending with a flush; errors go on band 3.
 */
static int
send_pack(git_repository *repo, const struct ag_refs *refs,
    const struct ag_upload_req *req, const struct ag_oidvec *common,
    struct plan *p, struct ag_pkt_writer *w, int band,
    const struct ag_upload_opts *o, struct ag_err *err)
{
	struct sender s;
	int r;

	memset(&s, 0, sizeof s);
	s.w = w;
	s.band = band;
	s.keepalive_ms = o->keepalive_ms > 0 ? o->keepalive_ms : 5000;
	s.cancelled = o->cancelled;
	s.cancel_arg = o->cancel_arg;
	clock_gettime(CLOCK_MONOTONIC, &s.last);
	if (ag_pkt_push(w) < 0)
		return ag_err_set(err, AG_EIO, "client went away");
	r = build_pack(repo, refs, req, common, p, &s, o->stats, err);
	if (r < 0) {
		if (band && !s.failed) {
			char msg[AG_ERR_MSG_MAX + 16];
			int n = snprintf(msg, sizeof msg, "error: %s\n",
			    err->msg);

			ag_pkt_band(w, 3, msg, (size_t)n);
			ag_pkt_push(w);
		}
		return r;
	}
	if (band)
		ag_pkt_flush(w);
	if (ag_pkt_push(w) < 0)
		return ag_err_set(err, AG_EIO, "client went away");
	return 0;
}

static int
band_of(unsigned caps)
{
	return (caps & (AG_CAP_SIDE_BAND | AG_CAP_SIDE_BAND_64K)) != 0;
}

int
ag_upload_v0(git_repository *repo, const struct ag_refs *refs,
    struct ag_io *io, const struct ag_upload_opts *o, struct ag_err *err)
{
	struct ag_pkt_reader *r = NULL;
	struct ag_pkt_writer *w = NULL;
	struct ag_upload_req req;
	struct nego n;
	struct plan p;
	char hex[GIT_OID_HEXSZ + 1], last[GIT_OID_HEXSZ + 1] = "";
	const char *line, *end;
	size_t len, nhave = 0;
	int t, rc = -1, multi, got_common = 0, got_other = 0, sent_ready = 0;
	git_oid id;

	ag_upload_req_init(&req);
	memset(&n, 0, sizeof n);
	memset(&p, 0, sizeof p);
	if ((r = malloc(sizeof *r)) == NULL || (w = malloc(sizeof *w)) == NULL) {
		free(r);
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	ag_pkt_reader_init(r, io, 0);
	ag_pkt_writer_init(w, io);
	if (git_repository_odb(&n.odb, repo) < 0) {
		rc = ag_err_git(err, "opening odb");
		goto out;
	}
	n.repo = repo;
	n.req = &req;
	if ((rc = ag_upload_parse_wants(&req, r, err)) < 0) {
		rc = send_err(w, err, rc);
		goto out;
	}
	if (req.wants.n == 0) {		/* nothing wanted, or the probe */
		rc = 0;
		goto out;
	}
	if ((rc = check_wants(repo, n.odb, refs, &req, err)) < 0) {
		rc = send_err(w, err, rc);
		goto out;
	}
	multi = (req.caps & AG_CAP_MULTI_ACK_DETAILED) ? 2 :
	    (req.caps & AG_CAP_MULTI_ACK) ? 1 : 0;
	if (deepening(&req) || req.shallows.n > 0) {
		if ((rc = plan_shallow(&p, repo, &req, err)) < 0) {
			rc = send_err(w, err, rc);
			goto out;
		}
		if (deepening(&req)) {
			send_shallow_lines(w, &p, "");
			ag_pkt_flush(w);
		}
		if (!o->stateless && ag_pkt_push(w) < 0) {
			rc = ag_err_set(err, AG_EIO, "client went away");
			goto out;
		}
	}
	/* get_common_commits: have lines, flushes, done. */
	for (;;) {
		t = ag_pkt_read(r, &line, &len, 1, err);
		if (t < 0) {
			rc = send_err(w, err, t);
			goto out;
		}
		if (t == AG_PKT_EOF) {
			if (o->stateless)	/* a stateless round ended */
				break;
			rc = 0;			/* the client hung up */
			goto out;
		}
		if (t == AG_PKT_FLUSH) {
			if (multi == 2 && got_common && !got_other &&
			    nego_ready(&n)) {
				sent_ready = 1;
				ag_pkt_printf(w, "ACK %s ready\n", last);
			}
			if (nhave == 0 || multi)
				ag_pkt_printf(w, "NAK\n");
			if ((req.caps & AG_CAP_NO_DONE) && sent_ready) {
				ag_pkt_printf(w, "ACK %s\n", last);
				goto pack;
			}
			if (o->stateless) {
				ag_pkt_push(w);
				rc = 0;
				goto out;
			}
			if (ag_pkt_push(w) < 0) {
				rc = ag_err_set(err, AG_EIO,
				    "client went away");
				goto out;
			}
			got_common = got_other = 0;
			continue;
		}
		if (t == AG_PKT_DATA && strncmp(line, "have ", 5) == 0) {
			if (parse_oid(&id, line + 5, &end) < 0 || *end != '\0') {
				ag_err_set(err, AG_EINVAL,
				    "bad have line \"%.60s\"", line);
				rc = send_err(w, err, AG_EINVAL);
				goto out;
			}
			if (++nhave > AG_UPLOAD_MAX_HAVES) {
				ag_err_set(err, AG_ETOOBIG,
				    "too many have lines (limit %d)",
				    AG_UPLOAD_MAX_HAVES);
				rc = send_err(w, err, AG_ETOOBIG);
				goto out;
			}
			git_oid_tostr(hex, sizeof hex, &id);
			switch (nego_have(&n, &id, err)) {
			case -1:
				rc = send_err(w, err, AG_EINTERNAL);
				goto out;
			case 0:
				got_other = 1;
				nhave--;
				if (multi && nego_ready(&n)) {
					if (multi == 2) {
						sent_ready = 1;
						ag_pkt_printf(w,
						    "ACK %s ready\n", hex);
					} else
						ag_pkt_printf(w,
						    "ACK %s continue\n", hex);
				}
				break;
			default:
				got_common = 1;
				memcpy(last, hex, sizeof last);
				if (multi == 2)
					ag_pkt_printf(w, "ACK %s common\n",
					    last);
				else if (multi)
					ag_pkt_printf(w, "ACK %s continue\n",
					    last);
				else if (nhave == 1)
					ag_pkt_printf(w, "ACK %s\n", last);
			}
			continue;
		}
		if (t == AG_PKT_DATA && strcmp(line, "done") == 0) {
			if (nhave > 0) {
				if (multi)
					ag_pkt_printf(w, "ACK %s\n", last);
			} else
				ag_pkt_printf(w, "NAK\n");
			goto pack;
		}
		ag_err_set(err, AG_EINVAL, "expected have or done, got \"%.60s\"",
		    t == AG_PKT_DATA ? line : "(special packet)");
		rc = send_err(w, err, AG_EINVAL);
		goto out;
	}
	/* A stateless request without "done": the round's answer is sent. */
	ag_pkt_push(w);
	rc = 0;
	goto out;
pack:
	/* The shallow part is worked out again, with the haves known. */
	plan_free(&p);
	if ((rc = plan_make(&p, repo, &req, &n.common, err)) < 0) {
		rc = send_err(w, err, rc);
		goto out;
	}
	rc = send_pack(repo, refs, &req, &n.common, &p, w, band_of(req.caps),
	    o, err);
out:
	plan_free(&p);
	oidvec_free(&n.common);
	git_odb_free(n.odb);
	ag_upload_req_free(&req);
	free(r);
	free(w);
	return rc;
}

static int
prefix_match(const char *name, char **prefixes, size_t n)
{
	size_t i;

	if (n == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

static int
ls_refs(const struct ag_refs *refs, struct ag_pkt_reader *r,
    struct ag_pkt_writer *w, struct ag_err *err)
{
	char *prefixes[AG_UPLOAD_MAX_PREFIXES];
	size_t np = 0, nmatch, i, len;
	const char *line;
	char hex[GIT_OID_HEXSZ + 1], phex[GIT_OID_HEXSZ + 1];
	int t, symrefs = 0, peel = 0, unborn = 0, overflow = 0, rc = 0;

	for (;;) {
		if ((t = ag_pkt_read(r, &line, &len, 1, err)) < 0) {
			rc = t;
			goto out;
		}
		if (t == AG_PKT_FLUSH)
			break;
		if (t != AG_PKT_DATA) {
			rc = ag_err_set(err, AG_EINVAL,
			    "ls-refs arguments must end with a flush packet");
			goto out;
		}
		if (strcmp(line, "symrefs") == 0)
			symrefs = 1;
		else if (strcmp(line, "peel") == 0)
			peel = 1;
		else if (strcmp(line, "unborn") == 0)
			unborn = 1;
		else if (strncmp(line, "ref-prefix ", 11) == 0) {
			if (np < AG_UPLOAD_MAX_PREFIXES) {
				if ((prefixes[np] = strdup(line + 11)) == NULL) {
					rc = ag_err_set(err, AG_EINTERNAL,
					    "out of memory");
					goto out;
				}
				np++;
			} else
				overflow = 1;
		} else {
			rc = ag_err_set(err, AG_EINVAL,
			    "unknown ls-refs argument \"%.60s\"", line);
			goto out;
		}
	}
	/* Past the limit, git's rule applies: list everything. */
	nmatch = overflow ? 0 : np;
	if (prefix_match("HEAD", prefixes, nmatch)) {
		if (refs->head_valid) {
			git_oid_tostr(hex, sizeof hex, &refs->head_oid);
			if (symrefs && refs->head_target != NULL)
				ag_pkt_printf(w, "%s HEAD symref-target:%s\n",
				    hex, refs->head_target);
			else
				ag_pkt_printf(w, "%s HEAD\n", hex);
		} else if (unborn && refs->head_target != NULL) {
			ag_pkt_printf(w, "unborn HEAD%s%s\n",
			    symrefs ? " symref-target:" : "",
			    symrefs ? refs->head_target : "");
		}
	}
	for (i = 0; i < refs->n; i++) {
		const struct ag_ref *rf = &refs->v[i];

		if (!prefix_match(rf->name, prefixes, nmatch))
			continue;
		git_oid_tostr(hex, sizeof hex, &rf->oid);
		if (peel && rf->has_peeled) {
			git_oid_tostr(phex, sizeof phex, &rf->peeled);
			ag_pkt_printf(w, "%s %s peeled:%s\n", hex, rf->name,
			    phex);
		} else
			ag_pkt_printf(w, "%s %s\n", hex, rf->name);
	}
	ag_pkt_flush(w);
out:
	for (i = 0; i < np; i++)
		free(prefixes[i]);
	return rc;
}

static int
fetch_v2(git_repository *repo, const struct ag_refs *refs,
    struct ag_pkt_reader *r, struct ag_pkt_writer *w,
    const struct ag_upload_opts *o, struct ag_err *err)
{
	struct ag_upload_req req;
	struct nego n;
	struct plan p;
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;
	int rc = -1, ready = 0;

	ag_upload_req_init(&req);
	memset(&n, 0, sizeof n);
	memset(&p, 0, sizeof p);
	if ((rc = ag_upload_parse_fetch_v2(&req, r, err)) < 0)
		goto out;
	if (git_repository_odb(&n.odb, repo) < 0) {
		rc = ag_err_git(err, "opening odb");
		goto out;
	}
	n.repo = repo;
	n.req = &req;
	if (req.wants.n == 0) {
		rc = ag_err_set(err, AG_EINVAL, "fetch without any want");
		goto out;
	}
	if ((rc = check_wants(repo, n.odb, refs, &req, err)) < 0)
		goto out;
	for (i = 0; i < req.haves.n; i++)
		if ((rc = nego_have(&n, &req.haves.v[i], err)) < 0)
			goto out;
	if (!req.done) {
		ag_pkt_printf(w, "acknowledgments\n");
		for (i = 0; i < n.common.n; i++) {
			git_oid_tostr(hex, sizeof hex, &n.common.v[i]);
			ag_pkt_printf(w, "ACK %s\n", hex);
		}
		if (n.common.n == 0)
			ag_pkt_printf(w, "NAK\n");
		if (nego_ready(&n)) {
			ag_pkt_printf(w, "ready\n");
			ready = 1;
		}
		if (!ready) {
			ag_pkt_flush(w);
			rc = 0;
			goto out;
		}
		ag_pkt_delim(w);
	}
	if ((rc = plan_make(&p, repo, &req, &n.common, err)) < 0) {
		rc = send_err(w, err, rc);
		goto out;
	}
	if (deepening(&req) || req.shallows.n > 0) {
		ag_pkt_printf(w, "shallow-info\n");
		send_shallow_lines(w, &p, "");
		ag_pkt_delim(w);
	}
	ag_pkt_printf(w, "packfile\n");
	rc = send_pack(repo, refs, &req, &n.common, &p, w, 1, o, err);
	if (rc < 0)
		rc = AG_EIO;	/* already reported on band 3 */
out:
	plan_free(&p);
	oidvec_free(&n.common);
	git_odb_free(n.odb);
	ag_upload_req_free(&req);
	return rc;
}

int
ag_upload_v2(git_repository *repo, const struct ag_refs *refs,
    struct ag_io *io, const struct ag_upload_opts *o, struct ag_err *err)
{
	struct ag_pkt_reader *r = NULL;
	struct ag_pkt_writer *w = NULL;
	const char *line;
	char cmd[32];
	size_t len;
	int t, rc = 0;

	if ((r = malloc(sizeof *r)) == NULL || (w = malloc(sizeof *w)) == NULL) {
		free(r);
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	ag_pkt_reader_init(r, io, 0);
	ag_pkt_writer_init(w, io);
	for (;;) {
		cmd[0] = '\0';
		/* command=X, then capability lines, then a delimiter. */
		for (;;) {
			if ((t = ag_pkt_read(r, &line, &len, 1, err)) < 0) {
				rc = send_err(w, err, t);
				goto out;
			}
			if (t == AG_PKT_EOF) {
				if (cmd[0] != '\0') {
					ag_err_set(err, AG_EINVAL,
					    "request ended after the command");
					rc = send_err(w, err, AG_EINVAL);
				}
				goto out;
			}
			if (t == AG_PKT_FLUSH && cmd[0] == '\0')
				continue;	/* an empty request */
			if (t == AG_PKT_DELIM || t == AG_PKT_FLUSH)
				break;
			if (t != AG_PKT_DATA) {
				ag_err_set(err, AG_EINVAL,
				    "unexpected response-end packet");
				rc = send_err(w, err, AG_EINVAL);
				goto out;
			}
			if (strncmp(line, "command=", 8) == 0) {
				if (cmd[0] != '\0' || len - 8 >= sizeof cmd) {
					ag_err_set(err, AG_EINVAL,
					    "bad command line \"%.60s\"", line);
					rc = send_err(w, err, AG_EINVAL);
					goto out;
				}
				memcpy(cmd, line + 8, len - 8 + 1);
			} else if (strncmp(line, "object-format=", 14) == 0 &&
			    strcmp(line + 14, "sha1") != 0) {
				ag_err_set(err, AG_EINVAL,
				    "object-format %.20s is not served",
				    line + 14);
				rc = send_err(w, err, AG_EINVAL);
				goto out;
			}
			/* agent=, server-option= and the like: noted only. */
		}
		if (cmd[0] == '\0') {
			ag_err_set(err, AG_EINVAL, "request without a command");
			rc = send_err(w, err, AG_EINVAL);
			goto out;
		}
		if (t == AG_PKT_FLUSH) {
			/* No arguments at all: parse an empty list. */
			static const char flush[] = "0000";
			struct ag_io_mem m;
			struct ag_io mio;
			struct ag_pkt_reader *er = malloc(sizeof *er);

			if (er == NULL) {
				rc = ag_err_set(err, AG_EINTERNAL,
				    "out of memory");
				goto out;
			}
			ag_io_mem_init(&mio, &m, flush, 4);
			ag_pkt_reader_init(er, &mio, 0);
			if (strcmp(cmd, "ls-refs") == 0)
				rc = ls_refs(refs, er, w, err);
			else if (strcmp(cmd, "fetch") == 0)
				rc = fetch_v2(repo, refs, er, w, o, err);
			else
				rc = ag_err_set(err, AG_EINVAL,
				    "unknown command \"%s\"", cmd);
			free(er);
		} else if (strcmp(cmd, "ls-refs") == 0)
			rc = ls_refs(refs, r, w, err);
		else if (strcmp(cmd, "fetch") == 0)
			rc = fetch_v2(repo, refs, r, w, o, err);
		else
			rc = ag_err_set(err, AG_EINVAL,
			    "unknown command \"%s\"", cmd);
		if (rc < 0) {
			if (rc != AG_EIO)
				send_err(w, err, rc);
			goto out;
		}
		if (ag_pkt_push(w) < 0) {
			rc = ag_err_set(err, AG_EIO, "client went away");
			goto out;
		}
		if (o->stateless)
			break;
	}
out:
	free(r);
	free(w);
	return rc;
}

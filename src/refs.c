/* Ref snapshots and the v0/v2 advertisements served from them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auger/pkt.h"
#include "auger/refs.h"
#include "auger/version.h"

/* What upload-pack offers (DESIGN.md, Git protocol). */
#define UPLOAD_CAPS "multi_ack multi_ack_detailed no-done side-band " \
	"side-band-64k thin-pack ofs-delta shallow deepen-since deepen-not " \
	"deepen-relative no-progress include-tag allow-tip-sha1-in-want allow-reachable-sha1-in-want"
#define RECEIVE_CAPS "report-status report-status-v2 delete-refs " \
	"side-band-64k quiet atomic ofs-delta push-options"

const char *
ag_service_name(enum ag_service svc)
{
	return svc == AG_SVC_UPLOAD ? "git-upload-pack" : "git-receive-pack";
}

static int
cmpref(const void *a, const void *b)
{
	return strcmp(((const struct ag_ref *)a)->name,
	    ((const struct ag_ref *)b)->name);
}

void
ag_refs_free(struct ag_refs *refs)
{
	size_t i;

	if (refs == NULL)
		return;
	for (i = 0; i < refs->n; i++)
		free(refs->v[i].name);
	free(refs->v);
	free(refs->head_target);
	free(refs->state);
	free(refs);
}

static int
add_ref(struct ag_refs *refs, size_t *cap, git_repository *repo,
    git_reference *ref)
{
	struct ag_ref *nv, *r;
	git_object *obj = NULL, *peeled = NULL;

	if (git_reference_type(ref) != GIT_REFERENCE_DIRECT)
		return 0;
	if (refs->n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		if ((nv = realloc(refs->v, *cap * sizeof *nv)) == NULL)
			return -1;
		refs->v = nv;
	}
	r = &refs->v[refs->n];
	memset(r, 0, sizeof *r);
	if ((r->name = strdup(git_reference_name(ref))) == NULL)
		return -1;
	git_oid_cpy(&r->oid, git_reference_target(ref));
	if (strncmp(r->name, "refs/tags/", 10) == 0 &&
	    git_object_lookup(&obj, repo, &r->oid, GIT_OBJECT_ANY) < 0) {
		/*
		 * A tag that cannot be read (out of descriptors, say) makes
		 * the list incomplete: an error, never a shorter answer.
		 */
		free(r->name);
		r->name = NULL;
		return -2;
	}
	if (strncmp(r->name, "refs/tags/", 10) == 0) {
		if (git_object_type(obj) == GIT_OBJECT_TAG &&
		    git_object_peel(&peeled, obj, GIT_OBJECT_ANY) == 0) {
			/* Peel through chains of tags to a non-tag. */
			while (git_object_type(peeled) == GIT_OBJECT_TAG) {
				git_object *next = NULL;

				if (git_object_peel(&next, peeled,
				    GIT_OBJECT_ANY) < 0)
					break;
				git_object_free(peeled);
				peeled = next;
			}
			git_oid_cpy(&r->peeled, git_object_id(peeled));
			r->has_peeled = 1;
		}
		git_object_free(peeled);
		git_object_free(obj);
	}
	refs->n++;
	return 0;
}

static int
hash_state(struct ag_refs *refs)
{
	EVP_MD_CTX *md;
	unsigned char h[32];
	unsigned int hl;
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return -1;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	if (refs->head_target != NULL)
		EVP_DigestUpdate(md, refs->head_target,
		    strlen(refs->head_target) + 1);
	for (i = 0; i < refs->n; i++) {
		EVP_DigestUpdate(md, refs->v[i].name,
		    strlen(refs->v[i].name) + 1);
		git_oid_tostr(hex, sizeof hex, &refs->v[i].oid);
		EVP_DigestUpdate(md, hex, GIT_OID_HEXSZ);
	}
	EVP_DigestFinal_ex(md, h, &hl);
	EVP_MD_CTX_free(md);
	if ((refs->state = malloc(65)) == NULL)
		return -1;
	for (i = 0; i < 32; i++)
		sprintf(refs->state + 2 * i, "%02x", h[i]);
	return 0;
}

int
ag_refs_load(struct ag_refs **out, git_repository *repo, struct ag_err *err)
{
	struct ag_refs *refs;
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL, *head = NULL, *res = NULL;
	size_t cap = 0;
	int r = -1, rc;

	*out = NULL;
	if ((refs = calloc(1, sizeof *refs)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	if (git_reference_iterator_new(&it, repo) < 0) {
		r = ag_err_git(err, "listing refs");
		goto out;
	}
	while ((rc = git_reference_next(&ref, it)) == 0) {
		int bad = add_ref(refs, &cap, repo, ref);

		git_reference_free(ref);
		if (bad == -2) {
			r = ag_err_git(err, "reading a tag for the ref list");
			goto out;
		}
		if (bad < 0) {
			r = ag_err_set(err, AG_EINTERNAL, "out of memory");
			goto out;
		}
	}
	if (rc != GIT_ITEROVER) {
		r = ag_err_git(err, "listing refs");
		goto out;
	}
	if (refs->n > 0)
		qsort(refs->v, refs->n, sizeof *refs->v, cmpref);
	if ((rc = git_reference_lookup(&head, repo, "HEAD")) < 0 &&
	    rc != GIT_ENOTFOUND) {
		r = ag_err_git(err, "reading HEAD");
		goto out;
	}
	if (rc == 0) {
		if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
			refs->head_target =
			    strdup(git_reference_symbolic_target(head));
			if (refs->head_target == NULL) {
				r = ag_err_set(err, AG_EINTERNAL,
				    "out of memory");
				goto out;
			}
		}
		if (git_reference_resolve(&res, head) == 0) {
			git_oid_cpy(&refs->head_oid, git_reference_target(res));
			refs->head_valid = 1;
		}
	}
	git_error_clear();
	if (hash_state(refs) < 0) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	*out = refs;
	refs = NULL;
	r = 0;
out:
	git_reference_free(res);
	git_reference_free(head);
	git_reference_iterator_free(it);
	ag_refs_free(refs);
	return r;
}

const struct ag_ref *
ag_refs_find(const struct ag_refs *refs, const char *name)
{
	struct ag_ref key;

	if (refs->n == 0)
		return NULL;
	key.name = (char *)name;
	return bsearch(&key, refs->v, refs->n, sizeof key, cmpref);
}

int
ag_refs_is_tip(const struct ag_refs *refs, const git_oid *oid)
{
	size_t i;

	if (refs->head_valid && git_oid_equal(&refs->head_oid, oid))
		return 1;
	for (i = 0; i < refs->n; i++) {
		if (git_oid_equal(&refs->v[i].oid, oid) ||
		    (refs->v[i].has_peeled &&
		    git_oid_equal(&refs->v[i].peeled, oid)))
			return 1;
	}
	return 0;
}

/* Hands the bytes a writer over an ag_io_buf produced to the caller. */
static int
buf_finish(char **out, size_t *outlen, struct ag_pkt_writer *w,
    struct ag_io_buf *m, struct ag_err *err)
{
	if (ag_pkt_push(w) < 0) {
		free(m->p);
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	*out = m->p;
	*outlen = m->len;
	return 0;
}

int
ag_refs_adv_v0(char **out, size_t *outlen, const struct ag_refs *refs,
    enum ag_service svc, int flags, struct ag_err *err)
{
	struct ag_pkt_writer *w;
	struct ag_io io;
	struct ag_io_buf m;
	char hex[GIT_OID_HEXSZ + 1], caps[1024];
	const char *sep = "\0";
	size_t i;
	int first = 1, r;

	if ((w = malloc(sizeof *w)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	ag_io_buf_init(&io, &m);
	ag_pkt_writer_init(w, &io);
	if (flags & AG_ADV_HTTP) {
		ag_pkt_printf(w, "# service=%s\n", ag_service_name(svc));
		ag_pkt_flush(w);
	}
	if (svc == AG_SVC_UPLOAD) {
		snprintf(caps, sizeof caps, UPLOAD_CAPS "%s%s "
		    "object-format=sha1 agent=" AG_AGENT,
		    refs->head_target && refs->head_valid ? " symref=HEAD:" : "",
		    refs->head_target && refs->head_valid ? refs->head_target :
		    "");
	} else {
		snprintf(caps, sizeof caps, RECEIVE_CAPS
		    " object-format=sha1 agent=" AG_AGENT);
	}
	/* The capabilities ride on the first line after a NUL. */
	if (svc == AG_SVC_UPLOAD && refs->head_valid) {
		git_oid_tostr(hex, sizeof hex, &refs->head_oid);
		ag_pkt_printf(w, "%s HEAD%c%s\n", hex, sep[0], caps);
		first = 0;
	}
	for (i = 0; i < refs->n; i++) {
		const struct ag_ref *ref = &refs->v[i];

		git_oid_tostr(hex, sizeof hex, &ref->oid);
		if (first) {
			ag_pkt_printf(w, "%s %s%c%s\n", hex, ref->name, sep[0],
			    caps);
			first = 0;
		} else
			ag_pkt_printf(w, "%s %s\n", hex, ref->name);
		if (ref->has_peeled && svc == AG_SVC_UPLOAD) {
			git_oid_tostr(hex, sizeof hex, &ref->peeled);
			ag_pkt_printf(w, "%s %s^{}\n", hex, ref->name);
		}
	}
	if (first)
		ag_pkt_printf(w, "%s capabilities^{}%c%s\n",
		    "0000000000000000000000000000000000000000", sep[0], caps);
	ag_pkt_flush(w);
	r = buf_finish(out, outlen, w, &m, err);
	free(w);
	return r;
}

int
ag_refs_adv_v2(char **out, size_t *outlen, int flags, struct ag_err *err)
{
	struct ag_pkt_writer *w;
	struct ag_io io;
	struct ag_io_buf m;
	int r;

	if ((w = malloc(sizeof *w)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	ag_io_buf_init(&io, &m);
	ag_pkt_writer_init(w, &io);
	(void)flags;
	ag_pkt_printf(w, "version 2\n");
	ag_pkt_printf(w, "agent=%s\n", AG_AGENT);
	ag_pkt_printf(w, "ls-refs=unborn\n");
	ag_pkt_printf(w, "fetch=shallow\n");
	ag_pkt_printf(w, "server-option\n");
	ag_pkt_printf(w, "object-format=sha1\n");
	ag_pkt_flush(w);
	r = buf_finish(out, outlen, w, &m, err);
	free(w);
	return r;
}

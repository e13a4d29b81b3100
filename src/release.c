/*
 * The release engine. Git is the source of truth: every commit it writes
 * carries its release record in an Auger-Release trailer (and release.json
 * in the app folder), and LMDB is an index of those records:
 *   releases     env\0app\0seq(be64)  -> record
 *   release_log  env\0gseq(be64)      -> app\0seq(be64)  (env-wide order)
 *   commits      env\0<sha>           -> {"app","seq"} or {} (no release)
 * A release is acknowledged only after the ref moved (fsync'd by libgit2)
 * and the LMDB transaction committed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auger/release.h"

#define KEY_MAX 256

static int
action_is(const json_t *rec, const char *action)
{
	const char *a = json_string_value(json_object_get(rec, "action"));

	return a != NULL && strcmp(a, action) == 0;
}

/* "a\0b\0" + optional be64; returns the key length. */
static size_t
key2(unsigned char *k, const char *a, const char *b, int with_seq,
    uint64_t seq)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0, n = 0;

	if (la + lb + 10 > KEY_MAX)
		return 0;
	memcpy(k, a, la + 1);
	n = la + 1;
	if (b != NULL) {
		memcpy(k + n, b, lb + 1);
		n += lb + 1;
	}
	if (with_seq) {
		ag_store_put_be64(k + n, seq);
		n += 8;
	}
	return n;
}

int
ag_release_app_reserved(const char *app)
{
	return app[0] == '.' || strcasecmp(app, "flux") == 0 ||
	    strcasecmp(app, "readme") == 0 ||
	    strncasecmp(app, "readme.", 7) == 0;
}

int
ag_release_app_check(const char *app, struct ag_err *err)
{
	size_t i, n = app != NULL ? strlen(app) : 0;

	if (n == 0)
		return ag_err_set(err, AG_EINVAL, "an app name is required");
	if (ag_release_app_reserved(app))
		return ag_err_set(err, AG_EINVAL, "app name \"%.63s\" is "
		    "reserved: " AG_RELEASE_RESERVED_RULE, app);
	if (n > AG_RELEASE_APP_MAX || app[0] == '-' || app[n - 1] == '-')
		goto bad;
	for (i = 0; i < n; i++)
		if (!((app[i] >= 'a' && app[i] <= 'z') ||
		    (app[i] >= '0' && app[i] <= '9') || app[i] == '-'))
			goto bad;
	return 0;
bad:
	return ag_err_set(err, AG_EINVAL, "app name \"%.80s\" is not valid: "
	    "it must match [a-z0-9]([-a-z0-9]*[a-z0-9])? and be at most %d "
	    "characters (a DNS label)", app, AG_RELEASE_APP_MAX);
}

size_t
ag_release_status_len(const char *s)
{
	size_t n = strlen(s);

	if (n <= AG_RELEASE_STATUS_MAX)
		return n;
	/* Back off continuation bytes (10xxxxxx) to a character's start. */
	n = AG_RELEASE_STATUS_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

char *
ag_release_kustomization(const char *env, const char *app)
{
	char *s = NULL;

	if (asprintf(&s,
	    "apiVersion: kustomize.toolkit.fluxcd.io/v1\n"
	    "kind: Kustomization\n"
	    "metadata:\n"
	    "  name: %s-%s\n"
	    "  namespace: flux-system\n"
	    "spec:\n"
	    "  interval: 1m\n"
	    "  path: ./%s\n"
	    "  prune: true\n"
	    "  wait: false\n"
	    "  sourceRef:\n"
	    "    kind: GitRepository\n"
	    "    name: gitops-%s-apps\n", env, app, app, env) < 0)
		return NULL;
	return s;
}

/* The Auger-Release trailer of a commit message, parsed; NULL if none. */
static json_t *
trailer(const char *msg)
{
	const char *p = msg, *e;

	while ((p = strstr(p, AG_RELEASE_TRAILER)) != NULL) {
		if (p == msg || p[-1] == '\n')
			break;
		p++;
	}
	if (p == NULL)
		return NULL;
	p += strlen(AG_RELEASE_TRAILER);
	e = strchr(p, '\n');
	return json_loadb(p, e ? (size_t)(e - p) : strlen(p), 0, NULL);
}

/* Marks releases of app with from < seq < to as rolled back. */
static int
mark_rolled_back(struct ag_store_txn *t, const char *env, const char *app,
    uint64_t from, uint64_t to, struct ag_err *err)
{
	unsigned char k[KEY_MAX];
	size_t kl;
	char *val, *s;
	json_t *j;
	uint64_t seq;

	for (seq = from + 1; seq < to; seq++) {
		kl = key2(k, env, app, 1, seq);
		if (ag_store_txn_get(t, "releases", k, kl, &val, NULL,
		    NULL) < 0)
			continue;
		j = json_loads(val, 0, NULL);
		free(val);
		if (j == NULL)
			continue;
		if (!json_is_true(json_object_get(j, "rolledBack"))) {
			json_object_set_new(j, "rolledBack", json_true());
			s = json_dumps(j, JSON_COMPACT);
			if (s == NULL || ag_store_txn_put(t, "releases", k, kl,
			    s, strlen(s), err) < 0) {
				free(s);
				json_decref(j);
				return -1;
			}
			free(s);
		}
		json_decref(j);
	}
	return 0;
}

/*
 * Writes one release record (with app and seq) of commit: the record, its
 * place in the env-wide log, and the rollback marks it implies.
 */
static int
put_release(struct ag_store_txn *t, const struct ag_release_ctx *c,
    git_commit *commit, json_t *rec, struct ag_err *err)
{
	unsigned char k[KEY_MAX], v[KEY_MAX];
	char hex[GIT_OID_HEXSZ + 1], *s = NULL, *lk = NULL, *lv = NULL;
	const char *app = json_string_value(json_object_get(rec, "app"));
	git_tree *tree = NULL;
	git_oid sub;
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(rec,
	    "seq")), gseq = 1;
	size_t kl, lkl, al = strlen(app);
	int r = -1;

	git_oid_tostr(hex, sizeof hex, git_commit_id(commit));
	json_object_set_new(rec, "gitopsRef", json_string(hex));
	json_object_set_new(rec, "gitopsRepo", json_string(c->repo_name));
	if (git_commit_tree(&tree, commit) == 0 &&
	    ag_gitops_subtree(&sub, tree, app) == 0) {
		git_oid_tostr(hex, sizeof hex, &sub);
		json_object_set_new(rec, "appTree", json_string(hex));
	} else
		json_object_set_new(rec, "appTree", json_null());
	if (json_object_get(rec, "rolledBack") == NULL)
		json_object_set_new(rec, "rolledBack", json_false());
	if (json_object_get(rec, "gitopsCommitStatus") == NULL)
		json_object_set_new(rec, "gitopsCommitStatus", json_string(""));
	if ((s = json_dumps(rec, JSON_COMPACT)) == NULL) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	kl = key2(k, c->env, app, 1, seq);
	if (kl == 0 || ag_store_txn_put(t, "releases", k, kl, s, strlen(s),
	    err) < 0)
		goto out;
	/* The env-wide order: one past the last entry. */
	kl = key2(k, c->env, NULL, 0, 0);
	if (ag_store_txn_last(t, "release_log", k, kl, &lk, &lkl, &lv, NULL,
	    NULL) == 0 && lkl == kl + 8)
		gseq = ag_store_get_be64((unsigned char *)lk + kl) + 1;
	ag_store_put_be64(k + kl, gseq);
	kl += 8;
	memcpy(v, app, al + 1);
	ag_store_put_be64(v + al + 1, seq);
	if (ag_store_txn_put(t, "release_log", k, kl, (char *)v, al + 9,
	    err) < 0)
		goto out;
	if (action_is(rec, "rollback") &&
	    mark_rolled_back(t, c->env, app, (uint64_t)json_integer_value(
	    json_object_get(rec, "rollbackTo")), seq, err) < 0)
		goto out;
	r = 0;
out:
	free(lk);
	free(lv);
	free(s);
	git_tree_free(tree);
	return r;
}

static json_t *latest(struct ag_store_txn *t, const char *env,
    const char *app);

/*
 * A commit without a trailer (a direct push to the GitOps repository):
 * each top-level folder it adds, changes or removes (reserved names aside:
 * flux/, readme, dot folders) becomes a
 * release of that app, triggered by c->actor (live) or the committer
 * (reindex).
 */
static int
hand_edits(json_t *list, struct ag_store_txn *t,
    const struct ag_release_ctx *c, git_commit *commit, struct ag_err *err)
{
	git_tree *tree = NULL, *ptree = NULL;
	git_commit *parent = NULL;
	const git_signature *who = git_commit_committer(commit);
	const git_signature *au = git_commit_author(commit);
	const git_tree_entry *e, *pe;
	json_t *rec, *last;
	char by[256];
	size_t i, n, pass;
	int r = -1;

	if (git_commit_tree(&tree, commit) < 0)
		return ag_err_git(err, "reading a commit's tree");
	if (git_commit_parentcount(commit) > 0 &&
	    (git_commit_parent(&parent, commit, 0) < 0 ||
	    git_commit_tree(&ptree, parent) < 0)) {
		r = ag_err_git(err, "reading a parent's tree");
		goto out;
	}
	snprintf(by, sizeof by, "%s", c->actor ? c->actor : who &&
	    who->name ? who->name : "git");
	/* Pass 0: folders in the commit; pass 1: folders it removed. */
	for (pass = 0; pass < 2; pass++) {
		const git_tree *a = pass == 0 ? tree : ptree;
		const git_tree *b = pass == 0 ? ptree : tree;

		n = a ? git_tree_entrycount(a) : 0;
		for (i = 0; i < n; i++) {
			const char *name;

			e = git_tree_entry_byindex(a, i);
			name = git_tree_entry_name(e);
			if (git_tree_entry_type(e) != GIT_OBJECT_TREE ||
			    ag_release_app_reserved(name))
				continue;
			pe = b ? git_tree_entry_byname(b, name) : NULL;
			if (pass == 1 && pe != NULL)
				continue;
			if (pass == 0 && pe != NULL &&
			    git_oid_equal(git_tree_entry_id(pe),
			    git_tree_entry_id(e)))
				continue;
			last = latest(t, c->env, name);
			rec = json_pack("{s:s,s:s,s:I,s:s,s:s,s:{s:s,s:s,s:s,"
			    "s:I},s:I}", "app", name, "env", c->env, "seq",
			    (json_int_t)(last ? json_integer_value(
			    json_object_get(last, "seq")) + 1 : 1), "action",
			    pass == 0 ? "deploy" : "delete", "triggeredBy", by,
			    "version", "message", git_commit_summary(commit) ?
			    git_commit_summary(commit) : "", "authorName",
			    au && au->name ? au->name : "", "authorEmail",
			    au && au->email ? au->email : "", "created",
			    (json_int_t)git_commit_time(commit), "created",
			    (json_int_t)git_commit_time(commit));
			json_decref(last);
			if (rec == NULL || put_release(t, c, commit, rec,
			    err) < 0) {
				json_decref(rec);
				goto out;
			}
			json_array_append_new(list, json_pack("{s:s,s:O}",
			    "app", name, "seq", json_object_get(rec, "seq")));
			json_decref(rec);
		}
	}
	r = 0;
out:
	git_tree_free(tree);
	git_tree_free(ptree);
	git_commit_free(parent);
	return r;
}

/*
 * Records one commit in the index (within t): its release (from rec_in or
 * its trailer), or the hand edits it makes, and the commit itself.
 */
static int
index_commit(struct ag_store_txn *t, const struct ag_release_ctx *c,
    git_commit *commit, json_t *rec_in, struct ag_err *err)
{
	unsigned char k[KEY_MAX];
	char hex[GIT_OID_HEXSZ + 1], *s = NULL;
	json_t *rec = rec_in, *list = json_array(), *cj = NULL;
	size_t kl;
	int r = -1;

	git_oid_tostr(hex, sizeof hex, git_commit_id(commit));
	if (rec == NULL)
		rec = trailer(git_commit_message(commit));
	else
		json_incref(rec);
	if (rec != NULL && json_is_string(json_object_get(rec, "app")) &&
	    json_integer_value(json_object_get(rec, "seq")) > 0) {
		if (put_release(t, c, commit, rec, err) < 0)
			goto out;
		json_array_append_new(list, json_pack("{s:O,s:O}", "app",
		    json_object_get(rec, "app"), "seq", json_object_get(rec,
		    "seq")));
	} else if (hand_edits(list, t, c, commit, err) < 0)
		goto out;
	/* commits: the releases this commit made ({} if none). */
	cj = json_array_size(list) > 0 ? json_pack("{s:O,s:O,s:O}", "app",
	    json_object_get(json_array_get(list, 0), "app"), "seq",
	    json_object_get(json_array_get(list, 0), "seq"), "releases",
	    list) : json_object();
	if ((s = json_dumps(cj, JSON_COMPACT)) == NULL) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	kl = key2(k, c->env, hex, 0, 0);
	r = ag_store_txn_put(t, "commits", k, kl, s, strlen(s), err);
out:
	free(s);
	json_decref(cj);
	json_decref(list);
	json_decref(rec);
	return r;
}

static int
known(struct ag_store_txn *t, const char *env, const git_oid *id)
{
	unsigned char k[KEY_MAX];
	char hex[GIT_OID_HEXSZ + 1], *val = NULL;
	size_t kl;

	git_oid_tostr(hex, sizeof hex, id);
	kl = key2(k, env, hex, 0, 0);
	if (ag_store_txn_get(t, "commits", k, kl, &val, NULL, NULL) < 0)
		return 0;
	free(val);
	return 1;
}

static int
catch_up(struct ag_store_txn *t, const struct ag_release_ctx *c,
    size_t *added, struct ag_err *err)
{
	git_commit *head = NULL, *cur, *parent;
	git_tree *tree = NULL;
	git_commit **todo = NULL, **nt;
	size_t n = 0, cap = 0, i;
	int r = -1;

	*added = 0;
	if (ag_gitops_head(&head, &tree, c->repo, err) < 0)
		return -1;
	git_tree_free(tree);
	/* First-parent walk back to the newest indexed commit. */
	for (cur = head; cur != NULL; cur = parent) {
		if (known(t, c->env, git_commit_id(cur))) {
			if (cur != head)
				git_commit_free(cur);
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nt = realloc(todo, cap * sizeof *nt)) == NULL) {
				if (cur != head)
					git_commit_free(cur);
				r = ag_err_set(err, AG_EINTERNAL,
				    "out of memory");
				goto out;
			}
			todo = nt;
		}
		todo[n++] = cur;
		parent = NULL;
		if (git_commit_parentcount(cur) > 0 &&
		    git_commit_parent(&parent, cur, 0) < 0) {
			r = ag_err_git(err, "walking history");
			goto out;
		}
	}
	/* Oldest first, so sequences come out in commit order. */
	for (i = n; i > 0; i--)
		if (index_commit(t, c, todo[i - 1], NULL, err) < 0)
			goto out;
	*added = n;
	r = 0;
out:
	for (i = 0; i < n; i++)
		if (todo[i] != head)
			git_commit_free(todo[i]);
	free(todo);
	git_commit_free(head);
	return r;
}

int
ag_release_catch_up(const struct ag_release_ctx *c, size_t *added,
    struct ag_err *err)
{
	struct ag_store_txn *t;

	if (ag_store_begin(&t, c->st, err) < 0)
		return -1;
	if (catch_up(t, c, added, err) < 0) {
		ag_store_abort(t);
		return -1;
	}
	return ag_store_commit(t, err);
}

/* Deletes every key under prefix env\0 in db (within t). */
static int
drop_env(struct ag_store_txn *t, const char *db, const char *env,
    struct ag_err *err)
{
	unsigned char k[KEY_MAX];
	size_t kl = key2(k, env, NULL, 0, 0);
	char *lk = NULL, *lv = NULL;
	size_t lkl;

	/* Key by key from the end: bounded by the env's own entries. */
	while (ag_store_txn_last(t, db, k, kl, &lk, &lkl, &lv, NULL,
	    NULL) == 0) {
		int rc = ag_store_txn_del(t, db, lk, lkl, err);

		free(lk);
		free(lv);
		lk = lv = NULL;
		if (rc < 0)
			return -1;
	}
	return 0;
}

struct kept_status {
	size_t	 plen;
	json_t	*map;		/* sha -> {status, statusDesc} */
};

static int
keep_status_cb(void *arg, const void *key, size_t klen, const char *val,
    size_t vlen)
{
	struct kept_status *k = arg;
	json_t *j = json_loadb(val, vlen, 0, NULL);
	char sha[GIT_OID_HEXSZ + 1];

	if (j != NULL && json_string_length(json_object_get(j, "status")) > 0 &&
	    klen == k->plen + GIT_OID_HEXSZ + 1) {
		memcpy(sha, (const char *)key + k->plen, GIT_OID_HEXSZ);
		sha[GIT_OID_HEXSZ] = '\0';
		json_object_set_new(k->map, sha, json_pack("{s:O,s:O*}",
		    "status", json_object_get(j, "status"), "statusDesc",
		    json_object_get(j, "statusDesc")));
	}
	json_decref(j);
	return 0;
}

static int status_one(struct ag_store_txn *t, const struct ag_release_ctx *c,
    const git_oid *id, const char *status, const char *desc, int only_empty,
    int *had, struct ag_err *err);

/*
 * Rebuilds the env's index from git. Flux's verdicts are not in git: they
 * are read first and put back on the same commits afterwards.
 */
int
ag_release_reindex(const struct ag_release_ctx *c, size_t *added,
    struct ag_err *err)
{
	struct ag_store_txn *t;
	struct kept_status k;
	unsigned char pre[KEY_MAX];
	const char *sha;
	json_t *v;
	git_oid id;
	int had;

	k.plen = key2(pre, c->env, NULL, 0, 0);
	k.map = json_object();
	if (ag_store_scan(c->st, "commits", pre, k.plen, keep_status_cb, &k,
	    err) < 0 || ag_store_begin(&t, c->st, err) < 0) {
		json_decref(k.map);
		return -1;
	}
	if (drop_env(t, "releases", c->env, err) < 0 ||
	    drop_env(t, "release_log", c->env, err) < 0 ||
	    drop_env(t, "commits", c->env, err) < 0 ||
	    catch_up(t, c, added, err) < 0)
		goto fail;
	json_object_foreach(k.map, sha, v) {
		if (git_oid_fromstr(&id, sha) < 0)
			continue;
		if (status_one(t, c, &id, json_string_value(json_object_get(v,
		    "status")), json_string_value(json_object_get(v,
		    "statusDesc")) ? json_string_value(json_object_get(v,
		    "statusDesc")) : "", 0, &had, err) < 0)
			goto fail;
	}
	json_decref(k.map);
	return ag_store_commit(t, err);
fail:
	json_decref(k.map);
	ag_store_abort(t);
	return -1;
}

/* The newest record of app (any action), or NULL. */
static json_t *
latest(struct ag_store_txn *t, const char *env, const char *app)
{
	unsigned char k[KEY_MAX];
	size_t kl = key2(k, env, app, 0, 0);
	char *lk = NULL, *lv = NULL;
	json_t *j = NULL;

	if (ag_store_txn_last(t, "releases", k, kl, &lk, NULL, &lv, NULL,
	    NULL) == 0)
		j = json_loads(lv, 0, NULL);
	free(lk);
	free(lv);
	return j;
}

static json_t *
get_release(struct ag_store_txn *t, const char *env, const char *app,
    uint64_t seq)
{
	unsigned char k[KEY_MAX];
	size_t kl = key2(k, env, app, 1, seq);
	char *val = NULL;
	json_t *j = NULL;

	if (ag_store_txn_get(t, "releases", k, kl, &val, NULL, NULL) == 0)
		j = json_loads(val, 0, NULL);
	free(val);
	return j;
}

/*
 * The index refused a release git already has (a full disk, mostly): main
 * moves back so that the error answer is true. Should that fail too, git
 * keeps the commit and the next catch-up indexes it from its trailer; the
 * error says so.
 */
static void
undo(const struct ag_release_ctx *c, const git_oid *id, git_commit *head,
    struct ag_err *err)
{
	struct ag_err ue = { 0, "" };
	char msg[AG_ERR_MSG_MAX];
	int code;

	if (ag_gitops_unmove(c->repo, id, head ? git_commit_id(head) : NULL,
	    &ue) == 0 || err == NULL)
		return;
	code = err->code ? err->code : AG_ESTORE;
	snprintf(msg, sizeof msg, "%s", err->msg);
	ag_err_clear(err);
	ag_err_set(err, code, "%s; %s could not be moved back (%s): the "
	    "release is in git and is indexed once the index can be written",
	    msg, AG_GITOPS_BRANCH, ue.msg);
}

/*
 * Commits tree as one release of app and records it: the common tail of
 * deploy, rollback and delete. rec is the record without git fields. The
 * LMDB write transaction opens only after git has the commit, so envs do
 * not wait for each other's fsyncs.
 */
static int
commit_release(json_t **out, const struct ag_release_ctx *c,
    git_commit *head, const git_oid *tree, const char *app, json_t *rec,
    const char *subject, struct ag_err *err)
{
	struct ag_store_txn *t = NULL;
	git_commit *commit = NULL;
	git_oid id;
	char *msg = NULL, *js = NULL;
	int r = -1, rc;

	if ((js = json_dumps(rec, JSON_COMPACT)) == NULL ||
	    asprintf(&msg, "%s\n\n" AG_RELEASE_TRAILER "%s\n", subject,
	    js) < 0) {
		msg = NULL;
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	if (ag_gitops_commit(&id, c->repo, head ? git_commit_id(head) : NULL,
	    tree, msg, err) < 0)
		goto out;
	if (git_commit_lookup(&commit, c->repo, &id) < 0) {
		r = ag_err_git(err, "reading the new commit");
		goto out;
	}
	if (ag_store_begin(&t, c->st, err) < 0 ||
	    index_commit(t, c, commit, rec, err) < 0)
		rc = -1;
	else
		rc = ag_store_commit(t, err);
	t = NULL;
	if (rc < 0) {
		undo(c, &id, head, err);
		goto out;
	}
	*out = json_deep_copy(rec);
	{
		char hex[GIT_OID_HEXSZ + 1];
		git_tree *gt = NULL;
		git_oid sub;

		git_oid_tostr(hex, sizeof hex, &id);
		json_object_set_new(*out, "gitopsRef", json_string(hex));
		json_object_set_new(*out, "gitopsRepo",
		    json_string(c->repo_name));
		if (git_commit_tree(&gt, commit) == 0 &&
		    ag_gitops_subtree(&sub, gt, app) == 0) {
			git_oid_tostr(hex, sizeof hex, &sub);
			json_object_set_new(*out, "appTree", json_string(hex));
		} else
			json_object_set_new(*out, "appTree", json_null());
		git_tree_free(gt);
		json_object_set_new(*out, "rolledBack", json_false());
		json_object_set_new(*out, "gitopsCommitStatus",
		    json_string(""));
	}
	r = 0;
out:
	ag_store_abort(t);
	git_commit_free(commit);
	free(js);
	free(msg);
	return r;
}

/*
 * Prepares a write (the ref lock is held): indexes what git has beyond
 * LMDB, reads HEAD, and opens a read snapshot for the app's records.
 */
static int
begin(struct ag_store_txn **t, git_commit **head, git_tree **tree,
    uint64_t *seq, const struct ag_release_ctx *c, const char *app,
    struct ag_err *err)
{
	const git_tree_entry *e;
	size_t added;
	json_t *last;

	*t = NULL;
	*head = NULL;
	*tree = NULL;
	/* Every write names its app here: the one gate for app names. */
	if (ag_release_app_check(app, err) < 0)
		return AG_EINVAL;
	/* Refused whole on a (nearly) full disk, before anything is written. */
	if (ag_gitops_space(c->repo, AG_GITOPS_MIN_FREE, err) < 0)
		return AG_ENOSPACE;
	if (ag_release_catch_up(c, &added, err) < 0 ||
	    ag_gitops_head(head, tree, c->repo, err) < 0)
		goto fail;
	if (*tree != NULL && (e = git_tree_entry_byname(*tree, app)) != NULL &&
	    git_tree_entry_type(e) != GIT_OBJECT_TREE) {
		ag_err_set(err, AG_EINVAL, "app name \"%s\" is taken: %s is a "
		    "file at the top of %s, not an app folder", app, app,
		    c->repo_name);
		goto fail;
	}
	if (ag_store_begin_read(t, c->st, err) < 0)
		goto fail;
	last = latest(*t, c->env, app);
	*seq = last ? (uint64_t)json_integer_value(json_object_get(last,
	    "seq")) + 1 : 1;
	json_decref(last);
	return 0;
fail:
	git_tree_free(*tree);
	git_commit_free(*head);
	*tree = NULL;
	*head = NULL;
	return err != NULL && err->code != 0 ? err->code : -1;
}

static json_t *
new_record(const struct ag_release_ctx *c, const char *app, uint64_t seq,
    const char *action, const json_t *base)
{
	json_t *rec = json_object();

	json_object_set_new(rec, "app", json_string(app));
	json_object_set_new(rec, "env", json_string(c->env));
	json_object_set_new(rec, "seq", json_integer((json_int_t)seq));
	json_object_set_new(rec, "action", json_string(action));
	if (base != NULL)
		json_object_update(rec, (json_t *)base);
	if (json_object_get(rec, "triggeredBy") == NULL)
		json_object_set_new(rec, "triggeredBy", json_string(""));
	json_object_set_new(rec, "created", json_integer((json_int_t)time(
	    NULL)));
	return rec;
}

static const char *
short_sha(const json_t *rec)
{
	const char *sha = json_string_value(json_object_get(json_object_get(
	    rec, "version"), "sha"));

	return sha != NULL ? sha : "";
}

/* Whether a blob at path in tree holds exactly data. */
static int
same_blob(git_tree *tree, const char *path, const char *data, size_t len)
{
	git_tree_entry *e = NULL;
	git_oid id;
	int same;

	if (git_tree_entry_bypath(&e, tree, path) < 0) {
		git_error_clear();
		return 0;
	}
	same = git_odb_hash(&id, data, len, GIT_OBJECT_BLOB) == 0 &&
	    git_oid_equal(&id, git_tree_entry_id(e));
	git_tree_entry_free(e);
	return same;
}

/*
 * Whether app's folder already holds exactly these rendered files (and its
 * Kustomization): then a deploy changes nothing and makes no commit.
 * release.json is left out: it names who deployed, not what runs.
 */
static int
same_files(git_repository *repo, git_tree *tree, const char *app,
    const struct ag_file *files, size_t n, const char *kpath,
    const char *kust)
{
	git_tree *sub = NULL;
	git_oid id;
	size_t i, have;
	char path[512];
	int same = 0;

	if (tree == NULL || ag_gitops_subtree(&id, tree, app) < 0 ||
	    git_tree_lookup(&sub, repo, &id) < 0)
		return 0;
	have = git_tree_entrycount(sub);
	if (git_tree_entry_byname(sub, "release.json") != NULL)
		have--;
	if (have != n || !same_blob(tree, kpath, kust, strlen(kust)))
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", app, files[i].name);
		if (!same_blob(tree, path, files[i].data, files[i].len))
			goto out;
	}
	same = 1;
out:
	git_tree_free(sub);
	return same;
}

int
ag_release_deploy(json_t **out, const struct ag_release_ctx *c,
    const char *app, const struct ag_file *files, size_t nfiles,
    const json_t *base, struct ag_err *err)
{
	struct ag_store_txn *t = NULL;
	git_commit *head = NULL;
	git_tree *tree = NULL;
	struct ag_file *all = NULL;
	struct ag_edit edits[2];
	json_t *rec = NULL, *relj = NULL;
	char *relstr = NULL, *kust = NULL, subject[256], path[128];
	git_oid newtree;
	uint64_t seq;
	int r = -1;

	*out = NULL;
	if (begin(&t, &head, &tree, &seq, c, app, err) < 0)
		return -1;
	rec = new_record(c, app, seq, "deploy", base);
	/* release.json: the record as far as it is known before the commit. */
	relj = json_deep_copy(rec);
	json_object_del(relj, "seq");
	json_object_del(relj, "created");
	if ((relstr = json_dumps(relj, JSON_INDENT(2) | JSON_SORT_KEYS)) ==
	    NULL || (kust = ag_release_kustomization(c->env, app)) == NULL ||
	    (all = calloc(nfiles + 1, sizeof *all)) == NULL) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	memcpy(all, files, nfiles * sizeof *all);
	all[nfiles].name = "release.json";
	all[nfiles].data = relstr;
	all[nfiles].len = strlen(relstr);
	snprintf(path, sizeof path, "flux/kustomization-%s.yaml", app);
	edits[0] = (struct ag_edit){ .kind = AG_EDIT_DIR_FILES, .path = app,
	    .files = all, .nfiles = nfiles + 1 };
	edits[1] = (struct ag_edit){ .kind = AG_EDIT_FILE, .path = path,
	    .data = kust, .len = strlen(kust) };
	if (same_files(c->repo, tree, app, files, nfiles, path, kust)) {
		*out = json_pack("{s:s,s:s,s:s}", "app", app, "env", c->env,
		    "status", "unchanged");
		r = 0;
		goto out;
	}
	if (ag_gitops_tree(&newtree, c->repo, tree, edits, 2, err) < 0)
		goto out;
	snprintf(subject, sizeof subject, "[auger] %s/%s deploy %.7s", c->env,
	    app, short_sha(rec));
	ag_store_abort(t);
	t = NULL;
	r = commit_release(out, c, head, &newtree, app, rec, subject, err);
out:
	ag_store_abort(t);
	json_decref(rec);
	json_decref(relj);
	free(relstr);
	free(kust);
	free(all);
	git_tree_free(tree);
	git_commit_free(head);
	return r;
}

static int
is_hex40(const char *s)
{
	size_t i;

	for (i = 0; i < GIT_OID_HEXSZ; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return s[GIT_OID_HEXSZ] == '\0';
}

/* A release number: 1-19 decimal digits, no sign, no leading zero. */
static int
release_number(uint64_t *out, const char *s)
{
	size_t i, n = strlen(s);
	uint64_t v = 0;

	if (n == 0 || n > 19 || s[0] == '0')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 1;
}

/* Finds the release to roll back to; NULL with err set if none. */
static json_t *
find_target(struct ag_store_txn *t, const struct ag_release_ctx *c,
    const char *app, const char *to, json_t *cur, struct ag_err *err)
{
	unsigned char k[KEY_MAX];
	char *val = NULL;
	json_t *j, *target = NULL;
	uint64_t seq = 0, from;
	size_t kl;

	if (to != NULL && !is_hex40(to) && !release_number(&seq, to)) {
		ag_err_set(err, AG_EINVAL, AG_RELEASE_TO_RULE " (got \"%.40s\")",
		    to);
		return NULL;
	}
	if (to != NULL && is_hex40(to)) {
		kl = key2(k, c->env, to, 0, 0);
		if (ag_store_txn_get(t, "commits", k, kl, &val, NULL,
		    NULL) < 0) {
			ag_err_set(err, AG_ENOTFOUND, "no release at gitops "
			    "commit %s in %s", to, c->env);
			return NULL;
		}
		j = json_loads(val, 0, NULL);
		free(val);
		seq = 0;
		{
			json_t *rel;
			size_t i;

			json_array_foreach(json_object_get(j, "releases"), i,
			    rel) {
				if (json_is_string(json_object_get(rel, "app")) &&
				    strcmp(json_string_value(json_object_get(rel,
				    "app")), app) == 0)
					seq = (uint64_t)json_integer_value(
					    json_object_get(rel, "seq"));
			}
		}
		json_decref(j);
		if (seq == 0) {
			ag_err_set(err, AG_ENOTFOUND, "gitops commit %.12s is "
			    "not a release of %s/%s", to, c->env, app);
			return NULL;
		}
		target = get_release(t, c->env, app, seq);
	} else if (to != NULL) {
		target = get_release(t, c->env, app, seq);
	} else {
		/* The release before the current one (a rollback counts as
		 * the release it restored). */
		from = (uint64_t)json_integer_value(json_object_get(cur,
		    action_is(cur, "rollback") ? "rollbackTo" : "seq"));
		for (seq = from; seq > 1 && target == NULL; seq--) {
			j = get_release(t, c->env, app, seq - 1);
			if (j != NULL && !json_is_true(json_object_get(j,
			    "rolledBack")) && action_is(j, "deploy"))
				target = j;
			else
				json_decref(j);
		}
		if (target == NULL) {
			ag_err_set(err, AG_ENOTFOUND, "%s/%s has no earlier "
			    "release to roll back to", c->env, app);
			return NULL;
		}
	}
	if (target == NULL) {
		ag_err_set(err, AG_ENOTFOUND, "%s/%s has no release %s",
		    c->env, app, to);
		return NULL;
	}
	if (!json_is_string(json_object_get(target, "appTree"))) {
		ag_err_set(err, AG_ENOTFOUND, "release %s of %s/%s deleted "
		    "the app; there is no tree to roll back to", to ? to : "",
		    c->env, app);
		json_decref(target);
		return NULL;
	}
	return target;
}

int
ag_release_rollback(json_t **out, const struct ag_release_ctx *c,
    const char *app, const char *to, const char *by, struct ag_err *err)
{
	struct ag_store_txn *t = NULL;
	git_commit *head = NULL;
	git_tree *tree = NULL;
	json_t *cur = NULL, *target = NULL, *rec = NULL, *base;
	struct ag_edit edits[2];
	char subject[256], path[128], *kust = NULL;
	git_oid newtree;
	uint64_t seq;
	int r = -1;

	*out = NULL;
	if (begin(&t, &head, &tree, &seq, c, app, err) < 0)
		return -1;
	if ((cur = latest(t, c->env, app)) == NULL) {
		r = ag_err_set(err, AG_ENOTFOUND, "no app \"%s\" in %s", app,
		    c->env);
		goto out;
	}
	if ((target = find_target(t, c, app, to, cur, err)) == NULL)
		goto out;
	base = json_pack("{s:O*,s:O*,s:s,s:I}", "artifactId",
	    json_object_get(target, "artifactId"), "version",
	    json_object_get(target, "version"), "triggeredBy", by ? by : "",
	    "rollbackTo", json_integer_value(json_object_get(target, "seq")));
	rec = new_record(c, app, seq, "rollback", base);
	json_decref(base);
	git_oid_fromstr(&edits[0].tree, json_string_value(json_object_get(
	    target, "appTree")));
	edits[0].kind = AG_EDIT_DIR_TREE;
	edits[0].path = app;
	if ((kust = ag_release_kustomization(c->env, app)) == NULL) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	snprintf(path, sizeof path, "flux/kustomization-%s.yaml", app);
	edits[1] = (struct ag_edit){ .kind = AG_EDIT_FILE, .path = path,
	    .data = kust, .len = strlen(kust) };
	if (ag_gitops_tree(&newtree, c->repo, tree, edits, 2, err) < 0)
		goto out;
	snprintf(subject, sizeof subject, "[auger] %s/%s rollback to release "
	    "%lld (%.7s)", c->env, app, (long long)json_integer_value(
	    json_object_get(target, "seq")), short_sha(target));
	/* Even an identical tree gets its commit: the rollback is history. */
	ag_store_abort(t);
	t = NULL;
	r = commit_release(out, c, head, &newtree, app, rec, subject, err);
out:
	ag_store_abort(t);
	free(kust);
	json_decref(cur);
	json_decref(target);
	json_decref(rec);
	git_tree_free(tree);
	git_commit_free(head);
	return r;
}

int
ag_release_delete(json_t **out, const struct ag_release_ctx *c,
    const char *app, const char *by, struct ag_err *err)
{
	struct ag_store_txn *t = NULL;
	git_commit *head = NULL;
	git_tree *tree = NULL;
	json_t *rec = NULL, *base;
	struct ag_edit edits[2];
	char subject[256], path[128];
	git_oid newtree, sub;
	uint64_t seq;
	int r = -1;

	*out = NULL;
	if (begin(&t, &head, &tree, &seq, c, app, err) < 0)
		return -1;
	if (ag_gitops_subtree(&sub, tree, app) < 0) {
		r = ag_err_set(err, AG_ENOTFOUND, "no app \"%s\" deployed in "
		    "%s", app, c->env);
		goto out;
	}
	snprintf(path, sizeof path, "flux/kustomization-%s.yaml", app);
	edits[0] = (struct ag_edit){ .kind = AG_EDIT_REMOVE, .path = app };
	edits[1] = (struct ag_edit){ .kind = AG_EDIT_REMOVE, .path = path };
	if (ag_gitops_tree(&newtree, c->repo, tree, edits, 2, err) < 0)
		goto out;
	base = json_pack("{s:s}", "triggeredBy", by ? by : "");
	rec = new_record(c, app, seq, "delete", base);
	json_decref(base);
	snprintf(subject, sizeof subject, "[auger] %s/%s delete", c->env, app);
	ag_store_abort(t);
	t = NULL;
	r = commit_release(out, c, head, &newtree, app, rec, subject, err);
out:
	ag_store_abort(t);
	json_decref(rec);
	git_tree_free(tree);
	git_commit_free(head);
	return r;
}

struct lister {
	struct ag_store		*st;
	const char		*env;
	const struct ag_release_query *q;
	size_t			 skipped, limit;
	json_t			*out;
	int			 failed;
};

/* Applies the time filter and paging; 1 stops the scan. */
static int
lister_take(struct lister *l, json_t *rec)
{
	int64_t created = json_integer_value(json_object_get(rec, "created"));
	const char *repo = json_string_value(json_object_get(json_object_get(
	    rec, "version"), "repositoryName"));

	if (l->q->until > 0 && created > l->q->until) {
		json_decref(rec);
		return 0;
	}
	if (l->q->since > 0 && created < l->q->since) {
		json_decref(rec);
		return 1;	/* newest first: nothing older can match */
	}
	if ((l->q->deploys_only && (action_is(rec, "rollback") ||
	    action_is(rec, "delete"))) || (l->q->repository != NULL &&
	    (repo == NULL || strcmp(repo, l->q->repository) != 0))) {
		json_decref(rec);
		return 0;
	}
	if (l->skipped < l->q->offset) {
		l->skipped++;
		json_decref(rec);
		return 0;
	}
	json_array_append_new(l->out, rec);
	return json_array_size(l->out) >= l->limit;
}

static int
list_app_cb(void *arg, const void *key, size_t klen, const char *val,
    size_t vlen)
{
	json_t *rec = json_loadb(val, vlen, 0, NULL);

	(void)key;
	(void)klen;
	return rec == NULL ? 0 : lister_take(arg, rec);
}

static int
list_env_cb(void *arg, const void *key, size_t klen, const char *val,
    size_t vlen)
{
	struct lister *l = arg;
	unsigned char k[KEY_MAX];
	const char *app = val;
	size_t al = strnlen(val, vlen), kl;
	char *rv = NULL;
	json_t *rec;

	(void)key;
	(void)klen;
	if (al + 9 != vlen)
		return 0;
	kl = key2(k, l->env, app, 1, ag_store_get_be64((const unsigned char *)val +
	    al + 1));
	if (kl == 0 || ag_store_get(l->st, "releases", k, kl, &rv, NULL,
	    NULL) < 0)
		return 0;
	rec = json_loads(rv, 0, NULL);
	free(rv);
	return rec == NULL ? 0 : lister_take(l, rec);
}

/* The sequence number of the last key under prefix (0 if none). */
static uint64_t
last_seq(struct ag_store *st, const char *db, const unsigned char *prefix,
    size_t plen)
{
	struct ag_store_txn *t = NULL;
	char *lk = NULL, *lv = NULL;
	size_t lkl = 0;
	uint64_t seq = 0;

	if (ag_store_begin_read(&t, st, NULL) < 0)
		return 0;
	if (ag_store_txn_last(t, db, prefix, plen, &lk, &lkl, &lv, NULL,
	    NULL) == 0 && lkl == plen + 8)
		seq = ag_store_get_be64((unsigned char *)lk + plen);
	free(lk);
	free(lv);
	ag_store_abort(t);
	return seq;
}

int
ag_release_list(json_t **out, struct ag_store *st, const char *env,
    const struct ag_release_query *q, struct ag_err *err)
{
	unsigned char k[KEY_MAX], from[KEY_MAX];
	struct lister l = { st, env, q, 0, 0, NULL, 0 };
	uint64_t top;
	size_t kl;
	int rc;

	l.limit = q->limit == 0 ? 50 : q->limit > AG_RELEASE_LIST_MAX ?
	    AG_RELEASE_LIST_MAX : q->limit;
	l.out = json_array();
	kl = key2(k, env, q->app, 0, 0);
	if (kl != 0 && q->offset > 0 && q->since == 0 && q->until == 0 &&
	    q->repository == NULL && !q->deploys_only && (top = last_seq(st, q->app ? "releases" : "release_log", k,
	    kl)) > 0) {
		/*
		 * Sequences have no gaps: page k starts at seq top - offset,
		 * one seek away, however deep the history.
		 */
		memcpy(from, k, kl);
		ag_store_put_be64(from + kl, top > q->offset ? top - q->offset : 0);
		l.skipped = q->offset;
		rc = ag_store_scan_rev_from(st, q->app ? "releases" :
		    "release_log", k, kl, from, kl + 8, q->app ? list_app_cb :
		    list_env_cb, &l, err);
	} else if (q->app != NULL)
		rc = ag_store_scan_rev(st, "releases", k, kl, list_app_cb, &l,
		    err);
	else
		rc = ag_store_scan_rev(st, "release_log", k, kl, list_env_cb,
		    &l, err);
	if (rc < 0 || kl == 0) {
		json_decref(l.out);
		return kl == 0 ? ag_err_set(err, AG_EINVAL, "name too long") :
		    rc;
	}
	*out = l.out;
	return 0;
}

int
ag_release_commit_status(char **status, char **desc, struct ag_store *st,
    const char *env, const char *sha, struct ag_err *err)
{
	unsigned char k[KEY_MAX];
	size_t kl = key2(k, env, sha, 0, 0);
	char *val = NULL;
	json_t *cj;
	const char *s, *d;

	*status = *desc = NULL;
	if (kl == 0 || ag_store_get(st, "commits", k, kl, &val, NULL,
	    NULL) < 0)
		return ag_err_set(err, AG_ENOTFOUND, "no commit %.64s in %s",
		    sha, env);
	cj = json_loads(val, 0, NULL);
	free(val);
	s = json_string_value(json_object_get(cj, "status"));
	d = json_string_value(json_object_get(cj, "statusDesc"));
	*status = strdup(s ? s : "");
	*desc = strdup(d ? d : "");
	json_decref(cj);
	if (*status == NULL || *desc == NULL) {
		free(*status);
		free(*desc);
		*status = *desc = NULL;
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	return 0;
}

struct status_scan {
	json_t	*out;
};

static int
status_cb(void *arg, const void *key, size_t klen, const char *val,
    size_t vlen)
{
	struct status_scan *s = arg;
	json_t *rec = json_loadb(val, vlen, 0, NULL);
	const char *app;

	(void)key;
	(void)klen;
	if (rec == NULL)
		return 0;
	app = json_string_value(json_object_get(rec, "app"));
	/* Newest first: the first record of each app is its current one. */
	if (app != NULL && json_object_get(s->out, app) == NULL)
		json_object_set(s->out, app, rec);
	json_decref(rec);
	return 0;
}

int
ag_release_status(json_t **out, struct ag_store *st, const char *env,
    struct ag_err *err)
{
	unsigned char k[KEY_MAX];
	struct status_scan s;
	size_t kl = key2(k, env, NULL, 0, 0);
	const char *app;
	json_t *rec;
	void *tmp;

	s.out = json_object();
	if (ag_store_scan_rev(st, "releases", k, kl, status_cb, &s, err) < 0) {
		json_decref(s.out);
		return -1;
	}
	json_object_foreach_safe(s.out, tmp, app, rec) {
		if (action_is(rec, "delete"))
			json_object_del(s.out, app);
	}
	*out = s.out;
	return 0;
}

/* Sets the status of one commit (and its release); 0 if it had one. */
static int
status_one(struct ag_store_txn *t, const struct ag_release_ctx *c,
    const git_oid *id, const char *status, const char *desc, int only_empty,
    int *had, struct ag_err *err)
{
	unsigned char k[KEY_MAX];
	char hex[GIT_OID_HEXSZ + 1], *val = NULL, *s = NULL;
	json_t *cj = NULL, *rec = NULL;
	const char *app;
	size_t kl;
	int r = -1;

	*had = 0;
	git_oid_tostr(hex, sizeof hex, id);
	kl = key2(k, c->env, hex, 0, 0);
	if (ag_store_txn_get(t, "commits", k, kl, &val, NULL, NULL) < 0)
		return 0;	/* not indexed: nothing to mark */
	cj = json_loads(val, 0, NULL);
	free(val);
	if (cj == NULL)
		return 0;
	if (json_string_length(json_object_get(cj, "status")) > 0) {
		*had = 1;
		if (only_empty) {
			json_decref(cj);
			return 0;
		}
	}
	json_object_set_new(cj, "status", json_stringn(status,
	    ag_release_status_len(status)));
	json_object_set_new(cj, "statusDesc", json_stringn(desc,
	    ag_release_status_len(desc)));
	json_object_set_new(cj, "updated", json_integer((json_int_t)time(
	    NULL)));
	if ((s = json_dumps(cj, JSON_COMPACT)) == NULL ||
	    ag_store_txn_put(t, "commits", k, kl, s, strlen(s), err) < 0)
		goto out;
	free(s);
	s = NULL;
	app = json_string_value(json_object_get(cj, "app"));
	if (app != NULL && (rec = get_release(t, c->env, app,
	    (uint64_t)json_integer_value(json_object_get(cj, "seq")))) !=
	    NULL) {
		json_object_set_new(rec, "gitopsCommitStatus",
		    json_stringn(status, ag_release_status_len(status)));
		json_object_set_new(rec, "gitopsCommitStatusDesc",
		    json_stringn(desc, ag_release_status_len(desc)));
		kl = key2(k, c->env, app, 1, (uint64_t)json_integer_value(
		    json_object_get(cj, "seq")));
		if ((s = json_dumps(rec, JSON_COMPACT)) == NULL ||
		    ag_store_txn_put(t, "releases", k, kl, s, strlen(s),
		    err) < 0)
			goto out;
	}
	r = 0;
out:
	free(s);
	json_decref(rec);
	json_decref(cj);
	return r;
}

int
ag_release_set_status(const struct ag_release_ctx *c, const char *sha,
    const char *status, const char *desc, size_t *marked,
    struct ag_err *err)
{
	struct ag_store_txn *t = NULL;
	git_commit *cur = NULL, *parent;
	git_oid id;
	int had, i, r = -1;

	*marked = 0;
	if (!is_hex40(sha) || git_oid_fromstr(&id, sha) < 0)
		return ag_err_set(err, AG_EINVAL, "revision %.60s is not a "
		    "commit id", sha);
	if (git_commit_lookup(&cur, c->repo, &id) < 0) {
		git_error_clear();
		return ag_err_set(err, AG_ENOTFOUND, "no commit %s in %s", sha,
		    c->repo_name);
	}
	if (ag_store_begin(&t, c->st, err) < 0)
		goto out;
	/* The named commit, then ancestors until one already has a status. */
	for (i = 0; i < 1000 && cur != NULL; i++) {
		if (status_one(t, c, git_commit_id(cur), status, desc, i > 0,
		    &had, err) < 0)
			goto out;
		if (i > 0 && had)
			break;
		(*marked)++;
		parent = NULL;
		if (git_commit_parentcount(cur) > 0)
			git_commit_parent(&parent, cur, 0);
		git_commit_free(cur);
		cur = parent;
	}
	r = ag_store_commit(t, err);
	t = NULL;
out:
	ag_store_abort(t);
	git_commit_free(cur);
	return r;
}

int
ag_release_get(json_t **out, struct ag_store *st, const char *env,
    const char *app, uint64_t seq, struct ag_err *err)
{
	unsigned char k[KEY_MAX];
	size_t kl = key2(k, env, app, 1, seq);
	char *val = NULL;

	*out = NULL;
	if (kl == 0 || ag_store_get(st, "releases", k, kl, &val, NULL,
	    NULL) < 0 || (*out = json_loads(val, 0, NULL)) == NULL) {
		free(val);
		return ag_err_set(err, AG_ENOTFOUND, "%s/%s has no release %"
		    PRIu64, env, app, seq);
	}
	free(val);
	return 0;
}

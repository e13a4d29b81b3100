/*
 * Pushes as deploy intents. For an application repository, once its refs
 * moved, each updated branch or tag whose commit holds YAML manifests in
 * .auger/ (or .gimlet/) becomes an artifact, and the manifests' policies decide
 * what deploys where; previews follow branches; what happened is told on
 * the pusher's terminal. For a GitOps repository, the pushed tree goes
 * through the validating chain before any ref moves, and accepted changes
 * to app folders are recorded as releases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auger/access.h"
#include "auger/artifact.h"
#include "auger/dotenv.h"
#include "auger/gitops.h"
#include "auger/policy.h"
#include "auger/release.h"
#include "auger/template.h"
#include "auger/yaml.h"
#include "../hooks/config.h"
#include "../hooks/validate.h"
#include "augerd.h"
#include "log.h"
#include "pushdeploy.h"
#include "releasesvc.h"

#define PUSH_MAX_MANIFESTS	64
/* One file read from a push: a manifest, a vars file, a file to validate. */
#define PUSH_MAX_FILE		(1024 * 1024)
#define PUSH_MAX_VALIDATE	(32UL * 1024 * 1024)	/* files checked */
#define PUSH_MAX_DEPTH		32	/* folders below a top-level one */

static const git_oid zero_oid;

static int	is_yaml(const char *name);

/* Says each line of msg on the pusher's terminal. */
static void
say_lines(struct ag_receive_ctx *ctx, const char *prefix, const char *msg)
{
	const char *p = msg, *e;

	while (p != NULL && *p != '\0') {
		e = strchr(p, '\n');
		ag_receive_say(ctx, "%s%.*s", prefix, (int)(e ? e - p :
		    (long)strlen(p)), p);
		p = e ? e + 1 : NULL;
	}
}

/* The app name of a manifest text, before templating ("app: web"). */
static void
scan_app(char *out, size_t outsz, const char *text)
{
	const char *p = text, *e;
	size_t n;

	out[0] = '\0';
	for (; p != NULL && *p != '\0'; p = strchr(p, '\n') ? strchr(p,
	    '\n') + 1 : NULL) {
		if (strncmp(p, "app:", 4) != 0)
			continue;
		p += 4;
		while (*p == ' ' || *p == '\t' || *p == '"' || *p == '\'')
			p++;
		for (e = p; *e != '\0' && *e != '\n' && *e != '"' &&
		    *e != '\'' && *e != ' ' && *e != '#'; e++)
			;
		n = (size_t)(e - p) < outsz - 1 ? (size_t)(e - p) : outsz - 1;
		memcpy(out, p, n);
		out[n] = '\0';
		return;
	}
}

/*
 * The text of the blob id (at path, for messages). Its size comes from the
 * object's header first: a blob over PUSH_MAX_FILE is refused (AG_ETOOBIG)
 * without being inflated.
 */
static int
blob_text(char **out, size_t *len, git_repository *repo, const git_oid *id,
    const char *path, struct ag_err *err)
{
	git_odb *odb = NULL;
	git_blob *b = NULL;
	git_object_t type;
	size_t size;
	int r = -1;

	*out = NULL;
	*len = 0;
	if (git_repository_odb(&odb, repo) < 0 ||
	    git_odb_read_header(&size, &type, odb, id) < 0) {
		r = ag_err_git(err, "%s: reading its header", path);
		goto out;
	}
	if (type != GIT_OBJECT_BLOB) {
		r = ag_err_set(err, AG_EINVAL, "%s is not a file", path);
		goto out;
	}
	if (size > PUSH_MAX_FILE) {
		r = ag_err_set(err, AG_ETOOBIG, "%s is %zu bytes, over the "
		    "per-file limit of %d bytes (1 MiB)", path, size,
		    PUSH_MAX_FILE);
		goto out;
	}
	if (git_blob_lookup(&b, repo, id) < 0) {
		r = ag_err_git(err, "%s: reading it", path);
		goto out;
	}
	*len = (size_t)git_blob_rawsize(b);
	if ((*out = malloc(*len + 1)) == NULL) {
		*len = 0;
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	memcpy(*out, git_blob_rawcontent(b), *len);
	(*out)[*len] = '\0';
	r = 0;
out:
	git_error_clear();
	git_blob_free(b);
	git_odb_free(odb);
	return r;
}

static int
is_yaml(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	    (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

/*
 * The manifests of a commit: every .auger/ and .gimlet/ YAML file,
 * templated as text with vars (plus APP) and parsed. Errors, with file and
 * line, go to errors as strings.
 */
static json_t *
read_manifests(git_repository *repo, git_commit *commit, json_t *vars,
    json_t *errors)
{
	static const char *dirs[] = { ".auger", ".gimlet" };
	git_tree *tree = NULL, *sub = NULL;
	json_t *out = json_array(), *m, *v, *dv;
	char path[512], app[128], *text, *expanded;
	size_t i, k, n, len, seen = 0;
	struct ag_err err;

	if (git_commit_tree(&tree, commit) < 0)
		return out;
	/* .auger/vars (dotenv) joins the vars first. */
	for (k = 0; k < 2; k++) {
		git_tree_entry *e = NULL;

		snprintf(path, sizeof path, "%s/vars", dirs[k]);
		if (git_tree_entry_bypath(&e, tree, path) < 0) {
			git_error_clear();
			continue;
		}
		memset(&err, 0, sizeof err);
		if (blob_text(&text, &len, repo, git_tree_entry_id(e), path,
		    &err) < 0)
			json_array_append_new(errors, json_string(err.msg));
		else if (ag_dotenv_parse(&dv, text, len, &err) == 0) {
			json_object_update_missing(vars, dv);
			json_decref(dv);
		} else
			json_array_append_new(errors, json_sprintf("%s: %s",
			    path, err.msg));
		free(text);
		git_tree_entry_free(e);
	}
	for (k = 0; k < 2; k++) {
		const git_tree_entry *de = git_tree_entry_byname(tree, dirs[k]);

		if (de == NULL || git_tree_entry_type(de) != GIT_OBJECT_TREE ||
		    git_tree_lookup(&sub, repo, git_tree_entry_id(de)) < 0)
			continue;
		n = git_tree_entrycount(sub);
		for (i = 0; i < n; i++) {
			const git_tree_entry *e = git_tree_entry_byindex(sub, i);

			if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
			    !is_yaml(git_tree_entry_name(e)))
				continue;
			snprintf(path, sizeof path, "%s/%s", dirs[k],
			    git_tree_entry_name(e));
			/* None is left out unsaid (once, not once each). */
			if (++seen > PUSH_MAX_MANIFESTS) {
				if (seen == PUSH_MAX_MANIFESTS + 1)
					json_array_append_new(errors,
					    json_sprintf("%s and the manifests "
					    "after it: not read: a commit carries "
					    "at most %d", path,
					    PUSH_MAX_MANIFESTS));
				continue;
			}
			memset(&err, 0, sizeof err);
			if (blob_text(&text, &len, repo, git_tree_entry_id(e),
			    path, &err) < 0) {
				json_array_append_new(errors, json_string(
				    err.msg));
				continue;
			}
			scan_app(app, sizeof app, text);
			v = json_deep_copy(vars);
			json_object_set_new(v, "APP", json_string(app));
			expanded = NULL;
			m = NULL;
			if (ag_template_yaml(&m, text, len, path, v, &err) < 0)
				json_array_append_new(errors, json_sprintf(
				    "%s: %s", path, err.msg));
			else if (!json_is_object(m) ||
			    !json_is_string(json_object_get(m, "app")) ||
			    !json_is_string(json_object_get(m, "env")))
				json_array_append_new(errors, json_sprintf(
				    "%s: a manifest needs \"app\" and \"env\"",
				    path));
			else if (ag_release_app_check(json_string_value(
			    json_object_get(m, "app")), &err) < 0)
				json_array_append_new(errors, json_sprintf(
				    "%s: %s", path, err.msg));
			else {
				json_object_set_new(m, "file", json_string(path));
				json_array_append(out, m);
			}
			json_decref(m);
			json_decref(v);
			free(expanded);
			free(text);
		}
		git_tree_free(sub);
		sub = NULL;
	}
	git_tree_free(tree);
	return out;
}

/* The template vars of a pushed ref (before .auger/vars joins them). */
static json_t *
push_vars(const struct pushctx *pc, const char *name, int tag,
    const git_oid *id)
{
	const char *slash = strchr(pc->repo, '/');
	char hex[GIT_OID_HEXSZ + 1], owner[64];

	git_oid_tostr(hex, sizeof hex, id);
	snprintf(owner, sizeof owner, "%.*s", slash ? (int)(slash - pc->repo) :
	    0, pc->repo);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "SHA", hex,
	    "BRANCH", tag ? "" : name, "TAG", tag ? name : "", "REPO",
	    pc->repo, "OWNER", owner, "EVENT", tag ? "tag" : "push", "ACTOR",
	    pc->cred.name);
}

static void
say_results(struct ag_receive_ctx *ctx, const json_t *res)
{
	const json_t *r;
	size_t i;

	json_array_foreach(res, i, r) {
		const char *env = json_string_value(json_object_get(r, "env"));
		const char *app = json_string_value(json_object_get(r, "app"));
		const char *ref = json_string_value(json_object_get(r,
		    "gitopsRef"));
		const json_t *w;
		size_t j;

		if (json_is_string(json_object_get(r, "error")))
			say_lines(ctx, "", json_string_value(json_object_get(r,
			    "error")));
		else if (ref != NULL)
			ag_receive_say(ctx, "%s/%s %s: %s@%.7s", env, app,
			    strcmp(json_string_value(json_object_get(r,
			    "action")), "delete") == 0 ? "deleted" :
			    "deployed", json_string_value(json_object_get(r,
			    "gitopsRepo")), ref);
		else
			ag_receive_say(ctx, "%s/%s unchanged: no commit", env,
			    app);
		json_array_foreach(json_object_get(r, "warnings"), j, w)
			ag_receive_say(ctx, "%s/%s warning: %s", env, app,
			    json_string_value(w));
	}
}

/* The env named by a "deploy=<env>" push option, or NULL. */
static const char *
deploy_option(const struct ag_receive_req *req)
{
	size_t i;

	for (i = 0; i < req->noptions; i++)
		if (strncmp(req->options[i], "deploy=", 7) == 0)
			return req->options[i] + 7;
	return NULL;
}

static int
may_deploy(const struct pushctx *pc, const char *env)
{
	char repo[128];

	snprintf(repo, sizeof repo, "gitops-%s-apps", env);
	return pc->cred.g.role != AG_ROLE_READ &&
	    ag_access_allowed(&pc->cred.g, AG_OP_PUSH, repo);
}

/* A branch went away: its previews leave their envs. */
static void
drop_previews(struct pushctx *pc, git_repository *repo,
    const struct ag_receive_cmd *c, const char *branch,
    struct ag_receive_ctx *ctx)
{
	git_commit *old = NULL;
	json_t *vars = push_vars(pc, branch, 0, &c->old_oid);
	json_t *errors = json_array(), *ms, *m, *p, *res = NULL;
	struct ag_err err = { 0, "" };
	size_t i;

	if (releasesvc_is_main(branch) || git_commit_lookup(&old, repo, &c->old_oid) < 0)
		goto out;
	ms = read_manifests(repo, old, vars, errors);
	json_array_foreach(ms, i, m) {
		const char *env;

		if (!json_is_true(json_object_get(m, "preview")))
			continue;
		p = releasesvc_preview_of(m, branch);
		env = json_string_value(json_object_get(p, "env"));
		ag_err_clear(&err);
		if (!may_deploy(pc, env))
			ag_receive_say(ctx, "%s/%s: not removed: %s may not "
			    "deploy to %s", env, json_string_value(
			    json_object_get(p, "app")), pc->cred.name, env);
		else if (releasesvc_delete(&res, env, json_string_value(
		    json_object_get(p, "app")), pc->cred.name, &err) < 0)
			ag_receive_say(ctx, "%s/%s preview: %s", env,
			    json_string_value(json_object_get(p, "app")),
			    err.msg);
		else {
			json_t *arr = json_pack("[O]", res);

			say_results(ctx, arr);
			json_decref(arr);
			json_decref(res);
		}
		json_decref(p);
	}
	json_decref(ms);
out:
	git_error_clear();
	git_commit_free(old);
	json_decref(vars);
	json_decref(errors);
}

/* One pushed branch or tag of an app repository. */
static void
app_ref(struct pushctx *pc, git_repository *repo,
    const struct ag_receive_cmd *c, const char *force_env,
    struct ag_receive_ctx *ctx)
{
	int tag = strncmp(c->ref, "refs/tags/", 10) == 0;
	const char *name = c->ref + (tag ? 10 : 11);
	const git_signature *au, *co;
	git_commit *commit = NULL;
	json_t *vars = NULL, *errors = json_array(), *ms = NULL, *pick = NULL;
	json_t *in = NULL, *art = NULL, *res = NULL, *m, *e, *fnames;
	struct ag_err err = { 0, "" };
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;
	int match;

	if (!tag && strncmp(c->ref, "refs/heads/", 11) != 0)
		return;
	if (git_oid_equal(&c->new_oid, &zero_oid)) {
		if (!tag)
			drop_previews(pc, repo, c, name, ctx);
		return;
	}
	if (git_commit_lookup(&commit, repo, &c->new_oid) < 0) {
		git_error_clear();
		return;		/* a tag of a non-commit: nothing to deploy */
	}
	git_oid_tostr(hex, sizeof hex, &c->new_oid);
	vars = push_vars(pc, name, tag, &c->new_oid);
	ms = read_manifests(repo, commit, vars, errors);
	json_array_foreach(errors, i, e)
		ag_receive_say(ctx, "%s", json_string_value(e));
	if (json_array_size(ms) == 0)
		goto out;
	/* The file names are for messages; the manifests go without them. */
	fnames = json_array();
	json_array_foreach(ms, i, m) {
		json_array_append(fnames, json_object_get(m, "file"));
		json_object_del(m, "file");
	}
	au = git_commit_author(commit);
	co = git_commit_committer(commit);
	in = json_pack("{s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I},"
	    "s:O,s:O,s:{s:s,s:b,s:s,s:O}}", "version", "repositoryName",
	    pc->repo, "sha", hex, "branch", tag ? "" : name, "tag",
	    tag ? name : "", "event", tag ? "tag" : "push", "authorName",
	    au->name ? au->name : "", "authorEmail", au->email ? au->email :
	    "", "committerName", co->name ? co->name : "", "committerEmail",
	    co->email ? co->email : "", "message", git_commit_message(commit) ?
	    git_commit_message(commit) : "", "created",
	    (json_int_t)git_commit_time(commit), "vars", vars, "environments",
	    ms, "auger", "source", "push", "templated", 1, "actor",
	    pc->cred.name, "errors", errors);
	/*
	 * What is ours goes under "auger": Gimlet's context is a map of
	 * strings, which its client must still decode.
	 */
	json_object_set_new(json_object_get(in, "auger"), "files", fnames);
	json_object_set_new(json_object_get(in, "version"), "url",
	    json_string(""));
	if (in == NULL || ag_artifact_put(&art, augerd.store, in, &err) < 0) {
		ag_receive_say(ctx, "artifact not stored: %s", err.msg);
		goto out;
	}
	/* What deploys: -o deploy=<env>, previews, matching policies. */
	pick = json_array();
	json_array_foreach(json_object_get(art, "environments"), i, m) {
		const char *env = json_string_value(json_object_get(m, "env"));
		int preview = json_is_true(json_object_get(m, "preview")) &&
		    !tag && !releasesvc_is_main(name);

		ag_err_clear(&err);
		if (force_env != NULL)
			match = strcmp(env, force_env) == 0;
		else if (preview)
			match = 1;
		else if ((match = ag_policy_match(json_object_get(m, "deploy"),
		    json_object_get(art, "version"), &err)) < 0) {
			ag_receive_say(ctx, "%s: %s", json_string_value(
			    json_array_get(fnames, i)), err.msg);
			continue;
		}
		if (!match)
			continue;
		if (!may_deploy(pc, env)) {
			ag_receive_say(ctx, "%s/%s: not deployed: %s may not "
			    "deploy to %s", env, json_string_value(
			    json_object_get(m, "app")), pc->cred.name, env);
			continue;
		}
		if (json_is_true(json_object_get(m, "preview")) && !tag &&
		    !releasesvc_is_main(name))
			json_array_append_new(pick, releasesvc_preview_of(m, name));
		else
			json_array_append(pick, m);
	}
	if (json_array_size(pick) == 0) {
		ag_receive_say(ctx, "%s: no manifest's policy matched; nothing "
		    "deployed", name);
		goto out;
	}
	ag_err_clear(&err);
	if (releasesvc_deploy_list(&res, art, pick, pc->cred.name, 1, &err) < 0) {
		ag_receive_say(ctx, "deploy failed: %s", err.msg);
		goto out;
	}
	say_results(ctx, res);
	/* The artifact keeps what happened. */
	releasesvc_keep_push_results(art, res);
out:
	git_commit_free(commit);
	json_decref(vars);
	json_decref(errors);
	json_decref(ms);
	json_decref(pick);
	json_decref(in);
	json_decref(art);
	json_decref(res);
}

static int
app_post(void *arg, git_repository *repo, struct ag_receive_req *req,
    struct ag_receive_ctx *ctx)
{
	struct pushctx *pc = arg;
	const char *force = deploy_option(req);
	size_t i;

	if (force != NULL && !may_deploy(pc, force)) {
		ag_receive_say(ctx, "-o deploy=%s: %s may not deploy to %s",
		    force, pc->cred.name, force);
		return 0;
	}
	for (i = 0; i < req->n; i++)
		if (req->cmds[i].error == NULL)
			app_ref(pc, repo, &req->cmds[i], force, ctx);
	return 0;
}

/* The files a gitops push hands to the chain, with their buffers. */
struct vset {
	struct validate_file	*v;
	char			**b;	/* data, path of each: owned */
	size_t			 n, cap, total;
};

static void
vset_free(struct vset *vs)
{
	size_t i;

	for (i = 0; i < 2 * vs->n; i++)
		free(vs->b[i]);
	free(vs->b);
	free(vs->v);
	memset(vs, 0, sizeof *vs);
}

/* Reads one blob into vs: no file is left out, none over the limits. */
static int
vset_blob(struct vset *vs, git_repository *repo, const git_oid *id,
    const char *path, struct ag_err *err)
{
	struct validate_file *nv;
	char *text = NULL, *p = NULL, **nb;
	size_t len;

	if (vs->n >= VALIDATE_MAX_FILES)
		return ag_err_set(err, AG_ETOOBIG, "more than %d files to "
		    "validate (at %s)", VALIDATE_MAX_FILES, path);
	if (blob_text(&text, &len, repo, id, path, err) < 0)
		return err->code;
	if ((vs->total += len) > PUSH_MAX_VALIDATE) {
		free(text);
		return ag_err_set(err, AG_ETOOBIG, "the changed files exceed "
		    "the validation limit of %lu bytes (32 MiB) at %s",
		    PUSH_MAX_VALIDATE, path);
	}
	if (vs->n == vs->cap) {
		vs->cap = vs->cap ? vs->cap * 2 : 16;
		if ((nv = realloc(vs->v, vs->cap * sizeof *nv)) == NULL)
			goto oom;
		vs->v = nv;
		if ((nb = realloc(vs->b, 2 * vs->cap * sizeof *nb)) == NULL)
			goto oom;
		vs->b = nb;
	}
	if ((p = strdup(path)) == NULL)
		goto oom;
	vs->b[2 * vs->n] = text;
	vs->b[2 * vs->n + 1] = p;
	vs->v[vs->n].path = p;
	vs->v[vs->n].data = text;
	vs->v[vs->n].len = len;
	vs->n++;
	return 0;
oom:
	free(text);
	return ag_err_set(err, AG_EINTERNAL, "out of memory");
}

/*
 * Every file below tree (at prefix), at any depth up to PUSH_MAX_DEPTH:
 * Flux applies a folder's subfolders too. Submodules hold no file here.
 */
static int
vset_tree(struct vset *vs, git_repository *repo, const git_oid *id,
    const char *prefix, int depth, struct ag_err *err)
{
	git_tree *tree = NULL;
	char path[4096];
	size_t i, n;
	int r = -1;

	if (depth > PUSH_MAX_DEPTH)
		return ag_err_set(err, AG_ETOOBIG, "%s/: folders nested deeper "
		    "than %d levels", prefix, PUSH_MAX_DEPTH);
	if (git_tree_lookup(&tree, repo, id) < 0)
		return ag_err_git(err, "%s/: reading the folder", prefix);
	n = git_tree_entrycount(tree);
	for (i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);

		if ((size_t)snprintf(path, sizeof path, "%s/%s", prefix,
		    git_tree_entry_name(e)) >= sizeof path) {
			r = ag_err_set(err, AG_ETOOBIG, "%.200s...: a path "
			    "longer than %zu bytes", path, sizeof path - 1);
			goto out;
		}
		if (git_tree_entry_type(e) == GIT_OBJECT_BLOB)
			r = vset_blob(vs, repo, git_tree_entry_id(e), path, err);
		else if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			r = vset_tree(vs, repo, git_tree_entry_id(e), path,
			    depth + 1, err);
		else
			r = 0;
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	git_tree_free(tree);
	return r;
}

/*
 * The files of the top-level entries that differ between two trees:
 * changed files, and every file of a changed folder (duplicates are
 * found within a folder).
 */
static int
changed_files(struct vset *vs, git_repository *repo, git_tree *old,
    git_tree *new, struct ag_err *err)
{
	size_t i, cnt;
	int r;

	memset(vs, 0, sizeof *vs);
	cnt = git_tree_entrycount(new);
	for (i = 0; i < cnt; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(new, i);
		const git_tree_entry *oe = old ? git_tree_entry_byname(old,
		    git_tree_entry_name(e)) : NULL;

		if (oe != NULL && git_oid_equal(git_tree_entry_id(oe),
		    git_tree_entry_id(e)))
			continue;
		if (git_tree_entry_type(e) == GIT_OBJECT_BLOB)
			r = vset_blob(vs, repo, git_tree_entry_id(e),
			    git_tree_entry_name(e), err);
		else if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			r = vset_tree(vs, repo, git_tree_entry_id(e),
			    git_tree_entry_name(e), 1, err);
		else
			r = 0;
		if (r < 0) {
			vset_free(vs);
			return r;
		}
	}
	return 0;
}

/* Whether new adds, changes or removes flux/ against base. */
static int
touches_flux(const git_tree *base, const git_tree *new)
{
	const git_tree_entry *a = base ? git_tree_entry_byname(base, "flux") :
	    NULL;
	const git_tree_entry *b = git_tree_entry_byname(new, "flux");

	if (a == NULL || b == NULL)
		return a != b;
	return !git_oid_equal(git_tree_entry_id(a), git_tree_entry_id(b)) ||
	    git_tree_entry_filemode(a) != git_tree_entry_filemode(b);
}

/*
 * The tree a pushed ref is compared with: its old commit's, or for a new
 * ref, main's (what Flux applies). *tree NULL when there is none.
 */
static void
base_tree(git_tree **tree, git_repository *repo,
    const struct ag_receive_cmd *c)
{
	git_commit *commit = NULL;
	git_oid id;

	*tree = NULL;
	if (!git_oid_equal(&c->old_oid, &zero_oid))
		git_oid_cpy(&id, &c->old_oid);
	else if (git_reference_name_to_id(&id, repo, AG_GITOPS_BRANCH) < 0) {
		git_error_clear();
		return;
	}
	if (git_commit_lookup(&commit, repo, &id) < 0 ||
	    git_commit_tree(tree, commit) < 0)
		git_error_clear();
	git_commit_free(commit);
}

/* One refused ref: the message on the terminal and in "ng <ref> <why>". */
static void
gitops_refuse(struct pushctx *pc, struct ag_receive_cmd *c,
    struct ag_receive_ctx *ctx, const char *m)
{
	const char *nl = strchr(m, '\n');

	say_lines(ctx, "", m);
	ag_receive_refuse(c, "%.*s", (int)(nl ? nl - m : (long)strlen(m)), m);
	log_info("push to %s %s by %s refused: %.200s", pc->repo, c->ref,
	    pc->cred.name, m);
}

/*
 * Before refs move: flux/ is the admin's (it holds the env's own Flux
 * objects, exempt from the apps rules), and the pushed tree must pass the
 * validating chain.
 */
static int
gitops_check(void *arg, git_repository *qrepo, struct ag_receive_req *req,
    struct ag_receive_ctx *ctx)
{
	struct pushctx *pc = arg;
	struct vset vs = { 0 };
	git_commit *oc = NULL, *nc = NULL;
	git_tree *ot = NULL, *nt = NULL, *bt = NULL;
	char *msg = NULL, why[512];
	struct ag_err err = { 0, "" };
	size_t i;
	int rc;

	for (i = 0; i < req->n; i++) {
		struct ag_receive_cmd *c = &req->cmds[i];

		if (c->error != NULL || git_oid_equal(&c->new_oid, &zero_oid))
			continue;
		if (git_commit_lookup(&nc, qrepo, &c->new_oid) < 0 ||
		    git_commit_tree(&nt, nc) < 0) {
			git_error_clear();
			goto next;	/* not a commit: the ref checks say so */
		}
		if (!git_oid_equal(&c->old_oid, &zero_oid) &&
		    (git_commit_lookup(&oc, qrepo, &c->old_oid) < 0 ||
		    git_commit_tree(&ot, oc) < 0))
			git_error_clear();
		base_tree(&bt, qrepo, c);
		if (pc->cred.g.role != AG_ROLE_ADMIN && touches_flux(bt, nt)) {
			snprintf(why, sizeof why, "flux/ may be changed by an "
			    "admin credential only: it holds the env's own "
			    "Flux objects (%s is a %s credential)",
			    pc->cred.name, pc->cred.g.role == AG_ROLE_DEPLOY ?
			    "deploy" : "read");
			gitops_refuse(pc, c, ctx, why);
			goto next;
		}
		ag_err_clear(&err);
		if (changed_files(&vs, qrepo, ot, nt, &err) < 0) {
			gitops_refuse(pc, c, ctx, err.msg);
			goto next;
		}
		msg = NULL;
		ag_err_clear(&err);
		rc = releasesvc_validate(&msg, pc->env, pc->gitops == 2,
		    "gitops-push", pc->repo, c->ref, pc->cred.name,
		    git_commit_message(nc), vs.v, vs.n, &err);
		if (rc != 0)
			gitops_refuse(pc, c, ctx, msg ? msg : err.msg);
		free(msg);
		vset_free(&vs);
next:
		git_tree_free(bt);
		git_tree_free(ot);
		git_tree_free(nt);
		git_commit_free(oc);
		git_commit_free(nc);
		bt = ot = nt = NULL;
		oc = nc = NULL;
	}
	return 0;
}

/* After refs moved: direct changes to app folders become releases. */
static int
gitops_post(void *arg, git_repository *repo, struct ag_receive_req *req,
    struct ag_receive_ctx *ctx)
{
	struct pushctx *pc = arg;
	struct ag_err err = { 0, "" };
	size_t i;

	(void)repo;
	for (i = 0; i < req->n; i++) {
		if (req->cmds[i].error == NULL &&
		    strcmp(req->cmds[i].ref, "refs/heads/main") == 0) {
			if (releasesvc_index_push(pc->env, pc->cred.name, &err) < 0)
				ag_receive_say(ctx, "recording releases: %s",
				    err.msg);
			else
				ag_receive_say(ctx, "%s: recorded as releases "
				    "(auger release list --env %s)", pc->env,
				    pc->env);
		}
	}
	return 0;
}

void
pushdeploy_setup(struct ag_receive_opts *o, struct pushctx *pc,
    const char *repo, const struct cred *cred)
{
	const char *kind;

	memset(pc, 0, sizeof *pc);
	snprintf(pc->repo, sizeof pc->repo, "%s", repo);
	pc->cred = *cred;
	if (ag_access_repo_env(pc->env, sizeof pc->env, repo)) {
		kind = strrchr(repo, '-');
		pc->gitops = kind && strcmp(kind, "-infra") == 0 ? 2 : 1;
		o->check = gitops_check;
		o->check_arg = pc;
		if (pc->gitops == 1) {
			o->post = gitops_post;
			o->post_arg = pc;
		}
	} else {
		o->post = app_post;
		o->post_arg = pc;
	}
}

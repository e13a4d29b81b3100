/*
 * The release service: deploy, rollback, delete and push-to-deploy on the
 * environments' apps repositories, for the API handlers (deploy.c) and the
 * push path (pushdeploy.c) alike. It knows nothing of HTTP: callers pass a
 * credential and get AG_E* codes with a message. Every call runs on a
 * worker; a write to an env takes the apps repository's ref lock (the same
 * lock pushes take), so writes to one env form a queue while other envs go
 * on in parallel.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auger/access.h"
#include "auger/artifact.h"
#include "auger/env.h"
#include "auger/policy.h"
#include "auger/release.h"
#include "auger/repo.h"
#include "auger/template.h"
#include "auger/yaml.h"
#include "../hooks/config.h"
#include "../hooks/patch.h"
#include "../hooks/render.h"
#include "../hooks/runner.h"
#include "../hooks/validate.h"
#include "augerd.h"
#include "live.h"
#include "log.h"
#include "maint.h"
#include "releasesvc.h"
#include "repostate.h"

int
releasesvc_env_repo(char *repo, size_t reposz, const char *env,
    struct ag_err *err)
{
	json_t *rec;

	if (env == NULL || *env == '\0')
		return ag_err_set(err, AG_EINVAL, "\"env\" is required");
	if (ag_env_name_check(env, err) < 0)
		return AG_EINVAL;
	if (ag_env_get(&rec, augerd.store, env, err) < 0)
		return err->code ? err->code : AG_ENOTFOUND;
	json_decref(rec);
	snprintf(repo, reposz, "gitops-%s-apps", env);
	return 0;
}

static int
is_yaml(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	    (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

int
releasesvc_validate(char **msg, const char *env, int infra,
    const char *source, const char *repo, const char *ref, const char *actor,
    const char *message, const struct validate_file *files, size_t n,
    struct ag_err *err)
{
	struct config_env ce = *config_env(augerd.config, env);
	json_t *in = NULL, *fl, *docs, *d;
	char dir[4200], *text = NULL;
	size_t i, j;
	int rc;

	*msg = NULL;
	if (infra)
		ce.allow_cluster_scoped = 1;	/* infra holds cluster objects */
	if ((rc = validate_all(msg, files, n, &ce, err)) != 0)
		return rc;
	snprintf(dir, sizeof dir, "%s/hooks/validate.d", augerd.data);
	/* The hooks' input: the intent, the files, the parsed documents. */
	fl = json_array();
	docs = json_array();
	for (i = 0; i < n; i++) {
		json_t *content = json_stringn(files[i].data, files[i].len);

		/* Not UTF-8: the hook sees the path, and null content. */
		json_array_append_new(fl, json_pack("{s:s,s:o}", "path",
		    files[i].path, "content", content ? content :
		    json_null()));
		if (is_yaml(files[i].path) && ag_yaml_load_all(&d,
		    files[i].data, files[i].len, files[i].path, NULL) == 0) {
			json_t *o;

			json_array_foreach(d, j, o)
				json_array_append_new(docs, json_pack(
				    "{s:s,s:I,s:O}", "path", files[i].path,
				    "index", (json_int_t)j, "object", o));
			json_decref(d);
		}
	}
	in = json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s},s:o,s:o}", "stage",
	    "validate", "intent", "source", source, "env", env, "repo", repo,
	    "ref", ref ? ref : "", "actor", actor ? actor : "", "message",
	    message ? message : "", "files", fl, "documents", docs);
	if (in == NULL || (text = json_dumps(in, JSON_COMPACT)) == NULL) {
		json_decref(in);
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	json_decref(in);
	rc = runner_run(msg, dir, "validate", text, strlen(text),
	    ce.hook_timeout_ms, err);
	free(text);
	return rc;
}

/* Artifact vars as Gimlet collects them (src/template.c). */
static json_t *
vars_of(const json_t *artifact, const char *app)
{
	return ag_template_artifact_vars(artifact, app);
}

/* A manifest ready to commit: templated and rendered. */
struct prepared {
	char			 app[64];
	char			 env[64];
	int			 preview;	/* a branch's preview */
	struct render_out	*ro;
	struct ag_file		*files;
};

static void
prepared_free(struct prepared *p)
{
	if (p->ro != NULL)
		render_out_free(p->ro);
	free(p->files);
	p->ro = NULL;
	p->files = NULL;
}

/*
 * Who made the artifact: the pusher for a push (our own "auger" part of
 * the artifact), else what CI put in context.actor, if anything.
 */
static const char *
actor_of(const json_t *artifact)
{
	const char *a = json_string_value(json_object_get(json_object_get(
	    artifact, "auger"), "actor"));

	return a != NULL ? a : json_string_value(json_object_get(
	    json_object_get(artifact, "context"), "actor"));
}

/* The validating chain over the rendered files, before any commit. */
static int
check(struct prepared *p, const json_t *artifact, struct ag_err *err)
{
	struct validate_file *vf;
	char repo[128], *msg = NULL, (*paths)[192];
	struct ag_err e = { 0, "" };
	size_t i, n = p->ro->nfiles;
	int rc;

	vf = calloc(n + 1, sizeof *vf);
	paths = calloc(n + 1, sizeof *paths);
	if (vf == NULL || paths == NULL) {
		free(vf);
		free(paths);
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	for (i = 0; i < n; i++) {
		snprintf(paths[i], sizeof paths[i], "%s/%s", p->app,
		    p->files[i].name);
		vf[i].path = paths[i];
		vf[i].data = p->files[i].data;
		vf[i].len = p->files[i].len;
	}
	snprintf(repo, sizeof repo, "gitops-%s-apps", p->env);
	rc = releasesvc_validate(&msg, p->env, 0, "api", repo,
	    "refs/heads/main", actor_of(artifact),
	    json_string_value(json_object_get(json_object_get(artifact,
	    "version"), "message")), vf, n, &e);
	if (rc != 0) {
		size_t l = msg ? strlen(msg) : 0;

		while (l > 0 && msg[l - 1] == '\n')
			msg[--l] = '\0';
		ag_err_set(err, rc == AG_EINVAL ? AG_EINVAL : e.code ?
		    e.code : AG_EINTERNAL, "%s/%s refused: %s", p->env, p->app,
		    msg ? msg : e.msg);
		rc = -1;
	}
	free(msg);
	free(vf);
	free(paths);
	return rc;
}

/* Templates and renders; on error err says what and which manifest. */
static int
prepare(struct prepared *p, const json_t *artifact, const json_t *manifest,
    struct ag_err *err)
{
	const char *app = json_string_value(json_object_get(manifest, "app"));
	const char *env = json_string_value(json_object_get(manifest, "env"));
	json_t *vars, *m = NULL;
	struct ag_err e = { 0, "" };
	size_t i;
	int r = -1;

	memset(p, 0, sizeof *p);
	snprintf(p->app, sizeof p->app, "%s", app ? app : "");
	snprintf(p->env, sizeof p->env, "%s", env ? env : "");
	p->preview = json_is_true(json_object_get(manifest, "preview"));
	vars = vars_of(artifact, p->app);
	/* Manifests from a push were templated as text already. */
	if (json_is_true(json_object_get(json_object_get(artifact, "auger"),
	    "templated")))
		m = json_incref((json_t *)manifest);
	else if (ag_template_json(&m, manifest, vars, &e) < 0)
		m = NULL;
	/* The folder is the templated name, checked before rendering. */
	if (m != NULL && json_is_string(json_object_get(m, "app")))
		snprintf(p->app, sizeof p->app, "%s", json_string_value(
		    json_object_get(m, "app")));
	if (m == NULL || ag_release_app_check(p->app, &e) < 0 ||
	    patch_render(&p->ro, m, vars, &e) < 0) {
		r = ag_err_set(err, e.code ? e.code : AG_EINVAL, "%s/%s: %s",
		    p->env, p->app, e.msg);
		goto out;
	}
	if ((p->files = calloc(p->ro->nfiles + 1, sizeof *p->files)) == NULL) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < p->ro->nfiles; i++) {
		p->files[i].name = p->ro->files[i].name;
		p->files[i].data = p->ro->files[i].data;
		p->files[i].len = p->ro->files[i].len;
	}
	if (check(p, artifact, err) < 0)
		goto out;
	r = 0;
out:
	json_decref(vars);
	json_decref(m);
	return r;
}

/* Tells listeners (live.h) of a new release record of env. */
static void
publish_release(const char *env, const json_t *rec)
{
	json_t *ev;

	ev = json_pack("{s:s,s:O*,s:O*,s:O*,s:O*,s:O*}", "env", env, "app",
	    json_object_get(rec, "app"), "seq", json_object_get(rec, "seq"),
	    "action", json_object_get(rec, "action"), "gitopsRef",
	    json_object_get(rec, "gitopsRef"), "triggeredBy",
	    json_object_get(rec, "triggeredBy"));
	if (ev != NULL)
		live_publish("release", env, ev);
	json_decref(ev);
}

/* Runs fn on env's apps repo under its ref lock; refreshes the cache. */
typedef int (*locked_fn)(json_t **out, const struct ag_release_ctx *c,
    void *arg, struct ag_err *err);

static int
with_env(json_t **out, const char *env, locked_fn fn, void *arg,
    struct ag_err *err)
{
	struct ag_release_ctx c = { 0 };
	struct repostate *rs;
	git_repository *repo = NULL;
	char name[128];
	int r;

	snprintf(name, sizeof name, "gitops-%s-apps", env);
	if ((rs = repostate_get(name)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	if (ag_repo_open(&repo, augerd.repos, name, err) < 0)
		return -1;
	c.repo = repo;
	c.st = augerd.store;
	c.env = env;
	c.repo_name = name;
	pthread_mutex_lock(&rs->ref_lock);
	r = fn(out, &c, arg, err);
	/* Clones that start after this answer see the new commit. */
	if (r == 0 && *out != NULL &&
	    json_is_string(json_object_get(*out, "gitopsRef"))) {
		repostate_moved(rs, repo);
		maint_note(name);
		publish_release(env, *out);
	}
	pthread_mutex_unlock(&rs->ref_lock);
	git_repository_free(repo);
	return r;
}

struct deploy_arg {
	struct prepared		*p;
	json_t			*base;
};

static int
locked_deploy(json_t **out, const struct ag_release_ctx *c, void *arg,
    struct ag_err *err)
{
	struct deploy_arg *d = arg;

	return ag_release_deploy(out, c, d->p->app, d->p->files,
	    d->p->ro->nfiles, d->base, err);
}

/* Commits one prepared manifest; *out the release (or "unchanged"). */
static int
commit_prepared(json_t **out, struct prepared *p, const json_t *artifact,
    const char *by, struct ag_err *err)
{
	struct deploy_arg d;
	int r;

	d.p = p;
	d.base = json_pack("{s:O,s:s,s:O}", "artifactId",
	    json_object_get(artifact, "id"), "triggeredBy", by, "version",
	    json_object_get(artifact, "version"));
	/* Kept in the record (and its trailer): the dashboard lists previews. */
	if (p->preview)
		json_object_set_new(d.base, "preview", json_true());
	r = with_env(out, p->env, locked_deploy, &d, err);
	json_decref(d.base);
	if (r == 0 && json_array_size(p->ro->warnings) > 0)
		json_object_set(*out, "warnings", p->ro->warnings);
	if (r == 0)
		log_info("release %s/%s by %s: %s", p->env, p->app, by,
		    json_is_string(json_object_get(*out, "gitopsRef")) ?
		    json_string_value(json_object_get(*out, "gitopsRef")) :
		    "unchanged, no commit");
	return r;
}

int
releasesvc_deploy_list(json_t **out, const json_t *artifact,
    const json_t *manifests, const char *by, int keep_going, struct ag_err *err)
{
	struct prepared *ps = NULL;
	json_t *res = json_array(), *rel, *m;
	size_t i, n = 0, total = json_array_size(manifests);
	int r = -1;

	if ((ps = calloc(total + 1, sizeof *ps)) == NULL) {
		json_decref(res);
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	/* Everything is templated and rendered before the first commit. */
	json_array_foreach(manifests, i, m) {
		struct ag_err pe = { 0, "" };

		if (prepare(&ps[n], artifact, m, &pe) < 0) {
			if (!keep_going) {
				ag_err_set(err, pe.code, "%s", pe.msg);
				n++;
				goto out;
			}
			json_array_append_new(res, json_pack("{s:s,s:s,s:s}",
			    "app", ps[n].app, "env", ps[n].env, "error",
			    pe.msg));
			prepared_free(&ps[n]);
			continue;
		}
		n++;
	}
	for (i = 0; i < n; i++) {
		if (commit_prepared(&rel, &ps[i], artifact, by, err) < 0) {
			/* A full disk fails the rest too: the answer says so. */
			if (!keep_going || err->code == AG_ENOSPACE)
				goto out;
			json_array_append_new(res, json_pack("{s:s,s:s,s:s}",
			    "app", ps[i].app, "env", ps[i].env, "error",
			    err->msg));
			ag_err_clear(err);
			continue;
		}
		json_array_append_new(res, rel);
	}
	*out = res;
	res = NULL;
	r = 0;
out:
	for (i = 0; i < n; i++)
		prepared_free(&ps[i]);
	free(ps);
	json_decref(res);
	return r;
}

/*
 * Deploys the artifact's manifests for env (one app, or all; with policy,
 * only those whose deploy policy matches and whose env the credential may
 * deploy to). Policy-free deploys are all or nothing.
 */
int
releasesvc_deploy_artifact(json_t **out, const struct cred *cred,
    const json_t *artifact, const char *env, const char *app, int policy,
    struct ag_err *err)
{
	const json_t *envs = json_object_get(artifact, "environments"), *m;
	json_t *pick = json_array(), *skipped = json_array(), *res = NULL, *x;
	size_t i;
	int r = -1, match;
	char repo[128];

	json_array_foreach(envs, i, m) {
		const char *menv = json_string_value(json_object_get(m, "env"));
		const char *mapp = json_string_value(json_object_get(m, "app"));
		struct ag_err pe = { 0, "" };
		const char *why = NULL;
		int preview = json_is_true(json_object_get(m, "preview"));

		if ((env != NULL && strcmp(menv, env) != 0) ||
		    (app != NULL && strcmp(mapp, app) != 0))
			continue;
		if (policy) {
			if (preview)
				match = releasesvc_preview_match(json_object_get(
				    artifact, "version"));
			else if ((match = ag_policy_match(json_object_get(m,
			    "deploy"), json_object_get(artifact, "version"),
			    &pe)) < 0)
				why = pe.msg;
			if (why == NULL && match == 0)
				continue;
			snprintf(repo, sizeof repo, "gitops-%s-apps", menv);
			if (why == NULL && ag_env_get(&x, augerd.store, menv,
			    NULL) < 0)
				why = "no such env";
			else if (why == NULL)
				json_decref(x);
			if (why == NULL && !ag_access_allowed(&cred->g,
			    AG_OP_PUSH, repo))
				why = "not allowed to deploy to this env";
			if (why != NULL) {
				json_array_append_new(skipped, json_pack(
				    "{s:s,s:s,s:s}", "app", mapp, "env", menv,
				    "error", why));
				continue;
			}
		}
		if (policy && preview)
			json_array_append_new(pick, releasesvc_preview_of(m,
			    json_string_value(json_object_get(json_object_get(
			    artifact, "version"), "branch"))));
		else
			json_array_append(pick, (json_t *)m);
	}
	if (!policy && json_array_size(pick) == 0) {
		r = ag_err_set(err, AG_ENOTFOUND, "artifact %s has no manifest "
		    "for %s%s%s", json_string_value(json_object_get(artifact,
		    "id")), env, app ? "/" : "", app ? app : "");
		goto out;
	}
	if (releasesvc_deploy_list(&res, artifact, pick, policy ? "policy" :
	    cred->name, policy, err) < 0)
		goto out;
	json_array_extend(skipped, res);
	*out = skipped;
	skipped = NULL;
	r = 0;
out:
	json_decref(res);
	json_decref(pick);
	json_decref(skipped);
	return r;
}


struct target {
	const char	*app, *to, *by;
};

static void	event_keep(json_t *, const char *, json_t *, const char *,
		    const char *, const char *);

struct status_arg {
	const char	*sha, *status, *desc;
	size_t		*marked;
};

static int
locked_status(json_t **out, const struct ag_release_ctx *c, void *arg,
    struct ag_err *err)
{
	struct status_arg *s = arg;

	*out = NULL;
	return ag_release_set_status(c, s->sha, s->status, s->desc, s->marked,
	    err);
}

int
releasesvc_set_status(const char *env, const char *sha, const char *status,
    const char *desc, size_t *marked, struct ag_err *err)
{
	struct status_arg s = { sha, status, desc, marked };
	json_t *out = NULL, *ev;

	if (with_env(&out, env, locked_status, &s, err) < 0)
		return -1;
	ev = json_pack("{s:s,s:s,s:s}", "env", env, "sha", sha, "status",
	    status);
	if (ev != NULL)
		live_publish("status", env, ev);
	json_decref(ev);
	return 0;
}

static int
locked_rollback(json_t **out, const struct ag_release_ctx *c, void *arg,
    struct ag_err *err)
{
	struct target *t = arg;

	return ag_release_rollback(out, c, t->app, t->to, t->by, err);
}

static int
locked_delete(json_t **out, const struct ag_release_ctx *c, void *arg,
    struct ag_err *err)
{
	struct target *t = arg;

	return ag_release_delete(out, c, t->app, t->by, err);
}

int
releasesvc_rollback(json_t **out, const char *env, const char *app,
    const char *to, const char *by, struct ag_err *err)
{
	struct target t = { app, to, by };
	json_t *res;
	int r;

	if ((r = with_env(out, env, locked_rollback, &t, err)) != 0)
		return r;
	log_info("rollback %s/%s by %s: %s", env, app, by,
	    json_string_value(json_object_get(*out, "gitopsRef")));
	res = json_pack("[O]", *out);
	event_keep(*out, "rollback", res, env, app, by);
	json_decref(res);
	return 0;
}

int
releasesvc_delete(json_t **out, const char *env, const char *app,
    const char *by, struct ag_err *err)
{
	struct target t = { app, NULL, by };
	int r;

	if ((r = with_env(out, env, locked_delete, &t, err)) == 0)
		log_info("delete %s/%s by %s: %s", env, app, by,
		    json_string_value(json_object_get(*out, "gitopsRef")));
	return r;
}

static int
locked_index(json_t **out, const struct ag_release_ctx *c, void *arg,
    struct ag_err *err)
{
	struct ag_release_ctx c2 = *c;
	size_t added;

	(void)out;
	c2.actor = arg;
	return ag_release_catch_up(&c2, &added, err);
}

int
releasesvc_index_push(const char *env, const char *actor, struct ag_err *err)
{
	json_t *out = NULL, *ev;

	if (with_env(&out, env, locked_index, (void *)actor, err) < 0)
		return -1;
	/* Hand edits: which apps they touched is in the index, not here. */
	if ((ev = json_pack("{s:s,s:s}", "env", env, "action", "push")) !=
	    NULL)
		live_publish("release", env, ev);
	json_decref(ev);
	return 0;
}

static int
each_env(int reindex)
{
	struct ag_err err = { 0, "" };
	struct ag_release_ctx c = { 0 };
	git_repository *repo;
	json_t *envs, *e;
	size_t i, added;
	char name[128];
	int bad = 0;

	if (ag_env_list(&envs, augerd.store, &err) < 0) {
		log_warn("listing envs: %s", err.msg);
		return -1;
	}
	json_array_foreach(envs, i, e) {
		const char *env = json_string_value(json_object_get(e, "name"));

		snprintf(name, sizeof name, "gitops-%s-apps", env);
		ag_err_clear(&err);
		if (ag_repo_open(&repo, augerd.repos, name, &err) < 0) {
			log_warn("env %s: %s", env, err.msg);
			bad = 1;
			continue;
		}
		c.repo = repo;
		c.st = augerd.store;
		c.env = env;
		c.repo_name = name;
		if ((reindex ? ag_release_reindex(&c, &added, &err) :
		    ag_release_catch_up(&c, &added, &err)) < 0) {
			log_warn("env %s: indexing: %s", env, err.msg);
			bad = 1;
		} else if (added > 0 || reindex)
			log_info("env %s: indexed %zu commit(s) from git", env,
			    added);
		git_repository_free(repo);
	}
	json_decref(envs);
	return bad ? -1 : 0;
}

int
releasesvc_catch_up_all(void)
{
	return each_env(0);
}

int
releasesvc_reindex_all(void)
{
	return each_env(1);
}

int
releasesvc_is_main(const char *branch)
{
	return strcmp(branch, "main") == 0 || strcmp(branch, "master") == 0;
}

json_t *
releasesvc_preview_of(const json_t *m, const char *branch)
{
	json_t *p = json_deep_copy(m), *ing;
	const char *app = json_string_value(json_object_get(m, "app"));
	const char *host, *dot;
	char slug[AG_SANITIZE_DNS_MAX + 1], name[128], nh[512];

	size_t n = strlen(app), keep;

	/* Gimlet's PrepPreview: "<app without -preview>-<branch slug>". */
	if (n > 8 && strcmp(app + n - 8, "-preview") == 0)
		n -= 8;
	ag_sanitize_dns(slug, sizeof slug, branch);
	keep = 62 - strlen(slug);
	snprintf(name, sizeof name, "%.*s-%s", (int)(n < keep ? n : keep),
	    app, slug);
	if (strlen(name) > 63)
		name[63] = '\0';
	while (strlen(name) > 0 && name[strlen(name) - 1] == '-')
		name[strlen(name) - 1] = '\0';
	json_object_set_new(p, "app", json_string(name));
	ing = json_object_get(json_object_get(p, "values"), "ingress");
	if (json_is_object(ing) && (host = json_string_value(json_object_get(
	    ing, "host"))) != NULL) {
		dot = strchr(host, '.');
		snprintf(nh, sizeof nh, "%s%s", name, dot ? dot : "");
		json_object_set_new(ing, "host", json_string(nh));
	}
	return p;
}

/*
 * The deploy policy Gimlet's PrepPreview gives a preview manifest
 * (pkg/dx/manifest.go): event push, branch !{main,master}. Its own deploy
 * block is replaced, so it is not read.
 */
int
releasesvc_preview_match(const json_t *version)
{
	const char *ev = json_string_value(json_object_get(version, "event"));
	const char *br = json_string_value(json_object_get(version, "branch"));

	if (ev != NULL && *ev != '\0' && strcmp(ev, "push") != 0)
		return 0;
	return br != NULL && *br != '\0' && !releasesvc_is_main(br);
}

/* An artifact's deploy results, kept with it for eventArtifactTrack. */
static void
keep_results(json_t *art, json_t *results)
{
	struct ag_err err = { 0, "" };

	json_object_set(art, "releases", results);
	if (ag_artifact_update(augerd.store, art, &err) < 0)
		log_warn("artifact %s: keeping its results: %s",
		    json_string_value(json_object_get(art, "id")), err.msg);
}

int
releasesvc_ship(json_t **out, const struct cred *cred, const json_t *in,
    struct ag_err *err)
{
	json_t *art = NULL, *rels = NULL, *warn = json_array();
	struct ag_err de = { 0, "" };
	size_t ncue;

	if (ag_artifact_put(&art, augerd.store, in, err) < 0) {
		json_decref(warn);
		return err->code;
	}
	log_info("artifact %s stored by %s", json_string_value(
	    json_object_get(art, "id")), cred->name);
	/* Unsupported parts are said, not dropped in silence. */
	if ((ncue = json_array_size(json_object_get(art,
	    "cueEnvironments"))) > 0)
		json_array_append_new(warn, json_sprintf("cueEnvironments: "
		    "%zu entr%s not deployed: CUE environment templates are "
		    "not supported; render them to environments[] in CI", ncue,
		    ncue == 1 ? "y" : "ies"));
	/* Manifests whose policy matches deploy now. */
	if (releasesvc_deploy_artifact(&rels, cred, art, NULL, NULL, 1,
	    &de) < 0 && de.code == AG_ENOSPACE) {
		/* Never a 201 for deploys a full disk stopped. */
		ag_err_set(err, AG_ENOSPACE, "artifact %s is stored, but "
		    "deploying it stopped: %s", json_string_value(
		    json_object_get(art, "id")), de.msg);
		json_decref(rels);
		json_decref(warn);
		json_decref(art);
		return err->code;
	} else if (rels == NULL)
		rels = json_pack("[{s:s}]", "error", de.msg);
	keep_results(art, rels);
	json_decref(rels);
	if (json_array_size(warn) > 0)
		json_object_set(art, "warnings", warn);
	json_decref(warn);
	*out = art;
	return 0;
}

int
releasesvc_keep_push_results(json_t *art, json_t *results)
{
	keep_results(art, results);
	return 0;
}

/* Stores a release event and puts its id and type into ans. */
static void
event_keep(json_t *ans, const char *type, json_t *results,
    const char *env, const char *app, const char *by)
{
	struct ag_err err = { 0, "" };
	json_t *ev = json_pack("{s:s,s:s,s:s,s:O,s:s,s:s?,s:s}", "type", type,
	    "status", "processed", "statusDesc", "", "results", results,
	    "env", env, "app", app, "triggeredBy", by);

	if (ev != NULL && ag_artifact_event_put(augerd.store, ev, &err) == 0) {
		json_object_set(ans, "id", json_object_get(ev, "id"));
		json_object_set_new(ans, "type", json_string(type));
	} else
		log_warn("%s %s: keeping its event: %s", type, env, err.msg);
	json_decref(ev);
}

int
releasesvc_release(json_t **out, const struct cred *cred, const char *env,
    const char *app, const char *artifact_id, struct ag_err *err)
{
	json_t *art = NULL, *rels = NULL;
	int r;

	*out = NULL;
	if ((r = ag_artifact_get(&art, augerd.store, artifact_id, err)) < 0)
		return r;
	if ((r = releasesvc_deploy_artifact(&rels, cred, art, env, app, 0,
	    err)) < 0) {
		json_decref(art);
		return r;
	}
	*out = json_pack("{s:O}", "releases", rels);
	event_keep(*out, "release", rels, env, app, cred->name);
	json_decref(rels);
	json_decref(art);
	return 0;
}

/* One result in Gimlet's shape (pkg/dx/release.go Result). */
static json_t *
track_result(const json_t *r, json_t **status_cache)
{
	const char *env = json_string_value(json_object_get(r, "env"));
	const char *app = json_string_value(json_object_get(r, "app"));
	const char *ref = json_string_value(json_object_get(r, "gitopsRef"));
	const char *e = json_string_value(json_object_get(r, "error"));
	json_t *o = json_object();
	char *st = NULL, *desc = NULL;

	if (app != NULL)
		json_object_set_new(o, "app", json_string(app));
	if (env != NULL)
		json_object_set_new(o, "env", json_string(env));
	if (e != NULL) {
		json_object_set_new(o, "status", json_string("failure"));
		json_object_set_new(o, "statusDesc", json_string(e));
		return o;
	}
	/* Unchanged (no commit): the app's current commit is its result. */
	if (ref == NULL && env != NULL && app != NULL) {
		if (*status_cache == NULL && ag_release_status(status_cache,
		    augerd.store, env, NULL) < 0)
			*status_cache = json_object();
		ref = json_string_value(json_object_get(json_object_get(
		    *status_cache, app), "gitopsRef"));
	}
	json_object_set_new(o, "status", json_string("success"));
	if (ref == NULL || env == NULL)
		return o;
	json_object_set_new(o, "hash", json_string(ref));
	if (ag_release_commit_status(&st, &desc, augerd.store, env, ref,
	    NULL) == 0) {
		if (*st != '\0')
			json_object_set_new(o, "gitopsCommitStatus",
			    json_string(st));
		if (*desc != '\0')
			json_object_set_new(o, "gitopsCommitStatusDesc",
			    json_string(desc));
	}
	free(st);
	free(desc);
	return o;
}

static json_t *
track_results(const json_t *results)
{
	json_t *out = json_array(), *cache = NULL, *cur = NULL;
	const json_t *r;
	const char *env = NULL, *e;
	size_t i;

	json_array_foreach(results, i, r) {
		/* One env's status at a time (results are grouped by env). */
		e = json_string_value(json_object_get(r, "env"));
		if (e != NULL && (env == NULL || strcmp(e, env) != 0)) {
			json_decref(cache);
			cache = NULL;
			env = e;
		}
		cur = track_result(r, &cache);
		json_array_append_new(out, cur);
	}
	json_decref(cache);
	return out;
}

int
releasesvc_track_artifact(json_t **out, const char *id,
    const struct ag_grant *scope, struct ag_err *err)
{
	json_t *art = NULL;
	int r;

	*out = NULL;
	if ((r = ag_artifact_get(&art, augerd.store, id, err)) < 0)
		return r;
	/* Who may list the artifact may track it, its envs' results only. */
	if (!ag_artifact_scope(art, scope)) {
		json_decref(art);
		return ag_err_set(err, AG_ENOTFOUND, "no artifact \"%.200s\"",
		    id);
	}
	/* Artifacts are processed when stored: never "new". */
	*out = json_pack("{s:s,s:s,s:s,s:o}", "type", "artifact", "status",
	    "processed", "statusDesc", "", "results",
	    track_results(json_object_get(art, "releases")));
	json_decref(art);
	return 0;
}

int
releasesvc_track_event(json_t **out, const char *id, struct ag_err *err)
{
	json_t *ev = NULL;
	int r;

	*out = NULL;
	if ((r = ag_artifact_event_get(&ev, augerd.store, id, err)) < 0)
		return r;
	*out = json_pack("{s:O,s:O,s:O,s:o}", "type", json_object_get(ev,
	    "type"), "status", json_object_get(ev, "status"), "statusDesc",
	    json_object_get(ev, "statusDesc"), "results",
	    track_results(json_object_get(ev, "results")));
	/* For the caller's access check; not part of Gimlet's answer. */
	if (*out != NULL)
		json_object_set(*out, "env", json_object_get(ev, "env"));
	json_decref(ev);
	return *out ? 0 : ag_err_set(err, AG_ESTORE, "bad event record");
}

#define FLUX_FILES_MAX	(4 * 1024 * 1024)	/* bytes of one answer */

/* The files directly in flux/ on main of repo: {name: content}. */
static int
flux_of(json_t **out, const char *name, size_t *total, struct ag_err *err)
{
	git_repository *repo = NULL;
	git_commit *c = NULL;
	git_tree *t = NULL, *ft = NULL;
	git_blob *b = NULL;
	const git_tree_entry *fe;
	git_oid id;
	size_t i, n;
	int r = -1;

	*out = json_object();
	if (ag_repo_open(&repo, augerd.repos, name, err) < 0)
		goto out;
	if (git_reference_name_to_id(&id, repo, "refs/heads/main") < 0 ||
	    git_commit_lookup(&c, repo, &id) < 0 ||
	    git_commit_tree(&t, c) < 0) {
		/* An empty repository has no flux/ yet. */
		git_error_clear();
		r = 0;
		goto out;
	}
	if ((fe = git_tree_entry_byname(t, "flux")) == NULL ||
	    git_tree_entry_type(fe) != GIT_OBJECT_TREE) {
		r = 0;
		goto out;
	}
	if (git_tree_lookup(&ft, repo, git_tree_entry_id(fe)) < 0) {
		r = ag_err_git(err, "%s: reading flux/", name);
		goto out;
	}
	n = git_tree_entrycount(ft);
	for (i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(ft, i);

		if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
			continue;
		if (git_blob_lookup(&b, repo, git_tree_entry_id(e)) < 0) {
			r = ag_err_git(err, "%s: reading flux/%s", name,
			    git_tree_entry_name(e));
			goto out;
		}
		if ((*total += (size_t)git_blob_rawsize(b)) > FLUX_FILES_MAX) {
			r = ag_err_set(err, AG_ETOOBIG, "the flux/ files are "
			    "over %d bytes", FLUX_FILES_MAX);
			goto out;
		}
		json_object_set_new(*out, git_tree_entry_name(e),
		    json_stringn(git_blob_rawcontent(b),
		    (size_t)git_blob_rawsize(b)));
		git_blob_free(b);
		b = NULL;
	}
	r = 0;
out:
	git_error_clear();
	git_blob_free(b);
	git_tree_free(ft);
	git_tree_free(t);
	git_commit_free(c);
	git_repository_free(repo);
	if (r < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return r;
}

int
releasesvc_flux_files(json_t **out, const char *env, struct ag_err *err)
{
	json_t *infra = NULL, *apps = NULL;
	char name[128];
	size_t total = 0;

	*out = NULL;
	snprintf(name, sizeof name, "gitops-%s-infra", env);
	if (flux_of(&infra, name, &total, err) < 0)
		return err->code ? err->code : AG_EINTERNAL;
	snprintf(name, sizeof name, "gitops-%s-apps", env);
	if (flux_of(&apps, name, &total, err) < 0) {
		json_decref(infra);
		return err->code ? err->code : AG_EINTERNAL;
	}
	*out = json_pack("{s:o,s:o}", "infra", infra, "apps", apps);
	return 0;
}

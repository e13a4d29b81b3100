/*
 * The release API. Handlers run on workers. A write to an env takes the
 * apps repository's ref lock (the same lock pushes take), so deploys to one
 * env form a queue while other envs go on in parallel.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auger/artifact.h"
#include "auger/env.h"
#include "auger/policy.h"
#include "auger/release.h"
#include "auger/repo.h"
#include "auger/template.h"
#include "../hooks/render.h"
#include "augerd.h"
#include "deploy.h"
#include "http.h"
#include "log.h"
#include "maint.h"
#include "pushdeploy.h"
#include "../hooks/validate.h"
#include "repostate.h"

/* The env's apps repo name, after checking the env exists. */
static int
env_repo(struct apijob *a, const char *env, char *repo, size_t reposz)
{
	struct ag_err err = { 0, "" };
	json_t *rec;

	if (env == NULL || *env == '\0') {
		api_fail(a, 400, "\"env\" is required");
		return -1;
	}
	if (ag_env_name_check(env, &err) < 0) {
		api_fail(a, 400, "%s", err.msg);
		return -1;
	}
	if (ag_env_get(&rec, augerd.store, env, &err) < 0) {
		api_fail(a, 404, "%s", err.msg);
		return -1;
	}
	json_decref(rec);
	snprintf(repo, reposz, "gitops-%s-apps", env);
	return 0;
}

static int
may(struct apijob *a, enum ag_op op, const char *repo, const char *what)
{
	if (auth_allow(&a->cred, op, repo))
		return 1;
	api_fail(a, 403, "%s may not %s", a->cred.name, what);
	return 0;
}

void
deploy_envs_create(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	const char *name;
	json_t *j, *rec;

	(void)arg;
	if (!may(a, AG_OP_ADMIN, "envs", "create environments"))
		return;
	if ((j = api_body(a)) == NULL)
		return;
	name = json_string_value(json_object_get(j, "name"));
	if (name == NULL) {
		api_fail(a, 400, "\"name\" (a string) is required");
	} else if (ag_env_create(&rec, augerd.repos, augerd.store, name,
	    augerd.public_url, &err) < 0) {
		api_fail(a, http_status_of(err.code), "%s", err.msg);
	} else {
		json_object_del(rec, "eventsToken");
		log_info("env %s created by %s", name, a->cred.name);
		a->status = 201;
		a->out = rec;
	}
	json_decref(j);
}

void
deploy_envs_list(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	json_t *all, *out, *e;
	size_t i;

	(void)arg;
	if (ag_env_list(&all, augerd.store, &err) < 0) {
		api_fail(a, 500, "%s", err.msg);
		return;
	}
	out = json_array();
	json_array_foreach(all, i, e) {
		if (!ag_access_allowed(&a->cred.g, AG_OP_FETCH,
		    json_string_value(json_object_get(e, "appsRepo"))))
			continue;
		json_object_del(e, "eventsToken");
		json_array_append(out, e);
	}
	json_decref(all);
	a->status = 200;
	a->out = json_pack("{s:o}", "envs", out);
}

/*
 * The Secrets Flux needs and git must not hold: read-only git credentials
 * for the env (a new read token) and the events HMAC token.
 */
void
deploy_bootstrap(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	unsigned char h[32];
	char token[65], name[AUTH_NAME_MAX], *yaml = NULL, *s;
	const char *env;
	json_t *j, *rec = NULL, *tok;
	int i;

	(void)arg;
	if (!may(a, AG_OP_ADMIN, "envs", "bootstrap environments"))
		return;
	if ((j = api_body(a)) == NULL)
		return;
	env = json_string_value(json_object_get(j, "env"));
	if (env == NULL || ag_env_get(&rec, augerd.store, env, &err) < 0) {
		api_fail(a, env ? 404 : 400, "%s", env ? err.msg :
		    "\"env\" is required");
		goto out;
	}
	/*
	 * auger-<env>-git (the Secret's name), then -2, -3...: each bootstrap
	 * a new credential, in the "auger-" names no one else may take.
	 */
	for (i = 1; i < 1000; i++) {
		if (i == 1)
			snprintf(name, sizeof name, "auger-%s-git", env);
		else
			snprintf(name, sizeof name, "auger-%s-git-%d", env, i);
		if (!auth_name_taken("tokens", name))
			break;
	}
	if (auth_new_token(token) < 0) {
		api_fail(a, 500, "no randomness");
		goto out;
	}
	auth_hash(h, token);
	tok = json_pack("{s:s,s:s,s:[s],s:I}", "name", name, "role", "read",
	    "envs", env, "created", (json_int_t)time(NULL));
	s = json_dumps(tok, JSON_COMPACT);
	json_decref(tok);
	if (s == NULL || ag_store_put(augerd.store, "tokens", h, 32, s,
	    strlen(s), 1, &err) < 0) {
		free(s);
		api_fail(a, 500, "storing the token: %s", err.msg);
		goto out;
	}
	free(s);
	if (asprintf(&yaml,
	    "apiVersion: v1\n"
	    "kind: Secret\n"
	    "metadata:\n"
	    "  name: auger-%s-git\n"
	    "  namespace: flux-system\n"
	    "type: Opaque\n"
	    "stringData:\n"
	    "  username: %s\n"
	    "  password: %s\n"
	    "---\n"
	    "apiVersion: v1\n"
	    "kind: Secret\n"
	    "metadata:\n"
	    "  name: auger-%s-events\n"
	    "  namespace: flux-system\n"
	    "type: Opaque\n"
	    "stringData:\n"
	    "  token: %s\n", env, name, token, env,
	    json_string_value(json_object_get(rec, "eventsToken"))) < 0) {
		api_fail(a, 500, "out of memory");
		goto out;
	}
	log_info("env %s bootstrapped by %s: read token %s", env, a->cred.name,
	    name);
	a->status = 201;
	a->out = json_pack("{s:s,s:s,s:s}", "env", env, "tokenName", name,
	    "secrets", yaml);
	free(yaml);
out:
	json_decref(rec);
	json_decref(j);
}

/* Artifact vars, plus the version's fields where CI did not set them. */
static json_t *
vars_of(const json_t *artifact, const char *app)
{
	json_t *vars = json_object(), *v = json_object_get(artifact, "version");
	const char *k;
	json_t *x;
	static const struct {
		const char *var, *field;
	} from_version[] = {
		{ "SHA", "sha" }, { "BRANCH", "branch" }, { "TAG", "tag" },
		{ "EVENT", "event" }, { "REPO", "repositoryName" },
	};
	size_t i;

	for (i = 0; i < sizeof from_version / sizeof from_version[0]; i++) {
		const char *s = json_string_value(json_object_get(v,
		    from_version[i].field));

		if (s != NULL)
			json_object_set_new(vars, from_version[i].var,
			    json_string(s));
	}
	json_object_foreach((json_t *)json_object_get(artifact, "vars"), k, x) {
		if (json_is_string(x))
			json_object_set(vars, k, x);
		else {
			char *s = json_dumps(x, JSON_ENCODE_ANY);

			json_object_set_new(vars, k, json_string(s ? s : ""));
			free(s);
		}
	}
	json_object_set_new(vars, "APP", json_string(app));
	return vars;
}

/* A manifest ready to commit: templated and rendered. */
struct prepared {
	char			 app[64];
	char			 env[64];
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
	rc = pushdeploy_validate(&msg, p->env, 0, "api", repo,
	    "refs/heads/main", json_string_value(json_object_get(
	    json_object_get(artifact, "context"), "actor")),
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
	vars = vars_of(artifact, p->app);
	/* Manifests from a push were templated as text already. */
	if (json_is_true(json_object_get(json_object_get(artifact, "context"),
	    "templated")))
		m = json_incref((json_t *)manifest);
	else if (ag_template_json(&m, manifest, vars, &e) < 0)
		m = NULL;
	/* The folder is the templated name, checked before rendering. */
	if (m != NULL && json_is_string(json_object_get(m, "app")))
		snprintf(p->app, sizeof p->app, "%s", json_string_value(
		    json_object_get(m, "app")));
	if (m == NULL || ag_release_app_check(p->app, &e) < 0 ||
	    render_manifest(&p->ro, m, &e) < 0) {
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
deploy_list(json_t **out, const json_t *artifact, const json_t *manifests,
    const char *by, int keep_going, struct ag_err *err)
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
static int
deploy_artifact(json_t **out, const struct cred *cred, const json_t *artifact,
    const char *env, const char *app, int policy, struct ag_err *err)
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

		if ((env != NULL && strcmp(menv, env) != 0) ||
		    (app != NULL && strcmp(mapp, app) != 0))
			continue;
		if (policy) {
			if ((match = ag_policy_match(json_object_get(m,
			    "deploy"), json_object_get(artifact, "version"),
			    &pe)) < 0)
				why = pe.msg;
			else if (match == 0 || json_is_true(json_object_get(m,
			    "preview")))
				continue;	/* previews: see pushdeploy */
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
		json_array_append(pick, (json_t *)m);
	}
	if (!policy && json_array_size(pick) == 0) {
		r = ag_err_set(err, AG_ENOTFOUND, "artifact %s has no manifest "
		    "for %s%s%s", json_string_value(json_object_get(artifact,
		    "id")), env, app ? "/" : "", app ? app : "");
		goto out;
	}
	if (deploy_list(&res, artifact, pick, policy ? "policy" : cred->name,
	    policy, err) < 0)
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

void
deploy_artifact_create(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	json_t *j, *art = NULL, *rels = NULL;

	(void)arg;
	if (a->cred.g.role == AG_ROLE_READ) {
		api_fail(a, 403, "%s may not push artifacts", a->cred.name);
		return;
	}
	if ((j = api_body(a)) == NULL)
		return;
	if (ag_artifact_put(&art, augerd.store, j, &err) < 0) {
		api_fail(a, http_status_of(err.code), "%s", err.msg);
		goto out;
	}
	log_info("artifact %s stored by %s", json_string_value(
	    json_object_get(art, "id")), a->cred.name);
	/* Manifests whose policy matches deploy now. */
	if (deploy_artifact(&rels, &a->cred, art, NULL, NULL, 1, &err) < 0 &&
	    err.code == AG_ENOSPACE) {
		api_fail(a, http_status_of(err.code), "artifact %s is stored, "
		    "but deploying it stopped: %s", json_string_value(
		    json_object_get(art, "id")), err.msg);
		goto out;
	} else if (rels == NULL)
		rels = json_pack("[{s:s}]", "error", err.msg);
	json_object_set_new(art, "releases", rels);
	a->status = 201;
	a->out = art;
	art = NULL;
out:
	json_decref(art);
	json_decref(j);
}

static int64_t
qint(struct apijob *a, const char *name)
{
	const char *s = api_query(a, name);

	return s ? strtoll(s, NULL, 10) : 0;
}

void
deploy_artifacts_list(struct apijob *a, const char *arg)
{
	struct ag_artifact_query q = { 0 };
	struct ag_err err = { 0, "" };
	json_t *out;

	(void)arg;
	q.repository = api_query(a, "repository");
	q.branch = api_query(a, "branch");
	q.event = api_query(a, "event");
	q.sha = api_query(a, "sha");
	q.limit = (size_t)qint(a, "limit");
	q.offset = (size_t)qint(a, "offset");
	q.since = qint(a, "since");
	q.until = qint(a, "until");
	q.scope = &a->cred.g;
	if (ag_artifact_list(&out, augerd.store, &q, &err) < 0) {
		api_fail(a, 500, "%s", err.msg);
		return;
	}
	a->status = 200;
	a->out = out;
}

void
deploy_releases_create(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	const char *env, *app, *id;
	json_t *j, *art = NULL, *rels = NULL;
	char repo[128];

	(void)arg;
	if ((j = api_body(a)) == NULL)
		return;
	env = json_string_value(json_object_get(j, "env"));
	app = json_string_value(json_object_get(j, "app"));
	id = json_string_value(json_object_get(j, "artifactId"));
	if (env_repo(a, env, repo, sizeof repo) < 0 ||
	    !may(a, AG_OP_PUSH, repo, "deploy to this env"))
		goto out;
	if (id == NULL) {
		api_fail(a, 400, "\"artifactId\" is required");
		goto out;
	}
	if (ag_artifact_get(&art, augerd.store, id, &err) < 0 ||
	    deploy_artifact(&rels, &a->cred, art, env, app, 0, &err) < 0) {
		api_fail(a, http_status_of(err.code), "%s", err.msg);
		goto out;
	}
	a->status = 201;
	a->out = json_pack("{s:o}", "releases", rels);
out:
	json_decref(art);
	json_decref(j);
}

void
deploy_releases_list(struct apijob *a, const char *arg)
{
	struct ag_release_query q = { 0 };
	struct ag_err err = { 0, "" };
	const char *env = api_query(a, "env");
	char repo[128];
	json_t *out;

	(void)arg;
	if (env_repo(a, env, repo, sizeof repo) < 0 ||
	    !may(a, AG_OP_FETCH, repo, "read this env's history"))
		return;
	q.app = api_query(a, "app");
	q.limit = (size_t)qint(a, "limit");
	q.offset = (size_t)qint(a, "offset");
	q.since = qint(a, "since");
	q.until = qint(a, "until");
	if (ag_release_list(&out, augerd.store, env, &q, &err) < 0) {
		api_fail(a, http_status_of(err.code), "%s", err.msg);
		return;
	}
	a->status = 200;
	a->out = out;
}

void
deploy_status(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	const char *env = api_query(a, "env");
	char repo[128];
	json_t *out;

	(void)arg;
	if (env_repo(a, env, repo, sizeof repo) < 0 ||
	    !may(a, AG_OP_FETCH, repo, "read this env's status"))
		return;
	if (ag_release_status(&out, augerd.store, env, &err) < 0) {
		api_fail(a, 500, "%s", err.msg);
		return;
	}
	a->status = 200;
	a->out = json_pack("{s:s,s:o}", "env", env, "apps", out);
}

struct target {
	const char	*app, *to, *by;
	char		 tobuf[64];	/* a "to" that was not a JSON string */
};

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

static int
set_status(const char *env, const char *sha, const char *status,
    const char *desc, size_t *marked, struct ag_err *err)
{
	struct status_arg s = { sha, status, desc, marked };
	json_t *out = NULL;

	return with_env(&out, env, locked_status, &s, err);
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

/*
 * env, app (and to) from the query string or a JSON body. A "to" that is
 * not a string goes to the release engine as its JSON text, so that one
 * rule (AG_RELEASE_TO_RULE) judges 3, "3", 1.5 and {} alike.
 */
static int
target_args(struct apijob *a, json_t **body, const char **env,
    struct target *t)
{
	const json_t *to;

	*body = NULL;
	*env = api_query(a, "env");
	t->app = api_query(a, "app");
	t->to = api_query(a, "sha");
	if (a->bodylen > 0) {
		if ((*body = api_body(a)) == NULL)
			return -1;
		if (json_is_string(json_object_get(*body, "env")))
			*env = json_string_value(json_object_get(*body, "env"));
		if (json_is_string(json_object_get(*body, "app")))
			t->app = json_string_value(json_object_get(*body,
			    "app"));
		to = json_object_get(*body, "to");
		if (json_is_string(to))
			t->to = json_string_value(to);
		else if (to != NULL && !json_is_null(to)) {
			char *s = json_dumps(to, JSON_ENCODE_ANY |
			    JSON_COMPACT);

			snprintf(t->tobuf, sizeof t->tobuf, "%s", s ? s : "?");
			free(s);
			t->to = t->tobuf;
		}
	}
	if (t->app == NULL || *t->app == '\0') {
		api_fail(a, 400, "\"app\" is required");
		return -1;
	}
	t->by = a->cred.name;
	return 0;
}

static void
env_write(struct apijob *a, locked_fn fn, const char *what)
{
	struct ag_err err = { 0, "" };
	struct target t = { 0 };
	const char *env;
	json_t *body, *out = NULL;
	char repo[128];

	if (target_args(a, &body, &env, &t) < 0)
		return;
	if (env_repo(a, env, repo, sizeof repo) < 0 ||
	    !may(a, AG_OP_PUSH, repo, what))
		goto out;
	if (with_env(&out, env, fn, &t, &err) < 0) {
		api_fail(a, http_status_of(err.code), "%s", err.msg);
		goto out;
	}
	log_info("%s %s/%s by %s: %s", fn == locked_rollback ? "rollback" :
	    "delete", env, t.app, a->cred.name, json_string_value(
	    json_object_get(out, "gitopsRef")));
	a->status = 201;
	a->out = out;
out:
	json_decref(body);
}

void
deploy_rollback(struct apijob *a, const char *arg)
{
	(void)arg;
	env_write(a, locked_rollback, "roll back in this env");
}

void
deploy_delete(struct apijob *a, const char *arg)
{
	(void)arg;
	env_write(a, locked_delete, "delete apps in this env");
}

/*
 * POST /api/flux-events?env=E: an event from Flux's notification
 * controller, signed with the env's events token (X-Signature:
 * sha256=<hex HMAC of the body>). Its metadata.revision ("main@sha1:<sha>")
 * names the gitops commit whose status it reports.
 */
/*
 * A copy of s for one log line: at most max bytes (cut on a UTF-8
 * character's start), controls as '?'.
 */
static void
log_text(char *out, size_t outsz, const char *s, size_t max)
{
	size_t i, n = strlen(s), lim = max < outsz - 1 ? max : outsz - 1;

	if (n > lim) {
		n = lim;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	out[n] = '\0';
}

void
deploy_flux_events(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	unsigned char mac[32];
	unsigned int maclen = 0;
	char hex[65], *p, shown[AG_ENV_MAX + 1], why[256];
	char *reason = NULL, *msg = NULL;
	const char *env = api_query(a, "env"), *rev, *sha, *key;
	json_t *rec = NULL, *ev = NULL;
	size_t marked = 0;
	int i, known;

	(void)arg;
	if (env == NULL) {
		api_fail(a, http_status_of(AG_EINVAL), "?env= is required");
		return;
	}
	/*
	 * An env that does not exist gets the same 401 as a bad signature,
	 * after the same work: the answer tells nothing of which envs exist.
	 */
	known = ag_env_name_check(env, NULL) == 0 &&
	    ag_env_get(&rec, augerd.store, env, NULL) == 0;
	key = known ? json_string_value(json_object_get(rec, "eventsToken")) :
	    NULL;
	if (key == NULL)
		key = "0000000000000000000000000000000000000000000000000000000000000000";
	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)a->body,
	    a->bodylen, mac, &maclen);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	p = a->signature;
	log_text(shown, sizeof shown, env, AG_ENV_MAX);
	if (strncmp(p, "sha256=", 7) != 0 || strlen(p + 7) != 64 ||
	    CRYPTO_memcmp(p + 7, hex, 64) != 0 || !known) {
		log_info("flux event for %s: %s", shown, known ?
		    "bad signature" : "no such env");
		api_fail(a, http_status_of(AG_EAUTH), "bad or missing "
		    "X-Signature (sha256=HMAC of the body with the env's events "
		    "token)");
		goto out;
	}
	if ((ev = api_body(a)) == NULL)
		goto out;
	rev = json_string_value(json_object_get(json_object_get(ev,
	    "metadata"), "revision"));
	if (rev == NULL || !json_is_string(json_object_get(ev, "reason"))) {
		api_fail(a, http_status_of(AG_EINVAL), "event needs "
		    "metadata.revision and reason");
		goto out;
	}
	/* Bounded once, here: what is stored, logged and answered. */
	reason = strndup(json_string_value(json_object_get(ev, "reason")),
	    ag_release_status_len(json_string_value(json_object_get(ev,
	    "reason"))));
	msg = json_is_string(json_object_get(ev, "message")) ?
	    strndup(json_string_value(json_object_get(ev, "message")),
	    ag_release_status_len(json_string_value(json_object_get(ev,
	    "message")))) : strdup("");
	if (reason == NULL || msg == NULL) {
		api_fail(a, http_status_of(AG_EINTERNAL), "out of memory");
		goto out;
	}
	/* "main@sha1:<sha>", "main/<sha>", or the bare sha. */
	sha = strrchr(rev, ':') ? strrchr(rev, ':') + 1 : strrchr(rev, '/') ?
	    strrchr(rev, '/') + 1 : rev;
	if (set_status(env, sha, reason, msg, &marked, &err) < 0) {
		api_fail(a, http_status_of(err.code), "%s", err.msg);
		goto out;
	}
	log_text(why, sizeof why, reason, sizeof why - 1);
	log_info("flux event %s: %.12s %s (%zu commit(s))", env, sha, why,
	    marked);
	a->status = 200;
	a->out = json_pack("{s:s,s:s,s:I}", "sha", sha, "status", reason,
	    "marked", (json_int_t)marked);
out:
	free(reason);
	free(msg);
	json_decref(ev);
	json_decref(rec);
}

int
deploy_delete_app(json_t **out, const char *env, const char *app,
    const char *by, struct ag_err *err)
{
	struct target t = { app, NULL, by, "" };

	return with_env(out, env, locked_delete, &t, err);
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
deploy_index_push(const char *env, const char *actor, struct ag_err *err)
{
	json_t *out = NULL;

	return with_env(&out, env, locked_index, (void *)actor, err);
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
deploy_catch_up_all(void)
{
	return each_env(0);
}

int
deploy_reindex_all(void)
{
	return each_env(1);
}

/*
 * The release API's handlers: environments, artifacts, deploys, history,
 * rollback, delete, Flux events. Each reads its request, checks who may
 * do it, calls the release service (releasesvc.c) and shapes the answer;
 * the release logic itself lives there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auger/artifact.h"
#include "auger/env.h"
#include "auger/release.h"
#include "augerd.h"
#include "deploy.h"
#include "log.h"
#include "releasesvc.h"

/* The env's apps repo name, after checking the env exists. */
static int
env_repo(struct apijob *a, const char *env, char *repo, size_t reposz)
{
	struct ag_err err = { 0, "" };

	if (releasesvc_env_repo(repo, reposz, env, &err) < 0) {
		api_fail_err(a, &err);
		return -1;
	}
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
		api_fail_err(a, &err);
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
		api_fail_err(a, &err);
		goto out;
	}
	log_info("artifact %s stored by %s", json_string_value(
	    json_object_get(art, "id")), a->cred.name);
	/* Manifests whose policy matches deploy now. */
	if (releasesvc_deploy_artifact(&rels, &a->cred, art, NULL, NULL, 1, &err) < 0)
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
	    releasesvc_deploy_artifact(&rels, &a->cred, art, env, app, 0, &err) < 0) {
		api_fail_err(a, &err);
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
		api_fail_err(a, &err);
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


/*
 * env, app (and to) from the query string or a JSON body. A "to" that is
 * not a string goes to the release engine as its JSON text, so that one
 * rule (AG_RELEASE_TO_RULE) judges 3, "3", 1.5 and {} alike.
 */
struct target {
	const char	*app, *to;
	char		 tobuf[64];	/* a "to" that was not a JSON string */
};

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
	return 0;
}

typedef int (*write_fn)(json_t **out, const char *env, const char *app,
    const char *to, const char *by, struct ag_err *err);

static int
do_delete(json_t **out, const char *env, const char *app, const char *to,
    const char *by, struct ag_err *err)
{
	(void)to;
	return releasesvc_delete(out, env, app, by, err);
}

static void
env_write(struct apijob *a, write_fn fn, const char *what)
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
	if (fn(&out, env, t.app, t.to, a->cred.name, &err) < 0) {
		api_fail_err(a, &err);
		goto out;
	}
	a->status = 201;
	a->out = out;
out:
	json_decref(body);
}

void
deploy_rollback(struct apijob *a, const char *arg)
{
	(void)arg;
	env_write(a, releasesvc_rollback, "roll back in this env");
}

void
deploy_delete(struct apijob *a, const char *arg)
{
	(void)arg;
	env_write(a, do_delete, "delete apps in this env");
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
		api_fail(a, 400, "?env= is required");
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
		api_fail(a, 401, "bad or missing "
		    "X-Signature (sha256=HMAC of the body with the env's events "
		    "token)");
		goto out;
	}
	if ((ev = api_body(a)) == NULL)
		goto out;
	rev = json_string_value(json_object_get(json_object_get(ev,
	    "metadata"), "revision"));
	if (rev == NULL || !json_is_string(json_object_get(ev, "reason"))) {
		api_fail(a, 400, "event needs "
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
		api_fail(a, 500, "out of memory");
		goto out;
	}
	/* "main@sha1:<sha>", "main/<sha>", or the bare sha. */
	sha = strrchr(rev, ':') ? strrchr(rev, ':') + 1 : strrchr(rev, '/') ?
	    strrchr(rev, '/') + 1 : rev;
	if (releasesvc_set_status(env, sha, reason, msg, &marked, &err) < 0) {
		api_fail_err(a, &err);
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

/*
 * The release API's handlers: environments, artifacts, deploys, history,
 * rollback, delete, Flux events. Each reads its request, checks who may
 * do it, calls the release service (releasesvc.c) and shapes the answer;
 * the release logic itself lives there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/keyvalq_struct.h>

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
	json_t *j, *art = NULL;

	(void)arg;
	if (a->cred.g.role == AG_ROLE_READ) {
		api_fail(a, 403, "%s may not push artifacts", a->cred.name);
		return;
	}
	if ((j = api_body(a)) == NULL)
		return;
	if (releasesvc_ship(&art, &a->cred, j, &err) < 0)
		api_fail_err(a, &err);
	else {
		a->status = 201;
		a->out = art;
	}
	json_decref(j);
}

/*
 * A whole number for limit/offset; Gimlet answers 400 when strconv.Atoi
 * fails (pkg/dashboard/server/artifacts.go). *v keeps def when absent.
 */
static int
qcount(struct apijob *a, const char *name, size_t *v, size_t def)
{
	const char *s = api_query(a, name);
	char *end;
	long long n;

	*v = def;
	if (s == NULL)
		return 0;
	n = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || n < 0 || n > 1000000000) {
		api_fail(a, 400, "?%s= must be a whole number, not \"%.40s\"",
		    name, s);
		return -1;
	}
	*v = (size_t)n;
	return 0;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t
days_of(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * since/until: RFC 3339 as Gimlet's client sends them (time.RFC3339:
 * 2006-01-02T15:04:05Z07:00, fractions allowed), or unix seconds (auger's
 * CLI). 0 when absent; -1 with a 400 when neither.
 */
static int
qtime(struct apijob *a, const char *name, int64_t *t)
{
	const char *s = api_query(a, name), *p;
	int Y, M, D, h, m, sec, n = 0, oh, om;
	char *end;

	*t = 0;
	if (s == NULL)
		return 0;
	if (*s != '\0' && strspn(s, "0123456789") == strlen(s)) {
		*t = strtoll(s, &end, 10);
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &Y, &M, &D, &h, &m,
	    &sec, &n) != 6 || n != 19 || M < 1 || M > 12 || D < 1 || D > 31 ||
	    h > 23 || m > 59 || sec > 60)
		goto bad;
	p = s + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	*t = days_of(Y, M, D) * 86400 + h * 3600 + m * 60 + sec;
	if (*p == 'Z' || *p == 'z') {
		if (p[1] != '\0')
			goto bad;
		return 0;
	}
	if ((*p != '+' && *p != '-') || strlen(p) != 6 ||
	    sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
		goto bad;
	*t -= (*p == '+' ? 1 : -1) * (oh * 3600 + om * 60);
	return 0;
bad:
	api_fail(a, 400, "?%s= must be an RFC 3339 time "
	    "(2006-01-02T15:04:05Z07:00) or unix seconds, not \"%.40s\"", name,
	    s);
	return -1;
}

void
deploy_artifacts_list(struct apijob *a, const char *arg)
{
	struct ag_artifact_query q = { 0 };
	struct ag_err err = { 0, "" };
	const char *shas[AG_ARTIFACT_MAX_SHAS];
	struct evkeyval *kv;
	json_t *out;

	(void)arg;
	q.repository = api_query(a, "repository");
	q.branch = api_query(a, "branch");
	q.source_branch = api_query(a, "sourceBranch");
	q.event = api_query(a, "event");
	if (q.event != NULL && strcmp(q.event, "push") != 0 &&
	    strcmp(q.event, "tag") != 0 && strcmp(q.event, "pr") != 0) {
		api_fail(a, 400, "?event= is push, tag or pr");
		return;
	}
	/* sha= may be given several times: any of them (Gimlet's IN). */
	TAILQ_FOREACH(kv, &a->query, next) {
		if (strcmp(kv->key, "sha") != 0)
			continue;
		if (q.nshas == AG_ARTIFACT_MAX_SHAS) {
			api_fail(a, 400, "at most %d sha= per query",
			    AG_ARTIFACT_MAX_SHAS);
			return;
		}
		shas[q.nshas++] = kv->value;
	}
	q.shas = shas;
	if (qcount(a, "limit", &q.limit, 10) < 0 ||
	    qcount(a, "offset", &q.offset, 0) < 0 ||
	    qtime(a, "since", &q.since) < 0 || qtime(a, "until", &q.until) < 0)
		return;
	q.scope = &a->cred.g;
	if (ag_artifact_list(&out, augerd.store, &q, &err) < 0) {
		api_fail_err(a, &err);
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
	json_t *j, *out = NULL;
	char repo[128];

	(void)arg;
	if ((j = api_body(a)) == NULL)
		return;
	env = json_string_value(json_object_get(j, "env"));
	app = json_string_value(json_object_get(j, "app"));
	id = json_string_value(json_object_get(j, "artifactId"));
	/* Gimlet's client sends "app" empty (omitempty): any app. */
	if (app != NULL && *app == '\0')
		app = NULL;
	if (env_repo(a, env, repo, sizeof repo) < 0 ||
	    !may(a, AG_OP_PUSH, repo, "deploy to this env"))
		goto out;
	if (id == NULL || *id == '\0') {
		api_fail(a, 400, "\"artifactId\" is required");
		goto out;
	}
	if (releasesvc_release(&out, &a->cred, env, app, id, &err) < 0) {
		api_fail_err(a, &err);
		goto out;
	}
	a->status = 201;
	a->out = out;
out:
	json_decref(j);
}

/* strconv.ParseBool's words (Gimlet's ?reverse=). */
static int
qbool(struct apijob *a, const char *name, int *v)
{
	static const char *yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *no[] = { "0", "f", "F", "FALSE", "false", "False" };
	const char *s = api_query(a, name);
	size_t i;

	*v = 0;
	if (s == NULL)
		return 0;
	for (i = 0; i < 6; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*v = 1;
			return 0;
		}
		if (strcmp(s, no[i]) == 0)
			return 0;
	}
	api_fail(a, 400, "?%s= must be true or false", name);
	return -1;
}

/*
 * Gimlet's history (pkg/dashboard/server/releases.go getReleases): limit
 * 10 by default, git-repo= on version.repositoryName, reverse=true
 * oldest first, no rollback or delete records. ?all=true: auger's whole
 * index (rollbacks and deletes too), as the CLI shows it.
 */
void
deploy_releases_list(struct apijob *a, const char *arg)
{
	struct ag_release_query q = { 0 };
	struct ag_err err = { 0, "" };
	const char *env = api_query(a, "env");
	char repo[128];
	json_t *out, *rev;
	int reverse, all;
	size_t i;

	(void)arg;
	if (env_repo(a, env, repo, sizeof repo) < 0 ||
	    !may(a, AG_OP_FETCH, repo, "read this env's history"))
		return;
	q.app = api_query(a, "app");
	q.repository = api_query(a, "git-repo");
	if (qcount(a, "limit", &q.limit, 10) < 0 ||
	    qcount(a, "offset", &q.offset, 0) < 0 ||
	    qtime(a, "since", &q.since) < 0 || qtime(a, "until", &q.until) < 0 ||
	    qbool(a, "reverse", &reverse) < 0 || qbool(a, "all", &all) < 0)
		return;
	if (q.limit == 0)
		q.limit = 10;
	q.deploys_only = !all;
	if (ag_release_list(&out, augerd.store, env, &q, &err) < 0) {
		api_fail_err(a, &err);
		return;
	}
	if (reverse) {
		rev = json_array();
		for (i = json_array_size(out); i > 0; i--)
			json_array_append(rev, json_array_get(out, i - 1));
		json_decref(out);
		out = rev;
	}
	a->status = 200;
	a->out = out;
}

/*
 * Gimlet's status (releases.go getStatus): a map {"<app>": Release} of
 * the env's current releases; ?app= keeps that one.
 */
void
deploy_status(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	const char *env = api_query(a, "env"), *app = api_query(a, "app");
	char repo[128];
	json_t *out, *one;

	(void)arg;
	if (env_repo(a, env, repo, sizeof repo) < 0 ||
	    !may(a, AG_OP_FETCH, repo, "read this env's status"))
		return;
	if (ag_release_status(&out, augerd.store, env, &err) < 0) {
		api_fail_err(a, &err);
		return;
	}
	if (app != NULL) {
		one = json_object();
		if (json_object_get(out, app) != NULL)
			json_object_set(one, app, json_object_get(out, app));
		json_decref(out);
		out = one;
	}
	a->status = 200;
	a->out = out;
}

/* GET /api/eventArtifactTrack?artifactId=: what the artifact deployed. */
void
deploy_track_artifact(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	const char *id = api_query(a, "artifactId");

	(void)arg;
	if (id == NULL || *id == '\0') {
		api_fail(a, 400, "?artifactId= is required");
		return;
	}
	if (releasesvc_track_artifact(&a->out, id, &a->cred.g, &err) < 0) {
		api_fail_err(a, &err);
		return;
	}
	a->status = 200;
}

/* GET /api/eventReleaseTrack?id=: a release or rollback's results. */
void
deploy_track_event(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	const char *id = api_query(a, "id");
	json_t *out = NULL;
	char repo[128];

	(void)arg;
	if (id == NULL || *id == '\0') {
		api_fail(a, 400, "?id= is required");
		return;
	}
	if (releasesvc_track_event(&out, id, &err) < 0) {
		api_fail_err(a, &err);
		return;
	}
	/* The event's env decides who may read it. */
	snprintf(repo, sizeof repo, "gitops-%s-apps", json_string_value(
	    json_object_get(out, "env")) ? json_string_value(json_object_get(
	    out, "env")) : "");
	json_object_del(out, "env");
	if (!ag_access_allowed(&a->cred.g, AG_OP_FETCH, repo)) {
		json_decref(out);
		api_fail(a, 404, "no event \"%.80s\"", id);
		return;
	}
	a->status = 200;
	a->out = out;
}

/*
 * GET /api/gitopsRepo: Gimlet's one GitOps repository
 * (pkg/client/client.go GitopsRepoGet). auger has one per env: ?env=
 * names it; without, the only env's, or a 400 when there are several.
 */
void
deploy_gitops_repo(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	const char *env = api_query(a, "env");
	json_t *all = NULL, *map, *e;
	char repo[128];
	size_t i;

	(void)arg;
	if (env != NULL) {
		if (env_repo(a, env, repo, sizeof repo) < 0 ||
		    !may(a, AG_OP_FETCH, repo, "read this env"))
			return;
		a->status = 200;
		a->out = json_pack("{s:s}", "gitopsRepo", repo);
		return;
	}
	if (ag_env_list(&all, augerd.store, &err) < 0) {
		api_fail_err(a, &err);
		return;
	}
	map = json_object();
	json_array_foreach(all, i, e) {
		const char *apps = json_string_value(json_object_get(e,
		    "appsRepo"));

		if (apps != NULL && ag_access_allowed(&a->cred.g, AG_OP_FETCH,
		    apps))
			json_object_set_new(map, json_string_value(
			    json_object_get(e, "name")), json_string(apps));
	}
	json_decref(all);
	if (json_object_size(map) != 1) {
		api_fail(a, json_object_size(map) ? 400 : 404, "%s",
		    json_object_size(map) ? "several envs, each with its own "
		    "GitOps repository: name one with ?env=" :
		    "no env (auger env create NAME)");
		json_decref(map);
		return;
	}
	a->status = 200;
	a->out = json_pack("{s:O,s:o}", "gitopsRepo",
	    json_object_iter_value(json_object_iter(map)), "gitopsRepos", map);
}

/* GET /api/gitopsManifests/{env}: the flux/ files of both repos. */
void
deploy_gitops_manifests(struct apijob *a, const char *env)
{
	struct ag_err err = { 0, "" };
	char repo[128];

	if (env_repo(a, env, repo, sizeof repo) < 0 ||
	    !may(a, AG_OP_FETCH, repo, "read this env's repositories"))
		return;
	snprintf(repo, sizeof repo, "gitops-%s-infra", env);
	if (!may(a, AG_OP_FETCH, repo, "read this env's repositories"))
		return;
	if (releasesvc_flux_files(&a->out, env, &err) < 0) {
		api_fail_err(a, &err);
		return;
	}
	a->status = 200;
}

/* Gimlet's model.User of one credential record (token or key). */
static json_t *
user_of(const char *name, const char *role, const json_t *envs,
    const char *kind)
{
	/*
	 * "token" stays empty: tokens are kept as hashes and shown once,
	 * when created (auger token create).
	 */
	return json_pack("{s:s,s:s,s:b,s:s,s:[],s:[],s:s,s:O?,s:s}", "login",
	    name, "token", "", "admin", strcmp(role, "admin") == 0, "name",
	    name, "favoriteRepos", "favoriteServices", "role", role, "envs",
	    envs, "kind", kind);
}

/* GET /api/user: who the credential is. */
void
deploy_user(struct apijob *a, const char *arg)
{
	json_t *envs = json_array();
	size_t i;

	(void)arg;
	if (a->cred.g.all_envs)
		json_array_append_new(envs, json_string("*"));
	for (i = 0; !a->cred.g.all_envs && i < (size_t)a->cred.g.nenvs; i++)
		json_array_append_new(envs, json_string(a->cred.g.envs[i]));
	a->status = 200;
	a->out = user_of(a->cred.name, auth_role_name(a->cred.g.role), envs,
	    "credential");
	json_decref(envs);
}

static int
users_each(void *arg, const void *key, size_t klen, const char *val,
    size_t vlen)
{
	json_t **ctx = arg, *rec = json_loadb(val, vlen, 0, NULL);
	const char *name, *role;

	(void)key;
	(void)klen;
	name = json_string_value(json_object_get(rec, "name"));
	role = json_string_value(json_object_get(rec, "role"));
	if (name != NULL && role != NULL)
		json_array_append_new(ctx[0], user_of(name, role,
		    json_object_get(rec, "envs"), json_string_value(ctx[1])));
	json_decref(rec);
	return 0;
}

/* GET /api/users: the tokens and keys (admin only, as in Gimlet). */
void
deploy_users(struct apijob *a, const char *arg)
{
	json_t *ctx[2];

	(void)arg;
	if (!may(a, AG_OP_ADMIN, "users", "list users"))
		return;
	ctx[0] = json_array();
	ctx[1] = json_string("token");
	ag_store_scan(augerd.store, "tokens", NULL, 0, users_each, ctx, NULL);
	json_decref(ctx[1]);
	ctx[1] = json_string("key");
	ag_store_scan(augerd.store, "keys", NULL, 0, users_each, ctx, NULL);
	json_decref(ctx[1]);
	a->status = 200;
	a->out = ctx[0];
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
		/*
		 * Deleting what is not there is done: Gimlet answers 200 {}
		 * when there is nothing to commit (releases.go delete).
		 */
		if (fn == do_delete && err.code == AG_ENOTFOUND) {
			a->status = 200;
			a->out = json_object();
			goto out;
		}
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
	/*
	 * An env that does not exist (or none named) gets the same 401 as a
	 * bad signature, after the same work: the answer tells nothing of
	 * which envs exist.
	 */
	if (env == NULL)
		env = "";
	known = *env != '\0' && ag_env_name_check(env, NULL) == 0 &&
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
		log_info("flux event for %s: %s", *env ? shown : "(no ?env=)",
		    known ? "bad signature" : "no such env");
		api_fail(a, 401, "bad or missing "
		    "X-Signature (sha256=HMAC of the body with the events "
		    "token of the env named by ?env=)");
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

/*
 * The REST API under /api/. Handlers run on workers (they touch git and
 * LMDB); the loop only parses the route and sends the JSON reply.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "auger/env.h"
#include "auger/repo.h"
#include "api.h"
#include "augerd.h"
#include "deploy.h"
#include "http.h"
#include "log.h"
#include "repostate.h"
#include "ssh.h"
#include "worker.h"

typedef void (*api_fn)(struct apijob *a, const char *arg);

void
api_fail(struct apijob *a, int status, const char *fmt, ...)
{
	va_list ap;

	a->status = status;
	va_start(ap, fmt);
	vsnprintf(a->error, sizeof a->error, fmt, ap);
	va_end(ap);
}

const char *
api_query(struct apijob *a, const char *name)
{
	return evhttp_find_header(&a->query, name);
}

json_t *
api_body(struct apijob *a)
{
	json_error_t je;
	json_t *j;

	if (a->bodylen == 0) {
		api_fail(a, 400, "request body must be a JSON object");
		return NULL;
	}
	if ((j = json_loadb(a->body, a->bodylen, JSON_REJECT_DUPLICATES,
	    &je)) == NULL) {
		api_fail(a, 400, "malformed JSON at line %d column %d: %s",
		    je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		api_fail(a, 400, "request body must be a JSON object");
		return NULL;
	}
	return j;
}

static json_t *
repo_json(const char *name)
{
	char url[2048];

	snprintf(url, sizeof url, "%s/%s.git", augerd.public_url, name);
	return json_pack("{s:s,s:s}", "name", name, "url", url);
}

static void
repos_list(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	char **names;
	size_t n, i;
	json_t *arr;

	(void)arg;
	if (ag_repo_list(&names, &n, augerd.repos, &err) < 0) {
		api_fail(a, 500, "%s", err.msg);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		/* List what the credential can fetch; no log line each. */
		if (ag_access_allowed(&a->cred.g, AG_OP_FETCH, names[i]))
			json_array_append_new(arr, repo_json(names[i]));
		free(names[i]);
	}
	free(names);
	a->status = 200;
	a->out = json_pack("{s:o}", "repos", arr);
}

static void
repos_create(struct apijob *a, const char *arg)
{
	struct ag_err err = { 0, "" };
	const char *name;
	json_t *j;

	(void)arg;
	if (!auth_allow(&a->cred, AG_OP_ADMIN, "repos")) {
		api_fail(a, 403, "creating repositories needs an admin credential");
		return;
	}
	if ((j = api_body(a)) == NULL)
		return;
	if ((name = json_string_value(json_object_get(j, "name"))) == NULL) {
		json_decref(j);
		api_fail(a, 400, "\"name\" (a string) is required");
		return;
	}
	if (ag_repo_create(augerd.repos, name, &err) < 0) {
		json_decref(j);
		api_fail(a, http_status_of(err.code), "%s", err.msg);
		return;
	}
	repostate_get(name);
	log_info("repository %s created by %s", name, a->cred.name);
	a->status = 201;
	a->out = repo_json(name);
	json_decref(j);
}

/*
 * A credential name: 1-63 of A-Z a-z 0-9 . _ -, not one of the names the
 * daemon gives its own credentials (the admin token, the flux-events
 * identity, the auger-<env>-git tokens of bootstrap and every other
 * "auger-" name), so the access log never confuses the two.
 */
static int
name_check(const char *s, struct ag_err *err)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= AUTH_NAME_MAX)
		return ag_err_set(err, AG_EINVAL, "\"name\" must be 1-%d "
		    "characters", AUTH_NAME_MAX - 1);
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_' || s[i] == '.'))
			return ag_err_set(err, AG_EINVAL, "\"name\" may hold "
			    "only A-Z a-z 0-9 . _ -");
	if (strcasecmp(s, "admin") == 0 || strcasecmp(s, "flux-events") == 0 ||
	    strncasecmp(s, "auger-", 6) == 0)
		return ag_err_set(err, AG_EINVAL, "\"name\" \"%s\" is "
		    "reserved: \"admin\", \"flux-events\" and names starting "
		    "with \"auger-\" belong to the daemon's own credentials",
		    s);
	return 0;
}

/*
 * "envs": absent (all envs), exactly ["*"], or 1-AUTH_MAX_ENVS distinct
 * names of existing envs.
 */
static int
envs_check(const json_t *envs, struct ag_err *err)
{
	const json_t *e, *f;
	json_t *rec;
	const char *s;
	size_t i, j;

	if (envs == NULL)
		return 0;
	if (!json_is_array(envs))
		return ag_err_set(err, AG_EINVAL, "\"envs\" must be an array "
		    "of env names, or [\"*\"] for all envs");
	if (json_array_size(envs) == 0)
		return ag_err_set(err, AG_EINVAL, "\"envs\" is empty: name at "
		    "least one env, or [\"*\"] for all envs");
	if (json_array_size(envs) > AUTH_MAX_ENVS)
		return ag_err_set(err, AG_EINVAL, "\"envs\" holds %zu envs, "
		    "over the limit of %d; use [\"*\"] for all envs",
		    json_array_size(envs), AUTH_MAX_ENVS);
	json_array_foreach(envs, i, e) {
		if ((s = json_string_value(e)) == NULL)
			return ag_err_set(err, AG_EINVAL, "\"envs\"[%zu] is "
			    "not a string: entries are env names, or [\"*\"] "
			    "alone", i);
		if (*s == '\0')
			return ag_err_set(err, AG_EINVAL, "\"envs\"[%zu] is "
			    "empty: entries are env names", i);
		if (strcmp(s, "*") == 0) {
			if (json_array_size(envs) == 1)
				return 0;
			return ag_err_set(err, AG_EINVAL, "\"envs\"[%zu] is "
			    "\"*\" among env names: \"*\" stands alone "
			    "([\"*\"] for all envs)", i);
		}
		if (ag_env_name_check(s, NULL) < 0 ||
		    ag_env_get(&rec, augerd.store, s, NULL) < 0)
			return ag_err_set(err, AG_EINVAL, "\"envs\"[%zu]: no "
			    "env \"%.64s\" (create it first, or use [\"*\"])",
			    i, s);
		json_decref(rec);
		for (j = 0; j < i; j++) {
			f = json_array_get(envs, j);
			if (strcmp(json_string_value(f), s) == 0)
				return ag_err_set(err, AG_EINVAL, "\"envs\"[%zu]:"
				    " \"%s\" is listed twice", i, s);
		}
	}
	return 0;
}

/* Finds a token or key record by name; optionally lists them all. */
struct cred_find {
	const char	*name;
	char		 key[128];
	size_t		 klen;
	int		 found;
	json_t		*list;
};

static int
cred_each(void *arg, const void *key, size_t klen, const char *val,
    size_t vlen)
{
	struct cred_find *f = arg;
	json_t *j = json_loadb(val, vlen, 0, NULL);
	const char *n;

	if (j == NULL)
		return 0;
	n = json_string_value(json_object_get(j, "name"));
	if (f->name != NULL && n != NULL && strcmp(n, f->name) == 0 &&
	    klen <= sizeof f->key) {
		memcpy(f->key, key, klen);
		f->klen = klen;
		f->found = 1;
	}
	if (f->list != NULL)
		json_array_append(f->list, j);
	json_decref(j);
	return 0;
}

/*
 * Reads {name, role, envs} of a new token or key into a fresh record;
 * NULL (with the reply set) if anything is wrong.
 */
static json_t *
grant_parse(struct apijob *a, json_t *j, const char *db)
{
	struct cred_find f = { 0 };
	struct ag_err err = { 0, "" };
	const char *name, *role;
	json_t *envs;
	enum ag_role r;

	name = json_string_value(json_object_get(j, "name"));
	role = json_string_value(json_object_get(j, "role"));
	envs = json_object_get(j, "envs");
	if (name == NULL)
		ag_err_set(&err, AG_EINVAL, "\"name\" (a string) is required");
	else if (name_check(name, &err) == 0) {
		if (role == NULL || auth_role_parse(&r, role) < 0)
			ag_err_set(&err, AG_EINVAL, "\"role\" must be admin, "
			    "deploy or read");
		else
			envs_check(envs, &err);
	}
	if (err.code != 0) {
		api_fail(a, http_status_of(err.code), "%s", err.msg);
		return NULL;
	}
	f.name = name;
	ag_store_scan(augerd.store, db, NULL, 0, cred_each, &f, NULL);
	if (f.found) {
		api_fail(a, 409, "a %s named \"%s\" exists",
		    strcmp(db, "keys") == 0 ? "key" : "token", name);
		return NULL;
	}
	return json_pack("{s:s,s:s,s:O,s:I}", "name", name, "role", role,
	    "envs", envs != NULL && json_array_size(envs) > 0 ? envs :
	    json_pack("[s]", "*"), "created", (json_int_t)time(NULL));
}

/* Stores rec under key in db; on success the reply is rec (stolen). */
static void
grant_store(struct apijob *a, const char *db, const void *key, size_t klen,
    json_t *rec, const char *secret)
{
	struct ag_err err = { 0, "" };
	char *s = json_dumps(rec, JSON_COMPACT);

	if (s == NULL || ag_store_put(augerd.store, db, key, klen, s,
	    strlen(s), 1, &err) < 0) {
		free(s);
		json_decref(rec);
		api_fail(a, err.code == AG_ECONFLICT ? 409 : 500, "storing: %s",
		    err.code == AG_ECONFLICT ? "this key is registered "
		    "already" : err.msg);
		return;
	}
	free(s);
	log_info("%s %s (%s) created by %s", strcmp(db, "keys") == 0 ?
	    "key" : "token", json_string_value(json_object_get(rec, "name")),
	    json_string_value(json_object_get(rec, "role")), a->cred.name);
	if (secret != NULL)
		json_object_set_new(rec, "token", json_string(secret));
	a->status = 201;
	a->out = rec;
}

static void
tokens_create(struct apijob *a, const char *arg)
{
	unsigned char h[32];
	char token[65];
	json_t *j, *rec;

	(void)arg;
	if (!auth_allow(&a->cred, AG_OP_ADMIN, "tokens")) {
		api_fail(a, 403, "managing tokens needs an admin credential");
		return;
	}
	if ((j = api_body(a)) == NULL)
		return;
	if ((rec = grant_parse(a, j, "tokens")) != NULL) {
		if (auth_new_token(token) < 0) {
			json_decref(rec);
			api_fail(a, 500, "no randomness");
		} else {
			auth_hash(h, token);
			grant_store(a, "tokens", h, 32, rec, token);
		}
	}
	json_decref(j);
}

static void
keys_create(struct apijob *a, const char *arg)
{
	const char *pub;
	char fp[128], norm[16384];
	json_t *j, *rec;

	(void)arg;
	if (!auth_allow(&a->cred, AG_OP_ADMIN, "keys")) {
		api_fail(a, 403, "managing keys needs an admin credential");
		return;
	}
	if ((j = api_body(a)) == NULL)
		return;
	pub = json_string_value(json_object_get(j, "publicKey"));
	if (pub == NULL || ssh_key_parse(pub, fp, sizeof fp, norm,
	    sizeof norm) < 0)
		api_fail(a, 400, "\"publicKey\" must be an OpenSSH public key line "
		    "(ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa)");
	else if ((rec = grant_parse(a, j, "keys")) != NULL) {
		json_object_set_new(rec, "publicKey", json_string(norm));
		json_object_set_new(rec, "fingerprint", json_string(fp));
		grant_store(a, "keys", fp, strlen(fp), rec, NULL);
	}
	json_decref(j);
}

static void
creds_list(struct apijob *a, const char *db)
{
	struct cred_find f = { 0 };

	if (!auth_allow(&a->cred, AG_OP_ADMIN, db)) {
		api_fail(a, 403, "listing %s needs an admin credential", db);
		return;
	}
	f.list = json_array();
	ag_store_scan(augerd.store, db, NULL, 0, cred_each, &f, NULL);
	a->status = 200;
	a->out = json_pack("{s:o}", db, f.list);
}

static void
creds_delete(struct apijob *a, const char *db, const char *name)
{
	struct cred_find f = { 0 };
	struct ag_err err = { 0, "" };

	if (!auth_allow(&a->cred, AG_OP_ADMIN, db)) {
		api_fail(a, 403, "revoking %s needs an admin credential", db);
		return;
	}
	f.name = name;
	ag_store_scan(augerd.store, db, NULL, 0, cred_each, &f, NULL);
	if (!f.found) {
		api_fail(a, 404, "no %s named \"%s\"", strcmp(db, "keys") == 0 ?
		    "key" : "token", name);
		return;
	}
	if (ag_store_del(augerd.store, db, f.key, f.klen, &err) < 0) {
		api_fail(a, 500, "%s", err.msg);
		return;
	}
	log_info("%s %s revoked by %s", db, name, a->cred.name);
	a->status = 200;
	a->out = json_pack("{s:s,s:b}", "name", name, "revoked", 1);
}

static void
tokens_list(struct apijob *a, const char *arg)
{
	(void)arg;
	creds_list(a, "tokens");
}

static void
keys_list(struct apijob *a, const char *arg)
{
	(void)arg;
	creds_list(a, "keys");
}

static void
tokens_delete(struct apijob *a, const char *name)
{
	creds_delete(a, "tokens", name);
}

static void
keys_delete(struct apijob *a, const char *name)
{
	creds_delete(a, "keys", name);
}

static void
ssh_info(struct apijob *a, const char *arg)
{
	(void)arg;
	a->status = 200;
	a->out = json_pack("{s:s?,s:o}", "address", augerd.ssh_addr[0] ?
	    augerd.ssh_addr : NULL, "hostKeys", ssh_host_keys());
}

/* The route table: method, path (a trailing '*' takes one argument). */
static const struct route {
	enum ag_http1_method	 method;
	const char		*path;
	api_fn			 fn;
} routes[] = {
	{ AG_HTTP1_GET, "/api/repos", repos_list },
	{ AG_HTTP1_POST, "/api/repos", repos_create },
	{ AG_HTTP1_GET, "/api/tokens", tokens_list },
	{ AG_HTTP1_POST, "/api/tokens", tokens_create },
	{ AG_HTTP1_DELETE, "/api/tokens/*", tokens_delete },
	{ AG_HTTP1_GET, "/api/keys", keys_list },
	{ AG_HTTP1_POST, "/api/keys", keys_create },
	{ AG_HTTP1_DELETE, "/api/keys/*", keys_delete },
	{ AG_HTTP1_GET, "/api/ssh", ssh_info },
	{ AG_HTTP1_GET, "/api/envs", deploy_envs_list },
	{ AG_HTTP1_POST, "/api/envs", deploy_envs_create },
	{ AG_HTTP1_POST, "/api/bootstrap", deploy_bootstrap },
	{ AG_HTTP1_POST, "/api/artifact", deploy_artifact_create },
	{ AG_HTTP1_POST, "/api/artifacts", deploy_artifact_create },
	{ AG_HTTP1_GET, "/api/artifacts", deploy_artifacts_list },
	{ AG_HTTP1_GET, "/api/releases", deploy_releases_list },
	{ AG_HTTP1_POST, "/api/releases", deploy_releases_create },
	{ AG_HTTP1_GET, "/api/status", deploy_status },
	{ AG_HTTP1_POST, "/api/rollback", deploy_rollback },
	{ AG_HTTP1_POST, "/api/delete", deploy_delete },
	{ AG_HTTP1_POST, "/api/flux-events", deploy_flux_events },
};

static const struct route *
route_find(enum ag_http1_method m, const char *path, const char **arg,
    int *path_known)
{
	size_t i, n;

	*path_known = 0;
	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const char *p = routes[i].path;

		n = strlen(p);
		if (p[n - 1] == '*') {
			if (strncmp(path, p, n - 1) != 0 || path[n - 1] == '\0' ||
			    strchr(path + n - 1, '/') != NULL)
				continue;
			*arg = path + n - 1;
		} else if (strcmp(path, p) != 0)
			continue;
		*path_known = 1;
		if (routes[i].method == m)
			return &routes[i];
	}
	return NULL;
}

/*
 * Writes to one env (deploy, rollback, delete) queue behind each other
 * instead of holding workers while they wait for the env's lock. The key
 * is the env, from the query string or the small JSON body.
 */
static int
serial_key(struct apijob *a, char *key, size_t keysz)
{
	const char *env;
	json_t *j = NULL;

	if (a->method != AG_HTTP1_POST ||
	    (strcmp(a->path, "/api/releases") != 0 &&
	    strcmp(a->path, "/api/rollback") != 0 &&
	    strcmp(a->path, "/api/delete") != 0))
		return 0;
	env = api_query(a, "env");
	if (env == NULL && a->bodylen > 0 && a->bodylen < 65536 &&
	    (j = json_loadb(a->body, a->bodylen, 0, NULL)) != NULL)
		env = json_string_value(json_object_get(j, "env"));
	if (env != NULL)
		snprintf(key, keysz, "env:%s", env);
	json_decref(j);
	return env != NULL;
}

static void
apijob_run(struct job *job, struct worker *w)
{
	struct apijob *a = (struct apijob *)job;
	const struct route *rt;
	const char *arg = NULL;
	int known;

	(void)w;
	rt = route_find(a->method, a->path, &arg, &known);
	rt->fn(a, arg);
}

static void
apijob_done(struct job *job)
{
	struct apijob *a = (struct apijob *)job;

	if (a->status >= 400)
		http_reply_error(a->req, a->status, "%s", a->error);
	else
		http_reply_json(a->req, a->status, a->out);
	evhttp_clear_headers(&a->query);
	free(a->body);
	free(a);
}

void
api_dispatch(struct httpd_req *req, const char *path,
    const struct cred *c)
{
	struct evbuffer *in = httpd_body(req);
	enum ag_http1_method m = httpd_method(req);
	const char *arg, *sig;
	struct apijob *a = NULL;
	size_t len = in != NULL ? evbuffer_get_length(in) : 0;
	char key[128];
	int known = 0;

	if (m == AG_HTTP1_HEAD)
		m = AG_HTTP1_GET;
	if (strlen(path) >= sizeof a->path ||
	    route_find(m, path, &arg, &known) == NULL) {
		if (known)
			http_reply_error(req, 405, "method not allowed on %s",
			    path);
		else
			http_reply_error(req, 404, "no API endpoint %s", path);
		return;
	}
	if (len > HTTP_MAX_API_BODY) {
		http_reply_error(req, 413, "API request bodies are limited to "
		    "%d bytes", HTTP_MAX_API_BODY);
		return;
	}
	if ((a = calloc(1, sizeof *a)) == NULL ||
	    (a->body = malloc(len + 1)) == NULL) {
		free(a);
		httpd_reply(req, 500, NULL);
		return;
	}
	a->query.tqh_first = NULL;	/* TAILQ_INIT */
	a->query.tqh_last = &a->query.tqh_first;
	if (httpd_query(req) != NULL &&
	    evhttp_parse_query_str(httpd_query(req), &a->query) < 0) {
		free(a->body);
		free(a);
		http_reply_error(req, 400, "malformed query string");
		return;
	}
	if (len > 0)
		evbuffer_remove(in, a->body, len);
	a->body[len] = '\0';
	a->bodylen = len;
	sig = httpd_header(req, "X-Signature");
	snprintf(a->signature, sizeof a->signature, "%s", sig ? sig : "");
	a->req = req;
	a->method = m;
	a->cred = *c;
	snprintf(a->path, sizeof a->path, "%s", path);
	a->job.run = apijob_run;
	a->job.done = apijob_done;
	if (serial_key(a, key, sizeof key) ? worker_submit_serial(&a->job,
	    key) < 0 : worker_submit(&a->job) < 0) {
		evhttp_clear_headers(&a->query);
		free(a->body);
		free(a);
		httpd_reply(req, 500, NULL);
	}
}

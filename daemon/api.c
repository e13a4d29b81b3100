/*
 * The REST API's requests (struct apijob: the query, the body, the
 * credential, the reply) and its handlers for repositories, tokens, keys
 * and SSH. Handlers run on workers; the routes and the replies are the
 * listener's (http.c). The release API's handlers are in deploy.c.
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
#include "log.h"
#include "repostate.h"
#include "ssh.h"
#include "worker.h"

void
api_fail(struct apijob *a, int status, const char *fmt, ...)
{
	va_list ap;

	a->status = status;
	va_start(ap, fmt);
	vsnprintf(a->error, sizeof a->error, fmt, ap);
	va_end(ap);
}

void
api_fail_err(struct apijob *a, const struct ag_err *err)
{
	a->status = 500;	/* the listener maps code to its status */
	a->code = err->code != 0 ? err->code : AG_EINTERNAL;
	snprintf(a->error, sizeof a->error, "%s", err->msg);
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

void
api_repos_list(struct apijob *a, const char *arg)
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

void
api_repos_create(struct apijob *a, const char *arg)
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
		api_fail_err(a, &err);
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
 * "envs": exactly ["*"], or 1-AUTH_MAX_ENVS distinct names of existing
 * envs; absent only for admin (grant_parse), whose role spans all envs.
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
		else if (envs == NULL && r != AG_ROLE_ADMIN)
			/* A scope is never implied: all envs is ["*"]. */
			ag_err_set(&err, AG_EINVAL, "\"envs\" is required for "
			    "a %s credential: name existing envs, or [\"*\"] "
			    "for all envs", role);
		else
			envs_check(envs, &err);
	}
	if (err.code != 0) {
		api_fail_err(a, &err);
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

void
api_tokens_create(struct apijob *a, const char *arg)
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

void
api_keys_create(struct apijob *a, const char *arg)
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

void
api_tokens_list(struct apijob *a, const char *arg)
{
	(void)arg;
	creds_list(a, "tokens");
}

void
api_keys_list(struct apijob *a, const char *arg)
{
	(void)arg;
	creds_list(a, "keys");
}

void
api_tokens_delete(struct apijob *a, const char *name)
{
	creds_delete(a, "tokens", name);
}

void
api_keys_delete(struct apijob *a, const char *name)
{
	creds_delete(a, "keys", name);
}

void
api_ssh_info(struct apijob *a, const char *arg)
{
	(void)arg;
	a->status = 200;
	a->out = json_pack("{s:s?,s:o}", "address", augerd.ssh_addr[0] ?
	    augerd.ssh_addr : NULL, "hostKeys", ssh_host_keys());
}


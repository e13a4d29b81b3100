/*
 * Artifacts: stored under their id, with two indexes: repository\0sha -> id
 * and created(be64)\0id -> id for newest-first listing. Release events
 * live in the same database under "event/<id>": an artifact id never
 * holds a '/' (the repository's are replaced), so the two never meet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "auger/artifact.h"
#include "auger/release.h"

static int
check(const json_t *a, struct ag_err *err)
{
	const json_t *v = json_object_get(a, "version"), *envs, *m, *vars;
	const char *k;
	json_t *x;
	size_t i;

	if (!json_is_object(a))
		return ag_err_set(err, AG_EINVAL, "an artifact is a JSON "
		    "object");
	if (!json_is_object(v) ||
	    !json_is_string(json_object_get(v, "repositoryName")) ||
	    json_string_length(json_object_get(v, "repositoryName")) == 0 ||
	    json_string_length(json_object_get(v, "repositoryName")) > 200 ||
	    !json_is_string(json_object_get(v, "sha")) ||
	    json_string_length(json_object_get(v, "sha")) == 0 ||
	    json_string_length(json_object_get(v, "sha")) > 64)
		return ag_err_set(err, AG_EINVAL, "version.repositoryName and "
		    "version.sha are required strings");
	envs = json_object_get(a, "environments");
	if (envs != NULL && !json_is_array(envs))
		return ag_err_set(err, AG_EINVAL, "environments must be an "
		    "array of manifests");
	if (json_array_size(envs) > AG_ARTIFACT_MAX_MANIFESTS)
		return ag_err_set(err, AG_ETOOBIG, "at most %d manifests per "
		    "artifact", AG_ARTIFACT_MAX_MANIFESTS);
	json_array_foreach(envs, i, m) {
		struct ag_err e = { 0, "" };
		const char *app;

		if (!json_is_object(m) ||
		    !json_is_string(json_object_get(m, "app")) ||
		    !json_is_string(json_object_get(m, "env")))
			return ag_err_set(err, AG_EINVAL, "environments[%zu] "
			    "needs \"app\" and \"env\" strings", i);
		/* A templated name is checked once it is rendered. */
		app = json_string_value(json_object_get(m, "app"));
		if (strstr(app, "{{") == NULL &&
		    ag_release_app_check(app, &e) < 0)
			return ag_err_set(err, AG_EINVAL, "environments[%zu]: "
			    "%s", i, e.msg);
	}
	vars = json_object_get(a, "vars");
	if (vars != NULL && !json_is_object(vars))
		return ag_err_set(err, AG_EINVAL, "vars must be an object");
	json_object_foreach((json_t *)vars, k, x) {
		if (!json_is_string(x) && !json_is_number(x) &&
		    !json_is_boolean(x))
			return ag_err_set(err, AG_EINVAL, "vars.%.64s must be a "
			    "string, number or boolean", k);
	}
	return 0;
}

/*
 * Gimlet's vars are map[string]string: a number or boolean is kept as its
 * text, so Gimlet's client decodes every artifact.
 */
static void
vars_as_strings(json_t *vars)
{
	const char *k;
	json_t *x;
	char *s;

	json_object_foreach(vars, k, x) {
		if (json_is_string(x))
			continue;
		if ((s = json_dumps(x, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL)
			continue;
		json_object_set_new(vars, k, json_string(s));
		free(s);
	}
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
ag_artifact_put(json_t **out, struct ag_store *st, const json_t *in,
    struct ag_err *err)
{
	struct ag_store_txn *t = NULL;
	unsigned char rnd[8], key[512];
	char id[300], *s = NULL;
	const char *repo;
	json_t *a;
	size_t i, n, rl;
	int r = -1;

	*out = NULL;
	if (check(in, err) < 0)
		return AG_EINVAL;
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return ag_err_set(err, AG_EINTERNAL, "no randomness");
	a = json_deep_copy(in);
	repo = json_string_value(json_object_get(json_object_get(a,
	    "version"), "repositoryName"));
	/* "<repo with / as ->-<sha7>-<random>": readable and unique. */
	n = (size_t)snprintf(id, sizeof id, "%s-%.7s-", repo,
	    json_string_value(json_object_get(json_object_get(a, "version"),
	    "sha")));
	for (i = 0; i < n; i++)
		if (id[i] == '/')
			id[i] = '-';
	for (i = 0; i < sizeof rnd; i++)
		n += (size_t)snprintf(id + n, sizeof id - n, "%02x", rnd[i]);
	json_object_set_new(a, "id", json_string(id));
	json_object_set_new(a, "created", json_integer((json_int_t)time(NULL)));
	vars_as_strings(json_object_get(a, "vars"));
	if (json_object_get(a, "environments") == NULL)
		json_object_set_new(a, "environments", json_array());
	if ((s = json_dumps(a, JSON_COMPACT)) == NULL) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	if (ag_store_begin(&t, st, err) < 0 ||
	    ag_store_txn_put(t, "artifacts", id, strlen(id), s, strlen(s),
	    err) < 0)
		goto out;
	rl = strlen(repo);
	memcpy(key, repo, rl + 1);
	snprintf((char *)key + rl + 1, sizeof key - rl - 1, "%s",
	    json_string_value(json_object_get(json_object_get(a, "version"),
	    "sha")));
	if (ag_store_txn_put(t, "artifacts_by_sha", key, rl + 1 +
	    strlen((char *)key + rl + 1), id, strlen(id), err) < 0)
		goto out;
	/* Nanoseconds: artifacts of one second keep their order. */
	ag_store_put_be64(key, now_ns());
	memcpy(key + 8, id, strlen(id));
	if (ag_store_txn_put(t, "artifacts_by_time", key, 8 + strlen(id), id,
	    strlen(id), err) < 0)
		goto out;
	r = ag_store_commit(t, err);
	t = NULL;
	if (r == 0) {
		*out = a;
		a = NULL;
	}
out:
	ag_store_abort(t);
	free(s);
	json_decref(a);
	return r;
}

int
ag_artifact_get(json_t **out, struct ag_store *st, const char *id,
    struct ag_err *err)
{
	char *val = NULL;

	*out = NULL;
	if (strchr(id, '/') != NULL || ag_store_get(st, "artifacts", id,
	    strlen(id), &val, NULL, NULL) < 0)
		return ag_err_set(err, AG_ENOTFOUND, "no artifact \"%.200s\"",
		    id);
	*out = json_loads(val, 0, NULL);
	free(val);
	return *out ? 0 : ag_err_set(err, AG_ESTORE, "bad artifact record");
}

int
ag_artifact_update(struct ag_store *st, const json_t *art, struct ag_err *err)
{
	const char *id = json_string_value(json_object_get(art, "id"));
	char *s;
	int r;

	if (id == NULL || strchr(id, '/') != NULL)
		return ag_err_set(err, AG_EINVAL, "an artifact without id");
	if ((s = json_dumps(art, JSON_COMPACT)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	r = ag_store_put(st, "artifacts", id, strlen(id), s, strlen(s), 0,
	    err);
	free(s);
	return r;
}

int
ag_artifact_event_put(struct ag_store *st, json_t *rec, struct ag_err *err)
{
	unsigned char rnd[16];
	char id[AG_ARTIFACT_EVENT_ID_MAX + 1], key[80], *s;
	size_t i, n = 0;
	int r;

	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return ag_err_set(err, AG_EINTERNAL, "no randomness");
	/* A UUID's layout (8-4-4-4-12), as Gimlet's event ids. */
	for (i = 0; i < sizeof rnd; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			id[n++] = '-';
		n += (size_t)snprintf(id + n, sizeof id - n, "%02x", rnd[i]);
	}
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "created", json_integer((json_int_t)time(
	    NULL)));
	snprintf(key, sizeof key, "event/%s", id);
	if ((s = json_dumps(rec, JSON_COMPACT)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	r = ag_store_put(st, "artifacts", key, strlen(key), s, strlen(s), 0,
	    err);
	free(s);
	return r;
}

int
ag_artifact_event_get(json_t **out, struct ag_store *st, const char *id,
    struct ag_err *err)
{
	char key[80], *val = NULL;
	size_t i, n = strlen(id);

	*out = NULL;
	for (i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f') || id[i] == '-'))
			break;
	if (n == 0 || n > AG_ARTIFACT_EVENT_ID_MAX || i < n)
		return ag_err_set(err, AG_ENOTFOUND, "no event \"%.80s\"", id);
	snprintf(key, sizeof key, "event/%s", id);
	if (ag_store_get(st, "artifacts", key, strlen(key), &val, NULL,
	    NULL) < 0)
		return ag_err_set(err, AG_ENOTFOUND, "no event \"%s\"", id);
	*out = json_loads(val, 0, NULL);
	free(val);
	return *out ? 0 : ag_err_set(err, AG_ESTORE, "bad event record");
}

struct lister {
	struct ag_store			*st;
	const struct ag_artifact_query	*q;
	size_t				 skipped, limit;
	json_t				*out;
};

static int
field_is(const json_t *v, const char *key, const char *want)
{
	const char *s;

	if (want == NULL || *want == '\0')
		return 1;
	s = json_string_value(json_object_get(v, key));
	return s != NULL && strcmp(s, want) == 0;
}

/* Go omits a zero GitEvent (push): no event is a push. */
static int
event_is(const json_t *v, const char *want)
{
	const char *s = json_string_value(json_object_get(v, "event"));

	if (want == NULL || *want == '\0')
		return 1;
	if (s == NULL || *s == '\0')
		return strcmp(want, "push") == 0;
	return strcmp(s, want) == 0;
}

static int
sha_in(const json_t *v, const struct ag_artifact_query *q)
{
	const char *s = json_string_value(json_object_get(v, "sha"));
	size_t i;

	if (q->nshas == 0)
		return 1;
	for (i = 0; s != NULL && i < q->nshas; i++)
		if (strcmp(s, q->shas[i]) == 0)
			return 1;
	return 0;
}

/* Whether g may read env: it may fetch the env's apps repository. */
static int
env_readable(const json_t *e, const struct ag_grant *g)
{
	const char *env = json_string_value(e);
	char repo[128];

	if (env == NULL || (size_t)snprintf(repo, sizeof repo,
	    "gitops-%s-apps", env) >= sizeof repo)
		return 0;
	return ag_access_allowed(g, AG_OP_FETCH, repo);
}

/* Drops the entries of the array art[key] whose "env" g may not read. */
static void
scope_array(json_t *art, const char *key, const struct ag_grant *g)
{
	json_t *arr = json_object_get(art, key);
	size_t i = 0;

	while (i < json_array_size(arr)) {
		if (env_readable(json_object_get(json_array_get(arr, i), "env"),
		    g))
			i++;
		else
			json_array_remove(arr, i);
	}
}

int
ag_artifact_scope(json_t *art, const struct ag_grant *g)
{
	if (g == NULL || g->role == AG_ROLE_ADMIN || g->all_envs)
		return 1;
	scope_array(art, "environments", g);
	scope_array(art, "releases", g);
	return json_array_size(json_object_get(art, "environments")) > 0;
}

static int
list_cb(void *arg, const void *key, size_t klen, const char *val,
    size_t vlen)
{
	struct lister *l = arg;
	const unsigned char *k = key;
	int64_t created = 0;
	char *rec = NULL, id[512];
	json_t *a, *v;
	int i;

	(void)klen;
	for (i = 0; i < 8; i++)
		created = (created << 8) | k[i];
	created /= 1000000000;	/* the key holds nanoseconds */
	if (l->q->until > 0 && created >= l->q->until)
		return 0;
	if (l->q->since > 0 && created < l->q->since)
		return 1;
	if (vlen >= sizeof id)
		return 0;
	memcpy(id, val, vlen);
	id[vlen] = '\0';
	if (ag_store_get(l->st, "artifacts", id, vlen, &rec, NULL, NULL) < 0)
		return 0;
	a = json_loads(rec, 0, NULL);
	free(rec);
	if (a == NULL)
		return 0;
	v = json_object_get(a, "version");
	if (!ag_artifact_scope(a, l->q->scope) ||
	    !field_is(v, "repositoryName", l->q->repository) ||
	    !field_is(v, "branch", l->q->branch) ||
	    !field_is(v, "branch", l->q->source_branch) ||
	    !event_is(v, l->q->event) || !sha_in(v, l->q) ||
	    l->skipped++ < l->q->offset) {
		json_decref(a);
		return 0;
	}
	json_array_append_new(l->out, a);
	return json_array_size(l->out) >= l->limit;
}

int
ag_artifact_list(json_t **out, struct ag_store *st,
    const struct ag_artifact_query *q, struct ag_err *err)
{
	struct lister l = { st, q, 0, 0, NULL };

	l.limit = q->limit == 0 ? 10 : q->limit > 1000 ? 1000 : q->limit;
	l.out = json_array();
	if (ag_store_scan_rev(st, "artifacts_by_time", NULL, 0, list_cb, &l,
	    err) < 0) {
		json_decref(l.out);
		return -1;
	}
	*out = l.out;
	return 0;
}

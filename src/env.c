/* Environments: their repositories, first commits and records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "auger/env.h"
#include "auger/gitops.h"
#include "auger/repo.h"

int
ag_env_name_check(const char *env, struct ag_err *err)
{
	size_t i, n = env ? strlen(env) : 0;

	if (n == 0 || n > AG_ENV_MAX)
		return ag_err_set(err, AG_EINVAL, "env name must be 1-%d "
		    "characters", AG_ENV_MAX);
	for (i = 0; i < n; i++)
		if (!((env[i] >= 'a' && env[i] <= 'z') ||
		    (env[i] >= '0' && env[i] <= '9') || env[i] == '-'))
			return ag_err_set(err, AG_EINVAL, "env name may hold "
			    "only a-z, 0-9 and '-' (a DNS label)");
	if (env[0] == '-' || env[n - 1] == '-')
		return ag_err_set(err, AG_EINVAL, "env name may not start or "
		    "end with '-'");
	return 0;
}

/* The public URL goes into YAML inside double quotes: keep it plain. */
static int
url_ok(const char *u)
{
	for (; *u != '\0'; u++)
		if ((unsigned char)*u <= 0x20 || *u == '"' || *u == '\\' ||
		    (unsigned char)*u >= 0x7f)
			return 0;
	return 1;
}

static char *
source_yaml(const char *env, const char *kind, const char *url,
    const char *path)
{
	char *s = NULL;

	if (asprintf(&s,
	    "apiVersion: source.toolkit.fluxcd.io/v1\n"
	    "kind: GitRepository\n"
	    "metadata:\n"
	    "  name: gitops-%s-%s\n"
	    "  namespace: flux-system\n"
	    "spec:\n"
	    "  interval: 1m\n"
	    "  url: \"%s/gitops-%s-%s.git\"\n"
	    "  ref:\n"
	    "    branch: main\n"
	    "  secretRef:\n"
	    "    name: auger-%s-git\n"
	    "---\n"
	    "apiVersion: kustomize.toolkit.fluxcd.io/v1\n"
	    "kind: Kustomization\n"
	    "metadata:\n"
	    "  name: gitops-%s-%s\n"
	    "  namespace: flux-system\n"
	    "spec:\n"
	    "  interval: 1m\n"
	    "  path: %s\n"
	    "  prune: true\n"
	    "  sourceRef:\n"
	    "    kind: GitRepository\n"
	    "    name: gitops-%s-%s\n",
	    env, kind, url, env, kind, env, env, kind, path, env, kind) < 0)
		return NULL;
	return s;
}

static char *
notifications_yaml(const char *env, const char *url)
{
	char *s = NULL;

	if (asprintf(&s,
	    "apiVersion: notification.toolkit.fluxcd.io/v1beta3\n"
	    "kind: Provider\n"
	    "metadata:\n"
	    "  name: auger-%s\n"
	    "  namespace: flux-system\n"
	    "spec:\n"
	    "  type: generic-hmac\n"
	    "  address: \"%s/api/flux-events?env=%s\"\n"
	    "  secretRef:\n"
	    "    name: auger-%s-events\n"
	    "---\n"
	    "apiVersion: notification.toolkit.fluxcd.io/v1beta3\n"
	    "kind: Alert\n"
	    "metadata:\n"
	    "  name: auger-%s\n"
	    "  namespace: flux-system\n"
	    "spec:\n"
	    "  providerRef:\n"
	    "    name: auger-%s\n"
	    "  eventSeverity: info\n"
	    "  eventSources:\n"
	    "    - kind: Kustomization\n"
	    "      name: \"*\"\n"
	    "    - kind: GitRepository\n"
	    "      name: gitops-%s-apps\n", env, url, env, env, env, env, env) < 0)
		return NULL;
	return s;
}

static char *
readme(const char *env, const char *kind)
{
	char *s = NULL;

	if (asprintf(&s,
	    "# gitops-%s-%s\n\n"
	    "The %s of the `%s` environment, written by auger and applied by "
	    "Flux.\n\n"
	    "%s"
	    "- `flux/`: what Flux applies first (this repository as a "
	    "GitRepository and Kustomization%s).\n\n"
	    "Apply the Secrets printed by `auger env bootstrap %s`, then "
	    "`kubectl apply -f flux/gitops-repo-%s-%s.yaml`.\n",
	    env, kind, strcmp(kind, "apps") == 0 ? "applications" :
	    "infrastructure", env, strcmp(kind, "apps") == 0 ?
	    "- `<app>/`: one folder per application, with its rendered "
	    "manifests and `release.json`.\n" : "",
	    strcmp(kind, "apps") == 0 ? ", one Kustomization per app, the "
	    "notification Provider and Alert" : "", env, env, kind) < 0)
		return NULL;
	return s;
}

/* Creates one repo of the env with its first commit. */
static int
create_repo(const char *root, const char *env, const char *kind,
    const char *url, struct ag_err *err)
{
	git_repository *repo = NULL;
	char name[128], p1[160], p2[160], *rd = NULL, *src = NULL,
	    *notif = NULL;
	struct ag_edit ed[3];
	git_oid tree, commit;
	size_t n = 0;
	int r = -1;

	snprintf(name, sizeof name, "gitops-%s-%s", env, kind);
	if (ag_repo_create(root, name, err) < 0 ||
	    ag_repo_open(&repo, root, name, err) < 0)
		return -1;
	snprintf(p1, sizeof p1, "flux/gitops-repo-%s-%s.yaml", env, kind);
	snprintf(p2, sizeof p2, "flux/notifications-%s.yaml", env);
	if ((rd = readme(env, kind)) == NULL ||
	    (src = source_yaml(env, kind, url, strcmp(kind, "apps") == 0 ?
	    "./flux" : "./")) == NULL ||
	    (strcmp(kind, "apps") == 0 &&
	    (notif = notifications_yaml(env, url)) == NULL)) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	ed[n++] = (struct ag_edit){ .kind = AG_EDIT_FILE, .path = "README.md",
	    .data = rd, .len = strlen(rd) };
	ed[n++] = (struct ag_edit){ .kind = AG_EDIT_FILE, .path = p1,
	    .data = src, .len = strlen(src) };
	if (notif != NULL)
		ed[n++] = (struct ag_edit){ .kind = AG_EDIT_FILE, .path = p2,
		    .data = notif, .len = strlen(notif) };
	if (ag_gitops_tree(&tree, repo, NULL, ed, n, err) < 0 ||
	    ag_gitops_commit(&commit, repo, NULL, &tree,
	    "[auger] create environment\n", err) < 0)
		goto out;
	r = 0;
out:
	free(rd);
	free(src);
	free(notif);
	git_repository_free(repo);
	return r;
}

int
ag_env_create(json_t **out, const char *root, struct ag_store *st,
    const char *env, const char *public_url, struct ag_err *err)
{
	unsigned char rnd[32];
	char hmac[65], *s = NULL, apps[128], infra[128];
	json_t *rec;
	int i, r;

	*out = NULL;
	if (ag_env_name_check(env, err) < 0)
		return AG_EINVAL;
	if (!url_ok(public_url))
		return ag_err_set(err, AG_EINVAL, "the public URL holds "
		    "characters that cannot go into a manifest");
	if (ag_env_get(&rec, st, env, NULL) == 0) {
		json_decref(rec);
		return ag_err_set(err, AG_ECONFLICT, "env \"%s\" exists", env);
	}
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return ag_err_set(err, AG_EINTERNAL, "no randomness");
	for (i = 0; i < 32; i++)
		snprintf(hmac + 2 * i, 3, "%02x", rnd[i]);
	snprintf(apps, sizeof apps, "gitops-%s-apps", env);
	snprintf(infra, sizeof infra, "gitops-%s-infra", env);
	if (create_repo(root, env, "apps", public_url, err) < 0 ||
	    create_repo(root, env, "infra", public_url, err) < 0)
		return err ? err->code : -1;
	rec = json_pack("{s:s,s:s,s:s,s:I,s:s}", "name", env, "appsRepo",
	    apps, "infraRepo", infra, "created", (json_int_t)time(NULL),
	    "eventsToken", hmac);
	if ((s = json_dumps(rec, JSON_COMPACT)) == NULL) {
		json_decref(rec);
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	r = ag_store_put(st, "envs", env, strlen(env), s, strlen(s), 1, err);
	free(s);
	if (r < 0) {
		json_decref(rec);
		return r;
	}
	*out = rec;
	return 0;
}

int
ag_env_get(json_t **out, struct ag_store *st, const char *env,
    struct ag_err *err)
{
	char *val = NULL;

	*out = NULL;
	if (ag_store_get(st, "envs", env, strlen(env), &val, NULL, NULL) < 0)
		return ag_err_set(err, AG_ENOTFOUND, "no env \"%s\"", env);
	*out = json_loads(val, 0, NULL);
	free(val);
	return *out ? 0 : ag_err_set(err, AG_ESTORE, "bad env record");
}

static int
env_each(void *arg, const void *key, size_t klen, const char *val,
    size_t vlen)
{
	json_t *j = json_loadb(val, vlen, 0, NULL);

	(void)key;
	(void)klen;
	if (j != NULL)
		json_array_append_new(arg, j);
	return 0;
}

int
ag_env_list(json_t **out, struct ag_store *st, struct ag_err *err)
{
	*out = json_array();
	if (ag_store_scan(st, "envs", NULL, 0, env_each, *out, err) < 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

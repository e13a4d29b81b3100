/* Unit tests of the built-in validate stages (hooks/validate.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../hooks/config.h"
#include "../../hooks/validate.h"

#define F(p, d)	{ (p), (d), sizeof(d) - 1 }

static const char deployment[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: web\n"
    "  namespace: team-a\n"
    "spec:\n"
    "  template:\n"
    "    spec:\n"
    "      initContainers:\n"
    "        - name: migrate\n"
    "          image: ghcr.io/acme/web:1.2.3\n"
    "          resources:\n"
    "            limits: {cpu: 100m, memory: 64Mi}\n"
    "      containers:\n"
    "        - name: app\n"
    "          image: registry.local:5000/acme/web:1.2.3\n"
    "          resources:\n"
    "            limits:\n"
    "              cpu: \"1\"\n"
    "              memory: 128Mi\n";

static const char service[] =
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata:\n"
    "  name: web\n"
    "  namespace: team-a\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: ConfigMap\n"
    "metadata:\n"
    "  name: web.config-1\n";

/*
 * Checks a stage's result and that its message holds every one of want;
 * frees it. msgp, not msg: the stage is called in the same argument list.
 */
static void
expect(int r, char **msgp, int code, const char *const *want)
{
	char *msg = *msgp;
	size_t len = msg ? strlen(msg) : 0;

	*msgp = NULL;
	if (r != code)
		fail_msg("returned %d, wanted %d; message:\n%s", r, code,
		    msg ? msg : "(none)");
	if (code == 0) {
		assert_null(msg);
		return;
	}
	assert_non_null(msg);
	assert_true(len > 0 && msg[len - 1] == '\n');
	assert_true(len < VALIDATE_MSG_MAX);
	for (; want != NULL && *want != NULL; want++)
		if (strstr(msg, *want) == NULL)
			fail_msg("no \"%s\" in:\n%s", *want, msg);
	free(msg);
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_yaml_good(void **state)
{
	struct validate_file files[] = {
		F("web/deployment.yaml", deployment),
		F("web/service.yml", service),
		F("README.md", "# not: [yaml"),
		F("web/empty.yaml", ""),
	};
	struct ag_err err = { 0, "" };
	char *msg = (char *)1;

	expect(validate_yaml(&msg, files, 4, &err), &msg, 0, NULL);
	assert_string_equal(err.msg, "");
	expect(validate_yaml(&msg, NULL, 0, &err), &msg, 0, NULL);
}

static void
test_yaml_bad(void **state)
{
	struct validate_file files[] = {
		F("web/deployment.yaml", deployment),
		F("web/bad.yaml", "apiVersion: v1\nkind: Service\n"
		    "metadata:\n  name: [web\n"),
		F("notes.txt", "a: b: c"),
		F("api/x.yml", "a: 1\n---\nb: 2\n  c: 3\n"),
	};
	static const char *const want[] = {
		"web/bad.yaml:5:1: ", "api/x.yml:4:4: ", NULL
	};
	struct ag_err err = { 0, "" };
	char *msg = NULL;
	int r;

	r = validate_yaml(&msg, files, 4, &err);
	assert_non_null(msg);
	assert_int_equal(count_lines(msg), 2);
	assert_null(strstr(msg, "notes.txt"));
	assert_true(strncmp(msg, "web/bad.yaml:", 13) == 0);
	expect(r, &msg, AG_EINVAL, want);
	assert_int_equal(err.code, AG_EINVAL);
	assert_non_null(strstr(err.msg, "validate-yaml: web/bad.yaml:5:1:"));
}

static void
test_k8s_ok(void **state)
{
	struct validate_file files[] = {
		F("web/deployment.yaml", deployment),
		F("web/service.yaml", service),
		/* the same objects in another folder are no duplicates */
		F("api/deployment.yaml", deployment),
		F("api/service.yaml", service),
		/* nor the same name in another namespace or of another kind */
		F("web/more.yaml", "apiVersion: v1\nkind: Service\n"
		    "metadata: {name: web, namespace: team-b}\n---\n"
		    "apiVersion: v1\nkind: Secret\nmetadata: {name: web}\n"),
		F("web/kustomization.yaml", "resources: [deployment.yaml]\n"),
		F("web/notes.txt", "anything"),
	};
	struct ag_err err = { 0, "" };
	char *msg = NULL;

	expect(validate_k8s(&msg, files, 7, NULL, &err), &msg, 0, NULL);
}

static void
test_k8s_missing(void **state)
{
	struct validate_file files[] = {
		F("web/a.yaml",
		    "kind: Service\nmetadata: {name: a}\n---\n"
		    "apiVersion: v1\nmetadata: {name: b}\n---\n"
		    "apiVersion: v1\nkind: Service\n---\n"
		    "apiVersion: 1\nkind: Service\nmetadata: {name: 7}\n---\n"
		    "- a list\n---\n"
		    "apiVersion: v1\nkind: Service\nmetadata: [x]\n---\n"
		    "apiVersion: v1\nkind: \"\"\nmetadata: {name: a}\n"),
	};
	static const char *const want[] = {
		"web/a.yaml: document 1: apiVersion is missing\n",
		"web/a.yaml: document 2: kind is missing\n",
		"web/a.yaml: document 3: metadata.name is missing\n",
		"web/a.yaml: document 4: apiVersion must be a string\n",
		"web/a.yaml: document 4: metadata.name must be a string\n",
		"web/a.yaml: document 5: not a map",
		"web/a.yaml: document 6: metadata must be a map\n",
		"web/a.yaml: document 7: kind is empty\n",
		NULL
	};
	struct ag_err err = { 0, "" };
	char *msg = NULL;
	int r;

	r = validate_k8s(&msg, files, 1, NULL, &err);
	assert_non_null(msg);
	assert_int_equal(count_lines(msg), 8);
	expect(r, &msg, AG_EINVAL, want);
	assert_non_null(strstr(err.msg, "validate-k8s: web/a.yaml: "
	    "document 1: apiVersion is missing"));
}

static void
test_k8s_names(void **state)
{
	char long_ok[300], long_bad[300], yaml[1024];
	struct validate_file files[] = {
		F("web/a.yaml",
		    "apiVersion: v1\nkind: Service\nmetadata: {name: Web}\n---\n"
		    "apiVersion: v1\nkind: Service\nmetadata: {name: -web}\n"
		    "---\n"
		    "apiVersion: v1\nkind: Service\nmetadata: {name: web.}\n"
		    "---\n"
		    "apiVersion: v1\nkind: Service\nmetadata: {name: we_b}\n"
		    "---\n"
		    "apiVersion: v1\nkind: Service\n"
		    "metadata: {name: ok, namespace: team.a}\n---\n"
		    "apiVersion: v1\nkind: Service\n"
		    "metadata: {name: ok2, namespace: 5}\n---\n"
		    "apiVersion: v1\nkind: Service\n"
		    "metadata: {name: a.b-c.d9, namespace: x-1}\n"),
		{ "web/long.yaml", yaml, 0 },
	};
	static const char *const want[] = {
		"web/a.yaml: document 1: metadata.name \"Web\" is not a valid "
		    "name",
		"DNS-1123 subdomain",
		"web/a.yaml: document 2: metadata.name \"-web\"",
		"web/a.yaml: document 3: metadata.name \"web.\"",
		"web/a.yaml: document 4: metadata.name \"we_b\"",
		"web/a.yaml: document 5: metadata.namespace \"team.a\" is not "
		    "a valid namespace",
		"DNS-1123 label",
		"web/a.yaml: document 6: metadata.namespace (not a string)",
		"web/long.yaml: document 2: metadata.name",
		NULL
	};
	struct ag_err err = { 0, "" };
	char *msg = NULL;
	int r;

	memset(long_ok, 'a', 253);
	long_ok[253] = '\0';
	memset(long_bad, 'b', 254);
	long_bad[254] = '\0';
	snprintf(yaml, sizeof yaml, "apiVersion: v1\nkind: Service\n"
	    "metadata: {name: %s}\n---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: %s}\n", long_ok, long_bad);
	files[1].len = strlen(yaml);
	r = validate_k8s(&msg, files, 2, NULL, &err);
	assert_non_null(msg);
	assert_int_equal(count_lines(msg), 7);
	assert_null(strstr(msg, "document 7"));
	assert_null(strstr(msg, "long.yaml: document 1"));
	expect(r, &msg, AG_EINVAL, want);
}

static void
test_k8s_duplicates(void **state)
{
	struct validate_file files[] = {
		F("web/deployment.yaml", deployment),
		F("web/copy.yaml", "apiVersion: v1\nkind: ConfigMap\n"
		    "metadata: {name: x}\n---\n"
		    "apiVersion: apps/v1\nkind: Deployment\n"
		    "metadata: {name: web, namespace: team-a}\n"),
		F("top.yaml", "apiVersion: v1\nkind: ConfigMap\n"
		    "metadata: {name: x}\n"),
		F("also-top.yaml", "apiVersion: v1\nkind: ConfigMap\n"
		    "metadata: {name: x}\n"),
		F("api/x.yaml", "apiVersion: v1\nkind: ConfigMap\n"
		    "metadata: {name: x}\n---\n"
		    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"),
	};
	static const char *const want[] = {
		"web/copy.yaml: document 2: Deployment \"web\" in namespace "
		    "\"team-a\" is defined twice in folder web (first in "
		    "web/deployment.yaml document 1)\n",
		"also-top.yaml: document 1: ConfigMap \"x\" is defined twice "
		    "in the top folder (first in top.yaml document 1)\n",
		"api/x.yaml: document 2: ConfigMap \"x\" is defined twice in "
		    "folder api (first in api/x.yaml document 1)\n",
		NULL
	};
	struct ag_err err = { 0, "" };
	char *msg = NULL;
	int r;

	r = validate_k8s(&msg, files, 5, NULL, &err);
	assert_non_null(msg);
	assert_int_equal(count_lines(msg), 3);
	expect(r, &msg, AG_EINVAL, want);
}

static void
test_k8s_cluster_scoped(void **state)
{
	struct validate_file files[] = {
		F("web/deployment.yaml", deployment),
		F("web/x.yaml", "apiVersion: v1\nkind: ConfigMap\n"
		    "metadata: {name: c}\n---\n"
		    "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n"),
		F("web/rbac.yaml", "apiVersion: rbac.authorization.k8s.io/v1\n"
		    "kind: ClusterRole\nmetadata: {name: reader}\n"),
		F("web/role.yaml", "apiVersion: rbac.authorization.k8s.io/v1\n"
		    "kind: Role\nmetadata: {name: reader}\n"),
	};
	static const char *const want[] = {
		"web/x.yaml: document 2: kind Namespace is cluster-scoped; not "
		    "allowed in an apps repository\n",
		"web/rbac.yaml: document 1: kind ClusterRole is cluster-scoped",
		NULL
	};
	struct config_env env = *config_env(NULL, NULL);
	struct ag_err err = { 0, "" };
	char *msg = NULL;
	int r;

	r = validate_k8s(&msg, files, 4, &env, &err);
	assert_non_null(msg);
	assert_int_equal(count_lines(msg), 2);
	expect(r, &msg, AG_EINVAL, want);
	env.allow_cluster_scoped = 1;
	expect(validate_k8s(&msg, files, 4, &env, &err), &msg, 0, NULL);
}

static void
test_k8s_flux(void **state)
{
	static const char flux[] =
	    "apiVersion: source.toolkit.fluxcd.io/v1\n"
	    "kind: GitRepository\n"
	    "metadata: {name: gitops-repo, namespace: flux-system}\n"
	    "---\n"
	    "apiVersion: kustomize.toolkit.fluxcd.io/v1\n"
	    "kind: Kustomization\n"
	    "metadata: {name: gitops-repo, namespace: flux-system}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n";
	struct validate_file files[] = {
		F("flux/gitops-repo-staging-apps.yaml", flux),
		F("flux/again.yaml", flux),
	};
	struct validate_file bad[] = {
		F("flux/x.yaml", "apiVersion: v1\nkind: Namespace\n"
		    "metadata: {}\n"),
	};
	static const char *const want[] = {
		"flux/x.yaml: document 1: metadata.name is missing\n", NULL
	};
	struct ag_err err = { 0, "" };
	char *msg = NULL;
	int r;

	/* cluster-scoped and duplicated, but flux/ is exempt from both */
	expect(validate_k8s(&msg, files, 2, NULL, &err), &msg, 0, NULL);
	r = validate_k8s(&msg, bad, 1, NULL, &err);
	assert_non_null(msg);
	assert_int_equal(count_lines(msg), 1);
	expect(r, &msg, AG_EINVAL, want);
}

static const char *
workload(char *buf, size_t sz, const char *kind, const char *image,
    const char *limits)
{
	const char *pre = "spec:\n  template:\n    spec:\n";
	const char *ind = "      ";

	if (strcmp(kind, "Pod") == 0) {
		pre = "spec:\n";
		ind = "  ";
	} else if (strcmp(kind, "CronJob") == 0) {
		pre = "spec:\n  schedule: \"* * * * *\"\n  jobTemplate:\n"
		    "    spec:\n      template:\n        spec:\n";
		ind = "          ";
	}
	snprintf(buf, sz, "apiVersion: v1\nkind: %s\nmetadata: {name: w}\n"
	    "%s%scontainers:\n%s  - name: app\n%s    image: \"%s\"\n%s%s%s",
	    kind, pre, ind, ind, ind, image, limits ? ind : "",
	    limits ? "    resources: " : "", limits ? limits : "");
	return buf;
}

static void
test_policy_latest(void **state)
{
	static const char *const kinds[] = {
		"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
		"Pod"
	};
	static const char *const good[] = {
		"nginx:1.25", "registry.local:5000/acme/web:v1",
		"nginx@sha256:0123456789abcdef", "nginx:latest@sha256:abcd",
		"ghcr.io/acme/web:latest-fix"
	};
	static const char *const bad[] = {
		"nginx", "nginx:latest", "registry.local:5000/acme/web",
		"ghcr.io/acme/web:latest", "nginx:"
	};
	struct config_env env = *config_env(NULL, NULL);
	struct ag_err err = { 0, "" };
	struct validate_file f;
	char buf[1024], *msg = NULL;
	size_t i, k;
	int r;

	for (k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			f.path = "web/w.yaml";
			f.data = workload(buf, sizeof buf, kinds[k], bad[i],
			    NULL);
			f.len = strlen(f.data);
			/* off by default */
			env.deny_latest_tag = 0;
			expect(validate_policy(&msg, &f, 1, &env, &err), &msg,
			    0, NULL);
			expect(validate_policy(&msg, &f, 1, NULL, &err), &msg,
			    0, NULL);
			env.deny_latest_tag = 1;
			r = validate_policy(&msg, &f, 1, &env, &err);
			if (r != AG_EINVAL)
				fail_msg("%s %s accepted", kinds[k], bad[i]);
			assert_int_equal(count_lines(msg), 1);
			assert_non_null(strstr(msg, "web/w.yaml: document 1: "));
			assert_non_null(strstr(msg, ": container app: image"));
			assert_non_null(strstr(msg, strstr(bad[i], "latest") ?
			    "uses the tag latest" : "has no tag"));
			expect(r, &msg, AG_EINVAL, NULL);
		}
		for (i = 0; i < sizeof good / sizeof good[0]; i++) {
			f.path = "web/w.yaml";
			f.data = workload(buf, sizeof buf, kinds[k], good[i],
			    NULL);
			f.len = strlen(f.data);
			expect(validate_policy(&msg, &f, 1, &env, &err), &msg,
			    0, NULL);
		}
	}
}

static void
test_policy_init_and_kinds(void **state)
{
	struct validate_file files[] = {
		F("web/d.yaml", "apiVersion: apps/v1\nkind: Deployment\n"
		    "metadata: {name: web}\n"
		    "spec:\n  template:\n    spec:\n"
		    "      initContainers:\n"
		    "        - {name: init, image: busybox}\n"
		    "      containers:\n"
		    "        - {name: app, image: \"web:1\"}\n"
		    "        - {name: side}\n"),
		/* not a workload: its images are not looked at */
		F("web/cm.yaml", "apiVersion: v1\nkind: ConfigMap\n"
		    "metadata: {name: c}\ndata: {image: nginx}\n"),
		F("web/README", "image: nginx"),
	};
	static const char *const want[] = {
		"web/d.yaml: document 1: Deployment web: init container init: "
		    "image \"busybox\" has no tag",
		"web/d.yaml: document 1: Deployment web: container side has no "
		    "image",
		NULL
	};
	struct config_env env = *config_env(NULL, NULL);
	struct ag_err err = { 0, "" };
	char *msg = NULL;
	int r;

	env.deny_latest_tag = 1;
	r = validate_policy(&msg, files, 3, &env, &err);
	assert_non_null(msg);
	assert_int_equal(count_lines(msg), 2);
	expect(r, &msg, AG_EINVAL, want);
}

static void
test_policy_limits(void **state)
{
	static const struct {
		const char	*limits;
		const char	*want;	/* NULL: accepted */
	} cases[] = {
		{ NULL, "resources.limits.cpu and .memory are not set" },
		{ "{}\n", "resources.limits.cpu and .memory are not set" },
		{ "{limits: {cpu: 1}}\n", "resources.limits.memory is not set" },
		{ "{limits: {memory: 1Gi}}\n",
		    "resources.limits.cpu is not set" },
		{ "{requests: {cpu: 1, memory: 1Gi}}\n",
		    "resources.limits.cpu and .memory are not set" },
		{ "{limits: {cpu: 500m, memory: 1Gi}}\n", NULL },
		{ "{limits: {cpu: 2, memory: 1073741824}}\n", NULL },
	};
	struct config_env env = *config_env(NULL, NULL);
	struct ag_err err = { 0, "" };
	struct validate_file f;
	char buf[1024], *msg = NULL;
	const char *want[2] = { NULL, NULL };
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		f.path = "web/w.yaml";
		f.data = workload(buf, sizeof buf, "StatefulSet", "db:15",
		    cases[i].limits);
		f.len = strlen(f.data);
		env.require_limits = 0;
		expect(validate_policy(&msg, &f, 1, &env, &err), &msg, 0,
		    NULL);
		env.require_limits = 1;
		want[0] = cases[i].want;
		expect(validate_policy(&msg, &f, 1, &env, &err), &msg,
		    cases[i].want ? AG_EINVAL : 0, want);
	}
	/* the full example passes both rules */
	f.path = "web/deployment.yaml";
	f.data = deployment;
	f.len = strlen(deployment);
	env.deny_latest_tag = 1;
	expect(validate_policy(&msg, &f, 1, &env, &err), &msg, 0, NULL);
}

static void
test_all(void **state)
{
	struct validate_file good[] = {
		F("web/deployment.yaml", deployment),
		F("web/service.yaml", service),
	};
	struct validate_file bad_yaml[] = {
		F("web/deployment.yaml", deployment),
		F("web/x.yaml", "a: [\n"),
		F("web/y.yaml", "apiVersion: v1\nkind: Namespace\n"
		    "metadata: {name: x}\n"),
	};
	struct validate_file bad_k8s[] = {
		F("web/y.yaml", "apiVersion: v1\nkind: Namespace\n"
		    "metadata: {name: x}\n---\nkind: Service\n"
		    "metadata: {name: x}\n"),
	};
	struct validate_file bad_policy[] = {
		F("web/y.yaml", "apiVersion: v1\nkind: Pod\n"
		    "metadata: {name: x}\n"
		    "spec: {containers: [{name: a, image: nginx}]}\n"),
	};
	struct config_env env = *config_env(NULL, NULL);
	struct ag_err err = { 0, "" };
	char *msg = NULL;
	int r;

	env.deny_latest_tag = env.require_limits = 1;
	expect(validate_all(&msg, good, 2, &env, &err), &msg, 0, NULL);

	/* the yaml stage refuses; k8s never runs */
	r = validate_all(&msg, bad_yaml, 3, &env, &err);
	assert_non_null(msg);
	assert_true(strncmp(msg, "validate-yaml: web/x.yaml:2:1: ", 31) == 0);
	assert_int_equal(count_lines(msg), 1);
	expect(r, &msg, AG_EINVAL, NULL);
	assert_true(strncmp(err.msg, "validate-yaml: web/x.yaml:2:1: ",
	    31) == 0);

	ag_err_clear(&err);
	r = validate_all(&msg, bad_k8s, 1, &env, &err);
	assert_non_null(msg);
	assert_int_equal(count_lines(msg), 2);
	assert_true(strncmp(msg, "validate-k8s: web/y.yaml: document 1: kind "
	    "Namespace is cluster-scoped", 57) == 0);
	assert_non_null(strstr(msg, "\nvalidate-k8s: web/y.yaml: document 2: "
	    "apiVersion is missing\n"));
	expect(r, &msg, AG_EINVAL, NULL);

	ag_err_clear(&err);
	r = validate_all(&msg, bad_policy, 1, &env, &err);
	assert_non_null(msg);
	assert_int_equal(count_lines(msg), 2);
	assert_true(strncmp(msg, "policy: web/y.yaml: document 1: Pod x: "
	    "container a: image \"nginx\" has no tag", 73) == 0);
	expect(r, &msg, AG_EINVAL, NULL);
	env.deny_latest_tag = env.require_limits = 0;
	expect(validate_all(&msg, bad_policy, 1, &env, &err), &msg, 0, NULL);
	expect(validate_all(&msg, bad_policy, 1, NULL, &err), &msg, 0, NULL);
}

/* Thousands of problems: the message stops at its limit, and says so. */
static void
test_message_limit(void **state)
{
	struct ag_err err = { 0, "" };
	struct validate_file f;
	char *yaml, *msg = NULL;
	size_t i, off = 0, cap = 5000 * 64;
	int r;

	yaml = malloc(cap);
	assert_non_null(yaml);
	for (i = 0; i < 5000; i++)
		off += (size_t)snprintf(yaml + off, cap - off,
		    "---\nkind: K\nmetadata: {name: n%zu}\n", i);
	f.path = "web/many.yaml";
	f.data = yaml;
	f.len = off;
	r = validate_all(&msg, &f, 1, NULL, &err);
	assert_int_equal(r, AG_EINVAL);
	assert_non_null(msg);
	assert_true(strlen(msg) < VALIDATE_MSG_MAX);
	assert_true(strlen(msg) > VALIDATE_MSG_MAX - 1024);
	assert_non_null(strstr(msg, "\nvalidate-k8s: ... (truncated)\n"));
	assert_int_equal(msg[strlen(msg) - 1], '\n');
	free(msg);
	free(yaml);
}

/* The items of a List are documents: every validate-k8s rule applies. */
static void
test_k8s_list_items(void **state)
{
	struct validate_file files[] = {
		F("web/list.yaml",
		    "apiVersion: v1\nkind: List\nitems:\n"
		    "- apiVersion: rbac.authorization.k8s.io/v1\n"
		    "  kind: ClusterRoleBinding\n"
		    "  metadata: {name: pwn}\n"
		    "- apiVersion: v1\n"
		    "  kind: ConfigMapList\n"
		    "  items:\n"
		    "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
		    "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
		    "  - {apiVersion: v1, kind: Namespace, metadata: {name: n}}\n"
		    "- {apiVersion: v1, kind: Service, metadata: {name: We_b}}\n"
		    "- {apiVersion: v1, kind: List, items: {}}\n"
		    "- 7\n"),
	};
	static const char *const want[] = {
		"web/list.yaml: document 1 item 1: kind ClusterRoleBinding is "
		    "cluster-scoped",
		"web/list.yaml: document 1 item 2 item 2: ConfigMap \"a\" is "
		    "defined twice in folder web (first in web/list.yaml "
		    "document 1 item 2 item 1)",
		"document 1 item 2 item 3: kind Namespace is cluster-scoped",
		"document 1 item 3: metadata.name \"We_b\" is not a valid",
		"document 1 item 4: kind List is a list: its items must be an "
		    "array",
		"document 1 item 5: not a map",
		NULL
	};
	struct ag_err err = { 0, "" };
	char *msg = NULL;
	int r;

	r = validate_k8s(&msg, files, 1, NULL, &err);
	assert_non_null(msg);
	assert_int_equal(count_lines(msg), 6);
	expect(r, &msg, AG_EINVAL, want);
}

/* A List needs no name of its own; Lists nest, up to a bound. */
static void
test_k8s_list_nesting(void **state)
{
	char deep[4096];
	size_t n = 0;
	int i;
	struct validate_file ok[] = {
		F("web/list.yaml", "apiVersion: v1\nkind: List\nitems:\n"
		    "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
		    "- {apiVersion: v1, kind: List, items: []}\n"),
		F("flux/list.yaml", "apiVersion: v1\nkind: List\nitems:\n"
		    "- {apiVersion: v1, kind: Namespace, metadata: {name: n}}\n"),
	};
	struct validate_file bad[] = { { "web/deep.yaml", deep, 0 } };
	static const char *const want[] = {
		"web/deep.yaml: document 1 item 1 item 1 item 1 item 1 item 1 "
		    "item 1 item 1 item 1: Lists nested deeper than 8 levels",
		NULL
	};
	struct ag_err err = { 0, "" };
	char *msg = NULL;
	int r;

	r = validate_k8s(&msg, ok, 2, NULL, &err);
	expect(r, &msg, 0, NULL);
	/* Flow style: ten Lists, each the only item of the one around it. */
	for (i = 0; i < 10; i++)
		n += (size_t)snprintf(deep + n, sizeof deep - n,
		    "{apiVersion: v1, kind: List, items: [");
	for (i = 0; i < 10; i++)
		n += (size_t)snprintf(deep + n, sizeof deep - n, "]}");
	n += (size_t)snprintf(deep + n, sizeof deep - n, "\n");
	bad[0].len = n;
	ag_err_clear(&err);
	r = validate_k8s(&msg, bad, 1, NULL, &err);
	expect(r, &msg, AG_EINVAL, want);
}

/* policy reads the containers of a List's items too. */
static void
test_policy_list_items(void **state)
{
	struct config_env env = *config_env(NULL, NULL);
	struct validate_file files[] = {
		F("web/list.yaml", "apiVersion: v1\nkind: List\nitems:\n"
		    "- apiVersion: apps/v1\n"
		    "  kind: Deployment\n"
		    "  metadata: {name: web}\n"
		    "  spec:\n"
		    "    template:\n"
		    "      spec:\n"
		    "        containers:\n"
		    "        - {name: app, image: nginx}\n"),
	};
	static const char *const want[] = {
		"web/list.yaml: document 1 item 1: Deployment web: container "
		    "app: image \"nginx\" has no tag",
		NULL
	};
	struct ag_err err = { 0, "" };
	char *msg = NULL;
	int r;

	env.deny_latest_tag = 1;
	r = validate_policy(&msg, files, 1, &env, &err);
	expect(r, &msg, AG_EINVAL, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_good),
		cmocka_unit_test(test_yaml_bad),
		cmocka_unit_test(test_k8s_ok),
		cmocka_unit_test(test_k8s_missing),
		cmocka_unit_test(test_k8s_names),
		cmocka_unit_test(test_k8s_duplicates),
		cmocka_unit_test(test_k8s_cluster_scoped),
		cmocka_unit_test(test_k8s_flux),
		cmocka_unit_test(test_policy_latest),
		cmocka_unit_test(test_policy_init_and_kinds),
		cmocka_unit_test(test_policy_limits),
		cmocka_unit_test(test_all),
		cmocka_unit_test(test_message_limit),
		cmocka_unit_test(test_k8s_list_items),
		cmocka_unit_test(test_k8s_list_nesting),
		cmocka_unit_test(test_policy_list_items),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of the built-in render stage (hooks/render.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "auger/template.h"
#include "auger/yaml.h"
#include "../../hooks/render.h"

/* Gimlet's documented deploy manifest, as a .gimlet/staging.yaml holds. */
static const char gimlet_manifest[] =
    "app: myapp\n"
    "env: staging\n"
    "namespace: my-team\n"
    "deploy:\n"
    "  branch: main\n"
    "  event: push\n"
    "chart:\n"
    "  repository: https://chart.onechart.dev\n"
    "  name: onechart\n"
    "  version: 0.62.0\n"
    "values:\n"
    "  replicas: 2\n"
    "  image:\n"
    "    repository: ghcr.io/gimlet-io/myapp\n"
    "    tag: \"{{ .SHA }}\"\n"
    "  ingress:\n"
    "    host: myapp-{{ .BRANCH | sanitizeDNSName }}.staging.example.com\n"
    "    tlsEnabled: true\n"
    "    annotations:\n"
    "      cert-manager.io/cluster-issuer: letsencrypt\n"
    "  vars:\n"
    "    LOG_LEVEL: info\n"
    "    WORKERS: \"4\"\n"
    "  volumes:\n"
    "    - name: uploads\n"
    "      path: /app/uploads\n"
    "      size: 10Gi\n"
    "      storageClass: standard\n"
    "    - name: scratch\n"
    "      path: /tmp/scratch\n"
    "      emptyDir: true\n"
    "  probe:\n"
    "    enabled: true\n"
    "    path: /healthz\n";

/* Loads YAML, templates it with SHA and BRANCH: what the deploy path does. */
static json_t *
manifest_of(const char *yaml)
{
	struct ag_err err = { 0, "" };
	json_t *m = NULL, *t = NULL, *vars;

	if (ag_yaml_load(&m, yaml, strlen(yaml), "manifest.yaml", &err) != 0)
		fail_msg("manifest: %s", err.msg);
	vars = json_pack("{s:s, s:s}", "SHA", "7f3c2a1e", "BRANCH",
	    "feature/My_Branch");
	if (ag_template_json(&t, m, vars, &err) != 0)
		fail_msg("template: %s", err.msg);
	json_decref(vars);
	json_decref(m);
	return t;
}

static struct render_out *
render_ok(const json_t *m)
{
	struct ag_err err = { 0, "" };
	struct render_out *ro = NULL;

	if (render_manifest(&ro, m, &err) != 0)
		fail_msg("render: %s", err.msg);
	assert_non_null(ro);
	return ro;
}

static const char *
render_err(const json_t *m, int code)
{
	static struct ag_err err;
	struct render_out *ro = NULL;

	ag_err_clear(&err);
	assert_int_equal(render_manifest(&ro, m, &err), code);
	assert_null(ro);
	return err.msg;
}

static const struct render_file *
file_of(const struct render_out *ro, const char *name)
{
	size_t i;

	for (i = 0; i < ro->nfiles; i++)
		if (strcmp(ro->files[i].name, name) == 0)
			return &ro->files[i];
	return NULL;
}

static json_t *
parse_file(const struct render_out *ro, const char *name)
{
	const struct render_file *f = file_of(ro, name);
	struct ag_err err = { 0, "" };
	json_t *j = NULL;

	if (f == NULL)
		fail_msg("no file %s", name);
	assert_int_equal(strlen(f->data), f->len);
	if (ag_yaml_load(&j, f->data, f->len, name, &err) != 0)
		fail_msg("%s does not parse: %s", name, err.msg);
	return j;
}

/* The value at a path like "spec.template.spec.containers.0.image". */
static json_t *
at(json_t *j, const char *path)
{
	char buf[256], *p, *save = NULL;

	snprintf(buf, sizeof buf, "%s", path);
	for (p = strtok_r(buf, ".", &save); p != NULL && j != NULL;
	    p = strtok_r(NULL, ".", &save)) {
		if (json_is_array(j))
			j = json_array_get(j, (size_t)atoi(p));
		else
			j = json_object_get(j, p);
	}
	return j;
}

static const char *
str_at(json_t *j, const char *path)
{
	json_t *x = at(j, path);

	if (!json_is_string(x))
		fail_msg("%s is not a string", path);
	return json_string_value(x);
}

static json_int_t
int_at(json_t *j, const char *path)
{
	json_t *x = at(j, path);

	if (!json_is_integer(x))
		fail_msg("%s is not an integer", path);
	return json_integer_value(x);
}

static void
check_meta(json_t *doc, const char *kind, const char *name)
{
	assert_string_equal(str_at(doc, "kind"), kind);
	assert_string_equal(str_at(doc, "metadata.name"), name);
	assert_string_equal(str_at(doc, "metadata.namespace"), "my-team");
}

static void
test_gimlet_example(void **state)
{
	const char *want[] = { "configmap.yaml", "deployment.yaml",
	    "ingress.yaml", "pdb.yaml", "pvc-uploads.yaml", "service.yaml" };
	json_t *m = manifest_of(gimlet_manifest), *d;
	struct render_out *ro = render_ok(m);
	size_t i;

	(void)state;
	assert_int_equal(ro->nfiles, 6);
	for (i = 0; i < ro->nfiles; i++)
		assert_string_equal(ro->files[i].name, want[i]);
	assert_int_equal(json_array_size(ro->warnings), 0);

	d = parse_file(ro, "deployment.yaml");
	check_meta(d, "Deployment", "myapp");
	assert_string_equal(str_at(d, "apiVersion"), "apps/v1");
	assert_int_equal(int_at(d, "spec.replicas"), 2);
	assert_string_equal(str_at(d,
	    "spec.template.spec.containers.0.image"),
	    "ghcr.io/gimlet-io/myapp:7f3c2a1e");
	json_decref(d);
	json_decref(m);
	render_out_free(ro);
}

static void
test_gimlet_deployment(void **state)
{
	json_t *m = manifest_of(gimlet_manifest), *d, *c, *labels, *sel;
	struct render_out *ro = render_ok(m);

	(void)state;
	d = parse_file(ro, "deployment.yaml");
	sel = at(d, "spec.selector.matchLabels");
	assert_string_equal(json_string_value(json_object_get(sel,
	    "app.kubernetes.io/instance")), "myapp");
	assert_string_equal(json_string_value(json_object_get(sel,
	    "app.kubernetes.io/name")), "onechart");
	labels = at(d, "spec.template.metadata.labels");
	assert_true(json_equal(labels, sel));
	assert_int_equal(strlen(json_string_value(json_object_get(at(d,
	    "spec.template.metadata.annotations"), "checksum/config"))), 64);
	c = at(d, "spec.template.spec.containers.0");
	assert_string_equal(str_at(c, "name"), "myapp");
	assert_string_equal(str_at(c, "image"), "ghcr.io/gimlet-io/myapp:7f3c2a1e");
	assert_string_equal(str_at(c, "imagePullPolicy"), "IfNotPresent");
	assert_string_equal(str_at(c, "ports.0.name"), "http");
	assert_int_equal(int_at(c, "ports.0.containerPort"), 80);
	assert_string_equal(str_at(c, "envFrom.0.configMapRef.name"), "myapp");
	assert_int_equal(json_array_size(at(c, "envFrom")), 1);
	assert_string_equal(str_at(c, "readinessProbe.httpGet.path"),
	    "/healthz");
	assert_int_equal(int_at(c, "readinessProbe.httpGet.port"), 80);
	assert_int_equal(int_at(c, "readinessProbe.periodSeconds"), 10);
	assert_null(at(c, "livenessProbe"));
	assert_string_equal(str_at(c, "resources.requests.cpu"), "200m");
	assert_string_equal(str_at(c, "resources.limits.memory"), "200Mi");
	assert_string_equal(str_at(c, "volumeMounts.0.mountPath"),
	    "/app/uploads");
	assert_string_equal(str_at(d,
	    "spec.template.spec.volumes.0.persistentVolumeClaim.claimName"),
	    "myapp-uploads");
	assert_non_null(at(d, "spec.template.spec.volumes.1.emptyDir"));
	assert_int_equal(int_at(d, "spec.template.spec.securityContext.fsGroup"),
	    999);
	/* two replicas: no Recreate strategy */
	assert_null(at(d, "spec.strategy"));
	json_decref(d);
	json_decref(m);
	render_out_free(ro);
}

static void
test_gimlet_others(void **state)
{
	json_t *m = manifest_of(gimlet_manifest), *d;
	struct render_out *ro = render_ok(m);

	(void)state;
	d = parse_file(ro, "service.yaml");
	check_meta(d, "Service", "myapp");
	assert_string_equal(str_at(d, "spec.type"), "ClusterIP");
	assert_int_equal(int_at(d, "spec.ports.0.port"), 80);
	assert_string_equal(str_at(d, "spec.ports.0.targetPort"), "http");
	assert_string_equal(str_at(d, "spec.ports.0.name"), "http");
	json_decref(d);

	d = parse_file(ro, "ingress.yaml");
	check_meta(d, "Ingress", "myapp");
	assert_string_equal(str_at(d, "apiVersion"), "networking.k8s.io/v1");
	assert_string_equal(str_at(d, "spec.rules.0.host"),
	    "myapp-feature-my-branch.staging.example.com");
	assert_string_equal(str_at(d, "spec.rules.0.http.paths.0.path"), "/");
	assert_string_equal(str_at(d, "spec.rules.0.http.paths.0.pathType"),
	    "Prefix");
	assert_string_equal(str_at(d,
	    "spec.rules.0.http.paths.0.backend.service.name"), "myapp");
	assert_int_equal(int_at(d,
	    "spec.rules.0.http.paths.0.backend.service.port.number"), 80);
	assert_string_equal(str_at(d, "spec.tls.0.secretName"), "tls-myapp");
	assert_string_equal(str_at(d, "spec.tls.0.hosts.0"),
	    "myapp-feature-my-branch.staging.example.com");
	assert_string_equal(json_string_value(json_object_get(at(d,
	    "metadata.annotations"), "cert-manager.io/cluster-issuer")),
	    "letsencrypt");
	json_decref(d);

	d = parse_file(ro, "configmap.yaml");
	check_meta(d, "ConfigMap", "myapp");
	assert_string_equal(str_at(d, "data.LOG_LEVEL"), "info");
	assert_string_equal(str_at(d, "data.WORKERS"), "4");
	json_decref(d);

	d = parse_file(ro, "pdb.yaml");
	check_meta(d, "PodDisruptionBudget", "myapp");
	assert_string_equal(str_at(d, "apiVersion"), "policy/v1");
	assert_int_equal(int_at(d, "spec.minAvailable"), 1);
	json_decref(d);

	d = parse_file(ro, "pvc-uploads.yaml");
	check_meta(d, "PersistentVolumeClaim", "myapp-uploads");
	assert_string_equal(str_at(d, "spec.accessModes.0"), "ReadWriteOnce");
	assert_string_equal(str_at(d, "spec.storageClassName"), "standard");
	assert_string_equal(str_at(d, "spec.resources.requests.storage"),
	    "10Gi");
	json_decref(d);
	json_decref(m);
	render_out_free(ro);
}

static void
test_defaults(void **state)
{
	json_t *m, *d;
	struct render_out *ro;

	(void)state;
	m = manifest_of("app: tiny\nchart:\n  name: onechart\n");
	ro = render_ok(m);
	assert_int_equal(ro->nfiles, 2);
	assert_string_equal(ro->files[0].name, "deployment.yaml");
	assert_string_equal(ro->files[1].name, "service.yaml");
	d = parse_file(ro, "deployment.yaml");
	assert_string_equal(str_at(d, "metadata.namespace"), "default");
	assert_int_equal(int_at(d, "spec.replicas"), 1);
	assert_string_equal(str_at(d, "spec.template.spec.containers.0.image"),
	    "nginx:latest");
	assert_null(at(d, "spec.template.spec.containers.0.envFrom"));
	assert_null(at(d, "spec.template.spec.containers.0.readinessProbe"));
	json_decref(d);
	json_decref(m);
	render_out_free(ro);

	/* one replica with a volume: Recreate; command; secrets; liveness */
	m = manifest_of("app: db\nnamespace: data\nchart:\n  name: onechart\n"
	    "values:\n  command: ./run --fast\n  secretEnabled: true\n"
	    "  containerPort: 8080\n  livenessProbe:\n    enabled: true\n"
	    "  volumes:\n  - name: pg\n    path: /var/lib/pg\n"
	    "    existingClaim: pg-claim\n  resources:\n    ignoreLimits: true\n");
	ro = render_ok(m);
	assert_null(file_of(ro, "pdb.yaml"));
	assert_null(file_of(ro, "pvc-pg.yaml"));
	d = parse_file(ro, "deployment.yaml");
	assert_string_equal(str_at(d, "spec.strategy.type"), "Recreate");
	assert_string_equal(str_at(d, "spec.template.spec.containers.0.command.0"),
	    "/bin/sh");
	assert_string_equal(str_at(d, "spec.template.spec.containers.0.command.1"),
	    "-c");
	assert_string_equal(str_at(d, "spec.template.spec.containers.0.command.2"),
	    "./run --fast");
	assert_string_equal(str_at(d,
	    "spec.template.spec.containers.0.envFrom.0.secretRef.name"), "db");
	assert_int_equal(int_at(d,
	    "spec.template.spec.containers.0.livenessProbe.httpGet.port"), 8080);
	assert_null(at(d, "spec.template.spec.containers.0.resources.limits"));
	assert_string_equal(str_at(d,
	    "spec.template.spec.volumes.0.persistentVolumeClaim.claimName"),
	    "pg-claim");
	json_decref(d);
	d = parse_file(ro, "service.yaml");
	assert_int_equal(int_at(d, "spec.ports.0.port"), 8080);
	json_decref(d);
	json_decref(m);
	render_out_free(ro);
}

static void
test_refusals(void **state)
{
	json_t *m;
	const char *msg;

	(void)state;
	m = manifest_of("app: web\nchart:\n  repository: https://charts.bitnami.com/bitnami\n"
	    "  name: redis\n  version: 17.0.0\n");
	msg = render_err(m, AG_EINVAL);
	assert_string_equal(msg, "chart \"redis\" is not supported by the "
	    "built-in renderer, which renders onechart only, and no render "
	    "hook in DATA/hooks/render.d claimed it (see hooks/examples/"
	    "render.d/50-helm-template)");
	json_decref(m);

	m = manifest_of("app: web\nchart:\n  name: onechart\n"
	    "strategicMergePatches: |\n  apiVersion: apps/v1\n  kind: Deployment\n");
	msg = render_err(m, AG_EINVAL);
	assert_string_equal(msg, "strategicMergePatches is not supported yet");
	json_decref(m);

	m = manifest_of("app: Web_App\nchart:\n  name: onechart\n");
	msg = render_err(m, AG_EINVAL);
	assert_non_null(strstr(msg, "[a-z0-9]([-a-z0-9]*[a-z0-9])?"));
	json_decref(m);

	m = manifest_of("env: staging\nchart:\n  name: onechart\n");
	msg = render_err(m, AG_EINVAL);
	assert_string_equal(msg, "app is required");
	json_decref(m);

	m = manifest_of("app: web\n");
	msg = render_err(m, AG_EINVAL);
	assert_string_equal(msg, "no chart or raw manifests to render");
	json_decref(m);

	m = manifest_of("app: web\nchart:\n  name: onechart\nvalues:\n"
	    "  replicas: many\n");
	msg = render_err(m, AG_EINVAL);
	assert_string_equal(msg, "values don't meet the specifications of "
	    "OneChart 0.74.0's values.schema.json: replicas: Invalid type. "
	    "Expected: integer, given: string");
	json_decref(m);

	/* the schema's other refusals: numeric tag, PVC without size */
	m = manifest_of("app: web\nchart:\n  name: onechart\nvalues:\n"
	    "  image:\n    tag: 1.20\n  volumes:\n  - name: data\n"
	    "    path: /data\n");
	msg = render_err(m, AG_EINVAL);
	assert_non_null(strstr(msg, "image.tag: Invalid type. Expected: "
	    "string, given: number"));
	assert_non_null(strstr(msg, "volumes.0: Must validate at least one "
	    "schema (anyOf); volumes.0: size is required"));
	json_decref(m);

	/* an empty tag: helm would write "nginx:", no runtime pulls that */
	m = manifest_of("app: web\nchart:\n  name: onechart\nvalues:\n"
	    "  image:\n    tag: \"\"\n");
	msg = render_err(m, AG_EINVAL);
	assert_non_null(strstr(msg, "values.image.tag is empty"));
	json_decref(m);

	m = manifest_of("app: web\nchart:\n  name: onechart\nvalues:\n"
	    "  volumes:\n  - name: Bad_Name\n    path: /x\n    emptyDir: true\n");
	msg = render_err(m, AG_EINVAL);
	assert_non_null(strstr(msg, "values.volumes[0].name"));
	json_decref(m);
}

static void
test_chart_names(void **state)
{
	const char *ok[] = {
	    "chart:\n  name: onechart\n  repository: https://chart.onechart.dev\n",
	    "chart:\n  name: onechart\n  repository: oci://ghcr.io/x/charts\n",
	    "chart:\n  name: git@github.com:gimlet-io/onechart.git?sha=abc&path=/charts/onechart/\n",
	    "chart:\n  name: https://github.com/gimlet-io/onechart.git?path=/charts/onechart\n",
	    NULL };
	const char *bad[] = {
	    "chart:\n  name: cron-job\n  repository: https://chart.onechart.dev\n",
	    "chart:\n  name: git@github.com:gimlet-io/onechart.git?path=/charts/cron-job/\n",
	    NULL };
	char buf[512];
	struct render_out *ro;
	json_t *m;
	int i;

	(void)state;
	for (i = 0; ok[i] != NULL; i++) {
		snprintf(buf, sizeof buf, "app: web\n%s", ok[i]);
		m = manifest_of(buf);
		ro = render_ok(m);
		assert_non_null(file_of(ro, "deployment.yaml"));
		render_out_free(ro);
		json_decref(m);
	}
	for (i = 0; bad[i] != NULL; i++) {
		snprintf(buf, sizeof buf, "app: web\n%s", bad[i]);
		m = manifest_of(buf);
		assert_non_null(strstr(render_err(m, AG_EINVAL),
		    "is not supported by the built-in renderer"));
		json_decref(m);
	}
}

static void
test_warnings(void **state)
{
	json_t *m;
	struct render_out *ro;
	const char *w0, *w1;

	(void)state;
	m = manifest_of("app: web\nchart:\n  name: onechart\nvalues:\n"
	    "  foo: bar\n  ingress:\n    host: a.example.com\n"
	    "  volumes:\n  - name: d\n    path: /d\n    size: 1Gi\n"
	    "    volumeMode: Block\n"
	    "  sidecar: {}\n  monitor:\n    enabled: false\n");
	ro = render_ok(m);
	assert_int_equal(json_array_size(ro->warnings), 2);
	w0 = json_string_value(json_array_get(ro->warnings, 0));
	w1 = json_string_value(json_array_get(ro->warnings, 1));
	assert_string_equal(w0, "values.foo is not a value of OneChart 0.74.0 "
	    "and was ignored");
	assert_string_equal(w1, "values.volumes[0].volumeMode is not a value "
	    "of OneChart 0.74.0 and was ignored");
	assert_non_null(file_of(ro, "ingress.yaml"));
	assert_null(strstr(file_of(ro, "pvc-d.yaml")->data, "volumeMode"));
	assert_null(file_of(ro, "servicemonitor.yaml"));
	render_out_free(ro);
	json_decref(m);

	/* nginxBasicAuth without a password: refused, never an open Ingress */
	m = manifest_of("app: web\nchart:\n  name: onechart\nvalues:\n"
	    "  ingress:\n    host: a.example.com\n"
	    "    nginxBasicAuth:\n      user: admin\n");
	assert_string_equal(render_err(m, AG_EINVAL),
	    "values.ingress.nginxBasicAuth.password is required");
	json_decref(m);

	m = manifest_of("app: web\nmanifests: |\n  kind: ConfigMap\n"
	    "  apiVersion: v1\n  metadata:\n    name: x\n"
	    "values:\n  replicas: 2\n");
	ro = render_ok(m);
	assert_int_equal(json_array_size(ro->warnings), 1);
	assert_non_null(strstr(json_string_value(json_array_get(ro->warnings,
	    0)), "no chart"));
	render_out_free(ro);
	json_decref(m);
}

static void
test_raw_manifests(void **state)
{
	json_t *m, *docs = NULL;
	struct render_out *ro;
	const struct render_file *f;
	struct ag_err err = { 0, "" };
	const char *msg;

	(void)state;
	m = manifest_of("app: web\nnamespace: my-team\nchart:\n  name: onechart\n"
	    "manifests: |\n"
	    "  apiVersion: v1\n  kind: ServiceAccount\n  metadata:\n    name: web\n"
	    "  ---\n"
	    "  apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s\n"
	    "    namespace: elsewhere\n  stringData:\n    on: yes\n"
	    "  ---\n"
	    "  apiVersion: rbac.authorization.k8s.io/v1\n  kind: ClusterRole\n"
	    "  metadata:\n    name: reader\n");
	ro = render_ok(m);
	f = file_of(ro, "manifests.yaml");
	assert_non_null(f);
	assert_int_equal(ag_yaml_load_all(&docs, f->data, f->len, "m", &err),
	    0);
	assert_int_equal(json_array_size(docs), 3);
	assert_string_equal(str_at(docs, "0.metadata.namespace"), "my-team");
	assert_string_equal(str_at(docs, "1.metadata.namespace"), "elsewhere");
	/* strings stay strings for YAML 1.1 readers too */
	assert_string_equal(str_at(docs, "1.stringData.on"), "yes");
	assert_non_null(strstr(f->data, "\"on\": \"yes\""));
	assert_null(at(docs, "2.metadata.namespace"));
	json_decref(docs);
	render_out_free(ro);
	json_decref(m);

	m = manifest_of("app: web\nmanifests: |\n  a: 1\n  b: [\n");
	msg = render_err(m, AG_EINVAL);
	assert_int_equal(strncmp(msg, "manifests:3:", 12), 0);
	json_decref(m);

	m = manifest_of("app: web\nmanifests: |\n  - a\n  - b\n");
	msg = render_err(m, AG_EINVAL);
	assert_string_equal(msg, "manifests: document 1 is not a map");
	json_decref(m);
}

static void
test_determinism(void **state)
{
	json_t *m = manifest_of(gimlet_manifest);
	struct render_out *a = render_ok(m), *b = render_ok(m);
	size_t i;

	(void)state;
	assert_int_equal(a->nfiles, b->nfiles);
	for (i = 0; i < a->nfiles; i++) {
		assert_string_equal(a->files[i].name, b->files[i].name);
		assert_int_equal(a->files[i].len, b->files[i].len);
		assert_memory_equal(a->files[i].data, b->files[i].data,
		    a->files[i].len);
	}
	render_out_free(a);
	render_out_free(b);
	render_out_free(NULL);
	json_decref(m);
}

static void
test_limits(void **state)
{
	json_t *m, *vols;
	const char *msg;
	char name[32];
	int i;

	(void)state;
	m = manifest_of("app: web\nchart:\n  name: onechart\nvalues: {}\n");
	vols = json_array();
	for (i = 0; i <= RENDER_MAX_VOLUMES; i++) {
		snprintf(name, sizeof name, "v%d", i);
		json_array_append_new(vols, json_pack("{s:s, s:s, s:b}",
		    "name", name, "path", "/x", "emptyDir", 1));
	}
	json_object_set_new(json_object_get(m, "values"), "volumes", vols);
	msg = render_err(m, AG_ETOOBIG);
	assert_non_null(strstr(msg, "values.volumes"));
	json_decref(m);
}

/* bcrypt against the OpenBSD/OpenWall test vector, and our Secret. */
static void
test_basic_auth(void **state)
{
	static const unsigned char salt[16] = { 0x10, 0x41, 0x04, 0x10, 0x41,
	    0x04, 0x10, 0x41, 0x04, 0x10, 0x41, 0x04, 0x10, 0x41, 0x04, 0x10 };
	char hash[RENDER_BCRYPT_LEN + 1], auth[256];
	struct render_out *ro, *ro2;
	const struct render_file *f;
	struct ag_err err = { 0, "" };
	json_t *m, *doc = NULL;
	int n;

	(void)state;
	assert_int_equal(render_bcrypt(hash, "U*U", salt, 5), 0);
	assert_string_equal(hash, "$2a$05$CCCCCCCCCCCCCCCCCCCCC."
	    "E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
	assert_int_equal(render_bcrypt(hash, "", salt, 5), 0);
	assert_int_equal(strlen(hash), RENDER_BCRYPT_LEN);

	m = manifest_of("app: web\nnamespace: apps\nchart:\n  name: onechart\n"
	    "values:\n  ingress:\n    host: a.example.com\n"
	    "    nginxBasicAuth:\n      user: admin\n      password: s3cret\n");
	ro = render_ok(m);
	ro2 = render_ok(m);
	assert_non_null(f = file_of(ro, "secret-basic-auth.yaml"));
	/* same manifest, same bytes: the salt is derived, not drawn */
	assert_string_equal(f->data, file_of(ro2, "secret-basic-auth.yaml")->data);
	assert_int_equal(ag_yaml_load(&doc, f->data, f->len, "s", &err), 0);
	assert_string_equal(str_at(doc, "metadata.name"), "web-basic-auth");
	n = EVP_DecodeBlock((unsigned char *)auth, (const unsigned char *)
	    str_at(doc, "data.auth"), (int)strlen(str_at(doc, "data.auth")));
	assert_true(n > 0);
	auth[n] = '\0';
	assert_int_equal(strncmp(auth, "admin:$2a$10$", 13), 0);
	assert_non_null(strstr(file_of(ro, "ingress.yaml")->data,
	    "nginx.ingress.kubernetes.io/auth-secret: web-basic-auth"));
	json_decref(doc);
	render_out_free(ro);
	render_out_free(ro2);
	json_decref(m);
}

static void
write_hook(const char *dir, const char *name, const char *body)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

/* DATA/hooks/render.d: decline, claim, refuse, bounded output. */
static void
test_render_hooks(void **state)
{
	char dir[] = "/tmp/auger-renderd-XXXXXX", cmd[600];
	struct render_out *ro;
	const struct render_file *f;
	json_t *m, *vars;
	const char *msg;
	struct ag_err err = { 0, "" };

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* 10 declines everything; 20 takes cron-job and echoes the intent */
	write_hook(dir, "10-decline", "cat >/dev/null; exit 3\n");
	write_hook(dir, "20-cron", "in=$(cat)\n"
	    "case $in in *'\"name\":\"cron-job\"'*) ;; *) exit 3 ;; esac\n"
	    "case $in in *'\"BUILD\":\"42\"'*) ;; *) echo no vars >&2; exit 1 ;; esac\n"
	    "printf 'apiVersion: batch/v1\\nkind: CronJob\\nmetadata:\\n  name: nightly\\n'\n");
	write_hook(dir, "30-refuse", "cat >/dev/null\n"
	    "case $AUGER_STAGE in render) ;; *) exit 9 ;; esac\n"
	    "echo 'chart static-site: values.x is wrong' >&2; exit 1\n");
	render_hooks_set(dir, 0);

	m = manifest_of("app: nightly\nnamespace: jobs\nchart:\n  name: cron-job\n"
	    "  repository: https://chart.onechart.dev\nvalues:\n"
	    "  schedule: \"0 1 * * *\"\n");
	vars = json_pack("{s:s}", "BUILD", "42");
	assert_int_equal(render_manifest_vars(&ro, m, vars, &err), 0);
	assert_non_null(f = file_of(ro, "rendered.yaml"));
	assert_non_null(strstr(f->data, "kind: CronJob"));
	/* validation sees the hook's output as ours: namespaced */
	assert_non_null(strstr(f->data, "namespace: jobs"));
	render_out_free(ro);
	json_decref(vars);
	json_decref(m);

	/* a refusing hook's message reaches the user */
	m = manifest_of("app: web\nchart:\n  name: static-site\n");
	msg = render_err(m, AG_EINVAL);
	assert_string_equal(msg, "hook 30-refuse: chart static-site: "
	    "values.x is wrong");
	json_decref(m);

	/* no hook claims onechart: the built-in renderer */
	snprintf(cmd, sizeof cmd, "rm -f %s/30-refuse", dir);
	assert_int_equal(system(cmd), 0);
	m = manifest_of("app: web\nchart:\n  name: onechart\n");
	ro = render_ok(m);
	assert_non_null(file_of(ro, "deployment.yaml"));
	render_out_free(ro);
	json_decref(m);
	m = manifest_of("app: web\nchart:\n  name: static-site\n");
	assert_non_null(strstr(render_err(m, AG_EINVAL),
	    "no render hook in DATA/hooks/render.d claimed it"));
	json_decref(m);

	/* output is bounded, and nothing printed is no rendering */
	write_hook(dir, "05-flood", "cat >/dev/null\n"
	    "head -c 9000000 /dev/zero | tr '\\0' a\n");
	m = manifest_of("app: web\nchart:\n  name: cron-job\n");
	assert_non_null(strstr(render_err(m, AG_EINVAL),
	    "printed more than 8388608 bytes"));
	write_hook(dir, "05-flood", "cat >/dev/null; exit 0\n");
	assert_non_null(strstr(render_err(m, AG_EINVAL), "rendered nothing"));
	json_decref(m);

	render_hooks_set(NULL, 0);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gimlet_example),
		cmocka_unit_test(test_gimlet_deployment),
		cmocka_unit_test(test_gimlet_others),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_chart_names),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_raw_manifests),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_basic_auth),
		cmocka_unit_test(test_render_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of kustomize patches (src/kustomize.c, hooks/patch.c):
 * RFC 6902's examples, strategic merge with Kubernetes merge keys, and
 * Gimlet's own patch cases (pkg/dx/kustomize_test.go, examples/kustomize).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "auger/kustomize.h"
#include "auger/yaml.h"
#include "../../hooks/patch.h"

static json_t *
J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &e);

	if (j == NULL)
		fail_msg("bad JSON in test: %s: %s", s, e.text);
	return j;
}

static json_t *
Y(const char *s)
{
	struct ag_err err = { 0, "" };
	json_t *j = NULL;

	if (ag_yaml_load(&j, s, strlen(s), "test", &err) < 0)
		fail_msg("bad YAML in test: %s", err.msg);
	return j;
}

/* Applies ops to doc; compares with want (NULL: expects an error). */
static void
jp(const char *doc, const char *ops, const char *want)
{
	struct ag_err err = { 0, "" };
	json_t *d = J(doc), *o = J(ops), *w, *before = json_deep_copy(d);
	int r = ag_kustomize_json6902(&d, o, &err);

	if (want == NULL) {
		if (r == 0)
			fail_msg("patch %s on %s: no error", ops, doc);
		/* all or nothing */
		assert_true(json_equal(d, before));
	} else {
		if (r != 0)
			fail_msg("patch %s on %s: %s", ops, doc, err.msg);
		w = J(want);
		if (!json_equal(d, w)) {
			char *got = json_dumps(d, JSON_ENCODE_ANY);

			fail_msg("patch %s on %s: got %s, want %s", ops, doc,
			    got, want);
		}
		json_decref(w);
	}
	json_decref(d);
	json_decref(o);
	json_decref(before);
}

/* RFC 6902 appendix A. */
static void
test_rfc6902(void **state)
{
	(void)state;
	/* A.1 adding an object member */
	jp("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\","
	    "\"value\":\"qux\"}]", "{\"baz\":\"qux\",\"foo\":\"bar\"}");
	/* A.2 adding an array element */
	jp("{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":"
	    "\"/foo/1\",\"value\":\"qux\"}]",
	    "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
	/* A.3 removing an object member */
	jp("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\","
	    "\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}");
	/* A.4 removing an array element */
	jp("{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\","
	    "\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}");
	/* A.5 replacing a value */
	jp("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"replace\","
	    "\"path\":\"/baz\",\"value\":\"boo\"}]",
	    "{\"baz\":\"boo\",\"foo\":\"bar\"}");
	/* A.6 moving a value */
	jp("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":"
	    "\"grault\"}}", "[{\"op\":\"move\",\"from\":\"/foo/waldo\","
	    "\"path\":\"/qux/thud\"}]", "{\"foo\":{\"bar\":\"baz\"},\"qux\":"
	    "{\"corge\":\"grault\",\"thud\":\"fred\"}}");
	/* A.7 moving an array element */
	jp("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}", "[{\"op\":"
	    "\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
	    "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
	/* A.8 testing a value: success */
	jp("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}", "[{\"op\":\"test\","
	    "\"path\":\"/baz\",\"value\":\"qux\"},{\"op\":\"test\",\"path\":"
	    "\"/foo/1\",\"value\":2}]",
	    "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
	/* A.9 testing a value: error */
	jp("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\","
	    "\"value\":\"bar\"}]", NULL);
	/* A.10 adding a nested member object */
	jp("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/child\","
	    "\"value\":{\"grandchild\":{}}}]",
	    "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
	/* A.12 adding to a nonexistent target */
	jp("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\","
	    "\"value\":\"qux\"}]", NULL);
	/* A.14 ~ escape ordering */
	jp("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\","
	    "\"value\":10}]", "{\"/\":9,\"~1\":10}");
	/* A.15 comparing strings and numbers */
	jp("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\","
	    "\"value\":\"10\"}]", NULL);
	/* A.16 adding an array value */
	jp("{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\","
	    "\"value\":[\"abc\",\"def\"]}]",
	    "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
	/* copy, ~1 in a path (an annotation key with a slash) */
	jp("{\"a\":{\"x\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":"
	    "\"/b\"},{\"op\":\"add\",\"path\":\"/b/k8s.io~1name\",\"value\":2}]",
	    "{\"a\":{\"x\":1},\"b\":{\"x\":1,\"k8s.io/name\":2}}");
	/* numbers compare by value */
	jp("{\"n\":1}", "[{\"op\":\"test\",\"path\":\"/n\",\"value\":1.0}]",
	    "{\"n\":1}");
	/* the whole document */
	jp("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":"
	    "{\"b\":2}}]", "{\"b\":2}");
	/* errors, and all-or-nothing: the first op is undone */
	jp("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
	    "{\"op\":\"remove\",\"path\":\"/zzz\"}]", NULL);
	jp("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":2}]",
	    NULL);
	jp("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":2}]",
	    NULL);
	jp("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]",
	    NULL);
	jp("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":"
	    "\"/a/b/c\"}]", NULL);
	jp("{\"a\":1}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", NULL);
	jp("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", NULL);
	jp("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a~2\",\"value\":1}]",
	    NULL);
	jp("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\"}]", NULL);
}

static void
smp(const char *doc, const char *patch, const char *want)
{
	struct ag_err err = { 0, "" };
	json_t *d = Y(doc), *p = Y(patch), *w = Y(want);
	int del = 0;

	if (ag_kustomize_smp(d, p, &del, &err) != 0)
		fail_msg("smp: %s", err.msg);
	if (!json_equal(d, w)) {
		char *got = json_dumps(d, JSON_SORT_KEYS);

		fail_msg("smp: got %s", got);
	}
	json_decref(d);
	json_decref(p);
	json_decref(w);
}

static const char deploy[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata: {name: myapp, namespace: my-team}\n"
    "spec:\n"
    "  replicas: 1\n"
    "  template:\n"
    "    spec:\n"
    "      imagePullSecrets: [{name: a}]\n"
    "      containers:\n"
    "      - name: myapp\n"
    "        image: myapp:abcdef\n"
    "        env: [{name: A, value: '1'}, {name: B, value: '2'}]\n"
    "        ports: [{containerPort: 80, name: http}]\n"
    "        volumeMounts: [{name: data, mountPath: /data}]\n"
    "        args: [one, two]\n"
    "      - name: sidecar\n"
    "        image: envoy\n"
    "      volumes: [{name: data, emptyDir: {}}]\n";

static void
test_smp(void **state)
{
	(void)state;
	/* containers by name, env by name, volumeMounts by mountPath */
	smp(deploy,
	    "spec:\n"
	    "  template:\n"
	    "    spec:\n"
	    "      containers:\n"
	    "      - name: myapp\n"
	    "        env: [{name: B, value: '3'}, {name: C, value: '4'}]\n"
	    "        volumeMounts: [{name: azure, mountPath: /azure}]\n"
	    "        ports: [{containerPort: 80, protocol: TCP},"
	    " {containerPort: 9090}]\n"
	    "        args: [three]\n"
	    "      volumes: [{name: azure, azureFile: {shareName: s}}]\n"
	    "      imagePullSecrets: [{name: b}]\n",
	    "apiVersion: apps/v1\n"
	    "kind: Deployment\n"
	    "metadata: {name: myapp, namespace: my-team}\n"
	    "spec:\n"
	    "  replicas: 1\n"
	    "  template:\n"
	    "    spec:\n"
	    "      imagePullSecrets: [{name: a}, {name: b}]\n"
	    "      containers:\n"
	    "      - name: myapp\n"
	    "        image: myapp:abcdef\n"
	    "        env: [{name: A, value: '1'}, {name: B, value: '3'},"
	    " {name: C, value: '4'}]\n"
	    "        ports: [{containerPort: 80, name: http, protocol: TCP},"
	    " {containerPort: 9090}]\n"
	    "        volumeMounts: [{name: data, mountPath: /data},"
	    " {name: azure, mountPath: /azure}]\n"
	    "        args: [three]\n"
	    "      - name: sidecar\n"
	    "        image: envoy\n"
	    "      volumes: [{name: data, emptyDir: {}},"
	    " {name: azure, azureFile: {shareName: s}}]\n");
	/* $patch: delete on an element and a map, null deletes a key */
	smp(deploy,
	    "spec:\n"
	    "  replicas: null\n"
	    "  template:\n"
	    "    spec:\n"
	    "      containers:\n"
	    "      - {name: sidecar, $patch: delete}\n"
	    "      - name: myapp\n"
	    "        env: [{name: A, $patch: delete}]\n"
	    "      $setElementOrder/containers: [{name: myapp}]\n"
	    "      volumes:\n"
	    "      - {name: data, emptyDir: {$patch: delete}}\n",
	    "apiVersion: apps/v1\n"
	    "kind: Deployment\n"
	    "metadata: {name: myapp, namespace: my-team}\n"
	    "spec:\n"
	    "  template:\n"
	    "    spec:\n"
	    "      imagePullSecrets: [{name: a}]\n"
	    "      containers:\n"
	    "      - name: myapp\n"
	    "        image: myapp:abcdef\n"
	    "        env: [{name: B, value: '2'}]\n"
	    "        ports: [{containerPort: 80, name: http}]\n"
	    "        volumeMounts: [{name: data, mountPath: /data}]\n"
	    "        args: [one, two]\n"
	    "      volumes: [{name: data}]\n");
	/* $patch: replace on a list and on a map */
	smp(deploy,
	    "spec:\n"
	    "  template:\n"
	    "    spec:\n"
	    "      containers:\n"
	    "      - {name: only, image: busybox}\n"
	    "      - {$patch: replace}\n"
	    "      volumes: [{name: v, configMap: {name: c}}]\n"
	    "  strategy: {$patch: replace, type: Recreate}\n",
	    "apiVersion: apps/v1\n"
	    "kind: Deployment\n"
	    "metadata: {name: myapp, namespace: my-team}\n"
	    "spec:\n"
	    "  replicas: 1\n"
	    "  template:\n"
	    "    spec:\n"
	    "      imagePullSecrets: [{name: a}]\n"
	    "      containers:\n"
	    "      - {name: only, image: busybox}\n"
	    "      volumes: [{name: data, emptyDir: {}},"
	    " {name: v, configMap: {name: c}}]\n"
	    "  strategy: {type: Recreate}\n");
	/* a Service's ports merge by port; a CRD's lists are replaced */
	smp("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
	    "spec: {ports: [{port: 80, name: http}, {port: 443}]}\n",
	    "spec: {ports: [{port: 80, targetPort: 8080}]}\n",
	    "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
	    "spec: {ports: [{port: 80, name: http, targetPort: 8080},"
	    " {port: 443}]}\n");
	smp("apiVersion: acme.example.com/v1\nkind: Thing\n"
	    "spec: {containers: [{name: a}, {name: b}]}\n",
	    "spec: {containers: [{name: c}]}\n",
	    "apiVersion: acme.example.com/v1\nkind: Thing\n"
	    "spec: {containers: [{name: c}]}\n");
	/* finalizers merge as a set */
	smp("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, "
	    "finalizers: [a]}\n", "metadata: {finalizers: [a, b]}\n",
	    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, "
	    "finalizers: [a, b]}\n");
}

/* pkg/dx/kustomize_test.go Test_ApplyStrategicMergePatches and
 * Test_ApplyJsonPatches, on the same manifest. */
static const char gimlet_manifest[] =
    "---\n"
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: myapp\n"
    "  namespace: my-team\n"
    "spec:\n"
    "  selector:\n"
    "  matchLabels:\n"
    "    app.kubernetes.io/instance: myapp\n"
    "    app.kubernetes.io/name: onechart\n"
    "  template:\n"
    "    spec:\n"
    "      containers:\n"
    "      - image: myapp:abcdef\n"
    "        imagePullPolicy: IfNotPresent\n"
    "        name: myapp\n";

static void
test_gimlet_cases(void **state)
{
	static const char smpatch[] =
	    "\n---\n"
	    "apiVersion: apps/v1\n"
	    "kind: Deployment\n"
	    "metadata:\n"
	    "  name: myapp\n"
	    "  namespace: my-team\n"
	    "spec:\n"
	    "  template:\n"
	    "    spec:\n"
	    "      containers:\n"
	    "      - name: myapp\n"
	    "        volumeMounts:\n"
	    "        - name: azure-file\n"
	    "          mountPath: /azure-bucket\n"
	    "    volumes:\n"
	    "    - name: azure-file\n"
	    "      azureFile:\n"
	    "        secretName: my-azure-secret\n"
	    "        shareName: my-azure-share\n"
	    "        readOnly: false\n";
	static const char jpatch[] =
	    "\n---\n"
	    "- op: replace\n"
	    "  path: /spec/template/spec/containers/0/name\n"
	    "  value: myapp-replaced\n"
	    "- op: replace\n"
	    "  path: /spec/template/spec/containers/0/imagePullPolicy\n"
	    "  value: Always\n";
	struct ag_err err = { 0, "" };
	json_t *docs = NULL, *s = json_string(smpatch), *jps, *c;

	(void)state;
	assert_int_equal(ag_yaml_load_all(&docs, gimlet_manifest,
	    strlen(gimlet_manifest), "m", &err), 0);
	assert_int_equal(ag_kustomize_apply(docs, s, NULL, NULL, &err), 0);
	c = json_array_get(json_object_get(json_object_get(json_object_get(
	    json_object_get(json_array_get(docs, 0), "spec"), "template"),
	    "spec"), "containers"), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(c, "volumeMounts"), 0), "mountPath")),
	    "/azure-bucket");
	assert_string_equal(json_string_value(json_object_get(c, "image")),
	    "myapp:abcdef");
	assert_non_null(json_object_get(json_object_get(json_object_get(
	    json_array_get(docs, 0), "spec"), "template"), "volumes"));
	jps = json_pack("[{s:{s:s,s:s,s:s,s:s},s:s}]", "target", "group",
	    "apps", "version", "v1", "kind", "Deployment", "name", "myapp",
	    "patch", jpatch);
	assert_int_equal(ag_kustomize_apply(docs, NULL, jps, NULL, &err), 0);
	c = json_array_get(json_object_get(json_object_get(json_object_get(
	    json_object_get(json_array_get(docs, 0), "spec"), "template"),
	    "spec"), "containers"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "name")),
	    "myapp-replaced");
	assert_string_equal(json_string_value(json_object_get(c,
	    "imagePullPolicy")), "Always");
	json_decref(jps);
	json_decref(s);
	json_decref(docs);
}

static void
test_targets(void **state)
{
	struct ag_err err = { 0, "" };
	json_t *docs = J("[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
	    "\"metadata\":{\"name\":\"web-a\",\"namespace\":\"prod\"}},"
	    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
	    "{\"name\":\"web-b\"}},{\"apiVersion\":\"apps/v1\",\"kind\":"
	    "\"Deployment\",\"metadata\":{\"name\":\"web-a\"}}]");
	json_t *w = json_array(), *p;
	json_t *s;

	(void)state;
	/* name is a regular expression; an empty group selects all */
	p = J("[{\"target\":{\"kind\":\"ConfigMap\",\"name\":\"web-.*\"},"
	    "\"patch\":\"- {op: add, path: /data, value: {k: v}}\"}]");
	assert_int_equal(ag_kustomize_apply(docs, NULL, p, w, &err), 0);
	assert_non_null(json_object_get(json_array_get(docs, 0), "data"));
	assert_non_null(json_object_get(json_array_get(docs, 1), "data"));
	assert_null(json_object_get(json_array_get(docs, 2), "data"));
	json_decref(p);
	/* no match: a warning, nothing changed */
	p = J("[{\"target\":{\"kind\":\"Secret\",\"name\":\"x\"},"
	    "\"patch\":\"[{\\\"op\\\":\\\"remove\\\",\\\"path\\\":\\\"/a\\\"}]\""
	    "}]");
	assert_int_equal(ag_kustomize_apply(docs, NULL, p, w, &err), 0);
	assert_int_equal(json_array_size(w), 1);
	assert_non_null(strstr(json_string_value(json_array_get(w, 0)),
	    "selects no resource"));
	json_decref(p);
	/* a map in json6902Patches is a strategic merge patch */
	p = J("[{\"target\":{\"kind\":\"Deployment\"},"
	    "\"patch\":\"spec: {replicas: 3}\"}]");
	assert_int_equal(ag_kustomize_apply(docs, NULL, p, w, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_array_get(docs, 2), "spec"), "replicas")), 3);
	json_decref(p);
	/* a strategic merge patch: namespace "" is "default" */
	s = json_string("apiVersion: v1\nkind: ConfigMap\nmetadata: "
	    "{name: web-b, namespace: default}\ndata: {x: y}\n");
	assert_int_equal(ag_kustomize_apply(docs, s, NULL, w, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(docs, 1), "data"), "x")), "y");
	json_decref(s);
	/* no such resource: an error naming it */
	s = json_string("apiVersion: v1\nkind: ConfigMap\nmetadata: "
	    "{name: web-a}\ndata: {x: y}\n");
	ag_err_clear(&err);
	assert_int_equal(ag_kustomize_apply(docs, s, NULL, w, &err),
	    AG_EINVAL);
	assert_non_null(strstr(err.msg, "no resource ConfigMap default/web-a"));
	json_decref(s);
	/* $patch: delete removes the resource */
	s = json_string("apiVersion: apps/v1\nkind: Deployment\nmetadata: "
	    "{name: web-a}\n$patch: delete\n");
	ag_err_clear(&err);
	assert_int_equal(ag_kustomize_apply(docs, s, NULL, w, &err), 0);
	assert_true(json_is_null(json_array_get(docs, 2)));
	json_decref(s);
	json_decref(w);
	json_decref(docs);
}

/* hooks/patch.c on Gimlet's examples/kustomize manifests. */
static void
test_render(void **state)
{
	/* gimlet-io/gimlet examples/kustomize/json6902Patch.yaml */
	static const char example[] =
	    "app: myapp\n"
	    "env: staging\n"
	    "namespace: default\n"
	    "chart:\n"
	    "  repository: https://chart.onechart.dev\n"
	    "  name: onechart\n"
	    "  version: 0.60.0\n"
	    "values:\n"
	    "  replicas: 2\n"
	    "  ingress:\n"
	    "    host: myapp.staging.mycompany.com\n"
	    "    tlsEnabled: true\n"
	    "json6902Patches:\n"
	    "- target:\n"
	    "    group: \"networking.k8s.io\"\n"
	    "    version: \"v1\"\n"
	    "    kind: \"Ingress\"\n"
	    "    name: \"myapp\"\n"
	    "  patch: |\n"
	    "    ---\n"
	    "    - op: replace\n"
	    "      path: /spec/rules/0/host\n"
	    "      value: myapp.com\n"
	    "    - op: replace\n"
	    "      path: /spec/tls/0/hosts/0\n"
	    "      value: myapp.com\n"
	    "strategicMergePatches: |\n"
	    "  ---\n"
	    "  apiVersion: apps/v1\n"
	    "  kind: Deployment\n"
	    "  metadata:\n"
	    "    name: myapp\n"
	    "    namespace: default\n"
	    "  spec:\n"
	    "    template:\n"
	    "      spec:\n"
	    "        containers:\n"
	    "        - name: myapp\n"
	    "          volumeMounts:\n"
	    "            - name: azure-file\n"
	    "              mountPath: /azure-bucket\n"
	    "        volumes:\n"
	    "          - name: azure-file\n"
	    "            azureFile:\n"
	    "              secretName: my-azure-secret\n"
	    "              shareName: my-azure-share\n"
	    "              readOnly: false\n"
	    "  ---\n";
	struct ag_err err = { 0, "" };
	struct render_out *ro = NULL, *plain = NULL;
	json_t *m = Y(example), *m2;
	size_t i, j;
	int ing = 0, dep = 0;

	(void)state;
	if (patch_render(&ro, m, NULL, &err) != 0)
		fail_msg("patch_render: %s", err.msg);
	m2 = json_copy(m);
	json_object_del(m2, "json6902Patches");
	json_object_del(m2, "strategicMergePatches");
	assert_int_equal(render_manifest(&plain, m2, &err), 0);
	assert_int_equal(ro->nfiles, plain->nfiles);
	for (i = 0; i < ro->nfiles; i++) {
		assert_string_equal(ro->files[i].name, plain->files[i].name);
		if (strcmp(ro->files[i].name, "ingress.yaml") == 0) {
			ing = 1;
			assert_non_null(strstr(ro->files[i].data,
			    "myapp.com"));
			assert_null(strstr(ro->files[i].data,
			    "myapp.staging.mycompany.com"));
		} else if (strcmp(ro->files[i].name, "deployment.yaml") == 0) {
			dep = 1;
			assert_non_null(strstr(ro->files[i].data,
			    "/azure-bucket"));
			assert_non_null(strstr(ro->files[i].data,
			    "my-azure-share"));
		} else {
			/* untouched files keep their bytes */
			assert_int_equal(ro->files[i].len, plain->files[i].len);
			assert_memory_equal(ro->files[i].data,
			    plain->files[i].data, ro->files[i].len);
		}
	}
	assert_true(ing && dep);
	for (j = 0; j < json_array_size(ro->warnings); j++)
		assert_null(strstr(json_string_value(json_array_get(
		    ro->warnings, j)), "Patches"));
	render_out_free(ro);
	render_out_free(plain);
	json_decref(m2);
	json_decref(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6902),
		cmocka_unit_test(test_smp),
		cmocka_unit_test(test_gimlet_cases),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The built-in render stage: OneChart's Deployment, Service, Ingress,
 * ConfigMap, PVCs and PDB built as JSON trees from the manifest's values
 * (OneChart's values.yaml defaults merged underneath, as Helm does), plus
 * the raw manifests, each written out through the YAML emitter. What it
 * renders, and what it leaves out, is in hooks/RENDER.md.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "auger/yaml.h"
#include "render.h"
#include "runner.h"
#include "validate.h"

#define RENDER_MAX_INGRESSES	16
#define RENDER_DNS_LABEL_MAX	63

/* The shape of the values this renderer reads, to warn about the rest. */
enum render_kind {
	RK_ANY,		/* a scalar, or a map or list copied as it is */
	RK_OBJ,		/* a map whose keys are listed in sub */
	RK_LIST		/* a list of maps whose keys are listed in sub */
};

struct render_key {
	const char		*name;
	enum render_kind	 kind;
	const struct render_key	*sub;
};

static const struct render_key render_image_keys[] = {
	{ "repository", RK_ANY, NULL }, { "tag", RK_ANY, NULL },
	{ "pullPolicy", RK_ANY, NULL }, { NULL, RK_ANY, NULL }
};
static const struct render_key render_probe_keys[] = {
	{ "enabled", RK_ANY, NULL }, { "path", RK_ANY, NULL },
	{ "settings", RK_ANY, NULL }, { NULL, RK_ANY, NULL }
};
static const struct render_key render_resources_keys[] = {
	{ "requests", RK_ANY, NULL }, { "limits", RK_ANY, NULL },
	{ "ignore", RK_ANY, NULL }, { "ignoreLimits", RK_ANY, NULL },
	{ NULL, RK_ANY, NULL }
};
static const struct render_key render_path_keys[] = {
	{ "path", RK_ANY, NULL }, { "pathType", RK_ANY, NULL },
	{ NULL, RK_ANY, NULL }
};
static const struct render_key render_basic_auth_keys[] = {
	{ "user", RK_ANY, NULL }, { "password", RK_ANY, NULL },
	{ NULL, RK_ANY, NULL }
};
static const struct render_key render_ingress_keys[] = {
	{ "host", RK_ANY, NULL }, { "path", RK_ANY, NULL },
	{ "pathType", RK_ANY, NULL }, { "paths", RK_LIST, render_path_keys },
	{ "ingressClassName", RK_ANY, NULL }, { "annotations", RK_ANY, NULL },
	{ "tlsEnabled", RK_ANY, NULL }, { "secretName", RK_ANY, NULL },
	{ "nginxBasicAuth", RK_OBJ, render_basic_auth_keys },
	{ NULL, RK_ANY, NULL }
};
static const struct render_key render_hostpath_keys[] = {
	{ "path", RK_ANY, NULL }, { "type", RK_ANY, NULL },
	{ NULL, RK_ANY, NULL }
};
static const struct render_key render_volume_keys[] = {
	{ "name", RK_ANY, NULL }, { "path", RK_ANY, NULL },
	{ "subPath", RK_ANY, NULL }, { "size", RK_ANY, NULL },
	{ "storageClass", RK_ANY, NULL }, { "accessMode", RK_ANY, NULL },
	{ "pvcAnnotations", RK_ANY, NULL },
	{ "existingClaim", RK_ANY, NULL }, { "emptyDir", RK_ANY, NULL },
	{ "existingConfigMap", RK_ANY, NULL },
	{ "existingSecret", RK_ANY, NULL }, { "fileName", RK_ANY, NULL },
	{ "fileContent", RK_ANY, NULL },
	{ "hostPath", RK_OBJ, render_hostpath_keys },
	{ NULL, RK_ANY, NULL }
};
static const struct render_key render_port_keys[] = {
	{ "name", RK_ANY, NULL }, { "containerPort", RK_ANY, NULL },
	{ "svcPort", RK_ANY, NULL }, { "protocol", RK_ANY, NULL },
	{ "nodePort", RK_ANY, NULL }, { NULL, RK_ANY, NULL }
};
static const struct render_key render_ref_keys[] = {
	{ "name", RK_ANY, NULL }, { "optional", RK_ANY, NULL },
	{ NULL, RK_ANY, NULL }
};
static const struct render_key render_init_keys[] = {
	{ "name", RK_ANY, NULL }, { "image", RK_ANY, NULL },
	{ "tag", RK_ANY, NULL }, { "imagePullPolicy", RK_ANY, NULL },
	{ "command", RK_ANY, NULL }, { "securityContext", RK_ANY, NULL },
	{ NULL, RK_ANY, NULL }
};
static const struct render_key render_sidecar_keys[] = {
	{ "repository", RK_ANY, NULL }, { "tag", RK_ANY, NULL },
	{ "shell", RK_ANY, NULL }, { "command", RK_ANY, NULL },
	{ NULL, RK_ANY, NULL }
};
static const struct render_key render_mount_file_keys[] = {
	{ "name", RK_ANY, NULL }, { "source", RK_ANY, NULL },
	{ NULL, RK_ANY, NULL }
};
static const struct render_key render_sealed_file_keys[] = {
	{ "name", RK_ANY, NULL }, { "path", RK_ANY, NULL },
	{ "subPath", RK_ANY, NULL },
	{ "filesToMount", RK_LIST, render_mount_file_keys },
	{ NULL, RK_ANY, NULL }
};
static const struct render_key render_file_secret_keys[] = {
	{ "name", RK_ANY, NULL }, { "path", RK_ANY, NULL },
	{ "subPath", RK_ANY, NULL }, { "secrets", RK_ANY, NULL },
	{ NULL, RK_ANY, NULL }
};
static const struct render_key render_existing_file_keys[] = {
	{ "name", RK_ANY, NULL }, { "path", RK_ANY, NULL },
	{ "subPath", RK_ANY, NULL }, { NULL, RK_ANY, NULL }
};
static const struct render_key render_monitor_keys[] = {
	{ "enabled", RK_ANY, NULL }, { "path", RK_ANY, NULL },
	{ "portName", RK_ANY, NULL }, { "scheme", RK_ANY, NULL },
	{ "scrapeTimeout", RK_ANY, NULL }, { NULL, RK_ANY, NULL }
};
static const struct render_key render_rule_keys[] = {
	{ "name", RK_ANY, NULL }, { "message", RK_ANY, NULL },
	{ "runBookURL", RK_ANY, NULL }, { "expression", RK_ANY, NULL },
	{ "for", RK_ANY, NULL }, { "labels", RK_ANY, NULL },
	{ NULL, RK_ANY, NULL }
};
/* Every key OneChart 0.74.0's templates read, and the schema's own. */
static const struct render_key render_values_keys[] = {
	{ "image", RK_OBJ, render_image_keys },
	{ "replicas", RK_ANY, NULL },
	{ "nameOverride", RK_ANY, NULL },
	{ "fullnameOverride", RK_ANY, NULL },
	{ "strategy", RK_ANY, NULL },
	{ "podAnnotations", RK_ANY, NULL },
	{ "podLabels", RK_ANY, NULL },
	{ "podSecurityContext", RK_ANY, NULL },
	{ "securityContext", RK_ANY, NULL },
	{ "serviceAccount", RK_ANY, NULL },
	{ "imagePullSecrets", RK_ANY, NULL },
	{ "command", RK_ANY, NULL },
	{ "shell", RK_ANY, NULL },
	{ "containerPort", RK_ANY, NULL },
	{ "ports", RK_LIST, render_port_keys },
	{ "svcPort", RK_ANY, NULL },
	{ "nodePortEnabled", RK_ANY, NULL },
	{ "nodePort", RK_ANY, NULL },
	{ "loadbalancerEnabled", RK_ANY, NULL },
	{ "serviceAnnotations", RK_ANY, NULL },
	{ "stickySessions", RK_ANY, NULL },
	{ "resources", RK_OBJ, render_resources_keys },
	{ "probe", RK_OBJ, render_probe_keys },
	{ "livenessProbe", RK_OBJ, render_probe_keys },
	{ "vars", RK_ANY, NULL },
	{ "secretEnabled", RK_ANY, NULL },
	{ "secretName", RK_ANY, NULL },
	{ "existingSecrets", RK_LIST, render_ref_keys },
	{ "existingConfigMaps", RK_LIST, render_ref_keys },
	{ "sealedSecrets", RK_ANY, NULL },
	{ "sealedFileSecrets", RK_LIST, render_sealed_file_keys },
	{ "fileSecrets", RK_LIST, render_file_secret_keys },
	{ "existingFileSecrets", RK_LIST, render_existing_file_keys },
	{ "volumes", RK_LIST, render_volume_keys },
	{ "initContainers", RK_LIST, render_init_keys },
	{ "sidecar", RK_OBJ, render_sidecar_keys },
	{ "container", RK_ANY, NULL },
	{ "podSpec", RK_ANY, NULL },
	{ "ingress", RK_OBJ, render_ingress_keys },
	{ "ingresses", RK_LIST, render_ingress_keys },
	{ "nodeSelector", RK_ANY, NULL },
	{ "tolerations", RK_ANY, NULL },
	{ "affinity", RK_ANY, NULL },
	{ "spreadAcrossNodes", RK_ANY, NULL },
	{ "podDisruptionBudgetEnabled", RK_ANY, NULL },
	{ "monitor", RK_OBJ, render_monitor_keys },
	{ "prometheusRules", RK_LIST, render_rule_keys },
	{ "extraDeploy", RK_ANY, NULL },
	{ "gitSha", RK_ANY, NULL },
	{ "gitRepository", RK_ANY, NULL },
	{ "gitBranch", RK_ANY, NULL },
	{ "serviceName", RK_ANY, NULL },
	{ "serviceDescription", RK_ANY, NULL },
	{ "ownerName", RK_ANY, NULL },
	{ "ownerIm", RK_ANY, NULL },
	{ "documentation", RK_ANY, NULL },
	{ "logs", RK_ANY, NULL },
	{ "metrics", RK_ANY, NULL },
	{ "issues", RK_ANY, NULL },
	{ "traces", RK_ANY, NULL },
	{ NULL, RK_ANY, NULL }
};

/* Manifest fields that are not for the renderer but are no mistake. */
static const char *const render_manifest_keys[] = {
	"app", "env", "namespace", "chart", "values", "manifests",
	"strategicMergePatches", "json6902Patches", "dependencies",
	"preview", "deploy", "cleanup", NULL
};

struct render_ctx {
	const char		*app;
	const char		*ns;
	const json_t		*v;	/* values over the defaults */
	json_t			*sel;		/* selector labels */
	json_t			*labels;	/* all labels */
	json_t			*scratch; /* strings made from numbers */
	char			 checksum[2 * EVP_MAX_MD_SIZE + 1];
	struct render_out	*out;
	size_t			 cap;
	struct ag_err		*err;
};

static int
render_oom(struct render_ctx *c)
{
	return ag_err_set(c->err, AG_EINTERNAL, "render: out of memory");
}

static int
render_warn(struct render_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
render_warn(struct render_ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (json_array_append_new(c->out->warnings, json_string(msg)) < 0)
		return render_oom(c);
	return 0;
}

static int render_is_dns_label(const char *s);

/* An Ingress host: DNS-1123 labels joined by dots, "*." allowed first. */
static int
render_is_host(const char *s)
{
	char label[RENDER_DNS_LABEL_MAX + 2];
	const char *p = s, *dot;
	size_t n;

	if (strlen(s) > 253)
		return 0;
	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	for (;;) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n > RENDER_DNS_LABEL_MAX)
			return 0;
		memcpy(label, p, n);
		label[n] = '\0';
		if (!render_is_dns_label(label))
			return 0;
		if (dot == NULL)
			return 1;
		p = dot + 1;
	}
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63: a Kubernetes DNS label. */
static int
render_is_dns_label(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > RENDER_DNS_LABEL_MAX || s[0] == '-' ||
	    s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/*
 * OneChart's robustName: each run of characters outside [0-9A-Za-z_]
 * becomes '-', so does '_', then lowercase, cut to 63, one trailing '-'
 * dropped.
 */
static const char *
render_robust_name(char *out, size_t outsz, const char *in)
{
	size_t n = 0;
	int run = 0;
	char ch;

	for (; *in != '\0' && n + 1 < outsz && n < RENDER_DNS_LABEL_MAX; in++) {
		ch = *in;
		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || ch == '_') {
			out[n++] = ch == '_' ? '-' : (ch >= 'A' && ch <= 'Z') ?
			    (char)(ch - 'A' + 'a') : ch;
			run = 0;
		} else if (!run) {
			out[n++] = '-';
			run = 1;
		}
	}
	if (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
	return out;
}

/* Go template truthiness, and a map with "enabled: false" is off too. */
static int
render_truthy(const json_t *v)
{
	const json_t *en;

	if (v == NULL)
		return 0;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		en = json_object_get(v, "enabled");
		if (en != NULL && (json_is_false(en) || json_is_null(en)))
			return 0;
		return json_object_size(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0;
	case JSON_TRUE:
		return 1;
	default:
		return 0;
	}
}

/* Go template truthiness alone: what `if` and mergo call non-empty. */
static int
render_truthy_plain(const json_t *v)
{
	if (json_is_object(v))
		return json_object_size(v) > 0;
	return render_truthy(v);
}

/* Sorts keys in place: Go ranges over a map in key order. */
static void
render_sort(const char **keys, size_t n)
{
	const char *t;
	size_t i, m;

	for (i = 1; i < n; i++) {
		t = keys[i];
		for (m = i; m > 0 && strcmp(keys[m - 1], t) > 0; m--)
			keys[m] = keys[m - 1];
		keys[m] = t;
	}
}

/*
 * A number as helm's templates print it: helm reads every YAML number as
 * a float64, and Go's %v of one is strconv's shortest 'g' with exponents
 * from 1e+06 up and below 1e-04 (1000000 prints "1e+06").
 */
static void
render_gofmt(char *out, size_t outsz, double d)
{
	char buf[64];
	int prec, exp;

	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
	exp = atoi(strchr(buf, 'e') + 1);
	if (exp < -4 || exp >= 6)
		snprintf(out, outsz, "%s", buf);
	else
		snprintf(out, outsz, "%.*f", prec - 1 - exp > 0 ?
		    prec - 1 - exp : 0, d);
}

/* Warns about every key of user values that nothing here reads. */
static int
render_check_keys(struct render_ctx *c, const json_t *v,
    const struct render_key *keys, const char *path, int depth)
{
	const struct render_key *k;
	const char *name;
	char sub[512];
	json_t *x, *item;
	size_t i;
	int r;

	json_object_foreach((json_t *)(uintptr_t)v, name, x) {
		for (k = keys; k->name != NULL; k++)
			if (strcmp(k->name, name) == 0)
				break;
		snprintf(sub, sizeof sub, "%s.%s", path, name);
		if (k->name == NULL) {
			if (render_truthy(x) && (r = render_warn(c,
			    "%s is not a value of OneChart 0.74.0 and was "
			    "ignored", sub)) < 0)
				return r;
			continue;
		}
		if (depth > 4)
			continue;
		if (k->kind == RK_OBJ && json_is_object(x)) {
			if ((r = render_check_keys(c, x, k->sub, sub,
			    depth + 1)) < 0)
				return r;
		} else if (k->kind == RK_LIST && json_is_array(x)) {
			json_array_foreach(x, i, item) {
				char isub[560];

				if (!json_is_object(item))
					continue;
				snprintf(isub, sizeof isub, "%s[%zu]", sub, i);
				if ((r = render_check_keys(c, item, k->sub,
				    isub, depth + 1)) < 0)
					return r;
			}
		}
	}
	return 0;
}

/*
 * Helm's coalescing of user values over chart defaults: maps merge key by
 * key, anything else replaces, and null deletes the default (a null with
 * no default under it stays, for the schema and mergeOverwrite to see).
 */
static int
render_merge(json_t *dst, const json_t *src)
{
	const char *k;
	json_t *x, *d, *cp;

	json_object_foreach((json_t *)(uintptr_t)src, k, x) {
		d = json_object_get(dst, k);
		/* null deletes a default; where there is none, it stays */
		if (json_is_null(x) && d != NULL) {
			json_object_del(dst, k);
			continue;
		}
		if (json_is_object(x) && json_is_object(d)) {
			if (render_merge(d, x) < 0)
				return -1;
			continue;
		}
		if ((cp = json_deep_copy(x)) == NULL ||
		    json_object_set_new(dst, k, cp) < 0)
			return -1;
	}
	return 0;
}

/* OneChart 0.74.0's values.yaml. */
static json_t *
render_defaults(void)
{
	return json_pack("{s:{s:s, s:s, s:s}, s:i, s:s, s:s, s:{}, s:{},"
	    " s:{s:i}, s:{}, s:i, s:{s:{s:s, s:s}, s:{s:s, s:s}}, s:{}, s:[],"
	    " s:{s:b, s:s, s:{s:i, s:i, s:i, s:i, s:i}},"
	    " s:{s:b, s:s, s:{s:i, s:i, s:i, s:i, s:i}},"
	    " s:b, s:s, s:b, s:b, s:b, s:{s:b}, s:{}, s:{}}",
	    "image", "repository", "nginx", "tag", "latest",
	    "pullPolicy", "IfNotPresent",
	    "replicas", 1,
	    "nameOverride", "",
	    "fullnameOverride", "",
	    "podAnnotations",
	    "podLabels",
	    "podSecurityContext", "fsGroup", 999,
	    "securityContext",
	    "containerPort", 80,
	    "resources", "requests", "cpu", "200m", "memory", "200Mi",
	    "limits", "cpu", "200m", "memory", "200Mi",
	    "nodeSelector",
	    "tolerations",
	    "probe", "enabled", 0, "path", "/", "settings",
	    "initialDelaySeconds", 0, "periodSeconds", 10,
	    "successThreshold", 1, "timeoutSeconds", 3, "failureThreshold", 3,
	    "livenessProbe", "enabled", 0, "path", "/", "settings",
	    "initialDelaySeconds", 0, "periodSeconds", 10,
	    "successThreshold", 1, "timeoutSeconds", 3, "failureThreshold", 3,
	    "secretEnabled", 0,
	    "shell", "/bin/sh",
	    "podDisruptionBudgetEnabled", 1,
	    "spreadAcrossNodes", 0,
	    "nodePortEnabled", 0,
	    "monitor", "enabled", 0,
	    "container",
	    "podSpec");
}

/*
 * Typed reads of a value: absent or null gives the default; a value of
 * the wrong type is an error naming it (path is the map's own path).
 */
static int
render_str(struct render_ctx *c, const json_t *o, const char *key,
    const char *path, const char *def, const char **out)
{
	const json_t *x = json_object_get(o, key);
	char num[64];
	json_t *s;

	*out = def;
	if (x == NULL || json_is_null(x))
		return 0;
	switch (json_typeof(x)) {
	case JSON_STRING:
		if (memchr(json_string_value(x), '\0',
		    json_string_length(x)) != NULL)
			return ag_err_set(c->err, AG_EINVAL,
			    "%s.%s contains a NUL byte", path, key);
		*out = json_string_value(x);
		return 0;
	case JSON_INTEGER:
	case JSON_REAL:
		/* e.g. a tag like 1.20 that YAML read as a number */
		render_gofmt(num, sizeof num, json_number_value(x));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		snprintf(num, sizeof num, "%s", json_is_true(x) ? "true" :
		    "false");
		break;
	default:
		return ag_err_set(c->err, AG_EINVAL, "%s.%s must be a string",
		    path, key);
	}
	if ((s = json_string(num)) == NULL ||
	    json_array_append_new(c->scratch, s) < 0)
		return render_oom(c);
	*out = json_string_value(s);
	return 0;
}

static int
render_int(struct render_ctx *c, const json_t *o, const char *key,
    const char *path, json_int_t def, json_int_t min, json_int_t max,
    json_int_t *out)
{
	const json_t *x = json_object_get(o, key);
	json_int_t v;
	double d;
	char *end;

	*out = def;
	if (x == NULL || json_is_null(x))
		return 0;
	if (json_is_integer(x))
		v = json_integer_value(x);
	else if (json_is_real(x) && (d = json_real_value(x)) >= -1e15 &&
	    d <= 1e15 && d == (double)(json_int_t)d)
		v = (json_int_t)d;
	else if (json_is_string(x) && json_string_length(x) > 0 &&
	    json_string_length(x) < 16 &&
	    strspn(json_string_value(x), "0123456789") ==
	    json_string_length(x))
		v = strtoll(json_string_value(x), &end, 10);
	else
		return ag_err_set(c->err, AG_EINVAL,
		    "%s.%s must be an integer", path, key);
	if (v < min || v > max)
		return ag_err_set(c->err, AG_EINVAL,
		    "%s.%s is %" JSON_INTEGER_FORMAT ", outside %"
		    JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT, path, key,
		    v, min, max);
	*out = v;
	return 0;
}

static int
render_bool(struct render_ctx *c, const json_t *o, const char *key,
    const char *path, int def, int *out)
{
	const json_t *x = json_object_get(o, key);

	*out = def;
	if (x == NULL || json_is_null(x))
		return 0;
	if (!json_is_boolean(x))
		return ag_err_set(c->err, AG_EINVAL,
		    "%s.%s must be true or false", path, key);
	*out = json_is_true(x);
	return 0;
}

/* A map or list value: *out is NULL when absent, null or empty. */
static int
render_coll(struct render_ctx *c, const json_t *o, const char *key,
    const char *path, json_type want, const json_t **out)
{
	const json_t *x = json_object_get(o, key);

	*out = NULL;
	if (x == NULL || json_is_null(x))
		return 0;
	if (json_typeof(x) != want)
		return ag_err_set(c->err, AG_EINVAL, "%s.%s must be %s", path,
		    key, want == JSON_OBJECT ? "a map" : "a list");
	if ((want == JSON_OBJECT && json_object_size(x) > 0) ||
	    (want == JSON_ARRAY && json_array_size(x) > 0))
		*out = x;
	return 0;
}

/* A map of strings (annotations, labels): values stringified. */
static int
render_strmap(struct render_ctx *c, json_t *dst, const json_t *src,
    const char *path)
{
	const char *k, *s;
	json_t *x;
	int r;

	json_object_foreach((json_t *)(uintptr_t)src, k, x) {
		if ((r = render_str(c, src, k, path, "", &s)) < 0)
			return r;
		if (json_object_set_new(dst, k, json_string(s)) < 0)
			return render_oom(c);
	}
	return 0;
}

/* metadata: name, namespace and (when labels) the chart's labels. */
static json_t *
render_meta(struct render_ctx *c, const char *name, int labels)
{
	json_t *m = json_pack("{s:s, s:s}", "name", name, "namespace", c->ns);

	if (m != NULL && labels &&
	    json_object_set_new(m, "labels", json_deep_copy(c->labels)) < 0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

/* Adds a file made of one document (or of each of an array's, when all). */
static int
render_add_file(struct render_ctx *c, const char *name, const json_t *doc,
    int all)
{
	struct render_out *o = c->out;
	struct render_file *nf;
	size_t cap;
	int r;

	if (o->nfiles == c->cap) {
		cap = c->cap ? c->cap * 2 : 8;
		if ((nf = realloc(o->files, cap * sizeof *nf)) == NULL)
			return render_oom(c);
		o->files = nf;
		c->cap = cap;
	}
	nf = &o->files[o->nfiles];
	memset(nf, 0, sizeof *nf);
	if ((nf->name = strdup(name)) == NULL)
		return render_oom(c);
	o->nfiles++;
	if (all)
		r = ag_yaml_dump_all(&nf->data, &nf->len, doc, c->err);
	else
		r = ag_yaml_dump(&nf->data, &nf->len, doc, c->err);
	return r;
}

/* Takes a new document reference; adds it as file name. */
static int
render_emit(struct render_ctx *c, const char *name, json_t *doc)
{
	int r;

	if (doc == NULL)
		return render_oom(c);
	r = render_add_file(c, name, doc, 0);
	json_decref(doc);
	return r;
}

/* A value as Go's template prints it ({{ . }}); null prints nothing. */
static int
render_print(struct render_ctx *c, const json_t *x, const char *path,
    const char **out)
{
	json_t *wrap;
	int r;

	*out = "";
	if (x == NULL || json_is_null(x))
		return 0;
	if ((wrap = json_pack("{s:O}", "v", x)) == NULL)
		return render_oom(c);
	r = render_str(c, wrap, "v", path, "", out);
	if (r < 0)
		ag_err_set(c->err, AG_EINVAL, "%s must be a string", path);
	json_decref(wrap);
	return r;
}

/* A YAML literal block, as OneChart writes file contents: "|" keeps one
 * final newline, "|-" none. */
static int
render_block(struct render_ctx *c, const char *s, int keep, json_t **out)
{
	size_t n = strlen(s);
	char *b;

	while (n > 0 && s[n - 1] == '\n')
		n--;
	if ((b = malloc(n + 2)) == NULL)
		return render_oom(c);
	memcpy(b, s, n);
	if (keep && n > 0)
		b[n++] = '\n';
	b[n] = '\0';
	*out = json_string(b);
	free(b);
	return *out == NULL ? render_oom(c) : 0;
}

static int
render_b64(struct render_ctx *c, const char *s, json_t **out)
{
	size_t n = strlen(s);
	unsigned char *b;

	if (n > RENDER_MAX_SECRET)
		return ag_err_set(c->err, AG_ETOOBIG, "a secret value is over "
		    "%d bytes", RENDER_MAX_SECRET);
	if ((b = malloc(4 * (n / 3 + 1) + 1)) == NULL)
		return render_oom(c);
	EVP_EncodeBlock(b, (const unsigned char *)s, (int)n);
	*out = json_string((char *)b);
	free(b);
	return *out == NULL ? render_oom(c) : 0;
}

/* mergo's mergeOverwrite, as OneChart merges values.container and
 * values.podSpec over its own: maps merge key by key, anything else of
 * src replaces dst's, empty values and lists included. */
static int
render_overwrite(json_t *dst, const json_t *src)
{
	const char *k;
	json_t *x, *d;

	json_object_foreach((json_t *)(uintptr_t)src, k, x) {
		d = json_object_get(dst, k);
		if (json_is_object(x) && json_is_object(d)) {
			if (render_overwrite(d, x) < 0)
				return -1;
			continue;
		}
		/* a nil replaces too: the key is gone from the output */
		/* null deletes a default; where there is none, it stays */
		if (json_is_null(x) && d != NULL) {
			json_object_del(dst, k);
			continue;
		}
		if (json_object_set_new(dst, k, json_deep_copy(x)) < 0)
			return -1;
	}
	return 0;
}

/* Values keys read as lists of maps, each checked to be a map. */
static int
render_list(struct render_ctx *c, const char *key, const json_t **out)
{
	const json_t *x;
	size_t i;
	int r;

	if ((r = render_coll(c, c->v, key, "values", JSON_ARRAY, out)) < 0)
		return r;
	json_array_foreach(*out, i, x)
		if (!json_is_object(x))
			return ag_err_set(c->err, AG_EINVAL,
			    "values.%s[%zu] must be a map", key, i);
	if (*out != NULL && json_array_size(*out) > RENDER_MAX_VOLUMES)
		return ag_err_set(c->err, AG_ETOOBIG,
		    "values.%s has %zu entries, over the limit of %d", key,
		    json_array_size(*out), RENDER_MAX_VOLUMES);
	return 0;
}

/* A name that becomes a pod volume's: the API server wants a DNS label. */
static int
render_volname(struct render_ctx *c, const json_t *item, const char *path,
    const char **out)
{
	int r;

	if ((r = render_str(c, item, "name", path, "", out)) < 0)
		return r;
	if (**out == '\0')
		return ag_err_set(c->err, AG_EINVAL, "%s.name is required",
		    path);
	if (!render_is_dns_label(*out))
		return ag_err_set(c->err, AG_EINVAL, "%s.name \"%.64s\" must "
		    "match [a-z0-9]([-a-z0-9]*[a-z0-9])? and be at most 63 "
		    "characters: the API server refuses any other volume name",
		    path, *out);
	return 0;
}

static int
render_configmap(struct render_ctx *c)
{
	const json_t *vars;
	const char **keys = NULL, *k, *s;
	json_t *data = NULL, *doc = NULL, *x;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	size_t n = 0, j;
	int r;

	if ((r = render_coll(c, c->v, "vars", "values", JSON_OBJECT,
	    &vars)) < 0)
		return r;
	if (vars != NULL) {
		if (json_object_size(vars) > RENDER_MAX_VARS)
			return ag_err_set(c->err, AG_ETOOBIG,
			    "values.vars has %zu entries, over the limit of %d",
			    json_object_size(vars), RENDER_MAX_VARS);
		if ((keys = calloc(json_object_size(vars),
		    sizeof *keys)) == NULL)
			return render_oom(c);
		json_object_foreach((json_t *)(uintptr_t)vars, k, x)
			keys[n++] = k;
		render_sort(keys, n);
		if ((data = json_object()) == NULL)
			goto oom;
		for (j = 0; j < n; j++) {
			x = json_object_get(vars, keys[j]);
			if (json_is_object(x) || json_is_array(x)) {
				r = ag_err_set(c->err, AG_EINVAL,
				    "values.vars.%s must be a string", keys[j]);
				goto out;
			}
			if ((r = render_str(c, vars, keys[j], "values.vars", "",
			    &s)) < 0)
				goto out;
			if (json_object_set_new(data, keys[j],
			    json_string(s)) < 0)
				goto oom;
		}
		doc = json_pack("{s:s, s:s, s:o, s:O}", "apiVersion", "v1",
		    "kind", "ConfigMap", "metadata",
		    render_meta(c, c->app, 1), "data", data);
		if (doc == NULL)
			goto oom;
		if ((r = render_add_file(c, "configmap.yaml", doc, 0)) < 0)
			goto out;
	}
	/* OneChart's checksum/config: pods roll when the vars change */
	if (EVP_Digest(vars != NULL ? c->out->files[c->out->nfiles - 1].data :
	    "", vars != NULL ? c->out->files[c->out->nfiles - 1].len : 0, md,
	    &mdlen, EVP_sha256(), NULL) != 1) {
		r = ag_err_set(c->err, AG_EINTERNAL, "render: sha256 failed");
		goto out;
	}
	for (i = 0; i < mdlen; i++)
		snprintf(c->checksum + 2 * i, 3, "%02x", md[i]);
	r = 0;
	goto out;
oom:
	r = render_oom(c);
out:
	free(keys);
	json_decref(data);
	json_decref(doc);
	return r;
}

/* readinessProbe / livenessProbe: httpGet on the container port. */
static int
render_probe(struct render_ctx *c, json_t *ctr, const char *key,
    const char *as, json_int_t port)
{
	const json_t *p, *settings;
	const char *path, *k;
	char ppath[64];
	json_t *probe, *x;
	int on, r;

	if ((r = render_coll(c, c->v, key, "values", JSON_OBJECT, &p)) < 0)
		return r;
	if (p == NULL)
		return 0;
	snprintf(ppath, sizeof ppath, "values.%s", key);
	if ((r = render_bool(c, p, "enabled", ppath, 0, &on)) < 0 ||
	    (r = render_str(c, p, "path", ppath, "", &path)) < 0 ||
	    (r = render_coll(c, p, "settings", ppath, JSON_OBJECT,
	    &settings)) < 0)
		return r;
	if (!on)
		return 0;
	probe = json_pack("{s:{s:s, s:I, s:s}}", "httpGet", "path", path,
	    "port", port, "scheme", "HTTP");
	if (probe == NULL)
		return render_oom(c);
	if (settings != NULL)
		json_object_foreach((json_t *)(uintptr_t)settings, k, x)
			if (json_object_set_new(probe, k,
			    json_deep_copy(x)) < 0) {
				json_decref(probe);
				return render_oom(c);
			}
	if (json_object_set_new(ctr, as, probe) < 0)
		return render_oom(c);
	return 0;
}

/* envFrom, in the order of OneChart's common.envFromRef; NULL if none. */
static int
render_envfrom(struct render_ctx *c, json_t **out)
{
	static const char *const lists[] = { "existingSecrets",
	    "existingConfigMaps" };
	const json_t *vars, *list, *item;
	const char *name, *secret_name;
	char path[64];
	json_t *ef, *ref;
	int secret_on, opt, r, l;
	size_t i;

	*out = NULL;
	if ((ef = json_array()) == NULL)
		return render_oom(c);
	if ((r = render_coll(c, c->v, "vars", "values", JSON_OBJECT,
	    &vars)) < 0)
		goto out;
	if (vars != NULL && json_array_append_new(ef, json_pack(
	    "{s:{s:s}}", "configMapRef", "name", c->app)) < 0)
		goto oom;
	for (l = 0; l < 2; l++) {
		if ((r = render_list(c, lists[l], &list)) < 0)
			goto out;
		json_array_foreach(list, i, item) {
			snprintf(path, sizeof path, "values.%s[%zu]", lists[l],
			    i);
			if ((r = render_str(c, item, "name", path, NULL,
			    &name)) < 0 ||
			    (r = render_bool(c, item, "optional", path, 0,
			    &opt)) < 0)
				goto out;
			if (name == NULL || *name == '\0') {
				r = ag_err_set(c->err, AG_EINVAL,
				    "%s.name is required", path);
				goto out;
			}
			ref = json_pack("{s:{s:s, s:b}}", l == 0 ?
			    "secretRef" : "configMapRef", "name", name,
			    "optional", opt);
			if (json_array_append_new(ef, ref) < 0)
				goto oom;
		}
	}
	if ((r = render_bool(c, c->v, "secretEnabled", "values", 0,
	    &secret_on)) < 0 ||
	    (r = render_str(c, c->v, "secretName", "values", NULL,
	    &secret_name)) < 0)
		goto out;
	if (secret_on && json_array_append_new(ef, json_pack("{s:{s:s}}",
	    "secretRef", "name", c->app)) < 0)
		goto oom;
	if (secret_name != NULL && *secret_name != '\0' &&
	    json_array_append_new(ef, json_pack("{s:{s:s}}", "secretRef",
	    "name", secret_name)) < 0)
		goto oom;
	/* sealedSecrets unseal into a Secret named after the app */
	if (render_truthy_plain(json_object_get(c->v, "sealedSecrets")) &&
	    json_array_append_new(ef, json_pack("{s:{s:s}}", "secretRef",
	    "name", c->app)) < 0)
		goto oom;
	if (json_array_size(ef) > 0) {
		*out = ef;
		ef = NULL;
	}
	r = 0;
	goto out;
oom:
	r = render_oom(c);
out:
	json_decref(ef);
	return r;
}

/* The file secrets mounted read-only: sealed, plain, existing. */
static const char *const render_filesecret_keys[] = {
	"sealedFileSecrets", "fileSecrets", "existingFileSecrets"
};

/*
 * The app container's and the sidecar's volumeMounts (common.
 * volumeMountsRef): every volume but init-*, then the file secrets.
 * *out is NULL when OneChart writes none, json null when it writes an
 * empty key.
 */
static int
render_mounts(struct render_ctx *c, json_t **out)
{
	const json_t *list, *x;
	const char *name, *mpath, *sub;
	char path[64];
	json_t *mounts, *m;
	int any = 0, l, r;
	size_t i;

	*out = NULL;
	if ((r = render_list(c, "volumes", &list)) < 0)
		return r;
	any = list != NULL;
	for (l = 0; l < 3; l++)
		if (render_truthy_plain(json_object_get(c->v,
		    render_filesecret_keys[l])))
			any = 1;
	if (!any)
		return 0;
	if ((mounts = json_array()) == NULL)
		return render_oom(c);
	json_array_foreach(list, i, x) {
		snprintf(path, sizeof path, "values.volumes[%zu]", i);
		if ((r = render_volname(c, x, path, &name)) < 0 ||
		    (r = render_str(c, x, "path", path, "", &mpath)) < 0 ||
		    (r = render_str(c, x, "subPath", path, "", &sub)) < 0)
			goto out;
		if (strncmp(name, "init-", 5) == 0)
			continue;
		if ((m = json_pack("{s:s, s:s}", "name", name, "mountPath",
		    mpath)) == NULL || (*sub != '\0' && json_object_set_new(m,
		    "subPath", json_string(sub)) < 0) ||
		    json_array_append_new(mounts, m) < 0)
			goto oom;
	}
	for (l = 0; l < 3; l++) {
		if ((r = render_list(c, render_filesecret_keys[l], &list)) < 0)
			goto out;
		json_array_foreach(list, i, x) {
			snprintf(path, sizeof path, "values.%s[%zu]",
			    render_filesecret_keys[l], i);
			if ((r = render_volname(c, x, path, &name)) < 0 ||
			    (r = render_str(c, x, "path", path, "",
			    &mpath)) < 0 ||
			    (r = render_str(c, x, "subPath", path, "",
			    &sub)) < 0)
				goto out;
			if ((m = json_pack("{s:s, s:s}", "name", name,
			    "mountPath", mpath)) == NULL || (*sub != '\0' &&
			    json_object_set_new(m, "subPath",
			    json_string(sub)) < 0) ||
			    json_object_set_new(m, "readOnly",
			    json_true()) < 0 ||
			    json_array_append_new(mounts, m) < 0)
				goto oom;
		}
	}
	if (json_array_size(mounts) == 0) {
		json_decref(mounts);
		mounts = json_null();
	}
	*out = mounts;
	return 0;
oom:
	r = render_oom(c);
out:
	json_decref(mounts);
	return r;
}

/* Which source a volume has, in OneChart's order of precedence. */
enum render_vsrc { VS_EMPTYDIR, VS_CONFIGMAP, VS_SECRET, VS_FILE, VS_HOST,
    VS_CLAIM, VS_PVC };

static int
render_vsrc(struct render_ctx *c, const json_t *vol, const char *path,
    enum render_vsrc *out)
{
	if (render_truthy_plain(json_object_get(vol, "emptyDir")))
		*out = VS_EMPTYDIR;
	else if (render_truthy_plain(json_object_get(vol, "existingConfigMap")))
		*out = VS_CONFIGMAP;
	else if (render_truthy_plain(json_object_get(vol, "existingSecret")))
		*out = VS_SECRET;
	else if (render_truthy_plain(json_object_get(vol, "fileName")))
		*out = VS_FILE;
	else if (render_truthy_plain(json_object_get(vol, "hostPath")))
		*out = VS_HOST;
	else if (render_truthy_plain(json_object_get(vol, "existingClaim")))
		*out = VS_CLAIM;
	else
		*out = VS_PVC;
	(void)c;
	(void)path;
	return 0;
}

/*
 * The pod's volumes (common.volumesRef), and the files that back them: a
 * PVC for each volume that is none of existingClaim, hostPath, fileName,
 * emptyDir, existingConfigMap (OneChart writes one for an existingSecret
 * volume too, unused), a ConfigMap for each fileName.
 */
static int
render_volumes(struct render_ctx *c, json_t *pod)
{
	const json_t *list, *vol, *hp, *ann;
	const char *name, *s, *size, *sc, *mode, *fname, *hpath, *htype;
	char path[64], pvc[160], file[96], cmname[160], tmp[160];
	json_t *vols = NULL, *v = NULL, *m, *doc, *spec, *names = NULL, *blk;
	enum render_vsrc src;
	int any, l, r;
	size_t i;

	if ((r = render_list(c, "volumes", &list)) < 0)
		return r;
	any = list != NULL;
	for (l = 0; l < 3; l++)
		if (render_truthy_plain(json_object_get(c->v,
		    render_filesecret_keys[l])))
			any = 1;
	if (!any)
		return 0;
	if ((vols = json_array()) == NULL || (names = json_object()) == NULL)
		goto oom;
	json_array_foreach(list, i, vol) {
		snprintf(path, sizeof path, "values.volumes[%zu]", i);
		if ((r = render_volname(c, vol, path, &name)) < 0 ||
		    (r = render_vsrc(c, vol, path, &src)) < 0)
			goto out;
		if (json_object_get(names, name) != NULL) {
			r = ag_err_set(c->err, AG_EINVAL,
			    "%s.name \"%s\" is used twice", path, name);
			goto out;
		}
		if (json_object_set_new(names, name, json_true()) < 0)
			goto oom;
		if ((v = json_pack("{s:s}", "name", name)) == NULL)
			goto oom;
		switch (src) {
		case VS_EMPTYDIR:
			if (json_object_set_new(v, "emptyDir",
			    json_object()) < 0)
				goto oom;
			break;
		case VS_CONFIGMAP:
		case VS_SECRET:
			if ((r = render_str(c, vol, src == VS_SECRET ?
			    "existingSecret" : "existingConfigMap", path, "",
			    &s)) < 0)
				goto out;
			if (json_object_set_new(v, src == VS_SECRET ?
			    "secret" : "configMap", json_pack("{s:s}",
			    src == VS_SECRET ? "secretName" : "name", s)) < 0)
				goto oom;
			break;
		case VS_FILE:
			if ((r = render_str(c, vol, "fileName", path, "",
			    &fname)) < 0 ||
			    (r = render_str(c, vol, "fileContent", path, "",
			    &s)) < 0)
				goto out;
			snprintf(tmp, sizeof tmp, "%s-%s", c->app, name);
			render_robust_name(cmname, sizeof cmname, tmp);
			if (json_object_set_new(v, "configMap",
			    json_pack("{s:s}", "name", cmname)) < 0)
				goto oom;
			if ((r = render_block(c, s, 1, &blk)) < 0)
				goto out;
			doc = json_pack("{s:s, s:s, s:o, s:{s:o}}",
			    "apiVersion", "v1", "kind", "ConfigMap",
			    "metadata", render_meta(c, cmname, 0), "data",
			    fname, blk);
			snprintf(file, sizeof file, "configmap-%s.yaml", name);
			if ((r = render_emit(c, file, doc)) < 0)
				goto out;
			break;
		case VS_HOST:
			if ((r = render_coll(c, vol, "hostPath", path,
			    JSON_OBJECT, &hp)) < 0 ||
			    (r = render_str(c, hp, "path", path, "",
			    &hpath)) < 0 ||
			    (r = render_str(c, hp, "type", path, "",
			    &htype)) < 0)
				goto out;
			if ((m = json_pack("{s:s}", "path", hpath)) == NULL ||
			    (*htype != '\0' && json_object_set_new(m, "type",
			    json_string(htype)) < 0) ||
			    json_object_set_new(v, "hostPath", m) < 0)
				goto oom;
			break;
		case VS_CLAIM:
			if ((r = render_str(c, vol, "existingClaim", path, "",
			    &s)) < 0)
				goto out;
			if (json_object_set_new(v, "persistentVolumeClaim",
			    json_pack("{s:s}", "claimName", s)) < 0)
				goto oom;
			break;
		case VS_PVC:
			snprintf(pvc, sizeof pvc, "%s-%s", c->app, name);
			if (json_object_set_new(v, "persistentVolumeClaim",
			    json_pack("{s:s}", "claimName", pvc)) < 0)
				goto oom;
			break;
		}
		if (json_array_append_new(vols, v) < 0) {
			v = NULL;
			goto oom;
		}
		v = NULL;
		if (src != VS_PVC && src != VS_SECRET)
			continue;
		/* the claim: OneChart writes it for existingSecret too */
		if ((r = render_str(c, vol, "size", path, "1Gi", &size)) < 0 ||
		    (r = render_str(c, vol, "storageClass", path, "",
		    &sc)) < 0 ||
		    (r = render_str(c, vol, "accessMode", path,
		    "ReadWriteOnce", &mode)) < 0 ||
		    (r = render_coll(c, vol, "pvcAnnotations", path,
		    JSON_OBJECT, &ann)) < 0)
			goto out;
		if (*size == '\0')
			size = "1Gi";
		if (*mode == '\0')
			mode = "ReadWriteOnce";
		snprintf(pvc, sizeof pvc, "%s-%s", c->app, name);
		if ((spec = json_pack("{s:[s]}", "accessModes", mode)) == NULL)
			goto oom;
		if ((*sc != '\0' && json_object_set_new(spec,
		    "storageClassName", json_string(sc)) < 0) ||
		    json_object_set_new(spec, "resources", json_pack(
		    "{s:{s:s}}", "requests", "storage", size)) < 0 ||
		    (m = render_meta(c, pvc, 0)) == NULL) {
			json_decref(spec);
			goto oom;
		}
		if (ann != NULL) {
			json_t *a = json_object();

			if (a == NULL || json_object_set_new(m, "annotations",
			    a) < 0 || (r = render_strmap(c, a, ann, path)) < 0) {
				json_decref(m);
				json_decref(spec);
				r = r < 0 ? r : render_oom(c);
				goto out;
			}
		}
		doc = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1",
		    "kind", "PersistentVolumeClaim", "metadata", m, "spec",
		    spec);
		snprintf(file, sizeof file, "pvc-%s.yaml", name);
		if ((r = render_emit(c, file, doc)) < 0)
			goto out;
	}
	for (l = 0; l < 3; l++) {
		if ((r = render_list(c, render_filesecret_keys[l], &list)) < 0)
			goto out;
		json_array_foreach(list, i, vol) {
			snprintf(path, sizeof path, "values.%s[%zu]",
			    render_filesecret_keys[l], i);
			if ((r = render_volname(c, vol, path, &name)) < 0)
				goto out;
			if (l < 2)
				snprintf(pvc, sizeof pvc, "%s-%s", c->app, name);
			else
				snprintf(pvc, sizeof pvc, "%s", name);
			if (json_array_append_new(vols, json_pack(
			    "{s:s, s:{s:s}}", "name", name, "secret",
			    "secretName", pvc)) < 0)
				goto oom;
		}
	}
	if (json_object_set(pod, "volumes", vols) < 0)
		goto oom;
	r = 0;
	goto out;
oom:
	r = render_oom(c);
out:
	json_decref(v);
	json_decref(vols);
	json_decref(names);
	return r;
}

/* Container ports and Service ports: values.ports, or the one "http". */
static int
render_ports(struct render_ctx *c, json_t *ctr, json_t *svcports,
    json_int_t cport, json_int_t svcport, json_int_t nodeport)
{
	const json_t *list, *p;
	const char *name, *proto;
	json_int_t cp, sp, np;
	json_t *cports, *s, *own = NULL;
	char path[64];
	size_t i;
	int r;

	if ((r = render_coll(c, c->v, "ports", "values", JSON_ARRAY,
	    &list)) < 0)
		return r;
	/* the Service's ports are wanted, or the container's, or both */
	if (svcports == NULL && (svcports = own = json_array()) == NULL)
		return render_oom(c);
	if ((cports = json_array()) == NULL) {
		json_decref(own);
		return render_oom(c);
	}
	if (list == NULL) {
		s = json_pack("{s:I, s:s, s:s, s:s}", "port",
		    svcport > 0 ? svcport : cport, "targetPort", "http",
		    "protocol", "TCP", "name", "http");
		if (s != NULL && nodeport > 0)
			json_object_set_new(s, "nodePort",
			    json_integer(nodeport));
		if (json_array_append_new(cports, json_pack(
		    "{s:s, s:I, s:s}", "name", "http", "containerPort", cport,
		    "protocol", "TCP")) < 0 ||
		    json_array_append_new(svcports, s) < 0)
			goto oom;
		goto done;
	}
	if (json_array_size(list) > RENDER_MAX_PORTS) {
		json_decref(cports);
		json_decref(own);
		return ag_err_set(c->err, AG_ETOOBIG,
		    "values.ports has %zu entries, over the limit of %d",
		    json_array_size(list), RENDER_MAX_PORTS);
	}
	json_array_foreach(list, i, p) {
		snprintf(path, sizeof path, "values.ports[%zu]", i);
		if (!json_is_object(p)) {
			r = ag_err_set(c->err, AG_EINVAL, "%s must be a map",
			    path);
			goto out;
		}
		if ((r = render_str(c, p, "name", path, "", &name)) < 0 ||
		    (r = render_int(c, p, "containerPort", path, 0, 1, 65535,
		    &cp)) < 0 ||
		    (r = render_int(c, p, "svcPort", path, 0, 0, 65535,
		    &sp)) < 0 ||
		    (r = render_int(c, p, "nodePort", path, 0, 0, 65535,
		    &np)) < 0 ||
		    (r = render_str(c, p, "protocol", path, "TCP",
		    &proto)) < 0)
			goto out;
		if (*name == '\0' || cp == 0) {
			r = ag_err_set(c->err, AG_EINVAL,
			    "%s needs a name and a containerPort", path);
			goto out;
		}
		if (*proto == '\0')
			proto = "TCP";
		s = json_pack("{s:s, s:I}", "name", name, "port",
		    sp > 0 ? sp : cp);
		if (s != NULL && np > 0)
			json_object_set_new(s, "nodePort", json_integer(np));
		if (s != NULL) {
			json_object_set_new(s, "targetPort", json_string(name));
			json_object_set_new(s, "protocol", json_string(proto));
		}
		if (json_array_append_new(cports, json_pack(
		    "{s:s, s:I, s:s}", "name", name, "containerPort", cp,
		    "protocol", "TCP")) < 0 ||
		    json_array_append_new(svcports, s) < 0)
			goto oom;
	}
done:
	if (ctr != NULL && json_object_set(ctr, "ports", cports) < 0)
		goto oom;
	r = 0;
	goto out;
oom:
	r = render_oom(c);
out:
	json_decref(cports);
	json_decref(own);
	return r;
}

/* resources: as given (toYaml), only requests with ignoreLimits. */
static int
render_resources(struct render_ctx *c, json_t *ctr)
{
	const json_t *res, *req;
	int ignore, nolimits, r;
	json_t *out;

	if ((r = render_coll(c, c->v, "resources", "values", JSON_OBJECT,
	    &res)) < 0)
		return r;
	if ((r = render_bool(c, res, "ignore", "values.resources", 0,
	    &ignore)) < 0 ||
	    (r = render_bool(c, res, "ignoreLimits", "values.resources", 0,
	    &nolimits)) < 0 ||
	    (r = render_coll(c, res, "requests", "values.resources",
	    JSON_OBJECT, &req)) < 0)
		return r;
	if (ignore)
		return 0;
	if (nolimits)
		out = json_pack("{s:O?}", "requests", req);
	else
		out = res != NULL ? json_deep_copy(res) : json_null();
	if (out == NULL || json_object_set_new(ctr, "resources", out) < 0)
		return render_oom(c);
	return 0;
}

/* The pod template's annotations: checksum, podAnnotations, git. */
static int
render_pod_meta(struct render_ctx *c, json_t *tmeta, const char *sha,
    const char *repo)
{
	const json_t *pa, *pl;
	json_t *ann, *labels;
	const char *k;
	json_t *x;
	int r;

	if ((r = render_coll(c, c->v, "podAnnotations", "values",
	    JSON_OBJECT, &pa)) < 0 ||
	    (r = render_coll(c, c->v, "podLabels", "values", JSON_OBJECT,
	    &pl)) < 0)
		return r;
	ann = json_pack("{s:s}", "checksum/config", c->checksum);
	if (ann == NULL ||
	    json_object_set_new(tmeta, "annotations", ann) < 0)
		return render_oom(c);
	if (pa != NULL && (r = render_strmap(c, ann, pa,
	    "values.podAnnotations")) < 0)
		return r;
	if ((*sha != '\0' && json_object_set_new(ann, "gimlet.io/git-sha",
	    json_string(sha)) < 0) ||
	    (*repo != '\0' && json_object_set_new(ann,
	    "gimlet.io/git-repository", json_string(repo)) < 0))
		return render_oom(c);
	if ((labels = json_object()) == NULL ||
	    json_object_set_new(tmeta, "labels", labels) < 0)
		return render_oom(c);
	if (pl != NULL)
		json_object_foreach((json_t *)(uintptr_t)pl, k, x) {
			const char *s;

			if ((r = render_str(c, pl, k, "values.podLabels", "",
			    &s)) < 0)
				return r;
			if (json_object_set_new(labels, k, json_string(s)) < 0)
				return render_oom(c);
		}
	/* the selector's labels are not the user's to change */
	if (json_object_update(labels, c->sel) < 0)
		return render_oom(c);
	return 0;
}

static int
render_affinity(struct render_ctx *c, json_t *pod)
{
	const json_t *aff;
	json_t *a, *cp;
	int spread, r;

	if ((r = render_bool(c, c->v, "spreadAcrossNodes", "values", 0,
	    &spread)) < 0 ||
	    (r = render_coll(c, c->v, "affinity", "values", JSON_OBJECT,
	    &aff)) < 0)
		return r;
	if (!spread && aff == NULL)
		return 0;
	if ((a = json_object()) == NULL)
		return render_oom(c);
	if (spread && json_object_set_new(a, "podAntiAffinity", json_pack(
	    "{s:[{s:{s:[{s:s, s:s, s:[s]}]}, s:s}]}",
	    "requiredDuringSchedulingIgnoredDuringExecution",
	    "labelSelector", "matchExpressions",
	    "key", "app.kubernetes.io/instance", "operator", "In",
	    "values", c->app, "topologyKey", "kubernetes.io/hostname")) < 0)
		goto oom;
	if (aff != NULL) {
		if (spread && json_object_get(aff, "podAntiAffinity") != NULL &&
		    (r = render_warn(c, "values.affinity.podAntiAffinity "
		    "replaces the one of values.spreadAcrossNodes")) < 0) {
			json_decref(a);
			return r;
		}
		cp = json_deep_copy(aff);
		if (cp == NULL || json_object_update(a, cp) < 0) {
			json_decref(cp);
			goto oom;
		}
		json_decref(cp);
	}
	if (json_object_set_new(pod, "affinity", a) < 0)
		return render_oom(c);
	return 0;
oom:
	json_decref(a);
	return render_oom(c);
}

/* "shell -c command", OneChart's way of running a command string. */
static json_t *
render_command(const char *shell, const char *cmd)
{
	return json_pack("[s?, s, s]", *shell != '\0' ? shell : NULL, "-c",
	    cmd);
}

/* values.initContainers (common.podSpec): each with the app's envFrom
 * and the shared-* and init-* volumes. json null when there are none. */
static int
render_init(struct render_ctx *c, json_t *pod, const json_t *envfrom,
    const char *shell)
{
	const json_t *list, *ic, *vols, *vol, *sc;
	const char *name, *img, *tag, *pol, *cmd, *vname, *vpath;
	char path[64], *image = NULL;
	json_t *out, *ctr, *mounts;
	size_t i, j;
	int r;

	if ((r = render_list(c, "initContainers", &list)) < 0 ||
	    (r = render_list(c, "volumes", &vols)) < 0)
		return r;
	if (list == NULL)
		return json_object_set_new(pod, "initContainers",
		    json_null()) < 0 ? render_oom(c) : 0;
	if ((out = json_array()) == NULL ||
	    json_object_set_new(pod, "initContainers", out) < 0)
		return render_oom(c);
	json_array_foreach(list, i, ic) {
		snprintf(path, sizeof path, "values.initContainers[%zu]", i);
		if ((r = render_str(c, ic, "name", path, "", &name)) < 0 ||
		    (r = render_str(c, ic, "image", path, "", &img)) < 0 ||
		    (r = render_str(c, ic, "tag", path, "", &tag)) < 0 ||
		    (r = render_str(c, ic, "imagePullPolicy", path, "",
		    &pol)) < 0 ||
		    (r = render_str(c, ic, "command", path, "", &cmd)) < 0)
			return r;
		sc = json_object_get(ic, "securityContext");
		if (*pol == '\0')
			pol = "IfNotPresent";
		free(image);
		if (asprintf(&image, "%s:%s", img, tag) < 0) {
			image = NULL;
			return render_oom(c);
		}
		if ((ctr = json_pack("{s:s, s:s, s:s}", "name", name, "image",
		    image, "imagePullPolicy", pol)) == NULL ||
		    json_array_append_new(out, ctr) < 0)
			goto oom;
		if ((envfrom != NULL && json_object_set(ctr, "envFrom",
		    (json_t *)(uintptr_t)envfrom) < 0) ||
		    (*cmd != '\0' && json_object_set_new(ctr, "command",
		    render_command(shell, cmd)) < 0) ||
		    (mounts = json_array()) == NULL ||
		    json_object_set_new(ctr, "volumeMounts", mounts) < 0)
			goto oom;
		json_array_foreach(vols, j, vol) {
			if ((r = render_str(c, vol, "name", path, "",
			    &vname)) < 0 ||
			    (r = render_str(c, vol, "path", path, "",
			    &vpath)) < 0)
				goto out;
			if ((strncmp(vname, "shared-", 7) == 0 ||
			    strncmp(vname, "init-", 5) == 0) &&
			    json_array_append_new(mounts, json_pack(
			    "{s:s, s:s}", "mountPath", vpath, "name",
			    vname)) < 0)
				goto oom;
		}
		if (json_array_size(mounts) == 0)
			json_object_set_new(ctr, "volumeMounts", json_null());
		if (render_truthy_plain(sc) && json_object_set(ctr,
		    "securityContext", (json_t *)(uintptr_t)sc) < 0)
			goto oom;
	}
	r = 0;
	goto out;
oom:
	r = render_oom(c);
out:
	free(image);
	return r;
}

/* values.sidecar: a second container with the app's envFrom and mounts. */
static int
render_sidecar(struct render_ctx *c, json_t *ctrs, const json_t *envfrom,
    const json_t *mounts, const json_t *sc)
{
	const json_t *sd;
	const char *repo, *tag, *shell, *cmd;
	char name[80], *image = NULL;
	json_t *ctr;
	int r;

	if ((r = render_coll(c, c->v, "sidecar", "values", JSON_OBJECT,
	    &sd)) < 0)
		return r;
	if (sd == NULL)
		return 0;
	if ((r = render_str(c, sd, "repository", "values.sidecar", "",
	    &repo)) < 0 ||
	    (r = render_str(c, sd, "tag", "values.sidecar", "", &tag)) < 0 ||
	    (r = render_str(c, sd, "shell", "values.sidecar", "",
	    &shell)) < 0 ||
	    (r = render_str(c, sd, "command", "values.sidecar", "",
	    &cmd)) < 0)
		return r;
	snprintf(name, sizeof name, "%s-sidecar", c->app);
	if (asprintf(&image, "%s:%s", repo, tag) < 0)
		return render_oom(c);
	ctr = json_pack("{s:s, s:O?, s:s}", "name", name, "securityContext",
	    sc, "image", image);
	free(image);
	if (ctr == NULL || json_array_append_new(ctrs, ctr) < 0)
		return render_oom(c);
	if ((*cmd != '\0' && json_object_set_new(ctr, "command",
	    render_command(shell, cmd)) < 0) ||
	    (envfrom != NULL && json_object_set(ctr, "envFrom",
	    (json_t *)(uintptr_t)envfrom) < 0) ||
	    (mounts != NULL && json_object_set(ctr, "volumeMounts",
	    (json_t *)(uintptr_t)mounts) < 0))
		return render_oom(c);
	return 0;
}

static int
render_deployment(struct render_ctx *c, json_int_t replicas,
    json_int_t cport)
{
	const char *repo, *tag, *policy, *cmd, *shell, *strategy, *sa;
	const char *sha, *branch, *gitrepo;
	const json_t *img, *ips, *ns, *tol, *x, *over;
	json_t *doc = NULL, *meta, *ann, *spec, *tmeta, *pod, *ctr, *ctrs;
	json_t *envfrom = NULL, *mounts = NULL, *sc;
	char *imgbuf = NULL;
	int r;
	size_t i;

	if ((r = render_coll(c, c->v, "image", "values", JSON_OBJECT,
	    &img)) < 0)
		return r;
	if ((r = render_str(c, img, "repository", "values.image", "",
	    &repo)) < 0 ||
	    (r = render_str(c, img, "tag", "values.image", "", &tag)) < 0 ||
	    (r = render_str(c, img, "pullPolicy", "values.image", "",
	    &policy)) < 0 ||
	    (r = render_str(c, c->v, "command", "values", "", &cmd)) < 0 ||
	    (r = render_str(c, c->v, "shell", "values", "", &shell)) < 0 ||
	    (r = render_str(c, c->v, "strategy", "values", "",
	    &strategy)) < 0 ||
	    (r = render_str(c, c->v, "serviceAccount", "values", "",
	    &sa)) < 0 ||
	    (r = render_str(c, c->v, "gitSha", "values", "", &sha)) < 0 ||
	    (r = render_str(c, c->v, "gitBranch", "values", "",
	    &branch)) < 0 ||
	    (r = render_str(c, c->v, "gitRepository", "values", "",
	    &gitrepo)) < 0 ||
	    (r = render_coll(c, c->v, "imagePullSecrets", "values",
	    JSON_ARRAY, &ips)) < 0 ||
	    (r = render_coll(c, c->v, "nodeSelector", "values", JSON_OBJECT,
	    &ns)) < 0 ||
	    (r = render_coll(c, c->v, "tolerations", "values", JSON_ARRAY,
	    &tol)) < 0)
		return r;
	if (*repo == '\0')
		return ag_err_set(c->err, AG_EINVAL,
		    "values.image.repository is empty");
	/* OneChart 0.74.0 has no appVersion: helm would write "repo:" */
	if (*tag == '\0')
		return ag_err_set(c->err, AG_EINVAL, "values.image.tag is "
		    "empty: OneChart would render the image \"%.100s:\", "
		    "which no container runtime can pull", repo);
	if (asprintf(&imgbuf, "%s:%s", repo, tag) < 0)
		return render_oom(c);

	if ((meta = render_meta(c, c->app, 1)) == NULL)
		goto oom;
	doc = json_pack("{s:s, s:s, s:o}", "apiVersion", "apps/v1", "kind",
	    "Deployment", "metadata", meta);
	if (doc == NULL || (ann = json_pack("{s:s}",
	    "kubectl.kubernetes.io/default-container", c->app)) == NULL ||
	    json_object_set_new(meta, "annotations", ann) < 0)
		goto oom;
	if ((*sha != '\0' && (json_object_set_new(ann, "gimlet.io/git-sha",
	    json_string(sha)) < 0 || json_object_set_new(ann,
	    "v1alpha1.opensca.dev/version.sha", json_string(sha)) < 0)) ||
	    (*branch != '\0' && (json_object_set_new(ann,
	    "gimlet.io/git-branch", json_string(branch)) < 0 ||
	    json_object_set_new(ann, "v1alpha1.opensca.dev/version.branch",
	    json_string(branch)) < 0)))
		goto oom;
	if ((spec = json_pack("{s:I, s:{s:O}}", "replicas", replicas,
	    "selector", "matchLabels", c->sel)) == NULL ||
	    json_object_set_new(doc, "spec", spec) < 0)
		goto oom;
	if (*strategy != '\0') {
		if (json_object_set_new(spec, "strategy", json_pack("{s:s}",
		    "type", strategy)) < 0)
			goto oom;
	} else if (render_truthy_plain(json_object_get(c->v, "volumes")) &&
	    replicas == 1) {
		/* OneChart: one pod holding volumes must go before the next */
		if (json_object_set_new(spec, "strategy", json_pack("{s:s}",
		    "type", "Recreate")) < 0)
			goto oom;
	}
	if ((tmeta = json_object()) == NULL || json_object_set_new(spec,
	    "template", json_pack("{s:o, s:{}}", "metadata", tmeta,
	    "spec")) < 0)
		goto oom;
	pod = json_object_get(json_object_get(spec, "template"), "spec");
	if ((r = render_pod_meta(c, tmeta, sha, gitrepo)) < 0)
		goto out;
	if (ips != NULL) {
		json_t *l = json_array();
		const char *s;

		if (l == NULL || json_object_set_new(pod, "imagePullSecrets",
		    l) < 0)
			goto oom;
		json_array_foreach(ips, i, x) {
			if ((r = render_print(c, x, "values.imagePullSecrets[]",
			    &s)) < 0)
				goto out;
			if (json_array_append_new(l, json_pack("{s:s}", "name",
			    s)) < 0)
				goto oom;
		}
	}
	if (json_object_set_new(pod, "securityContext", (x = json_object_get(
	    c->v, "podSecurityContext")) != NULL ? json_deep_copy(x) :
	    json_null()) < 0)
		goto oom;
	if (*sa != '\0' && json_object_set_new(pod, "serviceAccountName",
	    json_string(sa)) < 0)
		goto oom;
	if ((r = render_envfrom(c, &envfrom)) < 0 ||
	    (r = render_mounts(c, &mounts)) < 0 ||
	    (r = render_init(c, pod, envfrom, shell)) < 0)
		goto out;

	/* common.container, then values.container over it, then the refs */
	sc = json_object_get(c->v, "securityContext");
	ctr = json_pack("{s:s, s:O?, s:s, s:s}", "name", c->app,
	    "securityContext", sc, "image", imgbuf, "imagePullPolicy",
	    policy);
	if (ctr == NULL || json_object_set_new(pod, "containers",
	    (ctrs = json_pack("[o]", ctr))) < 0)
		goto oom;
	if (*cmd != '\0' && json_object_set_new(ctr, "command",
	    render_command(shell, cmd)) < 0)
		goto oom;
	if ((r = render_ports(c, ctr, NULL, cport, 0, 0)) < 0 ||
	    (r = render_probe(c, ctr, "probe", "readinessProbe", cport)) < 0 ||
	    (r = render_probe(c, ctr, "livenessProbe", "livenessProbe",
	    cport)) < 0 ||
	    (r = render_resources(c, ctr)) < 0)
		goto out;
	if ((r = render_coll(c, c->v, "container", "values", JSON_OBJECT,
	    &over)) < 0)
		goto out;
	if (over != NULL && render_overwrite(ctr, over) < 0)
		goto oom;
	if ((envfrom != NULL && json_object_set(ctr, "envFrom", envfrom) < 0) ||
	    (mounts != NULL && json_object_set(ctr, "volumeMounts",
	    mounts) < 0))
		goto oom;
	if ((r = render_sidecar(c, ctrs, envfrom, mounts, sc)) < 0 ||
	    (r = render_volumes(c, pod)) < 0)
		goto out;
	if (ns != NULL && json_object_set_new(pod, "nodeSelector",
	    json_deep_copy(ns)) < 0)
		goto oom;
	if ((r = render_affinity(c, pod)) < 0)
		goto out;
	if (tol != NULL && json_object_set_new(pod, "tolerations",
	    json_deep_copy(tol)) < 0)
		goto oom;
	if ((r = render_coll(c, c->v, "podSpec", "values", JSON_OBJECT,
	    &over)) < 0)
		goto out;
	if (over != NULL && render_overwrite(pod, over) < 0)
		goto oom;
	r = render_add_file(c, "deployment.yaml", doc, 0);
	goto out;
oom:
	r = render_oom(c);
out:
	free(imgbuf);
	json_decref(envfrom);
	json_decref(mounts);
	json_decref(doc);
	return r;
}

/* OneChart's Service annotations: git and v1alpha1.opensca.dev ones. */
static int
render_service_ann(struct render_ctx *c, json_t *meta)
{
	static const char *const opensca[] = { "serviceName", "name",
	    "serviceDescription", "description", "ownerName", "owner.name",
	    "ownerIm", "owner.im", "documentation", "documentation", "logs",
	    "logs", "metrics", "metrics", "issues", "issues", "traces",
	    "traces", NULL };
	const char *repo, *sha, *branch, *s, *slash;
	const json_t *sa;
	char key[96], owner[256];
	json_t *ann;
	int on, r, i;

	if ((r = render_str(c, c->v, "gitSha", "values", "", &sha)) < 0 ||
	    (r = render_str(c, c->v, "gitRepository", "values", "",
	    &repo)) < 0 ||
	    (r = render_str(c, c->v, "gitBranch", "values", "",
	    &branch)) < 0 ||
	    (r = render_coll(c, c->v, "serviceAnnotations", "values",
	    JSON_OBJECT, &sa)) < 0)
		return r;
	/* the keys OneChart's condition for writing annotations looks at */
	on = *repo != '\0' || *sha != '\0' || sa != NULL;
	for (i = 0; i < 8; i += 2)
		if (render_truthy_plain(json_object_get(c->v, opensca[i])))
			on = 1;
	if (!on)
		return 0;
	if ((ann = json_object()) == NULL ||
	    json_object_set_new(meta, "annotations", ann) < 0)
		return render_oom(c);
	if (*repo != '\0') {
		slash = strchr(repo, '/');
		snprintf(owner, sizeof owner, "%.*s", slash ? (int)(slash -
		    repo) : (int)strlen(repo), repo);
		if (json_object_set_new(ann, "gimlet.io/git-repository",
		    json_string(repo)) < 0 || json_object_set_new(ann,
		    "v1alpha1.opensca.dev/vcs.owner", json_string(owner)) < 0 ||
		    (slash != NULL && json_object_set_new(ann,
		    "v1alpha1.opensca.dev/vcs.name", json_stringn(slash + 1,
		    strcspn(slash + 1, "/"))) < 0))
			return render_oom(c);
	}
	if ((*sha != '\0' && (json_object_set_new(ann, "gimlet.io/git-sha",
	    json_string(sha)) < 0 || json_object_set_new(ann,
	    "v1alpha1.opensca.dev/version.sha", json_string(sha)) < 0)) ||
	    (*branch != '\0' && (json_object_set_new(ann,
	    "gimlet.io/git-branch", json_string(branch)) < 0 ||
	    json_object_set_new(ann, "v1alpha1.opensca.dev/version.branch",
	    json_string(branch)) < 0)))
		return render_oom(c);
	for (i = 0; opensca[i] != NULL; i += 2) {
		if ((r = render_str(c, c->v, opensca[i], "values", "",
		    &s)) < 0)
			return r;
		snprintf(key, sizeof key, "v1alpha1.opensca.dev/%s",
		    opensca[i + 1]);
		if (*s != '\0' && json_object_set_new(ann, key,
		    json_string(s)) < 0)
			return render_oom(c);
	}
	if (sa != NULL && (r = render_strmap(c, ann, sa,
	    "values.serviceAnnotations")) < 0)
		return r;
	return 0;
}

static int
render_service(struct render_ctx *c, json_int_t cport)
{
	json_int_t svcport, nodeport;
	json_t *doc, *meta, *ports = NULL;
	int nodeport_on, lb_on, r;

	if ((r = render_int(c, c->v, "svcPort", "values", 0, 0, 65535,
	    &svcport)) < 0 ||
	    (r = render_int(c, c->v, "nodePort", "values", 0, 0, 65535,
	    &nodeport)) < 0 ||
	    (r = render_bool(c, c->v, "nodePortEnabled", "values", 0,
	    &nodeport_on)) < 0 ||
	    (r = render_bool(c, c->v, "loadbalancerEnabled", "values", 0,
	    &lb_on)) < 0)
		return r;
	/*
	 * OneChart writes sessionAffinityConfig without sessionAffinity:
	 * ClientIP, and externalTrafficPolicy even on a ClusterIP Service:
	 * the API server refuses both.
	 */
	if (render_truthy_plain(json_object_get(c->v, "stickySessions")))
		return ag_err_set(c->err, AG_EINVAL, "values.stickySessions: "
		    "OneChart 0.74.0 renders a Service that the API server "
		    "refuses (sessionAffinityConfig without sessionAffinity: "
		    "ClientIP%s); set podSpec or an extraDeploy Service "
		    "instead", nodeport_on || lb_on ? "" :
		    ", externalTrafficPolicy on a ClusterIP Service");
	if ((meta = render_meta(c, c->app, 1)) == NULL)
		return render_oom(c);
	doc = json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind",
	    "Service", "metadata", meta);
	if (doc == NULL || (ports = json_array()) == NULL)
		goto oom;
	if ((r = render_service_ann(c, meta)) < 0 ||
	    (r = render_ports(c, NULL, ports, cport, svcport, nodeport)) < 0)
		goto out;
	if (json_object_set_new(doc, "spec", json_pack("{s:s, s:O, s:O}",
	    "type", nodeport_on ? "NodePort" : lb_on ? "LoadBalancer" :
	    "ClusterIP", "ports", ports, "selector", c->sel)) < 0)
		goto oom;
	r = render_add_file(c, "service.yaml", doc, 0);
	goto out;
oom:
	r = render_oom(c);
out:
	json_decref(ports);
	json_decref(doc);
	return r;
}

/* The user and password of an ingress's nginxBasicAuth, checked. */
static int
render_basic_auth(struct render_ctx *c, const json_t *ing, const char *path,
    const char **user, const char **pass)
{
	const json_t *ba;
	char p[96];
	int r;

	*user = *pass = NULL;
	snprintf(p, sizeof p, "%s.nginxBasicAuth", path);
	if ((r = render_coll(c, ing, "nginxBasicAuth", path, JSON_OBJECT,
	    &ba)) < 0 || ba == NULL)
		return r;
	if ((r = render_str(c, ba, "user", p, "", user)) < 0 ||
	    (r = render_str(c, ba, "password", p, "", pass)) < 0)
		return r;
	if (**user == '\0' || strchr(*user, ':') != NULL)
		return ag_err_set(c->err, AG_EINVAL, "%s.user is required and "
		    "may not contain ':'", p);
	if (**pass == '\0')
		return ag_err_set(c->err, AG_EINVAL, "%s.password is required",
		    p);
	if (strlen(*pass) > 72)
		return ag_err_set(c->err, AG_EINVAL, "%s.password is over 72 "
		    "bytes, the most bcrypt reads", p);
	return 0;
}

/* One Ingress of values.ingress, or of values.ingresses (long names). */
static int
render_one_ingress(struct render_ctx *c, json_t *docs, const json_t *ing,
    const char *path, int longname, json_int_t port)
{
	const char *host, *ipath, *ptype, *cls, *secret, *sha, *repo;
	const char *user, *pass;
	const json_t *ann, *paths, *p;
	char rname[160], tls[192], dns[64], ppath[96], authn[192];
	json_t *doc = NULL, *meta, *a, *spec, *hp, *plist, *rule, *pj;
	int tls_on, r;
	size_t i;

	if ((r = render_str(c, ing, "host", path, "", &host)) < 0 ||
	    (r = render_str(c, ing, "path", path, "", &ipath)) < 0 ||
	    (r = render_str(c, ing, "pathType", path, "", &ptype)) < 0 ||
	    (r = render_str(c, ing, "ingressClassName", path, "",
	    &cls)) < 0 ||
	    (r = render_str(c, ing, "secretName", path, "", &secret)) < 0 ||
	    (r = render_bool(c, ing, "tlsEnabled", path, 0, &tls_on)) < 0 ||
	    (r = render_coll(c, ing, "annotations", path, JSON_OBJECT,
	    &ann)) < 0 ||
	    (r = render_coll(c, ing, "paths", path, JSON_ARRAY, &paths)) < 0 ||
	    (r = render_basic_auth(c, ing, path, &user, &pass)) < 0 ||
	    (r = render_str(c, c->v, "gitSha", "values", "", &sha)) < 0 ||
	    (r = render_str(c, c->v, "gitRepository", "values", "",
	    &repo)) < 0)
		return r;
	if (*host != '\0' && !render_is_host(host))
		return ag_err_set(c->err, AG_EINVAL, "%s.host \"%.100s\" is not "
		    "a DNS name (lowercase labels of a-z, 0-9 and '-', "
		    "optionally starting with \"*.\"): the API server refuses "
		    "it", path, host);
	if (*ipath == '\0')
		ipath = "/";
	if (*ptype == '\0')
		ptype = "Prefix";
	if (longname) {
		if (*host == '\0')
			return ag_err_set(c->err, AG_EINVAL,
			    "%s.host is required", path);
		snprintf(rname, sizeof rname, "%s-%s", c->app,
		    render_robust_name(dns, sizeof dns, host));
	} else
		snprintf(rname, sizeof rname, "%s", c->app);
	if ((meta = render_meta(c, rname, 1)) == NULL)
		return render_oom(c);
	doc = json_pack("{s:s, s:s, s:o}", "apiVersion", "networking.k8s.io/v1",
	    "kind", "Ingress", "metadata", meta);
	if (doc == NULL || (a = json_object()) == NULL ||
	    json_object_set_new(meta, "annotations", a) < 0)
		goto oom;
	if (user != NULL) {
		snprintf(authn, sizeof authn, "%s-basic-auth", rname);
		if (json_object_set_new(a, "nginx.ingress.kubernetes.io/"
		    "auth-type", json_string("basic")) < 0 ||
		    json_object_set_new(a, "nginx.ingress.kubernetes.io/"
		    "auth-secret", json_string(authn)) < 0 ||
		    json_object_set_new(a, "nginx.ingress.kubernetes.io/"
		    "auth-realm", json_string("Authentication Required - "
		    "basic")) < 0)
			goto oom;
		/* OneChart writes the Secret for values.ingress only */
		if (longname && (r = render_warn(c, "%s.nginxBasicAuth: "
		    "OneChart writes no Secret %s for it; the Ingress refers "
		    "to one you must create", path, authn)) < 0)
			goto out;
	}
	if (ann != NULL && (r = render_strmap(c, a, ann, path)) < 0)
		goto out;
	if ((*sha != '\0' && json_object_set_new(a, "gimlet.io/git-sha",
	    json_string(sha)) < 0) ||
	    (*repo != '\0' && json_object_set_new(a,
	    "gimlet.io/git-repository", json_string(repo)) < 0))
		goto oom;
	if (json_object_size(a) == 0)
		json_object_del(meta, "annotations");
	if ((spec = json_object()) == NULL ||
	    json_object_set_new(doc, "spec", spec) < 0)
		goto oom;
	if (*cls != '\0' && json_object_set_new(spec, "ingressClassName",
	    json_string(cls)) < 0)
		goto oom;
	if (tls_on) {
		snprintf(tls, sizeof tls, "tls-%s", rname);
		hp = json_object();
		if (hp == NULL || (*host != '\0' && json_object_set_new(hp,
		    "hosts", json_pack("[s]", host)) < 0) ||
		    json_object_set_new(hp, "secretName", json_string(
		    *secret != '\0' ? secret : tls)) < 0 ||
		    json_object_set_new(spec, "tls", json_pack("[o]", hp)) < 0)
			goto oom;
	}
	if ((plist = json_array()) == NULL)
		goto oom;
	rule = json_object();
	if (rule == NULL || (*host != '\0' && json_object_set_new(rule,
	    "host", json_string(host)) < 0) ||
	    json_object_set_new(rule, "http", json_pack("{s:o}", "paths",
	    plist)) < 0 ||
	    json_object_set_new(spec, "rules", json_pack("[o]", rule)) < 0)
		goto oom;
	for (i = 0; i < (paths != NULL ? json_array_size(paths) : 1); i++) {
		const char *pp = ipath, *pt = ptype;

		if (paths != NULL) {
			p = json_array_get(paths, i);
			snprintf(ppath, sizeof ppath, "%s.paths[%zu]", path, i);
			if (!json_is_object(p)) {
				r = ag_err_set(c->err, AG_EINVAL,
				    "%s must be a map", ppath);
				goto out;
			}
			if ((r = render_str(c, p, "path", ppath, "",
			    &pp)) < 0 ||
			    (r = render_str(c, p, "pathType", ppath, "",
			    &pt)) < 0)
				goto out;
			if (*pt == '\0')
				pt = "Prefix";
		}
		pj = json_pack("{s:s, s:{s:{s:s, s:{s:I}}}}", "pathType", pt,
		    "backend", "service", "name", c->app, "port", "number",
		    port);
		/* helm: a path left out stays out (quote of nothing) */
		if (pj == NULL || (*pp != '\0' && json_object_set_new(pj,
		    "path", json_string(pp)) < 0) ||
		    json_array_append_new(plist, pj) < 0)
			goto oom;
	}
	if (json_array_append(docs, doc) < 0)
		goto oom;
	r = 0;
	goto out;
oom:
	r = render_oom(c);
out:
	json_decref(doc);
	return r;
}

static int
render_ingress(struct render_ctx *c, json_int_t cport)
{
	const json_t *ing, *list, *x;
	json_int_t svcport;
	json_t *docs;
	char path[64];
	size_t i;
	int r;

	if ((r = render_coll(c, c->v, "ingress", "values", JSON_OBJECT,
	    &ing)) < 0 ||
	    (r = render_coll(c, c->v, "ingresses", "values", JSON_ARRAY,
	    &list)) < 0 ||
	    (r = render_int(c, c->v, "svcPort", "values", 0, 0, 65535,
	    &svcport)) < 0)
		return r;
	if (ing == NULL && list == NULL)
		return 0;
	if (list != NULL && json_array_size(list) > RENDER_MAX_INGRESSES)
		return ag_err_set(c->err, AG_ETOOBIG,
		    "values.ingresses has %zu entries, over the limit of %d",
		    json_array_size(list), RENDER_MAX_INGRESSES);
	if ((docs = json_array()) == NULL)
		return render_oom(c);
	if (ing != NULL && (r = render_one_ingress(c, docs, ing,
	    "values.ingress", 0, svcport > 0 ? svcport : cport)) < 0)
		goto out;
	json_array_foreach(list, i, x) {
		snprintf(path, sizeof path, "values.ingresses[%zu]", i);
		if (!json_is_object(x)) {
			r = ag_err_set(c->err, AG_EINVAL, "%s must be a map",
			    path);
			goto out;
		}
		if ((r = render_one_ingress(c, docs, x, path, 1,
		    svcport > 0 ? svcport : cport)) < 0)
			goto out;
	}
	if (json_array_size(docs) == 1)
		r = render_add_file(c, "ingress.yaml", json_array_get(docs, 0),
		    0);
	else
		r = render_add_file(c, "ingress.yaml", docs, 1);
out:
	json_decref(docs);
	return r;
}

/*
 * The Secret behind values.ingress.nginxBasicAuth: "user:bcrypt" as
 * htpasswd writes it. helm's salt is random; ours is derived from the
 * namespace, the app, the user and the password, so the same manifest
 * gives the same bytes and the commit does not change on every deploy.
 */
static int
render_basic_auth_secret(struct render_ctx *c)
{
	const json_t *ing;
	const char *user, *pass;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hash[RENDER_BCRYPT_LEN + 1], *line = NULL, name[96];
	EVP_MD_CTX *x;
	json_t *auth = NULL;
	int r;

	if ((r = render_coll(c, c->v, "ingress", "values", JSON_OBJECT,
	    &ing)) < 0 || ing == NULL ||
	    (r = render_basic_auth(c, ing, "values.ingress", &user,
	    &pass)) < 0 || user == NULL)
		return r;
	if ((x = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(x, "auger basic-auth salt", 22) != 1 ||
	    EVP_DigestUpdate(x, c->ns, strlen(c->ns) + 1) != 1 ||
	    EVP_DigestUpdate(x, c->app, strlen(c->app) + 1) != 1 ||
	    EVP_DigestUpdate(x, user, strlen(user) + 1) != 1 ||
	    EVP_DigestUpdate(x, pass, strlen(pass)) != 1 ||
	    EVP_DigestFinal_ex(x, md, &mdlen) != 1) {
		EVP_MD_CTX_free(x);
		return ag_err_set(c->err, AG_EINTERNAL, "render: sha256 failed");
	}
	EVP_MD_CTX_free(x);
	if (render_bcrypt(hash, pass, md, RENDER_BCRYPT_COST) < 0)
		return ag_err_set(c->err, AG_EINTERNAL, "render: bcrypt failed");
	if (asprintf(&line, "%s:%s", user, hash) < 0)
		return render_oom(c);
	r = render_b64(c, line, &auth);
	free(line);
	if (r < 0)
		return r;
	snprintf(name, sizeof name, "%s-basic-auth", c->app);
	return render_emit(c, "secret-basic-auth.yaml", json_pack(
	    "{s:s, s:s, s:o, s:{s:o}}", "apiVersion", "v1", "kind", "Secret",
	    "metadata", render_meta(c, name, 0), "data", "auth", auth));
}

/* values.sealedSecrets: one SealedSecret named after the app. */
static int
render_sealed(struct render_ctx *c)
{
	const json_t *ss;
	const char **keys = NULL, *k, *s;
	json_t *enc, *doc, *x;
	size_t n = 0, i;
	int r;

	if ((r = render_coll(c, c->v, "sealedSecrets", "values", JSON_OBJECT,
	    &ss)) < 0 || ss == NULL)
		return r;
	if (json_object_size(ss) > RENDER_MAX_VARS)
		return ag_err_set(c->err, AG_ETOOBIG, "values.sealedSecrets "
		    "has %zu entries, over the limit of %d",
		    json_object_size(ss), RENDER_MAX_VARS);
	if ((keys = calloc(json_object_size(ss), sizeof *keys)) == NULL ||
	    (enc = json_object()) == NULL) {
		free(keys);
		return render_oom(c);
	}
	json_object_foreach((json_t *)(uintptr_t)ss, k, x)
		keys[n++] = k;
	render_sort(keys, n);
	for (i = 0; i < n; i++) {
		if ((r = render_print(c, json_object_get(ss, keys[i]),
		    "values.sealedSecrets.*", &s)) < 0) {
			json_decref(enc);
			free(keys);
			return r;
		}
		json_object_set_new(enc, keys[i], json_string(s));
	}
	free(keys);
	doc = json_pack("{s:s, s:s, s:o, s:{s:o, s:{s:{s:s, s:s}}}}",
	    "apiVersion", "bitnami.com/v1alpha1", "kind", "SealedSecret",
	    "metadata", render_meta(c, c->app, 1), "spec", "encryptedData",
	    enc, "template", "metadata", "name", c->app, "namespace", c->ns);
	if (doc != NULL && json_object_set_new(json_object_get(doc,
	    "metadata"), "annotations", json_pack("{s:s}",
	    "sealedsecrets.bitnami.com/cluster-wide", "true")) < 0) {
		json_decref(doc);
		return render_oom(c);
	}
	return render_emit(c, "sealedsecret.yaml", doc);
}

/* values.sealedFileSecrets and values.fileSecrets: one object each. */
static int
render_file_secrets(struct render_ctx *c)
{
	const json_t *list, *item, *files, *f, *sec;
	const char *name, *fname, *src, **keys = NULL, *k;
	char path[96], fpath[160], full[160], file[128];
	json_t *data = NULL, *doc, *v, *x;
	size_t i, j, n;
	int l, r;

	for (l = 0; l < 2; l++) {
		if ((r = render_list(c, render_filesecret_keys[l], &list)) < 0)
			return r;
		json_array_foreach(list, i, item) {
			snprintf(path, sizeof path, "values.%s[%zu]",
			    render_filesecret_keys[l], i);
			if ((r = render_volname(c, item, path, &name)) < 0)
				goto out;
			snprintf(full, sizeof full, "%s-%s", c->app, name);
			if ((data = json_object()) == NULL)
				goto oom;
			if (l == 0) {
				if ((r = render_coll(c, item, "filesToMount",
				    path, JSON_ARRAY, &files)) < 0)
					goto out;
				json_array_foreach(files, j, f) {
					snprintf(fpath, sizeof fpath,
					    "%s.filesToMount[%zu]", path, j);
					if (!json_is_object(f)) {
						r = ag_err_set(c->err,
						    AG_EINVAL, "%s must be a "
						    "map", fpath);
						goto out;
					}
					if ((r = render_str(c, f, "name", fpath,
					    "", &fname)) < 0 ||
					    (r = render_str(c, f, "source",
					    fpath, "", &src)) < 0)
						goto out;
					if (*fname == '\0' || *src == '\0') {
						r = ag_err_set(c->err,
						    AG_EINVAL, "%s needs a name "
						    "and a source (the sealed "
						    "content; sourcePath is not "
						    "read)", fpath);
						goto out;
					}
					if ((r = render_block(c, src, 0,
					    &v)) < 0)
						goto out;
					json_object_set_new(data, fname, v);
				}
				doc = json_pack("{s:s, s:s, s:o, s:{s:O, "
				    "s:{s:{s:s, s:s}}}}", "apiVersion",
				    "bitnami.com/v1alpha1", "kind",
				    "SealedSecret", "metadata",
				    render_meta(c, full, 0), "spec",
				    "encryptedData", data, "template",
				    "metadata", "name", full, "namespace",
				    c->ns);
				if (doc != NULL && json_object_set_new(
				    json_object_get(doc, "metadata"),
				    "annotations", json_pack("{s:s}",
				    "sealedsecrets.bitnami.com/cluster-wide",
				    "true")) < 0) {
					json_decref(doc);
					goto oom;
				}
				snprintf(file, sizeof file,
				    "sealedsecret-%s.yaml", name);
			} else {
				if ((r = render_coll(c, item, "secrets", path,
				    JSON_OBJECT, &sec)) < 0)
					goto out;
				n = 0;
				free(keys);
				keys = calloc(json_object_size(sec) + 1,
				    sizeof *keys);
				if (keys == NULL)
					goto oom;
				json_object_foreach((json_t *)(uintptr_t)sec,
				    k, x)
					keys[n++] = k;
				render_sort(keys, n);
				for (j = 0; j < n; j++) {
					x = json_object_get(sec, keys[j]);
					if (!json_is_string(x)) {
						r = ag_err_set(c->err,
						    AG_EINVAL, "%s.secrets.%s "
						    "must be a string", path,
						    keys[j]);
						goto out;
					}
					if ((r = render_b64(c,
					    json_string_value(x), &v)) < 0)
						goto out;
					json_object_set_new(data, keys[j], v);
				}
				doc = json_pack("{s:s, s:s, s:s, s:o, s:O}",
				    "kind", "Secret", "apiVersion", "v1",
				    "type", "Opaque", "metadata",
				    render_meta(c, full, 0), "data", data);
				snprintf(file, sizeof file, "secret-%s.yaml",
				    name);
			}
			json_decref(data);
			data = NULL;
			if ((r = render_emit(c, file, doc)) < 0)
				goto out;
		}
	}
	r = 0;
	goto out;
oom:
	r = render_oom(c);
out:
	free(keys);
	json_decref(data);
	return r;
}

static int
render_pdb(struct render_ctx *c, json_int_t replicas)
{
	int on, r;

	if ((r = render_bool(c, c->v, "podDisruptionBudgetEnabled", "values",
	    0, &on)) < 0)
		return r;
	if (!on || replicas <= 1)
		return 0;
	return render_emit(c, "pdb.yaml", json_pack(
	    "{s:s, s:s, s:o, s:{s:i, s:{s:O}}}", "apiVersion", "policy/v1",
	    "kind", "PodDisruptionBudget", "metadata",
	    render_meta(c, c->app, 0), "spec", "minAvailable", 1, "selector",
	    "matchLabels", c->sel));
}

/* values.monitor: a ServiceMonitor (Prometheus operator). */
static int
render_monitor(struct render_ctx *c)
{
	const json_t *mon, *ports;
	const char *mpath, *port, *scheme, *timeout, *sha, *repo;
	json_t *doc, *ep, *meta, *ann;
	int on, r;

	if ((r = render_coll(c, c->v, "monitor", "values", JSON_OBJECT,
	    &mon)) < 0 || mon == NULL ||
	    (r = render_bool(c, mon, "enabled", "values.monitor", 0,
	    &on)) < 0 || !on)
		return r;
	if ((r = render_str(c, mon, "path", "values.monitor", "",
	    &mpath)) < 0 ||
	    (r = render_str(c, mon, "portName", "values.monitor", "",
	    &port)) < 0 ||
	    (r = render_str(c, mon, "scheme", "values.monitor", "",
	    &scheme)) < 0 ||
	    (r = render_str(c, mon, "scrapeTimeout", "values.monitor", "",
	    &timeout)) < 0 ||
	    (r = render_coll(c, c->v, "ports", "values", JSON_ARRAY,
	    &ports)) < 0 ||
	    (r = render_str(c, c->v, "gitSha", "values", "", &sha)) < 0 ||
	    (r = render_str(c, c->v, "gitRepository", "values", "",
	    &repo)) < 0)
		return r;
	if (*port == '\0' && ports != NULL && (r = render_str(c,
	    json_array_get(ports, 0), "name", "values.ports[0]", "",
	    &port)) < 0)
		return r;
	ep = json_pack("{s:s, s:{s:[s]}, s:s, s:s, s:s}", "interval", "60s",
	    "params", "format", "prometheus", "path", *mpath ? mpath :
	    "/metrics", "port", *port ? port : "http", "scheme",
	    *scheme ? scheme : "http");
	if (ep != NULL && *timeout != '\0')
		json_object_set_new(ep, "scrapeTimeout", json_string(timeout));
	meta = render_meta(c, c->app, 1);
	if (meta != NULL && (*sha != '\0' || *repo != '\0')) {
		ann = json_object();
		json_object_set_new(meta, "annotations", ann);
		if (*repo != '\0')
			json_object_set_new(ann, "gimlet.io/git-repository",
			    json_string(repo));
		if (*sha != '\0')
			json_object_set_new(ann, "gimlet.io/git-sha",
			    json_string(sha));
	}
	doc = json_pack("{s:s, s:s, s:o, s:{s:[o], s:{s:[s]}, s:{s:O}}}",
	    "apiVersion", "monitoring.coreos.com/v1", "kind", "ServiceMonitor",
	    "metadata", meta, "spec", "endpoints", ep, "namespaceSelector",
	    "matchNames", c->ns, "selector", "matchLabels", c->sel);
	return render_emit(c, "servicemonitor.yaml", doc);
}

/* values.prometheusRules: one PrometheusRule, group kubernetes-apps. */
static int
render_rules(struct render_ctx *c)
{
	static const char *const fields[] = { "name", "message", "runBookURL",
	    "expression", "for" };
	const json_t *list, *rule;
	const char *s[5];
	char path[64];
	json_t *rules, *doc, *rj;
	size_t i;
	int f, r;

	if ((r = render_list(c, "prometheusRules", &list)) < 0 || list == NULL)
		return r;
	if ((rules = json_array()) == NULL)
		return render_oom(c);
	json_array_foreach(list, i, rule) {
		snprintf(path, sizeof path, "values.prometheusRules[%zu]", i);
		for (f = 0; f < 5; f++)
			if ((r = render_str(c, rule, fields[f], path, "",
			    &s[f])) < 0) {
				json_decref(rules);
				return r;
			}
		/* quote of a missing value is nothing, so the key is null */
		for (f = 1; f < 5; f++)
			if (json_object_get(rule, fields[f]) == NULL ||
			    json_is_null(json_object_get(rule, fields[f])))
				s[f] = NULL;
		rj = json_pack("{s:s?, s:{s:s?, s:s?}, s:s?, s:s?, s:O?}",
		    "alert", *s[0] ? s[0] : NULL, "annotations", "message",
		    s[1], "runbook_url", s[2], "expr", s[3], "for", s[4],
		    "labels", json_object_get(rule, "labels"));
		if (rj == NULL || json_array_append_new(rules, rj) < 0) {
			json_decref(rules);
			return render_oom(c);
		}
	}
	doc = json_pack("{s:s, s:s, s:o, s:{s:[{s:s, s:o}]}}", "apiVersion",
	    "monitoring.coreos.com/v1", "kind", "PrometheusRule", "metadata",
	    render_meta(c, c->app, 1), "spec", "groups", "name",
	    "kubernetes-apps", "rules", rules);
	return render_emit(c, "prometheusrule.yaml", doc);
}

static int	render_raw_text(struct render_ctx *, const char *, size_t,
		    const char *, const char *);

/* values.extraDeploy: more manifests, as a string of YAML documents. */
static int
render_extra(struct render_ctx *c)
{
	const json_t *x = json_object_get(c->v, "extraDeploy");

	if (!render_truthy_plain(x))
		return 0;
	if (!json_is_string(x))
		return ag_err_set(c->err, AG_EINVAL, "values.extraDeploy must "
		    "be a string of YAML documents");
	return render_raw_text(c, json_string_value(x), json_string_length(x),
	    "values.extraDeploy", "extradeploy.yaml");
}

/* OneChart, from the merged values. */
static int
render_onechart(struct render_ctx *c)
{
	json_int_t replicas, cport;
	const char *over;
	char label[64];
	int r;

	if ((r = render_schema_check(c->v, c->err)) < 0)
		return r;
	if ((r = render_int(c, c->v, "replicas", "values", 1, 0, 10000,
	    &replicas)) < 0 ||
	    (r = render_int(c, c->v, "containerPort", "values", 80, 1, 65535,
	    &cport)) < 0 ||
	    (r = render_str(c, c->v, "nameOverride", "values", "",
	    &over)) < 0)
		return r;
	/* helm-chart.name: nameOverride or the chart's name, trunc 63 */
	snprintf(label, sizeof label, "%s", *over != '\0' ? over : "onechart");
	if (strlen(label) > 0 && label[strlen(label) - 1] == '-')
		label[strlen(label) - 1] = '\0';
	c->sel = json_pack("{s:s, s:s}", "app.kubernetes.io/name", label,
	    "app.kubernetes.io/instance", c->app);
	c->labels = json_pack("{s:s, s:s, s:s}", "app.kubernetes.io/name",
	    label, "app.kubernetes.io/instance", c->app,
	    "app.kubernetes.io/managed-by", "auger");
	if (c->sel == NULL || c->labels == NULL)
		return render_oom(c);
	if ((r = render_basic_auth_secret(c)) < 0 ||
	    (r = render_configmap(c)) < 0 ||
	    (r = render_deployment(c, replicas, cport)) < 0 ||
	    (r = render_extra(c)) < 0 ||
	    (r = render_file_secrets(c)) < 0 ||
	    (r = render_ingress(c, cport)) < 0 ||
	    (r = render_pdb(c, replicas)) < 0 ||
	    (r = render_rules(c)) < 0 ||
	    (r = render_sealed(c)) < 0 ||
	    (r = render_service(c, cport)) < 0 ||
	    (r = render_monitor(c)) < 0)
		return r;
	return 0;
}

/* YAML documents as given (raw manifests, extraDeploy) into file: each
 * a map, namespaced unless cluster-scoped. */
static int
render_raw_text(struct render_ctx *c, const char *text, size_t len,
    const char *what, const char *file)
{
	const char *kind;
	json_t *docs = NULL, *doc, *meta;
	size_t i;
	int r;

	if ((r = ag_yaml_load_all(&docs, text, len, what, c->err)) < 0)
		return r;
	json_array_foreach(docs, i, doc) {
		if (!json_is_object(doc)) {
			r = ag_err_set(c->err, AG_EINVAL,
			    "%s: document %zu is not a map", what, i + 1);
			goto out;
		}
		kind = json_string_value(json_object_get(doc, "kind"));
		if (kind != NULL && validate_is_cluster_kind(kind))
			continue;
		meta = json_object_get(doc, "metadata");
		if (meta == NULL) {
			if ((meta = json_object()) == NULL ||
			    json_object_set_new(doc, "metadata", meta) < 0)
				goto oom;
		}
		if (!json_is_object(meta)) {
			r = ag_err_set(c->err, AG_EINVAL,
			    "%s: metadata of document %zu is not a map", what,
			    i + 1);
			goto out;
		}
		if (json_object_get(meta, "namespace") == NULL &&
		    json_object_set_new(meta, "namespace",
		    json_string(c->ns)) < 0)
			goto oom;
	}
	r = 0;
	if (json_array_size(docs) > 0)
		r = render_add_file(c, file, docs, 1);
	goto out;
oom:
	r = render_oom(c);
out:
	json_decref(docs);
	return r;
}

/* Raw manifests: the manifest's "manifests" string. */
static int
render_raw(struct render_ctx *c, const json_t *m)
{
	const json_t *raw = json_object_get(m, "manifests");

	if (raw == NULL || json_is_null(raw))
		return 0;
	if (!json_is_string(raw))
		return ag_err_set(c->err, AG_EINVAL,
		    "manifests must be a string of YAML documents");
	return render_raw_text(c, json_string_value(raw),
	    json_string_length(raw), "manifests", "manifests.yaml");
}

static int	render_refuse(struct render_ctx *, const char *);

/* 1 when chart names OneChart, 0 when there is no chart, or an error. */
static int
render_chart(struct render_ctx *c, const json_t *m)
{
	const json_t *chart = json_object_get(m, "chart");
	const char *name, *k, *p, *end;
	char last[64];
	json_t *x;
	size_t n;
	int r;

	if (chart == NULL || json_is_null(chart))
		return 0;
	if (!json_is_object(chart))
		return ag_err_set(c->err, AG_EINVAL,
		    "chart must be a map of name, repository and version");
	json_object_foreach((json_t *)(uintptr_t)chart, k, x)
		if (strcmp(k, "name") != 0 && strcmp(k, "repository") != 0 &&
		    strcmp(k, "version") != 0 && render_truthy(x) &&
		    (r = render_warn(c, "chart.%s is not supported by the "
		    "built-in renderer and was ignored", k)) < 0)
			return r;
	if ((r = render_str(c, chart, "name", "chart", "", &name)) < 0)
		return r;
	if (*name == '\0') {
		if (json_object_size(chart) == 0)
			return 0;
		return ag_err_set(c->err, AG_EINVAL, "chart.name is required");
	}
	if (strcmp(name, "onechart") == 0)
		return 1;
	/* a chart in git: ...onechart.git?sha=...&path=/charts/onechart/ */
	if (strstr(name, "://") != NULL || strncmp(name, "git@", 4) == 0) {
		if ((p = strstr(name, "path=")) == NULL)
			return strstr(name, "onechart") != NULL ? 1 :
			    render_refuse(c, name);
		p += 5;
		end = p + strcspn(p, "&#");
		while (end > p && end[-1] == '/')
			end--;
		for (k = end; k > p && k[-1] != '/'; k--)
			;
		n = (size_t)(end - k);
		if (n < sizeof last) {
			memcpy(last, k, n);
			last[n] = '\0';
			if (strcmp(last, "onechart") == 0)
				return 1;
		}
	}
	return render_refuse(c, name);
}

static int
render_refuse(struct render_ctx *c, const char *name)
{
	return ag_err_set(c->err, AG_EINVAL,
	    "chart \"%.200s\" is not supported by the built-in renderer, "
	    "which renders onechart only, and no render hook in "
	    "DATA/hooks/render.d claimed it (see hooks/examples/"
	    "render.d/50-helm-template)", name);
}

/* DATA/hooks/render.d, set once at start-up; empty: no render hooks. */
static char render_hook_dir[4096];
static int render_hook_ms = RENDER_HOOK_TIMEOUT_MS;

void
render_hooks_set(const char *dir, int timeout_ms)
{
	snprintf(render_hook_dir, sizeof render_hook_dir, "%s",
	    dir != NULL ? dir : "");
	render_hook_ms = timeout_ms > 0 ? timeout_ms : RENDER_HOOK_TIMEOUT_MS;
}

/*
 * Offers the intent to the render hooks: 1 a hook rendered it (its
 * documents are in rendered.yaml), 0 none claimed it, <0 refused.
 */
static int
render_by_hook(struct render_ctx *c, const json_t *m, const json_t *vars)
{
	const json_t *chart = json_object_get(m, "chart");
	const json_t *values = json_object_get(m, "values");
	const json_t *env = json_object_get(m, "env");
	char *in = NULL, *outp = NULL, *msg = NULL;
	size_t outlen = 0, n;
	json_t *intent;
	int r;

	if (render_hook_dir[0] == '\0' || !json_is_object(chart) ||
	    json_object_size(chart) == 0)
		return 0;
	intent = json_pack("{s:s, s:s, s:s, s:O, s:O?, s:O?}", "app", c->app,
	    "env", json_is_string(env) ? json_string_value(env) : "",
	    "namespace", c->ns, "chart", chart, "values",
	    json_is_object(values) ? values : NULL, "vars", vars);
	if (intent == NULL)
		return render_oom(c);
	if ((json_is_null(json_object_get(intent, "values")) &&
	    json_object_set_new(intent, "values", json_object()) < 0) ||
	    (json_is_null(json_object_get(intent, "vars")) &&
	    json_object_set_new(intent, "vars", json_object()) < 0)) {
		json_decref(intent);
		return render_oom(c);
	}
	in = json_dumps(intent, JSON_COMPACT);
	json_decref(intent);
	if (in == NULL)
		return render_oom(c);
	r = runner_render(&outp, &outlen, &msg, render_hook_dir, in,
	    strlen(in), render_hook_ms, c->err);
	free(in);
	if (r == AG_ENOTFOUND) {
		ag_err_clear(c->err);
		return 0;
	}
	if (r < 0) {
		if (msg != NULL) {
			/* the hook's whole message, not its first line only */
			n = strlen(msg);
			while (n > 0 && msg[n - 1] == '\n')
				msg[--n] = '\0';
			ag_err_set(c->err, r, "%s", msg);
		}
		free(msg);
		return r;
	}
	free(msg);
	r = render_raw_text(c, outp, outlen, "render hook output",
	    "rendered.yaml");
	free(outp);
	if (r < 0)
		return r;
	if (c->out->nfiles == 0)
		return ag_err_set(c->err, AG_EINVAL,
		    "the render hook printed no documents");
	return 1;
}

static int
render_nonempty(const json_t *x)
{
	return x != NULL && render_truthy(x);
}

static int
render_cmp_files(const void *a, const void *b)
{
	return strcmp(((const struct render_file *)a)->name,
	    ((const struct render_file *)b)->name);
}

int
render_manifest(struct render_out **out, const json_t *manifest,
    struct ag_err *err)
{
	return render_manifest_vars(out, manifest, NULL, err);
}

int
render_manifest_vars(struct render_out **out, const json_t *manifest,
    const json_t *vars, struct ag_err *err)
{
	struct render_ctx c;
	const json_t *values = NULL;
	const char *k;
	json_t *merged = NULL, *x;
	const char *const *known;
	int onechart, r;

	*out = NULL;
	memset(&c, 0, sizeof c);
	c.err = err;
	if (!json_is_object(manifest))
		return ag_err_set(err, AG_EINVAL, "a manifest must be a map");
	if ((c.out = calloc(1, sizeof *c.out)) == NULL ||
	    (c.out->warnings = json_array()) == NULL ||
	    (c.scratch = json_array()) == NULL) {
		r = render_oom(&c);
		goto out;
	}
	if ((r = render_str(&c, manifest, "app", "manifest", "", &c.app)) < 0)
		goto out;
	if (*c.app == '\0') {
		r = ag_err_set(err, AG_EINVAL, "app is required");
		goto out;
	}
	if (!render_is_dns_label(c.app)) {
		r = ag_err_set(err, AG_EINVAL, "app \"%.80s\" is not a valid "
		    "name: it must match [a-z0-9]([-a-z0-9]*[a-z0-9])? and be "
		    "at most 63 characters", c.app);
		goto out;
	}
	if ((r = render_str(&c, manifest, "namespace", "manifest", "default",
	    &c.ns)) < 0)
		goto out;
	if (*c.ns == '\0')
		c.ns = "default";
	if (!render_is_dns_label(c.ns)) {
		r = ag_err_set(err, AG_EINVAL, "namespace \"%.80s\" is not a "
		    "valid name: it must match [a-z0-9]([-a-z0-9]*[a-z0-9])? "
		    "and be at most 63 characters", c.ns);
		goto out;
	}
	if (render_nonempty(json_object_get(manifest,
	    "strategicMergePatches"))) {
		r = ag_err_set(err, AG_EINVAL,
		    "strategicMergePatches is not supported yet");
		goto out;
	}
	if (render_nonempty(json_object_get(manifest, "json6902Patches"))) {
		r = ag_err_set(err, AG_EINVAL,
		    "json6902Patches is not supported yet");
		goto out;
	}
	if (render_nonempty(json_object_get(manifest, "dependencies"))) {
		r = ag_err_set(err, AG_EINVAL,
		    "dependencies are not supported yet");
		goto out;
	}
	json_object_foreach((json_t *)(uintptr_t)manifest, k, x) {
		for (known = render_manifest_keys; *known != NULL; known++)
			if (strcmp(*known, k) == 0)
				break;
		if (*known == NULL && (r = render_warn(&c, "%s is not "
		    "supported by the built-in renderer and was ignored",
		    k)) < 0)
			goto out;
	}
	if ((r = render_by_hook(&c, manifest, vars)) < 0)
		goto out;
	if (r == 1)
		onechart = 0;
	else if ((r = onechart = render_chart(&c, manifest)) < 0)
		goto out;
	if ((r = render_coll(&c, manifest, "values", "manifest", JSON_OBJECT,
	    &values)) < 0)
		goto out;
	if (c.out->nfiles > 0) {
		/* a hook rendered the chart: its values were its business */
	} else if (onechart) {
		if ((merged = render_defaults()) == NULL) {
			r = render_oom(&c);
			goto out;
		}
		if (values != NULL) {
			if ((r = render_check_keys(&c, values,
			    render_values_keys, "values", 0)) < 0)
				goto out;
			if (render_merge(merged, values) < 0) {
				r = render_oom(&c);
				goto out;
			}
		}
		c.v = merged;
		if ((r = render_onechart(&c)) < 0)
			goto out;
	} else if (values != NULL && (r = render_warn(&c, "values is "
	    "ignored: there is no chart to render it with")) < 0)
		goto out;
	if ((r = render_raw(&c, manifest)) < 0)
		goto out;
	if (c.out->nfiles == 0) {
		r = ag_err_set(err, AG_EINVAL,
		    "no chart or raw manifests to render");
		goto out;
	}
	qsort(c.out->files, c.out->nfiles, sizeof *c.out->files,
	    render_cmp_files);
	*out = c.out;
	c.out = NULL;
	r = 0;
out:
	render_out_free(c.out);
	json_decref(merged);
	json_decref(c.sel);
	json_decref(c.labels);
	json_decref(c.scratch);
	return r;
}

void
render_out_free(struct render_out *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nfiles; i++) {
		free(r->files[i].name);
		free(r->files[i].data);
	}
	free(r->files);
	json_decref(r->warnings);
	free(r);
}

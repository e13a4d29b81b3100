/*
 * The built-in validate stages over the files an intent produces: every
 * YAML file parses (validate-yaml), every document is a Kubernetes object
 * an apps repository may hold (validate-k8s), and the env's image and
 * resource policies hold (policy). Each file is parsed once per call; the
 * stages collect every problem, one line each, before refusing.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auger/yaml.h"
#include "config.h"
#include "validate.h"

#define VALIDATE_DNS_LABEL_MAX		63
#define VALIDATE_DNS_SUBDOMAIN_MAX	253
/* Bytes of one line of a message before it is cut. */
#define VALIDATE_LINE_MAX		1024
/* Lists inside Lists whose items are still read as documents. */
#define VALIDATE_LIST_DEPTH		8
/* "document N item N item N ...": room for VALIDATE_LIST_DEPTH items. */
#define VALIDATE_WHERE_MAX		(32 + 32 * VALIDATE_LIST_DEPTH)
#define VALIDATE_TOP			SIZE_MAX	/* no parent List */

static const char validate_truncated[] = "... (truncated)";

/*
 * Kinds without a namespace: the one list, also used by the renderer to
 * leave their namespace out (validate_is_cluster_kind).
 */
static const char *const validate_cluster_kinds[] = {
	"Namespace", "Node", "PersistentVolume", "StorageClass",
	"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
	"PriorityClass", "RuntimeClass", "IngressClass", "CSIDriver",
	"CSINode", "VolumeAttachment", "MutatingWebhookConfiguration",
	"ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
	"ValidatingAdmissionPolicyBinding", "APIService",
	"CertificateSigningRequest", "PodSecurityPolicy", "FlowSchema",
	"PriorityLevelConfiguration", "ComponentStatus", "ClusterIssuer",
	"ClusterPolicy", "GatewayClass", "VolumeSnapshotClass",
	"VolumeSnapshotContent", NULL
};

/* The message being built: lines, each with the stage's prefix. */
struct validate_msg {
	char		*p;
	size_t		 len, cap;
	const char	*prefix;	/* "" or "validate-k8s: " */
	size_t		 count;		/* problems, shown or not */
	int		 full;		/* the truncation line is written */
	struct ag_err	*err;
};

/*
 * One object the stages check: a document of a file, or an item of a
 * List (kubectl and kustomize apply a List's items as objects of their
 * own, so they are checked as documents too).
 */
struct validate_doc {
	const json_t	*doc;		/* borrowed from the file's docs */
	size_t		 parent;	/* the List's entry, or VALIDATE_TOP */
	size_t		 num;		/* document or item number, from 1 */
	int		 list;		/* a List: its items follow it */
	int		 toodeep;	/* a List nested past the bound */
};

/* The files of one call, each YAML one parsed. */
struct validate_set {
	const struct validate_file	*files;
	size_t				 n;
	json_t				**docs;	/* NULL: not YAML, or bad */
	char				**bad;	/* why a YAML file did not parse */
	struct validate_doc		**ents;	/* docs and List items */
	size_t				*nents;
	size_t				*capents;
};

static int
validate_oom(struct ag_err *err)
{
	return ag_err_set(err, AG_EINTERNAL, "validate: out of memory");
}

static int
validate_append(struct validate_msg *m, const char *s, size_t n)
{
	size_t cap;
	char *np;

	if (m->len + n + 1 > VALIDATE_MSG_MAX)
		return ag_err_set(m->err, AG_EINTERNAL,
		    "validate: message over its limit");	/* a bug */
	if (m->len + n + 1 > m->cap) {
		cap = m->cap ? m->cap : 1024;
		while (cap < m->len + n + 1)
			cap *= 2;
		if (cap > VALIDATE_MSG_MAX)
			cap = VALIDATE_MSG_MAX;
		if ((np = realloc(m->p, cap)) == NULL)
			return validate_oom(m->err);
		m->p = np;
		m->cap = cap;
	}
	memcpy(m->p + m->len, s, n);
	m->len += n;
	m->p[m->len] = '\0';
	return 0;
}

/*
 * Adds one problem as a line. Control characters (a newline in a kind)
 * become '?', so that a line is one problem. Past VALIDATE_MSG_MAX the
 * problems are counted but not shown.
 */
static int
validate_add(struct validate_msg *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
validate_add(struct validate_msg *m, const char *fmt, ...)
{
	char line[VALIDATE_LINE_MAX];
	size_t i, n, pre = strlen(m->prefix);
	va_list ap;
	int r;

	m->count++;
	if (m->full)
		return 0;
	va_start(ap, fmt);
	r = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (r < 0)
		return ag_err_set(m->err, AG_EINTERNAL,
		    "validate: cannot format a message");
	n = strlen(line);
	if ((size_t)r >= sizeof line)
		memcpy(line + n - 3, "...", 3);
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	/* room for this line and, after it, the truncation line */
	if (m->len + pre + n + 1 + pre + sizeof validate_truncated + 1 >
	    VALIDATE_MSG_MAX) {
		m->full = 1;
		if ((r = validate_append(m, m->prefix, pre)) < 0 ||
		    (r = validate_append(m, validate_truncated,
		    sizeof validate_truncated - 1)) < 0)
			return r;
		return validate_append(m, "\n", 1);
	}
	if ((r = validate_append(m, m->prefix, pre)) < 0 ||
	    (r = validate_append(m, line, n)) < 0)
		return r;
	return validate_append(m, "\n", 1);
}

static int
validate_has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n >= k && strcmp(s + n - k, suf) == 0;
}

static int
validate_is_yaml(const char *path)
{
	return validate_has_suffix(path, ".yaml") ||
	    validate_has_suffix(path, ".yml");
}

/*
 * A kustomization.yaml is read by kustomize, not applied: it has no
 * metadata.name and is no object of the cluster.
 */
static int
validate_is_kustomization(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	return strcmp(base, "kustomization.yaml") == 0 ||
	    strcmp(base, "kustomization.yml") == 0;
}

static int
validate_in_flux(const char *path)
{
	return strncmp(path, "flux/", 5) == 0;
}

static void
validate_set_free(struct validate_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->docs != NULL)
			json_decref(s->docs[i]);
		if (s->bad != NULL)
			free(s->bad[i]);
		if (s->ents != NULL)
			free(s->ents[i]);
	}
	free(s->docs);
	free(s->bad);
	free(s->ents);
	free(s->nents);
	free(s->capents);
	memset(s, 0, sizeof *s);
}

/* A List kind, as kubectl tells them: "List" or any kind ending in it. */
static int
validate_is_list(const json_t *doc)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));

	return kind != NULL && validate_has_suffix(kind, "List");
}

/* Where entry i of a file is, for messages: "document 2 item 1". */
static void
validate_where(char *out, size_t outsz, const struct validate_doc *ents,
    size_t i)
{
	size_t chain[VALIDATE_LIST_DEPTH + 1], n = 0, len;
	int w;

	while (i != VALIDATE_TOP && n < VALIDATE_LIST_DEPTH + 1) {
		chain[n++] = i;
		i = ents[i].parent;
	}
	w = snprintf(out, outsz, "document %zu", ents[chain[n - 1]].num);
	len = w < 0 ? 0 : (size_t)w;
	while (--n > 0 && len < outsz) {
		w = snprintf(out + len, outsz - len, " item %zu",
		    ents[chain[n - 1]].num);
		len += w < 0 ? 0 : (size_t)w;
	}
}

/*
 * Appends doc (number num in parent, a List's entry or VALIDATE_TOP) to
 * file fi's objects, then, for a List, its items, recursively down to
 * VALIDATE_LIST_DEPTH.
 */
static int
validate_flatten(struct validate_set *s, size_t fi, const json_t *doc,
    size_t parent, size_t num, int depth, struct ag_err *err)
{
	struct validate_doc *d, *nd;
	const json_t *items, *it;
	size_t k, at, cap;
	int r;

	if (s->nents[fi] == s->capents[fi]) {
		cap = s->capents[fi] ? s->capents[fi] * 2 : 8;
		if ((nd = realloc(s->ents[fi], cap * sizeof *nd)) == NULL)
			return validate_oom(err);
		s->ents[fi] = nd;
		s->capents[fi] = cap;
	}
	at = s->nents[fi]++;
	d = &s->ents[fi][at];
	memset(d, 0, sizeof *d);
	d->doc = doc;
	d->parent = parent;
	d->num = num;
	if (!json_is_object(doc) || !validate_is_list(doc))
		return 0;
	d->list = 1;
	items = json_object_get(doc, "items");
	if (!json_is_array(items))
		return 0;	/* validate-k8s says so */
	if (depth >= VALIDATE_LIST_DEPTH) {
		d->toodeep = 1;
		return 0;
	}
	json_array_foreach(items, k, it)
		if ((r = validate_flatten(s, fi, it, at, k + 1, depth + 1,
		    err)) < 0)
			return r;
	return 0;
}

/* Parses every YAML file; a parse error is kept for the stages to say. */
static int
validate_set_load(struct validate_set *s, const struct validate_file *files,
    size_t n, struct ag_err *err)
{
	struct ag_err perr;
	const json_t *doc;
	size_t i, j;
	int r;

	memset(s, 0, sizeof *s);
	if (n > VALIDATE_MAX_FILES)
		return ag_err_set(err, AG_ETOOBIG,
		    "validate: %zu files, over the limit of %d", n,
		    VALIDATE_MAX_FILES);
	if (n > 0 && files == NULL)
		return ag_err_set(err, AG_EINVAL, "validate: no files");
	s->files = files;
	if (n == 0)
		return 0;
	s->docs = calloc(n, sizeof *s->docs);
	s->bad = calloc(n, sizeof *s->bad);
	s->ents = calloc(n, sizeof *s->ents);
	s->nents = calloc(n, sizeof *s->nents);
	s->capents = calloc(n, sizeof *s->capents);
	s->n = n;
	if (s->docs == NULL || s->bad == NULL || s->ents == NULL ||
	    s->nents == NULL || s->capents == NULL) {
		validate_set_free(s);
		return validate_oom(err);
	}
	for (i = 0; i < n; i++) {
		if (files[i].path == NULL ||
		    (files[i].data == NULL && files[i].len > 0)) {
			validate_set_free(s);
			return ag_err_set(err, AG_EINVAL,
			    "validate: file %zu has no path or data", i);
		}
		if (!validate_is_yaml(files[i].path))
			continue;
		memset(&perr, 0, sizeof perr);
		r = ag_yaml_load_all(&s->docs[i], files[i].data != NULL ?
		    files[i].data : "", files[i].len, files[i].path, &perr);
		if (r == AG_EINTERNAL) {
			validate_set_free(s);
			return ag_err_set(err, r, "%s", perr.msg);
		}
		if (r < 0 && (s->bad[i] = strdup(perr.msg)) == NULL) {
			validate_set_free(s);
			return validate_oom(err);
		}
		json_array_foreach(s->docs[i], j, doc) {
			if ((r = validate_flatten(s, i, doc, VALIDATE_TOP,
			    j + 1, 0, err)) < 0) {
				validate_set_free(s);
				return r;
			}
		}
	}
	return 0;
}

/* validate-yaml: the parse errors, "path:line:col: what". */
static int
validate_stage_yaml(const struct validate_set *s, const struct config_env *env,
    struct validate_msg *m)
{
	size_t i;
	int r;

	for (i = 0; i < s->n; i++)
		if (s->bad[i] != NULL && (r = validate_add(m, "%s",
		    s->bad[i])) < 0)
			return r;
	return 0;
}

/* [a-z0-9]([-a-z0-9.]*[a-z0-9])?, dots allowed only when dots is set. */
static int
validate_dns(const char *s, size_t max, int dots)
{
	size_t i, n = strlen(s);
	char ch;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		ch = s[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			continue;
		if (i == 0 || i == n - 1 || !(ch == '-' || (dots && ch == '.')))
			return 0;
	}
	return 1;
}

int
validate_is_cluster_kind(const char *kind)
{
	const char *const *k;

	for (k = validate_cluster_kinds; *k != NULL; k++)
		if (strcmp(*k, kind) == 0)
			return 1;
	return 0;
}

/* A string field of obj: 1 there, 0 a problem was added, <0 an error. */
static int
validate_str_field(struct validate_msg *m, const char *path, const char *idx,
    const json_t *obj, const char *key, const char *name, const char **out)
{
	const json_t *v = json_object_get(obj, key);
	int r;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		r = validate_add(m, "%s: %s: %s is missing", path, idx, name);
	else if (!json_is_string(v))
		r = validate_add(m, "%s: %s: %s must be a string", path, idx,
		    name);
	else if (json_string_length(v) == 0)
		r = validate_add(m, "%s: %s: %s is empty", path, idx, name);
	else {
		*out = json_string_value(v);
		return 1;
	}
	return r < 0 ? r : 0;
}

/* The app folder of a path: its first component, or "" at the top. */
static void
validate_folder(char *out, size_t outsz, const char *path)
{
	const char *slash = strchr(path, '/');
	size_t n = slash != NULL ? (size_t)(slash - path) : 0;

	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

/*
 * A List: apiVersion and kind, and items, an array whose entries are
 * checked as documents of their own; it has no name of its own.
 */
static int
validate_k8s_list(const struct validate_set *s, size_t fi,
    const struct validate_doc *d, const char *idx, struct validate_msg *m)
{
	const char *path = s->files[fi].path, *api, *kind;
	int r;

	if ((r = validate_str_field(m, path, idx, d->doc, "apiVersion",
	    "apiVersion", &api)) < 0 ||
	    (r = validate_str_field(m, path, idx, d->doc, "kind", "kind",
	    &kind)) < 0)
		return r;
	if (!json_is_array(json_object_get(d->doc, "items")))
		return validate_add(m, "%s: %s: kind %s is a list: its items "
		    "must be an array of objects", path, idx, kind);
	if (d->toodeep)
		return validate_add(m, "%s: %s: Lists nested deeper than %d "
		    "levels", path, idx, VALIDATE_LIST_DEPTH);
	return 0;
}

/* One document: its fields, its name, its scope, its uniqueness. */
static int
validate_k8s_doc(const struct validate_set *s, size_t fi, size_t di,
    const struct config_env *env, json_t *seen, struct validate_msg *m)
{
	const struct validate_doc *d = &s->ents[fi][di];
	const char *path = s->files[fi].path, *api, *kind, *name, *ns = NULL;
	const json_t *meta, *nsv, *prev, *doc = d->doc;
	char folder[256], key[1024], where[512], idx[VALIDATE_WHERE_MAX];
	int flux = validate_in_flux(path), ok = 1, r;

	validate_where(idx, sizeof idx, s->ents[fi], di);

	if (!json_is_object(doc))
		return validate_add(m, "%s: %s: not a map (a Kubernetes object "
		    "is a map with apiVersion, kind and metadata)", path, idx);
	if (d->list)
		return validate_k8s_list(s, fi, d, idx, m);
	if ((r = validate_str_field(m, path, idx, doc, "apiVersion",
	    "apiVersion", &api)) < 0)
		return r;
	ok &= r;
	if ((r = validate_str_field(m, path, idx, doc, "kind", "kind",
	    &kind)) < 0)
		return r;
	ok &= r;
	meta = json_object_get(doc, "metadata");
	if (meta != NULL && !json_is_object(meta))
		return validate_add(m, "%s: %s: metadata must be a map", path,
		    idx);
	if ((r = validate_str_field(m, path, idx, meta, "name",
	    "metadata.name", &name)) < 0)
		return r;
	ok &= r;
	if (name != NULL && !validate_dns(name, VALIDATE_DNS_SUBDOMAIN_MAX,
	    1)) {
		if ((r = validate_add(m, "%s: %s: metadata.name "
		    "\"%.253s\" is not a valid name: lowercase letters, digits, "
		    "'-' and '.', starting and ending with a letter or digit, "
		    "at most %d characters (a DNS-1123 subdomain)", path, idx,
		    name, VALIDATE_DNS_SUBDOMAIN_MAX)) < 0)
			return r;
		ok = 0;
	}
	nsv = json_object_get(meta, "namespace");
	if (nsv != NULL && !json_is_null(nsv)) {
		ns = json_string_value(nsv);
		if (ns == NULL || !validate_dns(ns, VALIDATE_DNS_LABEL_MAX,
		    0)) {
			if ((r = validate_add(m, "%s: %s: "
			    "metadata.namespace %s%.63s%s is not a valid "
			    "namespace: lowercase letters, digits and '-', "
			    "starting and ending with a letter or digit, at "
			    "most %d characters (a DNS-1123 label)", path, idx,
			    ns ? "\"" : "", ns ? ns : "(not a string)",
			    ns ? "\"" : "", VALIDATE_DNS_LABEL_MAX)) < 0)
				return r;
			ok = 0;
		}
	}
	if (kind != NULL && !flux && !env->allow_cluster_scoped &&
	    validate_is_cluster_kind(kind)) {
		if ((r = validate_add(m, "%s: %s: kind %s is "
		    "cluster-scoped; not allowed in an apps repository", path,
		    idx, kind)) < 0)
			return r;
		ok = 0;
	}
	if (!ok || flux)
		return 0;
	validate_folder(folder, sizeof folder, path);
	if ((size_t)snprintf(key, sizeof key, "%s\x1f%s\x1f%s\x1f%s", folder,
	    kind, ns ? ns : "", name) >= sizeof key)
		return 0;	/* longer than any valid kind and name */
	if ((prev = json_object_get(seen, key)) != NULL) {
		return validate_add(m, "%s: %s: %s \"%s\"%s%s%s is "
		    "defined twice in %s%s (first in %s)", path, idx, kind,
		    name, ns ? " in namespace \"" : "", ns ? ns : "",
		    ns ? "\"" : "", *folder ? "folder " : "the top folder",
		    folder, json_string_value(prev));
	}
	snprintf(where, sizeof where, "%s %s", path, idx);
	if (json_object_set_new(seen, key, json_string(where)) < 0)
		return validate_oom(m->err);
	return 0;
}

/* validate-k8s: see validate.h. */
static int
validate_stage_k8s(const struct validate_set *s, const struct config_env *env,
    struct validate_msg *m)
{
	json_t *seen;
	size_t i, j;
	int r = 0;

	if ((seen = json_object()) == NULL)
		return validate_oom(m->err);
	for (i = 0; i < s->n; i++) {
		if (s->bad[i] != NULL) {
			if ((r = validate_add(m, "%s", s->bad[i])) < 0)
				goto out;
			continue;
		}
		if (s->docs[i] == NULL ||
		    validate_is_kustomization(s->files[i].path))
			continue;
		for (j = 0; j < s->nents[i]; j++)
			if ((r = validate_k8s_doc(s, i, j, env, seen,
			    m)) < 0)
				goto out;
	}
	r = 0;
out:
	json_decref(seen);
	return r;
}

/* The pod spec of a workload, or NULL when doc is none or has none. */
static const json_t *
validate_pod_spec(const json_t *doc, const char *kind)
{
	const json_t *spec = json_object_get(doc, "spec");

	if (strcmp(kind, "Pod") == 0)
		return spec;
	if (strcmp(kind, "CronJob") == 0)
		spec = json_object_get(json_object_get(spec, "jobTemplate"),
		    "spec");
	else if (strcmp(kind, "Deployment") != 0 &&
	    strcmp(kind, "StatefulSet") != 0 &&
	    strcmp(kind, "DaemonSet") != 0 && strcmp(kind, "Job") != 0)
		return NULL;
	return json_object_get(json_object_get(spec, "template"), "spec");
}

/*
 * What is wrong with an image reference under denyLatestTag, or NULL:
 * a digest pins it; else the tag is after the last ':' past the last '/'
 * (a registry's port is before it).
 */
static const char *
validate_image_problem(const char *image)
{
	const char *slash, *colon;

	if (strchr(image, '@') != NULL)
		return NULL;
	slash = strrchr(image, '/');
	colon = strrchr(slash != NULL ? slash : image, ':');
	if (colon == NULL || colon[1] == '\0')
		return "has no tag";
	if (strcmp(colon + 1, "latest") == 0)
		return "uses the tag latest";
	return NULL;
}

static int
validate_container(const struct validate_set *s, size_t fi, const char *di,
    const char *kind, const char *oname, const char *list, size_t ci,
    const json_t *c, const struct config_env *env, struct validate_msg *m)
{
	const char *path = s->files[fi].path, *cname, *image, *why;
	const json_t *limits;
	char who[512], num[32];
	int cpu, mem, r;

	if (!json_is_object(c))
		return 0;
	if ((cname = json_string_value(json_object_get(c, "name"))) == NULL) {
		snprintf(num, sizeof num, "%s[%zu]", list, ci);
		cname = num;
	}
	snprintf(who, sizeof who, "%s: %s: %s %s: %s %s", path, di, kind, oname, strcmp(list, "initContainers") == 0 ?
	    "init container" : "container", cname);
	if (env->deny_latest_tag) {
		image = json_string_value(json_object_get(c, "image"));
		why = image == NULL ? "has no image" :
		    validate_image_problem(image);
		if (why != NULL && image == NULL &&
		    (r = validate_add(m, "%s has no image; a pinned tag or "
		    "digest is required (policy denyLatestTag)", who)) < 0)
			return r;
		if (why != NULL && image != NULL &&
		    (r = validate_add(m, "%s: image \"%.300s\" %s; pin a "
		    "version tag or a digest (policy denyLatestTag)", who,
		    image, why)) < 0)
			return r;
	}
	if (env->require_limits) {
		limits = json_object_get(json_object_get(c, "resources"),
		    "limits");
		cpu = json_object_get(limits, "cpu") != NULL &&
		    !json_is_null(json_object_get(limits, "cpu"));
		mem = json_object_get(limits, "memory") != NULL &&
		    !json_is_null(json_object_get(limits, "memory"));
		if ((!cpu || !mem) && (r = validate_add(m, "%s: "
		    "resources.limits.%s %s not set (policy "
		    "requireResourceLimits)", who, !cpu && !mem ?
		    "cpu and .memory" : !cpu ? "cpu" : "memory",
		    !cpu && !mem ? "are" : "is")) < 0)
			return r;
	}
	return 0;
}

/* policy: see validate.h. */
static int
validate_stage_policy(const struct validate_set *s,
    const struct config_env *env, struct validate_msg *m)
{
	static const char *const lists[] = { "initContainers", "containers" };
	const json_t *doc, *pod, *cs, *c;
	const char *kind, *oname;
	char where[VALIDATE_WHERE_MAX];
	size_t i, j, k, l;
	int r;

	if (!env->deny_latest_tag && !env->require_limits)
		return 0;
	for (i = 0; i < s->n; i++) {
		if (s->bad[i] != NULL) {
			if ((r = validate_add(m, "%s", s->bad[i])) < 0)
				return r;
			continue;
		}
		for (j = 0; j < s->nents[i]; j++) {
			doc = s->ents[i][j].doc;
			kind = json_string_value(json_object_get(doc, "kind"));
			if (kind == NULL ||
			    (pod = validate_pod_spec(doc, kind)) == NULL)
				continue;
			oname = json_string_value(json_object_get(
			    json_object_get(doc, "metadata"), "name"));
			if (oname == NULL)
				oname = "(no name)";
			validate_where(where, sizeof where, s->ents[i], j);
			for (l = 0; l < 2; l++) {
				cs = json_object_get(pod, lists[l]);
				json_array_foreach(cs, k, c)
					if ((r = validate_container(s, i,
					    where, kind, oname, lists[l], k, c,
					    env, m)) < 0)
						return r;
			}
		}
	}
	return 0;
}

typedef int (*validate_stage_fn)(const struct validate_set *,
    const struct config_env *, struct validate_msg *);

static const struct {
	const char		*name;
	const char		*prefix;
	validate_stage_fn	 fn;
} validate_stages[] = {
	{ "validate-yaml", "validate-yaml: ", validate_stage_yaml },
	{ "validate-k8s", "validate-k8s: ", validate_stage_k8s },
	{ "policy", "policy: ", validate_stage_policy }
};

#define VALIDATE_NSTAGES \
	(sizeof validate_stages / sizeof validate_stages[0])

/* Stages first..last in order; prefixed: lines name their stage. */
static int
validate_run(char **msg, const struct validate_file *files, size_t n,
    const struct config_env *env, size_t first, size_t last, int prefixed,
    struct ag_err *err)
{
	struct validate_set set;
	struct validate_msg m;
	size_t st, l;
	int r;

	*msg = NULL;
	memset(&m, 0, sizeof m);
	m.err = err;
	if (env == NULL)
		env = config_env(NULL, NULL);
	if ((r = validate_set_load(&set, files, n, err)) < 0)
		return r;
	for (st = first; st <= last; st++) {
		m.prefix = prefixed ? validate_stages[st].prefix : "";
		if ((r = validate_stages[st].fn(&set, env, &m)) < 0)
			goto out;
		if (m.count > 0)
			break;
	}
	if (m.count == 0) {
		r = 0;
		goto out;
	}
	l = strcspn(m.p, "\n");
	if (prefixed)
		ag_err_set(err, AG_EINVAL, "%.*s", (int)l, m.p);
	else
		ag_err_set(err, AG_EINVAL, "%s: %.*s", validate_stages[st].name,
		    (int)l, m.p);
	*msg = m.p;
	m.p = NULL;
	r = AG_EINVAL;
out:
	free(m.p);
	validate_set_free(&set);
	return r;
}

int
validate_yaml(char **msg, const struct validate_file *files, size_t n,
    struct ag_err *err)
{
	return validate_run(msg, files, n, NULL, 0, 0, 0, err);
}

int
validate_k8s(char **msg, const struct validate_file *files, size_t n,
    const struct config_env *env, struct ag_err *err)
{
	return validate_run(msg, files, n, env, 1, 1, 0, err);
}

int
validate_policy(char **msg, const struct validate_file *files, size_t n,
    const struct config_env *env, struct ag_err *err)
{
	if (env == NULL || (!env->deny_latest_tag && !env->require_limits)) {
		*msg = NULL;
		return 0;	/* off: no need to parse anything */
	}
	return validate_run(msg, files, n, env, 2, 2, 0, err);
}

int
validate_all(char **msg, const struct validate_file *files, size_t n,
    const struct config_env *env, struct ag_err *err)
{
	return validate_run(msg, files, n, env, 0, VALIDATE_NSTAGES - 1, 1,
	    err);
}

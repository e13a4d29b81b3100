/*
 * Kustomize's patches as Gimlet runs them on rendered manifests
 * (pkg/dx/kustomize.go: patchesStrategicMerge, then patches with
 * targets): RFC 6902 JSON patches with RFC 6901 pointers, and Kubernetes
 * strategic merge with the merge keys of the built-in kinds.
 */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auger/kustomize.h"
#include "auger/yaml.h"

/* Tokens of one JSON pointer, and nesting a merge follows. */
#define PTR_MAX_TOKENS	128
#define SMP_MAX_DEPTH	64

/* ------------------------------------------------------------ RFC 6901 */

struct ptr {
	char	*tok[PTR_MAX_TOKENS];
	size_t	 n;
};

static void
ptr_free(struct ptr *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->tok[i]);
	p->n = 0;
}

static int
ptr_parse(struct ptr *p, const char *s, const char *what, size_t opi,
    struct ag_err *err)
{
	const char *e;
	char *t;
	size_t n, i;

	p->n = 0;
	if (*s == '\0')
		return 0;
	if (*s != '/')
		return ag_err_set(err, AG_EINVAL, "operation %zu: %s \"%.80s\" "
		    "is not a JSON pointer (it must start with /)", opi, what,
		    s);
	while (*s == '/') {
		s++;
		e = strchr(s, '/');
		n = e ? (size_t)(e - s) : strlen(s);
		if (p->n == PTR_MAX_TOKENS) {
			ptr_free(p);
			return ag_err_set(err, AG_ETOOBIG, "operation %zu: %s "
			    "deeper than %d levels", opi, what,
			    PTR_MAX_TOKENS);
		}
		if ((t = malloc(n + 1)) == NULL) {
			ptr_free(p);
			return ag_err_set(err, AG_EINTERNAL, "out of memory");
		}
		p->tok[p->n++] = t;
		for (i = 0; i < n; i++) {
			if (s[i] != '~') {
				*t++ = s[i];
				continue;
			}
			if (i + 1 < n && (s[i + 1] == '0' || s[i + 1] == '1')) {
				*t++ = s[i + 1] == '0' ? '~' : '/';
				i++;
				continue;
			}
			ptr_free(p);
			return ag_err_set(err, AG_EINVAL, "operation %zu: %s: "
			    "\"~\" must be followed by 0 or 1", opi, what);
		}
		*t = '\0';
		s += n;
	}
	return 0;
}

/* An array index: "0" or digits without a leading zero, below max. */
static int
ptr_index(const char *t, size_t max, size_t *out)
{
	size_t v = 0;
	const char *p;

	if (*t == '\0' || (t[0] == '0' && t[1] != '\0'))
		return -1;
	for (p = t; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > (SIZE_MAX - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(*p - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* The node at the first n tokens, or NULL. */
static json_t *
ptr_walk(json_t *doc, const struct ptr *p, size_t n)
{
	size_t i, k;

	for (i = 0; i < n && doc != NULL; i++) {
		if (json_is_object(doc))
			doc = json_object_get(doc, p->tok[i]);
		else if (json_is_array(doc)) {
			if (ptr_index(p->tok[i], json_array_size(doc), &k) < 0 ||
			    k >= json_array_size(doc))
				return NULL;
			doc = json_array_get(doc, k);
		} else
			return NULL;
	}
	return doc;
}

/* JSON equality with numbers compared by value (RFC 6902 "test"). */
static int
jeq(const json_t *a, const json_t *b)
{
	const char *k;
	const json_t *x;
	size_t i;

	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)(uintptr_t)a, k, x)
			if (json_object_get(b, k) == NULL ||
			    !jeq(x, json_object_get(b, k)))
				return 0;
		return 1;
	}
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!jeq(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	return json_equal(a, b);
}

static char *
ptr_text(const char *s)
{
	static __thread char buf[128];

	snprintf(buf, sizeof buf, "%s", s);
	return buf;
}

/* Adds (takes a reference to) v at p in *doc. */
static int
op_add(json_t **doc, const struct ptr *p, json_t *v, const char *path,
    size_t opi, int replace, struct ag_err *err)
{
	json_t *parent;
	const char *last;
	size_t k, sz;

	if (p->n == 0) {
		json_decref(*doc);
		*doc = v;
		return 0;
	}
	parent = ptr_walk(*doc, p, p->n - 1);
	last = p->tok[p->n - 1];
	if (json_is_object(parent)) {
		if (replace && json_object_get(parent, last) == NULL)
			goto missing;
		if (json_object_set_new(parent, last, v) < 0)
			return ag_err_set(err, AG_EINTERNAL, "out of memory");
		return 0;
	}
	if (json_is_array(parent)) {
		sz = json_array_size(parent);
		if (!replace && strcmp(last, "-") == 0) {
			if (json_array_append_new(parent, v) < 0)
				return ag_err_set(err, AG_EINTERNAL,
				    "out of memory");
			return 0;
		}
		if (ptr_index(last, sz, &k) < 0 || (replace && k >= sz)) {
			json_decref(v);
			return ag_err_set(err, AG_EINVAL, "operation %zu: path "
			    "\"%s\": index %s is out of the array's bounds "
			    "(size %zu)", opi, ptr_text(path), last, sz);
		}
		if ((replace ? json_array_set_new(parent, k, v) :
		    json_array_insert_new(parent, k, v)) < 0)
			return ag_err_set(err, AG_EINTERNAL, "out of memory");
		return 0;
	}
missing:
	json_decref(v);
	return ag_err_set(err, AG_EINVAL, "operation %zu: path \"%s\" does not "
	    "exist", opi, ptr_text(path));
}

static int
op_remove(json_t *doc, const struct ptr *p, const char *path, size_t opi,
    struct ag_err *err)
{
	json_t *parent;
	const char *last;
	size_t k;

	if (p->n == 0)
		return ag_err_set(err, AG_EINVAL, "operation %zu: the whole "
		    "document cannot be removed", opi);
	parent = ptr_walk(doc, p, p->n - 1);
	last = p->tok[p->n - 1];
	if (json_is_object(parent) && json_object_get(parent, last) != NULL) {
		json_object_del(parent, last);
		return 0;
	}
	if (json_is_array(parent) && ptr_index(last, json_array_size(parent),
	    &k) == 0 && k < json_array_size(parent)) {
		json_array_remove(parent, k);
		return 0;
	}
	return ag_err_set(err, AG_EINVAL, "operation %zu: path \"%s\" does "
	    "not exist", opi, ptr_text(path));
}

static const char *
sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int
one_op(json_t **doc, const json_t *op, size_t opi, struct ag_err *err)
{
	struct ptr p = { { NULL }, 0 }, f = { { NULL }, 0 };
	const char *name = sget(op, "op"), *path = sget(op, "path");
	const char *from = sget(op, "from");
	json_t *v = json_object_get(op, "value"), *src;
	size_t i;
	int r = -1;

	if (!json_is_object(op))
		return ag_err_set(err, AG_EINVAL, "operation %zu is not a map",
		    opi);
	if (name == NULL)
		return ag_err_set(err, AG_EINVAL, "operation %zu has no \"op\"",
		    opi);
	if (path == NULL)
		return ag_err_set(err, AG_EINVAL, "operation %zu (%s) has no "
		    "\"path\"", opi, name);
	if ((r = ptr_parse(&p, path, "path", opi, err)) < 0)
		return r;
	if (strcmp(name, "add") == 0 || strcmp(name, "replace") == 0 ||
	    strcmp(name, "test") == 0) {
		if (v == NULL) {
			r = ag_err_set(err, AG_EINVAL, "operation %zu (%s %s) "
			    "has no \"value\"", opi, name, ptr_text(path));
			goto out;
		}
		if (strcmp(name, "test") == 0) {
			src = ptr_walk(*doc, &p, p.n);
			r = src != NULL && jeq(src, v) ? 0 : ag_err_set(err,
			    AG_EINVAL, "operation %zu: test failed: %s is %s",
			    opi, ptr_text(path), src == NULL ? "missing" :
			    "not the value given");
		} else if (strcmp(name, "replace") == 0 && p.n > 0 &&
		    ptr_walk(*doc, &p, p.n) == NULL)
			r = ag_err_set(err, AG_EINVAL, "operation %zu: replace: "
			    "path \"%s\" does not exist", opi, ptr_text(path));
		else
			r = op_add(doc, &p, json_deep_copy(v), path, opi,
			    strcmp(name, "replace") == 0, err);
		goto out;
	}
	if (strcmp(name, "remove") == 0) {
		r = op_remove(*doc, &p, path, opi, err);
		goto out;
	}
	if (strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) {
		if (from == NULL) {
			r = ag_err_set(err, AG_EINVAL, "operation %zu (%s) has "
			    "no \"from\"", opi, name);
			goto out;
		}
		if ((r = ptr_parse(&f, from, "from", opi, err)) < 0)
			goto out;
		if ((src = ptr_walk(*doc, &f, f.n)) == NULL) {
			r = ag_err_set(err, AG_EINVAL, "operation %zu: %s: from "
			    "\"%s\" does not exist", opi, name, ptr_text(from));
			goto out;
		}
		if (strcmp(name, "copy") == 0) {
			r = op_add(doc, &p, json_deep_copy(src), path, opi, 0,
			    err);
			goto out;
		}
		if (strcmp(from, path) == 0) {
			r = 0;
			goto out;
		}
		/* a location cannot move into one of its children */
		if (f.n < p.n) {
			for (i = 0; i < f.n && strcmp(f.tok[i], p.tok[i]) == 0;
			    i++)
				;
			if (i == f.n) {
				r = ag_err_set(err, AG_EINVAL, "operation %zu: "
				    "move: from \"%s\" is a parent of path",
				    opi, ptr_text(from));
				goto out;
			}
		}
		json_incref(src);
		if ((r = op_remove(*doc, &f, from, opi, err)) < 0) {
			json_decref(src);
			goto out;
		}
		r = op_add(doc, &p, src, path, opi, 0, err);
		goto out;
	}
	r = ag_err_set(err, AG_EINVAL, "operation %zu: unknown op \"%.20s\" "
	    "(add, remove, replace, move, copy or test)", opi, name);
out:
	ptr_free(&p);
	ptr_free(&f);
	return r;
}

int
ag_kustomize_json6902(json_t **doc, const json_t *ops, struct ag_err *err)
{
	json_t *work;
	const json_t *op;
	size_t i;
	int r;

	if (!json_is_array(ops))
		return ag_err_set(err, AG_EINVAL,
		    "a JSON patch must be a list of operations");
	if (json_array_size(ops) > AG_KUSTOMIZE_MAX_OPS)
		return ag_err_set(err, AG_ETOOBIG, "a JSON patch of %zu "
		    "operations (at most %d)", json_array_size(ops),
		    AG_KUSTOMIZE_MAX_OPS);
	if ((work = json_deep_copy(*doc)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	json_array_foreach(ops, i, op) {
		if ((r = one_op(&work, op, i, err)) < 0) {
			json_decref(work);
			return r;
		}
	}
	json_decref(*doc);
	*doc = work;
	return 0;
}

/* ------------------------------------------------------------ strategic */

struct smp {
	int		 builtin;	/* a Kubernetes kind: merge keys apply */
	const char	*kind;
	struct ag_err	*err;
};

static int
is_directive(const char *k)
{
	return strcmp(k, "$patch") == 0 || strcmp(k, "$retainKeys") == 0 ||
	    strncmp(k, "$setElementOrder/", 17) == 0 ||
	    strncmp(k, "$deleteFromPrimitiveList/", 25) == 0;
}

/* A copy of v without patch directives, for content the patch adds. */
static json_t *
strip(const json_t *v)
{
	json_t *c, *x;
	const char *k;
	size_t i;

	if (json_is_object(v)) {
		if ((c = json_object()) == NULL)
			return NULL;
		json_object_foreach((json_t *)(uintptr_t)v, k, x)
			if (!is_directive(k) && !json_is_null(x))
				json_object_set_new(c, k, strip(x));
		return c;
	}
	if (json_is_array(v)) {
		if ((c = json_array()) == NULL)
			return NULL;
		json_array_foreach(v, i, x)
			if (!(json_is_object(x) && sget(x, "$patch") != NULL &&
			    json_object_size(x) == 1))
				json_array_append_new(c, strip(x));
		return c;
	}
	return json_deep_copy(v);
}

/*
 * The merge key of list field in a built-in kind (NULL: replace the list;
 * "" a list of scalars merged as a set), from the patchMergeKey tags of
 * k8s.io/api.
 */
static const char *
merge_key(const struct smp *s, const char *field, int in_container,
    int depth, const char *parent)
{
	static const struct {
		const char *field, *key;
	} keys[] = {
		{ "containers", "name" }, { "initContainers", "name" },
		{ "ephemeralContainers", "name" }, { "env", "name" },
		{ "volumes", "name" }, { "volumeMounts", "mountPath" },
		{ "volumeDevices", "devicePath" },
		{ "imagePullSecrets", "name" }, { "hostAliases", "ip" },
		{ "topologySpreadConstraints", "topologyKey" },
		{ "resourceClaims", "name" }, { "ownerReferences", "uid" },
		{ "conditions", "type" }, { "finalizers", "" },
	};
	size_t i;

	if (!s->builtin)
		return NULL;
	if (strcmp(field, "ports") == 0) {
		if (in_container)
			return "containerPort";
		if (strcmp(s->kind, "Service") == 0 && depth == 1 &&
		    strcmp(parent, "spec") == 0)
			return "port";
		return NULL;
	}
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].field, field) == 0)
			return keys[i].key;
	return NULL;
}

static int	smp_map(struct smp *, json_t *, const json_t *, int, int,
		    const char *, int *);

static int
is_container_list(const char *f)
{
	return strcmp(f, "containers") == 0 ||
	    strcmp(f, "initContainers") == 0 ||
	    strcmp(f, "ephemeralContainers") == 0;
}

/* Merges patch list pl into the list at dst[field] by merge key key. */
static int
smp_list(struct smp *s, json_t *dst, const char *field, const json_t *pl,
    const char *key, int in_container, int depth)
{
	json_t *dl = json_object_get(dst, field), *pe, *de, *nl;
	const char *dir;
	size_t i, j;
	int r, del;

	/* an element {$patch: replace} replaces the list with the rest */
	json_array_foreach(pl, i, pe)
		if (json_is_object(pe) && (dir = sget(pe, "$patch")) != NULL &&
		    strcmp(dir, "replace") == 0)
			return json_object_set_new(dst, field, strip(pl));
	if (!json_is_array(dl)) {
		if ((nl = strip(pl)) == NULL)
			return ag_err_set(s->err, AG_EINTERNAL,
			    "out of memory");
		return json_object_set_new(dst, field, nl);
	}
	if (*key == '\0') {
		/* scalars as a set: the patch's new values appended */
		json_array_foreach(pl, i, pe) {
			for (j = 0; j < json_array_size(dl); j++)
				if (json_equal(json_array_get(dl, j), pe))
					break;
			if (j == json_array_size(dl))
				json_array_append_new(dl, json_deep_copy(pe));
		}
		return 0;
	}
	json_array_foreach(pl, i, pe) {
		const json_t *kv;

		if (!json_is_object(pe) || (kv = json_object_get(pe, key)) ==
		    NULL)
			return ag_err_set(s->err, AG_EINVAL, "strategic merge "
			    "patch: an element of %s has no merge key \"%s\"",
			    field, key);
		for (j = 0; j < json_array_size(dl); j++) {
			de = json_array_get(dl, j);
			if (json_is_object(de) &&
			    json_object_get(de, key) != NULL &&
			    jeq(json_object_get(de, key), kv))
				break;
		}
		dir = sget(pe, "$patch");
		if (dir != NULL && strcmp(dir, "delete") == 0) {
			if (j < json_array_size(dl))
				json_array_remove(dl, j);
			continue;
		}
		if (j == json_array_size(dl)) {
			json_array_append_new(dl, strip(pe));
			continue;
		}
		del = 0;
		if ((r = smp_map(s, json_array_get(dl, j), pe, depth + 1,
		    in_container || is_container_list(field), field, &del)) < 0)
			return r;
		if (del)
			json_array_remove(dl, j);
	}
	return 0;
}

/*
 * Merges patch map p into dst; *del when "$patch: delete" asks the parent
 * to drop dst.
 */
static int
smp_map(struct smp *s, json_t *dst, const json_t *p, int depth,
    int in_container, const char *parent, int *del)
{
	const char *k, *dir = sget(p, "$patch"), *mk;
	const json_t *v, *x;
	json_t *d, *c;
	size_t i, j;
	int r, cdel;

	*del = 0;
	if (depth > SMP_MAX_DEPTH)
		return ag_err_set(s->err, AG_ETOOBIG, "strategic merge patch "
		    "deeper than %d levels", SMP_MAX_DEPTH);
	if (dir != NULL && strcmp(dir, "delete") == 0) {
		*del = 1;
		return 0;
	}
	if (dir != NULL && strcmp(dir, "replace") == 0) {
		json_object_clear(dst);
		if ((c = strip(p)) == NULL)
			return ag_err_set(s->err, AG_EINTERNAL,
			    "out of memory");
		json_object_update(dst, c);
		json_decref(c);
		return 0;
	}
	if (dir != NULL && strcmp(dir, "merge") != 0)
		return ag_err_set(s->err, AG_EINVAL, "strategic merge patch: "
		    "unknown $patch: %.40s", dir);
	json_object_foreach((json_t *)(uintptr_t)p, k, v) {
		if (strncmp(k, "$deleteFromPrimitiveList/", 25) == 0) {
			d = json_object_get(dst, k + 25);
			json_array_foreach(v, i, x)
				for (j = json_array_size(d); j-- > 0;)
					if (json_equal(json_array_get(d, j), x))
						json_array_remove(d, j);
			continue;
		}
		if (is_directive(k))
			continue;	/* $setElementOrder, $retainKeys */
		if (json_is_null(v)) {
			json_object_del(dst, k);
			continue;
		}
		d = json_object_get(dst, k);
		if (json_is_object(v) && json_is_object(d)) {
			if ((r = smp_map(s, d, v, depth + 1, in_container, k,
			    &cdel)) < 0)
				return r;
			if (cdel)
				json_object_del(dst, k);
			continue;
		}
		if (json_is_object(v) && sget(v, "$patch") != NULL &&
		    strcmp(sget(v, "$patch"), "delete") == 0) {
			json_object_del(dst, k);
			continue;
		}
		if (json_is_array(v) && (mk = merge_key(s, k, in_container,
		    depth, parent)) != NULL) {
			if ((r = smp_list(s, dst, k, v, mk, in_container,
			    depth)) < 0)
				return r;
			continue;
		}
		if ((c = strip(v)) == NULL ||
		    json_object_set_new(dst, k, c) < 0)
			return ag_err_set(s->err, AG_EINTERNAL,
			    "out of memory");
	}
	return 0;
}

static void
split_api(const char *api, char *group, size_t gsz, const char **version)
{
	const char *slash = strchr(api, '/');

	if (slash == NULL) {
		group[0] = '\0';
		*version = api;
		return;
	}
	snprintf(group, gsz, "%.*s", (int)(slash - api), api);
	*version = slash + 1;
}

/* Kubernetes' own API groups: merge keys apply to their kinds. */
static int
builtin_group(const char *g)
{
	size_t n = strlen(g);

	return strchr(g, '.') == NULL ||
	    (n > 7 && strcmp(g + n - 7, ".k8s.io") == 0);
}

int
ag_kustomize_smp(json_t *doc, const json_t *patch, int *deleted,
    struct ag_err *err)
{
	struct smp s;
	char group[128];
	const char *version, *api = sget(doc, "apiVersion");

	*deleted = 0;
	if (!json_is_object(doc) || !json_is_object(patch))
		return ag_err_set(err, AG_EINVAL,
		    "a strategic merge patch and its target must be maps");
	split_api(api ? api : "", group, sizeof group, &version);
	s.builtin = builtin_group(group);
	s.kind = sget(doc, "kind") ? sget(doc, "kind") : "";
	s.err = err;
	return smp_map(&s, doc, patch, 0, 0, "", deleted);
}

/* ------------------------------------------------------------ apply */

static const char *
meta(const json_t *doc, const char *k)
{
	const char *s = sget(json_object_get(doc, "metadata"), k);

	return s != NULL ? s : "";
}

static const char *
ns_of(const json_t *doc)
{
	const char *ns = meta(doc, "namespace");

	return *ns != '\0' ? ns : "default";
}

static int
apply_smp_doc(json_t *docs, const json_t *p, size_t pi, struct ag_err *err)
{
	const char *api = sget(p, "apiVersion"), *kind = sget(p, "kind");
	const char *name = meta(p, "name");
	struct ag_err e = { 0, "" };
	size_t i, hit = 0, nhit = 0;
	json_t *d;
	int r, del;

	if (api == NULL || kind == NULL || *name == '\0')
		return ag_err_set(err, AG_EINVAL, "strategicMergePatches: "
		    "document %zu needs apiVersion, kind and metadata.name",
		    pi + 1);
	json_array_foreach(docs, i, d) {
		if (!json_is_object(d))
			continue;
		if (sget(d, "apiVersion") && strcmp(sget(d, "apiVersion"),
		    api) == 0 && sget(d, "kind") && strcmp(sget(d, "kind"),
		    kind) == 0 && strcmp(meta(d, "name"), name) == 0 &&
		    strcmp(ns_of(d), ns_of(p)) == 0) {
			hit = i;
			nhit++;
		}
	}
	if (nhit != 1)
		return ag_err_set(err, AG_EINVAL, "strategicMergePatches: "
		    "document %zu: %s resource %s %s/%s (%s) to patch",
		    pi + 1, nhit == 0 ? "no" : "more than one", kind, ns_of(p),
		    name, api);
	if ((r = ag_kustomize_smp(json_array_get(docs, hit), p, &del,
	    &e)) < 0)
		return ag_err_set(err, r, "strategicMergePatches: document "
		    "%zu: %s", pi + 1, e.msg);
	if (del)
		json_array_set_new(docs, hit, json_null());
	return 0;
}

/* kustomize's selector: empty fields select all; name a whole regex. */
static int
selects(const json_t *target, const json_t *doc, regex_t *re)
{
	char group[128];
	const char *version, *api = sget(doc, "apiVersion");
	const char *tg = sget(target, "group"), *tv = sget(target, "version");
	const char *tk = sget(target, "kind"), *tn = sget(target, "name");
	const char *tns = sget(target, "namespace");

	split_api(api ? api : "", group, sizeof group, &version);
	if (tg != NULL && *tg != '\0' && strcmp(tg, group) != 0)
		return 0;
	if (tv != NULL && *tv != '\0' && strcmp(tv, version) != 0)
		return 0;
	if (tk != NULL && *tk != '\0' && (sget(doc, "kind") == NULL ||
	    strcmp(tk, sget(doc, "kind")) != 0))
		return 0;
	if (tns != NULL && *tns != '\0' && strcmp(tns, ns_of(doc)) != 0)
		return 0;
	if (tn != NULL && *tn != '\0') {
		if (re != NULL)
			return regexec(re, meta(doc, "name"), 0, NULL, 0) == 0;
		return strcmp(tn, meta(doc, "name")) == 0;
	}
	return 1;
}

static int
apply_json6902(json_t *docs, const json_t *entry, size_t ei,
    json_t *warnings, struct ag_err *err)
{
	const json_t *target = json_object_get(entry, "target");
	const json_t *pv = json_object_get(entry, "patch");
	const char *tn = sget(target, "name");
	struct ag_err e = { 0, "" };
	json_t *patch = NULL, *d;
	regex_t re, *rep = NULL;
	char *rx = NULL;
	size_t i, nhit = 0;
	int r = 0, del;

	if (!json_is_object(entry))
		return ag_err_set(err, AG_EINVAL, "json6902Patches[%zu] is not "
		    "a map of target and patch", ei);
	if (target != NULL && !json_is_object(target))
		return ag_err_set(err, AG_EINVAL, "json6902Patches[%zu]: target "
		    "must be a map of group, version, kind and name", ei);
	if (json_is_string(pv)) {
		if ((r = ag_yaml_load(&patch, json_string_value(pv),
		    json_string_length(pv), "patch", &e)) < 0)
			return ag_err_set(err, r, "json6902Patches[%zu]: %s",
			    ei, e.msg);
	} else if (json_is_array(pv) || json_is_object(pv))
		patch = json_incref((json_t *)(uintptr_t)pv);
	if (!json_is_array(patch) && !json_is_object(patch)) {
		json_decref(patch);
		return ag_err_set(err, AG_EINVAL, "json6902Patches[%zu]: patch "
		    "must be a list of operations (or a strategic merge "
		    "patch)", ei);
	}
	if (tn != NULL && *tn != '\0' && (rx = malloc(strlen(tn) + 5)) !=
	    NULL) {
		sprintf(rx, "^(%s)$", tn);
		if (regcomp(&re, rx, REG_EXTENDED | REG_NOSUB) == 0)
			rep = &re;
		free(rx);
	}
	for (i = 0; i < json_array_size(docs); i++) {
		d = json_array_get(docs, i);
		if (!json_is_object(d) || !selects(target, d, rep))
			continue;
		nhit++;
		if (json_is_array(patch)) {
			json_incref(d);
			if ((r = ag_kustomize_json6902(&d, patch, &e)) < 0) {
				json_decref(d);
				r = ag_err_set(err, r, "json6902Patches[%zu] on "
				    "%s %s: %s", ei, sget(d, "kind") ?
				    sget(d, "kind") : "?", meta(d, "name"),
				    e.msg);
				goto out;
			}
			json_array_set_new(docs, i, d);
		} else {
			if ((r = ag_kustomize_smp(d, patch, &del, &e)) < 0) {
				r = ag_err_set(err, r, "json6902Patches[%zu] on "
				    "%s: %s", ei, meta(d, "name"), e.msg);
				goto out;
			}
			if (del)
				json_array_set_new(docs, i, json_null());
		}
	}
	if (nhit == 0 && warnings != NULL)
		json_array_append_new(warnings, json_sprintf("json6902Patches"
		    "[%zu]: the target (kind %s, name %s) selects no resource; "
		    "nothing patched", ei, sget(target, "kind") ?
		    sget(target, "kind") : "any", tn && *tn ? tn : "any"));
out:
	if (rep != NULL)
		regfree(rep);
	json_decref(patch);
	return r;
}

int
ag_kustomize_apply(json_t *docs, const json_t *smp, const json_t *json6902,
    json_t *warnings, struct ag_err *err)
{
	json_t *pdocs = NULL, *p;
	size_t i;
	int r = 0;

	if (!json_is_array(docs))
		return ag_err_set(err, AG_EINVAL, "no documents to patch");
	if (smp != NULL && !json_is_null(smp)) {
		if (!json_is_string(smp))
			return ag_err_set(err, AG_EINVAL, "strategicMergePatches "
			    "must be a string of YAML documents");
		if ((r = ag_yaml_load_all(&pdocs, json_string_value(smp),
		    json_string_length(smp), "strategicMergePatches",
		    err)) < 0)
			return r;
		if (json_array_size(pdocs) > AG_KUSTOMIZE_MAX_PATCHES) {
			r = ag_err_set(err, AG_ETOOBIG, "strategicMergePatches: "
			    "more than %d documents", AG_KUSTOMIZE_MAX_PATCHES);
			goto out;
		}
		json_array_foreach(pdocs, i, p) {
			if (!json_is_object(p)) {
				r = ag_err_set(err, AG_EINVAL,
				    "strategicMergePatches: document %zu is "
				    "not a map", i + 1);
				goto out;
			}
			if ((r = apply_smp_doc(docs, p, i, err)) < 0)
				goto out;
		}
	}
	if (json6902 != NULL && !json_is_null(json6902)) {
		if (!json_is_array(json6902)) {
			r = ag_err_set(err, AG_EINVAL, "json6902Patches must be "
			    "a list of {target, patch}");
			goto out;
		}
		if (json_array_size(json6902) > AG_KUSTOMIZE_MAX_PATCHES) {
			r = ag_err_set(err, AG_ETOOBIG, "json6902Patches: more "
			    "than %d entries", AG_KUSTOMIZE_MAX_PATCHES);
			goto out;
		}
		json_array_foreach(json6902, i, p)
			if ((r = apply_json6902(docs, p, i, warnings,
			    err)) < 0)
				goto out;
	}
out:
	json_decref(pdocs);
	return r;
}

/*
 * The built-in renderer against real helm: every case of tests/render/cases/
 * is rendered by render_manifest() and compared with what `helm template`
 * of OneChart 0.74.0 made of it (tests/render/golden/, written by
 * scripts/onechart-golden.sh; no helm needed here). Semantic: documents
 * matched by kind and name, compared field by field; only what
 * hooks/RENDER.md lists as helm's own is ignored. Prints one line per case
 * and, on a mismatch, every differing field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "auger/yaml.h"
#include "../../hooks/render.h"
#include "../../hooks/validate.h"

#define CASES	"tests/render/cases"
#define GOLDEN	"tests/render/golden"
#define MAX_DIFFS	40

struct diff {
	char	 lines[MAX_DIFFS][512];
	int	 n;
	int	 more;
};

static void
diff_add(struct diff *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
diff_add(struct diff *d, const char *fmt, ...)
{
	va_list ap;

	if (d->n == MAX_DIFFS) {
		d->more++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(d->lines[d->n++], sizeof d->lines[0], fmt, ap);
	va_end(ap);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

/* A value as short text for a diff line. */
static void
show(char *out, size_t outsz, const json_t *v)
{
	char *s;

	if (v == NULL) {
		snprintf(out, outsz, "(absent)");
		return;
	}
	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
	snprintf(out, outsz, "%.200s%s", s ? s : "?",
	    s != NULL && strlen(s) > 200 ? "..." : "");
	free(s);
}

/*
 * What the API server would store: keys with null values dropped (helm
 * writes `initContainers: null` and the like).
 */
static json_t *
normalize(const json_t *v)
{
	const char *k;
	json_t *out, *x;
	size_t i;

	if (json_is_object(v)) {
		out = json_object();
		json_object_foreach((json_t *)(uintptr_t)v, k, x)
			if (!json_is_null(x))
				json_object_set_new(out, k, normalize(x));
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, x)
			json_array_append_new(out, normalize(x));
		return out;
	}
	return json_deep_copy(v);
}

static int
num_equal(const json_t *a, const json_t *b)
{
	return json_is_number(a) && json_is_number(b) &&
	    json_number_value(a) == json_number_value(b);
}

static void
compare(struct diff *d, const char *path, const json_t *ours,
    const json_t *helm)
{
	char sub[400], a[256], b[256];
	const char *k;
	json_t *x;
	size_t i, n;

	if (json_is_object(ours) && json_is_object(helm)) {
		json_object_foreach((json_t *)(uintptr_t)helm, k, x) {
			snprintf(sub, sizeof sub, "%s.%s", path, k);
			compare(d, sub, json_object_get(ours, k), x);
		}
		json_object_foreach((json_t *)(uintptr_t)ours, k, x)
			if (json_object_get(helm, k) == NULL) {
				snprintf(sub, sizeof sub, "%s.%s", path, k);
				compare(d, sub, x, NULL);
			}
		return;
	}
	if (json_is_array(ours) && json_is_array(helm)) {
		n = json_array_size(ours) > json_array_size(helm) ?
		    json_array_size(ours) : json_array_size(helm);
		for (i = 0; i < n; i++) {
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			compare(d, sub, json_array_get(ours, i),
			    json_array_get(helm, i));
		}
		return;
	}
	if ((ours != NULL && helm != NULL && json_equal(ours, helm)) ||
	    num_equal(ours, helm))
		return;
	show(a, sizeof a, ours);
	show(b, sizeof b, helm);
	diff_add(d, "%s: ours %s, helm %s", path, a, b);
}

static const char *
str_at(const json_t *doc, const char *k1, const char *k2)
{
	const json_t *x = json_object_get(doc, k1);

	if (k2 != NULL)
		x = json_object_get(x, k2);
	return json_is_string(x) ? json_string_value(x) : "";
}

/*
 * The fields that are helm's own (hooks/RENDER.md, "Compared with
 * helm"): its labels, and the values of checksum/config and of the
 * bcrypt line in a basic-auth Secret, whose salt helm draws at random.
 */
static void
drop_helm_fields(json_t *doc, const char *ns, const json_t *values)
{
	static const char *const helm_labels[] = { "helm.sh/chart",
	    "app.kubernetes.io/managed-by", "app.kubernetes.io/version", NULL };
	json_t *meta = json_object_get(doc, "metadata"), *ann, *auth;
	const char *const *l;
	const char *kind = str_at(doc, "kind", NULL);

	(void)values;
	for (l = helm_labels; *l != NULL; l++)
		json_object_del(json_object_get(meta, "labels"), *l);
	if (json_object_size(json_object_get(meta, "labels")) == 0)
		json_object_del(meta, "labels");
	/* helm install puts a document without a namespace in the release's */
	if (meta == NULL && !validate_is_cluster_kind(kind)) {
		meta = json_object();
		json_object_set_new(doc, "metadata", meta);
	}
	if (json_is_object(meta) && json_object_get(meta, "namespace") == NULL &&
	    !validate_is_cluster_kind(kind))
		json_object_set_new(meta, "namespace", json_string(ns));
	ann = json_object_get(json_object_get(json_object_get(
	    json_object_get(doc, "spec"), "template"), "metadata"),
	    "annotations");
	if (json_object_get(ann, "checksum/config") != NULL)
		json_object_set_new(ann, "checksum/config",
		    json_string("(checksum)"));
	auth = json_object_get(json_object_get(doc, "data"), "auth");
	if (strcmp(kind, "Secret") == 0 && json_is_string(auth)) {
		/* keep "user:", drop the hash: checked by test_render.c */
		unsigned char raw[512];
		int n = EVP_DecodeBlock(raw, (const unsigned char *)
		    json_string_value(auth), (int)json_string_length(auth));
		char *colon;

		if (n > 0 && n < (int)sizeof raw) {
			raw[n] = '\0';
			if ((colon = strchr((char *)raw, ':')) != NULL &&
			    strncmp(colon + 1, "$2", 2) == 0) {
				colon[1] = '\0';
				json_object_set_new(json_object_get(doc, "data"),
				    "auth", json_string((char *)raw));
			}
		}
	}
}

static json_t *
index_docs(const json_t *docs, const char *ns, const json_t *values,
    struct diff *d, const char *who)
{
	json_t *idx = json_object(), *doc, *n;
	char key[400];
	size_t i;
	int dup;

	(void)d;
	(void)who;
	json_array_foreach(docs, i, doc) {
		if (!json_is_object(doc))
			continue;
		n = normalize(doc);
		drop_helm_fields(n, ns, values);
		/* the same kind and name again (nameless extraDeploy): #2... */
		for (dup = 1;; dup++) {
			snprintf(key, sizeof key, dup == 1 ? "%s/%s" :
			    "%s/%s#%d", str_at(n, "kind", NULL),
			    str_at(n, "metadata", "name"), dup);
			if (json_object_get(idx, key) == NULL)
				break;
		}
		json_object_set_new(idx, key, n);
	}
	return idx;
}

/* The text after "# refuse: " in the case's leading comments, or NULL. */
static char *
refuse_note(const char *text)
{
	const char *p = text, *e;

	while (*p == '#') {
		e = strchr(p, '\n');
		if (strncmp(p, "# refuse: ", 10) == 0)
			return strndup(p + 10, e ? (size_t)(e - p - 10) :
			    strlen(p + 10));
		if (e == NULL)
			break;
		p = e + 1;
	}
	return NULL;
}

enum verdict { V_EQUAL, V_REFUSED, V_DIFFER };

/* Renders one case and compares it; fills d with what differs. */
static enum verdict
run_case(const char *name, struct diff *d)
{
	char path[512], *text = NULL, *gold = NULL, *note = NULL;
	struct ag_err err = { 0, "" };
	struct render_out *ro = NULL;
	json_t *m = NULL, *ours = NULL, *helm = NULL, *oi = NULL, *hi = NULL;
	json_t *docs, *x;
	const char *ns, *k, *line, *e;
	enum verdict v = V_DIFFER;
	size_t len, i;
	int rc;

	snprintf(path, sizeof path, CASES "/%s.yaml", name);
	if ((text = slurp(path, &len)) == NULL) {
		diff_add(d, "cannot read %s", path);
		goto out;
	}
	note = refuse_note(text);
	if (ag_yaml_load(&m, text, len, path, &err) < 0) {
		diff_add(d, "%s", err.msg);
		goto out;
	}
	ns = json_is_string(json_object_get(m, "namespace")) ?
	    json_string_value(json_object_get(m, "namespace")) : "default";
	rc = render_manifest(&ro, m, &err);

	snprintf(path, sizeof path, GOLDEN "/%s.err", name);
	if ((gold = slurp(path, &len)) != NULL) {
		/* helm refused: so must we, with each of its schema messages */
		if (rc == 0) {
			diff_add(d, "helm refuses, we render; helm: %.300s",
			    gold);
			goto out;
		}
		for (line = gold; *line != '\0'; line = *e ? e + 1 : e) {
			e = line + strcspn(line, "\n");
			if (strncmp(line, "- ", 2) == 0 &&
			    memmem(err.msg, strlen(err.msg), line + 2,
			    (size_t)(e - line - 2)) == NULL)
				diff_add(d, "our message lacks helm's \"%.*s\": "
				    "%s", (int)(e - line - 2), line + 2,
				    err.msg);
		}
		v = d->n == 0 ? V_REFUSED : V_DIFFER;
		goto out;
	}
	if (note != NULL) {
		/* helm renders it, the API server would refuse it */
		if (rc == 0)
			diff_add(d, "we render what the API server refuses "
			    "(%s)", note);
		else if (strstr(err.msg, note) == NULL)
			diff_add(d, "our message \"%s\" lacks \"%s\"", err.msg,
			    note);
		v = d->n == 0 ? V_REFUSED : V_DIFFER;
		goto out;
	}
	if (rc != 0) {
		diff_add(d, "we refuse what helm renders: %s", err.msg);
		goto out;
	}
	snprintf(path, sizeof path, GOLDEN "/%s.yaml", name);
	if ((gold = slurp(path, &len)) == NULL) {
		diff_add(d, "no golden %s: run scripts/onechart-golden.sh",
		    path);
		goto out;
	}
	if (ag_yaml_load_all(&helm, gold, len, path, &err) < 0) {
		diff_add(d, "%s", err.msg);
		goto out;
	}
	ours = json_array();
	for (i = 0; i < ro->nfiles; i++) {
		if (ag_yaml_load_all(&docs, ro->files[i].data, ro->files[i].len,
		    ro->files[i].name, &err) < 0) {
			diff_add(d, "our %s: %s", ro->files[i].name, err.msg);
			goto out;
		}
		json_array_extend(ours, docs);
		json_decref(docs);
	}
	oi = index_docs(ours, ns, json_object_get(m, "values"), d, "ours");
	hi = index_docs(helm, ns, json_object_get(m, "values"), d, "helm's");
	json_object_foreach(hi, k, x) {
		if (json_object_get(oi, k) == NULL) {
			diff_add(d, "%s: only in helm's output", k);
			continue;
		}
		compare(d, k, json_object_get(oi, k), x);
	}
	json_object_foreach(oi, k, x)
		if (json_object_get(hi, k) == NULL)
			diff_add(d, "%s: only in ours", k);
	if (d->n == 0)
		v = V_EQUAL;
out:
	render_out_free(ro);
	json_decref(m);
	json_decref(ours);
	json_decref(helm);
	json_decref(oi);
	json_decref(hi);
	free(text);
	free(gold);
	free(note);
	return v;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_golden(void **state)
{
	static struct diff d;
	char **names = NULL, *only = getenv("RENDER_CASE");
	size_t n = 0, cap = 0, i, len;
	int equal = 0, refused = 0, differ = 0, j;
	struct dirent *de;
	enum verdict v;
	DIR *dir;

	(void)state;
	assert_non_null(dir = opendir(CASES));
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			assert_non_null(names = realloc(names,
			    cap * sizeof *names));
		}
		names[n++] = strndup(de->d_name, len - 5);
	}
	closedir(dir);
	qsort(names, n, sizeof *names, cmp_names);
	for (i = 0; i < n; i++) {
		if (only != NULL && strcmp(only, names[i]) != 0)
			continue;
		memset(&d, 0, sizeof d);
		v = run_case(names[i], &d);
		if (v == V_EQUAL)
			equal++;
		else if (v == V_REFUSED)
			refused++;
		else
			differ++;
		printf("%s %s\n", v == V_EQUAL ? "EQUAL  " : v == V_REFUSED ?
		    "REFUSED" : "DIFFER ", names[i]);
		for (j = 0; j < d.n; j++)
			printf("    %s\n", d.lines[j]);
		if (d.more > 0)
			printf("    ... and %d more\n", d.more);
		free(names[i]);
	}
	free(names);
	printf("golden: %d cases: %d equal to helm, %d refused as helm or "
	    "the API server would, %d differ\n", equal + refused + differ,
	    equal, refused, differ);
	assert_true(only != NULL || equal + refused + differ >= 100);
	assert_int_equal(differ, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Gimlet's Render (pkg/dx/manifest.go): the chart and raw manifests are
 * rendered, then kustomize patches run over the result.
 */
#include <stdlib.h>
#include <string.h>

#include "auger/kustomize.h"
#include "auger/yaml.h"
#include "patch.h"

static int
patch_nonempty(const json_t *v)
{
	return v != NULL && !json_is_null(v) &&
	    !(json_is_string(v) && json_string_length(v) == 0) &&
	    !(json_is_array(v) && json_array_size(v) == 0);
}

int
patch_render(struct render_out **out, const json_t *manifest,
    const json_t *vars,
    struct ag_err *err)
{
	const json_t *smp = json_object_get(manifest, "strategicMergePatches");
	const json_t *jp = json_object_get(manifest, "json6902Patches");
	struct render_out *ro = NULL;
	struct ag_err e = { 0, "" };
	json_t *m = NULL, *docs = NULL, *orig = NULL, *fdocs = NULL, *d;
	size_t *count = NULL, i, j, k, w, live;
	char *text;
	size_t len;
	int r = -1;

	*out = NULL;
	if (!json_is_object(manifest) ||
	    (!patch_nonempty(smp) && !patch_nonempty(jp)))
		return render_manifest_vars(out, manifest, vars, err);
	/* the renderer never sees the patches */
	if ((m = json_copy((json_t *)manifest)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	json_object_del(m, "strategicMergePatches");
	json_object_del(m, "json6902Patches");
	if ((r = render_manifest_vars(&ro, m, vars, err)) < 0)
		goto out;
	docs = json_array();
	count = calloc(ro->nfiles + 1, sizeof *count);
	if (docs == NULL || count == NULL) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < ro->nfiles; i++) {
		if ((r = ag_yaml_load_all(&fdocs, ro->files[i].data,
		    ro->files[i].len, ro->files[i].name, err)) < 0)
			goto out;
		count[i] = json_array_size(fdocs);
		json_array_extend(docs, fdocs);
		json_decref(fdocs);
		fdocs = NULL;
	}
	if ((orig = json_deep_copy(docs)) == NULL) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	if ((r = ag_kustomize_apply(docs, smp, jp, ro->warnings, &e)) < 0) {
		r = ag_err_set(err, r, "cannot apply Kustomize patches: %s",
		    e.msg);
		goto out;
	}
	/* write back the files whose documents changed */
	for (i = 0, k = 0, w = 0; i < ro->nfiles; k += count[i], i++) {
		int changed = 0, all = strncmp(ro->files[i].data, "---", 3) == 0;

		live = 0;
		for (j = 0; j < count[i]; j++) {
			d = json_array_get(docs, k + j);
			if (!json_equal(d, json_array_get(orig, k + j)))
				changed = 1;
			if (!json_is_null(d))
				live++;
		}
		if (live == 0) {
			free(ro->files[i].name);
			free(ro->files[i].data);
			continue;
		}
		if (changed) {
			if ((fdocs = json_array()) == NULL) {
				r = ag_err_set(err, AG_EINTERNAL,
				    "out of memory");
				goto out;
			}
			for (j = 0; j < count[i]; j++)
				if (!json_is_null(d = json_array_get(docs,
				    k + j)))
					json_array_append(fdocs, d);
			if (all || live > 1)
				r = ag_yaml_dump_all(&text, &len, fdocs, err);
			else
				r = ag_yaml_dump(&text, &len,
				    json_array_get(fdocs, 0), err);
			json_decref(fdocs);
			fdocs = NULL;
			if (r < 0) {
				/* this file and those after it stay listed */
				for (; i < ro->nfiles; i++)
					ro->files[w++] = ro->files[i];
				ro->nfiles = w;
				goto out;
			}
			free(ro->files[i].data);
			ro->files[i].data = text;
			ro->files[i].len = len;
		}
		ro->files[w++] = ro->files[i];
	}
	ro->nfiles = w;
	if (ro->nfiles == 0) {
		r = ag_err_set(err, AG_EINVAL, "the Kustomize patches deleted "
		    "every rendered resource");
		goto out;
	}
	*out = ro;
	ro = NULL;
	r = 0;
out:
	render_out_free(ro);
	json_decref(m);
	json_decref(docs);
	json_decref(orig);
	json_decref(fdocs);
	free(count);
	return r;
}

/*
 * Kustomize patches on rendered Kubernetes documents, as Gimlet applies
 * them (pkg/dx/kustomize.go): strategic merge patches and RFC 6902 JSON
 * patches with targets. Pure functions on jansson trees.
 */
#ifndef AUGER_KUSTOMIZE_H
#define AUGER_KUSTOMIZE_H

#include <jansson.h>

#include "auger/err.h"

/* Operations in one JSON patch, patch documents in one call. */
#define AG_KUSTOMIZE_MAX_OPS	1024
#define AG_KUSTOMIZE_MAX_PATCHES	256

/*
 * Applies an RFC 6902 patch (an array of {op, path, from, value}: add,
 * remove, replace, move, copy, test; RFC 6901 pointers with ~0 and ~1,
 * "-" for the end of an array) to *doc. All or nothing: on error *doc is
 * unchanged and err names the operation. *doc may be replaced (path "").
 */
int	ag_kustomize_json6902(json_t **doc, const json_t *ops,
	    struct ag_err *err);

/*
 * Merges one strategic merge patch into doc, a resource of the given kind:
 * maps merge, null deletes a key, "$patch: replace" and "$patch: delete"
 * work on maps and list elements, "$setElementOrder/..." and
 * "$retainKeys" are skipped, and lists merge by their Kubernetes merge
 * key (containers, initContainers, env, volumes, imagePullSecrets by name,
 * ports by containerPort or a Service's by port, volumeMounts by mountPath,
 * ...) in built-in kinds; other lists are replaced. *deleted is set when
 * the patch deletes the whole resource.
 */
int	ag_kustomize_smp(json_t *doc, const json_t *patch, int *deleted,
	    struct ag_err *err);

/*
 * Gimlet's ApplyPatches on docs, an array of resources, in place: first
 * every document of smp (a string of YAML documents, or NULL) is merged
 * into the one resource with its apiVersion, kind, name and namespace
 * ("" reads "default"); then each json6902 entry ({target: {group,
 * version, kind, name}, patch: "YAML or JSON"}) is applied to every
 * resource the target selects (empty fields select all; name is an
 * anchored regular expression, as kustomize has it); a patch that is a
 * map instead of a list of operations is a strategic merge patch, as in
 * kustomize's "patches". A resource deleted by a patch becomes null in
 * docs. A target that selects nothing adds a line to warnings (an array,
 * may be NULL).
 */
int	ag_kustomize_apply(json_t *docs, const json_t *smp,
	    const json_t *json6902, json_t *warnings, struct ag_err *err);

#endif

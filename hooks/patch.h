/* The render stage with Gimlet's kustomize patches on its output. */
#ifndef AUGER_HOOKS_PATCH_H
#define AUGER_HOOKS_PATCH_H

#include <jansson.h>

#include "auger/err.h"
#include "render.h"

/*
 * render_manifest_vars (render hooks first, with vars), then the
 * manifest's strategicMergePatches and
 * json6902Patches applied to the rendered documents (ag_kustomize_apply),
 * as Gimlet's Render does. Files whose documents the patches change are
 * written again; a file whose every document is deleted is dropped.
 * Warnings of the patches join the render warnings.
 */
int	patch_render(struct render_out **out, const json_t *manifest,
	    const json_t *vars,
	    struct ag_err *err);

#endif

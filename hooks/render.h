/* The built-in "render" hook stage: a deploy manifest -> app folder files. */
#ifndef AUGER_HOOKS_RENDER_H
#define AUGER_HOOKS_RENDER_H

#include <stddef.h>

#include <jansson.h>

#include "auger/err.h"

/* At most this many values.volumes, values.vars and values.ports. */
#define RENDER_MAX_VOLUMES	64
#define RENDER_MAX_VARS		256
#define RENDER_MAX_PORTS	64

struct render_file {
	char	*name;		/* owned; e.g. "deployment.yaml" */
	char	*data;		/* owned; NUL-terminated YAML */
	size_t	 len;		/* bytes of data, without the NUL */
};

struct render_out {
	struct render_file *files;	/* owned; sorted by name */
	size_t		 nfiles;
	json_t		*warnings;	/* owned; array of strings */
};

/*
 * Renders an already-templated deploy manifest (app, env, namespace,
 * chart, values, manifests, strategicMergePatches) into the files of the
 * app's folder: OneChart's resources when chart names onechart (see
 * hooks/RENDER.md), plus manifests.yaml for raw manifests. Every document
 * carries metadata.namespace. Same input, same bytes. Values keys it does
 * not implement are reported in warnings, never dropped in silence.
 */
int	render_manifest(struct render_out **out, const json_t *manifest,
	    struct ag_err *err);
void	render_out_free(struct render_out *r);

#endif

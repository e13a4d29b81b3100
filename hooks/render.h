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
/* Bytes of one plain secret value (values.fileSecrets[].secrets). */
#define RENDER_MAX_SECRET	(1024 * 1024)
/* "$2a$10$" + 22 characters of salt + 31 of hash. */
#define RENDER_BCRYPT_LEN	60
/* bcrypt's cost for basic-auth passwords: Go's bcrypt.DefaultCost. */
#define RENDER_BCRYPT_COST	10

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
/*
 * As render_manifest, with the deploy's vars for the render hooks: when
 * render_hooks_set() named a directory and the manifest has a chart, the
 * executables there (runner_render, hooks/RENDER.md) are offered the
 * intent {app, env, namespace, chart, values, vars} first; the first to
 * claim it renders the chart, its output going through the same file and
 * namespace rules as raw manifests. None claims it: the built-in OneChart
 * renderer, or a refusal for any other chart.
 */
int	render_manifest_vars(struct render_out **out, const json_t *manifest,
	    const json_t *vars, struct ag_err *err);
void	render_out_free(struct render_out *r);

/* A render hook's deadline: the default, and the most it may be set to. */
#define RENDER_HOOK_TIMEOUT_MS		60000
#define RENDER_HOOK_MAX_TIMEOUT_MS	(10 * 60 * 1000)
/*
 * Where the render hooks are (DATA/hooks/render.d; NULL or "" for none)
 * and the time each has (ms; 0 for RENDER_HOOK_TIMEOUT_MS). Called once at
 * start-up, before any render: not thread-safe.
 */
void	render_hooks_set(const char *dir, int timeout_ms);

/*
 * Checks OneChart values (the user's merged over the chart's defaults)
 * against OneChart 0.74.0's values.schema.json; AG_EINVAL with each
 * violation in gojsonschema's words, as helm refuses (render_schema.c).
 */
int	render_schema_check(const json_t *values, struct ag_err *err);

/* bcrypt of password (at most 72 bytes) with salt: "$2a$CC$...", 0 or -1. */
int	render_bcrypt(char out[RENDER_BCRYPT_LEN + 1], const char *password,
	    const unsigned char salt[16], int cost);

#endif

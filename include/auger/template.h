/*
 * Gimlet-compatible templating of deploy manifests: Go's text/template
 * with sprig's generic functions, as Gimlet's ResolveVars runs it.
 */
#ifndef AUGER_TEMPLATE_H
#define AUGER_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

#include "auger/err.h"

/* Bytes one expansion may produce; ag_template_json's total, too. */
#define AG_TEMPLATE_MAX_OUT	(8 * 1024 * 1024)
/* Longest result of ag_sanitize_dns (Gimlet cuts at 53, Helm's limit). */
#define AG_SANITIZE_DNS_MAX	53

/*
 * Expands text as a Go template with Option("missingkey=error") whose data
 * is vars, a JSON object of strings (numbers and booleans are stringified;
 * NULL is an empty object). Supported: {{ .NAME }}, pipelines
 * (a | f b), function calls with string, number, true/false/nil
 * constants and (parenthesised) pipelines as arguments, if / else if /
 * else / with / end, comments, the trim markers {{- and -}},
 * Go's builtins and, or, not, eq, ne, lt, le, gt, ge, len, index, print,
 * printf, println, sanitizeDNSName and the sprig functions listed in
 * README.md. A variable whose value holds a template is resolved first
 * (against the other variables; a cycle is an error), as Gimlet resolves
 * vars in vars. An unknown variable fails with
 *   template: line 3: no variable "FOO" (missingkey=error)
 * and anything else unsupported with an error naming it. *out is
 * malloc'd and NUL-terminated.
 */
int	ag_template_expand(char **out, const char *text, const json_t *vars,
	    struct ag_err *err);

/*
 * Applies ag_template_expand to every string value of in, recursively
 * (object keys are left alone), and returns a new tree: the template is
 * applied to the parsed manifest, so a YAML comment never reaches it. An
 * error message ends with " at PATH" (e.g. "at values.image.tag").
 */
int	ag_template_json(json_t **out, const json_t *in, const json_t *vars,
	    struct ag_err *err);

/*
 * Parses one YAML manifest (ag_yaml_load, filename for errors) and
 * templates the parsed document with ag_template_json.
 */
int	ag_template_yaml(json_t **out, const char *text, size_t len,
	    const char *filename, const json_t *vars, struct ag_err *err);

/*
 * The template variables of an artifact, as Gimlet's CollectVariables
 * gathers them: the version's fields as SHA, BRANCH, TAG, EVENT, REPO
 * (what CI does not set itself), then context, then the string values of
 * every items entry, then vars, each overriding the one before. Non-string
 * vars are written as JSON. app, when not NULL, is set as APP.
 */
json_t	*ag_template_artifact_vars(const json_t *artifact, const char *app);

/*
 * Gimlet's sanitizeDNSName: lowercase, each run of characters outside
 * [0-9a-z] becomes one '-', cut to AG_SANITIZE_DNS_MAX characters, then a
 * leading and a trailing '-' are dropped: "feature/My_Branch" reads
 * "feature-my-branch". Writes into out (outsz >= 64) and returns it.
 */
const char *ag_sanitize_dns(char *out, size_t outsz, const char *in);

#endif

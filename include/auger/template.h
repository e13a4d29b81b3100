/* Gimlet-compatible {{ .VAR }} templating of deploy manifests. */
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
 * Expands {{ .NAME }} and {{ .NAME | sanitizeDNSName }} in text with vars,
 * a JSON object of strings (numbers and booleans are stringified; NULL is
 * an empty object). Spaces inside the braces are optional and Go's trim
 * markers ({{- and -}}) work. Expanded values are never expanded again.
 * An unknown variable fails with
 *   template: line 3: no variable "FOO" (missingkey=error)
 * and any other {{ ... }} construct with an error naming it. *out is
 * malloc'd and NUL-terminated.
 */
int	ag_template_expand(char **out, const char *text, const json_t *vars,
	    struct ag_err *err);

/*
 * Applies ag_template_expand to every string value of in, recursively
 * (object keys are left alone), and returns a new tree. An error message
 * ends with " at PATH" (e.g. "at values.image.tag").
 */
int	ag_template_json(json_t **out, const json_t *in, const json_t *vars,
	    struct ag_err *err);

/*
 * Gimlet's sanitizeDNSName: lowercase, each run of characters outside
 * [0-9a-z] becomes one '-', cut to AG_SANITIZE_DNS_MAX characters, then a
 * leading and a trailing '-' are dropped: "feature/My_Branch" reads
 * "feature-my-branch". Writes into out (outsz >= 64) and returns it.
 */
const char *ag_sanitize_dns(char *out, size_t outsz, const char *in);

#endif

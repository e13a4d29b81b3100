/*
 * Fuzzes the templating (src/template.c): the input is expanded as text,
 * sanitized as a branch name, and, when it is YAML, templated as a
 * manifest tree the way a deploy does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auger/template.h"
#include "auger/yaml.h"

#define FUZZ_MAX_INPUT	(64 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_dns(const char *s)
{
	size_t n = strlen(s);

	if (n > AG_SANITIZE_DNS_MAX || strspn(s,
	    "abcdefghijklmnopqrstuvwxyz0123456789-") != n ||
	    (n > 0 && (s[0] == '-' || s[n - 1] == '-')))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ag_err err = { 0, "" };
	json_t *vars, *doc = NULL, *out = NULL;
	char *text, *exp = NULL, dns[64];

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	vars = json_pack("{s:s, s:s, s:s, s:i, s:s}", "SHA", "7f3c2a1",
	    "BRANCH", "feature/My_Branch", "APP", "web", "N", 3, "X",
	    "{{ .SHA }}");
	if (vars == NULL)
		abort();

	ag_sanitize_dns(dns, sizeof dns, text);
	check_dns(dns);
	if (ag_template_expand(&exp, text, vars, &err) == 0) {
		/* no action in the text: the text comes back as it was */
		if (strstr(text, "{{") == NULL && strcmp(exp, text) != 0)
			abort();
	} else if (err.msg[0] == '\0' || exp != NULL)
		abort();
	free(exp);

	ag_err_clear(&err);
	if (ag_yaml_load(&doc, (const char *)data, size, "fuzz", &err) == 0) {
		ag_err_clear(&err);
		if (ag_template_json(&out, doc, vars, &err) == 0) {
			if (json_typeof(out) != json_typeof(doc))
				abort();
		} else if (out != NULL || err.msg[0] == '\0')
			abort();
	}
	json_decref(out);
	json_decref(doc);
	json_decref(vars);
	free(text);
	return 0;
}

/* dotenv files (KEY=VALUE lines) as template variables. */
#ifndef AUGER_DOTENV_H
#define AUGER_DOTENV_H

#include <stddef.h>

#include <jansson.h>

#include "auger/err.h"

#define AG_DOTENV_MAX_VARS 1024

/*
 * Parses KEY=VALUE lines: blank lines and "# comments" skipped, an optional
 * "export " prefix, values optionally in single or double quotes (double
 * quotes understand \n, \", \\). Keys are [A-Za-z_][A-Za-z0-9_]*. Errors
 * name the line. *out: an object of strings.
 */
int	ag_dotenv_parse(json_t **out, const char *text, size_t len,
	    struct ag_err *err);

#endif

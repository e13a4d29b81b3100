/* dotenv files: KEY=VALUE lines into a JSON object of strings. */
#include <stdlib.h>
#include <string.h>

#include "auger/dotenv.h"

static int
key_ok(const char *k, size_t n)
{
	size_t i;

	if (n == 0 || n > 128 || (k[0] >= '0' && k[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++)
		if (!((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' &&
		    k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') ||
		    k[i] == '_'))
			return 0;
	return 1;
}

int
ag_dotenv_parse(json_t **out, const char *text, size_t len,
    struct ag_err *err)
{
	const char *p = text, *end = text + len, *eol, *eq, *v, *ve;
	char *val = NULL;
	json_t *o = json_object();
	size_t line = 0, n, i, o_len;

	*out = NULL;
	while (p < end) {
		line++;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		ve = eol;
		if (ve > p && ve[-1] == '\r')
			ve--;
		if (p == ve || *p == '#')
			goto next;
		if ((size_t)(ve - p) > 7 && strncmp(p, "export ", 7) == 0)
			p += 7;
		if ((eq = memchr(p, '=', (size_t)(ve - p))) == NULL ||
		    !key_ok(p, (size_t)(eq - p))) {
			json_decref(o);
			return ag_err_set(err, AG_EINVAL, "vars line %zu: "
			    "expected KEY=VALUE with KEY of A-Z a-z 0-9 _", line);
		}
		if (json_object_size(o) >= AG_DOTENV_MAX_VARS) {
			json_decref(o);
			return ag_err_set(err, AG_ETOOBIG, "more than %d vars",
			    AG_DOTENV_MAX_VARS);
		}
		v = eq + 1;
		n = (size_t)(ve - v);
		if ((val = malloc(n + 1)) == NULL) {
			json_decref(o);
			return ag_err_set(err, AG_EINTERNAL, "out of memory");
		}
		o_len = 0;
		if (n >= 2 && (*v == '"' || *v == '\'') && v[n - 1] == *v) {
			for (i = 1; i < n - 1; i++) {
				if (*v == '"' && v[i] == '\\' && i + 1 < n - 1) {
					i++;
					val[o_len++] = v[i] == 'n' ? '\n' : v[i];
				} else
					val[o_len++] = v[i];
			}
		} else {
			/* Unquoted: a " #" starts a comment. */
			for (i = 0; i < n; i++) {
				if (v[i] == '#' && i > 0 && (v[i - 1] == ' ' ||
				    v[i - 1] == '\t'))
					break;
				val[o_len++] = v[i];
			}
			while (o_len > 0 && (val[o_len - 1] == ' ' ||
			    val[o_len - 1] == '\t'))
				o_len--;
		}
		val[o_len] = '\0';
		{
			char key[129];

			memcpy(key, p, (size_t)(eq - p));
			key[eq - p] = '\0';
			json_object_set_new(o, key, json_stringn(val, o_len));
		}
		free(val);
		val = NULL;
next:
		p = eol + 1;
	}
	*out = o;
	return 0;
}

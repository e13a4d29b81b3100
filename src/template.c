/*
 * Gimlet's manifest templating, the subset that deploy manifests use:
 * {{ .VAR }} and {{ .VAR | sanitizeDNSName }} with Go's missingkey=error.
 * One pass over the text; expanded values are copied, never re-read.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auger/template.h"

/* Deeper JSON than this is refused by ag_template_json. */
#define TEMPLATE_MAX_DEPTH	128
#define TEMPLATE_PATH_MAX	256

struct tbuf {
	char	*p;
	size_t	 len, cap, max;
};

static int
tbuf_add(struct tbuf *b, const char *s, size_t n)
{
	size_t cap;
	char *np;

	if (n > b->max - b->len)
		return AG_ETOOBIG;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return AG_EINTERNAL;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Go's text/template white space: space, tab, carriage return, newline. */
static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_ident(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    (!first && c >= '0' && c <= '9');
}

static size_t
count_lines(const char *s, size_t n)
{
	size_t i, lines = 0;

	for (i = 0; i < n; i++)
		if (s[i] == '\n')
			lines++;
	return lines;
}

const char *
ag_sanitize_dns(char *out, size_t outsz, const char *in)
{
	size_t n = 0, max = AG_SANITIZE_DNS_MAX, start = 0;
	int dash = 0;
	char c;

	if (outsz == 0)
		return out;
	if (outsz - 1 < max)
		max = outsz - 1;
	for (; in != NULL && *in != '\0' && n < max; in++) {
		c = *in;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			out[n++] = c;
			dash = 0;
		} else if (!dash) {
			out[n++] = '-';
			dash = 1;
		}
	}
	/* Gimlet: TrimSuffix then TrimPrefix, one '-' each */
	if (n > 0 && out[n - 1] == '-')
		n--;
	if (n > 0 && out[0] == '-')
		start = 1;
	memmove(out, out + start, n - start);
	out[n - start] = '\0';
	return out;
}

/* A variable's value as text; numbers as Go would print them. */
static int
var_text(char *num, size_t numsz, const json_t *v, const char **s,
    size_t *n)
{
	int prec;

	switch (json_typeof(v)) {
	case JSON_STRING:
		*s = json_string_value(v);
		*n = json_string_length(v);
		return 0;
	case JSON_INTEGER:
		snprintf(num, numsz, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		for (prec = 1; prec <= 17; prec++) {
			snprintf(num, numsz, "%.*g", prec, json_real_value(v));
			if (strtod(num, NULL) == json_real_value(v))
				break;
		}
		break;
	case JSON_TRUE:
		snprintf(num, numsz, "true");
		break;
	case JSON_FALSE:
		snprintf(num, numsz, "false");
		break;
	default:
		return -1;
	}
	*s = num;
	*n = strlen(num);
	return 0;
}

static int
tpl_fail(struct ag_err *err, int code, size_t line)
{
	if (code == AG_ETOOBIG)
		return ag_err_set(err, code,
		    "template: line %zu: output over the limit of %d bytes",
		    line, AG_TEMPLATE_MAX_OUT);
	return ag_err_set(err, AG_EINTERNAL, "template: out of memory");
}

/*
 * One action's inside, without braces and trim markers: ".NAME" then any
 * number of "| sanitizeDNSName". Fills name; 0 if it is not that shape.
 */
static int
parse_action(const char *s, size_t n, const char **name, size_t *namelen,
    int *sanitize)
{
	static const char fn[] = "sanitizeDNSName";
	size_t i = 0, fnlen = sizeof fn - 1;

	*sanitize = 0;
	while (i < n && is_space(s[i]))
		i++;
	if (i >= n || s[i] != '.')
		return 0;
	i++;
	if (i >= n || !is_ident(s[i], 1))
		return 0;
	*name = s + i;
	while (i < n && is_ident(s[i], 0))
		i++;
	*namelen = (size_t)(s + i - *name);
	for (;;) {
		while (i < n && is_space(s[i]))
			i++;
		if (i == n)
			return 1;
		if (s[i] != '|')
			return 0;
		i++;
		while (i < n && is_space(s[i]))
			i++;
		if (n - i < fnlen || memcmp(s + i, fn, fnlen) != 0 ||
		    (i + fnlen < n && is_ident(s[i + fnlen], 0)))
			return 0;
		i += fnlen;
		*sanitize = 1;
	}
}

static int
expand(struct tbuf *b, const char *text, const json_t *vars,
    struct ag_err *err)
{
	const char *p = text, *open, *close, *in, *name, *val;
	size_t line = 1, aline, inlen, namelen, vlen;
	char key[256], num[64], dns[64];
	int sanitize, trim_right, r;
	const json_t *v;

	while ((open = strstr(p, "{{")) != NULL) {
		if ((r = tbuf_add(b, p, (size_t)(open - p))) < 0)
			return tpl_fail(err, r, line);
		line += count_lines(p, (size_t)(open - p));
		aline = line;
		in = open + 2;
		/* "{{- " trims the white space before the action */
		if (in[0] == '-' && is_space(in[1])) {
			in++;
			while (b->len > 0 && is_space(b->p[b->len - 1]))
				b->p[--b->len] = '\0';
		}
		if ((close = strstr(in, "}}")) == NULL)
			return ag_err_set(err, AG_EINVAL,
			    "template: line %zu: unclosed action \"%.40s\"",
			    aline, open);
		inlen = (size_t)(close - in);
		trim_right = inlen >= 2 && in[inlen - 1] == '-' &&
		    is_space(in[inlen - 2]);
		if (trim_right)
			inlen--;
		line += count_lines(open, (size_t)(close - open));
		if (!parse_action(in, inlen, &name, &namelen, &sanitize))
			return ag_err_set(err, AG_EINVAL,
			    "template: line %zu: unsupported template action "
			    "\"%.*s\" (only {{ .VAR }} and "
			    "{{ .VAR | sanitizeDNSName }} are supported)",
			    aline,
			    (int)((size_t)(close - open) + 2 > 80 ? 80 :
			    (size_t)(close - open) + 2), open);
		if (namelen >= sizeof key)
			return ag_err_set(err, AG_EINVAL,
			    "template: line %zu: variable name over %zu "
			    "characters", aline, sizeof key - 1);
		memcpy(key, name, namelen);
		key[namelen] = '\0';
		if ((v = json_object_get(vars, key)) == NULL)
			return ag_err_set(err, AG_EINVAL,
			    "template: line %zu: no variable \"%s\" "
			    "(missingkey=error)", aline, key);
		if (var_text(num, sizeof num, v, &val, &vlen) < 0)
			return ag_err_set(err, AG_EINVAL,
			    "template: line %zu: variable \"%s\" is not a "
			    "string, number or boolean", aline, key);
		if (sanitize) {
			/* sanitizing stops at NUL, as a Go string would not */
			if (memchr(val, '\0', vlen) != NULL)
				return ag_err_set(err, AG_EINVAL,
				    "template: line %zu: variable \"%s\" "
				    "contains a NUL byte", aline, key);
			val = ag_sanitize_dns(dns, sizeof dns, val);
			vlen = strlen(val);
		}
		if ((r = tbuf_add(b, val, vlen)) < 0)
			return tpl_fail(err, r, aline);
		p = close + 2;
		if (trim_right)
			for (; is_space(*p); p++)
				if (*p == '\n')
					line++;
	}
	if ((r = tbuf_add(b, p, strlen(p))) < 0)
		return tpl_fail(err, r, line);
	return 0;
}

int
ag_template_expand(char **out, const char *text, const json_t *vars,
    struct ag_err *err)
{
	struct tbuf b = { NULL, 0, 0, AG_TEMPLATE_MAX_OUT };
	int r;

	*out = NULL;
	if (text == NULL)
		return ag_err_set(err, AG_EINVAL, "template: no text");
	if (vars != NULL && !json_is_object(vars))
		return ag_err_set(err, AG_EINVAL,
		    "template: variables must be a JSON object");
	if ((r = expand(&b, text, vars, err)) < 0) {
		free(b.p);
		return r;
	}
	/* an empty result still gets its buffer */
	if ((r = tbuf_add(&b, "", 0)) < 0) {
		free(b.p);
		return tpl_fail(err, r, 0);
	}
	*out = b.p;
	return 0;
}

/* The tree walk of ag_template_json: path names the node for errors. */
struct tjson {
	const json_t	*vars;
	size_t		 budget;	/* expanded bytes left */
	char		 path[TEMPLATE_PATH_MAX];
	struct ag_err	 err;
};

static int
tjson_string(struct tjson *t, const json_t *in, json_t **out)
{
	struct tbuf b = { NULL, 0, 0, 0 };
	const char *s = json_string_value(in);
	size_t n = json_string_length(in);
	int r;

	if (memmem(s, n, "{{", 2) == NULL) {
		*out = json_incref((json_t *)(uintptr_t)in);
		return 0;
	}
	if (memchr(s, '\0', n) != NULL)
		return ag_err_set(&t->err, AG_EINVAL,
		    "template: a templated string contains a NUL byte");
	b.max = t->budget;
	if ((r = expand(&b, s, t->vars, &t->err)) < 0) {
		if (r == AG_ETOOBIG) {
			/* say that the limit is for the whole tree */
			ag_err_clear(&t->err);
			ag_err_set(&t->err, AG_ETOOBIG,
			    "template: expanded strings over the limit of "
			    "%d bytes in all", AG_TEMPLATE_MAX_OUT);
		}
		free(b.p);
		return r;
	}
	t->budget -= b.len;
	*out = json_stringn(b.p != NULL ? b.p : "", b.len);
	free(b.p);
	if (*out == NULL)
		return ag_err_set(&t->err, AG_EINTERNAL, "out of memory");
	return 0;
}

static int
tjson_node(struct tjson *t, const json_t *in, json_t **out, int depth)
{
	size_t plen = strlen(t->path), i;
	json_t *c = NULL, *x, *nx;
	const char *k;
	int r = 0;

	*out = NULL;
	if (depth > TEMPLATE_MAX_DEPTH)
		return ag_err_set(&t->err, AG_ETOOBIG,
		    "template: JSON nesting deeper than %d levels",
		    TEMPLATE_MAX_DEPTH);
	switch (json_typeof(in)) {
	case JSON_STRING:
		return tjson_string(t, in, out);
	case JSON_OBJECT:
		if ((c = json_object()) == NULL)
			goto oom;
		json_object_foreach((json_t *)(uintptr_t)in, k, x) {
			snprintf(t->path + plen, sizeof t->path - plen, "%s%s",
			    plen > 0 ? "." : "", k);
			if ((r = tjson_node(t, x, &nx, depth + 1)) < 0)
				goto fail;
			t->path[plen] = '\0';
			if (json_object_set_new(c, k, nx) < 0)
				goto oom;
		}
		break;
	case JSON_ARRAY:
		if ((c = json_array()) == NULL)
			goto oom;
		json_array_foreach(in, i, x) {
			snprintf(t->path + plen, sizeof t->path - plen,
			    "[%zu]", i);
			if ((r = tjson_node(t, x, &nx, depth + 1)) < 0)
				goto fail;
			t->path[plen] = '\0';
			if (json_array_append_new(c, nx) < 0)
				goto oom;
		}
		break;
	default:
		*out = json_incref((json_t *)(uintptr_t)in);
		return 0;
	}
	*out = c;
	return 0;
oom:
	r = ag_err_set(&t->err, AG_EINTERNAL, "out of memory");
fail:
	json_decref(c);
	return r;
}

int
ag_template_json(json_t **out, const json_t *in, const json_t *vars,
    struct ag_err *err)
{
	struct tjson *t;
	int r;

	*out = NULL;
	if (in == NULL)
		return ag_err_set(err, AG_EINVAL, "template: no document");
	if (vars != NULL && !json_is_object(vars))
		return ag_err_set(err, AG_EINVAL,
		    "template: variables must be a JSON object");
	if ((t = calloc(1, sizeof *t)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	t->vars = vars;
	t->budget = AG_TEMPLATE_MAX_OUT;
	if ((r = tjson_node(t, in, out, 0)) < 0) {
		if (t->path[0] != '\0')
			ag_err_set(err, r, "%s at %s", t->err.msg, t->path);
		else
			ag_err_set(err, r, "%s", t->err.msg);
	}
	free(t);
	return r;
}

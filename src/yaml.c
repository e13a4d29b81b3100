/*
 * YAML <-> JSON. Loading runs libyaml's event parser and builds a jansson
 * tree on an explicit stack, so depth and node count are capped before
 * anything is allocated for them and aliases never expand. Dumping feeds
 * libyaml's emitter one event per node: the emitter does the escaping.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "auger/yaml.h"

#define YAML_TAG_PREFIX		"tag:yaml.org,2002:"
#define YAML_TAG_PREFIX_LEN	(sizeof YAML_TAG_PREFIX - 1)

/* An open sequence or mapping; a mapping may hold a key awaiting its value. */
struct yframe {
	json_t		*node;	/* owned until attached to its parent */
	char		*key;	/* owned, NULL when a key is expected */
};

struct yload {
	const char	*text;
	size_t		 len;
	const char	*file;
	struct ag_err	*err;
	size_t		 nodes;
	int		 depth;
	struct yframe	 stack[AG_YAML_MAX_DEPTH];
	json_t		*root;	/* the finished root of this document */
};

/* What a plain scalar reads as. */
enum yres {
	YRES_STR,
	YRES_NULL,
	YRES_TRUE,
	YRES_FALSE,
	YRES_INT,
	YRES_REAL,
	YRES_NONFINITE
};

static int
yload_err(struct yload *y, int code, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
yload_err(struct yload *y, int code, yaml_mark_t m, const char *fmt, ...)
{
	char msg[AG_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ag_err_set(y->err, code, "%s:%zu:%zu: %s", y->file,
	    m.line + 1, m.column + 1, msg);
}

/* The position of a byte offset: the reader reports offsets only. */
static yaml_mark_t
yload_mark_at(const struct yload *y, size_t off)
{
	yaml_mark_t m;
	size_t i;

	memset(&m, 0, sizeof m);
	if (off > y->len)
		off = y->len;
	for (i = 0; i < off; i++) {
		if (y->text[i] == '\n') {
			m.line++;
			m.column = 0;
		} else if (((unsigned char)y->text[i] & 0xc0) != 0x80)
			m.column++;
	}
	m.index = off;
	return m;
}

static int
yload_parser_err(struct yload *y, const yaml_parser_t *p)
{
	const char *problem = p->problem != NULL ? p->problem : "syntax error";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return ag_err_set(y->err, AG_EINTERNAL,
		    "%s: out of memory while parsing YAML", y->file);
	case YAML_READER_ERROR:
		if (p->problem_value != -1)
			return yload_err(y, AG_EINVAL,
			    yload_mark_at(y, p->problem_offset),
			    "%s (#%X)", problem, (unsigned)p->problem_value);
		return yload_err(y, AG_EINVAL,
		    yload_mark_at(y, p->problem_offset), "%s", problem);
	default:
		if (p->context != NULL)
			return yload_err(y, AG_EINVAL, p->problem_mark,
			    "%s (%s at line %zu column %zu)", problem,
			    p->context, p->context_mark.line + 1,
			    p->context_mark.column + 1);
		return yload_err(y, AG_EINVAL, p->problem_mark, "%s", problem);
	}
}

static int
str_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static int
str_is_any(const char *s, size_t n, const char *const *lits)
{
	for (; *lits != NULL; lits++)
		if (str_is(s, n, *lits))
			return 1;
	return 0;
}

static int
digit_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/*
 * Go's strconv.ParseInt(s, 0, 64), then ParseUint: 1 with *iv, 2 with *uv
 * (fits uint64 only), 3 when the digits are valid but overflow, 0 when not
 * an integer.
 */
static int
parse_go_int(const char *s, json_int_t *iv, uint64_t *uv)
{
	uint64_t acc = 0, lim;
	int neg = 0, sign = 0, base = 10, d, over = 0;
	const char *p = s;

	if (*p == '+' || *p == '-') {
		neg = *p == '-';
		sign = 1;
		p++;
	}
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
		base = 8;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
		base = 2;
		p += 2;
	} else if (p[0] == '0' && p[1] != '\0') {
		base = 8;
		p++;
	}
	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++) {
		if ((d = digit_val(*p)) >= base)
			return 0;
		if (acc > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			over = 1;
		else
			acc = acc * (uint64_t)base + (uint64_t)d;
	}
	if (over)
		return 3;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (acc <= lim) {
		if (neg)
			*iv = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
			    -(json_int_t)acc;
		else
			*iv = (json_int_t)acc;
		return 1;
	}
	if (sign)
		return 3;
	*uv = acc;
	return 2;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$, yaml.v3's float */
static int
is_yaml_float(const char *p)
{
	int nd = 0;

	if (*p == '+' || *p == '-')
		p++;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			nd++;
		if (nd == 0)
			return 0;
	} else {
		for (; *p >= '0' && *p <= '9'; p++)
			nd++;
		if (nd == 0)
			return 0;
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		nd = 0;
		for (; *p >= '0' && *p <= '9'; p++)
			nd++;
		if (nd == 0)
			return 0;
	}
	return *p == '\0';
}

/* Resolves a plain scalar as Go's yaml.v3 does into an interface{}. */
static enum yres
resolve_plain(const char *s, size_t n, json_int_t *iv, double *dv)
{
	static const char *const nulls[] = { "~", "null", "Null", "NULL",
	    NULL };
	static const char *const trues[] = { "true", "True", "TRUE", NULL };
	static const char *const falses[] = { "false", "False", "FALSE", NULL };
	static const char *const nonfinite[] = { ".inf", ".Inf", ".INF",
	    "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
	    ".NaN", ".NAN", NULL };
	char small[64], *b = small, *end;
	enum yres res = YRES_STR;
	uint64_t uv;
	size_t i, m = 0;
	int k;

	if (n == 0 || str_is_any(s, n, nulls))
		return YRES_NULL;
	if (str_is_any(s, n, trues))
		return YRES_TRUE;
	if (str_is_any(s, n, falses))
		return YRES_FALSE;
	if (str_is_any(s, n, nonfinite))
		return YRES_NONFINITE;
	if (strchr("+-.0123456789", s[0]) == NULL || memchr(s, '\0', n))
		return YRES_STR;
	if (n >= sizeof small && (b = malloc(n + 1)) == NULL)
		return YRES_STR;
	for (i = 0; i < n; i++)
		if (s[i] != '_')
			b[m++] = s[i];
	b[m] = '\0';
	k = parse_go_int(b, iv, &uv);
	if (k == 1)
		res = YRES_INT;
	else if (k == 2) {
		*dv = (double)uv;
		res = YRES_REAL;
	} else if (is_yaml_float(b)) {
		errno = 0;
		*dv = strtod(b, &end);
		/* Go's ParseFloat fails on overflow: yaml.v3 keeps a string */
		if (*end == '\0' && isfinite(*dv))
			res = YRES_REAL;
	}
	if (b != small)
		free(b);
	return res;
}

/* A scalar event as a JSON value, honouring explicit standard tags. */
static int
yload_scalar(struct yload *y, const yaml_event_t *ev, json_t **out)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	size_t n = ev->data.scalar.length;
	const char *t = NULL;
	enum yres res = YRES_STR;
	json_int_t iv = 0;
	double dv = 0;

	if (tag != NULL && strcmp(tag, "!") != 0) {
		if (strncmp(tag, YAML_TAG_PREFIX, YAML_TAG_PREFIX_LEN) != 0)
			return yload_err(y, AG_EINVAL, ev->start_mark,
			    "unsupported tag \"%.64s\"", tag);
		t = tag + YAML_TAG_PREFIX_LEN;
	}
	if (t == NULL) {
		if (tag == NULL &&
		    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			res = resolve_plain(s, n, &iv, &dv);
	} else if (strcmp(t, "str") == 0 || strcmp(t, "binary") == 0 ||
	    strcmp(t, "timestamp") == 0) {
		res = YRES_STR;
	} else {
		res = resolve_plain(s, n, &iv, &dv);
		if ((strcmp(t, "int") == 0 && res != YRES_INT) ||
		    (strcmp(t, "float") == 0 && res != YRES_INT &&
		    res != YRES_REAL && res != YRES_NONFINITE) ||
		    (strcmp(t, "bool") == 0 && res != YRES_TRUE &&
		    res != YRES_FALSE) ||
		    (strcmp(t, "null") == 0 && res != YRES_NULL))
			return yload_err(y, AG_EINVAL, ev->start_mark,
			    "\"%.64s\" is not a valid !!%s", s, t);
		if (strcmp(t, "int") != 0 && strcmp(t, "float") != 0 &&
		    strcmp(t, "bool") != 0 && strcmp(t, "null") != 0)
			return yload_err(y, AG_EINVAL, ev->start_mark,
			    "unsupported tag \"!!%.64s\"", t);
		if (strcmp(t, "float") == 0 && res == YRES_INT) {
			dv = (double)iv;
			res = YRES_REAL;
		}
	}
	switch (res) {
	case YRES_NULL:
		*out = json_null();
		break;
	case YRES_TRUE:
		*out = json_true();
		break;
	case YRES_FALSE:
		*out = json_false();
		break;
	case YRES_INT:
		*out = json_integer(iv);
		break;
	case YRES_REAL:
		*out = json_real(dv);
		break;
	case YRES_NONFINITE:
		return yload_err(y, AG_EINVAL, ev->start_mark,
		    "\"%.16s\" has no JSON form (quote it to keep a string)",
		    s);
	default:
		*out = json_stringn(s, n);
		break;
	}
	if (*out == NULL)
		return ag_err_set(y->err, AG_EINTERNAL, "%s: out of memory",
		    y->file);
	return 0;
}

static int
yload_count(struct yload *y, const yaml_event_t *ev)
{
	if (++y->nodes > AG_YAML_MAX_NODES)
		return yload_err(y, AG_ETOOBIG, ev->start_mark,
		    "more than %d YAML nodes", AG_YAML_MAX_NODES);
	return 0;
}

static int
yload_no_anchor(struct yload *y, const yaml_event_t *ev,
    const yaml_char_t *anchor)
{
	if (anchor != NULL)
		return yload_err(y, AG_EINVAL, ev->start_mark,
		    "anchors and aliases are not supported (&%.64s)",
		    (const char *)anchor);
	return 0;
}

/* Attaches a finished node to the open container, or makes it the root. */
static int
yload_attach(struct yload *y, json_t *node)
{
	struct yframe *f;

	if (y->depth == 0) {
		y->root = node;
		return 0;
	}
	f = &y->stack[y->depth - 1];
	if (json_is_array(f->node)) {
		if (json_array_append_new(f->node, node) < 0)
			goto oom;
		return 0;
	}
	/* json_object_set_new drops the value on failure too */
	if (json_object_set_new(f->node, f->key, node) < 0)
		goto oom;
	free(f->key);
	f->key = NULL;
	return 0;
oom:
	return ag_err_set(y->err, AG_EINTERNAL, "%s: out of memory", y->file);
}

/* A scalar in key position of the open mapping. */
static int
yload_key(struct yload *y, const yaml_event_t *ev)
{
	struct yframe *f = &y->stack[y->depth - 1];
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;

	if (memchr(s, '\0', n) != NULL)
		return yload_err(y, AG_EINVAL, ev->start_mark,
		    "a mapping key contains a NUL character");
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    ev->data.scalar.tag == NULL && str_is(s, n, "<<"))
		return yload_err(y, AG_EINVAL, ev->start_mark,
		    "merge keys (<<) are not supported");
	if (json_object_get(f->node, s) != NULL)
		return yload_err(y, AG_EINVAL, ev->start_mark,
		    "duplicate mapping key \"%.64s\"", s);
	if ((f->key = strdup(s)) == NULL)
		return ag_err_set(y->err, AG_EINTERNAL, "%s: out of memory",
		    y->file);
	return 0;
}

static int
yload_collection_tag(struct yload *y, const yaml_event_t *ev,
    const yaml_char_t *tag, const char *want)
{
	const char *t = (const char *)tag;

	if (t == NULL || strcmp(t, "!") == 0 ||
	    (strncmp(t, YAML_TAG_PREFIX, YAML_TAG_PREFIX_LEN) == 0 &&
	    strcmp(t + YAML_TAG_PREFIX_LEN, want) == 0))
		return 0;
	return yload_err(y, AG_EINVAL, ev->start_mark,
	    "unsupported tag \"%.64s\"", t);
}

/* One node event: scalars, the starts and ends of collections, aliases. */
static int
yload_event(struct yload *y, const yaml_event_t *ev)
{
	struct yframe *f = y->depth > 0 ? &y->stack[y->depth - 1] : NULL;
	int in_key = f != NULL && json_is_object(f->node) && f->key == NULL;
	json_t *node = NULL;
	int r;

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return yload_err(y, AG_EINVAL, ev->start_mark,
		    "anchors and aliases are not supported (*%.64s)",
		    (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		if ((r = yload_count(y, ev)) < 0 ||
		    (r = yload_no_anchor(y, ev, ev->data.scalar.anchor)) < 0)
			return r;
		if (in_key)
			return yload_key(y, ev);
		if ((r = yload_scalar(y, ev, &node)) < 0)
			return r;
		return yload_attach(y, node);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if ((r = yload_count(y, ev)) < 0)
			return r;
		if (ev->type == YAML_SEQUENCE_START_EVENT)
			r = yload_no_anchor(y, ev,
			    ev->data.sequence_start.anchor) < 0 ? -1 :
			    yload_collection_tag(y, ev,
			    ev->data.sequence_start.tag, "seq");
		else
			r = yload_no_anchor(y, ev,
			    ev->data.mapping_start.anchor) < 0 ? -1 :
			    yload_collection_tag(y, ev,
			    ev->data.mapping_start.tag, "map");
		if (r < 0)
			return AG_EINVAL;
		if (in_key)
			return yload_err(y, AG_EINVAL, ev->start_mark,
			    "only scalars are supported as mapping keys");
		if (y->depth >= AG_YAML_MAX_DEPTH)
			return yload_err(y, AG_ETOOBIG, ev->start_mark,
			    "nesting deeper than %d levels", AG_YAML_MAX_DEPTH);
		node = ev->type == YAML_SEQUENCE_START_EVENT ? json_array() :
		    json_object();
		if (node == NULL)
			return ag_err_set(y->err, AG_EINTERNAL,
			    "%s: out of memory", y->file);
		y->stack[y->depth].node = node;
		y->stack[y->depth].key = NULL;
		y->depth++;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (f == NULL)
			return yload_err(y, AG_EINTERNAL, ev->start_mark,
			    "unbalanced collection end");
		node = f->node;
		free(f->key);
		f->node = NULL;
		f->key = NULL;
		y->depth--;
		return yload_attach(y, node);
	default:
		return 0;
	}
}

static void
yload_reset(struct yload *y)
{
	while (y->depth > 0) {
		y->depth--;
		json_decref(y->stack[y->depth].node);
		free(y->stack[y->depth].key);
	}
	json_decref(y->root);
	y->root = NULL;
}

static int
yload_stream(json_t **out, const char *text, size_t len,
    const char *filename, int all, struct ag_err *err)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct yload y;
	json_t *docs = NULL, *single = NULL;
	int r = AG_EINVAL, ndocs = 0, done = 0;

	*out = NULL;
	memset(&y, 0, sizeof y);
	y.file = filename != NULL ? filename : "<input>";
	y.text = text != NULL ? text : "";
	y.len = text != NULL ? len : 0;
	y.err = err;
	if (len > AG_YAML_MAX_INPUT)
		return ag_err_set(err, AG_ETOOBIG,
		    "%s: YAML input of %zu bytes is over the limit of %d bytes",
		    y.file, len, AG_YAML_MAX_INPUT);
	if (all && (docs = json_array()) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	if (!yaml_parser_initialize(&p)) {
		json_decref(docs);
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)y.text, y.len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			r = yload_parser_err(&y, &p);
			goto out;
		}
		r = 0;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (!all && ndocs > 0)
				r = yload_err(&y, AG_EINVAL, ev.start_mark,
				    "a second YAML document starts here; "
				    "exactly one was expected");
			ndocs++;
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (all) {
				if (y.root != NULL && !json_is_null(y.root) &&
				    json_array_append(docs, y.root) < 0)
					r = ag_err_set(err, AG_EINTERNAL,
					    "out of memory");
				json_decref(y.root);
			} else
				single = y.root;
			y.root = NULL;
			break;
		case YAML_STREAM_START_EVENT:
		case YAML_NO_EVENT:
			break;
		default:
			r = yload_event(&y, &ev);
			break;
		}
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
	}
	if (all) {
		*out = docs;
		docs = NULL;
	} else {
		*out = single != NULL ? single : json_null();
		single = NULL;
	}
	r = 0;
out:
	yload_reset(&y);
	json_decref(docs);
	json_decref(single);
	yaml_parser_delete(&p);
	return r;
}

int
ag_yaml_load(json_t **out, const char *text, size_t len,
    const char *filename, struct ag_err *err)
{
	return yload_stream(out, text, len, filename, 0, err);
}

int
ag_yaml_load_all(json_t **out, const char *text, size_t len,
    const char *filename, struct ag_err *err)
{
	return yload_stream(out, text, len, filename, 1, err);
}

/* The emitter's output: a growing buffer with a hard cap. */
struct ydump {
	yaml_emitter_t	 em;
	char		*p;
	size_t		 len, cap;
	int		 toobig;
	struct ag_err	*err;
};

static int
ydump_write(void *data, unsigned char *buf, size_t size)
{
	struct ydump *d = data;
	size_t cap;
	char *np;

	if (size > AG_YAML_MAX_OUTPUT - d->len) {
		d->toobig = 1;
		return 0;
	}
	if (d->len + size + 1 > d->cap) {
		cap = d->cap ? d->cap : 4096;
		while (cap < d->len + size + 1)
			cap *= 2;
		if ((np = realloc(d->p, cap)) == NULL)
			return 0;
		d->p = np;
		d->cap = cap;
	}
	memcpy(d->p + d->len, buf, size);
	d->len += size;
	d->p[d->len] = '\0';
	return 1;
}

static int
ydump_fail(struct ydump *d)
{
	if (d->toobig)
		return ag_err_set(d->err, AG_ETOOBIG,
		    "YAML output over the limit of %d bytes",
		    AG_YAML_MAX_OUTPUT);
	if (d->em.error == YAML_MEMORY_ERROR || d->em.problem == NULL)
		return ag_err_set(d->err, AG_EINTERNAL,
		    "out of memory writing YAML");
	return ag_err_set(d->err, AG_EINTERNAL, "YAML emitter: %s",
	    d->em.problem);
}

static int
ydump_emit(struct ydump *d, yaml_event_t *ev)
{
	/* the emitter owns the event from here on, success or not */
	if (!yaml_emitter_emit(&d->em, ev))
		return ydump_fail(d);
	return 0;
}

/*
 * Whether a plain s could read as something other than this string, for
 * YAML 1.2 (our loader, yaml.v3) or YAML 1.1 (older tools: yes/no/on/off
 * booleans, 0777 octals, 1:30 sexagesimals, timestamps). Anything that
 * starts like a number is quoted; a needless quote costs nothing.
 */
static int
ydump_ambiguous(const char *s, size_t n)
{
	static const char *const yaml11[] = { "y", "Y", "yes", "Yes", "YES",
	    "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
	    "=", "<<", NULL };
	json_int_t iv;
	double dv;

	if (n == 0 || resolve_plain(s, n, &iv, &dv) != YRES_STR ||
	    str_is_any(s, n, yaml11))
		return 1;
	if (s[0] >= '0' && s[0] <= '9')
		return 1;
	if (n > 1 && strchr("+-.", s[0]) != NULL &&
	    ((s[1] >= '0' && s[1] <= '9') || s[1] == '.'))
		return 1;
	return 0;
}

static int
ydump_scalar(struct ydump *d, const char *s, size_t n,
    yaml_scalar_style_t style)
{
	yaml_event_t ev;

	if (n > INT_MAX)
		return ag_err_set(d->err, AG_ETOOBIG,
		    "a string of %zu bytes is too long for YAML", n);
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL,
	    (yaml_char_t *)(uintptr_t)s, (int)n, 1, 1, style))
		return ag_err_set(d->err, AG_EINVAL,
		    "a string is not valid UTF-8");
	return ydump_emit(d, &ev);
}

static int
ydump_string(struct ydump *d, const char *s, size_t n, int iskey)
{
	yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;

	/* libyaml falls back to a quoted style where these are not allowed */
	if (memchr(s, '\n', n) != NULL)
		style = iskey ? YAML_DOUBLE_QUOTED_SCALAR_STYLE :
		    YAML_LITERAL_SCALAR_STYLE;
	else if (ydump_ambiguous(s, n))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return ydump_scalar(d, s, n, style);
}

/* The shortest text that reads back as the same double, and as a float. */
static void
ydump_real(char *buf, size_t bufsz, double v)
{
	char tmp[64], fixed[64], *e;
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	/* 1e+03 reads better as 1000.0 where %g chose an exponent */
	if ((e = strchr(tmp, 'e')) != NULL && fabs(v) >= 1e-4 &&
	    fabs(v) < 1e16) {
		snprintf(fixed, sizeof fixed, "%.0f", v);
		if (strtod(fixed, NULL) == v)
			snprintf(tmp, sizeof tmp, "%s", fixed);
	}
	if (strchr(tmp, '.') != NULL || strchr(tmp, 'n') != NULL ||
	    strchr(tmp, 'i') != NULL)
		snprintf(buf, bufsz, "%s", tmp);
	else if ((e = strchr(tmp, 'e')) != NULL)
		snprintf(buf, bufsz, "%.*s.0%s", (int)(e - tmp), tmp, e);
	else
		snprintf(buf, bufsz, "%s.0", tmp);
}

static int
ydump_node(struct ydump *d, const json_t *v, int depth)
{
	yaml_event_t ev;
	const char *k;
	json_t *x;
	size_t i;
	char num[96];
	int r;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		if (depth >= AG_YAML_MAX_DEPTH)
			return ag_err_set(d->err, AG_ETOOBIG,
			    "JSON nesting deeper than %d levels",
			    AG_YAML_MAX_DEPTH);
		break;
	default:
		break;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
		    YAML_BLOCK_MAPPING_STYLE);
		if ((r = ydump_emit(d, &ev)) < 0)
			return r;
		json_object_foreach((json_t *)(uintptr_t)v, k, x) {
			if ((r = ydump_string(d, k, strlen(k), 1)) < 0 ||
			    (r = ydump_node(d, x, depth + 1)) < 0)
				return r;
		}
		yaml_mapping_end_event_initialize(&ev);
		return ydump_emit(d, &ev);
	case JSON_ARRAY:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		    YAML_BLOCK_SEQUENCE_STYLE);
		if ((r = ydump_emit(d, &ev)) < 0)
			return r;
		json_array_foreach(v, i, x)
			if ((r = ydump_node(d, x, depth + 1)) < 0)
				return r;
		yaml_sequence_end_event_initialize(&ev);
		return ydump_emit(d, &ev);
	case JSON_STRING:
		return ydump_string(d, json_string_value(v),
		    json_string_length(v), 0);
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return ydump_scalar(d, num, strlen(num),
		    YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		ydump_real(num, sizeof num, json_real_value(v));
		return ydump_scalar(d, num, strlen(num),
		    YAML_PLAIN_SCALAR_STYLE);
	case JSON_TRUE:
		return ydump_scalar(d, "true", 4, YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return ydump_scalar(d, "false", 5, YAML_PLAIN_SCALAR_STYLE);
	default:
		return ydump_scalar(d, "null", 4, YAML_PLAIN_SCALAR_STYLE);
	}
}

static int
ydump_stream(char **out, size_t *outlen, const json_t *docs, int all,
    struct ag_err *err)
{
	struct ydump d;
	yaml_event_t ev;
	const json_t *doc;
	size_t i, n;
	int r;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (docs == NULL || (all && !json_is_array(docs)))
		return ag_err_set(err, AG_EINVAL,
		    all ? "YAML documents must be a JSON array" :
		    "no document to write as YAML");
	memset(&d, 0, sizeof d);
	d.err = err;
	if (!yaml_emitter_initialize(&d.em))
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	yaml_emitter_set_output(&d.em, ydump_write, &d);
	yaml_emitter_set_unicode(&d.em, 1);
	yaml_emitter_set_width(&d.em, -1);
	yaml_emitter_set_indent(&d.em, 2);
	yaml_emitter_set_break(&d.em, YAML_LN_BREAK);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if ((r = ydump_emit(&d, &ev)) < 0)
		goto out;
	n = all ? json_array_size(docs) : 1;
	for (i = 0; i < n; i++) {
		doc = all ? json_array_get(docs, i) : docs;
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL,
		    !all);
		if ((r = ydump_emit(&d, &ev)) < 0 ||
		    (r = ydump_node(&d, doc, 0)) < 0)
			goto out;
		yaml_document_end_event_initialize(&ev, 1);
		if ((r = ydump_emit(&d, &ev)) < 0)
			goto out;
	}
	yaml_stream_end_event_initialize(&ev);
	if ((r = ydump_emit(&d, &ev)) < 0)
		goto out;
	if (!yaml_emitter_flush(&d.em)) {
		r = ydump_fail(&d);
		goto out;
	}
	if (d.p == NULL && (d.p = strdup("")) == NULL) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	*out = d.p;
	if (outlen != NULL)
		*outlen = d.len;
	d.p = NULL;
	r = 0;
out:
	yaml_emitter_delete(&d.em);
	free(d.p);
	return r;
}

int
ag_yaml_dump(char **out, size_t *outlen, const json_t *doc,
    struct ag_err *err)
{
	return ydump_stream(out, outlen, doc, 0, err);
}

int
ag_yaml_dump_all(char **out, size_t *outlen, const json_t *docs,
    struct ag_err *err)
{
	return ydump_stream(out, outlen, docs, 1, err);
}

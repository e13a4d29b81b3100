/*
 * Gimlet's manifest templating (pkg/dx/manifest.go, ResolveVars): Go's
 * text/template with Option("missingkey=error"), sprig's generic functions
 * and sanitizeDNSName, over a flat map of string variables. A template is
 * parsed into a small tree and run once; what it outputs is never read as
 * a template again. Variables that hold templates are resolved on first
 * use against the other variables.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "auger/template.h"
#include "auger/yaml.h"

/* Deeper JSON than this is refused by ag_template_json. */
#define TEMPLATE_MAX_DEPTH	128
#define TEMPLATE_PATH_MAX	256
/* if/with nesting and parenthesised pipelines, in one template. */
#define TEMPLATE_MAX_NEST	64
/* Variables resolving variables, one inside the other. */
#define TEMPLATE_MAX_VARDEPTH	16
/* Scratch memory (parse trees, intermediate strings) of one call. */
#define TEMPLATE_MAX_ARENA	(4 * AG_TEMPLATE_MAX_OUT)
/* Arguments of one function call. */
#define TEMPLATE_MAX_ARGS	32

/* ------------------------------------------------------------ buffers */

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

struct ablk {
	struct ablk	*next;
	size_t		 used, cap;
	max_align_t	 data[];
};

struct arena {
	struct ablk	*head;
	size_t		 total;
};

static void *
arena_alloc(struct arena *a, size_t n)
{
	struct ablk *b = a->head;
	size_t cap;
	char *p;

	n = (n + 15) & ~(size_t)15;
	if (b == NULL || b->cap - b->used < n) {
		cap = n > 16384 ? n : 16384;
		if (cap > TEMPLATE_MAX_ARENA - a->total)
			return NULL;
		if ((b = malloc(sizeof *b + cap)) == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
		a->total += cap;
	}
	p = (char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

static void
arena_free(struct arena *a)
{
	struct ablk *b, *n;

	for (b = a->head; b != NULL; b = n) {
		n = b->next;
		free(b);
	}
	a->head = NULL;
	a->total = 0;
}

/* ------------------------------------------------------------ tree */

enum vt { V_NIL, V_STR, V_INT, V_BOOL, V_MAP };

struct val {
	enum vt		 t;
	const char	*s;	/* V_STR; not NUL-terminated */
	size_t		 n;
	long long	 i;	/* V_INT, V_BOOL */
};

enum ak { A_FIELD, A_DOT, A_STR, A_INT, A_BOOL, A_NIL, A_FUNC, A_PIPE };

struct pipe;

struct arg {
	enum ak		 k;
	const char	*s;	/* name or string constant */
	size_t		 n;
	long long	 i;
	struct pipe	*pipe;
	size_t		 pos;
	struct arg	*next;
};

struct cmd {
	struct arg	*args;
	size_t		 nargs;
	size_t		 pos;
	struct cmd	*next;
};

struct pipe {
	struct cmd	*cmds;
	size_t		 pos;
};

enum nk { N_TEXT, N_ACTION, N_IF, N_WITH };

struct node {
	enum nk		 k;
	const char	*s;	/* N_TEXT */
	size_t		 n;
	struct pipe	*pipe;
	struct node	*list, *elist;
	size_t		 pos;
	struct node	*next;
};

/* One call's state: variables, resolved variables, scratch memory. */
struct tctx {
	const json_t	*vars;
	json_t		*resolved;	/* owned: name -> resolved string */
	json_t		*busy;		/* owned: names being resolved */
	int		 vardepth;
	struct arena	 ar;
	struct ag_err	*err;
	const char	*text;		/* the template running, for lines */
};

static size_t
line_of(const struct tctx *c, size_t pos)
{
	size_t i, line = 1;

	for (i = 0; i < pos && c->text[i] != '\0'; i++)
		if (c->text[i] == '\n')
			line++;
	return line;
}

static int
terr(struct tctx *c, int code, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
terr(struct tctx *c, int code, size_t pos, const char *fmt, ...)
{
	char msg[AG_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ag_err_set(c->err, code, "template: line %zu: %s",
	    line_of(c, pos), msg);
}

static int
toom(struct tctx *c)
{
	if (c->ar.total + 16384 > TEMPLATE_MAX_ARENA)
		return ag_err_set(c->err, AG_ETOOBIG, "template: scratch "
		    "memory over the limit of %d bytes", TEMPLATE_MAX_ARENA);
	return ag_err_set(c->err, AG_EINTERNAL, "template: out of memory");
}

/* ------------------------------------------------------------ lexer */

enum tk {
	T_END, T_LP, T_RP, T_PIPE, T_STR, T_NUM, T_IDENT, T_FIELD, T_DOT,
	T_VAR, T_ASSIGN, T_CHAR, T_BAD
};

struct tok {
	enum tk		 t;
	const char	*s;	/* raw text of the token */
	size_t		 n;
	size_t		 pos;
	int		 trim;	/* T_END: it was " -}}" */
};

struct parser {
	struct tctx	*c;
	const char	*text;
	size_t		 p;		/* position in text */
	struct tok	 peek;
	int		 has_peek;
	struct node	*last_text;	/* for "{{- " */
	int		 nest;
};

/* Go's text/template white space. */
static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    (c >= '0' && c <= '9') || (unsigned char)c >= 0x80;
}

static int
lex(struct parser *ps, struct tok *t)
{
	const char *s = ps->text;
	size_t p = ps->p, q;
	int sp = 0;

	if (ps->has_peek) {
		*t = ps->peek;
		ps->has_peek = 0;
		return 0;
	}
	while (is_space(s[p])) {
		p++;
		sp = 1;
	}
	memset(t, 0, sizeof *t);
	t->pos = p;
	t->s = s + p;
	if (s[p] == '\0') {
		t->t = T_BAD;
		return terr(ps->c, AG_EINVAL, ps->p, "unclosed action");
	}
	if (sp && s[p] == '-' && s[p + 1] == '}' && s[p + 2] == '}') {
		t->t = T_END;
		t->trim = 1;
		ps->p = p + 3;
		return 0;
	}
	if (s[p] == '}' && s[p + 1] == '}') {
		t->t = T_END;
		ps->p = p + 2;
		return 0;
	}
	q = p + 1;
	switch (s[p]) {
	case '(':
		t->t = T_LP;
		break;
	case ')':
		t->t = T_RP;
		break;
	case '|':
		t->t = T_PIPE;
		break;
	case '"':
		while (s[q] != '"') {
			if (s[q] == '\0' || s[q] == '\n')
				return terr(ps->c, AG_EINVAL, p,
				    "unterminated quoted string");
			if (s[q] == '\\' && s[q + 1] != '\0')
				q++;
			q++;
		}
		q++;
		t->t = T_STR;
		break;
	case '`':
		while (s[q] != '`') {
			if (s[q] == '\0')
				return terr(ps->c, AG_EINVAL, p,
				    "unterminated raw quoted string");
			q++;
		}
		q++;
		t->t = T_STR;
		break;
	case '\'':
		t->t = T_CHAR;
		break;
	case '$':
		while (is_alnum(s[q]))
			q++;
		t->t = T_VAR;
		break;
	case ':':
		if (s[q] == '=')
			q++;
		t->t = T_ASSIGN;
		break;
	case '=':
		t->t = T_ASSIGN;
		break;
	case '.':
		if (is_alnum(s[q]) && !(s[q] >= '0' && s[q] <= '9')) {
			while (is_alnum(s[q]) || (s[q] == '.' &&
			    is_alnum(s[q + 1])))
				q++;
			t->t = T_FIELD;
		} else
			t->t = T_DOT;
		break;
	default:
		if ((s[p] >= '0' && s[p] <= '9') || ((s[p] == '-' ||
		    s[p] == '+') && s[q] >= '0' && s[q] <= '9')) {
			while (is_alnum(s[q]) || s[q] == '.' ||
			    ((s[q] == '-' || s[q] == '+') &&
			    (s[q - 1] == 'e' || s[q - 1] == 'E')))
				q++;
			t->t = T_NUM;
		} else if (is_alnum(s[p])) {
			while (is_alnum(s[q]))
				q++;
			t->t = T_IDENT;
		} else
			t->t = T_BAD;
	}
	t->n = q - p;
	ps->p = q;
	return 0;
}

static void
unlex(struct parser *ps, const struct tok *t)
{
	ps->peek = *t;
	ps->has_peek = 1;
}

/* The text of the action around pos, for messages. */
static int
action_excerpt(const struct parser *ps, size_t pos, const char **s)
{
	size_t a = pos, e;

	while (a > 0 && !(ps->text[a - 1] == '{' && a >= 2 &&
	    ps->text[a - 2] == '{'))
		a--;
	if (a >= 2)
		a -= 2;
	e = a;
	while (ps->text[e] != '\0' && !(ps->text[e] == '}' &&
	    ps->text[e + 1] == '}'))
		e++;
	if (ps->text[e] != '\0')
		e += 2;
	*s = ps->text + a;
	return (int)(e - a > 80 ? 80 : e - a);
}

static int
unsupported(struct parser *ps, size_t pos, const char *what)
{
	const char *s;
	int n = action_excerpt(ps, pos, &s);

	return terr(ps->c, AG_EINVAL, pos, "unsupported template action "
	    "\"%.*s\" (%s)", n, s, what);
}

/* ------------------------------------------------------------ parser */

static int	parse_pipe(struct parser *, struct pipe **, int);

static int
is_word(const struct tok *t, const char *w)
{
	return t->t == T_IDENT && t->n == strlen(w) &&
	    memcmp(t->s, w, t->n) == 0;
}

/* A Go interpreted string literal's value into the arena. */
static int
unquote(struct parser *ps, const struct tok *t, struct arg *a)
{
	const char *s = t->s + 1, *e = t->s + t->n - 1;
	char *o;
	size_t n = 0;
	unsigned long cp;
	int i, w;

	if (t->s[0] == '`') {
		a->s = s;
		a->n = (size_t)(e - s);
		return 0;
	}
	if ((o = arena_alloc(&ps->c->ar, (size_t)(e - s) + 1)) == NULL)
		return toom(ps->c);
	while (s < e) {
		if (*s != '\\') {
			o[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': o[n++] = '\n'; s++; break;
		case 't': o[n++] = '\t'; s++; break;
		case 'r': o[n++] = '\r'; s++; break;
		case 'a': o[n++] = '\a'; s++; break;
		case 'b': o[n++] = '\b'; s++; break;
		case 'f': o[n++] = '\f'; s++; break;
		case 'v': o[n++] = '\v'; s++; break;
		case '\\': o[n++] = '\\'; s++; break;
		case '"': o[n++] = '"'; s++; break;
		case 'x':
		case 'u':
		case 'U':
			w = *s == 'x' ? 2 : *s == 'u' ? 4 : 8;
			s++;
			cp = 0;
			for (i = 0; i < w; i++, s++) {
				char h = s < e ? *s : '\0';

				if (h >= '0' && h <= '9')
					cp = cp * 16 + (unsigned)(h - '0');
				else if (h >= 'a' && h <= 'f')
					cp = cp * 16 + (unsigned)(h - 'a' + 10);
				else if (h >= 'A' && h <= 'F')
					cp = cp * 16 + (unsigned)(h - 'A' + 10);
				else
					return terr(ps->c, AG_EINVAL, t->pos,
					    "bad escape in quoted string");
			}
			if (w == 2)
				o[n++] = (char)cp;
			else if (cp < 0x80)
				o[n++] = (char)cp;
			else if (cp < 0x800) {
				o[n++] = (char)(0xc0 | (cp >> 6));
				o[n++] = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				o[n++] = (char)(0xe0 | (cp >> 12));
				o[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				o[n++] = (char)(0x80 | (cp & 0x3f));
			} else if (cp <= 0x10ffff) {
				o[n++] = (char)(0xf0 | (cp >> 18));
				o[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
				o[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				o[n++] = (char)(0x80 | (cp & 0x3f));
			} else
				return terr(ps->c, AG_EINVAL, t->pos,
				    "bad escape in quoted string");
			break;
		default:
			return terr(ps->c, AG_EINVAL, t->pos,
			    "bad escape in quoted string");
		}
	}
	a->s = o;
	a->n = n;
	return 0;
}

static int
parse_number(struct parser *ps, const struct tok *t, struct arg *a)
{
	char buf[64], *end;
	long long v;

	if (t->n >= sizeof buf)
		return terr(ps->c, AG_EINVAL, t->pos, "bad number");
	memcpy(buf, t->s, t->n);
	buf[t->n] = '\0';
	v = strtoll(buf, &end, 0);
	if (*end != '\0')
		return unsupported(ps, t->pos, "only integer numbers are "
		    "supported");
	a->k = A_INT;
	a->i = v;
	return 0;
}

/* One operand; 0 with *out NULL when the token is not one. */
static int
parse_operand(struct parser *ps, const struct tok *t, struct arg **out)
{
	struct arg *a;
	struct tok rp;
	int r;

	*out = NULL;
	if ((a = arena_alloc(&ps->c->ar, sizeof *a)) == NULL)
		return toom(ps->c);
	a->pos = t->pos;
	switch (t->t) {
	case T_FIELD:
		a->k = A_FIELD;
		a->s = t->s + 1;
		a->n = t->n - 1;
		break;
	case T_DOT:
		a->k = A_DOT;
		break;
	case T_STR:
		a->k = A_STR;
		if ((r = unquote(ps, t, a)) < 0)
			return r;
		break;
	case T_NUM:
		if ((r = parse_number(ps, t, a)) < 0)
			return r;
		break;
	case T_IDENT:
		if (is_word(t, "true") || is_word(t, "false")) {
			a->k = A_BOOL;
			a->i = is_word(t, "true");
		} else if (is_word(t, "nil"))
			a->k = A_NIL;
		else {
			a->k = A_FUNC;
			a->s = t->s;
			a->n = t->n;
		}
		break;
	case T_LP:
		if (++ps->nest > TEMPLATE_MAX_NEST)
			return terr(ps->c, AG_ETOOBIG, t->pos, "nested deeper "
			    "than %d levels", TEMPLATE_MAX_NEST);
		a->k = A_PIPE;
		if ((r = parse_pipe(ps, &a->pipe, 1)) < 0)
			return r;
		ps->nest--;
		if ((r = lex(ps, &rp)) < 0)
			return r;
		if (rp.t != T_RP)
			return terr(ps->c, AG_EINVAL, t->pos,
			    "unclosed left paren");
		break;
	case T_VAR:
	case T_ASSIGN:
		return unsupported(ps, t->pos, "template variables ($x) are "
		    "not supported");
	case T_CHAR:
		return unsupported(ps, t->pos, "character constants are not "
		    "supported");
	default:
		return 0;
	}
	*out = a;
	return 0;
}

/* cmd ('|' cmd)* up to "}}" (left for the caller) or, in parens, ")". */
static int
parse_pipe(struct parser *ps, struct pipe **out, int paren)
{
	struct pipe *pp;
	struct cmd *cmd = NULL, **ctail;
	struct arg *a, **atail = NULL;
	struct tok t;
	int r;

	if ((pp = arena_alloc(&ps->c->ar, sizeof *pp)) == NULL)
		return toom(ps->c);
	pp->pos = ps->p;
	ctail = &pp->cmds;
	for (;;) {
		if ((r = lex(ps, &t)) < 0)
			return r;
		if (t.t == T_END || t.t == T_RP || t.t == T_PIPE) {
			if (cmd == NULL || cmd->nargs == 0) {
				if (t.t == T_END && pp->cmds == NULL)
					return unsupported(ps, t.pos,
					    "missing value");
				return terr(ps->c, AG_EINVAL, t.pos,
				    "missing value for command");
			}
			if (t.t == T_PIPE) {
				cmd = NULL;
				continue;
			}
			if ((t.t == T_RP) != paren)
				return terr(ps->c, AG_EINVAL, t.pos,
				    t.t == T_RP ? "unexpected right paren" :
				    "unclosed left paren");
			unlex(ps, &t);
			*out = pp;
			return 0;
		}
		if (cmd == NULL) {
			if ((cmd = arena_alloc(&ps->c->ar, sizeof *cmd)) ==
			    NULL)
				return toom(ps->c);
			cmd->pos = t.pos;
			*ctail = cmd;
			ctail = &cmd->next;
			atail = &cmd->args;
		}
		if ((r = parse_operand(ps, &t, &a)) < 0)
			return r;
		if (a == NULL)
			return terr(ps->c, AG_EINVAL, t.pos, "unexpected "
			    "\"%.*s\" in command", (int)(t.n > 20 ? 20 : t.n),
			    t.s);
		*atail = a;
		atail = &a->next;
		cmd->nargs++;
	}
}

static int	parse_list(struct parser *, struct node **, struct tok *);

/* What ends a list: the keyword token (else, end) or T_BAD at the end. */
static int
parse_control(struct parser *ps, struct node *n, const struct tok *kw)
{
	struct tok end, t;
	struct node *elif;
	int r;

	if ((r = parse_pipe(ps, &n->pipe, 0)) < 0 || (r = lex(ps, &t)) < 0)
		return r;
	if (t.trim)
		while (is_space(ps->text[ps->p]))
			ps->p++;
	if (++ps->nest > TEMPLATE_MAX_NEST)
		return terr(ps->c, AG_ETOOBIG, kw->pos, "nested deeper than %d "
		    "levels", TEMPLATE_MAX_NEST);
	if ((r = parse_list(ps, &n->list, &end)) < 0)
		return r;
	if (is_word(&end, "else")) {
		if ((r = lex(ps, &t)) < 0)
			return r;
		if (is_word(&t, "if") || is_word(&t, "with")) {
			/* "else if": one more node in the else branch */
			if ((elif = arena_alloc(&ps->c->ar, sizeof *elif)) ==
			    NULL)
				return toom(ps->c);
			elif->k = is_word(&t, "if") ? N_IF : N_WITH;
			elif->pos = t.pos;
			n->elist = elif;
			ps->nest--;
			r = parse_control(ps, elif, &t);
			return r;
		}
		if (t.t != T_END)
			return terr(ps->c, AG_EINVAL, t.pos,
			    "unexpected \"%.*s\" after else",
			    (int)(t.n > 20 ? 20 : t.n), t.s);
		if (t.trim)
			while (is_space(ps->text[ps->p]))
				ps->p++;
		if ((r = parse_list(ps, &n->elist, &end)) < 0)
			return r;
	}
	if (!is_word(&end, "end"))
		return terr(ps->c, AG_EINVAL, kw->pos, "unexpected EOF: "
		    "{{ %.*s }} has no {{ end }}", (int)kw->n, kw->s);
	if ((r = lex(ps, &t)) < 0)
		return r;
	if (t.t != T_END)
		return terr(ps->c, AG_EINVAL, t.pos, "unexpected \"%.*s\" in "
		    "end", (int)(t.n > 20 ? 20 : t.n), t.s);
	if (t.trim)
		while (is_space(ps->text[ps->p]))
			ps->p++;
	ps->nest--;
	return 0;
}

/*
 * Nodes up to the end of the text (end->t T_BAD) or to an "else" or "end"
 * keyword (in *end, its "}}" not yet read).
 */
static int
parse_list(struct parser *ps, struct node **out, struct tok *end)
{
	const char *s = ps->text, *open;
	struct node *n, **tail = out;
	struct tok t;
	size_t start, a;
	int r;

	*out = NULL;
	memset(end, 0, sizeof *end);
	end->t = T_BAD;
	for (;;) {
		start = ps->p;
		open = strstr(s + start, "{{");
		if (open == NULL || (size_t)(open - s) > start) {
			if ((n = arena_alloc(&ps->c->ar, sizeof *n)) == NULL)
				return toom(ps->c);
			n->k = N_TEXT;
			n->s = s + start;
			n->n = open ? (size_t)(open - s) - start :
			    strlen(s + start);
			n->pos = start;
			*tail = n;
			tail = &n->next;
			ps->last_text = n;
			if (open == NULL) {
				ps->p = start + n->n;
				return 0;
			}
		}
		a = (size_t)(open - s);
		ps->p = a + 2;
		/* "{{- " trims the white space before the action */
		if (s[ps->p] == '-' && is_space(s[ps->p + 1])) {
			ps->p++;
			if (ps->last_text != NULL &&
			    ps->last_text->s + ps->last_text->n == open)
				while (ps->last_text->n > 0 &&
				    is_space(ps->last_text->s[
				    ps->last_text->n - 1]))
					ps->last_text->n--;
		}
		ps->last_text = NULL;
		/* a comment: slash-star right after the braces, as Go wants it */
		{
			size_t q = ps->p;

			while (is_space(s[q]) && q > a + 2 && s[a + 2] == '-')
				q++;
			if (s[q] == '/' && s[q + 1] == '*') {
				const char *ce = strstr(s + q + 2, "*/");
				size_t e;

				if (ce == NULL)
					return terr(ps->c, AG_EINVAL, a,
					    "unclosed comment");
				e = (size_t)(ce - s) + 2;
				if (s[e] == '}' && s[e + 1] == '}')
					ps->p = e + 2;
				else if (s[e] == ' ' && s[e + 1] == '-' &&
				    s[e + 2] == '}' && s[e + 3] == '}') {
					ps->p = e + 4;
					while (is_space(s[ps->p]))
						ps->p++;
				} else
					return terr(ps->c, AG_EINVAL, a,
					    "comment ends before closing "
					    "delimiter");
				continue;
			}
		}
		if ((r = lex(ps, &t)) < 0)
			return r;
		if (is_word(&t, "else") || is_word(&t, "end")) {
			*end = t;
			return 0;
		}
		if ((n = arena_alloc(&ps->c->ar, sizeof *n)) == NULL)
			return toom(ps->c);
		n->pos = a;
		*tail = n;
		tail = &n->next;
		if (is_word(&t, "if") || is_word(&t, "with")) {
			n->k = is_word(&t, "if") ? N_IF : N_WITH;
			if ((r = parse_control(ps, n, &t)) < 0)
				return r;
			continue;
		}
		if (is_word(&t, "range") || is_word(&t, "define") ||
		    is_word(&t, "template") || is_word(&t, "block") ||
		    is_word(&t, "break") || is_word(&t, "continue"))
			return unsupported(ps, t.pos, "range, define, template, "
			    "block, break and continue are not supported");
		unlex(ps, &t);
		n->k = N_ACTION;
		if ((r = parse_pipe(ps, &n->pipe, 0)) < 0 ||
		    (r = lex(ps, &t)) < 0)
			return r;
		if (t.trim)
			while (is_space(s[ps->p]))
				ps->p++;
	}
}

/* ------------------------------------------------------------ values */

static int
vstr(struct tctx *c, struct val *v, const char *s, size_t n)
{
	char *p;

	if (n > AG_TEMPLATE_MAX_OUT)
		return ag_err_set(c->err, AG_ETOOBIG, "template: a value over "
		    "the limit of %d bytes", AG_TEMPLATE_MAX_OUT);
	if ((p = arena_alloc(&c->ar, n + 1)) == NULL)
		return toom(c);
	memcpy(p, s, n);
	v->t = V_STR;
	v->s = p;
	v->n = n;
	return 0;
}

/* Go's fmt %v of a value (nil as "<nil>", as sprig's strval has it). */
static int
vtext(struct tctx *c, const struct val *v, const char **s, size_t *n,
    char *num, size_t numsz)
{
	switch (v->t) {
	case V_STR:
		*s = v->s;
		*n = v->n;
		return 0;
	case V_INT:
		snprintf(num, numsz, "%lld", v->i);
		break;
	case V_BOOL:
		snprintf(num, numsz, "%s", v->i ? "true" : "false");
		break;
	case V_NIL:
		snprintf(num, numsz, "<nil>");
		break;
	case V_MAP:
		return ag_err_set(c->err, AG_EINVAL, "template: the variable "
		    "map cannot be printed");
	}
	*s = num;
	*n = strlen(num);
	return 0;
}

/* Go's truth: non-empty string, non-zero number, true, non-empty map. */
static int
truth(const struct tctx *c, const struct val *v)
{
	switch (v->t) {
	case V_STR:
		return v->n > 0;
	case V_INT:
	case V_BOOL:
		return v->i != 0;
	case V_MAP:
		return json_object_size(c->vars) > 0;
	default:
		return 0;
	}
}

static const char *
tname(enum vt t)
{
	static const char *const names[] = { "nil", "string", "int", "bool",
	    "map[string]string" };

	return names[t];
}

/* ------------------------------------------------------------ variables */

static int	run_text(struct tctx *, const char *, struct tbuf *);

/* A variable's own text: strings as they are, numbers as Go prints them. */
static int
var_raw(char *num, size_t numsz, const json_t *v, const char **s, size_t *n)
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

/*
 * The value of variable name: its text, itself templated (once, against
 * the other variables) when it holds "{{" — Gimlet's "resolving vars in
 * vars first".
 */
static int
lookup(struct tctx *c, const char *name, size_t namelen, size_t pos,
    struct val *out)
{
	char key[256], num[64];
	const char *s, *saved;
	struct tbuf b = { NULL, 0, 0, AG_TEMPLATE_MAX_OUT };
	struct ag_err e = { 0, "" }, *savederr;
	const json_t *v, *done;
	size_t n;
	int r;

	if (namelen >= sizeof key)
		return terr(c, AG_EINVAL, pos, "variable name over %zu "
		    "characters", sizeof key - 1);
	memcpy(key, name, namelen);
	key[namelen] = '\0';
	if ((done = json_object_get(c->resolved, key)) != NULL) {
		out->t = V_STR;
		out->s = json_string_value(done);
		out->n = json_string_length(done);
		return 0;
	}
	if ((v = json_object_get(c->vars, key)) == NULL)
		return terr(c, AG_EINVAL, pos, "no variable \"%s\" "
		    "(missingkey=error)", key);
	if (var_raw(num, sizeof num, v, &s, &n) < 0)
		return terr(c, AG_EINVAL, pos, "variable \"%s\" is not a "
		    "string, number or boolean", key);
	if (memmem(s, n, "{{", 2) == NULL)
		return vstr(c, out, s, n);
	if (json_object_get(c->busy, key) != NULL)
		return terr(c, AG_EINVAL, pos, "variable \"%s\" refers to "
		    "itself through other variables", key);
	if (c->vardepth >= TEMPLATE_MAX_VARDEPTH)
		return terr(c, AG_ETOOBIG, pos, "variables refer to variables "
		    "deeper than %d levels", TEMPLATE_MAX_VARDEPTH);
	if (memchr(s, '\0', n) != NULL)
		return terr(c, AG_EINVAL, pos, "variable \"%s\" holds a NUL "
		    "byte", key);
	json_object_set_new(c->busy, key, json_true());
	saved = c->text;
	savederr = c->err;
	c->err = &e;
	c->vardepth++;
	r = run_text(c, s, &b);
	c->vardepth--;
	c->err = savederr;
	c->text = saved;
	json_object_del(c->busy, key);
	if (r < 0) {
		free(b.p);
		/* say which variable, then what went wrong in it */
		return terr(c, e.code ? e.code : r, pos, "in variable "
		    "\"%s\": %s", key, strncmp(e.msg, "template: ", 10) == 0 ?
		    e.msg + 10 : e.msg);
	}
	json_object_set_new(c->resolved, key, json_stringn(b.p ? b.p : "",
	    b.len));
	free(b.p);
	if ((done = json_object_get(c->resolved, key)) == NULL)
		return toom(c);
	out->t = V_STR;
	out->s = json_string_value(done);
	out->n = json_string_length(done);
	return 0;
}

/* ------------------------------------------------------------ functions */

typedef int (*tfn)(struct tctx *, struct val *, struct val *, size_t,
    size_t);

struct fdef {
	const char	*name;
	int		 min, max;	/* max -1: any number */
	tfn		 fn;
};

static int
want_str(struct tctx *c, const char *fn, struct val *a, size_t i, size_t pos)
{
	if (a[i].t == V_STR)
		return 0;
	return terr(c, AG_EINVAL, pos, "error calling %s: wrong type for "
	    "argument %zu: expected string, got %s", fn, i + 1,
	    tname(a[i].t));
}

static int
want_int(struct tctx *c, const char *fn, struct val *a, size_t i, size_t pos)
{
	if (a[i].t == V_INT)
		return 0;
	return terr(c, AG_EINVAL, pos, "error calling %s: wrong type for "
	    "argument %zu: expected int, got %s", fn, i + 1, tname(a[i].t));
}

/* sprig's toInt64 of interface{}: strings parsed, anything else 0. */
static long long
to_int(const struct val *v)
{
	char buf[64];

	switch (v->t) {
	case V_INT:
	case V_BOOL:
		return v->i;
	case V_STR:
		if (v->n == 0 || v->n >= sizeof buf)
			return 0;
		memcpy(buf, v->s, v->n);
		buf[v->n] = '\0';
		return strtoll(buf, NULL, 10);
	default:
		return 0;
	}
}

/* sprig's empty(): nil, "", 0, false. */
static int
is_empty(const struct tctx *c, const struct val *v)
{
	return !truth(c, v);
}

static int
out_bool(struct val *o, int b)
{
	o->t = V_BOOL;
	o->i = b != 0;
	return 0;
}

static int
out_int(struct val *o, long long i)
{
	o->t = V_INT;
	o->i = i;
	return 0;
}

static int
f_sanitize(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	char in[AG_SANITIZE_DNS_MAX * 4 + 1], out[64];
	size_t k;

	if (want_str(c, "sanitizeDNSName", a, 0, pos) < 0)
		return -1;
	/* only the first 53 output characters matter; each input byte
	 * gives at most one, so a prefix decides */
	k = a[0].n < sizeof in - 1 ? a[0].n : sizeof in - 1;
	memcpy(in, a[0].s, k);
	in[k] = '\0';
	if (memchr(a[0].s, '\0', a[0].n) != NULL)
		return terr(c, AG_EINVAL, pos, "sanitizeDNSName: a NUL byte");
	ag_sanitize_dns(out, sizeof out, in);
	return vstr(c, o, out, strlen(out));
}

enum cas { CASE_UP, CASE_LOW, CASE_TITLE, CASE_UNTITLE, CASE_SWAP };

static int
casefn(struct tctx *c, struct val *o, struct val *a, const char *fn,
    enum cas how, size_t pos)
{
	char *p;
	size_t i;
	int sep = 1, ws = 1;

	if (want_str(c, fn, a, 0, pos) < 0 || vstr(c, o, a[0].s, a[0].n) < 0)
		return -1;
	p = (char *)(uintptr_t)o->s;
	for (i = 0; i < o->n; i++) {
		char ch = p[i];
		int up = ch >= 'A' && ch <= 'Z', low = ch >= 'a' && ch <= 'z';

		switch (how) {
		case CASE_UP:
			if (low)
				p[i] = (char)(ch - 32);
			break;
		case CASE_LOW:
			if (up)
				p[i] = (char)(ch + 32);
			break;
		case CASE_SWAP:
			if (up)
				p[i] = (char)(ch + 32);
			else if (low)
				p[i] = (char)(ch - 32);
			break;
		case CASE_TITLE:
			/* strings.Title: a letter after a separator */
			if (sep && low)
				p[i] = (char)(ch - 32);
			sep = !(up || low || (ch >= '0' && ch <= '9') ||
			    ch == '_' || (unsigned char)ch >= 0x80);
			break;
		case CASE_UNTITLE:
			if (ws && up)
				p[i] = (char)(ch + 32);
			ws = is_space(ch);
			break;
		}
	}
	return 0;
}

static int
f_upper(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return casefn(c, o, a, "upper", CASE_UP, pos);
}

static int
f_lower(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return casefn(c, o, a, "lower", CASE_LOW, pos);
}

static int
f_title(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return casefn(c, o, a, "title", CASE_TITLE, pos);
}

static int
f_untitle(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return casefn(c, o, a, "untitle", CASE_UNTITLE, pos);
}

static int
f_swapcase(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return casefn(c, o, a, "swapcase", CASE_SWAP, pos);
}

/* Go's unicode.IsSpace for the bytes a manifest holds. */
static size_t
space_at(const char *s, size_t n)
{
	if (n >= 1 && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')))
		return 1;
	if (n >= 2 && (unsigned char)s[0] == 0xc2 &&
	    ((unsigned char)s[1] == 0x85 || (unsigned char)s[1] == 0xa0))
		return 2;
	return 0;
}

static size_t
space_before(const char *s, size_t n)
{
	if (n >= 1 && (s[n - 1] == ' ' || (s[n - 1] >= '\t' &&
	    s[n - 1] <= '\r')))
		return 1;
	if (n >= 2 && (unsigned char)s[n - 2] == 0xc2 &&
	    ((unsigned char)s[n - 1] == 0x85 ||
	    (unsigned char)s[n - 1] == 0xa0))
		return 2;
	return 0;
}

static int
f_trim(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	const char *s;
	size_t len, k;

	if (want_str(c, "trim", a, 0, pos) < 0)
		return -1;
	s = a[0].s;
	len = a[0].n;
	while ((k = space_at(s, len)) > 0) {
		s += k;
		len -= k;
	}
	while ((k = space_before(s, len)) > 0)
		len -= k;
	return vstr(c, o, s, len);
}

static int
f_nospace(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	char *p;
	size_t i, k, m = 0;

	if (want_str(c, "nospace", a, 0, pos) < 0 ||
	    vstr(c, o, a[0].s, a[0].n) < 0)
		return -1;
	p = (char *)(uintptr_t)o->s;
	for (i = 0; i < a[0].n;) {
		if ((k = space_at(a[0].s + i, a[0].n - i)) > 0) {
			i += k;
			continue;
		}
		p[m++] = a[0].s[i++];
	}
	o->n = m;
	return 0;
}

/* One UTF-8 code point's length at s (1 for a bad byte). */
static size_t
cp_len(const char *s, size_t n)
{
	unsigned char u = (unsigned char)s[0];
	size_t l = u < 0x80 ? 1 : (u & 0xe0) == 0xc0 ? 2 : (u & 0xf0) == 0xe0 ?
	    3 : (u & 0xf8) == 0xf0 ? 4 : 1;
	size_t i;

	if (l > n)
		return 1;
	for (i = 1; i < l; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			return 1;
	return l;
}

static int
in_cutset(const char *cut, size_t cutn, const char *s, size_t l)
{
	size_t i, k;

	for (i = 0; i < cutn; i += k) {
		k = cp_len(cut + i, cutn - i);
		if (k == l && memcmp(cut + i, s, l) == 0)
			return 1;
	}
	return 0;
}

/* trimAll CUTSET S: strings.Trim(S, CUTSET), code point by point. */
static int
f_trimall(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	const char *s;
	size_t len, k, b;

	if (want_str(c, "trimAll", a, 0, pos) < 0 ||
	    want_str(c, "trimAll", a, 1, pos) < 0)
		return -1;
	s = a[1].s;
	len = a[1].n;
	while (len > 0 && in_cutset(a[0].s, a[0].n, s, k = cp_len(s, len))) {
		s += k;
		len -= k;
	}
	while (len > 0) {
		/* the last code point: back over continuation bytes */
		for (b = len - 1; b > 0 && len - b < 4 &&
		    ((unsigned char)s[b] & 0xc0) == 0x80; b--)
			;
		k = cp_len(s + b, len - b) == len - b ? len - b : 1;
		if (!in_cutset(a[0].s, a[0].n, s + len - k, k))
			break;
		len -= k;
	}
	return vstr(c, o, s, len);
}

static int
f_trimprefix(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	if (want_str(c, "trimPrefix", a, 0, pos) < 0 ||
	    want_str(c, "trimPrefix", a, 1, pos) < 0)
		return -1;
	if (a[1].n >= a[0].n && memcmp(a[1].s, a[0].s, a[0].n) == 0)
		return vstr(c, o, a[1].s + a[0].n, a[1].n - a[0].n);
	*o = a[1];
	return 0;
}

static int
f_trimsuffix(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	if (want_str(c, "trimSuffix", a, 0, pos) < 0 ||
	    want_str(c, "trimSuffix", a, 1, pos) < 0)
		return -1;
	if (a[1].n >= a[0].n &&
	    memcmp(a[1].s + a[1].n - a[0].n, a[0].s, a[0].n) == 0)
		return vstr(c, o, a[1].s, a[1].n - a[0].n);
	*o = a[1];
	return 0;
}

static int
f_hasprefix(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	if (want_str(c, "hasPrefix", a, 0, pos) < 0 ||
	    want_str(c, "hasPrefix", a, 1, pos) < 0)
		return -1;
	return out_bool(o, a[1].n >= a[0].n &&
	    memcmp(a[1].s, a[0].s, a[0].n) == 0);
}

static int
f_hassuffix(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	if (want_str(c, "hasSuffix", a, 0, pos) < 0 ||
	    want_str(c, "hasSuffix", a, 1, pos) < 0)
		return -1;
	return out_bool(o, a[1].n >= a[0].n &&
	    memcmp(a[1].s + a[1].n - a[0].n, a[0].s, a[0].n) == 0);
}

static int
f_contains(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	if (want_str(c, "contains", a, 0, pos) < 0 ||
	    want_str(c, "contains", a, 1, pos) < 0)
		return -1;
	return out_bool(o, a[0].n == 0 ||
	    memmem(a[1].s, a[1].n, a[0].s, a[0].n) != NULL);
}

/* replace OLD NEW S: strings.Replace(S, OLD, NEW, -1). */
static int
f_replace(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	struct tbuf b = { NULL, 0, 0, AG_TEMPLATE_MAX_OUT };
	const char *s, *e, *hit;
	size_t k;
	int r = 0;

	if (want_str(c, "replace", a, 0, pos) < 0 ||
	    want_str(c, "replace", a, 1, pos) < 0 ||
	    want_str(c, "replace", a, 2, pos) < 0)
		return -1;
	s = a[2].s;
	e = s + a[2].n;
	if (a[0].n == 0) {
		/* Go: NEW before each code point and at the end */
		while (r == 0 && s < e) {
			k = cp_len(s, (size_t)(e - s));
			r = tbuf_add(&b, a[1].s, a[1].n);
			if (r == 0)
				r = tbuf_add(&b, s, k);
			s += k;
		}
		if (r == 0)
			r = tbuf_add(&b, a[1].s, a[1].n);
	} else {
		while (r == 0 && (hit = memmem(s, (size_t)(e - s), a[0].s,
		    a[0].n)) != NULL) {
			r = tbuf_add(&b, s, (size_t)(hit - s));
			if (r == 0)
				r = tbuf_add(&b, a[1].s, a[1].n);
			s = hit + a[0].n;
		}
		if (r == 0)
			r = tbuf_add(&b, s, (size_t)(e - s));
	}
	if (r == 0)
		r = vstr(c, o, b.p ? b.p : "", b.len);
	else if (r == AG_ETOOBIG)
		r = terr(c, r, pos, "replace: result over the limit of %d "
		    "bytes", AG_TEMPLATE_MAX_OUT);
	else
		r = toom(c);
	free(b.p);
	return r;
}

static int
f_repeat(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	char *p;
	long long i;

	if (want_int(c, "repeat", a, 0, pos) < 0 ||
	    want_str(c, "repeat", a, 1, pos) < 0)
		return -1;
	if (a[0].i < 0)
		return terr(c, AG_EINVAL, pos, "error calling repeat: "
		    "strings: negative Repeat count");
	if (a[1].n > 0 && (unsigned long long)a[0].i > AG_TEMPLATE_MAX_OUT /
	    a[1].n)
		return terr(c, AG_ETOOBIG, pos, "repeat: result over the limit "
		    "of %d bytes", AG_TEMPLATE_MAX_OUT);
	if (vstr(c, o, "", 0) < 0)
		return -1;
	if ((p = arena_alloc(&c->ar, (size_t)a[0].i * a[1].n + 1)) == NULL)
		return toom(c);
	for (i = 0; i < a[0].i; i++)
		memcpy(p + (size_t)i * a[1].n, a[1].s, a[1].n);
	o->s = p;
	o->n = (size_t)a[0].i * a[1].n;
	return 0;
}

/* substr START END S, with sprig's rules; Go's panics become errors. */
static int
f_substr(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	long long st, en, len;

	if (want_int(c, "substr", a, 0, pos) < 0 ||
	    want_int(c, "substr", a, 1, pos) < 0 ||
	    want_str(c, "substr", a, 2, pos) < 0)
		return -1;
	st = a[0].i;
	en = a[1].i;
	len = (long long)a[2].n;
	if (st < 0)
		st = 0;
	else if (en < 0 || en > len)
		en = len;
	if (st > len || en > len || en < st || en < 0)
		return terr(c, AG_EINVAL, pos, "error calling substr: slice "
		    "bounds out of range [%lld:%lld] with length %lld",
		    a[0].i, a[1].i, len);
	return vstr(c, o, a[2].s + st, (size_t)(en - st));
}

static int
f_trunc(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	long long k, len;

	if (want_int(c, "trunc", a, 0, pos) < 0 ||
	    want_str(c, "trunc", a, 1, pos) < 0)
		return -1;
	k = a[0].i;
	len = (long long)a[1].n;
	if (k < 0 && len + k > 0)
		return vstr(c, o, a[1].s + len + k, (size_t)-k);
	if (k >= 0 && len > k)
		return vstr(c, o, a[1].s, (size_t)k);
	*o = a[1];
	return 0;
}

static int
f_abbrev(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	char *p;

	if (want_int(c, "abbrev", a, 0, pos) < 0 ||
	    want_str(c, "abbrev", a, 1, pos) < 0)
		return -1;
	if (a[0].i < 4 || (long long)a[1].n <= a[0].i) {
		*o = a[1];
		return 0;
	}
	if (vstr(c, o, a[1].s, (size_t)a[0].i) < 0)
		return -1;
	p = (char *)(uintptr_t)o->s;
	memcpy(p + a[0].i - 3, "...", 3);
	return 0;
}

static int
f_plural(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	if (want_str(c, "plural", a, 0, pos) < 0 ||
	    want_str(c, "plural", a, 1, pos) < 0 ||
	    want_int(c, "plural", a, 2, pos) < 0)
		return -1;
	*o = a[2].i == 1 ? a[0] : a[1];
	return 0;
}

/* Joins the non-nil values with sep, each through fmt (quote: %q, ...). */
enum joinfmt { JOIN_V, JOIN_Q, JOIN_SQ };

static int
go_quote(struct tbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char e[8];
	size_t i, k;
	int r = tbuf_add(b, "\"", 1);

	for (i = 0; r == 0 && i < n; i += k) {
		unsigned char u = (unsigned char)s[i];

		k = cp_len(s + i, n - i);
		if (u >= 0x80 && k > 1) {
			r = tbuf_add(b, s + i, k);
			continue;
		}
		switch (u) {
		case '"': r = tbuf_add(b, "\\\"", 2); continue;
		case '\\': r = tbuf_add(b, "\\\\", 2); continue;
		case '\n': r = tbuf_add(b, "\\n", 2); continue;
		case '\t': r = tbuf_add(b, "\\t", 2); continue;
		case '\r': r = tbuf_add(b, "\\r", 2); continue;
		case '\a': r = tbuf_add(b, "\\a", 2); continue;
		case '\b': r = tbuf_add(b, "\\b", 2); continue;
		case '\f': r = tbuf_add(b, "\\f", 2); continue;
		case '\v': r = tbuf_add(b, "\\v", 2); continue;
		}
		if (u < 0x20 || u == 0x7f || u >= 0x80) {
			e[0] = '\\';
			e[1] = 'x';
			e[2] = hex[u >> 4];
			e[3] = hex[u & 15];
			r = tbuf_add(b, e, 4);
		} else
			r = tbuf_add(b, s + i, 1);
	}
	if (r == 0)
		r = tbuf_add(b, "\"", 1);
	return r;
}

static int
join_vals(struct tctx *c, struct val *o, struct val *a, size_t n,
    enum joinfmt how, size_t pos)
{
	struct tbuf b = { NULL, 0, 0, AG_TEMPLATE_MAX_OUT };
	char num[64];
	const char *s;
	size_t i, len;
	int r = 0, first = 1;

	for (i = 0; r == 0 && i < n; i++) {
		if (a[i].t == V_NIL)
			continue;
		if (vtext(c, &a[i], &s, &len, num, sizeof num) < 0) {
			free(b.p);
			return -1;
		}
		if (!first)
			r = tbuf_add(&b, " ", 1);
		first = 0;
		if (r == 0 && how == JOIN_Q)
			r = go_quote(&b, s, len);
		else if (r == 0 && how == JOIN_SQ) {
			r = tbuf_add(&b, "'", 1);
			if (r == 0)
				r = tbuf_add(&b, s, len);
			if (r == 0)
				r = tbuf_add(&b, "'", 1);
		} else if (r == 0)
			r = tbuf_add(&b, s, len);
	}
	if (r == 0)
		r = vstr(c, o, b.p ? b.p : "", b.len);
	else
		r = r == AG_ETOOBIG ? terr(c, r, pos, "result over the limit "
		    "of %d bytes", AG_TEMPLATE_MAX_OUT) : toom(c);
	free(b.p);
	return r;
}

static int
f_quote(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return join_vals(c, o, a, n, JOIN_Q, pos);
}

static int
f_squote(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return join_vals(c, o, a, n, JOIN_SQ, pos);
}

static int
f_cat(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return join_vals(c, o, a, n, JOIN_V, pos);
}

static int
f_tostring(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	char num[64];
	const char *s;
	size_t len;

	if (vtext(c, &a[0], &s, &len, num, sizeof num) < 0)
		return -1;
	return vstr(c, o, s, len);
}

static int
do_indent(struct tctx *c, struct val *o, struct val *a, const char *fn,
    int nl, size_t pos)
{
	struct tbuf b = { NULL, 0, 0, AG_TEMPLATE_MAX_OUT };
	char pad[256];
	size_t i, w;
	int r = 0;

	if (want_int(c, fn, a, 0, pos) < 0 || want_str(c, fn, a, 1, pos) < 0)
		return -1;
	if (a[0].i < 0 || a[0].i > (long long)sizeof pad)
		return terr(c, AG_EINVAL, pos, "%s: %lld spaces (0 to %zu)",
		    fn, a[0].i, sizeof pad);
	w = (size_t)a[0].i;
	memset(pad, ' ', w);
	if (nl)
		r = tbuf_add(&b, "\n", 1);
	if (r == 0)
		r = tbuf_add(&b, pad, w);
	for (i = 0; r == 0 && i < a[1].n; i++) {
		r = tbuf_add(&b, a[1].s + i, 1);
		if (r == 0 && a[1].s[i] == '\n')
			r = tbuf_add(&b, pad, w);
	}
	if (r == 0)
		r = vstr(c, o, b.p ? b.p : "", b.len);
	else
		r = r == AG_ETOOBIG ? terr(c, r, pos, "%s: result over the "
		    "limit of %d bytes", fn, AG_TEMPLATE_MAX_OUT) : toom(c);
	free(b.p);
	return r;
}

static int
f_indent(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return do_indent(c, o, a, "indent", 0, pos);
}

static int
f_nindent(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	return do_indent(c, o, a, "nindent", 1, pos);
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
f_b64enc(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	const unsigned char *s = (const unsigned char *)a[0].s;
	size_t i, m = 0, len = a[0].n;
	char *p;
	unsigned v;

	if (want_str(c, "b64enc", a, 0, pos) < 0)
		return -1;
	if (len > AG_TEMPLATE_MAX_OUT / 2)
		return terr(c, AG_ETOOBIG, pos, "b64enc: input too long");
	if ((p = arena_alloc(&c->ar, (len + 2) / 3 * 4 + 1)) == NULL)
		return toom(c);
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		p[m++] = b64[v >> 18];
		p[m++] = b64[(v >> 12) & 63];
		p[m++] = b64[(v >> 6) & 63];
		p[m++] = b64[v & 63];
	}
	if (len - i == 1) {
		v = (unsigned)s[i] << 16;
		p[m++] = b64[v >> 18];
		p[m++] = b64[(v >> 12) & 63];
		p[m++] = '=';
		p[m++] = '=';
	} else if (len - i == 2) {
		v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
		p[m++] = b64[v >> 18];
		p[m++] = b64[(v >> 12) & 63];
		p[m++] = b64[(v >> 6) & 63];
		p[m++] = '=';
	}
	o->t = V_STR;
	o->s = p;
	o->n = m;
	return 0;
}

/* base64.StdEncoding.DecodeString; a bad input gives Go's error text. */
static int
f_b64dec(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	char *p, msg[64];
	const char *s = a[0].s, *q;
	size_t i, m = 0, len = a[0].n, k = 0, pad = 0, at = 0;
	unsigned v = 0;

	if (want_str(c, "b64dec", a, 0, pos) < 0)
		return -1;
	if ((p = arena_alloc(&c->ar, len + 1)) == NULL)
		return toom(c);
	for (i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == '=' && k >= 2) {
			/* padding: the rest of the quantum, then nothing */
			pad = 4 - k;
			at = i;
			while (pad > 0 && i < len) {
				if (s[i] == '\r' || s[i] == '\n') {
					i++;
					continue;
				}
				if (s[i] != '=')
					goto bad;
				pad--;
				i++;
			}
			if (pad > 0)
				goto bad;
			for (; i < len; i++)
				if (s[i] != '\r' && s[i] != '\n') {
					at = i;
					goto bad;
				}
			if (k == 2)
				p[m++] = (char)(v >> 4);
			else {
				p[m++] = (char)(v >> 10);
				p[m++] = (char)(v >> 2);
			}
			k = 0;
			break;
		}
		at = i;
		if (s[i] == '\0' || (q = strchr(b64, s[i])) == NULL)
			goto bad;
		v = v << 6 | (unsigned)(q - b64);
		if (++k == 4) {
			p[m++] = (char)(v >> 16);
			p[m++] = (char)(v >> 8);
			p[m++] = (char)v;
			k = 0;
			v = 0;
		}
	}
	if (k != 0) {
		at = len;
		goto bad;
	}
	o->t = V_STR;
	o->s = p;
	o->n = m;
	return 0;
bad:
	snprintf(msg, sizeof msg, "illegal base64 data at input byte %zu",
	    at);
	return vstr(c, o, msg, strlen(msg));
}

static int
digest(struct tctx *c, struct val *o, struct val *a, const char *fn,
    const EVP_MD *md, size_t pos)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (want_str(c, fn, a, 0, pos) < 0)
		return -1;
	if (EVP_Digest(a[0].s, a[0].n, d, &dl, md, NULL) != 1)
		return toom(c);
	for (i = 0; i < dl; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return vstr(c, o, hex, 2 * (size_t)dl);
}

static int
f_sha1(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return digest(c, o, a, "sha1sum", EVP_sha1(), pos);
}

static int
f_sha256(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return digest(c, o, a, "sha256sum", EVP_sha256(), pos);
}

static int
f_sha512(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return digest(c, o, a, "sha512sum", EVP_sha512(), pos);
}

static int
f_adler32(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	char num[32];
	uLong v;

	if (want_str(c, "adler32sum", a, 0, pos) < 0)
		return -1;
	v = adler32(adler32(0L, Z_NULL, 0), (const Bytef *)a[0].s,
	    (uInt)a[0].n);
	snprintf(num, sizeof num, "%lu", (unsigned long)v);
	return vstr(c, o, num, strlen(num));
}

/* default D GIVEN: GIVEN unless it is empty (or missing). */
static int
f_default(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	*o = n < 2 || is_empty(c, &a[1]) ? a[0] : a[1];
	return 0;
}

static int
f_empty(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return out_bool(o, is_empty(c, &a[0]));
}

static int
f_coalesce(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	size_t i;

	o->t = V_NIL;
	for (i = 0; i < n; i++)
		if (!is_empty(c, &a[i])) {
			*o = a[i];
			break;
		}
	return 0;
}

static int
f_all(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_empty(c, &a[i]))
			return out_bool(o, 0);
	return out_bool(o, 1);
}

static int
f_any(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_empty(c, &a[i]))
			return out_bool(o, 1);
	return out_bool(o, 0);
}

static int
f_ternary(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	if (a[2].t != V_BOOL)
		return terr(c, AG_EINVAL, pos, "error calling ternary: wrong "
		    "type for argument 3: expected bool, got %s",
		    tname(a[2].t));
	*o = a[2].i ? a[0] : a[1];
	return 0;
}

static int
f_atoi(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	if (want_str(c, "atoi", a, 0, pos) < 0)
		return -1;
	return out_int(o, to_int(&a[0]));
}

static int
f_int(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return out_int(o, to_int(&a[0]));
}

static int
f_add(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	long long s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += to_int(&a[i]);
	return out_int(o, s);
}

static int
f_add1(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return out_int(o, to_int(&a[0]) + 1);
}

static int
f_sub(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return out_int(o, to_int(&a[0]) - to_int(&a[1]));
}

static int
f_mul(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	long long s = to_int(&a[0]);
	size_t i;

	for (i = 1; i < n; i++)
		s *= to_int(&a[i]);
	return out_int(o, s);
}

static int
f_div(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	if (to_int(&a[1]) == 0)
		return terr(c, AG_EINVAL, pos, "error calling div: integer "
		    "divide by zero");
	return out_int(o, to_int(&a[0]) / to_int(&a[1]));
}

static int
f_mod(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	if (to_int(&a[1]) == 0)
		return terr(c, AG_EINVAL, pos, "error calling mod: integer "
		    "divide by zero");
	return out_int(o, to_int(&a[0]) % to_int(&a[1]));
}

static int
f_max(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	long long m = to_int(&a[0]);
	size_t i;

	for (i = 1; i < n; i++)
		if (to_int(&a[i]) > m)
			m = to_int(&a[i]);
	return out_int(o, m);
}

static int
f_min(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	long long m = to_int(&a[0]);
	size_t i;

	for (i = 1; i < n; i++)
		if (to_int(&a[i]) < m)
			m = to_int(&a[i]);
	return out_int(o, m);
}

/* Go's builtins. */
static int
f_not(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	return out_bool(o, !truth(c, &a[0]));
}

static int
f_and(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	size_t i;

	for (i = 0; i + 1 < n && truth(c, &a[i]); i++)
		;
	*o = a[i];
	return 0;
}

static int
f_or(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	size_t i;

	for (i = 0; i + 1 < n && !truth(c, &a[i]); i++)
		;
	*o = a[i];
	return 0;
}

/* <0 less, 0 equal, >0 greater; 2 with err set when not comparable. */
static int
vcmp(struct tctx *c, const struct val *x, const struct val *y,
    const char *fn, int ordered, size_t pos, int *res)
{
	size_t m;
	int r;

	if (x->t != y->t || x->t == V_MAP || (x->t == V_NIL && ordered) ||
	    (x->t == V_BOOL && ordered))
		return terr(c, AG_EINVAL, pos, "error calling %s: %s", fn,
		    x->t != y->t ? "incompatible types for comparison" :
		    "invalid type for comparison");
	switch (x->t) {
	case V_STR:
		m = x->n < y->n ? x->n : y->n;
		r = memcmp(x->s, y->s, m);
		*res = r != 0 ? r : x->n < y->n ? -1 : x->n > y->n;
		break;
	case V_INT:
	case V_BOOL:
		*res = x->i < y->i ? -1 : x->i > y->i;
		break;
	default:
		*res = 0;
	}
	return 0;
}

static int
f_eq(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	size_t i;
	int r;

	for (i = 1; i < n; i++) {
		if (vcmp(c, &a[0], &a[i], "eq", 0, pos, &r) < 0)
			return -1;
		if (r == 0)
			return out_bool(o, 1);
	}
	return out_bool(o, 0);
}

static int
f_ne(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	int r;

	if (vcmp(c, &a[0], &a[1], "ne", 0, pos, &r) < 0)
		return -1;
	return out_bool(o, r != 0);
}

static int
f_lt(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	int r;

	if (vcmp(c, &a[0], &a[1], "lt", 1, pos, &r) < 0)
		return -1;
	return out_bool(o, r < 0);
}

static int
f_le(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	int r;

	if (vcmp(c, &a[0], &a[1], "le", 1, pos, &r) < 0)
		return -1;
	return out_bool(o, r <= 0);
}

static int
f_gt(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	int r;

	if (vcmp(c, &a[0], &a[1], "gt", 1, pos, &r) < 0)
		return -1;
	return out_bool(o, r > 0);
}

static int
f_ge(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	int r;

	if (vcmp(c, &a[0], &a[1], "ge", 1, pos, &r) < 0)
		return -1;
	return out_bool(o, r >= 0);
}

static int
f_len(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	if (a[0].t == V_STR)
		return out_int(o, (long long)a[0].n);
	if (a[0].t == V_MAP)
		return out_int(o, (long long)json_object_size(c->vars));
	return terr(c, AG_EINVAL, pos, "error calling len: len of type %s",
	    tname(a[0].t));
}

/* index . "KEY": a variable by a name that is not an identifier. */
static int
f_index(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	if (n == 1) {
		*o = a[0];
		return 0;
	}
	if (a[0].t != V_MAP || n != 2 || a[1].t != V_STR)
		return terr(c, AG_EINVAL, pos, "error calling index: only "
		    "index . \"NAME\" (a variable by name) is supported");
	if (json_object_getn(c->vars, a[1].s, a[1].n) == NULL) {
		/* Go's index gives the zero value, even with missingkey */
		return vstr(c, o, "", 0);
	}
	return lookup(c, a[1].s, a[1].n, pos, o);
}

/* fmt.Sprint: a space between operands when neither is a string. */
static int
f_print(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	struct tbuf b = { NULL, 0, 0, AG_TEMPLATE_MAX_OUT };
	char num[64];
	const char *s;
	size_t i, len;
	int r = 0;

	for (i = 0; r == 0 && i < n; i++) {
		if (vtext(c, &a[i], &s, &len, num, sizeof num) < 0) {
			free(b.p);
			return -1;
		}
		if (i > 0 && a[i].t != V_STR && a[i - 1].t != V_STR)
			r = tbuf_add(&b, " ", 1);
		if (r == 0)
			r = tbuf_add(&b, s, len);
	}
	if (r == 0)
		r = vstr(c, o, b.p ? b.p : "", b.len);
	else
		r = r == AG_ETOOBIG ? terr(c, r, pos, "print: result over the "
		    "limit") : toom(c);
	free(b.p);
	return r;
}

static int
f_println(struct tctx *c, struct val *o, struct val *a, size_t n,
    size_t pos)
{
	struct tbuf b = { NULL, 0, 0, AG_TEMPLATE_MAX_OUT };
	char num[64];
	const char *s;
	size_t i, len;
	int r = 0;

	for (i = 0; r == 0 && i < n; i++) {
		if (vtext(c, &a[i], &s, &len, num, sizeof num) < 0) {
			free(b.p);
			return -1;
		}
		if (i > 0)
			r = tbuf_add(&b, " ", 1);
		if (r == 0)
			r = tbuf_add(&b, s, len);
	}
	if (r == 0)
		r = tbuf_add(&b, "\n", 1);
	if (r == 0)
		r = vstr(c, o, b.p, b.len);
	else
		r = r == AG_ETOOBIG ? terr(c, r, pos, "println: result over "
		    "the limit") : toom(c);
	free(b.p);
	return r;
}

/* printf with the verbs %s %d %v %q %%. */
static int
f_printf(struct tctx *c, struct val *o, struct val *a, size_t n, size_t pos)
{
	struct tbuf b = { NULL, 0, 0, AG_TEMPLATE_MAX_OUT };
	char num[64];
	const char *s;
	size_t i, len, k = 1;
	int r = 0;

	if (want_str(c, "printf", a, 0, pos) < 0)
		return -1;
	for (i = 0; r == 0 && i < a[0].n; i++) {
		char v;

		if (a[0].s[i] != '%' || i + 1 == a[0].n) {
			r = tbuf_add(&b, a[0].s + i, 1);
			continue;
		}
		v = a[0].s[++i];
		if (v == '%') {
			r = tbuf_add(&b, "%", 1);
			continue;
		}
		if (v != 's' && v != 'd' && v != 'v' && v != 'q') {
			free(b.p);
			return terr(c, AG_EINVAL, pos, "printf: verb %%%c is "
			    "not supported (only %%s %%d %%v %%q)", v);
		}
		if (k >= n) {
			r = tbuf_add(&b, "%!", 2);
			if (r == 0)
				r = tbuf_add(&b, &v, 1);
			if (r == 0)
				r = tbuf_add(&b, "(MISSING)", 9);
			continue;
		}
		if (vtext(c, &a[k], &s, &len, num, sizeof num) < 0) {
			free(b.p);
			return -1;
		}
		if (v == 'q' && a[k].t == V_STR)
			r = go_quote(&b, s, len);
		else
			r = tbuf_add(&b, s, len);
		k++;
	}
	if (r == 0)
		r = vstr(c, o, b.p ? b.p : "", b.len);
	else
		r = r == AG_ETOOBIG ? terr(c, r, pos, "printf: result over "
		    "the limit") : toom(c);
	free(b.p);
	return r;
}

/* Sorted by name for bsearch. */
static const struct fdef funcs[] = {
	{ "abbrev", 2, 2, f_abbrev },
	{ "add", 0, -1, f_add },
	{ "add1", 1, 1, f_add1 },
	{ "adler32sum", 1, 1, f_adler32 },
	{ "all", 0, -1, f_all },
	{ "and", 1, -1, f_and },
	{ "any", 0, -1, f_any },
	{ "atoi", 1, 1, f_atoi },
	{ "b64dec", 1, 1, f_b64dec },
	{ "b64enc", 1, 1, f_b64enc },
	{ "biggest", 1, -1, f_max },
	{ "cat", 0, -1, f_cat },
	{ "coalesce", 0, -1, f_coalesce },
	{ "contains", 2, 2, f_contains },
	{ "default", 1, -1, f_default },
	{ "div", 2, 2, f_div },
	{ "empty", 1, 1, f_empty },
	{ "eq", 2, -1, f_eq },
	{ "ge", 2, 2, f_ge },
	{ "gt", 2, 2, f_gt },
	{ "hasPrefix", 2, 2, f_hasprefix },
	{ "hasSuffix", 2, 2, f_hassuffix },
	{ "indent", 2, 2, f_indent },
	{ "index", 1, -1, f_index },
	{ "int", 1, 1, f_int },
	{ "int64", 1, 1, f_int },
	{ "le", 2, 2, f_le },
	{ "len", 1, 1, f_len },
	{ "lower", 1, 1, f_lower },
	{ "lt", 2, 2, f_lt },
	{ "max", 1, -1, f_max },
	{ "min", 1, -1, f_min },
	{ "mod", 2, 2, f_mod },
	{ "mul", 1, -1, f_mul },
	{ "ne", 2, 2, f_ne },
	{ "nindent", 2, 2, f_nindent },
	{ "nospace", 1, 1, f_nospace },
	{ "not", 1, 1, f_not },
	{ "or", 1, -1, f_or },
	{ "plural", 3, 3, f_plural },
	{ "print", 0, -1, f_print },
	{ "printf", 1, -1, f_printf },
	{ "println", 0, -1, f_println },
	{ "quote", 0, -1, f_quote },
	{ "repeat", 2, 2, f_repeat },
	{ "replace", 3, 3, f_replace },
	{ "sanitizeDNSName", 1, 1, f_sanitize },
	{ "sha1sum", 1, 1, f_sha1 },
	{ "sha256sum", 1, 1, f_sha256 },
	{ "sha512sum", 1, 1, f_sha512 },
	{ "squote", 0, -1, f_squote },
	{ "sub", 2, 2, f_sub },
	{ "substr", 3, 3, f_substr },
	{ "swapcase", 1, 1, f_swapcase },
	{ "ternary", 3, 3, f_ternary },
	{ "title", 1, 1, f_title },
	{ "toString", 1, 1, f_tostring },
	{ "trim", 1, 1, f_trim },
	{ "trimAll", 2, 2, f_trimall },
	{ "trimPrefix", 2, 2, f_trimprefix },
	{ "trimSuffix", 2, 2, f_trimsuffix },
	{ "trimall", 2, 2, f_trimall },
	{ "trunc", 2, 2, f_trunc },
	{ "untitle", 1, 1, f_untitle },
	{ "upper", 1, 1, f_upper },
};

static const struct fdef *
func_find(const char *name, size_t n)
{
	size_t lo = 0, hi = sizeof funcs / sizeof funcs[0], mid, k;
	int r;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		k = strlen(funcs[mid].name);
		r = strncmp(name, funcs[mid].name, n < k ? n : k);
		if (r == 0)
			r = n < k ? -1 : n > k;
		if (r == 0)
			return &funcs[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ------------------------------------------------------------ execution */

static int	eval_pipe(struct tctx *, const struct pipe *, const struct val *,
		    struct val *);

static int
eval_arg(struct tctx *c, const struct arg *a, const struct val *dot,
    struct val *out)
{
	memset(out, 0, sizeof *out);
	switch (a->k) {
	case A_FIELD:
		if (memchr(a->s, '.', a->n) != NULL)
			return terr(c, AG_EINVAL, a->pos, "can't evaluate "
			    "field chain \".%.*s\": variables are strings",
			    (int)(a->n > 60 ? 60 : a->n), a->s);
		if (dot->t != V_MAP)
			return terr(c, AG_EINVAL, a->pos, "can't evaluate "
			    "field %.*s in type %s", (int)(a->n > 60 ? 60 :
			    a->n), a->s, tname(dot->t));
		return lookup(c, a->s, a->n, a->pos, out);
	case A_DOT:
		*out = *dot;
		return 0;
	case A_STR:
		out->t = V_STR;
		out->s = a->s;
		out->n = a->n;
		return 0;
	case A_INT:
	case A_BOOL:
		out->t = a->k == A_INT ? V_INT : V_BOOL;
		out->i = a->i;
		return 0;
	case A_NIL:
		out->t = V_NIL;
		return 0;
	case A_PIPE:
		return eval_pipe(c, a->pipe, dot, out);
	case A_FUNC:
		/* a function as an argument: called without arguments */
		{
			const struct fdef *f = func_find(a->s, a->n);

			if (f == NULL)
				return terr(c, AG_EINVAL, a->pos, "function "
				    "\"%.*s\" not defined", (int)(a->n > 60 ?
				    60 : a->n), a->s);
			if (f->min > 0)
				return terr(c, AG_EINVAL, a->pos, "wrong number"
				    " of args for %s: want %d got 0", f->name,
				    f->min);
			return f->fn(c, out, NULL, 0, a->pos);
		}
	}
	return 0;
}

static int
eval_cmd(struct tctx *c, const struct cmd *cmd, const struct val *dot,
    const struct val *piped, struct val *out)
{
	struct val args[TEMPLATE_MAX_ARGS];
	const struct arg *a = cmd->args;
	const struct fdef *f;
	size_t n = 0;
	int r;

	if (a->k != A_FUNC) {
		if (cmd->nargs > 1 || piped != NULL)
			return terr(c, AG_EINVAL, cmd->pos, "can't give "
			    "argument to non-function");
		return eval_arg(c, a, dot, out);
	}
	if ((f = func_find(a->s, a->n)) == NULL)
		return terr(c, AG_EINVAL, a->pos, "function \"%.*s\" not "
		    "defined", (int)(a->n > 60 ? 60 : a->n), a->s);
	for (a = a->next; a != NULL; a = a->next) {
		if (n + 1 >= TEMPLATE_MAX_ARGS)
			return terr(c, AG_EINVAL, cmd->pos, "more than %d "
			    "arguments", TEMPLATE_MAX_ARGS - 1);
		if ((r = eval_arg(c, a, dot, &args[n])) < 0)
			return r;
		n++;
	}
	if (piped != NULL)
		args[n++] = *piped;
	if ((int)n < f->min || (f->max >= 0 && (int)n > f->max))
		return terr(c, AG_EINVAL, cmd->pos, "wrong number of args for "
		    "%s: want %s%d got %zu", f->name, f->max < 0 ? "at least " :
		    "", f->min, n);
	memset(out, 0, sizeof *out);
	return f->fn(c, out, args, n, cmd->pos) < 0 ? -1 : 0;
}

static int
eval_pipe(struct tctx *c, const struct pipe *p, const struct val *dot,
    struct val *out)
{
	const struct cmd *cmd;
	struct val v, prev;
	int r;

	for (cmd = p->cmds; cmd != NULL; cmd = cmd->next) {
		if ((r = eval_cmd(c, cmd, dot, cmd == p->cmds ? NULL : &prev,
		    &v)) < 0)
			return r;
		prev = v;
	}
	*out = prev;
	return 0;
}

static int
exec_list(struct tctx *c, const struct node *n, const struct val *dot,
    struct tbuf *b)
{
	struct val v;
	char num[64];
	const char *s;
	size_t len;
	int r;

	for (; n != NULL; n = n->next) {
		switch (n->k) {
		case N_TEXT:
			s = n->s;
			len = n->n;
			break;
		case N_ACTION:
			if ((r = eval_pipe(c, n->pipe, dot, &v)) < 0)
				return r;
			if (v.t == V_NIL) {
				s = "<no value>";
				len = strlen(s);
			} else if (vtext(c, &v, &s, &len, num, sizeof num) < 0)
				return -1;
			break;
		case N_IF:
		case N_WITH:
			if ((r = eval_pipe(c, n->pipe, dot, &v)) < 0)
				return r;
			if (truth(c, &v))
				r = exec_list(c, n->list, n->k == N_WITH ? &v :
				    dot, b);
			else
				r = exec_list(c, n->elist, dot, b);
			if (r < 0)
				return r;
			continue;
		default:
			continue;
		}
		if ((r = tbuf_add(b, s, len)) < 0) {
			if (r == AG_ETOOBIG)
				return terr(c, r, n->pos, "output over the "
				    "limit of %zu bytes", b->max);
			return toom(c);
		}
	}
	return 0;
}

/* Parses and runs text with the variables as dot; output into b. */
static int
run_text(struct tctx *c, const char *text, struct tbuf *b)
{
	struct parser ps;
	struct node *list;
	struct tok end;
	struct val dot = { V_MAP, NULL, 0, 0 };
	int r;

	memset(&ps, 0, sizeof ps);
	ps.c = c;
	ps.text = text;
	c->text = text;
	if ((r = parse_list(&ps, &list, &end)) < 0)
		return r;
	if (end.t != T_BAD)
		return terr(c, AG_EINVAL, end.pos, "unexpected {{ %.*s }}",
		    (int)end.n, end.s);
	return exec_list(c, list, &dot, b);
}

static int
tctx_init(struct tctx *c, const json_t *vars, struct ag_err *err)
{
	memset(c, 0, sizeof *c);
	c->vars = vars;
	c->err = err;
	c->resolved = json_object();
	c->busy = json_object();
	if (c->resolved == NULL || c->busy == NULL) {
		json_decref(c->resolved);
		json_decref(c->busy);
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	return 0;
}

static void
tctx_done(struct tctx *c)
{
	arena_free(&c->ar);
	json_decref(c->resolved);
	json_decref(c->busy);
}

/* ------------------------------------------------------------ API */

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

int
ag_template_expand(char **out, const char *text, const json_t *vars,
    struct ag_err *err)
{
	struct tbuf b = { NULL, 0, 0, AG_TEMPLATE_MAX_OUT };
	struct tctx c;
	int r;

	*out = NULL;
	if (text == NULL)
		return ag_err_set(err, AG_EINVAL, "template: no text");
	if (vars != NULL && !json_is_object(vars))
		return ag_err_set(err, AG_EINVAL,
		    "template: variables must be a JSON object");
	if ((r = tctx_init(&c, vars, err)) < 0)
		return r;
	if ((r = run_text(&c, text, &b)) >= 0)
		r = tbuf_add(&b, "", 0) < 0 ? toom(&c) : 0;
	tctx_done(&c);
	if (r < 0) {
		free(b.p);
		return err != NULL && err->code ? err->code : r;
	}
	*out = b.p;
	return 0;
}

/* The tree walk of ag_template_json: path names the node for errors. */
struct tjson {
	struct tctx	 c;
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
	if ((r = run_text(&t->c, s, &b)) < 0) {
		if (t->err.code == AG_ETOOBIG &&
		    strstr(t->err.msg, "output over") != NULL) {
			/* say that the limit is for the whole tree */
			ag_err_clear(&t->err);
			ag_err_set(&t->err, AG_ETOOBIG,
			    "template: expanded strings over the limit of "
			    "%d bytes in all", AG_TEMPLATE_MAX_OUT);
		}
		free(b.p);
		return t->err.code ? t->err.code : r;
	}
	t->budget -= b.len;
	*out = json_stringn(b.p != NULL ? b.p : "", b.len);
	free(b.p);
	/* the arena holds one string's scratch at a time */
	arena_free(&t->c.ar);
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
	if ((r = tctx_init(&t->c, vars, &t->err)) < 0) {
		free(t);
		return ag_err_set(err, r, "out of memory");
	}
	t->budget = AG_TEMPLATE_MAX_OUT;
	if ((r = tjson_node(t, in, out, 0)) < 0) {
		if (t->path[0] != '\0')
			ag_err_set(err, r, "%s at %s", t->err.msg, t->path);
		else
			ag_err_set(err, r, "%s", t->err.msg);
	}
	tctx_done(&t->c);
	free(t);
	return r;
}

int
ag_template_yaml(json_t **out, const char *text, size_t len,
    const char *filename, const json_t *vars, struct ag_err *err)
{
	json_t *doc = NULL;
	int r;

	*out = NULL;
	if ((r = ag_yaml_load(&doc, text, len, filename, err)) < 0)
		return r;
	r = ag_template_json(out, doc, vars, err);
	json_decref(doc);
	return r;
}

json_t *
ag_template_artifact_vars(const json_t *artifact, const char *app)
{
	static const struct {
		const char *var, *field;
	} from_version[] = {
		{ "SHA", "sha" }, { "BRANCH", "branch" }, { "TAG", "tag" },
		{ "EVENT", "event" }, { "REPO", "repositoryName" },
	};
	const json_t *v = json_object_get(artifact, "version"), *item;
	json_t *vars = json_object(), *x;
	const char *k, *s;
	size_t i;
	char *d;

	if (vars == NULL)
		return NULL;
	for (i = 0; i < sizeof from_version / sizeof from_version[0]; i++)
		if ((s = json_string_value(json_object_get(v,
		    from_version[i].field))) != NULL)
			json_object_set_new(vars, from_version[i].var,
			    json_string(s));
	/* Gimlet: a version without event is a push (Go's zero value) */
	if (json_object_get(vars, "EVENT") == NULL && json_is_object(v))
		json_object_set_new(vars, "EVENT", json_string("push"));
	/* CollectVariables: context, then items' strings, then vars */
	json_object_foreach((json_t *)(uintptr_t)json_object_get(artifact,
	    "context"), k, x)
		if (json_is_string(x))
			json_object_set(vars, k, x);
	json_array_foreach(json_object_get(artifact, "items"), i, item)
		json_object_foreach((json_t *)(uintptr_t)item, k, x)
			if (json_is_string(x))
				json_object_set(vars, k, x);
	json_object_foreach((json_t *)(uintptr_t)json_object_get(artifact,
	    "vars"), k, x) {
		if (json_is_string(x))
			json_object_set(vars, k, x);
		else {
			d = json_dumps(x, JSON_ENCODE_ANY);
			json_object_set_new(vars, k, json_string(d ? d : ""));
			free(d);
		}
	}
	if (app != NULL)
		json_object_set_new(vars, "APP", json_string(app));
	return vars;
}

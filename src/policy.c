/*
 * Deploy policies as Gimlet applies them (pkg/dashboard/worker/gitops.go,
 * deployTrigger), with gobwas/glob's pattern syntax. A glob compiles to a
 * small Thompson program and runs in O(glob * text): no backtracking.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auger/policy.h"

/* Instructions a glob of AG_POLICY_GLOB_MAX bytes can need, with room. */
#define PROG_MAX	(4 * AG_POLICY_GLOB_MAX + 16)
/* Nesting of {...} accepted. */
#define TERMS_DEPTH_MAX	16
/* Longest text a pattern is matched against. */
#define TEXT_MAX	(64 * 1024)

enum op {
	OP_CHAR,	/* one code point: a */
	OP_ANY,		/* any one code point */
	OP_RANGE,	/* a <= c <= b, negated when neg */
	OP_LIST,	/* c among the code points at list[a..a+b), neg */
	OP_SPLIT,	/* go on at a and at b */
	OP_JMP,		/* go on at a */
	OP_FAIL,
	OP_MATCH
};

struct inst {
	enum op		op;
	int		neg;
	uint32_t	a, b;
};

struct prog {
	struct inst	in[PROG_MAX];
	size_t		n;
	uint32_t	list[AG_POLICY_GLOB_MAX];
	size_t		nlist;
	const char	*p;		/* parse position */
	const char	*glob;
	struct ag_err	*err;
};

/* UTF-8 decoding; a bad sequence reads as U+FFFD, one byte long. */
static size_t
utf8_dec(const char *s, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n, i;
	uint32_t c;

	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if ((u[0] & 0xe0) == 0xc0) {
		n = 2;
		c = u[0] & 0x1f;
	} else if ((u[0] & 0xf0) == 0xe0) {
		n = 3;
		c = u[0] & 0x0f;
	} else if ((u[0] & 0xf8) == 0xf0) {
		n = 4;
		c = u[0] & 0x07;
	} else
		goto bad;
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			goto bad;
		c = (c << 6) | (u[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*cp = c;
	return n;
bad:
	*cp = 0xfffd;
	return 1;
}

static int
prog_bad(struct prog *g, const char *why)
{
	return ag_err_set(g->err, AG_EINVAL, "malformed glob \"%.256s\": %s",
	    g->glob, why);
}

static int
emit(struct prog *g, enum op op, uint32_t a, uint32_t b, int neg)
{
	if (g->n >= PROG_MAX)
		return prog_bad(g, "too complex");
	g->in[g->n].op = op;
	g->in[g->n].a = a;
	g->in[g->n].b = b;
	g->in[g->n].neg = neg;
	return (int)g->n++;
}

/* One code point of the glob; 0 at its end, -1 (err set) when not UTF-8. */
static int
next_cp(struct prog *g, uint32_t *cp)
{
	size_t n;

	if (*g->p == '\0')
		return 0;
	n = utf8_dec(g->p, cp);
	if (*cp == 0xfffd && n == 1 &&
	    (unsigned char)*g->p >= 0x80)
		return prog_bad(g, "could not read rune");
	g->p += n;
	return 1;
}

/* "[...]" after its "[": a list or one lo-hi range, as gobwas lexes it. */
static int
parse_range(struct prog *g)
{
	uint32_t c, lo, hi;
	size_t start = g->nlist;
	int neg = 0, r;

	if ((r = next_cp(g, &c)) < 0)
		return r;
	if (r == 0)
		return prog_bad(g, "unexpected end of input");
	if (c == '!') {
		neg = 1;
		if ((r = next_cp(g, &c)) < 0)
			return r;
		if (r == 0)
			return prog_bad(g, "unexpected end of input");
	}
	if (*g->p == '-') {
		lo = c;
		g->p++;
		if ((r = next_cp(g, &hi)) < 0)
			return r;
		if (r == 0)
			return prog_bad(g, "unexpected end of input");
		if (*g->p != ']')
			return prog_bad(g, *g->p == '\0' ?
			    "unexpected end of input" :
			    "expected close range character");
		g->p++;
		if (hi < lo)
			return prog_bad(g, "range's hi character is below lo");
		return emit(g, OP_RANGE, lo, hi, neg) < 0 ? -1 : 0;
	}
	/* text up to "]", with escapes */
	for (;;) {
		if (c == ']')
			break;
		if (c == '\\') {
			if ((r = next_cp(g, &c)) < 0)
				return r;
			if (r == 0)
				break;
		}
		if (g->nlist >= AG_POLICY_GLOB_MAX)
			return prog_bad(g, "too long");
		g->list[g->nlist++] = c;
		if ((r = next_cp(g, &c)) < 0)
			return r;
		if (r == 0)
			return prog_bad(g, "unexpected end of input");
	}
	if (c != ']')
		return prog_bad(g, "unexpected end of input");
	if (g->nlist == start)
		return prog_bad(g, "could not parse range");
	return emit(g, OP_LIST, (uint32_t)start, (uint32_t)(g->nlist - start),
	    neg) < 0 ? -1 : 0;
}

/*
 * A sequence up to the end, or in terms up to "," or "}" (left in g->p).
 * An unclosed "{" ends at the end of the glob, as gobwas accepts it.
 */
static int
parse_seq(struct prog *g, int depth)
{
	uint32_t c;
	int r, split, jmps[AG_POLICY_GLOB_MAX], njmp, i;

	for (;;) {
		if (*g->p == '\0')
			return 0;
		if (depth > 0 && (*g->p == ',' || *g->p == '}'))
			return 0;
		if (*g->p == '{') {
			if (depth >= TERMS_DEPTH_MAX)
				return prog_bad(g, "braces nested too deep");
			g->p++;
			njmp = 0;
			for (;;) {
				if ((split = emit(g, OP_SPLIT, 0, 0, 0)) < 0)
					return -1;
				g->in[split].a = (uint32_t)split + 1;
				if ((r = parse_seq(g, depth + 1)) < 0)
					return r;
				if ((jmps[njmp++] = emit(g, OP_JMP, 0, 0, 0)) < 0)
					return -1;
				g->in[split].b = (uint32_t)g->n;
				if (*g->p == ',') {
					g->p++;
					continue;
				}
				if (*g->p == '}')
					g->p++;
				break;
			}
			if (emit(g, OP_FAIL, 0, 0, 0) < 0)
				return -1;
			for (i = 0; i < njmp; i++)
				g->in[jmps[i]].a = (uint32_t)g->n;
			continue;
		}
		if (*g->p == '[') {
			g->p++;
			if ((r = parse_range(g)) < 0)
				return r;
			continue;
		}
		if (*g->p == '?') {
			g->p++;
			if (emit(g, OP_ANY, 0, 0, 0) < 0)
				return -1;
			continue;
		}
		if (*g->p == '*') {
			/* "*" and "**" are the same without separators */
			while (*g->p == '*')
				g->p++;
			split = emit(g, OP_SPLIT, 0, 0, 0);
			if (split < 0 || emit(g, OP_ANY, 0, 0, 0) < 0 ||
			    emit(g, OP_JMP, (uint32_t)split, 0, 0) < 0)
				return -1;
			g->in[split].a = (uint32_t)split + 1;
			g->in[split].b = (uint32_t)g->n;
			continue;
		}
		if (*g->p == '\\') {
			g->p++;
			if (*g->p == '\0')
				return 0;	/* gobwas drops a trailing "\" */
		}
		if ((r = next_cp(g, &c)) < 0)
			return r;
		if (emit(g, OP_CHAR, c, 0, 0) < 0)
			return -1;
	}
}

static int
inst_takes(const struct prog *g, const struct inst *in, uint32_t c)
{
	size_t i;
	int m;

	switch (in->op) {
	case OP_CHAR:
		return c == in->a;
	case OP_ANY:
		return 1;
	case OP_RANGE:
		m = c >= in->a && c <= in->b;
		return in->neg ? !m : m;
	case OP_LIST:
		m = 0;
		for (i = in->a; i < in->a + in->b; i++)
			if (g->list[i] == c)
				m = 1;
		return in->neg ? !m : m;
	default:
		return 0;
	}
}

/* Adds pc and what it reaches without input to set (marked with gen). */
static void
add_thread(const struct prog *g, uint32_t *set, size_t *nset, uint32_t *mark,
    uint32_t gen, uint32_t pc, uint32_t *stack)
{
	size_t sp = 0;

	stack[sp++] = pc;
	while (sp > 0) {
		pc = stack[--sp];
		if (mark[pc] == gen)
			continue;
		mark[pc] = gen;
		switch (g->in[pc].op) {
		case OP_JMP:
			stack[sp++] = g->in[pc].a;
			break;
		case OP_SPLIT:
			stack[sp++] = g->in[pc].b;
			stack[sp++] = g->in[pc].a;
			break;
		case OP_FAIL:
			break;
		default:
			set[(*nset)++] = pc;
		}
	}
}

static int
prog_run(const struct prog *g, const char *s)
{
	uint32_t *buf, *cur, *nxt, *mark, *stack, *t, gen = 1, c;
	size_t ncur = 0, nnxt, i, n = g->n;
	int matched = 0;

	if ((buf = calloc(5 * n + 2, sizeof *buf)) == NULL)
		return -1;
	cur = buf;
	nxt = buf + n;
	mark = buf + 2 * n;
	stack = buf + 3 * n;	/* 2n + 1: two pushes per pc, one start */
	add_thread(g, cur, &ncur, mark, gen, 0, stack);
	while (*s != '\0' && ncur > 0) {
		s += utf8_dec(s, &c);
		gen++;
		nnxt = 0;
		for (i = 0; i < ncur; i++)
			if (inst_takes(g, &g->in[cur[i]], c))
				add_thread(g, nxt, &nnxt, mark, gen,
				    cur[i] + 1, stack);
		t = cur;
		cur = nxt;
		nxt = t;
		ncur = nnxt;
	}
	if (*s == '\0')
		for (i = 0; i < ncur; i++)
			if (g->in[cur[i]].op == OP_MATCH)
				matched = 1;
	free(buf);
	return matched;
}

int
ag_policy_globmatch(const char *glob, const char *s, struct ag_err *err)
{
	struct prog *g;
	int r;

	if (strlen(glob) > AG_POLICY_GLOB_MAX)
		return ag_err_set(err, AG_EINVAL, "glob \"%.40s...\" is longer "
		    "than %d bytes", glob, AG_POLICY_GLOB_MAX);
	if (strlen(s) > TEXT_MAX)
		return 0;
	if ((g = calloc(1, sizeof *g)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	g->p = g->glob = glob;
	g->err = err;
	if ((r = parse_seq(g, 0)) < 0 || emit(g, OP_MATCH, 0, 0, 0) < 0) {
		free(g);
		return AG_EINVAL;
	}
	if ((r = prog_run(g, s)) < 0)
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
	free(g);
	return r;
}

int
ag_policy_glob(const char *glob, const char *s, struct ag_err *err)
{
	int neg = 0, m;

	if (glob[0] == '!') {
		neg = 1;
		glob++;
	}
	/* Gimlet: exactMatch || patternMatch */
	if (strcmp(glob, s) == 0)
		m = 1;
	else if ((m = ag_policy_globmatch(glob, s, err)) < 0)
		return m;
	return neg ? !m : m;
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* Gimlet's commitMessagePatternMatch: "[" and "]" are escaped first. */
static int
message_glob(const char *pat, const char *msg, struct ag_err *err)
{
	char esc[2 * AG_POLICY_GLOB_MAX + 1];
	size_t i, n = 0;

	if (strlen(pat) > AG_POLICY_GLOB_MAX)
		return ag_err_set(err, AG_EINVAL, "commitMessagePatterns: "
		    "\"%.40s...\" is longer than %d bytes", pat,
		    AG_POLICY_GLOB_MAX);
	for (i = 0; pat[i] != '\0'; i++) {
		if (pat[i] == '[' || pat[i] == ']')
			esc[n++] = '\\';
		esc[n++] = pat[i];
	}
	esc[n] = '\0';
	/* the escaped form may be longer than a glob may be: match it raw */
	if (n > AG_POLICY_GLOB_MAX) {
		if (strpbrk(pat, "[]") == NULL)
			return ag_policy_globmatch(pat, msg, err);
		return ag_err_set(err, AG_EINVAL, "commitMessagePatterns: "
		    "\"%.40s...\" is too long with its brackets escaped", pat);
	}
	return ag_policy_globmatch(esc, msg, err);
}

/* The event of a version: Go's zero value, push, when absent or unknown. */
static const char *
version_event(const json_t *version)
{
	const char *e = str(version, "event");

	if (strcmp(e, "tag") == 0 || strcmp(e, "pr") == 0)
		return e;
	return "push";
}

int
ag_policy_match(const json_t *deploy, const json_t *version,
    struct ag_err *err)
{
	const char *event = version_event(version), *want = NULL;
	const char *branch, *tag, *msg = str(version, "message");
	const json_t *pats, *p, *ev;
	size_t i, npats;
	int m;

	if (!json_is_object(deploy))
		return 0;
	branch = str(deploy, "branch");
	tag = str(deploy, "tag");
	ev = json_object_get(deploy, "event");
	if (ev != NULL && !json_is_null(ev)) {
		if (!json_is_string(ev))
			return ag_err_set(err, AG_EINVAL,
			    "deploy.event must be push, tag or pr");
		want = json_string_value(ev);
		if (strcmp(want, "push") != 0 && strcmp(want, "tag") != 0 &&
		    strcmp(want, "pr") != 0)
			return ag_err_set(err, AG_EINVAL, "deploy.event must "
			    "be push, tag or pr, not \"%.40s\"", want);
	}
	pats = json_object_get(deploy, "commitMessagePatterns");
	if (pats != NULL && !json_is_null(pats) && !json_is_array(pats))
		return ag_err_set(err, AG_EINVAL,
		    "commitMessagePatterns must be a list of strings");
	npats = json_array_size(pats);
	/* deploy: {} deploys nothing */
	if (*branch == '\0' && want == NULL && *tag == '\0' && npats == 0)
		return 0;
	if (*branch != '\0' && (want == NULL || strcmp(want, "tag") == 0))
		return 0;
	if (*tag != '\0' && (want == NULL || strcmp(want, "tag") != 0))
		return 0;
	if (*tag != '\0' &&
	    (m = ag_policy_glob(tag, str(version, "tag"), err)) <= 0)
		return m;
	if (*branch != '\0' &&
	    (m = ag_policy_glob(branch, str(version, "branch"), err)) <= 0)
		return m;
	if (want != NULL && strcmp(want, event) != 0)
		return 0;
	if (npats == 0)
		return 1;
	if (strstr(msg, AG_DEPLOY_ALL_MARK) != NULL)
		return 1;
	m = 0;
	json_array_foreach(pats, i, p) {
		int r;

		if (!json_is_string(p))
			return ag_err_set(err, AG_EINVAL,
			    "commitMessagePatterns must be strings");
		if ((r = message_glob(json_string_value(p), msg, err)) < 0)
			return r;
		m |= r;
	}
	return m;
}

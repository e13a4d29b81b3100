/*
 * git fsck's object checks (Documentation/fsck-msgids): the rules follow
 * git's fsck.c, path.c and utf8.c as receive-pack applies them (index-pack
 * --strict: errors and warnings refuse, infos pass); the code is our own.
 * Every check reads a length-bounded buffer and never trusts a NUL.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auger/fsck.h"
#include "auger/oidset.h"

#define OID_RAWSZ	20
#define OID_HEXSZ	40

#define MODE_FMT	0170000
#define MODE_DIR	0040000
#define MODE_LNK	0120000
#define MODE_GITLINK	0160000

/* What a remembered blob id is named as, and what was checked of it. */
#define BLOB_MODULES		0x1
#define BLOB_ATTRS		0x2
#define BLOB_MODULES_DONE	0x4
#define BLOB_ATTRS_DONE		0x8

/* How much of a name or value a message quotes. */
#define QUOTE_MAX	80

/* A file name pushed on the tree-order stack (see verify_order). */
struct name {
	const char	*p;
	size_t		 len;
};

struct ag_fsck {
	struct ag_oidset blobs;		/* id -> BLOB_* flags */
	struct name	*stack;		/* scratch of check_tree, reused */
	size_t		 nstack, capstack;
};

/* git's ctype: ASCII only, whatever the locale. */
static int
c_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
c_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static int
c_isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
c_isalnum(int c)
{
	return c_isalpha(c) || c_isdigit(c);
}

static int
c_tolower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Two hex digits at s (n bytes available) as a byte, or -1. */
static int
hex2(const char *s, size_t n)
{
	int a, b;

	if (n < 2 || (a = hexval((unsigned char)s[0])) < 0 ||
	    (b = hexval((unsigned char)s[1])) < 0)
		return -1;
	return a << 4 | b;
}

/* Writes s[0..n) into out as a quoted, printable-ASCII string. */
static void
quote(char *out, size_t outsz, const char *s, size_t n)
{
	size_t o = 0, i;
	int c;

	if (outsz < 8)
		return;
	out[o++] = '"';
	for (i = 0; i < n && i < QUOTE_MAX && o + 6 < outsz; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outsz - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (i < n && o + 4 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/*
 * Refuses: err->msg is "<msgid>: <type> <oid>: <what>" (no oid when id is
 * NULL), control bytes in what replaced, so it fits on one "ng" line.
 */
static int
__attribute__((format(printf, 5, 6)))
report(struct ag_err *err, const char *msgid, const char *type,
    const git_oid *id, const char *fmt, ...)
{
	char what[AG_ERR_MSG_MAX], hex[OID_HEXSZ + 1];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	for (i = 0; what[i] != '\0'; i++)
		if ((unsigned char)what[i] < 0x20 ||
		    (unsigned char)what[i] >= 0x7f)
			what[i] = '?';
	if (id == NULL)
		return ag_err_set(err, AG_EINVAL, "%s: %s: %s", msgid, type,
		    what);
	git_oid_tostr(hex, sizeof hex, id);
	return ag_err_set(err, AG_EINVAL, "%s: %s %s: %s", msgid, type, hex,
	    what);
}

/* The byte at i of a name, 0 past its end (names end there as in C). */
static int
at(const char *p, size_t len, size_t i)
{
	return i < len ? (unsigned char)p[i] : 0;
}

static int
is_dir_sep(int c)
{
	return c == '/' || c == '\\';
}

/*
 * The next code point of a name for HFS+ purposes: the ignorable ones are
 * skipped, the end and malformed UTF-8 are both 0 (neither can spell
 * ".git"; after the needle both end the name, as in git).
 */
static uint32_t
hfs_next(const char **pp, const char *end)
{
	const unsigned char *s;
	size_t left;
	uint32_t ch;
	size_t n;

	for (;;) {
		s = (const unsigned char *)*pp;
		left = (size_t)(end - *pp);
		if (left == 0)
			return 0;
		if (s[0] < 0x80) {
			ch = s[0];
			n = 1;
		} else if ((s[0] & 0xe0) == 0xc0) {
			if (left < 2 || (s[1] & 0xc0) != 0x80 ||
			    (s[0] & 0xfe) == 0xc0)
				return 0;
			ch = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
			n = 2;
		} else if ((s[0] & 0xf0) == 0xe0) {
			if (left < 3 || (s[1] & 0xc0) != 0x80 ||
			    (s[2] & 0xc0) != 0x80 ||
			    (s[0] == 0xe0 && (s[1] & 0xe0) == 0x80) ||
			    (s[0] == 0xed && (s[1] & 0xe0) == 0xa0) ||
			    (s[0] == 0xef && s[1] == 0xbf &&
			    (s[2] & 0xfe) == 0xbe))
				return 0;
			ch = (uint32_t)(s[0] & 0x0f) << 12 |
			    (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
			n = 3;
		} else if ((s[0] & 0xf8) == 0xf0) {
			if (left < 4 || (s[1] & 0xc0) != 0x80 ||
			    (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80 ||
			    (s[0] == 0xf0 && (s[1] & 0xf0) == 0x80) ||
			    (s[0] == 0xf4 && s[1] > 0x8f) || s[0] > 0xf4)
				return 0;
			ch = (uint32_t)(s[0] & 0x07) << 18 |
			    (uint32_t)(s[1] & 0x3f) << 12 |
			    (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
			n = 4;
		} else {
			return 0;
		}
		*pp += n;
		switch (ch) {
		case 0x200c: case 0x200d: case 0x200e: case 0x200f:
		case 0x202a: case 0x202b: case 0x202c: case 0x202d:
		case 0x202e:
		case 0x206a: case 0x206b: case 0x206c: case 0x206d:
		case 0x206e: case 0x206f:
		case 0xfeff:
			continue;	/* HFS+ ignores these entirely */
		}
		return ch;
	}
}

/* Whether name is "." + needle once HFS+ has ignored and folded it. */
static int
is_hfs_dot(const char *name, size_t len, const char *needle)
{
	const char *p = name, *end = name + len;
	uint32_t c;

	if (hfs_next(&p, end) != '.')
		return 0;
	for (; *needle != '\0'; needle++) {
		c = hfs_next(&p, end);
		if (c > 127 || c_tolower((int)c) != *needle)
			return 0;
	}
	c = hfs_next(&p, end);
	/* Both separators: Windows clients with fetch.fsckObjects use both. */
	return c == 0 || is_dir_sep((int)c);
}

/*
 * NTFS names of ".git": ".git" or "git~1" (any case) followed only by
 * spaces and dots up to the end, a separator or an ":stream".
 */
static int
is_ntfs_dotgit(const char *name, size_t len)
{
	size_t i;
	int c;

	c = at(name, len, 0);
	if (c == '.') {
		if (c_tolower(at(name, len, 1)) != 'g' ||
		    c_tolower(at(name, len, 2)) != 'i' ||
		    c_tolower(at(name, len, 3)) != 't')
			return 0;
		i = 4;
	} else if (c_tolower(c) == 'g') {
		if (c_tolower(at(name, len, 1)) != 'i' ||
		    c_tolower(at(name, len, 2)) != 't' ||
		    at(name, len, 3) != '~' || at(name, len, 4) != '1')
			return 0;
		i = 5;
	} else {
		return 0;
	}
	for (;; i++) {
		c = at(name, len, i);
		if (c == 0 || is_dir_sep(c) || c == ':')
			return 1;
		if (c != '.' && c != ' ')
			return 0;
	}
}

/* Only spaces and dots from i to the end or an ":stream". */
static int
ntfs_tail(const char *name, size_t len, size_t i)
{
	int c;

	for (;; i++) {
		c = at(name, len, i);
		if (c == 0 || c == ':')
			return 1;
		if (c != ' ' && c != '.')
			return 0;
	}
}

/*
 * NTFS names of "." + dotname (e.g. ".gitmodules"): the name with trailing
 * spaces and dots, its 6-letter short name "gitmod~1".."~4", and the
 * hashed fall-back short name "<prefix>~N" that Windows derives from it.
 */
static int
is_ntfs_dot(const char *name, size_t len, const char *dotname,
    const char *shortprefix)
{
	size_t n = strlen(dotname), i;
	int saw_tilde = 0, c;

	if (at(name, len, 0) == '.' && len >= n + 1) {
		for (i = 0; i < n; i++)
			if (c_tolower(at(name, len, i + 1)) != dotname[i])
				break;
		if (i == n)
			return ntfs_tail(name, len, n + 1);
	}
	for (i = 0; i < 6; i++)
		if (c_tolower(at(name, len, i)) != dotname[i])
			break;
	if (i == 6 && at(name, len, 6) == '~' && at(name, len, 7) >= '1' &&
	    at(name, len, 7) <= '4')
		return ntfs_tail(name, len, 8);
	for (i = 0; i < 8; i++) {
		c = at(name, len, i);
		if (c == 0)
			return 0;
		if (saw_tilde) {
			if (!c_isdigit(c))
				return 0;
		} else if (c == '~') {
			i++;
			c = at(name, len, i);
			if (c < '1' || c > '9')
				return 0;
			saw_tilde = 1;
		} else if (i >= 6) {
			return 0;
		} else if (c & 0x80) {
			return 0;
		} else if (c_tolower(c) != shortprefix[i]) {
			return 0;
		}
	}
	return ntfs_tail(name, len, 8);
}

int
ag_fsck_is_dotgit(const char *name, size_t len)
{
	const char *bs, *end = name + len;

	if (is_hfs_dot(name, len, "git") || is_ntfs_dotgit(name, len))
		return 1;
	/* fsck reads backslashes as separators on every platform. */
	for (bs = memchr(name, '\\', len); bs != NULL;
	    bs = memchr(bs, '\\', (size_t)(end - bs))) {
		bs++;
		if (is_ntfs_dotgit(bs, (size_t)(end - bs)))
			return 1;
	}
	return 0;
}

int
ag_fsck_is_dotgitmodules(const char *name, size_t len)
{
	const char *bs, *end = name + len;

	if (is_hfs_dot(name, len, "gitmodules") ||
	    is_ntfs_dot(name, len, "gitmodules", "gi7eba"))
		return 1;
	for (bs = memchr(name, '\\', len); bs != NULL;
	    bs = memchr(bs, '\\', (size_t)(end - bs))) {
		bs++;
		if (is_ntfs_dot(bs, (size_t)(end - bs), "gitmodules",
		    "gi7eba"))
			return 1;
	}
	return 0;
}

static int
is_dotgitattributes(const char *name, size_t len)
{
	return is_hfs_dot(name, len, "gitattributes") ||
	    is_ntfs_dot(name, len, "gitattributes", "gi7d29");
}

int
ag_fsck_new(struct ag_fsck **out)
{
	struct ag_fsck *f;

	*out = NULL;
	if ((f = calloc(1, sizeof *f)) == NULL)
		return AG_EINTERNAL;
	ag_oidset_init(&f->blobs);
	*out = f;
	return 0;
}

void
ag_fsck_free(struct ag_fsck *f)
{
	if (f == NULL)
		return;
	ag_oidset_clear(&f->blobs);
	free(f->stack);
	free(f);
}

size_t
ag_fsck_pending(const struct ag_fsck *f)
{
	size_t i, n = 0;
	int v;

	for (i = 0; i < f->blobs.cap; i++) {
		if (!f->blobs.used[i])
			continue;
		v = f->blobs.vals[i];
		if (((v & BLOB_MODULES) && !(v & BLOB_MODULES_DONE)) ||
		    ((v & BLOB_ATTRS) && !(v & BLOB_ATTRS_DONE)))
			n++;
	}
	return n;
}

/* Adds flag to what id is remembered as. */
static int
remember(struct ag_fsck *f, const git_oid *id, int flag, struct ag_err *err)
{
	int v = 0;

	ag_oidset_get(&f->blobs, id, &v);
	if (ag_oidset_put(&f->blobs, id, v | flag) < 0)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	return 0;
}

static int
stack_push(struct ag_fsck *f, const char *p, size_t len, struct ag_err *err)
{
	struct name *ns;
	size_t cap;

	if (f->nstack == f->capstack) {
		cap = f->capstack ? f->capstack * 2 : 16;
		if ((ns = realloc(f->stack, cap * sizeof *ns)) == NULL)
			return ag_err_set(err, AG_EINTERNAL, "out of memory");
		f->stack = ns;
		f->capstack = cap;
	}
	f->stack[f->nstack].p = p;
	f->stack[f->nstack].len = len;
	f->nstack++;
	return 0;
}

static int
less_than_slash(int c)
{
	return c > 0 && c < '/';
}

enum { ORDER_OK, ORDER_UNSORTED, ORDER_DUP, ORDER_NOMEM };

/*
 * Tree order (gitformat-tree): names compare as bytes, a directory as if
 * its name ended in '/'. A file "foo" and a directory "foo" are duplicates
 * even when "foo.bar" sorts between them, so the files that could still
 * meet a directory of the same name wait on f's stack.
 */
static int
verify_order(struct ag_fsck *f, unsigned m1, const char *n1, size_t l1,
    unsigned m2, const char *n2, size_t l2, struct ag_err *err)
{
	size_t len = l1 < l2 ? l1 : l2;
	struct name top;
	int cmp, c1, c2;

	cmp = memcmp(n1, n2, len);
	if (cmp < 0)
		return ORDER_OK;
	if (cmp > 0)
		return ORDER_UNSORTED;
	c1 = at(n1, l1, len);
	c2 = at(n2, l2, len);
	if (c1 == 0 && c2 == 0)
		return ORDER_DUP;
	if (c1 == 0 && (m1 & MODE_FMT) == MODE_DIR)
		c1 = '/';
	if (c2 == 0 && (m2 & MODE_FMT) == MODE_DIR)
		c2 = '/';
	if (c1 == 0 && less_than_slash(c2)) {
		if (stack_push(f, n1, l1, err) < 0)
			return ORDER_NOMEM;
	} else if (c2 == '/' && less_than_slash(c1)) {
		while (f->nstack > 0) {
			top = f->stack[--f->nstack];
			if (top.len > l2 || memcmp(n2, top.p, top.len) != 0)
				continue;
			if (top.len == l2)
				return ORDER_DUP;
			if (less_than_slash((unsigned char)n2[top.len])) {
				f->nstack++;
				break;
			}
		}
	}
	return c1 < c2 ? ORDER_OK : ORDER_UNSORTED;
}

/* The first entry that showed each problem of a tree. */
enum {
	T_DOTGIT, T_MODSYMLINK, T_MODNOTBLOB, T_DOTDOT, T_DOT, T_FULLPATH,
	T_EMPTY, T_DUP, T_UNSORTED, T_ZEROPAD, T_NULLSHA1, T_LARGE, T_MAX
};

static const struct {
	const char	*id;
	const char	*what;
} tree_msgs[T_MAX] = {
	[T_DOTGIT] = { "hasDotgit", "contains '.git'" },
	[T_MODSYMLINK] = { "gitmodulesSymlink",
	    ".gitmodules is a symbolic link" },
	[T_MODNOTBLOB] = { "gitmodulesBlob", "non-blob found at .gitmodules" },
	[T_DOTDOT] = { "hasDotdot", "contains '..'" },
	[T_DOT] = { "hasDot", "contains '.'" },
	[T_FULLPATH] = { "fullPathname", "contains full pathnames" },
	[T_EMPTY] = { "emptyName", "contains empty pathname" },
	[T_DUP] = { "duplicateEntries", "contains duplicate file entries" },
	[T_UNSORTED] = { "treeNotSorted", "not properly sorted" },
	[T_ZEROPAD] = { "zeroPaddedFilemode",
	    "contains zero-padded file modes" },
	[T_NULLSHA1] = { "nullSha1",
	    "contains entries pointing to null sha1" },
	[T_LARGE] = { "largePathname", "contains excessively large pathname" },
};

struct tree_found {
	int		 set;
	const char	*name;
	size_t		 len;
};

static void
found(struct tree_found *t, int what, const char *name, size_t len)
{
	if (!t[what].set) {
		t[what].set = 1;
		t[what].name = name;
		t[what].len = len;
	}
}

static int
is_null_oid(const unsigned char *raw)
{
	size_t i;

	for (i = 0; i < OID_RAWSZ; i++)
		if (raw[i] != 0)
			return 0;
	return 1;
}

/* Remembers the id of a tree entry named .gitmodules or .gitattributes. */
static int
tree_special(struct ag_fsck *f, struct tree_found *t, unsigned mode,
    const char *name, size_t len, const unsigned char *raw,
    struct ag_err *err)
{
	git_oid id;
	int modules = ag_fsck_is_dotgitmodules(name, len);
	int attrs = is_dotgitattributes(name, len);

	if (!modules && !attrs)
		return 0;
	memcpy(id.id, raw, OID_RAWSZ);
	if (modules) {
		if ((mode & MODE_FMT) == MODE_LNK)
			found(t, T_MODSYMLINK, name, len);
		else if ((mode & MODE_FMT) == MODE_DIR ||
		    (mode & MODE_FMT) == MODE_GITLINK)
			/* git finds a tree or a foreign commit there. */
			found(t, T_MODNOTBLOB, name, len);
		else if (remember(f, &id, BLOB_MODULES, err) < 0)
			return AG_EINTERNAL;
	}
	/* A symlinked .gitattributes is only an info in git. */
	if (attrs && (mode & MODE_FMT) != MODE_LNK &&
	    remember(f, &id, BLOB_ATTRS, err) < 0)
		return AG_EINTERNAL;
	return 0;
}

/* gitformat-tree: entries "<octal mode> <name>\0<20-byte id>", sorted. */
static int
check_tree(struct ag_fsck *f, const git_oid *tid, const unsigned char *buf,
    size_t size, struct ag_err *err)
{
	struct tree_found t[T_MAX];
	const char *name, *prev = NULL, *why = NULL, *nul;
	const unsigned char *p = buf, *raw;
	size_t off = 0, left, nlen, plen = 0, i;
	unsigned mode, pmode = 0;
	char q[QUOTE_MAX * 4 + 8];
	int r;

	memset(t, 0, sizeof t);
	f->nstack = 0;
	while (off < size) {
		p = buf + off;
		left = size - off;
		/* Room for the shortest entry and a NUL before the last id. */
		if (left < OID_RAWSZ + 3 || p[left - (OID_RAWSZ + 1)] != 0) {
			why = "too-short tree object";
			break;
		}
		if (p[0] == ' ') {
			why = "malformed mode in tree entry";
			break;
		}
		mode = 0;
		for (i = 0; p[i] != ' '; i++) {
			if (p[i] < '0' || p[i] > '7')
				break;
			/* git keeps 16 bits of the mode. */
			mode = ((mode << 3) + (unsigned)(p[i] - '0')) & 0xffff;
		}
		if (p[i] != ' ') {
			why = "malformed mode in tree entry";
			break;
		}
		name = (const char *)p + i + 1;
		nul = memchr(name, '\0', left - (i + 1));
		nlen = (size_t)(nul - name);
		raw = (const unsigned char *)nul + 1;
		off += i + 1 + nlen + 1 + OID_RAWSZ;

		if (p[0] == '0')
			found(t, T_ZEROPAD, name, nlen);
		if (nlen == 0)
			found(t, T_EMPTY, name, 0);
		if (memchr(name, '/', nlen) != NULL)
			found(t, T_FULLPATH, name, nlen);
		if (nlen == 1 && name[0] == '.')
			found(t, T_DOT, name, nlen);
		if (nlen == 2 && name[0] == '.' && name[1] == '.')
			found(t, T_DOTDOT, name, nlen);
		if (ag_fsck_is_dotgit(name, nlen))
			found(t, T_DOTGIT, name, nlen);
		if (nlen > AG_FSCK_NAME_MAX)
			found(t, T_LARGE, name, nlen);
		if (is_null_oid(raw))
			found(t, T_NULLSHA1, name, nlen);
		if ((r = tree_special(f, t, mode, name, nlen, raw, err)) < 0)
			return r;
		if (prev != NULL) {
			switch (verify_order(f, pmode, prev, plen, mode, name,
			    nlen, err)) {
			case ORDER_UNSORTED:
				found(t, T_UNSORTED, name, nlen);
				break;
			case ORDER_DUP:
				found(t, T_DUP, name, nlen);
				break;
			case ORDER_NOMEM:
				return AG_EINTERNAL;
			}
		}
		prev = name;
		plen = nlen;
		pmode = mode;
	}
	if (why != NULL)
		return report(err, "badTree", "tree", tid,
		    "cannot be parsed as a tree: %s at offset %zu", why, off);
	for (i = 0; i < T_MAX; i++) {
		if (!t[i].set)
			continue;
		if (t[i].name == NULL || t[i].len == 0)
			return report(err, tree_msgs[i].id, "tree", tid, "%s",
			    tree_msgs[i].what);
		quote(q, sizeof q, t[i].name, t[i].len);
		return report(err, tree_msgs[i].id, "tree", tid, "%s (%s)",
		    tree_msgs[i].what, q);
	}
	return 0;
}

/*
 * The header of a commit or tag ends with an empty line or, without a
 * body, a final LF, and holds no NUL: after this, every header line can
 * be scanned up to its LF.
 */
static int
verify_headers(const char *buf, size_t size, const git_oid *id,
    const char *type, struct ag_err *err)
{
	size_t i;

	for (i = 0; i < size; i++) {
		if (buf[i] == '\0')
			return report(err, "nulInHeader", type, id,
			    "unterminated header: NUL at offset %zu", i);
		if (buf[i] == '\n' && i + 1 < size && buf[i + 1] == '\n')
			return 0;
	}
	if (size > 0 && buf[size - 1] == '\n')
		return 0;
	return report(err, "unterminatedHeader", type, id,
	    "unterminated header");
}

/* Skips prefix at *p if the line there starts with it. */
static int
skip(const char **p, const char *end, const char *prefix)
{
	size_t n = strlen(prefix);

	if ((size_t)(end - *p) < n || memcmp(*p, prefix, n) != 0)
		return 0;
	*p += n;
	return 1;
}

/* A hex object id at p followed by LF; *next is past the LF. */
static int
parse_oid_line(const char *p, const char *end, const char **next)
{
	size_t i;

	if ((size_t)(end - p) < OID_HEXSZ + 1)
		return -1;
	for (i = 0; i < OID_HEXSZ; i++)
		if (hexval((unsigned char)p[i]) < 0)
			return -1;
	if (p[OID_HEXSZ] != '\n')
		return -1;
	*next = p + OID_HEXSZ + 1;
	return 0;
}

/*
 * "Name <email> <seconds> <+-hhmm>" up to its LF (verify_headers made sure
 * there is one); *pp moves past the line whatever the outcome.
 */
static int
check_ident(const char **pp, const char *end, const git_oid *id,
    const char *type, struct ag_err *err)
{
	const char *p = *pp, *nl;
	uint64_t t = 0;
	size_t digits = 0;
	int overflow = 0;

	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)	/* verify_headers rules it out */
		return report(err, "unterminatedHeader", type, id,
		    "unterminated header");
	*pp = nl + 1;
	if (*p == '<')
		return report(err, "missingNameBeforeEmail", type, id,
		    "invalid author/committer line - missing space before "
		    "email");
	for (;; p++) {
		if (p >= nl)
			return report(err, "missingEmail", type, id,
			    "invalid author/committer line - missing email");
		if (*p == '>')
			return report(err, "badName", type, id,
			    "invalid author/committer line - bad name");
		if (*p == '<')
			break;
	}
	if (p[-1] != ' ')
		return report(err, "missingSpaceBeforeEmail", type, id,
		    "invalid author/committer line - missing space before "
		    "email");
	for (p++;; p++) {
		if (p >= nl || *p == '<')
			return report(err, "badEmail", type, id,
			    "invalid author/committer line - bad email");
		if (*p == '>')
			break;
	}
	p++;
	if (p >= nl || *p != ' ')
		return report(err, "missingSpaceBeforeDate", type, id,
		    "invalid author/committer line - missing space before "
		    "date");
	p++;
	while (p < nl && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= nl || !c_isdigit((unsigned char)*p))
		return report(err, "badDate", type, id,
		    "invalid author/committer line - bad date");
	if (*p == '0' && p[1] != ' ')	/* p < nl: p[1] is at most the LF */
		return report(err, "zeroPaddedDate", type, id,
		    "invalid author/committer line - zero-padded date");
	for (; p < nl && c_isdigit((unsigned char)*p); p++) {
		/* git reads at most 23 digits into a time_t. */
		if (++digits > 23 || t > (uint64_t)INT64_MAX / 10)
			overflow = 1;
		else
			t = t * 10 + (uint64_t)(*p - '0');
		if (t > (uint64_t)INT64_MAX)
			overflow = 1;
	}
	if (overflow)
		return report(err, "badDateOverflow", type, id,
		    "invalid author/committer line - date causes integer "
		    "overflow");
	if (p >= nl || *p != ' ')
		return report(err, "badDate", type, id,
		    "invalid author/committer line - bad date");
	p++;
	if (nl - p != 5 || (p[0] != '+' && p[0] != '-') ||
	    !c_isdigit((unsigned char)p[1]) ||
	    !c_isdigit((unsigned char)p[2]) ||
	    !c_isdigit((unsigned char)p[3]) ||
	    !c_isdigit((unsigned char)p[4]))
		return report(err, "badTimezone", type, id,
		    "invalid author/committer line - bad time zone");
	return 0;
}

/* gitformat-commit: tree, parents, one author, committer; no NUL. */
static int
check_commit(const git_oid *id, const char *buf, size_t size,
    struct ag_err *err)
{
	const char *p = buf, *end = buf + size, *next;
	unsigned authors = 0;
	int r;

	if ((r = verify_headers(buf, size, id, "commit", err)) < 0)
		return r;
	if (!skip(&p, end, "tree "))
		return report(err, "missingTree", "commit", id,
		    "invalid format - expected 'tree' line");
	if (parse_oid_line(p, end, &next) < 0)
		return report(err, "badTreeSha1", "commit", id,
		    "invalid 'tree' line format - bad sha1");
	p = next;
	while (skip(&p, end, "parent ")) {
		if (parse_oid_line(p, end, &next) < 0)
			return report(err, "badParentSha1", "commit", id,
			    "invalid 'parent' line format - bad sha1");
		p = next;
	}
	while (skip(&p, end, "author ")) {
		authors++;
		if ((r = check_ident(&p, end, id, "commit", err)) < 0)
			return r;
	}
	if (authors == 0)
		return report(err, "missingAuthor", "commit", id,
		    "invalid format - expected 'author' line");
	if (authors > 1)
		return report(err, "multipleAuthors", "commit", id,
		    "invalid format - multiple 'author' lines");
	if (!skip(&p, end, "committer "))
		return report(err, "missingCommitter", "commit", id,
		    "invalid format - expected 'committer' line");
	if ((r = check_ident(&p, end, id, "commit", err)) < 0)
		return r;
	if (memchr(buf, '\0', size) != NULL)
		return report(err, "nulInCommit", "commit", id,
		    "NUL byte in the commit object body");
	return 0;
}

static int
is_object_type(const char *p, size_t n)
{
	static const char *const types[] = { "commit", "tree", "blob", "tag" };
	size_t i;

	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strlen(types[i]) == n && memcmp(types[i], p, n) == 0)
			return 1;
	return 0;
}

/*
 * gitformat-tag: object, type, tag, tagger (missing in early tags: an
 * info), an optional signature. The tag name's format is an info in git.
 */
static int
check_tag(const git_oid *id, const char *buf, size_t size,
    struct ag_err *err)
{
	const char *p = buf, *end = buf + size, *next, *eol;
	char q[QUOTE_MAX * 4 + 8];
	int r;

	if ((r = verify_headers(buf, size, id, "tag", err)) < 0)
		return r;
	if (!skip(&p, end, "object "))
		return report(err, "missingObject", "tag", id,
		    "invalid format - expected 'object' line");
	if (parse_oid_line(p, end, &next) < 0)
		return report(err, "badObjectSha1", "tag", id,
		    "invalid 'object' line format - bad sha1");
	p = next;
	if (!skip(&p, end, "type "))
		return report(err, "missingTypeEntry", "tag", id,
		    "invalid format - expected 'type' line");
	if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return report(err, "missingType", "tag", id,
		    "invalid format - unexpected end after 'type' line");
	if (!is_object_type(p, (size_t)(eol - p))) {
		quote(q, sizeof q, p, (size_t)(eol - p));
		return report(err, "badType", "tag", id,
		    "invalid 'type' value %s", q);
	}
	p = eol + 1;
	if (!skip(&p, end, "tag "))
		return report(err, "missingTagEntry", "tag", id,
		    "invalid format - expected 'tag' line");
	if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return report(err, "missingTag", "tag", id,
		    "invalid format - unexpected end after 'type' line");
	p = eol + 1;
	if (skip(&p, end, "tagger ") &&
	    (r = check_ident(&p, end, id, "tag", err)) < 0)
		return r;
	if (skip(&p, end, "gpgsig ") || skip(&p, end, "gpgsig-sha256 ")) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return report(err, "badGpgsig", "tag", id,
			    "invalid format - unexpected end after 'gpgsig' "
			    "or 'gpgsig-sha256' line");
		p = eol + 1;
		while (p < end && *p == ' ') {
			if ((eol = memchr(p, '\n', (size_t)(end - p))) ==
			    NULL)
				return report(err, "badHeaderContinuation",
				    "tag", id, "invalid format - unexpected "
				    "end in 'gpgsig' or 'gpgsig-sha256' "
				    "continuation line");
			p = eol + 1;
		}
	}
	/* Extra headers after the tagger are ignored by git's default. */
	return 0;
}

/*
 * .gitmodules: git's config syntax (git-config(1), "CONFIGURATION FILE")
 * read as git_config_from_mem does, so that we see exactly the entries
 * git's submodule code will see. A syntax error ends the reading, as in
 * git, and is only an info (gitmodulesParse); the entries before it are
 * checked. Bytes are read unsigned throughout (git reads a 0xff byte
 * from memory as EOF on signed-char machines; reading on checks more).
 */
struct cfg {
	const unsigned char *buf;
	size_t		 len, pos;
	int		 eof;
	const git_oid	*id;
	char		*var;		/* "section[.subsection].key" */
	size_t		 varlen, baselen;
	char		*val;
	size_t		 vallen;
};

/* What a step of the reader ends with, besides an AG_E* refusal. */
enum { CFG_OK = 0, CFG_SYNTAX = 1 };

static int
cfg_next(struct cfg *c)
{
	int ch;

	if (c->pos >= c->len) {
		c->eof = 1;
		return '\n';
	}
	ch = c->buf[c->pos++];
	if (ch == '\r' && c->pos < c->len && c->buf[c->pos] == '\n') {
		c->pos++;
		ch = '\n';
	}
	return ch;
}

static int
cfg_too_long(struct cfg *c, const char *what, size_t max,
    struct ag_err *err)
{
	return report(err, "gitmodulesLarge", "blob", c->id,
	    "%s longer than %zu bytes at offset %zu", what, max, c->pos);
}

static int
cfg_var_add(struct cfg *c, int ch, struct ag_err *err)
{
	if (c->varlen >= AG_FSCK_GITMODULES_VAR_MAX)
		return cfg_too_long(c, "a section or key name",
		    (size_t)AG_FSCK_GITMODULES_VAR_MAX, err);
	c->var[c->varlen++] = (char)ch;
	return 0;
}

static int
cfg_val_add(struct cfg *c, int ch, struct ag_err *err)
{
	if (c->vallen >= AG_FSCK_GITMODULES_VALUE_MAX)
		return cfg_too_long(c, "a value",
		    (size_t)AG_FSCK_GITMODULES_VALUE_MAX, err);
	c->val[c->vallen++] = (char)ch;
	return 0;
}

static int
is_keychar(int ch)
{
	return c_isalnum(ch) || ch == '-';
}

/* [section "subsection"]: the quoted part keeps case and escapes. */
static int
cfg_subsection(struct cfg *c, int ch, struct ag_err *err)
{
	int r;

	do {
		if (ch == '\n')
			return CFG_SYNTAX;
		ch = cfg_next(c);
	} while (c_isspace(ch));
	if (ch != '"')
		return CFG_SYNTAX;
	if ((r = cfg_var_add(c, '.', err)) < 0)
		return r;
	for (;;) {
		ch = cfg_next(c);
		if (ch == '\n')
			return CFG_SYNTAX;
		if (ch == '"')
			break;
		if (ch == '\\' && (ch = cfg_next(c)) == '\n')
			return CFG_SYNTAX;
		if ((r = cfg_var_add(c, ch, err)) < 0)
			return r;
	}
	return cfg_next(c) == ']' ? CFG_OK : CFG_SYNTAX;
}

/* After '[': the section name, lowercased, or the old [section.sub]. */
static int
cfg_section(struct cfg *c, struct ag_err *err)
{
	int ch, r;

	for (;;) {
		ch = cfg_next(c);
		if (c->eof)
			return CFG_SYNTAX;
		if (ch == ']')
			return CFG_OK;
		if (c_isspace(ch))
			return cfg_subsection(c, ch, err);
		if (!is_keychar(ch) && ch != '.')
			return CFG_SYNTAX;
		if ((r = cfg_var_add(c, c_tolower(ch), err)) < 0)
			return r;
	}
}

/* A value after '=': quotes, escapes, comments, trimmed whitespace. */
static int
cfg_value(struct cfg *c, struct ag_err *err)
{
	int quoted = 0, comment = 0, ch, r;
	size_t trim = 0;

	c->vallen = 0;
	for (;;) {
		ch = cfg_next(c);
		if (ch == '\n') {
			if (quoted)
				return CFG_SYNTAX;
			if (trim)
				c->vallen = trim;
			return CFG_OK;
		}
		if (comment)
			continue;
		if (c_isspace(ch) && !quoted) {
			if (!trim)
				trim = c->vallen;
			if (c->vallen > 0 && (r = cfg_val_add(c, ch, err)) < 0)
				return r;
			continue;
		}
		if (!quoted && (ch == ';' || ch == '#')) {
			comment = 1;
			continue;
		}
		trim = 0;
		if (ch == '\\') {
			switch ((ch = cfg_next(c))) {
			case '\n':
				continue;	/* a continuation line */
			case 't':
				ch = '\t';
				break;
			case 'b':
				ch = '\b';
				break;
			case 'n':
				ch = '\n';
				break;
			case '\\':
			case '"':
				break;
			default:
				return CFG_SYNTAX;
			}
			if ((r = cfg_val_add(c, ch, err)) < 0)
				return r;
			continue;
		}
		if (ch == '"') {
			quoted = !quoted;
			continue;
		}
		if ((r = cfg_val_add(c, ch, err)) < 0)
			return r;
	}
}

/* The length of s[0..n) as a C string: where git would stop reading it. */
static size_t
cstrlen(const char *s, size_t n)
{
	const char *z = memchr(s, '\0', n);

	return z != NULL ? (size_t)(z - s) : n;
}

static int
starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(s, prefix, k) == 0;
}

/* A submodule name may not be empty or hold a ".." path component. */
static int
bad_submodule_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 1;
	for (i = 0; i <= n; i++) {
		if (i > 0 && !is_dir_sep((unsigned char)s[i - 1]))
			continue;
		if (at(s, n, i) == '.' && at(s, n, i + 1) == '.' &&
		    (at(s, n, i + 2) == 0 || is_dir_sep(at(s, n, i + 2))))
			return 1;
	}
	return 0;
}

/* "./" or "../" (either separator) at s. */
static int
dot_slash(const char *s, size_t n, size_t dots)
{
	size_t i;

	for (i = 0; i < dots; i++)
		if (at(s, n, i) != '.')
			return 0;
	return is_dir_sep(at(s, n, dots));
}

/* Whether s holds a LF, raw or as %0a (which url_decode would make). */
static int
has_newline(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			return 1;
		if (s[i] == '%' && hex2(s + i + 1, n - i - 1) == '\n')
			return 1;
	}
	return 0;
}

/* Every '%' in s[0..n) starts a %XX escape. */
static int
escapes_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] != '%')
			continue;
		if (hex2(s + i + 1, n - i - 1) < 0)
			return 0;
		i += 2;
	}
	return 1;
}

/* 1 when a path segment reads ".", 2 when "..", after %XX decoding. */
static int
dot_segment(const char *s, size_t n)
{
	size_t i, dots = 0;

	for (i = 0; i < n; i++, dots++) {
		if (s[i] == '%' && hex2(s + i + 1, n - i - 1) == '.')
			i += 2;
		else if (s[i] != '.')
			return 0;
	}
	return dots == 1 ? 1 : dots == 2 ? 2 : 0;
}

static size_t
span(const char *s, size_t n, const char *set)
{
	size_t i;

	for (i = 0; i < n && s[i] != '\0' && strchr(set, s[i]) != NULL; i++)
		;
	return i;
}

static size_t
cspan(const char *s, size_t n, const char *set)
{
	size_t i;

	for (i = 0; i < n && strchr(set, s[i]) == NULL; i++)
		;
	return i;
}

#define URL_ALPHADIGIT	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789"

/*
 * Whether git's url_normalize accepts u: a scheme and "://", userinfo
 * with valid escapes, a host of host characters (none only for file:),
 * a port in 1..65535, path segments with valid escapes whose ".." never
 * climbs above the root, a query with valid escapes.
 */
static int
url_normalizes(const char *u, size_t n)
{
	size_t s, i, host, slash, colon, q, depth = 0, seg;
	const char *at_sign;
	unsigned long port;
	int file, http, https, kind;

	s = span(u, n, URL_ALPHADIGIT "+.-");
	if (s == 0 || !c_isalpha((unsigned char)u[0]) || s + 3 > n ||
	    u[s] != ':' || u[s + 1] != '/' || u[s + 2] != '/')
		return 0;
	file = s == 4 && c_tolower(u[0]) == 'f' && c_tolower(u[1]) == 'i' &&
	    c_tolower(u[2]) == 'l' && c_tolower(u[3]) == 'e';
	http = s == 4 && c_tolower(u[0]) == 'h' && c_tolower(u[1]) == 't' &&
	    c_tolower(u[2]) == 't' && c_tolower(u[3]) == 'p';
	https = s == 5 && c_tolower(u[0]) == 'h' && c_tolower(u[1]) == 't' &&
	    c_tolower(u[2]) == 't' && c_tolower(u[3]) == 'p' &&
	    c_tolower(u[4]) == 's';
	i = s + 3;
	slash = i + cspan(u + i, n - i, "/?#");
	at_sign = memchr(u + i, '@', n - i);
	if (at_sign != NULL && (size_t)(at_sign - u) < slash) {
		if (!escapes_ok(u + i, (size_t)(at_sign - u) - i))
			return 0;
		i = (size_t)(at_sign - u) + 1;
	}
	host = i;
	if (i == n || strchr(":/?#", u[i]) != NULL) {
		if (!file)
			return 0;	/* only file: may have no host */
		host = 0;
	}
	colon = slash;
	if (slash > i) {
		for (colon = slash - 1; colon > i && u[colon] != ':' &&
		    u[colon] != ']'; colon--)
			;
		if (u[colon] != ':')
			colon = slash;
		else if (host == 0 && colon + 1 != slash)
			return 0;	/* file: has no port */
	}
	if (span(u + i, n - i, URL_ALPHADIGIT ".-_[:]") < colon - i)
		return 0;
	if (colon < slash) {
		q = colon + 1;
		while (q < slash && u[q] == '0')
			q++;
		if (q == slash && u[q - 1] == '0')
			q--;
		if (q == slash ||
		    (http && slash - q == 2 && memcmp(u + q, "80", 2) == 0) ||
		    (https && slash - q == 3 && memcmp(u + q, "443", 3) == 0))
			;	/* the default port */
		else {
			if (span(u + q, slash - q, "0123456789") < slash - q)
				return 0;
			port = 0;
			if (slash - q <= 5)
				for (; q < slash; q++)
					port = port * 10 +
					    (unsigned long)(u[q] - '0');
			if (port == 0 || port > 65535)
				return 0;
		}
	}
	i = slash;
	if (i < n && u[i] == '/')
		i++;
	for (;;) {
		seg = cspan(u + i, n - i, "/?#");
		if (!escapes_ok(u + i, seg))
			return 0;
		kind = dot_segment(u + i, seg);
		if (kind == 2) {
			if (depth == 0)
				return 0;	/* ".." above the root */
			depth--;
		} else if (kind == 0) {
			depth++;
		}
		i += seg;
		if (i >= n || u[i] != '/')
			break;
		i++;
	}
	return i >= n || escapes_ok(u + i, n - i);
}

/*
 * git's check_submodule_url: no option-looking url; relative and git://
 * urls may not decode to a LF nor climb out with "../" into a host part
 * (CVE-2020-11008); urls git hands to curl must normalize and hold no LF
 * (we refuse any encoded LF, where git looks only after normalizing).
 */
static int
bad_submodule_url(const char *u, size_t n)
{
	const char *curl = NULL, *colon;
	size_t i = 0, dotdots = 0, cn = 0;

	if (n > 0 && u[0] == '-')
		return 1;
	if (dot_slash(u, n, 1) || dot_slash(u, n, 2) ||
	    starts(u, n, "git://")) {
		colon = memchr(u, ':', n);
		if (colon != NULL && colon > u) {
			/* url_decode copies the scheme part as it is. */
			if (memchr(u, '\n', (size_t)(colon - u)) != NULL ||
			    has_newline(colon, n - (size_t)(colon - u)))
				return 1;
		} else if (has_newline(u, n)) {
			return 1;
		}
		for (;;) {
			if (dot_slash(u + i, n - i, 2)) {
				dotdots++;
				i += 3;
			} else if (dot_slash(u + i, n - i, 1)) {
				i += 2;
			} else {
				break;
			}
		}
		return dotdots > 0 && (at(u, n, i) == ':' || at(u, n, i) == '/');
	}
	if (starts(u, n, "http::") || starts(u, n, "ftps::"))
		curl = u + 6;
	else if (starts(u, n, "https::"))
		curl = u + 7;
	else if (starts(u, n, "ftp::"))
		curl = u + 5;
	else if (starts(u, n, "http://") || starts(u, n, "https://") ||
	    starts(u, n, "ftp://") || starts(u, n, "ftps://"))
		curl = u;
	if (curl == NULL)
		return 0;
	cn = n - (size_t)(curl - u);
	return !url_normalizes(curl, cn) || has_newline(curl, cn);
}

/* One "var = value" (value NULL for a bare key), as fsck_gitmodules_fn. */
static int
cfg_entry(struct cfg *c, int has_value, struct ag_err *err)
{
	const char *var = c->var, *sub, *key, *dot, *val = c->val;
	size_t n = cstrlen(c->var, c->varlen), sublen, keylen, vlen = 0;
	char q[QUOTE_MAX * 4 + 8];

	if (!starts(var, n, "submodule."))
		return 0;
	/* The key is after the last dot; the subsection may hold dots. */
	for (dot = var + n - 1; *dot != '.'; dot--)
		;
	if (dot == var + strlen("submodule"))
		return 0;	/* [submodule] without a name */
	sub = var + strlen("submodule.");
	sublen = (size_t)(dot - sub);
	key = dot + 1;
	keylen = (size_t)(var + n - key);
	if (has_value)
		vlen = cstrlen(val, c->vallen);
	if (bad_submodule_name(sub, sublen)) {
		quote(q, sizeof q, sub, sublen);
		return report(err, "gitmodulesName", "blob", c->id,
		    "disallowed submodule name: %s", q);
	}
	if (!has_value)
		return 0;
	if (keylen == 3 && memcmp(key, "url", 3) == 0 &&
	    bad_submodule_url(val, vlen)) {
		quote(q, sizeof q, val, vlen);
		return report(err, "gitmodulesUrl", "blob", c->id,
		    "disallowed submodule url: %s", q);
	}
	if (keylen == 4 && memcmp(key, "path", 4) == 0 && vlen > 0 &&
	    val[0] == '-') {
		quote(q, sizeof q, val, vlen);
		return report(err, "gitmodulesPath", "blob", c->id,
		    "disallowed submodule path: %s", q);
	}
	if (keylen == 6 && memcmp(key, "update", 6) == 0 && vlen > 0 &&
	    val[0] == '!') {
		quote(q, sizeof q, val, vlen);
		return report(err, "gitmodulesUpdate", "blob", c->id,
		    "disallowed submodule update setting: %s", q);
	}
	return 0;
}

/* After a key's first letter: the rest of the key, then "= value". */
static int
cfg_key(struct cfg *c, struct ag_err *err)
{
	int ch, r;

	for (;;) {
		ch = cfg_next(c);
		if (c->eof || !is_keychar(ch))
			break;
		if ((r = cfg_var_add(c, c_tolower(ch), err)) < 0)
			return r;
	}
	while (ch == ' ' || ch == '\t')
		ch = cfg_next(c);
	if (ch == '\n')
		return cfg_entry(c, 0, err);
	if (ch != '=')
		return CFG_SYNTAX;
	if ((r = cfg_value(c, err)) != CFG_OK)
		return r;
	return cfg_entry(c, 1, err);
}

static int
cfg_parse(struct cfg *c, struct ag_err *err)
{
	int ch, comment = 0, r;

	/* A UTF-8 byte order mark may open the file, whole or not at all. */
	if (c->len > 0 && c->buf[0] == 0xef) {
		if (c->len < 3 || c->buf[1] != 0xbb || c->buf[2] != 0xbf)
			return CFG_SYNTAX;
		c->pos = 3;
	}
	for (;;) {
		ch = cfg_next(c);
		if (ch == '\n') {
			if (c->eof)
				return CFG_OK;
			comment = 0;
			continue;
		}
		if (comment || c_isspace(ch))
			continue;
		if (ch == '#' || ch == ';') {
			comment = 1;
			continue;
		}
		if (ch == '[') {
			c->varlen = 0;
			if ((r = cfg_section(c, err)) != CFG_OK)
				return r;
			if (c->varlen < 1)
				return CFG_SYNTAX;
			if ((r = cfg_var_add(c, '.', err)) < 0)
				return r;
			c->baselen = c->varlen;
			continue;
		}
		if (!c_isalpha(ch))
			return CFG_SYNTAX;
		c->varlen = c->baselen;
		if ((r = cfg_var_add(c, c_tolower(ch), err)) < 0)
			return r;
		if ((r = cfg_key(c, err)) != CFG_OK)
			return r;
	}
}

int
ag_fsck_gitmodules(const void *data, size_t len, const git_oid *id,
    struct ag_err *err)
{
	struct cfg c;
	int r;

	if (len > AG_FSCK_GITMODULES_MAX)
		return report(err, "gitmodulesLarge", "blob", id,
		    ".gitmodules too large to parse: %zu bytes, the limit is "
		    "%zu", len, (size_t)AG_FSCK_GITMODULES_MAX);
	memset(&c, 0, sizeof c);
	c.buf = data;
	c.len = len;
	c.id = id;
	if ((c.var = malloc(AG_FSCK_GITMODULES_VAR_MAX)) == NULL ||
	    (c.val = malloc(AG_FSCK_GITMODULES_VALUE_MAX)) == NULL) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	r = cfg_parse(&c, err);
	if (r == CFG_SYNTAX)
		r = 0;		/* gitmodulesParse: an info in git */
out:
	free(c.var);
	free(c.val);
	return r;
}

int
ag_fsck_gitattributes(const void *data, size_t len, const git_oid *id,
    struct ag_err *err)
{
	const char *p = data, *end, *nl;

	if (len > AG_FSCK_GITATTRIBUTES_MAX)
		return report(err, "gitattributesLarge", "blob", id,
		    ".gitattributes too large to parse: %zu bytes, the limit "
		    "is %zu", len, (size_t)AG_FSCK_GITATTRIBUTES_MAX);
	if (len == 0)
		return 0;
	/* git reads the blob as a C string: up to its first NUL. */
	end = p + cstrlen(p, len);
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((size_t)(nl - p) >= AG_FSCK_GITATTRIBUTES_LINE_MAX)
			return report(err, "gitattributesLineLength", "blob",
			    id, ".gitattributes has too long lines to parse "
			    "(%zu bytes, the limit is %d)", (size_t)(nl - p),
			    AG_FSCK_GITATTRIBUTES_LINE_MAX - 1);
	}
	return 0;
}

/*
 * The checks still due on a blob that trees name as .gitmodules or
 * .gitattributes (flags v); *done gets the flags once they passed.
 */
static int
check_named_blob(int v, int *done, const git_oid *id, const void *data,
    size_t len, struct ag_err *err)
{
	int r;

	if ((v & BLOB_MODULES) && !(v & BLOB_MODULES_DONE)) {
		if ((r = ag_fsck_gitmodules(data, len, id, err)) < 0)
			return r;
		v |= BLOB_MODULES_DONE;
	}
	if ((v & BLOB_ATTRS) && !(v & BLOB_ATTRS_DONE)) {
		if ((r = ag_fsck_gitattributes(data, len, id, err)) < 0)
			return r;
		v |= BLOB_ATTRS_DONE;
	}
	*done = v;
	return 0;
}

static int
check_blob(struct ag_fsck *f, const git_oid *id, const void *data,
    size_t len, struct ag_err *err)
{
	int v = 0, nv, r;

	if (!ag_oidset_get(&f->blobs, id, &v))
		return 0;	/* no tree named it (yet): finish reads it */
	if ((r = check_named_blob(v, &nv, id, data, len, err)) < 0)
		return r;
	if (nv != v && ag_oidset_put(&f->blobs, id, nv) < 0)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	return 0;
}

int
ag_fsck_object(struct ag_fsck *f, const git_oid *id, git_object_t type,
    const void *data, size_t len, struct ag_err *err)
{
	static const char empty[1];

	if (data == NULL) {
		if (len > 0)
			return ag_err_set(err, AG_EINTERNAL,
			    "fsck: no data for a %zu-byte object", len);
		data = empty;
	}
	switch (type) {
	case GIT_OBJECT_TREE:
		return check_tree(f, id, data, len, err);
	case GIT_OBJECT_COMMIT:
		return check_commit(id, data, len, err);
	case GIT_OBJECT_TAG:
		return check_tag(id, data, len, err);
	case GIT_OBJECT_BLOB:
		return check_blob(f, id, data, len, err);
	default:
		return report(err, "unknownType", "object", id,
		    "unknown type '%d'", (int)type);
	}
}

int
ag_fsck_finish(struct ag_fsck *f, ag_fsck_read_fn read, void *arg,
    struct ag_err *err)
{
	const void *data;
	git_oid id;
	size_t i, len;
	int v, r = 0;

	for (i = 0; i < f->blobs.cap && r == 0; i++) {
		if (!f->blobs.used[i])
			continue;
		v = f->blobs.vals[i];
		if (!((v & BLOB_MODULES) && !(v & BLOB_MODULES_DONE)) &&
		    !((v & BLOB_ATTRS) && !(v & BLOB_ATTRS_DONE)))
			continue;
		git_oid_cpy(&id, &f->blobs.keys[i]);
		data = NULL;
		len = 0;
		r = read(arg, &id, &data, &len);
		if (r == 1) {
			r = 0;	/* not here: checked when it came in */
		} else if (r == 2) {
			r = (v & BLOB_MODULES) && !(v & BLOB_MODULES_DONE) ?
			    report(err, "gitmodulesBlob", "object", &id,
			    "non-blob found at .gitmodules") :
			    report(err, "gitattributesBlob", "object", &id,
			    "non-blob found at .gitattributes");
		} else if (r < 0) {
			ag_err_set(err, r, "fsck: reading blob: %s",
			    ag_err_name(r));
		} else if (r > 0) {
			r = ag_err_set(err, AG_EINTERNAL,
			    "fsck: the blob reader returned %d", r);
		} else {
			/* In place: a put could grow the set under us. */
			r = check_named_blob(v, &f->blobs.vals[i], &id, data,
			    len, err);
		}
	}
	if (r == 0) {
		/* Checked once: the set starts again empty. */
		ag_oidset_clear(&f->blobs);
		ag_oidset_init(&f->blobs);
	}
	return r;
}

/* Unit tests of git fsck's object checks (src/fsck.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auger/fsck.h"
#include "testutil.h"

#define HEX1	"1111111111111111111111111111111111111111"
#define HEX2	"2222222222222222222222222222222222222222"
#define AUTHOR	"author A U Thor <author@example.com> 1700000000 +0000\n"
#define COMMITTER "committer C O Mitter <c@example.com> 1700000000 -0130\n"

/* Appends a tree entry "<mode> <name>\0<20 bytes of idbyte>". */
static void
tent_n(struct tbuf *b, const char *mode, const char *name, size_t nlen,
    int idbyte)
{
	unsigned char raw[20];

	memset(raw, idbyte, sizeof raw);
	tbuf_str(b, mode);
	tbuf_add(b, " ", 1);
	tbuf_add(b, name, nlen);
	tbuf_add(b, "", 1);
	tbuf_add(b, raw, sizeof raw);
}

static void
tent(struct tbuf *b, const char *mode, const char *name, int idbyte)
{
	tent_n(b, mode, name, strlen(name), idbyte);
}

static git_oid
oid_of(int byte)
{
	git_oid id;

	memset(&id, byte, sizeof id);
	return id;
}

/* Checks one object with a fresh checker; returns the result. */
static int
run(git_object_t type, const void *data, size_t len, struct ag_err *err)
{
	struct ag_fsck *f;
	git_oid id = oid_of(0xab);
	int r;

	ag_err_clear(err);
	assert_int_equal(ag_fsck_new(&f), 0);
	r = ag_fsck_object(f, &id, type, data, len, err);
	ag_fsck_free(f);
	return r;
}

static void
ok_obj(git_object_t type, const void *data, size_t len)
{
	struct ag_err err = { 0, "" };
	int r = run(type, data, len, &err);

	if (r != 0)
		print_error("unexpected refusal: %s\n", err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(err.code, 0);
}

/* Expects a refusal whose message starts with "<msgid>: <type> <oid>: ". */
static void
bad_obj(git_object_t type, const void *data, size_t len, const char *msgid)
{
	struct ag_err err = { 0, "" };
	char want[128];
	size_t i;
	int r = run(type, data, len, &err);

	snprintf(want, sizeof want, "%s: %s abababababababababababababababab"
	    "abababab: ", msgid, git_object_type2string(type));
	if (r != AG_EINVAL || strncmp(err.msg, want, strlen(want)) != 0)
		print_error("want %s..., got %d \"%s\"\n", want, r, err.msg);
	assert_int_equal(r, AG_EINVAL);
	assert_int_equal(err.code, AG_EINVAL);
	assert_memory_equal(err.msg, want, strlen(want));
	/* One line, printable: it goes into "ng <ref> <msg>". */
	for (i = 0; err.msg[i] != '\0'; i++)
		assert_true((unsigned char)err.msg[i] >= 0x20 &&
		    (unsigned char)err.msg[i] < 0x7f);
}

#define OK_TEXT(type, s)	ok_obj(type, s, sizeof(s) - 1)
#define BAD_TEXT(type, s, id)	bad_obj(type, s, sizeof(s) - 1, id)

/* A tree with one entry of the given mode and name. */
static void
tree1(struct tbuf *b, const char *mode, const char *name, size_t nlen)
{
	tbuf_free(b);
	tent_n(b, mode, name, nlen, 0x42);
}

static void
bad_name(const char *name, size_t nlen, const char *msgid)
{
	struct tbuf b = { 0 };

	tree1(&b, "100644", name, nlen);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, msgid);
	tree1(&b, "40000", name, nlen);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, msgid);
	tbuf_free(&b);
}

static void
ok_name(const char *name, size_t nlen)
{
	struct tbuf b = { 0 };

	tree1(&b, "100644", name, nlen);
	ok_obj(GIT_OBJECT_TREE, b.p, b.len);
	tbuf_free(&b);
}

#define BAD_NAME(s, id)	bad_name(s, sizeof(s) - 1, id)
#define OK_NAME(s)	ok_name(s, sizeof(s) - 1)

static void
test_valid_tree(void **state)
{
	struct tbuf b = { 0 };

	(void)state;
	/* The empty tree. */
	ok_obj(GIT_OBJECT_TREE, "", 0);
	ok_obj(GIT_OBJECT_TREE, NULL, 0);
	/* Every standard mode, in tree order ("a.c" < "a/" < "a0"). */
	tent(&b, "100644", ".github", 1);
	tent(&b, "100644", ".gitignore", 2);
	tent(&b, "100644", "a.c", 3);
	tent(&b, "40000", "a", 4);
	tent(&b, "100755", "a0", 5);
	tent(&b, "120000", "link", 6);
	tent(&b, "160000", "sub", 7);
	tent(&b, "100644", "\xc3\xa9t\xc3\xa9", 8);
	ok_obj(GIT_OBJECT_TREE, b.p, b.len);
	tbuf_free(&b);
	/* Names that only look like .git. */
	OK_NAME(".gitx");
	OK_NAME(".gi");
	OK_NAME("git");
	OK_NAME("git~2");
	OK_NAME(".git~1");
	OK_NAME("..git");
	OK_NAME("x.git");
	OK_NAME(".git-foo");
	/* U+200B ZERO WIDTH SPACE is not one that HFS+ ignores. */
	OK_NAME(".g\xe2\x80\x8bit");
	OK_NAME("...");
	OK_NAME("a\\b");
}

static void
test_has_dotgit(void **state)
{
	(void)state;
	BAD_NAME(".git", "hasDotgit");
	BAD_NAME(".GIT", "hasDotgit");
	BAD_NAME(".Git", "hasDotgit");
	/* NTFS drops trailing dots and spaces. */
	BAD_NAME(".git.", "hasDotgit");
	BAD_NAME(".git ", "hasDotgit");
	BAD_NAME(".git. . .", "hasDotgit");
	BAD_NAME(".GIT  ", "hasDotgit");
	/* NTFS streams. */
	BAD_NAME(".git::$INDEX_ALLOCATION", "hasDotgit");
	BAD_NAME(".git:foo", "hasDotgit");
	/* NTFS short names. */
	BAD_NAME("git~1", "hasDotgit");
	BAD_NAME("GIT~1", "hasDotgit");
	BAD_NAME("git~1.", "hasDotgit");
	BAD_NAME("git~1 ", "hasDotgit");
	/* HFS+ ignorable code points. */
	BAD_NAME(".g\xe2\x80\x8cit", "hasDotgit");		/* U+200C */
	BAD_NAME(".\xe2\x80\x8dgit", "hasDotgit");		/* U+200D */
	BAD_NAME(".gi\xe2\x80\x8eT", "hasDotgit");		/* U+200E */
	BAD_NAME(".git\xe2\x80\x8f", "hasDotgit");		/* U+200F */
	BAD_NAME(".g\xe2\x80\xaait", "hasDotgit");		/* U+202A */
	BAD_NAME(".g\xe2\x80\xaeit", "hasDotgit");		/* U+202E */
	BAD_NAME(".g\xe2\x81\xaait", "hasDotgit");		/* U+206A */
	BAD_NAME(".g\xe2\x81\xafit", "hasDotgit");		/* U+206F */
	BAD_NAME("\xef\xbb\xbf.git", "hasDotgit");		/* U+FEFF */
	BAD_NAME(".\xe2\x80\x8c\xe2\x80\x8dG\xef\xbb\xbfIT", "hasDotgit");
	/* Backslashes are separators on Windows. */
	BAD_NAME("a\\.git", "hasDotgit");
	BAD_NAME("a\\git~1\\b", "hasDotgit");
	BAD_NAME(".git\\b", "hasDotgit");
	BAD_NAME("x\\.GIT. \\y", "hasDotgit");
}

static void
test_is_dotgit(void **state)
{
	(void)state;
	assert_true(ag_fsck_is_dotgit(".git", 4));
	assert_true(ag_fsck_is_dotgit(".gIt ..", 7));
	assert_true(ag_fsck_is_dotgit("git~1", 5));
	assert_true(ag_fsck_is_dotgit(".git::$INDEX_ALLOCATION", 23));
	assert_true(ag_fsck_is_dotgit(".g\xe2\x80\x8cit", 7));
	assert_true(ag_fsck_is_dotgit("a\\.git", 6));
	/* The length bounds the name: ".git" then more is not ".git". */
	assert_true(ag_fsck_is_dotgit(".gitx", 4));
	assert_false(ag_fsck_is_dotgit(".gitx", 5));
	assert_false(ag_fsck_is_dotgit(".gi", 3));
	assert_false(ag_fsck_is_dotgit("", 0));
	assert_false(ag_fsck_is_dotgit("git~10", 6));
	assert_false(ag_fsck_is_dotgit(".github", 7));
	/* Truncated UTF-8 cannot spell it. */
	assert_false(ag_fsck_is_dotgit(".g\xe2\x80", 4));

	assert_true(ag_fsck_is_dotgitmodules(".gitmodules", 11));
	assert_true(ag_fsck_is_dotgitmodules(".GitModules", 11));
	assert_true(ag_fsck_is_dotgitmodules(".gitmodules .", 13));
	assert_true(ag_fsck_is_dotgitmodules(".gitmodules:x", 13));
	assert_true(ag_fsck_is_dotgitmodules("gitmod~1", 8));
	assert_true(ag_fsck_is_dotgitmodules("GITMOD~4", 8));
	assert_true(ag_fsck_is_dotgitmodules("gi7eba~1", 8));
	assert_true(ag_fsck_is_dotgitmodules("gi7eb~12", 8));
	assert_true(ag_fsck_is_dotgitmodules("GI7EBA~9", 8));
	assert_true(ag_fsck_is_dotgitmodules(".gitmod\xe2\x80\x8cules", 14));
	assert_true(ag_fsck_is_dotgitmodules("x\\.gitmodules", 13));
	assert_false(ag_fsck_is_dotgitmodules("gitmod~5", 8));
	assert_false(ag_fsck_is_dotgitmodules(".gitmodulesx", 12));
	assert_false(ag_fsck_is_dotgitmodules("gitmodules", 10));
	assert_false(ag_fsck_is_dotgitmodules("gi7eba~0", 8));
	assert_false(ag_fsck_is_dotgitmodules(".gitmodule", 10));
}

static void
test_dot_names(void **state)
{
	(void)state;
	BAD_NAME(".", "hasDot");
	BAD_NAME("..", "hasDotdot");
	BAD_NAME("a/b", "fullPathname");
	BAD_NAME("/", "fullPathname");
	BAD_NAME("a/.git", "fullPathname");
	BAD_NAME("", "emptyName");
}

static void
test_duplicates_and_order(void **state)
{
	struct tbuf b = { 0 };

	(void)state;
	/* The same name twice. */
	tent(&b, "100644", "a", 1);
	tent(&b, "100644", "a", 2);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "duplicateEntries");
	tbuf_free(&b);
	/* A file and a directory of one name, next to each other... */
	tent(&b, "100644", "a", 1);
	tent(&b, "40000", "a", 2);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "duplicateEntries");
	tbuf_free(&b);
	/* ... and with names between them ("a" < "a.b" < "a.c" < "a/"). */
	tent(&b, "100644", "a", 1);
	tent(&b, "100644", "a.b", 2);
	tent(&b, "100644", "a.c", 3);
	tent(&b, "40000", "a", 4);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "duplicateEntries");
	tbuf_free(&b);
	/* A directory "a.b" after the file "a.b" inside such a run. */
	tent(&b, "100644", "a", 1);
	tent(&b, "100644", "a.b", 2);
	tent(&b, "100644", "a.b.c", 3);
	tent(&b, "40000", "a.b", 4);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "duplicateEntries");
	tbuf_free(&b);
	/* Unsorted. */
	tent(&b, "100644", "b", 1);
	tent(&b, "100644", "a", 2);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "treeNotSorted");
	tbuf_free(&b);
	/* A directory sorts as "a/": after "a.c", before "a0". */
	tent(&b, "40000", "a", 1);
	tent(&b, "100644", "a.c", 2);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "treeNotSorted");
	tbuf_free(&b);
	tent(&b, "100644", "a0", 1);
	tent(&b, "40000", "a", 2);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "treeNotSorted");
	tbuf_free(&b);
	/* A file "a" sorts before "a.c", a directory "a" after it. */
	tent(&b, "100644", "a", 1);
	tent(&b, "100644", "a.c", 2);
	tent(&b, "40000", "b", 3);
	ok_obj(GIT_OBJECT_TREE, b.p, b.len);
	tbuf_free(&b);
	/* A file "ab" is no duplicate of a directory "a". */
	tent(&b, "100644", "a", 1);
	tent(&b, "100644", "a-b", 2);
	tent(&b, "40000", "ab", 3);
	ok_obj(GIT_OBJECT_TREE, b.p, b.len);
	tbuf_free(&b);
}

static void
test_modes(void **state)
{
	struct tbuf b = { 0 };

	(void)state;
	tree1(&b, "040000", "dir", 3);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "zeroPaddedFilemode");
	tree1(&b, "0100644", "f", 1);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "zeroPaddedFilemode");
	/* badFilemode is an info in git: accepted. */
	tree1(&b, "100664", "f", 1);
	ok_obj(GIT_OBJECT_TREE, b.p, b.len);
	tree1(&b, "100600", "f", 1);
	ok_obj(GIT_OBJECT_TREE, b.p, b.len);
	tree1(&b, "7", "f", 1);
	ok_obj(GIT_OBJECT_TREE, b.p, b.len);
	tbuf_free(&b);
}

static void
test_bad_tree(void **state)
{
	struct tbuf b = { 0 };
	unsigned char z[20];

	(void)state;
	memset(z, 7, sizeof z);
	/* Too short for one entry. */
	BAD_TEXT(GIT_OBJECT_TREE, "100644 a\0", "badTree");
	BAD_TEXT(GIT_OBJECT_TREE, "x", "badTree");
	/* Not octal, no mode, no space. */
	tbuf_str(&b, "10064x a");
	tbuf_add(&b, "", 1);
	tbuf_add(&b, z, 20);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "badTree");
	tbuf_free(&b);
	tbuf_str(&b, " a");
	tbuf_add(&b, "", 1);
	tbuf_add(&b, z, 20);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "badTree");
	tbuf_free(&b);
	tbuf_str(&b, "100644a");
	tbuf_add(&b, "", 1);
	tbuf_add(&b, z, 20);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "badTree");
	tbuf_free(&b);
	/* A good entry, then a truncated one. */
	tent(&b, "100644", "a", 1);
	tbuf_str(&b, "100644 b");
	tbuf_add(&b, "", 1);
	tbuf_add(&b, z, 19);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "badTree");
	tbuf_free(&b);
	/* One id byte too many. */
	tent(&b, "100644", "a", 1);
	tbuf_add(&b, z, 1);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "badTree");
	tbuf_free(&b);
}

static void
test_null_and_large(void **state)
{
	struct tbuf b = { 0 };
	char *big;

	(void)state;
	tent(&b, "100644", "a", 0);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "nullSha1");
	tbuf_free(&b);
	big = malloc(AG_FSCK_NAME_MAX + 1);
	assert_non_null(big);
	memset(big, 'x', AG_FSCK_NAME_MAX + 1);
	tent_n(&b, "100644", big, AG_FSCK_NAME_MAX, 1);
	ok_obj(GIT_OBJECT_TREE, b.p, b.len);
	tbuf_free(&b);
	tent_n(&b, "100644", big, AG_FSCK_NAME_MAX + 1, 1);
	bad_obj(GIT_OBJECT_TREE, b.p, b.len, "largePathname");
	tbuf_free(&b);
	free(big);
}

static void
test_gitmodules_symlink(void **state)
{
	static const char *const names[] = {
		".gitmodules", ".GITMODULES", ".gitmodules ", ".gitmodules.",
		"gitmod~1", "gi7eba~1", ".gitmodu\xe2\x80\x8cles",
		".gitmodules:$DATA", "x\\.gitmodules",
	};
	struct tbuf b = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		tree1(&b, "120000", names[i], strlen(names[i]));
		bad_obj(GIT_OBJECT_TREE, b.p, b.len, "gitmodulesSymlink");
		/* A directory or a submodule there is no blob either. */
		tree1(&b, "40000", names[i], strlen(names[i]));
		bad_obj(GIT_OBJECT_TREE, b.p, b.len, "gitmodulesBlob");
		tree1(&b, "160000", names[i], strlen(names[i]));
		bad_obj(GIT_OBJECT_TREE, b.p, b.len, "gitmodulesBlob");
	}
	/* Other symlinks are fine, .gitignore included (an info in git). */
	tree1(&b, "120000", ".gitignore", 10);
	ok_obj(GIT_OBJECT_TREE, b.p, b.len);
	tree1(&b, "120000", ".gitattributes", 14);
	ok_obj(GIT_OBJECT_TREE, b.p, b.len);
	tbuf_free(&b);
}

/* .gitmodules checks on a text. */
static void
mod_ok(const char *text)
{
	struct ag_err err = { 0, "" };
	git_oid id = oid_of(0xcd);
	int r = ag_fsck_gitmodules(text, strlen(text), &id, &err);

	if (r != 0)
		print_error("refused %s: %s\n", text, err.msg);
	assert_int_equal(r, 0);
}

static void
mod_bad(const char *text, const char *msgid)
{
	struct ag_err err = { 0, "" };
	git_oid id = oid_of(0xcd);
	char want[128];
	int r = ag_fsck_gitmodules(text, strlen(text), &id, &err);

	snprintf(want, sizeof want, "%s: blob cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
	    "cdcdcdcd: ", msgid);
	if (r != AG_EINVAL || strncmp(err.msg, want, strlen(want)) != 0)
		print_error("%s: want %s..., got %d \"%s\"\n", text, want, r,
		    err.msg);
	assert_int_equal(r, AG_EINVAL);
	assert_memory_equal(err.msg, want, strlen(want));
}

static void
url_ok(const char *url)
{
	char *t;

	assert_true(asprintf(&t, "[submodule \"s\"]\n\tpath = s\n\turl = %s\n",
	    url) > 0);
	mod_ok(t);
	free(t);
}

static void
url_bad(const char *url)
{
	char *t;

	assert_true(asprintf(&t, "[submodule \"s\"]\n\tpath = s\n\turl = %s\n",
	    url) > 0);
	mod_bad(t, "gitmodulesUrl");
	free(t);
}

static void
test_gitmodules_url(void **state)
{
	(void)state;
	url_ok("https://github.com/acme/lib.git");
	url_ok("git@github.com:acme/lib.git");
	url_ok("ssh://git@host:2222/x.git");
	url_ok("git://host/x.git");
	url_ok("../lib.git");
	url_ok("../../other/lib.git");
	url_ok("./lib");
	url_ok("./-lib");
	url_ok("/srv/git/lib.git");
	url_ok("file:///srv/git/lib.git");
	url_ok("https://host:443/x");
	url_ok("http://host:00080/x");
	url_ok("https://host:8443/a/../x");
	url_ok("https://user:pa%20ss@host/x?q=%41#frag");
	url_ok("https://[::1]:8080/x");
	url_ok("http::file:///x");
	url_ok("https://host/%2e/x");
	url_ok("bogus-scheme://anything goes here");

	/* Command-line options. */
	url_bad("--upload-pack=touch${IFS}/tmp/pwned");
	url_bad("-x");
	url_bad("\"--upload-pack=x\"");
	url_bad("   -u");
	/* Relative urls that climb into the host part, or hold a LF. */
	url_bad("../:x");
	url_bad("..\\\\:x");
	url_bad(".././/host/x");
	url_bad("../../../:x");
	url_bad("./%0a");
	url_bad("../x%0Ay");
	url_bad("git://host/%0a");
	url_bad("\"./x\\ny\"");
	/* Urls for curl must normalize and hold no LF. */
	url_bad("http::https://host/x%0a");
	url_bad("https://host/x%0A");
	url_bad("https://host:0/x");
	url_bad("https://host:65536/x");
	url_bad("https://host:12a/x");
	url_bad("https://host/../x");
	url_bad("https://host/a/../../x");
	url_bad("https://host/%2e%2E/x");
	url_bad("https://host/%zz");
	url_bad("https://host/x?%4");
	url_bad("https://us%er@host/x");
	url_bad("https:///x");
	url_bad("https://@/x");
	url_bad("https://ho st/x");
	url_bad("http::foo");
	url_bad("https::");
	url_bad("ftp::1http://x");
	url_bad("http::file://:1/x");
}

static void
test_gitmodules_name_path_update(void **state)
{
	(void)state;
	mod_bad("[submodule \"../x\"]\n\turl = ./x\n", "gitmodulesName");
	mod_bad("[submodule \"a/../b\"]\n\tpath = b\n", "gitmodulesName");
	mod_bad("[submodule \"a\\\\..\\\\b\"]\n\tpath = b\n",
	    "gitmodulesName");
	mod_bad("[submodule \"..\"]\n\tpath = b\n", "gitmodulesName");
	mod_bad("[submodule \"a/..\"]\n\tpath = b\n", "gitmodulesName");
	mod_bad("[submodule \"\"]\n\tpath = b\n", "gitmodulesName");
	/* The old syntax names a subsection too. */
	mod_bad("[submodule...]\n\tpath = b\n", "gitmodulesName");
	/* A bare key is enough for the name check. */
	mod_bad("[submodule \"../x\"]\n\tactive\n", "gitmodulesName");
	mod_ok("[submodule \"..a\"]\n\tpath = a\n");
	mod_ok("[submodule \"a..b\"]\n\tpath = a\n");
	mod_ok("[submodule \"a/..b/c\"]\n\tpath = a\n");
	mod_ok("[submodule \"x\"]\n\tpath = a-b\n\tupdate = rebase\n");

	mod_bad("[submodule \"x\"]\n\tpath = -x\n", "gitmodulesPath");
	mod_bad("[submodule \"x\"]\n\tpath = --recurse\n", "gitmodulesPath");
	mod_bad("[submodule \"x\"]\n\tupdate = !rm -rf /\n",
	    "gitmodulesUpdate");
	mod_bad("[submodule \"x\"]\n\tUpdate = \"!sh\"\n", "gitmodulesUpdate");
	mod_ok("[submodule \"x\"]\n\tupdate = none\n");
	mod_ok("[submodule \"x\"]\n\tupdate = merge\n");
	/* Outside [submodule "..."] nothing is checked. */
	mod_ok("[core]\n\turl = -x\n\tpath = -y\n\tupdate = !z\n");
	mod_ok("[submodule]\n\turl = -x\n");
	mod_ok("[submodules \"x\"]\n\turl = -x\n");
	mod_ok("url = -x\n");
}

static void
test_gitmodules_syntax(void **state)
{
	(void)state;
	mod_ok("");
	mod_ok("\n\n# comment\n; comment\n");
	mod_ok("[submodule \"x\"] # comment\n\tpath = x ; c\n");
	/* Case-insensitive sections and keys, case kept in the name. */
	mod_bad("[SubModule \"x\"]\n\tURL = -x\n", "gitmodulesUrl");
	mod_bad("[submodule \"X\"]\n\tUrL=-x\n", "gitmodulesUrl");
	mod_bad("[submodule.x]\n\turl = -x\n", "gitmodulesUrl");
	mod_bad("[submodule   \"x\"]\n\turl = -x\n", "gitmodulesUrl");
	/* The value is unquoted, unescaped and trimmed first. */
	mod_bad("[submodule \"x\"]\n\turl = \"-\"x\n", "gitmodulesUrl");
	mod_bad("[submodule \"x\"]\n\turl = -x # not a url\n",
	    "gitmodulesUrl");
	mod_ok("[submodule \"x\"]\n\turl = \" -x\"\n");
	mod_ok("[submodule \"x\"]\n\turl = x\" # -x\"\n");
	/* Continuation lines and escapes. */
	mod_bad("[submodule \"x\"]\n\turl = \\\n-x\n", "gitmodulesUrl");
	mod_bad("[submodule \"x\"]\r\n\turl = -x\r\n", "gitmodulesUrl");
	mod_bad("[submodule \"x\"]\n\turl = ./a\\nb\n", "gitmodulesUrl");
	mod_bad("[submodule \"a\\\"b/..\"]\n\tpath = x\n", "gitmodulesName");
	mod_bad("[submodule \"x\"]\n\turl = -x", "gitmodulesUrl");
	/* A byte order mark opens the file. */
	mod_bad("\xef\xbb\xbf[submodule \"x\"]\n\turl = -x\n",
	    "gitmodulesUrl");
	/* A syntax error ends the reading (gitmodulesParse, an info)... */
	mod_ok("[submodule \"x\"\n\turl = -x\n");
	mod_ok("[submodule \"x\"]\n\turl = \"-x\n");
	mod_ok("[submodule \"x\"]\n\turl = \\q-x\n");
	mod_ok("[submodule \"x\"]\n\t1url = -x\n");
	mod_ok("\xef\xbb[submodule \"x\"]\n\turl = -x\n");
	/* ... but what came before it was read. */
	mod_bad("[submodule \"x\"]\n\turl = -x\n[broken\n", "gitmodulesUrl");
	/* A NUL ends a value or a name as git reads them. */
	{
		static const char t1[] = "[submodule \"x\"]\n\turl = ok\0-x\n";
		static const char t2[] = "[submodule \"x\"]\n\turl = -x\0ok\n";
		struct ag_err err = { 0, "" };
		git_oid id = oid_of(1);

		assert_int_equal(ag_fsck_gitmodules(t1, sizeof t1 - 1, &id,
		    &err), 0);
		assert_int_equal(ag_fsck_gitmodules(t2, sizeof t2 - 1, &id,
		    &err), AG_EINVAL);
		assert_non_null(strstr(err.msg, "gitmodulesUrl"));
	}
	/*
	 * 0xff is a byte like any other, not an end of file (git reading a
	 * blob on a signed-char machine stops there, a checkout does not).
	 */
	mod_bad("[submodule \"x\"]\n\tpath = a\xff" "b\n\turl = -x\n",
	    "gitmodulesUrl");
}

static void
test_gitmodules_limits(void **state)
{
	struct ag_err err = { 0, "" };
	git_oid id = oid_of(2);
	char *big;
	size_t n;

	(void)state;
	n = AG_FSCK_GITMODULES_MAX + 1;
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, '\n', n);
	assert_int_equal(ag_fsck_gitmodules(big, n - 1, &id, &err), 0);
	assert_int_equal(ag_fsck_gitmodules(big, n, &id, &err), AG_EINVAL);
	assert_memory_equal(err.msg, "gitmodulesLarge: blob ", 22);
	free(big);
	/* A value over its limit. */
	n = AG_FSCK_GITMODULES_VALUE_MAX + 64;
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'a', n);
	memcpy(big, "[x]\ny = ", 8);
	big[n - 1] = '\n';
	big[n] = '\0';
	ag_err_clear(&err);
	assert_int_equal(ag_fsck_gitmodules(big, n, &id, &err), AG_EINVAL);
	assert_non_null(strstr(err.msg, "gitmodulesLarge"));
	assert_non_null(strstr(err.msg, "a value longer than"));
	free(big);
	/* A section name over its limit. */
	n = AG_FSCK_GITMODULES_VAR_MAX + 64;
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'a', n);
	big[0] = '[';
	memcpy(big + n - 2, "]\n", 2);
	ag_err_clear(&err);
	assert_int_equal(ag_fsck_gitmodules(big, n, &id, &err), AG_EINVAL);
	assert_non_null(strstr(err.msg, "gitmodulesLarge"));
	free(big);
}

/* A blob reader over a small table, counting its calls. */
struct reader {
	git_oid		 ids[4];
	const char	*texts[4];
	int		 rcs[4];
	size_t		 n;
	int		 calls;
};

static int
read_cb(void *arg, const git_oid *id, const void **data, size_t *len)
{
	struct reader *rd = arg;
	size_t i;

	rd->calls++;
	for (i = 0; i < rd->n; i++) {
		if (!git_oid_equal(&rd->ids[i], id))
			continue;
		if (rd->rcs[i] != 0)
			return rd->rcs[i];
		*data = rd->texts[i];
		*len = strlen(rd->texts[i]);
		return 0;
	}
	return 1;
}

static void
test_gitmodules_blobs(void **state)
{
	static const char good[] = "[submodule \"s\"]\n\turl = ../s.git\n";
	static const char evil[] = "[submodule \"s\"]\n\turl = -u\n";
	struct ag_err err = { 0, "" };
	struct reader rd;
	struct ag_fsck *f;
	struct tbuf b = { 0 };
	git_oid tid = oid_of(0x70), m1 = oid_of(0x51), m2 = oid_of(0x52);

	(void)state;
	/* Checked as the blob comes in, after the tree. */
	assert_int_equal(ag_fsck_new(&f), 0);
	tent(&b, "100644", ".gitmodules", 0x51);
	assert_int_equal(ag_fsck_object(f, &tid, GIT_OBJECT_TREE, b.p, b.len,
	    &err), 0);
	assert_int_equal(ag_fsck_pending(f), 1);
	/* Other blobs pass unread. */
	assert_int_equal(ag_fsck_object(f, &m2, GIT_OBJECT_BLOB, evil,
	    sizeof evil - 1, &err), 0);
	assert_int_equal(ag_fsck_object(f, &m1, GIT_OBJECT_BLOB, evil,
	    sizeof evil - 1, &err), AG_EINVAL);
	assert_memory_equal(err.msg, "gitmodulesUrl: blob 5151", 24);
	ag_fsck_free(f);
	tbuf_free(&b);

	/* Checked once: no read at the end. */
	ag_err_clear(&err);
	assert_int_equal(ag_fsck_new(&f), 0);
	tent(&b, "100644", ".gitmodules", 0x51);
	assert_int_equal(ag_fsck_object(f, &tid, GIT_OBJECT_TREE, b.p, b.len,
	    &err), 0);
	assert_int_equal(ag_fsck_object(f, &m1, GIT_OBJECT_BLOB, good,
	    sizeof good - 1, &err), 0);
	assert_int_equal(ag_fsck_pending(f), 0);
	memset(&rd, 0, sizeof rd);
	assert_int_equal(ag_fsck_finish(f, read_cb, &rd, &err), 0);
	assert_int_equal(rd.calls, 0);
	ag_fsck_free(f);
	tbuf_free(&b);

	/* The blob came before the tree: finish reads it. */
	ag_err_clear(&err);
	assert_int_equal(ag_fsck_new(&f), 0);
	assert_int_equal(ag_fsck_object(f, &m1, GIT_OBJECT_BLOB, evil,
	    sizeof evil - 1, &err), 0);
	tent(&b, "100644", "gitmod~1", 0x51);
	assert_int_equal(ag_fsck_object(f, &tid, GIT_OBJECT_TREE, b.p, b.len,
	    &err), 0);
	memset(&rd, 0, sizeof rd);
	rd.ids[0] = m1;
	rd.texts[0] = evil;
	rd.n = 1;
	assert_int_equal(ag_fsck_finish(f, read_cb, &rd, &err), AG_EINVAL);
	assert_int_equal(rd.calls, 1);
	assert_memory_equal(err.msg, "gitmodulesUrl: blob 5151", 24);
	ag_fsck_free(f);
	tbuf_free(&b);

	/* Not here (1): skipped; not a blob (2): refused; errors pass up. */
	ag_err_clear(&err);
	assert_int_equal(ag_fsck_new(&f), 0);
	tent(&b, "100644", ".gitmodules", 0x51);
	assert_int_equal(ag_fsck_object(f, &tid, GIT_OBJECT_TREE, b.p, b.len,
	    &err), 0);
	memset(&rd, 0, sizeof rd);
	assert_int_equal(ag_fsck_finish(f, read_cb, &rd, &err), 0);
	assert_int_equal(rd.calls, 1);
	assert_int_equal(ag_fsck_pending(f), 0);
	assert_int_equal(ag_fsck_object(f, &tid, GIT_OBJECT_TREE, b.p, b.len,
	    &err), 0);
	rd.ids[0] = m1;
	rd.rcs[0] = 2;
	rd.n = 1;
	assert_int_equal(ag_fsck_finish(f, read_cb, &rd, &err), AG_EINVAL);
	assert_memory_equal(err.msg, "gitmodulesBlob: object 5151", 27);
	ag_err_clear(&err);
	rd.rcs[0] = AG_EIO;
	assert_int_equal(ag_fsck_finish(f, read_cb, &rd, &err), AG_EIO);
	assert_int_equal(err.code, AG_EIO);
	ag_fsck_free(f);
	tbuf_free(&b);

	/* .gitattributes: lines of 2048 bytes or more are refused. */
	ag_err_clear(&err);
	assert_int_equal(ag_fsck_new(&f), 0);
	tent(&b, "100644", ".gitattributes", 0x52);
	assert_int_equal(ag_fsck_object(f, &tid, GIT_OBJECT_TREE, b.p, b.len,
	    &err), 0);
	{
		char *line = malloc(4096);

		assert_non_null(line);
		memset(line, 'x', 4096);
		line[0] = '*';
		line[2047] = '\n';
		assert_int_equal(ag_fsck_gitattributes(line, 2048, &m2, &err),
		    0);
		assert_int_equal(ag_fsck_object(f, &m2, GIT_OBJECT_BLOB, line,
		    4096, &err), AG_EINVAL);
		assert_memory_equal(err.msg, "gitattributesLineLength: ", 25);
		free(line);
	}
	ag_fsck_free(f);
	tbuf_free(&b);
	ag_fsck_free(NULL);
}

static void
test_valid_commit(void **state)
{
	(void)state;
	OK_TEXT(GIT_OBJECT_COMMIT, "tree " HEX1 "\n" AUTHOR COMMITTER
	    "\nmessage\n");
	OK_TEXT(GIT_OBJECT_COMMIT, "tree " HEX1 "\nparent " HEX2 "\nparent "
	    HEX1 "\n" AUTHOR COMMITTER "encoding latin1\ngpgsig -----BEGIN\n"
	    " more\n\nmessage\n");
	/* No body: the header's last LF ends it. */
	OK_TEXT(GIT_OBJECT_COMMIT, "tree " HEX1 "\n" AUTHOR COMMITTER);
	/* Upper-case hex, odd names, extra spaces before the date, 0. */
	OK_TEXT(GIT_OBJECT_COMMIT, "tree " "ABCDEF0123456789ABCDEF0123456789"
	    "ABCDEF01\nauthor  <> 0 +0000\ncommitter x y <z> \t 1 -9999\n\n");
}

static void
test_bad_commit(void **state)
{
	(void)state;
	BAD_TEXT(GIT_OBJECT_COMMIT, "", "unterminatedHeader");
	BAD_TEXT(GIT_OBJECT_COMMIT, "tree " HEX1 "\n" AUTHOR
	    "committer C <c> 1 +0000", "unterminatedHeader");
	BAD_TEXT(GIT_OBJECT_COMMIT, "tree " HEX1 "\0\n" AUTHOR COMMITTER "\n",
	    "nulInHeader");
	BAD_TEXT(GIT_OBJECT_COMMIT, "tree " HEX1 "\n" AUTHOR COMMITTER
	    "\nbody\0nul\n", "nulInCommit");
	BAD_TEXT(GIT_OBJECT_COMMIT, AUTHOR COMMITTER "\n", "missingTree");
	BAD_TEXT(GIT_OBJECT_COMMIT, "tree 1234\n" AUTHOR COMMITTER "\n",
	    "badTreeSha1");
	BAD_TEXT(GIT_OBJECT_COMMIT, "tree " HEX1 "x\n" AUTHOR COMMITTER "\n",
	    "badTreeSha1");
	BAD_TEXT(GIT_OBJECT_COMMIT, "tree " "g" HEX1 "\n" AUTHOR COMMITTER,
	    "badTreeSha1");
	BAD_TEXT(GIT_OBJECT_COMMIT, "tree " HEX1 "\nparent 12\n" AUTHOR
	    COMMITTER "\n", "badParentSha1");
	BAD_TEXT(GIT_OBJECT_COMMIT, "tree " HEX1 "\n" COMMITTER "\n",
	    "missingAuthor");
	BAD_TEXT(GIT_OBJECT_COMMIT, "tree " HEX1 "\n" AUTHOR AUTHOR COMMITTER
	    "\n", "multipleAuthors");
	BAD_TEXT(GIT_OBJECT_COMMIT, "tree " HEX1 "\n" AUTHOR "\n",
	    "missingCommitter");
	BAD_TEXT(GIT_OBJECT_COMMIT, "tree " HEX1 "\n" AUTHOR, "missingCommitter");
#define IDENT(s) "tree " HEX1 "\nauthor " s "\n" COMMITTER "\n"
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("<a@b> 1 +0000"),
	    "missingNameBeforeEmail");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A U Thor 1 +0000"), "missingEmail");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT(""), "missingEmail");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A> <a@b> 1 +0000"), "badName");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A<a@b> 1 +0000"),
	    "missingSpaceBeforeEmail");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a<b> 1 +0000"), "badEmail");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b 1 +0000"), "badEmail");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b>1 +0000"),
	    "missingSpaceBeforeDate");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b>"),
	    "missingSpaceBeforeDate");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> x +0000"), "badDate");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> "), "badDate");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 12x +0000"), "badDate");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 12"), "badDate");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 0170 +0000"),
	    "zeroPaddedDate");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 00 +0000"),
	    "zeroPaddedDate");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 0"), "zeroPaddedDate");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 9223372036854775808 +0000"),
	    "badDateOverflow");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 1111111111111111111111111 "
	    "+0000"), "badDateOverflow");
	OK_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 9223372036854775807 +0000"));
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 1 +000"), "badTimezone");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 1 0000"), "badTimezone");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 1 +00000"), "badTimezone");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 1 +00a0"), "badTimezone");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 1 +0000 "), "badTimezone");
	BAD_TEXT(GIT_OBJECT_COMMIT, IDENT("A <a@b> 1"), "badDate");
#undef IDENT
}

#define TAGHDR "object " HEX1 "\ntype commit\ntag v1.0\n"
#define TAGGER "tagger T Agger <t@example.com> 1700000000 +0100\n"

static void
test_tags(void **state)
{
	(void)state;
	OK_TEXT(GIT_OBJECT_TAG, TAGHDR TAGGER "\nrelease\n");
	OK_TEXT(GIT_OBJECT_TAG, "object " HEX1 "\ntype tree\ntag t\n" TAGGER);
	OK_TEXT(GIT_OBJECT_TAG, TAGHDR TAGGER "gpgsig -----BEGIN\n line\n"
	    " line\n\nmsg\n");
	/* Infos in git: no tagger, a bad tag name, extra headers. */
	OK_TEXT(GIT_OBJECT_TAG, TAGHDR "\nold tag\n");
	OK_TEXT(GIT_OBJECT_TAG, "object " HEX1 "\ntype blob\ntag a..b~^:\n"
	    TAGGER "\n");
	OK_TEXT(GIT_OBJECT_TAG, TAGHDR TAGGER "extra header\n\nmsg\n");

	BAD_TEXT(GIT_OBJECT_TAG, "", "unterminatedHeader");
	BAD_TEXT(GIT_OBJECT_TAG, TAGHDR "tag\0\n\n", "nulInHeader");
	BAD_TEXT(GIT_OBJECT_TAG, "type commit\ntag v\n" TAGGER "\n",
	    "missingObject");
	BAD_TEXT(GIT_OBJECT_TAG, "object xyz\ntype commit\ntag v\n" TAGGER,
	    "badObjectSha1");
	BAD_TEXT(GIT_OBJECT_TAG, "object " HEX1 "\ntag v\n" TAGGER "\n",
	    "missingTypeEntry");
	BAD_TEXT(GIT_OBJECT_TAG, "object " HEX1 "\ntype blobx\ntag v\n" TAGGER,
	    "badType");
	BAD_TEXT(GIT_OBJECT_TAG, "object " HEX1 "\ntype \ntag v\n" TAGGER,
	    "badType");
	BAD_TEXT(GIT_OBJECT_TAG, "object " HEX1 "\ntype commit\n" TAGGER "\n",
	    "missingTagEntry");
	BAD_TEXT(GIT_OBJECT_TAG, TAGHDR "tagger T <t> x +0000\n\n", "badDate");
	BAD_TEXT(GIT_OBJECT_TAG, TAGHDR "tagger T t> 1 +0000\n\n", "badName");
	BAD_TEXT(GIT_OBJECT_TAG, TAGHDR "tagger T <t\n\n", "badEmail");
}

static void
test_other_types(void **state)
{
	struct ag_err err = { 0, "" };

	(void)state;
	/* Blobs no tree named are not read. */
	OK_TEXT(GIT_OBJECT_BLOB, "[submodule \"x\"]\nurl = -x\n");
	assert_int_equal(run(GIT_OBJECT_OFS_DELTA, "x", 1, &err), AG_EINVAL);
	assert_memory_equal(err.msg, "unknownType: object ", 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_tree),
		cmocka_unit_test(test_has_dotgit),
		cmocka_unit_test(test_is_dotgit),
		cmocka_unit_test(test_dot_names),
		cmocka_unit_test(test_duplicates_and_order),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_bad_tree),
		cmocka_unit_test(test_null_and_large),
		cmocka_unit_test(test_gitmodules_symlink),
		cmocka_unit_test(test_gitmodules_url),
		cmocka_unit_test(test_gitmodules_name_path_update),
		cmocka_unit_test(test_gitmodules_syntax),
		cmocka_unit_test(test_gitmodules_limits),
		cmocka_unit_test(test_gitmodules_blobs),
		cmocka_unit_test(test_valid_commit),
		cmocka_unit_test(test_bad_commit),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_other_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

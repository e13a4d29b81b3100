/*
 * Repository maintenance (see maintain.h): a native repack through
 * libgit2's packbuilder, rewritten with offset deltas, swapped in beside
 * the old packs; garbage removed after a grace period once every ref is
 * known to be whole without it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2/sys/odb_backend.h>

#include "auger/maintain.h"
#include "auger/oidset.h"
#include "auger/packofs.h"
#include "auger/reach.h"

#define GARBAGE_FILE	"objects/info/auger-garbage"
#define GARBAGE_MAX	(16 * 1024 * 1024)	/* bytes of the list */

static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

/* Calls fn for each "pack-<hash>" that has an .idx in objects/pack. */
static int
each_pack(const char *gitdir, int (*fn)(void *, const char *), void *arg)
{
	char dir[4200], name[256];
	struct dirent *de;
	size_t len;
	DIR *d;
	int r = 0;

	snprintf(dir, sizeof dir, "%s/objects/pack", gitdir);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (r == 0 && (de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 10 || len >= sizeof name ||
		    strncmp(de->d_name, "pack-", 5) != 0 ||
		    strcmp(de->d_name + len - 4, ".idx") != 0)
			continue;
		memcpy(name, de->d_name, len - 4);
		name[len - 4] = '\0';
		r = fn(arg, name);
	}
	closedir(d);
	return r;
}

/* Calls fn for each loose object id (hex) of the repository. */
static int
each_loose(const char *gitdir, int (*fn)(void *, const char *), void *arg)
{
	char dir[4200], hex[GIT_OID_HEXSZ + 1];
	struct dirent *de;
	DIR *d;
	int i, r = 0;

	for (i = 0; i < 256 && r == 0; i++) {
		snprintf(dir, sizeof dir, "%s/objects/%02x", gitdir, i);
		if ((d = opendir(dir)) == NULL)
			continue;
		while (r == 0 && (de = readdir(d)) != NULL) {
			if (strlen(de->d_name) != GIT_OID_HEXSZ - 2 ||
			    !is_hex(de->d_name, GIT_OID_HEXSZ - 2))
				continue;
			snprintf(hex, 3, "%02x", i);
			memcpy(hex + 2, de->d_name, GIT_OID_HEXSZ - 2);
			hex[GIT_OID_HEXSZ] = '\0';
			r = fn(arg, hex);
		}
		closedir(d);
	}
	return r;
}

static int
count_cb(void *arg, const char *name)
{
	(void)name;
	(*(size_t *)arg)++;
	return 0;
}

int
ag_maintain_count(const char *repo_path, size_t *packs, size_t *loose)
{
	*packs = *loose = 0;
	if (each_pack(repo_path, count_cb, packs) < 0)
		return -1;
	return each_loose(repo_path, count_cb, loose);
}

/* A growing list of short strings: pack names, loose ids, ref lines. */
struct strs {
	char	**v;
	size_t	 n, cap;
};

static int
strs_add(void *arg, const char *s)
{
	struct strs *l = arg;
	char **nv;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;

		if ((nv = realloc(l->v, cap * sizeof *nv)) == NULL)
			return -1;
		l->v = nv;
		l->cap = cap;
	}
	if ((l->v[l->n] = strdup(s)) == NULL)
		return -1;
	l->n++;
	return 0;
}

static int
strs_has(const struct strs *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static void
strs_free(struct strs *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Writes path atomically: a temporary file, fsync, rename. */
static int
write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4400];
	int fd;

	snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Reads a small text file whole (NUL-terminated), at most max bytes. */
static char *
read_small(const char *path, size_t max)
{
	struct stat sb;
	char *buf;
	FILE *f;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (fstat(fileno(f), &sb) < 0 || (size_t)sb.st_size > max ||
	    (buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, (size_t)sb.st_size, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* The garbage list: when it was written, and what it holds. */
struct garbage {
	long long	 when;
	struct strs	 packs;		/* "pack-<hash>" */
	struct strs	 loose;		/* hex ids */
};

static void
garbage_free(struct garbage *g)
{
	strs_free(&g->packs);
	strs_free(&g->loose);
}

/* 1 and g when the list exists, 0 when it does not, -1 when unreadable. */
static int
garbage_read(struct garbage *g, const char *gitdir)
{
	char path[4200], *buf, *line, *save = NULL;

	memset(g, 0, sizeof *g);
	snprintf(path, sizeof path, "%s/%s", gitdir, GARBAGE_FILE);
	if ((buf = read_small(path, GARBAGE_MAX)) == NULL)
		return errno == ENOENT ? 0 : -1;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "time ", 5) == 0)
			g->when = strtoll(line + 5, NULL, 10);
		else if (strncmp(line, "pack ", 5) == 0 &&
		    strncmp(line + 5, "pack-", 5) == 0 &&
		    strchr(line + 5, '/') == NULL)
			strs_add(&g->packs, line + 5);
		else if (strncmp(line, "loose ", 6) == 0 &&
		    strlen(line + 6) == GIT_OID_HEXSZ &&
		    is_hex(line + 6, GIT_OID_HEXSZ))
			strs_add(&g->loose, line + 6);
	}
	free(buf);
	return 1;
}

static int
garbage_write(const struct garbage *g, const char *gitdir)
{
	char path[4200], dir[4200];
	size_t i, cap = 64 + (g->packs.n + g->loose.n) * 64, len = 0;
	char *buf;
	int r;

	snprintf(dir, sizeof dir, "%s/objects/info", gitdir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	if ((buf = malloc(cap)) == NULL)
		return -1;
	len += (size_t)snprintf(buf + len, cap - len, "time %lld\n", g->when);
	for (i = 0; i < g->packs.n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "pack %s\n",
		    g->packs.v[i]);
	for (i = 0; i < g->loose.n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "loose %s\n",
		    g->loose.v[i]);
	snprintf(path, sizeof path, "%s/%s", gitdir, GARBAGE_FILE);
	r = write_atomic(path, buf, len);
	free(buf);
	return r;
}

/* Puts a ref's target in the pack: commits by the walk, tags whole. */
static int
insert_ref(git_packbuilder *pb, git_revwalk *walk, git_repository *repo,
    const git_oid *id)
{
	git_object *obj = NULL, *next = NULL;
	int depth = 0, r = -1;

	if (git_object_lookup(&obj, repo, id, GIT_OBJECT_ANY) < 0)
		return -1;
	while (git_object_type(obj) == GIT_OBJECT_TAG && depth++ < 64) {
		if (git_packbuilder_insert(pb, git_object_id(obj), NULL) < 0 ||
		    git_tag_target(&next, (git_tag *)obj) < 0)
			goto out;
		git_object_free(obj);
		obj = next;
		next = NULL;
	}
	if (git_object_type(obj) == GIT_OBJECT_COMMIT)
		r = git_revwalk_push(walk, git_object_id(obj));
	else
		r = git_packbuilder_insert_recur(pb, git_object_id(obj), NULL);
out:
	git_object_free(next);
	git_object_free(obj);
	return r;
}

int
ag_maintain_repack(git_repository *repo, int threads,
    struct ag_maintain_stats *st, struct ag_err *err)
{
	const char *gitdir = git_repository_path(repo);
	git_indexer_options io = GIT_INDEXER_OPTIONS_INIT;
	git_indexer_progress prog;
	git_reference_iterator *it = NULL;
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	git_indexer *idx = NULL;
	git_reference *ref = NULL;
	git_odb *odb = NULL;
	git_buf raw = { 0 };
	unsigned char *ofs = NULL;
	struct strs old = { 0 }, loose = { 0 }, tips = { 0 };
	struct garbage g;
	char path[4400], dir[4200], line[GIT_OID_HEXSZ + 1100];
	char *tipbuf = NULL;
	size_t ofslen, i, tlen = 0, tcap = 0;
	int r = -1, have;

	memset(st, 0, sizeof *st);
	memset(&g, 0, sizeof g);
	if (each_pack(gitdir, strs_add, &old) < 0 ||
	    each_loose(gitdir, strs_add, &loose) < 0) {
		r = ag_err_set(err, AG_EIO, "listing objects: %s",
		    strerror(errno));
		goto out;
	}
	st->packs = old.n;
	st->loose = loose.n;
	if (git_packbuilder_new(&pb, repo) < 0 ||
	    git_revwalk_new(&walk, repo) < 0 ||
	    git_reference_iterator_new(&it, repo) < 0) {
		r = ag_err_git(err, "starting the repack");
		goto out;
	}
	git_packbuilder_set_threads(pb, threads > 0 ? (unsigned)threads : 1);
	while (git_reference_next(&ref, it) == 0) {
		const git_oid *t = git_reference_target(ref);
		char hex[GIT_OID_HEXSZ + 1];

		if (t != NULL && tips.n < AG_MAINTAIN_MAX_TIPS) {
			if (insert_ref(pb, walk, repo, t) < 0) {
				r = ag_err_git(err, "reading ref %s",
				    git_reference_name(ref));
				goto out;
			}
			git_oid_tostr(hex, sizeof hex, t);
			snprintf(line, sizeof line, "%s %s", hex,
			    git_reference_name(ref));
			if (strs_add(&tips, line) < 0)
				goto oom;
		}
		git_reference_free(ref);
		ref = NULL;
	}
	if (tips.n == 0) {	/* an empty repository: nothing to pack */
		r = 0;
		goto out;
	}
	if (git_packbuilder_insert_walk(pb, walk) < 0 ||
	    git_packbuilder_write_buf(&raw, pb) < 0) {
		r = ag_err_git(err, "building the pack");
		goto out;
	}
	st->objects = git_packbuilder_object_count(pb);
	/* Offset deltas: every client follows them (go-git included). */
	if ((r = ag_packofs(&ofs, &ofslen, (unsigned char *)raw.ptr, raw.size,
	    err)) < 0)
		goto out;
	r = -1;
	git_buf_dispose(&raw);
	snprintf(dir, sizeof dir, "%s/objects/pack", gitdir);
	if (git_repository_odb(&odb, repo) < 0 ||
	    git_indexer_new(&idx, dir, 0444, odb, &io) < 0 ||
	    git_indexer_append(idx, ofs, ofslen, &prog) < 0 ||
	    git_indexer_commit(idx, &prog) < 0) {
		r = ag_err_git(err, "writing the pack");
		goto out;
	}
	st->bytes = ofslen;
	snprintf(st->pack, sizeof st->pack, "pack-%s", git_indexer_name(idx));
	/* The tips it was built from, for whole-pack answers. */
	for (i = 0; i < tips.n; i++) {
		size_t need = strlen(tips.v[i]) + 2;

		if (tlen + need > tcap) {
			char *nb;

			tcap = (tlen + need) * 2;
			if ((nb = realloc(tipbuf, tcap)) == NULL)
				goto oom;
			tipbuf = nb;
		}
		tlen += (size_t)snprintf(tipbuf + tlen, tcap - tlen, "%s\n",
		    tips.v[i]);
	}
	snprintf(path, sizeof path, "%s/%s.tips", dir, st->pack);
	if (write_atomic(path, tipbuf, tlen) < 0) {
		r = ag_err_set(err, AG_EIO, "writing %s.tips: %s", st->pack,
		    strerror(errno));
		goto out;
	}
	/* Everything that was there before is garbage from now on. */
	if ((have = garbage_read(&g, gitdir)) < 0) {
		r = ag_err_set(err, AG_EIO, "reading the garbage list");
		goto out;
	}
	g.when = (long long)time(NULL);
	for (i = 0; i < old.n; i++)
		if (strcmp(old.v[i], st->pack) != 0 &&
		    !strs_has(&g.packs, old.v[i]) &&
		    strs_add(&g.packs, old.v[i]) < 0)
			goto oom;
	for (i = 0; i < loose.n; i++)
		if (strs_add(&g.loose, loose.v[i]) < 0)
			goto oom;
	if (garbage_write(&g, gitdir) < 0) {
		r = ag_err_set(err, AG_EIO, "writing the garbage list: %s",
		    strerror(errno));
		goto out;
	}
	git_odb_refresh(odb);
	r = 0;
	goto out;
oom:
	r = ag_err_set(err, AG_EINTERNAL, "out of memory");
out:
	garbage_free(&g);
	strs_free(&old);
	strs_free(&loose);
	strs_free(&tips);
	free(tipbuf);
	free(ofs);
	git_buf_dispose(&raw);
	git_indexer_free(idx);
	git_odb_free(odb);
	git_reference_free(ref);
	git_reference_iterator_free(it);
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	return r;
}

/* What stays once the garbage goes: the other packs, and loose objects. */
struct keep {
	git_odb			*packs;
	const struct garbage	*g;
	const char		*gitdir;
};

static int
keep_add_pack(void *arg, const char *name)
{
	struct keep *k = arg;
	git_odb_backend *be = NULL;
	char path[4400];

	if (strs_has(&k->g->packs, name))
		return 0;
	snprintf(path, sizeof path, "%s/objects/pack/%s.idx", k->gitdir, name);
	if (git_odb_backend_one_pack(&be, path) < 0)
		return -1;
	if (git_odb_add_backend(k->packs, be, 1) < 0) {
		be->free(be);
		return -1;
	}
	return 0;
}

static int
keep_has(const struct keep *k, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1], path[4400];
	struct stat sb;

	if (git_odb_exists(k->packs, id))
		return 1;
	git_oid_tostr(hex, sizeof hex, id);
	if (strs_has(&k->g->loose, hex))
		return 0;
	snprintf(path, sizeof path, "%s/objects/%.2s/%s", k->gitdir, hex,
	    hex + 2);
	return stat(path, &sb) == 0;
}

static int
keep_visit(void *arg, const git_oid *id, git_object_t type)
{
	if (!keep_has(arg, id))
		return AG_REACH_MISSING;
	/* A blob has nothing to follow: it is not read. */
	return type == GIT_OBJECT_BLOB ? AG_REACH_SKIP : AG_REACH_FOLLOW;
}

/* Whether everything the refs reach stays: 1 whole, 0 not, -1 error. */
static int
refs_whole(git_repository *repo, const struct keep *k, struct ag_err *err)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	git_oid *tips = NULL, *nt;
	size_t n = 0, cap = 0;
	int r = -1;

	if (git_reference_iterator_new(&it, repo) < 0)
		return ag_err_git(err, "listing the refs");
	while (git_reference_next(&ref, it) == 0) {
		if (git_reference_target(ref) != NULL) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				if ((nt = realloc(tips, cap * sizeof *nt)) ==
				    NULL) {
					r = ag_err_set(err, AG_EINTERNAL,
					    "out of memory");
					goto out;
				}
				tips = nt;
			}
			git_oid_cpy(&tips[n++], git_reference_target(ref));
		}
		git_reference_free(ref);
		ref = NULL;
	}
	r = ag_reach_walk(repo, tips, n, keep_visit, (void *)k, err);
	r = r == 0 ? 1 : r == 1 ? 0 : r;
out:
	git_reference_free(ref);
	git_reference_iterator_free(it);
	free(tips);
	return r;
}

int
ag_maintain_prune(git_repository *repo, int grace,
    struct ag_maintain_stats *st, struct ag_err *err)
{
	static const char *ext[] = { ".idx", ".pack", ".tips", ".keep",
	    ".rev", ".bitmap" };
	const char *gitdir = git_repository_path(repo);
	struct garbage g;
	struct keep k;
	char path[4400];
	git_odb *odb = NULL;
	size_t i, e;
	int r = -1, have;

	memset(st, 0, sizeof *st);
	memset(&k, 0, sizeof k);
	if ((have = garbage_read(&g, gitdir)) <= 0)
		return have < 0 ? ag_err_set(err, AG_EIO,
		    "reading the garbage list") : 0;
	if ((long long)time(NULL) - g.when < grace) {
		r = 0;
		goto out;
	}
	k.g = &g;
	k.gitdir = gitdir;
	if (git_odb_new(&k.packs) < 0 ||
	    each_pack(gitdir, keep_add_pack, &k) < 0) {
		r = ag_err_git(err, "opening the packs that stay");
		goto out;
	}
	if ((r = refs_whole(repo, &k, err)) < 0)
		goto out;
	if (r == 0) {
		r = 1;	/* something reachable is only in the garbage */
		goto out;
	}
	/* .idx first: a reader scanning the folder sees whole packs only. */
	for (i = 0; i < g.packs.n; i++) {
		for (e = 0; e < sizeof ext / sizeof ext[0]; e++) {
			snprintf(path, sizeof path, "%s/objects/pack/%s%s",
			    gitdir, g.packs.v[i], ext[e]);
			unlink(path);
		}
		st->removed_packs++;
	}
	for (i = 0; i < g.loose.n; i++) {
		snprintf(path, sizeof path, "%s/objects/%.2s/%s", gitdir,
		    g.loose.v[i], g.loose.v[i] + 2);
		if (unlink(path) == 0)
			st->removed_loose++;
		snprintf(path, sizeof path, "%s/objects/%.2s", gitdir,
		    g.loose.v[i]);
		rmdir(path);	/* only if it is empty now */
	}
	snprintf(path, sizeof path, "%s/%s", gitdir, GARBAGE_FILE);
	unlink(path);
	if (git_repository_odb(&odb, repo) == 0)
		git_odb_refresh(odb);
	r = 0;
out:
	git_odb_free(odb);
	git_odb_free(k.packs);
	garbage_free(&g);
	return r;
}

static int
oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* The maintained pack whose tips the wants are, if any (see header). */
struct cover {
	const char	*gitdir;
	git_oid		*wants;		/* sorted, unique */
	unsigned char	*hit;		/* per want: a tip of this pack */
	size_t		 nwants;
	char		*found;
	size_t		 foundsz;
};

static int
cover_cb(void *arg, const char *name)
{
	struct cover *c = arg;
	char path[4400], *buf, *line, *save = NULL, *sp;
	const git_oid *w;
	struct stat sb;
	size_t i;
	git_oid id;
	int ok = 1;

	snprintf(path, sizeof path, "%s/objects/pack/%s.tips", c->gitdir,
	    name);
	if ((buf = read_small(path, (size_t)AG_MAINTAIN_MAX_TIPS * 1100)) ==
	    NULL)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line != NULL && ok;
	    line = strtok_r(NULL, "\n", &save)) {
		int wanted;

		if ((sp = strchr(line, ' ')) == NULL ||
		    git_oid_fromstrn(&id, line, GIT_OID_HEXSZ) < 0) {
			ok = 0;
			break;
		}
		w = bsearch(&id, c->wants, c->nwants, sizeof id, oid_cmp);
		wanted = w != NULL;
		if (wanted)
			c->hit[w - c->wants] = 1;
		/* Every branch and tag tip is wanted (or the pack is big). */
		if (!wanted && (strncmp(sp + 1, "refs/heads/", 11) == 0 ||
		    strncmp(sp + 1, "refs/tags/", 10) == 0))
			ok = 0;
	}
	free(buf);
	/* ... and every want is a tip: the pack holds all they reach. */
	for (i = 0; i < c->nwants && ok; i++)
		if (!c->hit[i])
			ok = 0;
	memset(c->hit, 0, c->nwants);
	if (!ok)
		return 0;
	snprintf(path, sizeof path, "%s/objects/pack/%s.pack", c->gitdir, name);
	if (stat(path, &sb) < 0)
		return 0;
	snprintf(c->found, c->foundsz, "%s", path);
	return 1;
}

int
ag_maintain_covering_pack(char *path, size_t pathsz, git_repository *repo,
    const git_oid *wants, size_t nwants)
{
	struct cover c;
	size_t i, j;
	int r;

	if (nwants == 0 || nwants > AG_MAINTAIN_MAX_TIPS)
		return 0;
	memset(&c, 0, sizeof c);
	if ((c.wants = malloc(nwants * sizeof *c.wants)) == NULL ||
	    (c.hit = calloc(nwants, 1)) == NULL) {
		free(c.wants);
		return 0;
	}
	memcpy(c.wants, wants, nwants * sizeof *c.wants);
	qsort(c.wants, nwants, sizeof *c.wants, oid_cmp);
	for (i = j = 0; i < nwants; i++)
		if (j == 0 || !git_oid_equal(&c.wants[j - 1], &c.wants[i]))
			git_oid_cpy(&c.wants[j++], &c.wants[i]);
	c.nwants = j;
	c.gitdir = git_repository_path(repo);
	c.found = path;
	c.foundsz = pathsz;
	r = each_pack(c.gitdir, cover_cb, &c);
	free(c.wants);
	free(c.hit);
	return r == 1;
}

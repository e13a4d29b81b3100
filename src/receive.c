/*
 * receive-pack: commands and push options parsed with limits, the pack
 * indexed into quarantine, refs checked and moved by compare-and-swap
 * under the repository's ref lock, and the report sent back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2/sys/odb_backend.h>

#include "auger/fsck.h"
#include "auger/oidset.h"
#include "auger/packscan.h"
#include "auger/reach.h"
#include "auger/receive.h"

struct ag_receive_ctx {
	struct ag_pkt_writer	*w;
	int			 band;	/* side-band-64k in use */
};

static const git_oid zero_oid;

void
ag_receive_req_free(struct ag_receive_req *req)
{
	size_t i;

	for (i = 0; i < req->n; i++) {
		free(req->cmds[i].ref);
		free(req->cmds[i].error);
	}
	free(req->cmds);
	for (i = 0; i < req->noptions; i++)
		free(req->options[i]);
	free(req->options);
	memset(req, 0, sizeof *req);
}

void
ag_receive_refuse(struct ag_receive_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	if (cmd->error != NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&cmd->error, fmt, ap) < 0)
		cmd->error = NULL;
	va_end(ap);
	if (cmd->error == NULL)
		cmd->error = strdup("refused");
}

void
ag_receive_say(struct ag_receive_ctx *ctx, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (ctx == NULL || !ctx->band)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof buf - 2)
		n = sizeof buf - 2;
	if (n == 0 || buf[n - 1] != '\n')
		buf[n++] = '\n';
	ag_pkt_band(ctx->w, 2, buf, (size_t)n);
}

static const struct {
	const char	*name;
	unsigned	 bit;
} rcaps[] = {
	{ "report-status", AG_RCAP_REPORT_STATUS },
	{ "report-status-v2", AG_RCAP_REPORT_STATUS_V2 },
	{ "delete-refs", AG_RCAP_DELETE_REFS },
	{ "side-band-64k", AG_RCAP_SIDE_BAND_64K },
	{ "quiet", AG_RCAP_QUIET },
	{ "atomic", AG_RCAP_ATOMIC },
	{ "ofs-delta", AG_RCAP_OFS_DELTA },
	{ "push-options", AG_RCAP_PUSH_OPTIONS },
};

static void
parse_caps(struct ag_receive_req *req, const char *p, size_t len)
{
	const char *end = p + len, *e;
	size_t n, i;

	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		for (e = p; e < end && *e != ' '; e++)
			;
		n = (size_t)(e - p);
		if (n > 6 && strncmp(p, "agent=", 6) == 0)
			snprintf(req->agent, sizeof req->agent, "%.*s",
			    (int)(n - 6), p + 6);
		for (i = 0; i < sizeof rcaps / sizeof rcaps[0]; i++)
			if (strlen(rcaps[i].name) == n &&
			    strncmp(rcaps[i].name, p, n) == 0)
				req->caps |= rcaps[i].bit;
		p = e;
	}
}

static int
hex40(git_oid *out, const char *p)
{
	size_t i;

	for (i = 0; i < GIT_OID_HEXSZ; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		    (p[i] >= 'a' && p[i] <= 'f')))
			return -1;
	return git_oid_fromstrn(out, p, GIT_OID_HEXSZ);
}

/* "<old> <new> <ref>[\0<caps>]" */
static int
parse_command(struct ag_receive_req *req, const char *line, size_t len,
    struct ag_err *err)
{
	struct ag_receive_cmd *cmd, *nv;
	const char *ref, *nul;
	size_t reflen;

	if (req->n >= AG_RECEIVE_MAX_COMMANDS)
		return ag_err_set(err, AG_ETOOBIG,
		    "too many ref updates in one push (limit %d)",
		    AG_RECEIVE_MAX_COMMANDS);
	if (len < 2 * GIT_OID_HEXSZ + 3 || line[GIT_OID_HEXSZ] != ' ' ||
	    line[2 * GIT_OID_HEXSZ + 1] != ' ')
		return ag_err_set(err, AG_EINVAL,
		    "bad command line: expected \"<old> <new> <ref>\"");
	nul = memchr(line, '\0', len);
	ref = line + 2 * GIT_OID_HEXSZ + 2;
	if (nul != NULL && nul < ref)
		return ag_err_set(err, AG_EINVAL,
		    "bad command line: NUL before the ref name");
	reflen = (size_t)((nul ? nul : line + len) - ref);
	if (reflen == 0 || memchr(ref, ' ', reflen) != NULL)
		return ag_err_set(err, AG_EINVAL,
		    "bad command line: missing or malformed ref name");
	if (req->n == 0 && nul != NULL)
		parse_caps(req, nul + 1, len - (size_t)(nul + 1 - line));
	if (req->n == req->cap) {
		size_t cap = req->cap ? req->cap * 2 : 8;

		if ((nv = realloc(req->cmds, cap * sizeof *nv)) == NULL)
			return ag_err_set(err, AG_EINTERNAL, "out of memory");
		req->cmds = nv;
		req->cap = cap;
	}
	cmd = &req->cmds[req->n];
	memset(cmd, 0, sizeof *cmd);
	if (hex40(&cmd->old_oid, line) < 0 ||
	    hex40(&cmd->new_oid, line + GIT_OID_HEXSZ + 1) < 0)
		return ag_err_set(err, AG_EINVAL,
		    "bad command line: object ids must be 40 hex digits");
	if ((cmd->ref = strndup(ref, reflen)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	req->n++;
	/* Refused up front, and still answered by name in the report. */
	if (reflen > AG_RECEIVE_MAX_REFNAME)
		ag_receive_refuse(cmd, "ref name of %zu bytes: the limit is %d",
		    reflen, AG_RECEIVE_MAX_REFNAME);
	return 0;
}

int
ag_receive_parse(struct ag_receive_req *req, struct ag_pkt_reader *r,
    struct ag_err *err)
{
	const char *line;
	char **nv;
	size_t len;
	int t;

	for (;;) {
		if ((t = ag_pkt_read(r, &line, &len, 1, err)) < 0)
			return t;
		if (t == AG_PKT_EOF) {
			if (req->n == 0)
				return 0;
			return ag_err_set(err, AG_EINVAL,
			    "request ended inside the command list");
		}
		if (t == AG_PKT_FLUSH)
			break;
		if (t != AG_PKT_DATA)
			return ag_err_set(err, AG_EINVAL,
			    "unexpected special packet in the command list");
		if ((t = parse_command(req, line, len, err)) < 0)
			return t;
	}
	if (req->n == 0 || !(req->caps & AG_RCAP_PUSH_OPTIONS))
		return 0;
	for (;;) {
		if ((t = ag_pkt_read(r, &line, &len, 1, err)) < 0)
			return t;
		if (t == AG_PKT_FLUSH)
			return 0;
		if (t != AG_PKT_DATA)
			return ag_err_set(err, AG_EINVAL,
			    "push options must end with a flush packet");
		if (req->noptions >= AG_RECEIVE_MAX_OPTIONS)
			return ag_err_set(err, AG_ETOOBIG,
			    "too many push options (limit %d)",
			    AG_RECEIVE_MAX_OPTIONS);
		if (len > AG_RECEIVE_MAX_OPTION || strlen(line) != len)
			return ag_err_set(err, AG_EINVAL,
			    "push option longer than %d bytes or holding NUL",
			    AG_RECEIVE_MAX_OPTION);
		nv = realloc(req->options, (req->noptions + 1) * sizeof *nv);
		if (nv == NULL)
			return ag_err_set(err, AG_EINTERNAL, "out of memory");
		req->options = nv;
		if ((nv[req->noptions] = strdup(line)) == NULL)
			return ag_err_set(err, AG_EINTERNAL, "out of memory");
		req->noptions++;
	}
}

/*
 * Removes the quarantine directory and what is in it. Out of descriptors
 * (EMFILE, ENFILE), opendir is retried for up to 5 s, as others'
 * descriptors come free: a quarantine must not outlive its push.
 */
static void
rmtree(const char *path)
{
	struct dirent *de;
	struct stat sb;
	char sub[4096];
	DIR *d;
	int tries = 0;

	/* Empty already: no descriptor needed. */
	if (rmdir(path) == 0 || errno == ENOENT)
		return;
	while ((d = opendir(path)) == NULL && (errno == EMFILE ||
	    errno == ENFILE) && tries++ < 250)
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
			if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
				rmtree(sub);
			else
				unlink(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

/* Removes *.lock files under dir (refs), recursively; the count. */
static int
sweep_locks(const char *dir)
{
	char sub[4400];
	struct dirent *de;
	struct stat sb;
	size_t len;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
		if (lstat(sub, &sb) < 0)
			continue;
		len = strlen(de->d_name);
		if (S_ISDIR(sb.st_mode))
			n += sweep_locks(sub);
		else if (len > 5 && strcmp(de->d_name + len - 5, ".lock") == 0 &&
		    unlink(sub) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int
ag_receive_sweep(const char *repo_path)
{
	static const char *top[] = { "HEAD.lock", "packed-refs.lock",
	    "config.lock", "shallow.lock" };
	char objs[4096], sub[4400];
	struct dirent *de;
	size_t i;
	DIR *d;
	int n = 0;

	/* Ref locks a crash left would refuse every later update. */
	snprintf(sub, sizeof sub, "%s/refs", repo_path);
	n += sweep_locks(sub);
	for (i = 0; i < sizeof top / sizeof top[0]; i++) {
		snprintf(sub, sizeof sub, "%s/%s", repo_path, top[i]);
		if (unlink(sub) == 0)
			n++;
	}

	snprintf(objs, sizeof objs, "%s/objects", repo_path);
	if ((d = opendir(objs)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "incoming-", 9) != 0)
			continue;
		snprintf(sub, sizeof sub, "%s/%s", objs, de->d_name);
		rmtree(sub);
		n++;
	}
	closedir(d);
	return n;
}

/* Cuts the repository's absolute path out of a message for the client. */
static void
scrub_path(char *msg, const char *repo_path)
{
	size_t plen = strlen(repo_path);
	char *p;

	if (plen < 2)
		return;
	while ((p = strstr(msg, repo_path)) != NULL)
		memmove(p, p + plen, strlen(p + plen) + 1);
}

static void
fsync_dir(const char *path)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

struct quarantine {
	char		 dir[4096];	/* objects/incoming-XXXXXX */
	char		 packdir[4096 + 16];
	char		 name[128];	/* pack-<hash>, once indexed */
	unsigned	 nobjects;
	int		 made;
	int		 moved[2];	/* .pack, .idx renamed by us */
};

/* Streams the pack that follows the commands into a quarantine index. */
static int
index_pack(struct quarantine *q, git_repository *repo, git_odb *odb,
    struct ag_pkt_reader *r, const struct ag_receive_opts *o,
    struct ag_err *err)
{
	git_indexer_options io = GIT_INDEXER_OPTIONS_INIT;
	git_indexer_progress st;
	git_indexer *idx = NULL;
	struct ag_packscan *scan = NULL;
	struct ag_packscan_limits lim;
	size_t max_pack = o->max_pack ? o->max_pack : AG_RECEIVE_MAX_PACK;
	size_t max_obj = o->max_objects ? o->max_objects :
	    AG_RECEIVE_MAX_OBJECTS;
	size_t total = 0;
	char *buf = NULL;
	ssize_t used;
	long n;
	int rc = -1;

	snprintf(q->dir, sizeof q->dir, "%s/objects/incoming-XXXXXX",
	    git_repository_path(repo));
	if (mkdtemp(q->dir) == NULL)
		return ag_err_set(err, AG_EIO, "creating quarantine: %s",
		    strerror(errno));
	q->made = 1;
	snprintf(q->packdir, sizeof q->packdir, "%s/pack", q->dir);
	if (mkdir(q->packdir, 0755) < 0)
		return ag_err_set(err, AG_EIO, "creating quarantine: %s",
		    strerror(errno));
	/*
	 * The indexer's own connectivity check asks the repository's odb
	 * about every referenced id, and each miss rescans the pack folder:
	 * seconds for a large push. check_quarantine walks the new objects
	 * instead, with lookups that do not rescan.
	 */
	io.verify = 0;
	memset(&st, 0, sizeof st);
	/*
	 * The scanner sees every byte before the indexer: it refuses a
	 * header count or an object size over the limits before anything
	 * is allocated from them, and finds the pack's own end, where
	 * reading stops (libgit2, dulwich and JGit keep an SSH channel open
	 * after the pack, waiting for the report).
	 */
	lim.max_objects = max_obj;
	lim.max_blob = o->max_blob ? o->max_blob : AG_RECEIVE_MAX_BLOB;
	if (ag_packscan_new(&scan, &lim) < 0)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	if (git_indexer_new(&idx, q->packdir, 0444, odb, &io) < 0) {
		ag_packscan_free(scan);
		return ag_err_git(err, "starting the indexer");
	}
	if ((buf = malloc(65536)) == NULL) {
		rc = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	while (!ag_packscan_done(scan)) {
		if ((n = ag_pkt_read_raw(r, buf, 65536, err)) < 0) {
			rc = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		if ((used = ag_packscan_feed(scan, buf, (size_t)n, err)) < 0) {
			rc = (int)used;
			goto out;
		}
		total += (size_t)used;
		if (total > max_pack) {
			rc = ag_err_set(err, AG_ETOOBIG,
			    "pack is larger than the limit of %zu bytes",
			    max_pack);
			goto out;
		}
		if (used > 0 &&
		    git_indexer_append(idx, buf, (size_t)used, &st) < 0) {
			rc = ag_err_git(err, "unpacking");
			goto out;
		}
	}
	if (total == 0) {
		rc = ag_err_set(err, AG_EINVAL, "no pack data after the "
		    "commands");
		goto out;
	}
	if ((rc = ag_packscan_end(scan, err)) < 0)
		goto out;
	rc = -1;
	if (git_indexer_commit(idx, &st) < 0) {
		rc = ag_err_git(err, "unpacking");
		goto out;
	}
	q->nobjects = st.total_objects;
	snprintf(q->name, sizeof q->name, "pack-%s", git_indexer_name(idx));
	rc = 0;
out:
	free(buf);
	git_indexer_free(idx);
	ag_packscan_free(scan);
	return rc;
}

/* Moves the quarantined pack into objects/pack (.pack before .idx). */
static int
migrate(struct quarantine *q, git_repository *repo, struct ag_err *err)
{
	static const char *ext[] = { ".pack", ".idx" };
	char from[4096 + 200], to[4096 + 200], dest[4096];
	struct stat sb;
	int i;

	if (q->nobjects == 0)
		return 0;
	snprintf(dest, sizeof dest, "%s/objects/pack",
	    git_repository_path(repo));
	for (i = 0; i < 2; i++) {
		snprintf(from, sizeof from, "%s/%s%s", q->packdir, q->name,
		    ext[i]);
		snprintf(to, sizeof to, "%s/%s%s", dest, q->name, ext[i]);
		if (stat(to, &sb) == 0)
			continue;	/* the very same pack is there */
		if (rename(from, to) < 0)
			return ag_err_set(err, AG_EIO, "moving %s%s into "
			    "objects/pack: %s", q->name, ext[i],
			    strerror(errno));
		q->moved[i] = 1;
	}
	fsync_dir(dest);
	return 0;
}

/*
 * Takes back a migrated pack when no ref came to point into it: the
 * ref lock is still held, so nothing reachable can depend on it.
 */
static void
unmigrate(struct quarantine *q, git_repository *repo)
{
	static const char *ext[] = { ".idx", ".pack" };
	char path[4096 + 200];
	int i;

	for (i = 0; i < 2; i++) {
		if (!q->moved[1 - i])
			continue;
		snprintf(path, sizeof path, "%s/objects/pack/%s%s",
		    git_repository_path(repo), q->name, ext[i]);
		unlink(path);
		q->moved[1 - i] = 0;
	}
}

/*
 * git fsck's checks on every pushed object (receive.fsckObjects): trees,
 * commits and tags here, the .gitmodules and .gitattributes blobs that
 * trees name afterwards, read from the repository as the push would leave
 * it (a new tree may name a blob that is already there).
 */
struct fsck_walk {
	git_odb		*qodb;	/* the quarantine's own objects */
	git_odb		*all;	/* the repository and the quarantine */
	struct ag_fsck	*f;
	struct ag_err	*err;
	git_odb_object	*last;	/* the blob fsck_read handed out */
};

static int
fsck_cb(const git_oid *id, void *payload)
{
	struct fsck_walk *fw = payload;
	git_odb_object *obj = NULL;
	git_object_t type;
	size_t size;
	int r;

	/* The header only: reading every blob whole would cost the push. */
	if (git_odb_read_header(&size, &type, fw->qodb, id) < 0) {
		git_error_clear();
		return 0;
	}
	if (type == GIT_OBJECT_BLOB)
		return 0;
	if (git_odb_read(&obj, fw->qodb, id) < 0) {
		ag_err_git(fw->err, "reading a pushed object");
		return -1;
	}
	r = ag_fsck_object(fw->f, id, type, git_odb_object_data(obj),
	    git_odb_object_size(obj), fw->err);
	git_odb_object_free(obj);
	return r < 0 ? 1 : 0;
}

static int
fsck_read(void *arg, const git_oid *id, const void **data, size_t *len)
{
	struct fsck_walk *fw = arg;
	git_object_t type;
	size_t size;

	git_odb_object_free(fw->last);
	fw->last = NULL;
	if (git_odb_read_header(&size, &type, fw->all, id) < 0) {
		git_error_clear();
		return 1;
	}
	if (type != GIT_OBJECT_BLOB)
		return 2;
	if (git_odb_read(&fw->last, fw->all, id) < 0) {
		git_error_clear();
		return AG_EGIT;
	}
	*data = git_odb_object_data(fw->last);
	*len = git_odb_object_size(fw->last);
	return 0;
}

/*
 * Connectivity of one pushed tip: every object it reaches is in the
 * repository already (which is complete) or in the quarantine, where it is
 * read and followed. Lookups in the repository do not rescan its packs.
 */
struct conn_check {
	git_odb	*odb;	/* the repository */
	git_odb	*qodb;	/* the quarantine */
};

static int
connected_visit(void *arg, const git_oid *id, git_object_t hint)
{
	struct conn_check *cc = arg;
	git_object_t type;
	size_t size;

	(void)hint;
	if (git_odb_exists_ext(cc->odb, id, GIT_ODB_LOOKUP_NO_REFRESH))
		return AG_REACH_SKIP;
	if (git_odb_read_header(&size, &type, cc->qodb, id) < 0) {
		git_error_clear();
		return AG_REACH_MISSING;
	}
	return type == GIT_OBJECT_BLOB ? AG_REACH_SKIP : AG_REACH_FOLLOW;
}

/* 0 connected, 1 missing, <0 error. */
static int
connected(git_repository *qrepo, git_odb *odb, git_odb *qodb,
    const git_oid *tip)
{
	struct conn_check cc = { odb, qodb };

	return ag_reach_walk(qrepo, tip, 1, connected_visit, &cc, NULL);
}

static int
check_quarantine(struct quarantine *q, git_repository *qrepo, git_odb *odb,
    struct ag_receive_req *req, struct ag_err *err)
{
	struct fsck_walk fw;
	git_odb *qodb = NULL, *all = NULL;
	git_odb_backend *be = NULL;
	size_t i;
	int rc;

	if (q->nobjects == 0)
		return 0;
	if (git_odb_new(&qodb) < 0 || git_odb_backend_pack(&be, q->dir) < 0 ||
	    git_odb_add_backend(qodb, be, 1) < 0) {
		if (be != NULL && qodb == NULL)
			be->free(be);
		git_odb_free(qodb);
		return ag_err_git(err, "reading quarantine");
	}
	memset(&fw, 0, sizeof fw);
	if (git_repository_odb(&all, qrepo) < 0 || ag_fsck_new(&fw.f) < 0) {
		git_odb_free(all);
		git_odb_free(qodb);
		return ag_err_set(err, AG_EINTERNAL, "starting fsck");
	}
	fw.qodb = qodb;
	fw.all = all;
	fw.err = err;
	rc = git_odb_foreach(qodb, fsck_cb, &fw);
	if (rc == 0)
		rc = ag_fsck_finish(fw.f, fsck_read, &fw, err);
	else if (rc != 1 && err->code == 0)
		ag_err_git(err, "checking pushed objects");
	git_odb_object_free(fw.last);
	ag_fsck_free(fw.f);
	git_odb_free(all);
	if (rc != 0) {
		git_odb_free(qodb);
		return err->code != 0 ? err->code : AG_EINVAL;
	}
	for (i = 0; i < req->n; i++) {
		struct ag_receive_cmd *c = &req->cmds[i];

		if (c->error != NULL || git_oid_equal(&c->new_oid, &zero_oid))
			continue;
		if ((rc = connected(qrepo, odb, qodb, &c->new_oid)) == 1)
			ag_receive_refuse(c, "missing necessary objects");
		else if (rc < 0) {
			git_odb_free(qodb);
			return ag_err_git(err, "checking connectivity");
		}
	}
	git_odb_free(qodb);
	return 0;
}

/* Ref name rules of git check-ref-format, plus: no part starts with '-'. */
static int
refname_ok(const char *name)
{
	const char *p;
	int valid = 0;

	if (strncmp(name, "refs/", 5) != 0)
		return 0;
	if (git_reference_name_is_valid(&valid, name) < 0 || !valid)
		return 0;
	for (p = name; (p = strchr(p, '/')) != NULL; p++)
		if (p[1] == '-')
			return 0;
	return 1;
}

/* Whether cmds other than skip delete ref name. */
static int
deleted_here(const struct ag_receive_req *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->n; i++)
		if (strcmp(req->cmds[i].ref, name) == 0 &&
		    git_oid_equal(&req->cmds[i].new_oid, &zero_oid))
			return 1;
	return 0;
}

/*
 * A ref "a/b" cannot live beside a ref "a" (one is a file where the
 * other needs a folder): refused here, before anything is migrated,
 * rather than failing when the ref is written.
 */
static int
df_conflict(git_repository *repo, const struct ag_receive_req *req,
    const struct ag_receive_cmd *c)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	char buf[AG_RECEIVE_MAX_REFNAME + 8], *p;
	size_t i, len = strlen(c->ref);
	int bad = 0;

	if (len + 3 > sizeof buf)
		return 1;
	memcpy(buf, c->ref, len + 1);
	/* A parent path that is a ref (and stays one). */
	for (p = buf + 5; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (git_reference_lookup(&ref, repo, buf) == 0 &&
		    !deleted_here(req, buf))
			bad = 1;
		git_reference_free(ref);
		ref = NULL;
		*p = '/';
		if (bad)
			goto out;
	}
	/* A ref under this name, as if it were a folder. */
	memcpy(buf + len, "/*", 3);
	if (git_reference_iterator_glob_new(&it, repo, buf) == 0) {
		const char *name;

		while (!bad && git_reference_next_name(&name, it) == 0)
			if (!deleted_here(req, name))
				bad = 1;
	}
	/* The same between two refs this push creates. */
	for (i = 0; i < req->n && !bad; i++) {
		const char *o = req->cmds[i].ref;
		size_t olen = strlen(o);

		if (&req->cmds[i] == c ||
		    git_oid_equal(&req->cmds[i].new_oid, &zero_oid))
			continue;
		if ((olen < len && strncmp(c->ref, o, olen) == 0 &&
		    c->ref[olen] == '/') || (len < olen &&
		    strncmp(o, c->ref, len) == 0 && o[len] == '/'))
			bad = 1;
	}
out:
	git_reference_iterator_free(it);
	git_error_clear();
	return bad;
}

/* The checks git's receive-pack makes before any ref moves. */
static void
check_commands(git_repository *qrepo, struct ag_receive_req *req,
    const struct ag_receive_opts *o)
{
	git_reference *head = NULL, *cur = NULL;
	const char *head_target = NULL;
	git_object_t type;
	git_odb *odb = NULL;
	size_t i, j, size;

	if (git_reference_lookup(&head, qrepo, "HEAD") == 0 &&
	    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC)
		head_target = git_reference_symbolic_target(head);
	git_repository_odb(&odb, qrepo);
	for (i = 0; i < req->n; i++) {
		struct ag_receive_cmd *c = &req->cmds[i];
		int is_delete = git_oid_equal(&c->new_oid, &zero_oid);
		int is_create = git_oid_equal(&c->old_oid, &zero_oid);
		const git_oid *now;

		if (c->error != NULL)
			continue;
		if (!refname_ok(c->ref)) {
			ag_receive_refuse(c, "funny refname");
			continue;
		}
		for (j = 0; j < req->n; j++)
			if (j != i && strcmp(req->cmds[j].ref, c->ref) == 0)
				break;
		if (j < req->n) {
			ag_receive_refuse(c, "duplicate ref update in one "
			    "push");
			continue;
		}
		if (strncmp(c->ref, "refs/tags/", 10) == 0 && !is_create &&
		    o->immutable_tags) {
			ag_receive_refuse(c, "tags may only be created: moving "
			    "or deleting a tag takes an admin credential");
			continue;
		}
		if (is_delete && o->no_branch_deletes &&
		    strncmp(c->ref, "refs/tags/", 10) != 0) {
			ag_receive_refuse(c, "deleting a branch of this "
			    "repository takes an admin credential");
			continue;
		}
		if (!is_delete && df_conflict(qrepo, req, c)) {
			ag_receive_refuse(c, "ref name conflicts with an "
			    "existing ref (one would be a folder of the "
			    "other)");
			continue;
		}
		if (is_delete && head_target != NULL &&
		    strcmp(head_target, c->ref) == 0) {
			ag_receive_refuse(c,
			    "deletion of the current branch prohibited");
			continue;
		}
		if (!is_delete) {
			if (odb == NULL || git_odb_read_header(&size, &type,
			    odb, &c->new_oid) < 0) {
				ag_receive_refuse(c, "missing necessary objects");
				git_error_clear();
				continue;
			}
			if (strncmp(c->ref, "refs/heads/", 11) == 0 &&
			    type != GIT_OBJECT_COMMIT) {
				ag_receive_refuse(c,
				    "branches must point to commits");
				continue;
			}
		}
		/* Compare with where the ref is now (the lock is held). */
		now = NULL;
		if (git_reference_lookup(&cur, qrepo, c->ref) == 0)
			now = git_reference_target(cur);
		git_error_clear();
		if (is_create ? now != NULL :
		    now == NULL || !git_oid_equal(now, &c->old_oid)) {
			ag_receive_refuse(c,
			    "stale info: the ref changed since it was "
			    "advertised; fetch first");
		} else if (!is_create && !is_delete && !o->allow_force &&
		    git_graph_descendant_of(qrepo, &c->new_oid,
		    &c->old_oid) != 1) {
			git_error_clear();
			ag_receive_refuse(c, "non-fast-forward (only admin "
			    "credentials may force-push)");
		}
		git_reference_free(cur);
		cur = NULL;
	}
	git_odb_free(odb);
	git_reference_free(head);
}

/* Moves one ref by compare-and-swap; returns 0 or a libgit2 error. */
static int
move_ref(git_repository *repo, const git_oid *old, const git_oid *new,
    const char *name)
{
	git_reference *ref = NULL;
	int rc;

	if (git_oid_equal(new, &zero_oid)) {
		if ((rc = git_reference_lookup(&ref, repo, name)) < 0)
			return rc;
		if (!git_oid_equal(git_reference_target(ref), old))
			rc = GIT_EMODIFIED;
		else
			rc = git_reference_delete(ref);
	} else if (git_oid_equal(old, &zero_oid))
		rc = git_reference_create(&ref, repo, name, new, 0, "push");
	else
		rc = git_reference_create_matching(&ref, repo, name, new, 1,
		    old, "push");
	git_reference_free(ref);
	return rc;
}

/* Bytes of reason that fit in one pkt-line after "ng <ref> ". */
static int
report_room(const char *ref)
{
	size_t used = strlen(ref) + 5;

	if (used >= AG_PKT_DATA_MAX)
		return 0;
	return AG_PKT_DATA_MAX - used > 4096 ? 4096 :
	    (int)(AG_PKT_DATA_MAX - used);
}

static void
report(struct ag_pkt_writer *w, const struct ag_receive_req *req,
    const char *unpack_err, int band)
{
	struct ag_pkt_writer *rw = w, *inner = NULL;
	struct ag_io io;
	struct ag_io_buf b;
	size_t i;

	if (!(req->caps & (AG_RCAP_REPORT_STATUS | AG_RCAP_REPORT_STATUS_V2)))
		return;
	/* With side-band the report, itself pkt-lines, rides on band 1. */
	if (band) {
		if ((inner = malloc(sizeof *inner)) == NULL)
			return;
		ag_io_buf_init(&io, &b);
		ag_pkt_writer_init(inner, &io);
		rw = inner;
	}
	ag_pkt_printf(rw, "unpack %s\n", unpack_err ? unpack_err : "ok");
	for (i = 0; i < req->n; i++) {
		const struct ag_receive_cmd *c = &req->cmds[i];
		const char *e = c->error;

		if (unpack_err != NULL && e == NULL)
			e = "unpacker error";
		/* Every line fits one pkt-line, inside band 1's frame. */
		if (e == NULL)
			ag_pkt_printf(rw, "ok %s\n", c->ref);
		else
			ag_pkt_printf(rw, "ng %s %.*s\n", c->ref,
			    report_room(c->ref), e);
	}
	ag_pkt_flush(rw);
	if (band) {
		if (ag_pkt_push(inner) == 0)
			ag_pkt_band(w, 1, b.p, b.len);
		ag_pkt_flush(w);
		free(b.p);
		free(inner);
	}
}

int
ag_receive_pack(git_repository *repo, struct ag_io *io,
    const struct ag_receive_opts *o, size_t *updated, struct ag_err *err)
{
	struct ag_pkt_reader *r = NULL;
	struct ag_pkt_writer *w = NULL;
	struct ag_receive_req req;
	struct ag_receive_ctx ctx;
	struct quarantine q;
	git_repository *qrepo = NULL;
	git_odb *odb = NULL, *qodb = NULL;
	struct ag_err perr = { 0, "" };
	size_t i, done = 0, accepted;
	int rc = -1, need_pack = 0, locked = 0, band, prune_locked = 0;

	*updated = 0;
	memset(&req, 0, sizeof req);
	memset(&q, 0, sizeof q);
	if ((r = malloc(sizeof *r)) == NULL || (w = malloc(sizeof *w)) == NULL) {
		free(r);
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	ag_pkt_reader_init(r, io, 0);
	ag_pkt_writer_init(w, io);
	if ((rc = ag_receive_parse(&req, r, err)) < 0) {
		ag_pkt_printf(w, "ERR %s\n", err->msg);
		ag_pkt_push(w);
		goto out;
	}
	if (req.n == 0) {	/* no commands: git's "0000" probe */
		rc = 0;
		goto out;
	}
	band = (req.caps & AG_RCAP_SIDE_BAND_64K) != 0;
	ctx.w = w;
	ctx.band = band;
	for (i = 0; i < req.n; i++)
		if (!git_oid_equal(&req.cmds[i].new_oid, &zero_oid))
			need_pack = 1;
	if (git_repository_odb(&odb, repo) < 0) {
		rc = ag_err_git(err, "opening odb");
		goto out;
	}
	if (need_pack &&
	    index_pack(&q, repo, odb, r, o, &perr) < 0) {
		/* The whole push fails; nothing was written outside q. */
		scrub_path(perr.msg, git_repository_path(repo));
		report(w, &req, perr.msg, band);
		ag_pkt_push(w);
		ag_err_set(err, perr.code, "%s", perr.msg);
		rc = 0;
		goto out;
	}
	/*
	 * From the connectivity check until the refs moved, maintenance
	 * may not remove objects the check found in the repository.
	 */
	if (o->prune_lock != NULL) {
		pthread_rwlock_rdlock(o->prune_lock);
		prune_locked = 1;
	}
	/* A repository that sees the quarantined objects too. */
	if (git_repository_open_bare(&qrepo, git_repository_path(repo)) < 0 ||
	    git_repository_odb(&qodb, qrepo) < 0 ||
	    (q.made && git_odb_add_disk_alternate(qodb, q.dir) < 0)) {
		rc = ag_err_git(err, "opening quarantine");
		goto out;
	}
	if (check_quarantine(&q, qrepo, odb, &req, &perr) < 0) {
		scrub_path(perr.msg, git_repository_path(repo));
		/* "ng <ref> <fsck msg id>: <what>" for every ref. */
		for (i = 0; i < req.n; i++)
			ag_receive_refuse(&req.cmds[i], "%s", perr.msg);
		report(w, &req, perr.msg, band);
		ag_pkt_push(w);
		ag_err_set(err, perr.code, "%s", perr.msg);
		rc = 0;
		goto out;
	}
	if (o->ref_lock != NULL) {
		pthread_mutex_lock(o->ref_lock);
		locked = 1;
	}
	check_commands(qrepo, &req, o);
	if (o->check != NULL)
		o->check(o->check_arg, qrepo, &req, &ctx);
	accepted = 0;
	for (i = 0; i < req.n; i++)
		if (req.cmds[i].error == NULL)
			accepted++;
	if ((req.caps & AG_RCAP_ATOMIC) && accepted != req.n) {
		for (i = 0; i < req.n; i++)
			ag_receive_refuse(&req.cmds[i], "atomic push failure");
		accepted = 0;
	}
	if (accepted > 0 && migrate(&q, repo, &perr) < 0) {
		for (i = 0; i < req.n; i++)
			ag_receive_refuse(&req.cmds[i], "%s", perr.msg);
		accepted = 0;
	}
	if (accepted > 0)
		git_odb_refresh(odb);
	for (i = 0; i < req.n && accepted > 0; i++) {
		struct ag_receive_cmd *c = &req.cmds[i];

		if (c->error != NULL)
			continue;
		if (move_ref(repo, &c->old_oid, &c->new_oid, c->ref) < 0) {
			const git_error *ge = git_error_last();
			char msg[512];

			snprintf(msg, sizeof msg, "%s",
			    ge && ge->message ? ge->message : "unknown");
			scrub_path(msg, git_repository_path(repo));
			ag_receive_refuse(c, "failed to update ref: %s", msg);
			git_error_clear();
			if (req.caps & AG_RCAP_ATOMIC) {
				/* Put back what already moved. */
				size_t j;

				for (j = 0; j < i; j++) {
					struct ag_receive_cmd *b = &req.cmds[j];

					move_ref(repo, &b->new_oid, &b->old_oid,
					    b->ref);
					ag_receive_refuse(b,
					    "atomic push failure");
				}
				done = 0;
				break;
			}
			continue;
		}
		done++;
	}
	/* Nothing points into what was migrated: take it back. */
	if (done == 0)
		unmigrate(&q, repo);
	if (locked) {
		pthread_mutex_unlock(o->ref_lock);
		locked = 0;
	}
	if (prune_locked) {
		pthread_rwlock_unlock(o->prune_lock);
		prune_locked = 0;
	}
	*updated = done;
	/* Caches follow the refs before the report ends (DESIGN.md). */
	if (done > 0 && o->moved != NULL)
		o->moved(o->moved_arg, repo);
	if (done > 0 && o->post != NULL)
		o->post(o->post_arg, repo, &req, &ctx);
	report(w, &req, NULL, band);
	if (ag_pkt_push(w) < 0) {
		rc = ag_err_set(err, AG_EIO, "client went away");
		goto out;
	}
	rc = 0;
out:
	if (prune_locked)
		pthread_rwlock_unlock(o->prune_lock);
	if (locked)
		pthread_mutex_unlock(o->ref_lock);
	git_odb_free(qodb);
	git_repository_free(qrepo);
	git_odb_free(odb);
	if (q.made) {
		rmtree(q.packdir);	/* then q.dir is empty: no opendir */
		rmtree(q.dir);
	}
	ag_receive_req_free(&req);
	free(r);
	free(w);
	return rc;
}

/*
 * The LMDB index: one environment, named sub-databases, small records.
 *
 * The map grows when it fills: a write transaction keeps its writes, and
 * on MDB_MAP_FULL it is aborted, the map is doubled and the writes are
 * replayed in a fresh transaction. mdb_env_set_mapsize needs no
 * transaction of this process open, so read transactions hold maplock
 * shared, a growth holds it alone, and wlock keeps one write transaction
 * at a time in the process (LMDB's own writer lock does the same across
 * processes). A growth by another process shows up as MDB_MAP_RESIZED,
 * which is adopted the same way.
 */
#include <errno.h>
#include <sys/statvfs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>

#include "auger/store.h"

/* "meta" stays last: ag_store_open writes the schema version there. */
static const char *dbnames[] = {
	"envs", "releases", "release_log", "artifacts", "artifacts_by_sha",
	"artifacts_by_time", "commits", "tokens", "keys", "meta"
};
#define NDB (sizeof dbnames / sizeof dbnames[0])

/* Writes a transaction keeps for a replay; past this it cannot grow. */
#define STORE_REPLAY_MAX	((size_t)256 << 20)

struct ag_store {
	MDB_env		*env;
	MDB_dbi		 dbi[NDB];
	pthread_rwlock_t maplock;	/* read txns shared, growth alone */
	pthread_mutex_t	 wlock;		/* one write txn in this process */
	size_t		 mapsize;
	ag_store_log_fn	 log;
	void		*log_arg;
};

static void
store_log(struct ag_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
store_log(struct ag_store *st, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (st->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	st->log(st->log_arg, msg);
}

static int
lmdb_err(struct ag_err *err, int rc, const char *what)
{
	if (rc == ENOSPC || rc == EDQUOT)
		return ag_err_set(err, AG_ENOSPACE, "no space left on device "
		    "(%s: %s)", what, mdb_strerror(rc));
	return ag_err_set(err, AG_ESTORE, "%s: %s", what, mdb_strerror(rc));
}

/*
 * LMDB reports a write that ran out of space as EIO (its msync or
 * write path): with under 256 KiB left on the index's file system, that
 * is a full disk, and is said so.
 */
static int
disk_full(struct ag_store *st, int rc)
{
	struct statvfs vs;
	mdb_filehandle_t fd;

	if (rc != EIO || mdb_env_get_fd(st->env, &fd) != 0 ||
	    fstatvfs(fd, &vs) != 0)
		return rc;
	return (unsigned long long)vs.f_bavail * vs.f_frsize < 256 * 1024 ?
	    ENOSPC : rc;
}

static int
dbi_of(struct ag_store *st, const char *db, MDB_dbi *out, struct ag_err *err)
{
	size_t i;

	for (i = 0; i < NDB; i++)
		if (strcmp(dbnames[i], db) == 0) {
			*out = st->dbi[i];
			return 0;
		}
	return ag_err_set(err, AG_EINTERNAL, "no database \"%s\"", db);
}

/*
 * Sets the map to size (0: adopt what another process set). The caller
 * holds wlock and has no transaction open; read transactions of other
 * threads get AG_STORE_GROW_WAIT seconds to end.
 */
static int
set_map_locked(struct ag_store *st, size_t size, struct ag_err *err)
{
	struct timespec until;
	MDB_envinfo info;
	int rc;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += AG_STORE_GROW_WAIT;
	if ((rc = pthread_rwlock_timedwrlock(&st->maplock, &until)) != 0)
		return ag_err_set(err, AG_ESTORE, "index map: read transactions "
		    "still open after %d s, cannot resize (%s)",
		    AG_STORE_GROW_WAIT, strerror(rc));
	rc = mdb_env_set_mapsize(st->env, size);
	if (rc == 0 && mdb_env_info(st->env, &info) == 0)
		st->mapsize = info.me_mapsize;
	pthread_rwlock_unlock(&st->maplock);
	if (rc != 0)
		return lmdb_err(err, rc, "resizing the index map");
	return 0;
}

/* Adopts a map another process grew (MDB_MAP_RESIZED); takes wlock. */
static int
adopt_map(struct ag_store *st, struct ag_err *err)
{
	size_t was = st->mapsize;
	int r;

	pthread_mutex_lock(&st->wlock);
	r = set_map_locked(st, 0, err);
	pthread_mutex_unlock(&st->wlock);
	if (r == 0 && st->mapsize != was)
		store_log(st, "index map: another process resized it from %zu "
		    "to %zu bytes", was, st->mapsize);
	return r;
}

/* A read transaction, holding maplock shared until rd_end. */
static int
rd_begin(struct ag_store *st, MDB_txn **txn, struct ag_err *err)
{
	int rc, tries;

	for (tries = 0; tries < 3; tries++) {
		pthread_rwlock_rdlock(&st->maplock);
		rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&st->maplock);
		if (rc != MDB_MAP_RESIZED)
			break;
		if (adopt_map(st, err) < 0)
			return AG_ESTORE;
	}
	return lmdb_err(err, rc, "index read");
}

static void
rd_end(struct ag_store *st, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&st->maplock);
}

/* A write transaction, holding wlock until wr_end. */
static int
wr_begin(struct ag_store *st, MDB_txn **txn, struct ag_err *err)
{
	int rc, tries;

	pthread_mutex_lock(&st->wlock);
	for (tries = 0; tries < 3; tries++) {
		rc = mdb_txn_begin(st->env, NULL, 0, txn);
		if (rc != MDB_MAP_RESIZED)
			break;
		if (set_map_locked(st, 0, err) < 0) {
			pthread_mutex_unlock(&st->wlock);
			return AG_ESTORE;
		}
	}
	if (rc != 0) {
		pthread_mutex_unlock(&st->wlock);
		return lmdb_err(err, rc, "index transaction");
	}
	return 0;
}

int
ag_store_open(struct ag_store **out, const char *dir, struct ag_err *err)
{
	return ag_store_open_sized(out, dir, 0, NULL, NULL, err);
}

int
ag_store_open_sized(struct ag_store **out, const char *dir, size_t mapsize,
    ag_store_log_fn log, void *log_arg, struct ag_err *err)
{
	struct ag_store *st;
	MDB_txn *txn = NULL;
	MDB_envinfo info;
	MDB_val k, v;
	size_t i;
	int rc, locks = 0;

	*out = NULL;
	if (mapsize == 0)
		mapsize = AG_STORE_MAP_DEFAULT;
	if (mapsize < AG_STORE_MAP_MIN || mapsize > AG_STORE_MAP_MAX)
		return ag_err_set(err, AG_EINVAL, "index size %zu is outside "
		    "%zu..%zu bytes", mapsize, AG_STORE_MAP_MIN,
		    AG_STORE_MAP_MAX);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return ag_err_set(err, errno == ENOSPC || errno == EDQUOT ?
		    AG_ENOSPACE : AG_EIO, "mkdir %s: %s", dir, strerror(errno));
	if ((st = calloc(1, sizeof *st)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	st->log = log;
	st->log_arg = log_arg;
	if (pthread_rwlock_init(&st->maplock, NULL) != 0 ||
	    pthread_mutex_init(&st->wlock, NULL) != 0) {
		free(st);
		return ag_err_set(err, AG_EINTERNAL, "cannot create locks");
	}
	locks = 1;
	/* A map smaller than the data is raised to it by LMDB (and grows). */
	if ((rc = mdb_env_create(&st->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(st->env, 16)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->env, mapsize)) != 0 ||
	    (rc = mdb_env_set_maxreaders(st->env, 256)) != 0 ||
	    (rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600)) != 0) {
		lmdb_err(err, rc, "opening the index");
		goto fail;
	}
	st->mapsize = mdb_env_info(st->env, &info) == 0 ? info.me_mapsize :
	    mapsize;
	if ((rc = wr_begin(st, &txn, err)) < 0)
		goto fail;
	for (i = 0; i < NDB; i++)
		if ((rc = mdb_dbi_open(txn, dbnames[i], MDB_CREATE,
		    &st->dbi[i])) != 0) {
			lmdb_err(err, rc, "opening the index");
			goto fail;
		}
	k.mv_data = "schema";
	k.mv_size = 6;
	v.mv_data = AG_STORE_SCHEMA;
	v.mv_size = strlen(AG_STORE_SCHEMA);
	rc = mdb_put(txn, st->dbi[NDB - 1], &k, &v, MDB_NOOVERWRITE);
	if (rc != 0 && rc != MDB_KEYEXIST) {
		lmdb_err(err, rc, "writing the schema version");
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	pthread_mutex_unlock(&st->wlock);
	if (rc != 0) {
		lmdb_err(err, rc, "opening the index");
		goto fail;
	}
	*out = st;
	return 0;
fail:
	if (txn != NULL) {
		mdb_txn_abort(txn);
		pthread_mutex_unlock(&st->wlock);
	}
	if (st->env != NULL)
		mdb_env_close(st->env);
	if (locks) {
		pthread_rwlock_destroy(&st->maplock);
		pthread_mutex_destroy(&st->wlock);
	}
	free(st);
	return err != NULL && err->code != 0 ? err->code : AG_ESTORE;
}

void
ag_store_close(struct ag_store *st)
{
	if (st == NULL)
		return;
	mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->maplock);
	pthread_mutex_destroy(&st->wlock);
	free(st);
}

size_t
ag_store_map_size(struct ag_store *st)
{
	return st->mapsize;
}

int
ag_store_parse_size(size_t *out, const char *s)
{
	unsigned long long v = 0, mul = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (~0ULL - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	switch (*p) {
	case 'k': case 'K': mul = 1ULL << 10; p++; break;
	case 'm': case 'M': mul = 1ULL << 20; p++; break;
	case 'g': case 'G': mul = 1ULL << 30; p++; break;
	case 't': case 'T': mul = 1ULL << 40; p++; break;
	}
	if (mul > 1 && (strcmp(p, "iB") == 0 || strcmp(p, "B") == 0))
		p += strlen(p);
	else if (mul == 1 && strcmp(p, "B") == 0)
		p++;
	if (*p != '\0' || v == 0 || v > (unsigned long long)SIZE_MAX / mul)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}

/* One write of a transaction, kept so that a growth can replay it. */
enum { OP_PUT, OP_DEL, OP_DROP };

struct op {
	int		 kind;
	MDB_dbi		 dbi;
	unsigned	 flags;
	size_t		 klen, vlen;
	unsigned char	*key, *val;
};

struct ag_store_txn {
	struct ag_store	*st;
	MDB_txn		*txn;		/* NULL after a failed commit */
	int		 rdonly;
	size_t		 id;		/* LMDB's txn id, for the replay check */
	struct op	*ops;
	size_t		 nops, opcap, kept;
	int		 overflow;	/* ops past STORE_REPLAY_MAX not kept */
};

static int
txn_begin(struct ag_store_txn **out, struct ag_store *st, int rdonly,
    struct ag_err *err)
{
	struct ag_store_txn *t;
	int r;

	*out = NULL;
	if ((t = calloc(1, sizeof *t)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	t->st = st;
	t->rdonly = rdonly;
	r = rdonly ? rd_begin(st, &t->txn, err) : wr_begin(st, &t->txn, err);
	if (r < 0) {
		free(t);
		return r;
	}
	if (!rdonly)
		t->id = mdb_txn_id(t->txn);
	*out = t;
	return 0;
}

int
ag_store_begin(struct ag_store_txn **out, struct ag_store *st,
    struct ag_err *err)
{
	return txn_begin(out, st, 0, err);
}

int
ag_store_begin_read(struct ag_store_txn **out, struct ag_store *st,
    struct ag_err *err)
{
	return txn_begin(out, st, 1, err);
}

static void
ops_free(struct ag_store_txn *t)
{
	size_t i;

	for (i = 0; i < t->nops; i++) {
		free(t->ops[i].key);
		free(t->ops[i].val);
	}
	free(t->ops);
	t->ops = NULL;
	t->nops = t->opcap = t->kept = 0;
}

/* Ends t (abort if still open), releasing its lock. */
static void
txn_end(struct ag_store_txn *t)
{
	if (t->txn != NULL)
		mdb_txn_abort(t->txn);
	t->txn = NULL;
	if (t->rdonly)
		pthread_rwlock_unlock(&t->st->maplock);
	else
		pthread_mutex_unlock(&t->st->wlock);
	ops_free(t);
	free(t);
}

/* Keeps a copy of one write; past STORE_REPLAY_MAX, notes the overflow. */
static void
op_keep(struct ag_store_txn *t, int kind, MDB_dbi dbi, unsigned flags,
    const MDB_val *k, const MDB_val *v)
{
	struct op *o, *n;
	size_t need = (k ? k->mv_size : 0) + (v ? v->mv_size : 0) + sizeof *o;

	if (t->overflow)
		return;
	if (t->kept + need > STORE_REPLAY_MAX)
		goto overflow;
	if (t->nops == t->opcap) {
		size_t cap = t->opcap ? t->opcap * 2 : 16;

		if ((n = realloc(t->ops, cap * sizeof *n)) == NULL)
			goto overflow;
		t->ops = n;
		t->opcap = cap;
	}
	o = &t->ops[t->nops];
	memset(o, 0, sizeof *o);
	o->kind = kind;
	o->dbi = dbi;
	o->flags = flags;
	if (k != NULL) {
		if ((o->key = malloc(k->mv_size + 1)) == NULL)
			goto overflow;
		memcpy(o->key, k->mv_data, k->mv_size);
		o->klen = k->mv_size;
	}
	if (v != NULL) {
		if ((o->val = malloc(v->mv_size + 1)) == NULL) {
			free(o->key);
			goto overflow;
		}
		memcpy(o->val, v->mv_data, v->mv_size);
		o->vlen = v->mv_size;
	}
	t->nops++;
	t->kept += need;
	return;
overflow:
	t->overflow = 1;
	ops_free(t);
}

static int
op_apply(MDB_txn *txn, const struct op *o)
{
	MDB_val k = { o->klen, o->key }, v = { o->vlen, o->val };
	int rc;

	switch (o->kind) {
	case OP_PUT:
		return mdb_put(txn, o->dbi, &k, &v, o->flags);
	case OP_DEL:
		rc = mdb_del(txn, o->dbi, &k, NULL);
		return rc == MDB_NOTFOUND ? 0 : rc;
	default:
		return mdb_drop(txn, o->dbi, 0);
	}
}

/*
 * After MDB_MAP_FULL in t (whose LMDB txn may already be gone): aborts it,
 * doubles the map and replays t's writes in a new transaction, until they
 * fit or the map reaches AG_STORE_MAP_MAX. wlock stays held throughout, so
 * no write of this process comes between; one of another process would
 * change the txn id, and then the replay is refused.
 */
static int
grow(struct ag_store_txn *t, struct ag_err *err)
{
	struct ag_store *st = t->st;
	size_t from = st->mapsize, want, i;
	int rc = MDB_MAP_FULL;

	if (t->txn != NULL)
		mdb_txn_abort(t->txn);
	t->txn = NULL;
	if (t->overflow) {
		store_log(st, "index map full at %zu bytes during a write of "
		    "more than %zu bytes: not grown (start with a larger "
		    "--index-size)", st->mapsize, STORE_REPLAY_MAX);
		return ag_err_set(err, AG_ESTORE, "index full (%zu bytes) "
		    "during a write too large to replay; start augerd with a "
		    "larger --index-size", st->mapsize);
	}
	while (rc == MDB_MAP_FULL) {
		if (st->mapsize >= AG_STORE_MAP_MAX) {
			store_log(st, "index map full at its cap of %zu bytes",
			    st->mapsize);
			return ag_err_set(err, AG_ESTORE, "index full: the map "
			    "reached its cap of %zu bytes", st->mapsize);
		}
		want = st->mapsize > AG_STORE_MAP_MAX / 2 ? AG_STORE_MAP_MAX :
		    st->mapsize * 2;
		if (set_map_locked(st, want, err) < 0)
			return AG_ESTORE;
		if ((rc = mdb_txn_begin(st->env, NULL, 0, &t->txn)) != 0) {
			t->txn = NULL;
			return lmdb_err(err, rc, "index transaction");
		}
		if (mdb_txn_id(t->txn) != t->id) {
			mdb_txn_abort(t->txn);
			t->txn = NULL;
			return ag_err_set(err, AG_ECONFLICT, "the index changed "
			    "(another process) while its map grew; try again");
		}
		for (i = 0, rc = 0; i < t->nops && rc == 0; i++)
			rc = op_apply(t->txn, &t->ops[i]);
		if (rc == MDB_MAP_FULL) {
			mdb_txn_abort(t->txn);
			t->txn = NULL;
		}
	}
	if (rc != 0)
		return lmdb_err(err, rc, "index write (replay)");
	store_log(st, "index map grown from %zu to %zu bytes (the map was "
	    "full; %zu write%s replayed)", from, st->mapsize, t->nops,
	    t->nops == 1 ? "" : "s");
	return 0;
}

/* Does one write in t, growing the map when it is full. */
static int
txn_write(struct ag_store_txn *t, int kind, const char *db, unsigned flags,
    const MDB_val *k, const MDB_val *v, const char *what, struct ag_err *err)
{
	MDB_dbi dbi = 0;
	struct op o;
	int rc;

	if (t->rdonly)
		return ag_err_set(err, AG_EINTERNAL, "write in a read "
		    "transaction");
	if (t->txn == NULL)
		return ag_err_set(err, AG_ESTORE, "index transaction failed");
	if (dbi_of(t->st, db, &dbi, err) < 0)
		return AG_EINTERNAL;
	op_keep(t, kind, dbi, flags, k, v);
	memset(&o, 0, sizeof o);
	o.kind = kind;
	o.dbi = dbi;
	o.flags = flags;
	if (k != NULL) {
		o.key = k->mv_data;
		o.klen = k->mv_size;
	}
	if (v != NULL) {
		o.val = v->mv_data;
		o.vlen = v->mv_size;
	}
	rc = op_apply(t->txn, &o);
	if (rc == MDB_MAP_FULL)
		return grow(t, err);
	if (rc == MDB_KEYEXIST)
		return ag_err_set(err, AG_ECONFLICT, "already exists");
	if (rc != 0)
		return lmdb_err(err, rc, what);
	return 0;
}

int
ag_store_put(struct ag_store *st, const char *db, const void *key,
    size_t klen, const char *val, size_t vlen, int noreplace,
    struct ag_err *err)
{
	struct ag_store_txn *t;
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int r;

	if ((r = ag_store_begin(&t, st, err)) < 0)
		return r;
	if ((r = txn_write(t, OP_PUT, db, noreplace ? MDB_NOOVERWRITE : 0, &k,
	    &v, "index write", err)) < 0) {
		ag_store_abort(t);
		return r;
	}
	return ag_store_commit(t, err);
}

int
ag_store_get(struct ag_store *st, const char *db, const void *key,
    size_t klen, char **val, size_t *vlen, struct ag_err *err)
{
	struct ag_store_txn *t;
	int r;

	*val = NULL;
	if ((r = ag_store_begin_read(&t, st, err)) < 0)
		return r;
	r = ag_store_txn_get(t, db, key, klen, val, vlen, err);
	ag_store_abort(t);
	return r;
}

int
ag_store_del(struct ag_store *st, const char *db, const void *key,
    size_t klen, struct ag_err *err)
{
	struct ag_store_txn *t;
	MDB_val k = { klen, (void *)key }, v;
	MDB_dbi dbi = 0;
	int r, rc;

	if (dbi_of(st, db, &dbi, err) < 0)
		return AG_EINTERNAL;
	if ((r = ag_store_begin(&t, st, err)) < 0)
		return r;
	/* ENOTFOUND for a key that is not there, as before. */
	if ((rc = mdb_get(t->txn, dbi, &k, &v)) == MDB_NOTFOUND) {
		ag_store_abort(t);
		return ag_err_set(err, AG_ENOTFOUND, "not found");
	}
	if ((r = txn_write(t, OP_DEL, db, 0, &k, NULL, "index delete",
	    err)) < 0) {
		ag_store_abort(t);
		return r;
	}
	return ag_store_commit(t, err);
}

/* Whether k starts with prefix. */
static int
has_prefix(const MDB_val *k, const void *prefix, size_t plen)
{
	return k->mv_size >= plen &&
	    (plen == 0 || memcmp(k->mv_data, prefix, plen) == 0);
}

int
ag_store_scan(struct ag_store *st, const char *db, const void *prefix,
    size_t plen, ag_store_each_fn fn, void *arg, struct ag_err *err)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_dbi dbi = 0;
	MDB_val k = { plen, (void *)prefix }, v;
	int rc, r = 0;

	if (dbi_of(st, db, &dbi, err) < 0)
		return AG_EINTERNAL;
	if (rd_begin(st, &txn, err) < 0)
		return AG_ESTORE;
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		rd_end(st, txn);
		return lmdb_err(err, rc, "index read");
	}
	rc = plen ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) :
	    mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		if (!has_prefix(&k, prefix, plen))
			break;
		if ((r = fn(arg, k.mv_data, k.mv_size, v.mv_data,
		    v.mv_size)) != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	rd_end(st, txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_err(err, rc, "index scan");
	return r < 0 ? r : 0;
}

int
ag_store_scan_rev(struct ag_store *st, const char *db, const void *prefix,
    size_t plen, ag_store_each_fn fn, void *arg, struct ag_err *err)
{
	return ag_store_scan_rev_from(st, db, prefix, plen, NULL, 0, fn, arg,
	    err);
}

/*
 * Positions cur at the greatest key <= key (inclusive) or < key, or at the
 * last key when every key is smaller.
 */
static int
seek_back(MDB_cursor *cur, const void *key, size_t klen, int inclusive,
    MDB_val *k, MDB_val *v)
{
	int rc;

	k->mv_data = (void *)key;
	k->mv_size = klen;
	rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		return mdb_cursor_get(cur, k, v, MDB_LAST);
	if (rc != 0)
		return rc;
	if (inclusive && k->mv_size == klen &&
	    memcmp(k->mv_data, key, klen) == 0)
		return 0;
	return mdb_cursor_get(cur, k, v, MDB_PREV);
}

#define STORE_KEY_MAX 511	/* prefixes the reverse seeks handle */

int
ag_store_scan_rev_from(struct ag_store *st, const char *db,
    const void *prefix, size_t plen, const void *from, size_t flen,
    ag_store_each_fn fn, void *arg, struct ag_err *err)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_dbi dbi = 0;
	MDB_val k, v;
	unsigned char end[STORE_KEY_MAX + 1];
	int rc, r = 0;

	if (plen > STORE_KEY_MAX)
		return ag_err_set(err, AG_EINVAL, "key prefix too long");
	if (dbi_of(st, db, &dbi, err) < 0)
		return AG_EINTERNAL;
	if (rd_begin(st, &txn, err) < 0)
		return AG_ESTORE;
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		rd_end(st, txn);
		return lmdb_err(err, rc, "index read");
	}
	/* Start at from, or just past the prefix (prefix + 0xff). */
	if (from != NULL)
		rc = seek_back(cur, from, flen, 1, &k, &v);
	else if (plen > 0) {
		memcpy(end, prefix, plen);
		end[plen] = 0xff;
		rc = seek_back(cur, end, plen + 1, 0, &k, &v);
	} else
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	while (rc == 0 && has_prefix(&k, prefix, plen)) {
		if ((r = fn(arg, k.mv_data, k.mv_size, v.mv_data,
		    v.mv_size)) != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	rd_end(st, txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_err(err, rc, "index scan");
	return r < 0 ? r : 0;
}

int
ag_store_txn_put(struct ag_store_txn *t, const char *db, const void *key,
    size_t klen, const char *val, size_t vlen, struct ag_err *err)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };

	return txn_write(t, OP_PUT, db, 0, &k, &v, "index write", err);
}

int
ag_store_txn_get(struct ag_store_txn *t, const char *db, const void *key,
    size_t klen, char **val, size_t *vlen, struct ag_err *err)
{
	MDB_dbi dbi = 0;
	MDB_val k = { klen, (void *)key }, v;
	int rc;

	*val = NULL;
	if (t->txn == NULL)
		return ag_err_set(err, AG_ESTORE, "index transaction failed");
	if (dbi_of(t->st, db, &dbi, err) < 0)
		return AG_EINTERNAL;
	rc = mdb_get(t->txn, dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		return ag_err_set(err, AG_ENOTFOUND, "not found");
	if (rc != 0)
		return lmdb_err(err, rc, "index read");
	if ((*val = malloc(v.mv_size + 1)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	memcpy(*val, v.mv_data, v.mv_size);
	(*val)[v.mv_size] = '\0';
	if (vlen != NULL)
		*vlen = v.mv_size;
	return 0;
}

int
ag_store_txn_last(struct ag_store_txn *t, const char *db, const void *prefix,
    size_t plen, char **key, size_t *klen, char **val, size_t *vlen,
    struct ag_err *err)
{
	MDB_cursor *cur;
	MDB_dbi dbi = 0;
	MDB_val k, v;
	unsigned char end[STORE_KEY_MAX + 1];
	int rc;

	*key = *val = NULL;
	if (plen > STORE_KEY_MAX)
		return ag_err_set(err, AG_EINVAL, "key prefix too long");
	if (t->txn == NULL)
		return ag_err_set(err, AG_ESTORE, "index transaction failed");
	if (dbi_of(t->st, db, &dbi, err) < 0)
		return AG_EINTERNAL;
	if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0)
		return lmdb_err(err, rc, "index read");
	memcpy(end, prefix, plen);
	end[plen] = 0xff;
	rc = seek_back(cur, end, plen + 1, 0, &k, &v);
	if (rc == 0 && !has_prefix(&k, prefix, plen))
		rc = MDB_NOTFOUND;
	if (rc == 0) {
		*key = malloc(k.mv_size + 1);
		*val = malloc(v.mv_size + 1);
		if (*key == NULL || *val == NULL) {
			free(*key);
			free(*val);
			*key = *val = NULL;
			mdb_cursor_close(cur);
			return ag_err_set(err, AG_EINTERNAL, "out of memory");
		}
		memcpy(*key, k.mv_data, k.mv_size);
		(*key)[k.mv_size] = '\0';
		memcpy(*val, v.mv_data, v.mv_size);
		(*val)[v.mv_size] = '\0';
		if (klen)
			*klen = k.mv_size;
		if (vlen)
			*vlen = v.mv_size;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return ag_err_set(err, AG_ENOTFOUND, "not found");
	if (rc != 0)
		return lmdb_err(err, rc, "index read");
	return 0;
}

int
ag_store_txn_del(struct ag_store_txn *t, const char *db, const void *key,
    size_t klen, struct ag_err *err)
{
	MDB_val k = { klen, (void *)key };

	return txn_write(t, OP_DEL, db, 0, &k, NULL, "index delete", err);
}

int
ag_store_txn_drop(struct ag_store_txn *t, const char *db, struct ag_err *err)
{
	return txn_write(t, OP_DROP, db, 0, NULL, NULL, "index drop", err);
}

int
ag_store_commit(struct ag_store_txn *t, struct ag_err *err)
{
	int rc = MDB_MAP_FULL, r = 0;

	if (t->rdonly || t->txn == NULL) {
		r = ag_err_set(err, t->rdonly ? AG_EINTERNAL : AG_ESTORE,
		    t->rdonly ? "commit of a read transaction" :
		    "index transaction failed");
		txn_end(t);
		return r;
	}
	/* Commit can fill the map too (the free list is written then). */
	while (rc == MDB_MAP_FULL) {
		rc = mdb_txn_commit(t->txn);
		t->txn = NULL;
		if (rc == MDB_MAP_FULL && (r = grow(t, err)) < 0)
			break;
	}
	if (r == 0 && rc != 0)
		r = lmdb_err(err, disk_full(t->st, rc), "index commit");
	txn_end(t);
	return r;
}

void
ag_store_abort(struct ag_store_txn *t)
{
	if (t == NULL)
		return;
	txn_end(t);
}

void
ag_store_put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

uint64_t
ag_store_get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

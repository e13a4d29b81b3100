/* The LMDB index: one environment, named sub-databases, small records. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "auger/store.h"

/* "meta" stays last: ag_store_open writes the schema version there. */
static const char *dbnames[] = {
	"envs", "releases", "release_log", "artifacts", "artifacts_by_sha",
	"artifacts_by_time", "commits", "tokens", "keys", "meta"
};
#define NDB (sizeof dbnames / sizeof dbnames[0])

struct ag_store {
	MDB_env	*env;
	MDB_dbi	 dbi[NDB];
};

static int
lmdb_err(struct ag_err *err, int rc, const char *what)
{
	return ag_err_set(err, AG_ESTORE, "%s: %s", what, mdb_strerror(rc));
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

int
ag_store_open(struct ag_store **out, const char *dir, struct ag_err *err)
{
	struct ag_store *st;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	size_t i;
	int rc;

	*out = NULL;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return ag_err_set(err, AG_EIO, "mkdir %s: %s", dir,
		    strerror(errno));
	if ((st = calloc(1, sizeof *st)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	if ((rc = mdb_env_create(&st->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(st->env, 16)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->env, (size_t)8 << 30)) != 0 ||
	    (rc = mdb_env_set_maxreaders(st->env, 256)) != 0 ||
	    (rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600)) != 0) {
		lmdb_err(err, rc, "opening the index");
		goto fail;
	}
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
		lmdb_err(err, rc, "opening the index");
		goto fail;
	}
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
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		lmdb_err(err, rc, "opening the index");
		goto fail;
	}
	*out = st;
	return 0;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (st->env != NULL)
		mdb_env_close(st->env);
	free(st);
	return AG_ESTORE;
}

void
ag_store_close(struct ag_store *st)
{
	if (st == NULL)
		return;
	mdb_env_close(st->env);
	free(st);
}

int
ag_store_put(struct ag_store *st, const char *db, const void *key,
    size_t klen, const char *val, size_t vlen, int noreplace,
    struct ag_err *err)
{
	MDB_txn *txn;
	MDB_dbi dbi = 0;
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int rc;

	if (dbi_of(st, db, &dbi, err) < 0)
		return AG_EINTERNAL;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return lmdb_err(err, rc, "index write");
	rc = mdb_put(txn, dbi, &k, &v, noreplace ? MDB_NOOVERWRITE : 0);
	if (rc == MDB_KEYEXIST) {
		mdb_txn_abort(txn);
		return ag_err_set(err, AG_ECONFLICT, "already exists");
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return lmdb_err(err, rc, "index write");
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_err(err, rc, "index commit");
	return 0;
}

int
ag_store_get(struct ag_store *st, const char *db, const void *key,
    size_t klen, char **val, size_t *vlen, struct ag_err *err)
{
	MDB_txn *txn;
	MDB_dbi dbi = 0;
	MDB_val k = { klen, (void *)key }, v;
	int rc;

	*val = NULL;
	if (dbi_of(st, db, &dbi, err) < 0)
		return AG_EINTERNAL;
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_err(err, rc, "index read");
	rc = mdb_get(txn, dbi, &k, &v);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return ag_err_set(err, AG_ENOTFOUND, "not found");
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return lmdb_err(err, rc, "index read");
	}
	if ((*val = malloc(v.mv_size + 1)) == NULL) {
		mdb_txn_abort(txn);
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	}
	memcpy(*val, v.mv_data, v.mv_size);
	(*val)[v.mv_size] = '\0';
	if (vlen != NULL)
		*vlen = v.mv_size;
	mdb_txn_abort(txn);
	return 0;
}

int
ag_store_del(struct ag_store *st, const char *db, const void *key,
    size_t klen, struct ag_err *err)
{
	MDB_txn *txn;
	MDB_dbi dbi = 0;
	MDB_val k = { klen, (void *)key };
	int rc;

	if (dbi_of(st, db, &dbi, err) < 0)
		return AG_EINTERNAL;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return lmdb_err(err, rc, "index write");
	rc = mdb_del(txn, dbi, &k, NULL);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return ag_err_set(err, AG_ENOTFOUND, "not found");
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return lmdb_err(err, rc, "index delete");
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_err(err, rc, "index commit");
	return 0;
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
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_err(err, rc, "index read");
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
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
	mdb_txn_abort(txn);
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
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_err(err, rc, "index read");
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
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
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_err(err, rc, "index scan");
	return r < 0 ? r : 0;
}

struct ag_store_txn {
	struct ag_store	*st;
	MDB_txn		*txn;
};

static int
txn_begin(struct ag_store_txn **out, struct ag_store *st, unsigned flags,
    struct ag_err *err)
{
	struct ag_store_txn *t;
	int rc;

	*out = NULL;
	if ((t = calloc(1, sizeof *t)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	t->st = st;
	if ((rc = mdb_txn_begin(st->env, NULL, flags, &t->txn)) != 0) {
		free(t);
		return lmdb_err(err, rc, "index transaction");
	}
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
	return txn_begin(out, st, MDB_RDONLY, err);
}

int
ag_store_txn_put(struct ag_store_txn *t, const char *db, const void *key,
    size_t klen, const char *val, size_t vlen, struct ag_err *err)
{
	MDB_dbi dbi = 0;
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int rc;

	if (dbi_of(t->st, db, &dbi, err) < 0)
		return AG_EINTERNAL;
	if ((rc = mdb_put(t->txn, dbi, &k, &v, 0)) != 0)
		return lmdb_err(err, rc, "index write");
	return 0;
}

int
ag_store_txn_get(struct ag_store_txn *t, const char *db, const void *key,
    size_t klen, char **val, size_t *vlen, struct ag_err *err)
{
	MDB_dbi dbi = 0;
	MDB_val k = { klen, (void *)key }, v;
	int rc;

	*val = NULL;
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
	MDB_dbi dbi = 0;
	MDB_val k = { klen, (void *)key };
	int rc;

	if (dbi_of(t->st, db, &dbi, err) < 0)
		return AG_EINTERNAL;
	rc = mdb_del(t->txn, dbi, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_err(err, rc, "index delete");
	return 0;
}

int
ag_store_txn_drop(struct ag_store_txn *t, const char *db, struct ag_err *err)
{
	MDB_dbi dbi = 0;
	int rc;

	if (dbi_of(t->st, db, &dbi, err) < 0)
		return AG_EINTERNAL;
	if ((rc = mdb_drop(t->txn, dbi, 0)) != 0)
		return lmdb_err(err, rc, "index drop");
	return 0;
}

int
ag_store_commit(struct ag_store_txn *t, struct ag_err *err)
{
	int rc = mdb_txn_commit(t->txn);

	free(t);
	if (rc != 0)
		return lmdb_err(err, rc, "index commit");
	return 0;
}

void
ag_store_abort(struct ag_store_txn *t)
{
	if (t == NULL)
		return;
	mdb_txn_abort(t->txn);
	free(t);
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

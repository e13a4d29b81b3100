/* The LMDB index under DATA/index: environment, sub-databases, records. */
#ifndef AUGER_STORE_H
#define AUGER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "auger/err.h"

#define AG_STORE_SCHEMA	"1"

/*
 * The memory map: --index-size sets where it starts; a write that finds it
 * full grows it (doubling) up to AG_STORE_MAP_MAX and goes on.
 */
#define AG_STORE_MAP_DEFAULT	((size_t)8 << 30)
#define AG_STORE_MAP_MIN	((size_t)64 << 10)
#if SIZE_MAX > 0xffffffffu
#define AG_STORE_MAP_MAX	((size_t)1 << 40)
#else
#define AG_STORE_MAP_MAX	((size_t)3 << 30)
#endif
/* A growth waits this long for read transactions in flight to end. */
#define AG_STORE_GROW_WAIT	30

struct ag_store;

/* Receives one line when the map grows (or cannot). */
typedef void (*ag_store_log_fn)(void *arg, const char *msg);

/* Opens (creating if needed) the environment in dir and its databases. */
int	ag_store_open(struct ag_store **out, const char *dir,
	    struct ag_err *err);
/*
 * The same with the map's starting size (0: AG_STORE_MAP_DEFAULT; never
 * below what the data already holds) and a logger for growth (may be NULL).
 */
int	ag_store_open_sized(struct ag_store **out, const char *dir,
	    size_t mapsize, ag_store_log_fn log, void *log_arg,
	    struct ag_err *err);
void	ag_store_close(struct ag_store *st);
/* The map's current size in bytes. */
size_t	ag_store_map_size(struct ag_store *st);
/*
 * Parses a size for --index-size: digits with an optional K, M, G or T
 * (powers of 1024; "KiB", "MB" and the like are read the same way).
 */
int	ag_store_parse_size(size_t *out, const char *s);

/* Puts value under key in db; replaces unless noreplace (then ECONFLICT). */
int	ag_store_put(struct ag_store *st, const char *db, const void *key,
	    size_t klen, const char *val, size_t vlen, int noreplace,
	    struct ag_err *err);
/* Gets a malloc'd NUL-terminated copy of the value; ENOTFOUND if none. */
int	ag_store_get(struct ag_store *st, const char *db, const void *key,
	    size_t klen, char **val, size_t *vlen, struct ag_err *err);
int	ag_store_del(struct ag_store *st, const char *db, const void *key,
	    size_t klen, struct ag_err *err);

/* Calls fn for each record whose key starts with prefix, in key order. */
typedef int (*ag_store_each_fn)(void *arg, const void *key, size_t klen,
    const char *val, size_t vlen);
int	ag_store_scan(struct ag_store *st, const char *db, const void *prefix,
	    size_t plen, ag_store_each_fn fn, void *arg, struct ag_err *err);
/* The same, newest key first (reverse key order). */
int	ag_store_scan_rev(struct ag_store *st, const char *db,
	    const void *prefix, size_t plen, ag_store_each_fn fn, void *arg,
	    struct ag_err *err);
/*
 * Reverse scan under prefix starting at the greatest key <= from (a seek,
 * so paging deep into history costs no more than the first page).
 */
int	ag_store_scan_rev_from(struct ag_store *st, const char *db,
	    const void *prefix, size_t plen, const void *from, size_t flen,
	    ag_store_each_fn fn, void *arg, struct ag_err *err);

/*
 * A write transaction over several databases: all of it is durable at
 * commit, or none of it. One runs at a time in a process. When the map
 * fills during one, the store aborts it, grows the map and replays its
 * writes (they are kept for that), so callers never see MDB_MAP_FULL.
 */
struct ag_store_txn;
int	ag_store_begin(struct ag_store_txn **out, struct ag_store *st,
	    struct ag_err *err);
/* A read-only snapshot with the same get/last calls; end it with abort. */
int	ag_store_begin_read(struct ag_store_txn **out, struct ag_store *st,
	    struct ag_err *err);
int	ag_store_txn_put(struct ag_store_txn *t, const char *db,
	    const void *key, size_t klen, const char *val, size_t vlen,
	    struct ag_err *err);
int	ag_store_txn_get(struct ag_store_txn *t, const char *db,
	    const void *key, size_t klen, char **val, size_t *vlen,
	    struct ag_err *err);
int	ag_store_txn_del(struct ag_store_txn *t, const char *db,
	    const void *key, size_t klen, struct ag_err *err);
/* The last key (and value) under prefix, for "next sequence" lookups. */
int	ag_store_txn_last(struct ag_store_txn *t, const char *db,
	    const void *prefix, size_t plen, char **key, size_t *klen,
	    char **val, size_t *vlen, struct ag_err *err);
/* Empties a database (reindex from scratch). */
int	ag_store_txn_drop(struct ag_store_txn *t, const char *db,
	    struct ag_err *err);
int	ag_store_commit(struct ag_store_txn *t, struct ag_err *err);
void	ag_store_abort(struct ag_store_txn *t);

/* Big-endian 64-bit integers inside keys, so keys sort numerically. */
void	ag_store_put_be64(unsigned char *p, uint64_t v);
uint64_t ag_store_get_be64(const unsigned char *p);

#endif

/* Unit tests of the LMDB index (src/store.c): growth of a full map. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auger/store.h"
#include "testutil.h"

#define NREC	3000	/* ~1.5 MiB of records: many times the 64 KiB map */
#define VALLEN	500

struct logs {
	int	grown;
	char	last[512];
};

static void
count_log(void *arg, const char *msg)
{
	struct logs *l = arg;

	if (strstr(msg, "grown") != NULL)
		l->grown++;
	snprintf(l->last, sizeof l->last, "%s", msg);
}

static void
fill(char *val, int i)
{
	memset(val, 'a' + i % 26, VALLEN);
	snprintf(val, VALLEN, "record %d", i);
	val[strlen(val)] = '.';
}

static size_t
keyof(unsigned char *k, int i)
{
	memcpy(k, "k", 1);
	ag_store_put_be64(k + 1, (uint64_t)i);
	return 9;
}

static int
count_cb(void *arg, const void *key, size_t klen, const char *val,
    size_t vlen)
{
	(void)key;
	(void)klen;
	(void)val;
	if (vlen == VALLEN)
		(*(int *)arg)++;
	return 0;
}

static int
count_all(struct ag_store *st)
{
	struct ag_err err = { 0, "" };
	int n = 0;

	assert_int_equal(ag_store_scan(st, "releases", "k", 1, count_cb, &n,
	    &err), 0);
	return n;
}

static void
check_all(struct ag_store *st, int n)
{
	struct ag_err err = { 0, "" };
	unsigned char k[16];
	char want[VALLEN + 1], *got;
	size_t glen;
	int i;

	for (i = 0; i < n; i++) {
		fill(want, i);
		assert_int_equal(ag_store_get(st, "releases", k, keyof(k, i),
		    &got, &glen, &err), 0);
		assert_int_equal(glen, VALLEN);
		assert_memory_equal(got, want, VALLEN);
		free(got);
	}
}

/* One put at a time into a 64 KiB map: every put succeeds, the map grows. */
static void
test_grow_single_puts(void **state)
{
	struct ag_err err = { 0, "" };
	struct ag_store *st = NULL;
	struct logs l = { 0, "" };
	unsigned char k[16];
	char val[VALLEN], *dir = scratch_dir("store");
	int i;

	(void)state;
	assert_int_equal(ag_store_open_sized(&st, dir, AG_STORE_MAP_MIN,
	    count_log, &l, &err), 0);
	assert_int_equal(ag_store_map_size(st), AG_STORE_MAP_MIN);
	for (i = 0; i < NREC; i++) {
		fill(val, i);
		if (ag_store_put(st, "releases", k, keyof(k, i), val, VALLEN, 1,
		    &err) != 0)
			fail_msg("put %d: %s", i, err.msg);
	}
	assert_true(l.grown >= 4);
	assert_true(ag_store_map_size(st) > (size_t)NREC * VALLEN);
	assert_int_equal(count_all(st), NREC);
	check_all(st, NREC);
	/* noreplace still says conflict after growth */
	fill(val, 0);
	assert_int_equal(ag_store_put(st, "releases", k, keyof(k, 0), val,
	    VALLEN, 1, &err), AG_ECONFLICT);
	ag_store_close(st);

	/* Reopened with the tiny size again: the data is all there. */
	st = NULL;
	ag_err_clear(&err);
	assert_int_equal(ag_store_open_sized(&st, dir, AG_STORE_MAP_MIN,
	    count_log, &l, &err), 0);
	assert_true(ag_store_map_size(st) >= (size_t)NREC * VALLEN);
	assert_int_equal(count_all(st), NREC);
	fill(val, NREC);
	assert_int_equal(ag_store_put(st, "releases", k, keyof(k, NREC), val,
	    VALLEN, 0, &err), 0);
	assert_int_equal(count_all(st), NREC + 1);
	ag_store_close(st);
	rmtree(dir);
	free(dir);
}

/*
 * One transaction much larger than the map, with reads of its own writes
 * and a drop in the middle: the growth replays all of it, and a commit
 * gives exactly the same records as without growth.
 */
static void
test_grow_inside_txn(void **state)
{
	struct ag_err err = { 0, "" };
	struct ag_store *st = NULL;
	struct ag_store_txn *t = NULL;
	struct logs l = { 0, "" };
	unsigned char k[16];
	char val[VALLEN], *got, *dir = scratch_dir("store");
	int i;

	(void)state;
	assert_int_equal(ag_store_open_sized(&st, dir, AG_STORE_MAP_MIN,
	    count_log, &l, &err), 0);
	assert_int_equal(ag_store_begin(&t, st, &err), 0);
	for (i = 0; i < 200; i++) {
		fill(val, i);
		assert_int_equal(ag_store_txn_put(t, "artifacts", k, keyof(k,
		    i), val, VALLEN, &err), 0);
	}
	assert_int_equal(ag_store_txn_drop(t, "artifacts", &err), 0);
	for (i = 0; i < NREC; i++) {
		fill(val, i);
		if (ag_store_txn_put(t, "releases", k, keyof(k, i), val, VALLEN,
		    &err) != 0)
			fail_msg("txn put %d: %s", i, err.msg);
		if (i % 500 == 0) {
			/* the txn reads what it wrote before any growth */
			assert_int_equal(ag_store_txn_get(t, "releases", k,
			    keyof(k, 0), &got, NULL, &err), 0);
			free(got);
		}
	}
	for (i = 0; i < NREC; i += 2)
		assert_int_equal(ag_store_txn_del(t, "releases", k, keyof(k, i),
		    &err), 0);
	assert_int_equal(ag_store_commit(t, &err), 0);
	assert_true(l.grown >= 1);
	assert_int_equal(count_all(st), NREC / 2);
	assert_int_equal(ag_store_get(st, "releases", k, keyof(k, 0), &got,
	    NULL, &err), AG_ENOTFOUND);
	ag_err_clear(&err);
	assert_int_equal(ag_store_get(st, "releases", k, keyof(k, 1), &got,
	    NULL, &err), 0);
	free(got);
	ag_err_clear(&err);
	assert_int_equal(ag_store_get(st, "artifacts", k, keyof(k, 1), &got,
	    NULL, &err), AG_ENOTFOUND);
	ag_store_close(st);
	rmtree(dir);
	free(dir);
}

struct reader {
	struct ag_store	*st;
	volatile int	 stop;
	int		 scans, errors;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct ag_err err = { 0, "" };
	int n;

	/* At least one scan, however late the thread is scheduled. */
	do {
		n = 0;
		ag_err_clear(&err);
		if (ag_store_scan(r->st, "releases", "k", 1, count_cb, &n,
		    &err) != 0)
			r->errors++;
		r->scans++;
	} while (!r->stop);
	return NULL;
}

/* Readers in other threads while the map grows under them. */
static void
test_grow_with_readers(void **state)
{
	struct ag_err err = { 0, "" };
	struct ag_store *st = NULL;
	struct logs l = { 0, "" };
	struct reader rd[3];
	pthread_t th[3];
	unsigned char k[16];
	char val[VALLEN], *dir = scratch_dir("store");
	int i;

	(void)state;
	assert_int_equal(ag_store_open_sized(&st, dir, AG_STORE_MAP_MIN,
	    count_log, &l, &err), 0);
	for (i = 0; i < 3; i++) {
		memset(&rd[i], 0, sizeof rd[i]);
		rd[i].st = st;
		assert_int_equal(pthread_create(&th[i], NULL, reader_main,
		    &rd[i]), 0);
	}
	for (i = 0; i < NREC / 3; i++) {
		fill(val, i);
		if (ag_store_put(st, "releases", k, keyof(k, i), val, VALLEN, 0,
		    &err) != 0)
			fail_msg("put %d: %s", i, err.msg);
	}
	for (i = 0; i < 3; i++) {
		rd[i].stop = 1;
		pthread_join(th[i], NULL);
		assert_int_equal(rd[i].errors, 0);
		assert_true(rd[i].scans > 0);
	}
	assert_true(l.grown >= 3);
	check_all(st, NREC / 3);
	ag_store_close(st);
	rmtree(dir);
	free(dir);
}

static void
test_parse_size(void **state)
{
	size_t v = 0;

	(void)state;
	assert_int_equal(ag_store_parse_size(&v, "262144"), 0);
	assert_int_equal(v, 262144);
	assert_int_equal(ag_store_parse_size(&v, "256K"), 0);
	assert_int_equal(v, 262144);
	assert_int_equal(ag_store_parse_size(&v, "64M"), 0);
	assert_int_equal(v, (size_t)64 << 20);
	assert_int_equal(ag_store_parse_size(&v, "8G"), 0);
	assert_int_equal(v, (size_t)8 << 30);
	assert_int_equal(ag_store_parse_size(&v, "8GiB"), 0);
	assert_int_equal(v, (size_t)8 << 30);
	assert_int_equal(ag_store_parse_size(&v, "1t"), 0);
	assert_int_equal(v, (size_t)1 << 40);
	assert_int_equal(ag_store_parse_size(&v, "100B"), 0);
	assert_int_equal(v, 100);
	assert_int_equal(ag_store_parse_size(&v, ""), -1);
	assert_int_equal(ag_store_parse_size(&v, "0"), -1);
	assert_int_equal(ag_store_parse_size(&v, "-1"), -1);
	assert_int_equal(ag_store_parse_size(&v, "8X"), -1);
	assert_int_equal(ag_store_parse_size(&v, "8 G"), -1);
	assert_int_equal(ag_store_parse_size(&v, "99999999999999999999999"),
	    -1);
	assert_int_equal(ag_store_parse_size(&v, "99999999999T"), -1);
}

static void
test_open_bounds(void **state)
{
	struct ag_err err = { 0, "" };
	struct ag_store *st = NULL;
	char *dir = scratch_dir("store");

	(void)state;
	assert_int_equal(ag_store_open_sized(&st, dir, 4096, NULL, NULL, &err),
	    AG_EINVAL);
	assert_null(st);
	ag_err_clear(&err);
	assert_int_equal(ag_store_open(&st, dir, &err), 0);
	assert_int_equal(ag_store_map_size(st), AG_STORE_MAP_DEFAULT);
	ag_store_close(st);
	rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_single_puts),
		cmocka_unit_test(test_grow_inside_txn),
		cmocka_unit_test(test_grow_with_readers),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_open_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

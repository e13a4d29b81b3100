/* Unit tests of the object id set (src/oidset.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auger/oidset.h"
#include "testutil.h"

#define NIDS 10000

/* The i-th test id: the sha1 of its number, like real ids. */
static void
nth_id(git_oid *id, int i)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "id %d", i);

	assert_int_equal(git_odb_hash(id, buf, (size_t)n, GIT_OBJECT_BLOB), 0);
}

static int
setup(void **state)
{
	(void)state;
	git_libgit2_init();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	git_libgit2_shutdown();
	return 0;
}

static void
test_empty(void **state)
{
	struct ag_oidset s;
	git_oid id;
	int v = 42;

	(void)state;
	ag_oidset_init(&s);
	nth_id(&id, 0);
	assert_int_equal(ag_oidset_get(&s, &id, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(ag_oidset_get(&s, &id, NULL), 0);
	ag_oidset_clear(&s);
	/* clear twice is harmless */
	ag_oidset_clear(&s);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.cap, 0);
}

static void
test_put_get_grow(void **state)
{
	struct ag_oidset s;
	git_oid id;
	int i, v;

	(void)state;
	ag_oidset_init(&s);
	for (i = 0; i < NIDS; i++) {
		nth_id(&id, i);
		assert_int_equal(ag_oidset_put(&s, &id, i), 1);
		assert_int_equal(s.n, (size_t)i + 1);
		/* at most half full, and a power of two */
		assert_true(s.n * 2 <= s.cap);
		assert_int_equal(s.cap & (s.cap - 1), 0);
	}
	for (i = 0; i < NIDS; i++) {
		nth_id(&id, i);
		v = -1;
		assert_int_equal(ag_oidset_get(&s, &id, &v), 1);
		assert_int_equal(v, i);
		assert_int_equal(ag_oidset_get(&s, &id, NULL), 1);
	}
	/* ids never put are absent */
	for (i = NIDS; i < 2 * NIDS; i++) {
		nth_id(&id, i);
		assert_int_equal(ag_oidset_get(&s, &id, &v), 0);
	}
	/* putting again updates the value and adds nothing */
	for (i = 0; i < NIDS; i += 3) {
		nth_id(&id, i);
		assert_int_equal(ag_oidset_put(&s, &id, -i), 0);
	}
	assert_int_equal(s.n, NIDS);
	for (i = 0; i < NIDS; i++) {
		nth_id(&id, i);
		assert_int_equal(ag_oidset_get(&s, &id, &v), 1);
		assert_int_equal(v, i % 3 == 0 ? -i : i);
	}
	ag_oidset_clear(&s);
	assert_int_equal(s.n, 0);
	nth_id(&id, 1);
	assert_int_equal(ag_oidset_get(&s, &id, &v), 0);
	/* usable again after clear */
	assert_int_equal(ag_oidset_put(&s, &id, 7), 1);
	assert_int_equal(ag_oidset_get(&s, &id, &v), 1);
	assert_int_equal(v, 7);
	ag_oidset_clear(&s);
}

/* Ids alike in the bytes that pick the slot: every put collides. */
static void
test_collisions(void **state)
{
	struct ag_oidset s;
	git_oid id;
	int i, v;

	(void)state;
	ag_oidset_init(&s);
	for (i = 0; i < 1000; i++) {
		memset(&id, 0xab, sizeof id);
		id.id[18] = (unsigned char)(i >> 8);
		id.id[19] = (unsigned char)i;
		assert_int_equal(ag_oidset_put(&s, &id, i), 1);
	}
	assert_int_equal(s.n, 1000);
	for (i = 0; i < 1000; i++) {
		memset(&id, 0xab, sizeof id);
		id.id[18] = (unsigned char)(i >> 8);
		id.id[19] = (unsigned char)i;
		assert_int_equal(ag_oidset_get(&s, &id, &v), 1);
		assert_int_equal(v, i);
	}
	memset(&id, 0xab, sizeof id);
	id.id[17] = 0;
	assert_int_equal(ag_oidset_get(&s, &id, &v), 0);
	/* the zero id is an id like any other */
	memset(&id, 0, sizeof id);
	assert_int_equal(ag_oidset_get(&s, &id, &v), 0);
	assert_int_equal(ag_oidset_put(&s, &id, 5), 1);
	assert_int_equal(ag_oidset_get(&s, &id, &v), 1);
	assert_int_equal(v, 5);
	ag_oidset_clear(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_put_get_grow),
		cmocka_unit_test(test_collisions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* Unit tests of pack entry headers (src/packfmt.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auger/packfmt.h"
#include "testutil.h"

/* Every type, sizes at each varint boundary: what is put reads back. */
static void
test_round_trip(void **state)
{
	static const uint64_t sizes[] = { 0, 1, 15, 16, 2047, 2048,
	    (1ULL << 32) + 5, (1ULL << 60) - 1 };
	static const uint64_t ofss[] = { 1, 127, 128, 16511, 16512,
	    (1ULL << 40) + 3, (UINT64_MAX >> 8) - 1 };
	static const int types[] = { OBJ_COMMIT, OBJ_TREE, OBJ_BLOB, OBJ_TAG,
	    OBJ_OFS_DELTA, OBJ_REF_DELTA };
	unsigned char h[AG_PACK_HEAD_MAX], id[20];
	struct ag_pack_head r;
	size_t t, i, j, n;

	(void)state;
	for (i = 0; i < sizeof id; i++)
		id[i] = (unsigned char)(0xa0 + i);
	for (t = 0; t < sizeof types / sizeof types[0]; t++)
		for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
			for (j = 0; j < sizeof ofss / sizeof ofss[0]; j++) {
				n = ag_pack_head_put(h, types[t], sizes[i],
				    ofss[j], id);
				assert_true(n <= AG_PACK_HEAD_MAX);
				assert_int_equal(ag_pack_head_read(h, n, &r),
				    (int)n);
				assert_int_equal(r.type, types[t]);
				assert_true(r.size == sizes[i]);
				if (types[t] == OBJ_OFS_DELTA)
					assert_true(r.ofs == ofss[j]);
				else
					assert_true(r.ofs == 0);
				if (types[t] == OBJ_REF_DELTA)
					assert_memory_equal(r.base_id, id, 20);
				else
					assert_null(r.base_id);
				/* Cut anywhere, it is not a header. */
				while (n-- > 0)
					assert_int_equal(ag_pack_head_read(h,
					    n, &r), -1);
			}
}

/* git's own encodings, byte for byte (gitformat-pack). */
static void
test_known_bytes(void **state)
{
	unsigned char h[AG_PACK_HEAD_MAX];
	struct ag_pack_head r;

	(void)state;
	/* A blob of 100 bytes: 0x80|3<<4|4, then 100>>4 = 6. */
	assert_int_equal(ag_pack_head_put(h, OBJ_BLOB, 100, 0, NULL), 2);
	assert_int_equal(h[0], 0xb4);
	assert_int_equal(h[1], 0x06);
	/* Distance 128 is 0x80 0x00 ("add one" per continued byte). */
	assert_int_equal(ag_pack_head_put(h, OBJ_OFS_DELTA, 1, 128, NULL), 3);
	assert_int_equal(h[0], 0x61);
	assert_int_equal(h[1], 0x80);
	assert_int_equal(h[2], 0x00);
	assert_int_equal(ag_pack_head_read(h, 3, &r), 3);
	assert_true(r.ofs == 128);
}

/* Malformed headers: no type, sizes and distances past 64 bits, ofs 0. */
static void
test_malformed(void **state)
{
	static const unsigned char t0[] = { 0x05 }, t5[] = { 0x55 };
	static const unsigned char ofs0[] = { 0x61, 0x00 };
	unsigned char big[16], far[16];
	struct ag_pack_head r;
	size_t i;

	(void)state;
	assert_int_equal(ag_pack_head_read(t0, sizeof t0, &r), -1);
	assert_int_equal(ag_pack_head_read(t5, sizeof t5, &r), -1);
	assert_int_equal(ag_pack_head_read(ofs0, sizeof ofs0, &r), -1);
	assert_int_equal(ag_pack_head_read(ofs0, 0, &r), -1);
	/* A size with ten continued bytes does not fit in 64 bits. */
	memset(big, 0xff, sizeof big);
	big[0] = 0xb0;
	big[sizeof big - 1] = 0x01;
	assert_int_equal(ag_pack_head_read(big, sizeof big, &r), -1);
	/* Nor does a distance of ten continued bytes. */
	far[0] = 0x61;
	for (i = 1; i < sizeof far - 1; i++)
		far[i] = 0xff;
	far[sizeof far - 1] = 0x01;
	assert_int_equal(ag_pack_head_read(far, sizeof far, &r), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_known_bytes),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Fuzzes the pack stream scanner (src/packscan.c). The first byte picks
 * the limits and a chunk size; the rest is the stream. It is scanned
 * whole and in chunks, and both must end alike. A pack that fails only
 * its checksum gets the right one and is scanned again: it must then be
 * complete, so the fuzzer reaches past the trailer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "auger/packscan.h"

#define FUZZ_MAX_INPUT	(1024 * 1024)

struct result {
	ssize_t		 rc;
	size_t		 used;
	int		 done;
	uint64_t	 off;
	struct ag_err	 err;
};

static void
run(struct result *res, const uint8_t *p, size_t len, size_t chunk,
    const struct ag_packscan_limits *lim)
{
	struct ag_packscan *s;
	size_t off = 0, n;
	ssize_t r;

	memset(res, 0, sizeof *res);
	if (ag_packscan_new(&s, lim) < 0)
		abort();
	while (off < len) {
		n = chunk == 0 || chunk > len - off ? len - off : chunk;
		r = ag_packscan_feed(s, p + off, n, &res->err);
		if (r < 0) {
			if (res->err.code != r || res->err.msg[0] == '\0')
				abort();
			res->rc = r;
			/* Errors stick. */
			if (ag_packscan_feed(s, p, len, NULL) != r)
				abort();
			break;
		}
		if ((size_t)r > n)
			abort();
		off += (size_t)r;
		if ((size_t)r < n && !ag_packscan_done(s))
			abort();	/* short only at the pack's end */
		if (ag_packscan_done(s)) {
			if (ag_packscan_feed(s, p, len, NULL) != 0)
				abort();
			break;
		}
	}
	res->used = off;
	res->done = ag_packscan_done(s);
	res->off = ag_packscan_offset(s);
	if (res->rc == 0 && res->off != off)
		abort();
	if (!res->done && res->rc == 0 && off > 0) {
		struct ag_err e = { 0, "" };

		if (ag_packscan_end(s, &e) != AG_EINVAL || e.msg[0] == '\0')
			abort();
	}
	ag_packscan_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t blobs[] = { 0, 64, 4096, 1 << 20 };
	static const size_t chunks[] = { 1, 2, 3, 7, 64, 1000, 4096, 0 };
	struct ag_packscan_limits lim;
	struct result whole, part;
	uint8_t *copy;
	size_t len;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	lim.max_objects = (data[0] & 3) == 0 ? 0 : (uint64_t)(data[0] & 3) * 4;
	lim.max_blob = blobs[(data[0] >> 2) & 3];
	len = size - 1;
	if ((copy = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, len);
	run(&whole, copy, len, 0, &lim);
	run(&part, copy, len, chunks[(data[0] >> 4) & 7], &lim);
	if (whole.rc != part.rc || whole.done != part.done ||
	    strcmp(whole.err.msg, part.err.msg) != 0 ||
	    (whole.rc == 0 && whole.used != part.used))
		abort();
	/* Only the checksum was wrong: put the right one and go again. */
	if (whole.rc == AG_EINVAL && whole.off >= 32 && whole.off <= len &&
	    strncmp(whole.err.msg, "pack trailer: checksum", 22) == 0) {
		SHA1(copy, (size_t)whole.off - 20, copy + whole.off - 20);
		run(&whole, copy, len, 0, &lim);
		if (!whole.done || whole.used != (size_t)part.off)
			abort();
	}
	free(copy);
	return 0;
}

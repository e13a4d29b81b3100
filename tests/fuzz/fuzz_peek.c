/*
 * Fuzzes the upload-pack read-ahead (src/peek.c) over arbitrary bytes.
 * The first byte picks the read chunk size and whether the client counts
 * as having sent more after a deepen line. Whatever it decides, the bytes
 * handed back and then read through must be the input exactly, it never
 * holds more than AG_PEEK_MAX, and a request it calls cacheable starts
 * with a want line and ends with "done".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auger/peek.h"

#define FUZZ_MAX_INPUT	(256 * 1024)

struct fio {
	const uint8_t	*in;
	size_t		 len, off, chunk;
	int		 ready;
};

static ssize_t
fio_read(void *ctx, void *buf, size_t len)
{
	struct fio *f = ctx;
	size_t n = f->len - f->off;

	if (n > len)
		n = len;
	if (f->chunk > 0 && n > f->chunk)
		n = f->chunk;
	if (n > 0)
		memcpy(buf, f->in + f->off, n);
	f->off += n;
	return (ssize_t)n;
}

static int
fio_ready(void *ctx, int ms)
{
	struct fio *f = ctx;

	(void)ms;
	return f->ready && f->off < f->len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ag_peek p;
	struct fio f;
	struct ag_io io = { fio_read, NULL, NULL, &f };
	uint8_t *back, buf[4096];
	size_t got = 0;
	ssize_t n;
	int shape;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	memset(&f, 0, sizeof f);
	f.in = data + 1;
	f.len = size - 1;
	f.chunk = data[0] & 0x7f;
	f.ready = data[0] & 0x80;
	ag_peek_init(&p, &io);
	shape = ag_peek_request(&p, fio_ready);
	if (p.len > AG_PEEK_MAX || p.len > f.len)
		abort();
	if (shape && (p.len < 13 || memcmp(p.buf + 4, "want ", 5) != 0 ||
	    (memcmp(p.buf + p.len - 4, "done", 4) != 0 &&
	    memcmp(p.buf + p.len - 5, "done\n", 5) != 0)))
		abort();
	if ((back = malloc(f.len + 1)) == NULL)
		return 0;
	/* Read through in pieces of another size than the chunks. */
	while ((n = ag_peek_read(&p, buf, 1 + (got % sizeof buf))) > 0) {
		if (got + (size_t)n > f.len)
			abort();
		memcpy(back + got, buf, (size_t)n);
		got += (size_t)n;
	}
	if (n < 0 || got != f.len || memcmp(back, f.in, f.len) != 0)
		abort();
	free(back);
	return 0;
}

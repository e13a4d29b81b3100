/*
 * Fuzzes the upload-pack read-ahead (src/peek.c) over arbitrary bytes.
 * The first byte picks the read chunk size and whether the client counts
 * as having sent more after a deepen line. Whatever it decides, the bytes
 * handed back and then read through must be the input exactly, it never
 * holds more than AG_PEEK_MAX, and a request it calls cacheable starts
 * with a want line and ends with "done".
 *
 * With 0x40 in the first byte it reads v2 command requests instead
 * (ag_peek_command), one after another: each request it takes is the next
 * bytes of the input up to a flush, handed back exactly and then ended;
 * when it stops with -1 the rest of the input is handed back exactly;
 * with 0, all input was read.
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

/* Reads p through to its end: the bytes, into back; their count. */
static size_t
read_through(struct ag_peek *p, uint8_t *back, size_t cap)
{
	uint8_t buf[4096];
	size_t got = 0;
	ssize_t n;

	while ((n = ag_peek_read(p, buf, 1 + (got % sizeof buf))) > 0) {
		if (got + (size_t)n > cap)
			abort();
		memcpy(back + got, buf, (size_t)n);
		got += (size_t)n;
	}
	if (n < 0)
		abort();
	return got;
}

static int
has(const uint8_t *p, size_t n, const char *s)
{
	return memmem(p, n, s, strlen(s)) != NULL;
}

static void
commands(struct fio *f, struct ag_io *io, uint8_t *back)
{
	static struct ag_peek p;
	size_t at, got;
	int rc, fetch;

	ag_peek_init(&p, io);
	for (;;) {
		rc = ag_peek_command(&p, &fetch);
		if (p.len > AG_PEEK_MAX || p.len > f->off)
			abort();
		at = f->off - p.len;
		if (rc == 0) {
			if (f->off != f->len)
				abort();
			return;
		}
		if (rc < 0) {
			got = read_through(&p, back, f->len);
			if (got != f->len - at ||
			    memcmp(back, f->in + at, got) != 0)
				abort();
			return;
		}
		if (p.len < 8 || memcmp(p.buf + p.len - 4, "0000", 4) != 0 ||
		    memcmp(p.buf, f->in + at, p.len) != 0)
			abort();
		if (fetch && (!has(p.buf, p.len, "command=fetch") ||
		    !has(p.buf, p.len, "done")))
			abort();
		got = read_through(&p, back, f->len);
		if (got != p.len || memcmp(back, p.buf, got) != 0)
			abort();
	}
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
	f.chunk = data[0] & 0x3f;
	f.ready = data[0] & 0x80;
	if (data[0] & 0x40) {
		if ((back = malloc(f.len + 1)) == NULL)
			return 0;
		commands(&f, &io, back);
		free(back);
		return 0;
	}
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

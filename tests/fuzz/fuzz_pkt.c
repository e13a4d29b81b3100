/*
 * Fuzzes the pkt-line reader (src/pkt.c) over arbitrary bytes. The first
 * byte picks the read chunk size, chomping and a total cap; every packet
 * read is written back with the writer and must read back the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auger/pkt.h"

#define FUZZ_MAX_INPUT	(1024 * 1024)

struct fio {
	const uint8_t	*in;
	size_t		 len, off, chunk;
	uint8_t		*out;
	size_t		 outlen, outcap;
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
fio_write(void *ctx, const void *buf, size_t len)
{
	struct fio *f = ctx;
	uint8_t *np;

	if (f->outlen + len > f->outcap) {
		size_t cap = f->outcap ? f->outcap : 4096;

		while (cap < f->outlen + len)
			cap *= 2;
		if ((np = realloc(f->out, cap)) == NULL)
			return -1;
		f->out = np;
		f->outcap = cap;
	}
	memcpy(f->out + f->outlen, buf, len);
	f->outlen += len;
	return 0;
}

/* One packet as first read: type and payload (copied). */
struct seen {
	int	 type;
	size_t	 len;
	uint8_t	*data;
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ag_pkt_reader *r = NULL;
	struct ag_pkt_writer *w = NULL;
	struct ag_err err = { 0, "" };
	struct ag_io io, wio;
	struct fio f, back;
	struct seen *v = NULL;
	size_t nv = 0, i, len;
	const char *line;
	uint8_t flags, raw[97];
	int t, chomp;
	long n;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	flags = data[0];
	memset(&f, 0, sizeof f);
	memset(&back, 0, sizeof back);
	f.in = data + 1;
	f.len = size - 1;
	f.chunk = flags & 0x0f;		/* 0: as much as asked */
	chomp = (flags >> 4) & 1;
	io.read = fio_read;
	io.write = fio_write;
	io.flush = NULL;
	io.ctx = &f;
	if ((r = malloc(sizeof *r)) == NULL ||
	    (w = malloc(sizeof *w)) == NULL ||
	    (v = calloc(size / 4 + 2, sizeof *v)) == NULL)
		goto out;
	ag_pkt_reader_init(r, &io, (flags & 0x20) ? (size - 1) / 2 : 0);
	memset(&wio, 0, sizeof wio);
	wio.write = fio_write;
	wio.ctx = &f;
	ag_pkt_writer_init(w, &wio);
	for (;;) {
		t = ag_pkt_read(r, &line, &len, chomp, &err);
		if (t < 0) {
			if (err.code != t || err.msg[0] == '\0')
				abort();	/* an error without a message */
			break;
		}
		if (t == AG_PKT_EOF)
			break;
		/* Each packet consumes at least 4 bytes. */
		if (nv >= size / 4 + 1)
			abort();
		v[nv].type = t;
		if (t == AG_PKT_DATA) {
			if (line == NULL || len > AG_PKT_DATA_MAX ||
			    line[len] != '\0')
				abort();
			if ((v[nv].data = malloc(len + 1)) == NULL)
				goto out;
			memcpy(v[nv].data, line, len);
			v[nv].len = len;
			if (ag_pkt_write(w, line, len) < 0)
				abort();
		} else if (line != NULL || len != 0) {
			abort();
		} else if (t == AG_PKT_FLUSH) {
			ag_pkt_flush(w);
		} else if (t == AG_PKT_DELIM) {
			ag_pkt_delim(w);
		} else {
			ag_pkt_raw(w, "0002", 4);
		}
		nv++;
		/* After a flush, maybe the rest is a pack: read it raw. */
		if (t == AG_PKT_FLUSH && (flags & 0x40)) {
			while ((n = ag_pkt_read_raw(r, raw, sizeof raw,
			    &err)) > 0)
				if ((size_t)n > sizeof raw)
					abort();
			break;
		}
	}
	if (r->total_max != 0 && r->total > r->total_max && err.code == 0)
		abort();	/* the cap was passed unnoticed */
	/* What was written reads back as what was read. */
	if (ag_pkt_push(w) < 0)
		goto out;
	back.in = f.out;
	back.len = f.outlen;
	io.ctx = &back;
	ag_pkt_reader_init(r, &io, 0);
	for (i = 0; i < nv; i++) {
		ag_err_clear(&err);
		t = ag_pkt_read(r, &line, &len, 0, &err);
		if (t != v[i].type)
			abort();
		if (t == AG_PKT_DATA && (len != v[i].len ||
		    memcmp(line, v[i].data, len) != 0))
			abort();
	}
	if (ag_pkt_read(r, &line, &len, 0, &err) != AG_PKT_EOF)
		abort();
out:
	if (v != NULL)
		for (i = 0; i < nv; i++)
			free(v[i].data);
	free(v);
	free(f.out);
	free(r);
	free(w);
	return 0;
}

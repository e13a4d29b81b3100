/* pkt-line reading and writing with hard limits (gitprotocol-common). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auger/pkt.h"

static ssize_t
io_mem_read(void *ctx, void *buf, size_t len)
{
	struct ag_io_mem *m = ctx;
	size_t n = m->len - m->off;

	if (n > len)
		n = len;
	memcpy(buf, m->data + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

static int
io_mem_write(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return 0;
}

void
ag_io_mem_init(struct ag_io *io, struct ag_io_mem *m, const void *data,
    size_t len)
{
	m->data = data;
	m->len = len;
	m->off = 0;
	io->read = io_mem_read;
	io->write = io_mem_write;
	io->flush = NULL;
	io->ctx = m;
}

static int
io_buf_write(void *ctx, const void *buf, size_t len)
{
	struct ag_io_buf *b = ctx;
	size_t cap;
	char *np;

	if (b->len + len > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, buf, len);
	b->len += len;
	return 0;
}

void
ag_io_buf_init(struct ag_io *io, struct ag_io_buf *b)
{
	memset(b, 0, sizeof *b);
	io->read = NULL;
	io->write = io_buf_write;
	io->flush = NULL;
	io->ctx = b;
}

void
ag_pkt_reader_init(struct ag_pkt_reader *r, struct ag_io *io, size_t total_max)
{
	r->io = io;
	r->off = r->len = 0;
	r->line[0] = '\0';
	r->total = 0;
	r->total_max = total_max;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
ag_pkt_parse_len(const char *p)
{
	int i, v, n = 0;

	for (i = 0; i < 4; i++) {
		if ((v = hexval((unsigned char)p[i])) < 0)
			return -1;
		n = n * 16 + v;
	}
	if (n == 3 || n > AG_PKT_MAX)
		return -1;
	return n;
}

/* Fills buf so that at least want bytes are held; returns held count. */
static int
fill(struct ag_pkt_reader *r, size_t want, struct ag_err *err)
{
	ssize_t n;

	if (r->len - r->off >= want)
		return 0;
	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	while (r->len < want) {
		n = r->io->read(r->io->ctx, r->buf + r->len,
		    sizeof r->buf - r->len);
		if (n < 0)
			return ag_err_set(err, AG_EIO, "read failed");
		if (n == 0)
			return 1;
		r->len += (size_t)n;
	}
	return 0;
}

static int
consume(struct ag_pkt_reader *r, size_t n, struct ag_err *err)
{
	r->total += n;
	if (r->total_max != 0 && r->total > r->total_max)
		return ag_err_set(err, AG_ETOOBIG,
		    "request exceeds %zu bytes", r->total_max);
	return 0;
}

int
ag_pkt_read(struct ag_pkt_reader *r, const char **line, size_t *len,
    int chomp, struct ag_err *err)
{
	char hdr[5];
	int n, rc;
	size_t plen;

	*line = NULL;
	*len = 0;
	if ((rc = fill(r, 4, err)) < 0)
		return rc;
	if (rc == 1) {
		if (r->len - r->off == 0)
			return AG_PKT_EOF;
		return ag_err_set(err, AG_EINVAL,
		    "truncated pkt-line header (%zu bytes)", r->len - r->off);
	}
	memcpy(hdr, r->buf + r->off, 4);
	hdr[4] = '\0';
	if ((n = ag_pkt_parse_len(hdr)) < 0)
		return ag_err_set(err, AG_EINVAL,
		    "bad pkt-line length \"%.4s\" (4 hex digits, at most %d)",
		    hdr, AG_PKT_MAX);
	if ((rc = consume(r, n < 4 ? 4 : (size_t)n, err)) < 0)
		return rc;
	if (n < 4) {
		r->off += 4;
		return n == 0 ? AG_PKT_FLUSH : n == 1 ? AG_PKT_DELIM : AG_PKT_END;
	}
	plen = (size_t)n - 4;
	if ((rc = fill(r, (size_t)n, err)) < 0)
		return rc;
	if (rc == 1)
		return ag_err_set(err, AG_EINVAL,
		    "truncated pkt-line: %zu of %d bytes", r->len - r->off, n);
	memcpy(r->line, r->buf + r->off + 4, plen);
	r->off += (size_t)n;
	if (chomp && plen > 0 && r->line[plen - 1] == '\n')
		plen--;
	r->line[plen] = '\0';
	*line = r->line;
	*len = plen;
	return AG_PKT_DATA;
}

long
ag_pkt_read_raw(struct ag_pkt_reader *r, void *buf, size_t len,
    struct ag_err *err)
{
	size_t held = r->len - r->off;
	ssize_t n;

	if (held > 0) {
		if (held > len)
			held = len;
		memcpy(buf, r->buf + r->off, held);
		r->off += held;
		if (consume(r, held, err) < 0)
			return AG_ETOOBIG;
		return (long)held;
	}
	n = r->io->read(r->io->ctx, buf, len);
	if (n < 0)
		return ag_err_set(err, AG_EIO, "read failed");
	if (consume(r, (size_t)n, err) < 0)
		return AG_ETOOBIG;
	return (long)n;
}

void
ag_pkt_writer_init(struct ag_pkt_writer *w, struct ag_io *io)
{
	w->io = io;
	w->len = 0;
	w->failed = 0;
}

static int
drain(struct ag_pkt_writer *w)
{
	if (w->failed)
		return AG_EIO;
	if (w->len > 0 && w->io->write(w->io->ctx, w->buf, w->len) < 0) {
		w->failed = 1;
		return AG_EIO;
	}
	w->len = 0;
	return 0;
}

int
ag_pkt_raw(struct ag_pkt_writer *w, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n;

	if (w->failed)
		return AG_EIO;
	while (len > 0) {
		if (w->len == sizeof w->buf && drain(w) < 0)
			return AG_EIO;
		n = sizeof w->buf - w->len;
		if (n > len)
			n = len;
		memcpy(w->buf + w->len, p, n);
		w->len += n;
		p += n;
		len -= n;
	}
	return 0;
}

static int
header(struct ag_pkt_writer *w, size_t n)
{
	char hdr[5];

	snprintf(hdr, sizeof hdr, "%04zx", n);
	return ag_pkt_raw(w, hdr, 4);
}

int
ag_pkt_write(struct ag_pkt_writer *w, const void *data, size_t len)
{
	if (len > AG_PKT_DATA_MAX)
		return AG_ETOOBIG;
	if (header(w, len + 4) < 0)
		return AG_EIO;
	return ag_pkt_raw(w, data, len);
}

int
ag_pkt_printf(struct ag_pkt_writer *w, const char *fmt, ...)
{
	char buf[AG_PKT_DATA_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > AG_PKT_DATA_MAX)
		return AG_ETOOBIG;
	return ag_pkt_write(w, buf, (size_t)n);
}

int
ag_pkt_flush(struct ag_pkt_writer *w)
{
	return ag_pkt_raw(w, "0000", 4);
}

int
ag_pkt_delim(struct ag_pkt_writer *w)
{
	return ag_pkt_raw(w, "0001", 4);
}

int
ag_pkt_band(struct ag_pkt_writer *w, int band, const void *data, size_t len)
{
	const unsigned char *p = data;
	unsigned char b = (unsigned char)band;
	size_t n;

	do {
		n = len > AG_BAND_MAX ? AG_BAND_MAX : len;
		if (header(w, n + 5) < 0 || ag_pkt_raw(w, &b, 1) < 0 ||
		    ag_pkt_raw(w, p, n) < 0)
			return AG_EIO;
		p += n;
		len -= n;
	} while (len > 0);
	return 0;
}

int
ag_pkt_push(struct ag_pkt_writer *w)
{
	if (drain(w) < 0)
		return AG_EIO;
	if (w->io->flush != NULL && w->io->flush(w->io->ctx) < 0) {
		w->failed = 1;
		return AG_EIO;
	}
	return 0;
}

/* Unit tests of pkt-line reading and writing (src/pkt.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auger/pkt.h"
#include "testutil.h"

/* A reader over a fixed input; chunk > 0 splits the reads. */
struct rd {
	struct ag_io		 io;
	struct mio		 m;
	struct ag_pkt_reader	*r;
	struct ag_err		 err;
};

static struct rd *
rd_new(const void *in, size_t len, size_t chunk, size_t total_max)
{
	struct rd *d = calloc(1, sizeof *d);

	assert_non_null(d);
	mio_init(&d->io, &d->m, in, len);
	d->m.chunk = chunk;
	d->r = malloc(sizeof *d->r);
	assert_non_null(d->r);
	ag_pkt_reader_init(d->r, &d->io, total_max);
	return d;
}

static void
rd_free(struct rd *d)
{
	mio_free(&d->m);
	free(d->r);
	free(d);
}

static int
rd_next(struct rd *d, const char **line, size_t *len, int chomp)
{
	return ag_pkt_read(d->r, line, len, chomp, &d->err);
}

static void
test_parse_len(void **state)
{
	(void)state;
	assert_int_equal(ag_pkt_parse_len("0000"), 0);
	assert_int_equal(ag_pkt_parse_len("0001"), 1);
	assert_int_equal(ag_pkt_parse_len("0002"), 2);
	assert_int_equal(ag_pkt_parse_len("0003"), -1);
	assert_int_equal(ag_pkt_parse_len("0004"), 4);
	assert_int_equal(ag_pkt_parse_len("00ff"), 255);
	assert_int_equal(ag_pkt_parse_len("00FF"), 255);
	assert_int_equal(ag_pkt_parse_len("fff0"), AG_PKT_MAX);
	assert_int_equal(ag_pkt_parse_len("fff1"), -1);
	assert_int_equal(ag_pkt_parse_len("ffff"), -1);
	assert_int_equal(ag_pkt_parse_len("00g0"), -1);
	assert_int_equal(ag_pkt_parse_len(" 004"), -1);
	assert_int_equal(ag_pkt_parse_len("+004"), -1);
	assert_int_equal(ag_pkt_parse_len("00\0" "4"), -1);
}

static void
check_normal_lines(size_t chunk)
{
	static const char in[] = "0009hello000aworld\n0007a\n\n0004"
	    "000cnochomp\n";
	const char *line;
	size_t len;
	struct rd *d = rd_new(in, sizeof in - 1, chunk, 0);

	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DATA);
	assert_int_equal(len, 5);
	assert_string_equal(line, "hello");
	/* chomp drops one trailing LF */
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DATA);
	assert_int_equal(len, 5);
	assert_string_equal(line, "world");
	/* ... and only one */
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DATA);
	assert_int_equal(len, 2);
	assert_string_equal(line, "a\n");
	/* "0004": an empty data packet */
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DATA);
	assert_int_equal(len, 0);
	assert_string_equal(line, "");
	/* without chomp the LF stays */
	assert_int_equal(rd_next(d, &line, &len, 0), AG_PKT_DATA);
	assert_int_equal(len, 8);
	assert_string_equal(line, "nochomp\n");
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_EOF);
	assert_null(line);
	assert_int_equal(len, 0);
	assert_int_equal(d->err.code, 0);
	assert_int_equal(d->r->total, sizeof in - 1);
	rd_free(d);
}

static void
test_normal_lines(void **state)
{
	(void)state;
	check_normal_lines(0);
	check_normal_lines(1);	/* the same, one byte per read */
	check_normal_lines(3);
}

static void
test_binary_payload(void **state)
{
	static const char in[] = "000aa\0b\0c\n";
	const char *line;
	size_t len;
	struct rd *d = rd_new(in, sizeof in - 1, 0, 0);

	(void)state;
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DATA);
	assert_int_equal(len, 5);
	assert_memory_equal(line, "a\0b\0c", 5);
	assert_int_equal(line[len], '\0');
	rd_free(d);
}

static void
test_special_packets(void **state)
{
	static const char in[] = "000000010002";
	const char *line;
	size_t len;
	struct rd *d = rd_new(in, sizeof in - 1, 0, 0);

	(void)state;
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_FLUSH);
	assert_null(line);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DELIM);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_END);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_EOF);
	/* EOF is sticky */
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_EOF);
	assert_int_equal(d->err.code, 0);
	rd_free(d);
}

/* Feeds in and expects the first read to fail with code and msg part. */
static void
expect_fail(const char *in, size_t len, int code, const char *part)
{
	const char *line;
	size_t n;
	struct rd *d = rd_new(in, len, 0, 0);

	assert_int_equal(rd_next(d, &line, &n, 1), code);
	assert_int_equal(d->err.code, code);
	assert_non_null(strstr(d->err.msg, part));
	assert_null(line);
	rd_free(d);
}

static void
test_bad_headers(void **state)
{
	(void)state;
	expect_fail("00g0abcdefghijkl", 16, AG_EINVAL, "bad pkt-line length");
	expect_fail("zzzz", 4, AG_EINVAL, "bad pkt-line length");
	expect_fail("0003", 4, AG_EINVAL, "bad pkt-line length");
	expect_fail("0003abc", 7, AG_EINVAL, "bad pkt-line length");
	/* above 65520 */
	expect_fail("fff1", 4, AG_EINVAL, "65520");
	expect_fail("ffff", 4, AG_EINVAL, "65520");
	/* truncated header */
	expect_fail("0", 1, AG_EINVAL, "truncated pkt-line header");
	expect_fail("000", 3, AG_EINVAL, "truncated pkt-line header");
	/* truncated payload */
	expect_fail("0010abc", 7, AG_EINVAL, "truncated pkt-line");
	expect_fail("0005", 4, AG_EINVAL, "truncated pkt-line");
}

static void
test_max_length(void **state)
{
	const char *line;
	size_t len;
	struct tbuf b = { 0 };
	char *payload = malloc(AG_PKT_DATA_MAX);
	struct rd *d;

	(void)state;
	assert_non_null(payload);
	memset(payload, 'x', AG_PKT_DATA_MAX);
	tbuf_pktn(&b, payload, AG_PKT_DATA_MAX);
	assert_memory_equal(b.p, "fff0", 4);
	tbuf_pktn(&b, "y", 1);
	d = rd_new(b.p, b.len, 1000, 0);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DATA);
	assert_int_equal(len, AG_PKT_DATA_MAX);
	assert_memory_equal(line, payload, AG_PKT_DATA_MAX);
	assert_int_equal(line[len], '\0');
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DATA);
	assert_string_equal(line, "y");
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_EOF);
	rd_free(d);
	tbuf_free(&b);
	free(payload);
}

static void
test_error_after_good_line(void **state)
{
	static const char in[] = "0009hello0000000";
	const char *line;
	size_t len;
	struct rd *d = rd_new(in, sizeof in - 1, 0, 0);

	(void)state;
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DATA);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_FLUSH);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_EINVAL);
	assert_non_null(strstr(d->err.msg, "truncated pkt-line header (3"));
	rd_free(d);
}

static void
test_read_error(void **state)
{
	const char *line;
	size_t len;
	struct rd *d = rd_new("0000", 4, 0, 0);

	(void)state;
	d->m.fail_read = 1;
	assert_int_equal(rd_next(d, &line, &len, 1), AG_EIO);
	assert_int_equal(d->err.code, AG_EIO);
	rd_free(d);
}

static void
test_total_max(void **state)
{
	static const char in[] = "0009hello0009world";
	const char *line;
	size_t len;
	struct rd *d;

	(void)state;
	/* Exactly at the cap is fine. */
	d = rd_new(in, sizeof in - 1, 0, 18);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DATA);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DATA);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_EOF);
	rd_free(d);
	/* One byte below it, the second packet is refused. */
	d = rd_new(in, sizeof in - 1, 0, 17);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DATA);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_ETOOBIG);
	assert_int_equal(d->err.code, AG_ETOOBIG);
	assert_non_null(strstr(d->err.msg, "17"));
	rd_free(d);
	/* Flush packets count as 4 bytes. */
	d = rd_new("00000000", 8, 0, 6);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_FLUSH);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_ETOOBIG);
	rd_free(d);
	/* Raw bytes after the lines count too. */
	d = rd_new("0000PACKPACK", 12, 0, 10);
	{
		char buf[16];

		assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_FLUSH);
		assert_int_equal(ag_pkt_read_raw(d->r, buf, sizeof buf,
		    &d->err), AG_ETOOBIG);
	}
	rd_free(d);
}

static void
check_read_raw(size_t chunk)
{
	struct tbuf in = { 0 }, got = { 0 };
	const char *line;
	char buf[7];
	size_t len, i;
	long n;
	struct rd *d;

	tbuf_pkt(&in, "want x\n");
	tbuf_str(&in, "0000");
	for (i = 0; i < 5000; i++) {
		char c = (char)(i * 7);

		tbuf_add(&in, &c, 1);
	}
	d = rd_new(in.p, in.len, chunk, 0);
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_DATA);
	assert_string_equal(line, "want x");
	assert_int_equal(rd_next(d, &line, &len, 1), AG_PKT_FLUSH);
	while ((n = ag_pkt_read_raw(d->r, buf, sizeof buf, &d->err)) > 0) {
		assert_true(n <= (long)sizeof buf);
		tbuf_add(&got, buf, (size_t)n);
	}
	assert_int_equal(n, 0);
	assert_int_equal(got.len, 5000);
	assert_memory_equal(got.p, in.p + in.len - 5000, 5000);
	assert_int_equal(d->r->total, in.len);
	rd_free(d);
	tbuf_free(&in);
	tbuf_free(&got);
}

static void
test_read_raw(void **state)
{
	(void)state;
	check_read_raw(0);
	check_read_raw(1);
	check_read_raw(4096);
}

static void
test_read_raw_error(void **state)
{
	char buf[8];
	struct rd *d = rd_new("", 0, 0, 0);

	(void)state;
	d->m.fail_read = 1;
	assert_int_equal(ag_pkt_read_raw(d->r, buf, sizeof buf, &d->err),
	    AG_EIO);
	rd_free(d);
}

/* A writer on top of an in-memory io. */
struct wr {
	struct ag_io		 io;
	struct mio		 m;
	struct ag_pkt_writer	*w;
};

static struct wr *
wr_new(void)
{
	struct wr *d = calloc(1, sizeof *d);

	assert_non_null(d);
	mio_init(&d->io, &d->m, NULL, 0);
	d->w = malloc(sizeof *d->w);
	assert_non_null(d->w);
	ag_pkt_writer_init(d->w, &d->io);
	return d;
}

static void
wr_free(struct wr *d)
{
	mio_free(&d->m);
	free(d->w);
	free(d);
}

static void
test_write_framing(void **state)
{
	struct wr *d = wr_new();
	static const char want[] = "000chello 5\n0000" "0001" "0007abc"
	    "0004";

	(void)state;
	assert_int_equal(ag_pkt_printf(d->w, "hello %d\n", 5), 0);
	assert_int_equal(ag_pkt_flush(d->w), 0);
	assert_int_equal(ag_pkt_delim(d->w), 0);
	assert_int_equal(ag_pkt_write(d->w, "abc", 3), 0);
	assert_int_equal(ag_pkt_write(d->w, "", 0), 0);
	/* Nothing reaches the io before a push. */
	assert_int_equal(d->m.out.len, 0);
	assert_int_equal(ag_pkt_push(d->w), 0);
	assert_int_equal(d->m.flushes, 1);
	assert_int_equal(d->m.out.len, sizeof want - 1);
	assert_memory_equal(d->m.out.p, want, sizeof want - 1);
	/* A push with nothing buffered writes nothing. */
	d->m.writes = 0;
	assert_int_equal(ag_pkt_push(d->w), 0);
	assert_int_equal(d->m.writes, 0);
	wr_free(d);
}

static void
test_write_limits(void **state)
{
	struct wr *d = wr_new();
	char *big = malloc(AG_PKT_DATA_MAX + 2);

	(void)state;
	assert_non_null(big);
	memset(big, 'q', AG_PKT_DATA_MAX + 1);
	big[AG_PKT_DATA_MAX + 1] = '\0';
	assert_int_equal(ag_pkt_write(d->w, big, AG_PKT_DATA_MAX + 1),
	    AG_ETOOBIG);
	assert_int_equal(ag_pkt_printf(d->w, "%s", big), AG_ETOOBIG);
	assert_int_equal(ag_pkt_write(d->w, big, AG_PKT_DATA_MAX), 0);
	big[AG_PKT_DATA_MAX] = '\0';
	assert_int_equal(ag_pkt_printf(d->w, "%s", big), 0);
	assert_int_equal(ag_pkt_push(d->w), 0);
	assert_int_equal(d->m.out.len, 2 * AG_PKT_MAX);
	assert_memory_equal(d->m.out.p, "fff0", 4);
	assert_memory_equal(d->m.out.p + AG_PKT_MAX, "fff0", 4);
	free(big);
	wr_free(d);
}

static void
test_band_split(void **state)
{
	const size_t total = 200000;
	unsigned char *data = malloc(total);
	struct tbuf got = { 0 };
	struct tpkt p = { 0 };
	size_t i, off = 0, npkt = 0;
	struct wr *d = wr_new();
	int rc;

	(void)state;
	assert_non_null(data);
	for (i = 0; i < total; i++)
		data[i] = (unsigned char)(i * 31 + (i >> 8));
	assert_int_equal(ag_pkt_band(d->w, 1, data, total), 0);
	assert_int_equal(ag_pkt_flush(d->w), 0);
	assert_int_equal(ag_pkt_push(d->w), 0);
	while ((rc = tpkt_next(d->m.out.p, d->m.out.len, &off, &p)) == 1) {
		if (p.type == AG_PKT_FLUSH)
			break;
		assert_int_equal(p.type, AG_PKT_DATA);
		assert_true(p.len + 4 <= AG_PKT_MAX);
		assert_true(p.len >= 1);
		assert_true(p.len - 1 <= AG_BAND_MAX);
		assert_int_equal((unsigned char)p.data[0], 1);
		tbuf_add(&got, p.data + 1, p.len - 1);
		npkt++;
	}
	assert_int_equal(rc, 1);
	assert_int_equal(p.type, AG_PKT_FLUSH);
	assert_int_equal(off, d->m.out.len);
	/* ceil(200000 / 65515) */
	assert_int_equal(npkt, 4);
	assert_int_equal(got.len, total);
	assert_memory_equal(got.p, data, total);
	/* The first packet is full: "fff0" and band 1. */
	assert_memory_equal(d->m.out.p, "fff0\1", 5);
	tbuf_free(&got);
	free(data);
	wr_free(d);
}

static void
test_band_exact_and_empty(void **state)
{
	struct wr *d = wr_new();
	char *data = malloc(AG_BAND_MAX);
	size_t off = 0;
	struct tpkt p = { 0 };

	(void)state;
	memset(&p, 0, sizeof p);
	assert_non_null(data);
	memset(data, 'z', AG_BAND_MAX);
	/* Zero bytes: one empty band packet, the keepalive. */
	assert_int_equal(ag_pkt_band(d->w, 1, "", 0), 0);
	assert_int_equal(ag_pkt_push(d->w), 0);
	assert_int_equal(d->m.out.len, 5);
	assert_memory_equal(d->m.out.p, "0005\1", 5);
	/* Exactly AG_BAND_MAX: one packet, not two. */
	assert_int_equal(ag_pkt_band(d->w, 2, data, AG_BAND_MAX), 0);
	assert_int_equal(ag_pkt_band(d->w, 3, "err\n", 4), 0);
	assert_int_equal(ag_pkt_push(d->w), 0);
	off = 5;
	assert_int_equal(tpkt_next(d->m.out.p, d->m.out.len, &off, &p), 1);
	assert_int_equal(p.len, AG_PKT_DATA_MAX);
	assert_int_equal(p.data[0], 2);
	assert_int_equal(tpkt_next(d->m.out.p, d->m.out.len, &off, &p), 1);
	assert_int_equal(p.len, 5);
	assert_memory_equal(p.data, "\3err\n", 5);
	assert_int_equal(tpkt_next(d->m.out.p, d->m.out.len, &off, &p), 0);
	free(data);
	wr_free(d);
}

static void
test_write_failure(void **state)
{
	struct wr *d = wr_new();
	char *data = malloc(200000);

	(void)state;
	assert_non_null(data);
	memset(data, 'a', 200000);
	d->m.fail_write = 1;
	/* Buffered: the failure shows at the push... */
	assert_int_equal(ag_pkt_printf(d->w, "x\n"), 0);
	assert_int_equal(ag_pkt_push(d->w), AG_EIO);
	assert_int_equal(d->w->failed, 1);
	/* ... and sticks, even if the io recovers. */
	d->m.fail_write = 0;
	assert_int_equal(ag_pkt_printf(d->w, "y\n"), AG_EIO);
	assert_int_equal(ag_pkt_flush(d->w), AG_EIO);
	assert_int_equal(ag_pkt_band(d->w, 1, "abc", 3), AG_EIO);
	assert_int_equal(ag_pkt_push(d->w), AG_EIO);
	assert_int_equal(d->m.out.len, 0);
	wr_free(d);

	/* More than the buffer holds: the failure shows in the write. */
	d = wr_new();
	d->m.fail_write = 1;
	assert_int_equal(ag_pkt_band(d->w, 1, data, 200000), AG_EIO);
	assert_int_equal(ag_pkt_raw(d->w, data, 10), AG_EIO);
	wr_free(d);

	/* A failing flush callback fails the push. */
	d = wr_new();
	d->m.fail_flush = 1;
	assert_int_equal(ag_pkt_flush(d->w), 0);
	assert_int_equal(ag_pkt_push(d->w), AG_EIO);
	assert_int_equal(d->m.out.len, 4);
	assert_int_equal(ag_pkt_flush(d->w), AG_EIO);
	wr_free(d);
	free(data);
}

static void
test_write_roundtrip(void **state)
{
	struct wr *d = wr_new();
	const char *line;
	size_t len, i;
	struct rd *rd;
	char buf[300];

	(void)state;
	for (i = 0; i < 300; i++) {
		memset(buf, 'a' + (int)(i % 26), i);
		assert_int_equal(ag_pkt_write(d->w, buf, i), 0);
	}
	assert_int_equal(ag_pkt_flush(d->w), 0);
	assert_int_equal(ag_pkt_push(d->w), 0);
	rd = rd_new(d->m.out.p, d->m.out.len, 13, 0);
	for (i = 0; i < 300; i++) {
		assert_int_equal(rd_next(rd, &line, &len, 0), AG_PKT_DATA);
		assert_int_equal(len, i);
		memset(buf, 'a' + (int)(i % 26), i);
		assert_memory_equal(line, buf, i);
	}
	assert_int_equal(rd_next(rd, &line, &len, 0), AG_PKT_FLUSH);
	assert_int_equal(rd_next(rd, &line, &len, 0), AG_PKT_EOF);
	rd_free(rd);
	wr_free(d);
}

static void
test_io_mem(void **state)
{
	struct ag_io io;
	struct ag_io_mem m;
	struct ag_pkt_reader *r = malloc(sizeof *r);
	struct ag_err err = { 0, "" };
	const char *line;
	size_t len;

	(void)state;
	assert_non_null(r);
	ag_io_mem_init(&io, &m, "0008abc\n0000", 12);
	ag_pkt_reader_init(r, &io, 0);
	assert_int_equal(ag_pkt_read(r, &line, &len, 1, &err), AG_PKT_DATA);
	assert_string_equal(line, "abc");
	assert_int_equal(ag_pkt_read(r, &line, &len, 1, &err), AG_PKT_FLUSH);
	assert_int_equal(ag_pkt_read(r, &line, &len, 1, &err), AG_PKT_EOF);
	/* writes are discarded, and succeed */
	assert_int_equal(io.write(io.ctx, "x", 1), 0);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_len),
		cmocka_unit_test(test_normal_lines),
		cmocka_unit_test(test_binary_payload),
		cmocka_unit_test(test_special_packets),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_max_length),
		cmocka_unit_test(test_error_after_good_line),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_total_max),
		cmocka_unit_test(test_read_raw),
		cmocka_unit_test(test_read_raw_error),
		cmocka_unit_test(test_write_framing),
		cmocka_unit_test(test_write_limits),
		cmocka_unit_test(test_band_split),
		cmocka_unit_test(test_band_exact_and_empty),
		cmocka_unit_test(test_write_failure),
		cmocka_unit_test(test_write_roundtrip),
		cmocka_unit_test(test_io_mem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

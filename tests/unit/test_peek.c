/* Unit tests of the SSH read-ahead (src/peek.c): v0 requests, v2 commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auger/peek.h"
#include "testutil.h"

#define OID	"0123456789abcdef0123456789abcdef01234567"

/* A client's bytes, handed out at most chunk at a time. */
struct src {
	char	buf[1 << 17];
	size_t	len, off, chunk;
	int	sent_more;	/* what ready says */
};

static ssize_t
src_read(void *ctx, void *buf, size_t len)
{
	struct src *s = ctx;
	size_t n = s->len - s->off;

	if (n > len)
		n = len;
	if (s->chunk > 0 && n > s->chunk)
		n = s->chunk;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static int
src_ready(void *ctx, int ms)
{
	struct src *s = ctx;

	(void)ms;
	return s->sent_more;
}

/* Appends one pkt-line with payload p (NULL: the special packet n). */
static void
pkt(struct src *s, const char *p, int n)
{
	if (p == NULL)
		s->len += (size_t)snprintf(s->buf + s->len,
		    sizeof s->buf - s->len, "%04d", n);
	else
		s->len += (size_t)snprintf(s->buf + s->len,
		    sizeof s->buf - s->len, "%04zx%s", strlen(p) + 4, p);
}

/* Appends pkt-lines, "0000" and "0001" being those special packets. */
static void
pkts(struct src *s, const char *const *l)
{
	for (; *l != NULL; l++)
		if (strcmp(*l, "0000") == 0 || strcmp(*l, "0001") == 0)
			pkt(s, NULL, atoi(*l));
		else
			pkt(s, *l, 0);
}

/* Reads p through: the bytes must be s's from at, to its end. */
static void
assert_hands_back(struct ag_peek *p, struct src *s, size_t at, size_t upto)
{
	char buf[1 << 17];
	size_t got = 0;
	ssize_t n;

	while ((n = ag_peek_read(p, buf + got, 7)) > 0)
		got += (size_t)n;
	assert_int_equal(n, 0);
	assert_int_equal(got, upto - at);
	assert_memory_equal(buf, s->buf + at, got);
}

static struct src *
src_new(size_t chunk)
{
	struct src *s = calloc(1, sizeof *s);

	assert_non_null(s);
	s->chunk = chunk;
	return s;
}

/* v0: wants, flush, done; haves; the shallow clone that waits. */
static void
test_v0_shapes(void **state)
{
	static struct ag_peek p;
	struct ag_io io;
	struct src *s;

	(void)state;
	s = src_new(3);
	io = (struct ag_io){ src_read, NULL, NULL, s };
	pkt(s, "want " OID " side-band-64k ofs-delta\n", 0);
	pkt(s, NULL, 0);
	pkt(s, "done\n", 0);
	ag_peek_init(&p, &io);
	assert_int_equal(ag_peek_request(&p, src_ready), 1);
	assert_int_equal(p.len, s->len);
	assert_hands_back(&p, s, 0, s->len);

	s->len = s->off = 0;
	pkt(s, "want " OID "\n", 0);
	pkt(s, NULL, 0);
	pkt(s, "have " OID "\n", 0);
	pkt(s, "done\n", 0);
	ag_peek_init(&p, &io);
	assert_int_equal(ag_peek_request(&p, src_ready), 0);
	assert_hands_back(&p, s, 0, s->len);

	/* A deepen line and nothing more sent yet: not waited for. */
	s->len = s->off = 0;
	pkt(s, "want " OID "\n", 0);
	pkt(s, "deepen 1\n", 0);
	pkt(s, NULL, 0);
	s->sent_more = 0;
	ag_peek_init(&p, &io);
	assert_int_equal(ag_peek_request(&p, src_ready), 0);
	assert_hands_back(&p, s, 0, s->len);
	free(s);
}

/*
 * v2: ls-refs then a clone's fetch, each read whole and ended there;
 * bare flushes before a request are dropped; the end of input is 0.
 */
static void
test_v2_clone(void **state)
{
	static struct ag_peek p;
	struct ag_io io;
	struct src *s;
	size_t ls, fe;
	int fetch;

	(void)state;
	s = src_new(5);
	io = (struct ag_io){ src_read, NULL, NULL, s };
	pkt(s, "command=ls-refs\n", 0);
	pkt(s, "agent=git/2.47\n", 0);
	pkt(s, NULL, 1);
	pkt(s, "peel\n", 0);
	pkt(s, "ref-prefix HEAD\n", 0);
	pkt(s, NULL, 0);
	ls = s->len;
	pkt(s, NULL, 0);		/* an empty request */
	fe = s->len;
	pkt(s, "command=fetch\n", 0);
	pkt(s, "object-format=sha1\n", 0);
	pkt(s, NULL, 1);
	pkt(s, "ofs-delta\n", 0);
	pkt(s, "want " OID "\n", 0);
	pkt(s, "deepen 1\n", 0);
	pkt(s, "done\n", 0);
	pkt(s, NULL, 0);
	pkt(s, NULL, 0);		/* the client's goodbye */
	ag_peek_init(&p, &io);

	assert_int_equal(ag_peek_command(&p, &fetch), 1);
	assert_int_equal(fetch, 0);
	assert_int_equal(s->off, ls);	/* nothing read past it */
	assert_hands_back(&p, s, 0, ls);

	assert_int_equal(ag_peek_command(&p, &fetch), 1);
	assert_int_equal(fetch, 1);
	assert_int_equal(s->off, s->len - 4);
	assert_hands_back(&p, s, fe, s->len - 4);

	assert_int_equal(ag_peek_command(&p, &fetch), 0);
	assert_int_equal(s->off, s->len);
	free(s);
}

/* Fetches that are not a clone's: haves, no done, done among caps. */
static void
test_v2_not_cacheable(void **state)
{
	static const char *const cases[][7] = {
		{ "command=fetch\n", "0001", "want " OID "\n",
		    "have " OID "\n", "done\n", "0000", NULL },
		{ "command=fetch\n", "0001", "want " OID "\n", "0000", NULL },
		{ "command=fetch\n", "done\n", "0001", "want " OID "\n",
		    "0000", NULL },
		{ "command=ls-refs\n", "0001", "done\n", "0000", NULL },
	};
	static struct ag_peek p;
	struct ag_io io;
	struct src *s;
	size_t i;
	int fetch;

	(void)state;
	s = src_new(0);
	io = (struct ag_io){ src_read, NULL, NULL, s };
	ag_peek_init(&p, &io);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s->len = s->off = 0;
		pkts(s, cases[i]);
		assert_int_equal(ag_peek_command(&p, &fetch), 1);
		assert_int_equal(fetch, 0);
	}
	free(s);
}

/*
 * Malformed, cut short, a response-end, or larger than AG_PEEK_MAX: -1,
 * and what was read comes back first, then the rest of the stream.
 */
static void
test_v2_handed_to_engine(void **state)
{
	static struct ag_peek p;
	struct ag_io io;
	struct src *s;
	int fetch;

	(void)state;
	s = src_new(0);
	io = (struct ag_io){ src_read, NULL, NULL, s };
	pkt(s, "command=fetch\n", 0);
	pkt(s, NULL, 1);
	memcpy(s->buf + s->len, "zzzz0000", 8);
	s->len += 8;
	ag_peek_init(&p, &io);
	assert_int_equal(ag_peek_command(&p, &fetch), -1);
	assert_hands_back(&p, s, 0, s->len);

	s->len = s->off = 0;
	pkt(s, "command=fetch\n", 0);
	pkt(s, NULL, 1);
	pkt(s, "want " OID "\n", 0);
	assert_int_equal(ag_peek_command(&p, &fetch), -1);
	assert_hands_back(&p, s, 0, s->len);

	s->len = s->off = 0;
	pkt(s, "command=ls-refs\n", 0);
	pkt(s, NULL, 2);
	pkt(s, NULL, 0);
	assert_int_equal(ag_peek_command(&p, &fetch), -1);
	assert_hands_back(&p, s, 0, s->len);

	s->len = s->off = 0;
	pkt(s, "command=fetch\n", 0);
	pkt(s, NULL, 1);
	while (s->len < AG_PEEK_MAX + 100)
		pkt(s, "want " OID "\n", 0);
	pkt(s, "done\n", 0);
	pkt(s, NULL, 0);
	assert_int_equal(ag_peek_command(&p, &fetch), -1);
	assert_true(p.len <= AG_PEEK_MAX);
	assert_hands_back(&p, s, 0, s->len);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v0_shapes),
		cmocka_unit_test(test_v2_clone),
		cmocka_unit_test(test_v2_not_cacheable),
		cmocka_unit_test(test_v2_handed_to_engine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

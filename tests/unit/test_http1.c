/* Unit tests of HTTP/1.1 request framing (src/http1.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auger/http1.h"

static ssize_t
parse(struct ag_http1_head *h, const char *s, struct ag_err *err)
{
	ag_err_clear(err);
	return ag_http1_head_parse(h, s, strlen(s), err);
}

static void
test_simple_get(void **state)
{
	const char *s = "GET /demo.git/info/refs?service=git-upload-pack "
	    "HTTP/1.1\r\nHost: x\r\nGit-Protocol:  version=2 \r\n\r\nrest";
	struct ag_http1_head h;
	struct ag_err err;
	ssize_t n;

	(void)state;
	n = parse(&h, s, &err);
	assert_int_equal(n, (ssize_t)(strstr(s, "rest") - s));
	assert_int_equal(h.method, AG_HTTP1_GET);
	assert_string_equal(h.target,
	    "/demo.git/info/refs?service=git-upload-pack");
	assert_int_equal(h.minor, 1);
	assert_string_equal(ag_http1_field(&h, "git-protocol"), "version=2");
	assert_int_equal(h.length, -1);
	assert_int_equal(h.chunked, 0);
	assert_int_equal(h.keepalive, 1);
	ag_http1_head_free(&h);
}

static void
test_incomplete_and_limits(void **state)
{
	struct ag_http1_head h;
	struct ag_err err;
	char *big;

	(void)state;
	assert_int_equal(parse(&h, "GET / HTTP/1.1\r\nHost: x\r\n", &err), 0);
	assert_int_equal(parse(&h, "", &err), 0);
	/* Empty lines before a request are skipped (RFC 9112 2.2). */
	assert_int_equal(parse(&h, "\r\n\r\n", &err), 0);
	big = malloc(AG_HTTP1_MAX_HEAD + 100);
	memset(big, 'a', AG_HTTP1_MAX_HEAD + 99);
	big[AG_HTTP1_MAX_HEAD + 99] = '\0';
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	assert_int_equal(parse(&h, big, &err), AG_ETOOBIG);
	assert_non_null(strstr(err.msg, "larger than"));
	free(big);
}

static void
test_framing(void **state)
{
	struct ag_http1_head h;
	struct ag_err err;

	(void)state;
	assert_true(parse(&h, "POST /x HTTP/1.1\r\nContent-Length: 12\r\n"
	    "Content-Length: 12\r\n\r\n", &err) > 0);
	assert_int_equal(h.length, 12);
	ag_http1_head_free(&h);
	assert_true(parse(&h, "POST /x HTTP/1.1\r\nTransfer-Encoding: "
	    "Chunked\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
	    &err) > 0);
	assert_int_equal(h.chunked, 1);
	assert_int_equal(h.expect_continue, 1);
	assert_int_equal(h.keepalive, 0);
	ag_http1_head_free(&h);
	assert_true(parse(&h, "GET / HTTP/1.0\r\n\r\n", &err) > 0);
	assert_int_equal(h.keepalive, 0);
	ag_http1_head_free(&h);
	assert_true(parse(&h, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n"
	    "\r\n", &err) > 0);
	assert_int_equal(h.keepalive, 1);
	ag_http1_head_free(&h);
	/* Bare LF line ends are recognised (RFC 9112 2.2). */
	assert_true(parse(&h, "GET / HTTP/1.1\nA: b\n\n", &err) > 0);
	assert_string_equal(ag_http1_field(&h, "a"), "b");
	ag_http1_head_free(&h);
}

/* Everything a smuggler or a sloppy client might send is refused. */
static void
test_refusals(void **state)
{
	static const struct {
		const char	*in;
		int		 code;
		const char	*msg;
	} cases[] = {
		{ "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2"
		    "\r\n\r\n", AG_EINVAL, "conflicting" },
		{ "POST /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding:"
		    " chunked\r\n\r\n", AG_EINVAL, "both" },
		{ "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n"
		    "\r\n", AG_ENOTFOUND, "not implemented" },
		{ "POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", AG_EINVAL,
		    "Content-Length" },
		{ "POST /x HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", AG_EINVAL,
		    "Content-Length" },
		{ "POST /x HTTP/1.1\r\nContent-Length: "
		    "99999999999999999999999\r\n\r\n", AG_EINVAL,
		    "Content-Length" },
		{ "GET /x HTTP/1.1\r\nHost : x\r\n\r\n", AG_EINVAL,
		    "no spaces" },
		{ "GET /x HTTP/1.1\r\nA: b\r\n c\r\n\r\n", AG_EINVAL,
		    "folding" },
		{ "GET /x HTTP/2.0\r\n\r\n", AG_EINVAL, "version" },
		{ "BREW /x HTTP/1.1\r\n\r\n", AG_ENOTFOUND, "not implemented" },
		{ "GET x HTTP/1.1\r\n\r\n", AG_EINVAL, "origin-form" },
		{ "GET /a b HTTP/1.1\r\n\r\n", AG_EINVAL, "request line" },
		{ "GET /\x01 HTTP/1.1\r\n\r\n", AG_EINVAL, "control" },
		{ "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", AG_EINVAL, "bare CR" },
		{ "GET / HTTP/1.1\r\nA: \x7f\r\n\r\n", AG_EINVAL, "control" },
		{ "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		    AG_EINVAL, "HTTP/1.0" },
		{ "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
		    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
		    "\r\n\r\n\r\n\r\n\r\n", AG_EINVAL, "empty request" },
	};
	struct ag_http1_head h;
	struct ag_err err;
	size_t i;
	ssize_t n;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = parse(&h, cases[i].in, &err);
		if (n != cases[i].code || strstr(err.msg, cases[i].msg) == NULL)
			print_error("case %zu: got %zd <%s>\n", i, n, err.msg);
		assert_int_equal(n, cases[i].code);
		assert_non_null(strstr(err.msg, cases[i].msg));
	}
}

/* Decodes s fed in pieces of step bytes into out; returns the rc. */
static int
dechunk(const char *s, size_t step, char *out, size_t *outlen,
    struct ag_err *err)
{
	struct ag_http1_chunked c;
	size_t len = strlen(s), off = 0, used, got;
	int rc = 0;

	ag_http1_chunked_init(&c);
	*outlen = 0;
	ag_err_clear(err);
	while (off < len && rc == 0) {
		size_t n = len - off < step ? len - off : step;

		rc = ag_http1_chunked_feed(&c, (const unsigned char *)s + off,
		    n, &used, (unsigned char *)out + *outlen, 256 - *outlen,
		    &got, err);
		*outlen += got;
		off += used;
		if (rc == 0 && used == 0 && got == 0)
			break;
	}
	return rc;
}

static void
test_chunked(void **state)
{
	const char *s = "5\r\nhello\r\n1;ext=1\r\n \r\n0\r\nX-T: 1\r\n\r\n";
	char out[256];
	struct ag_err err;
	size_t len, step;

	(void)state;
	for (step = 1; step <= strlen(s); step++) {
		assert_int_equal(dechunk(s, step, out, &len, &err), 1);
		assert_int_equal(len, 6);
		assert_memory_equal(out, "hello ", 6);
	}
	assert_int_equal(dechunk("A\r\n0123456789\r\n0\r\n\r\n", 3, out, &len,
	    &err), 1);
	assert_int_equal(len, 10);
	assert_int_equal(dechunk("5\r\nhello", 64, out, &len, &err), 0);
	assert_int_equal(dechunk("x\r\n", 64, out, &len, &err), AG_EINVAL);
	assert_int_equal(dechunk("5\r\nhelloXX\r\n", 64, out, &len, &err),
	    AG_EINVAL);
	assert_non_null(strstr(err.msg, "longer than its size"));
	assert_int_equal(dechunk("fffffffffffffffffff\r\n", 64, out, &len,
	    &err), AG_EINVAL);
	assert_non_null(strstr(err.msg, "overflows"));
}

static void
test_cookie(void **state)
{
	char v[16];

	(void)state;
	assert_int_equal(ag_http1_cookie("a=1; auger_session=xyz; b=2",
	    "auger_session", v, sizeof v), 0);
	assert_string_equal(v, "xyz");
	/* A longer name that starts the same is another cookie. */
	assert_int_equal(ag_http1_cookie("auger_sessionX=1;auger_session=2",
	    "auger_session", v, sizeof v), 0);
	assert_string_equal(v, "2");
	assert_int_equal(ag_http1_cookie("x=0123456789abcdef", "x", v,
	    sizeof v), -1);	/* does not fit */
	assert_int_equal(ag_http1_cookie("x; y=1", "x", v, sizeof v), -1);
	assert_int_equal(ag_http1_cookie("x=", "x", v, sizeof v), 0);
	assert_string_equal(v, "");
	assert_int_equal(ag_http1_cookie(NULL, "x", v, sizeof v), -1);
	assert_int_equal(ag_http1_cookie("", "x", v, sizeof v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_incomplete_and_limits),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_cookie),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

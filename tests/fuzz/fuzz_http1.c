/*
 * Fuzz target: HTTP/1.1 request framing (src/http1.c), the first code
 * that sees an anonymous client's bytes.
 *
 * Invariants checked (abort() on violation):
 * - a refusal carries a negative code and a non-empty message;
 * - an accepted head took at most the input, at most AG_HTTP1_MAX_HEAD
 *   plus the skipped empty lines, and yields a known method, a target
 *   starting with '/' (or "*"), HTTP/1.0 or 1.1, and never both a
 *   length and chunked;
 * - the rest of the input, decoded as a chunked body in two different
 *   piece sizes, gives the same result and the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auger/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
decode(const uint8_t *in, size_t len, size_t step, uint8_t *out,
    size_t *outlen)
{
	struct ag_http1_chunked c;
	struct ag_err err = { 0, "" };
	size_t off = 0, used, got;
	int rc = 0;

	ag_http1_chunked_init(&c);
	*outlen = 0;
	while (off < len && rc == 0) {
		size_t n = len - off < step ? len - off : step;

		rc = ag_http1_chunked_feed(&c, in + off, n, &used,
		    out + *outlen, len - *outlen, &got, &err);
		if (used > n || got > len - *outlen)
			abort();
		if (rc < 0 && (err.code >= 0 || err.msg[0] == '\0'))
			abort();
		*outlen += got;
		off += used;
		if (rc == 0 && used == 0 && got == 0)
			break;
	}
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ag_http1_head h;
	struct ag_err err = { 0, "" };
	uint8_t *a, *b;
	size_t alen, blen;
	ssize_t n;
	int ra, rb;

	n = ag_http1_head_parse(&h, (const char *)data, size, &err);
	if (n < 0) {
		if (err.code >= 0 || err.msg[0] == '\0')
			abort();
	} else if (n > 0) {
		if ((size_t)n > size || (size_t)n > AG_HTTP1_MAX_HEAD + 64)
			abort();
		if (h.method < AG_HTTP1_GET || h.method > AG_HTTP1_PATCH ||
		    (h.target[0] != '/' && strcmp(h.target, "*") != 0) ||
		    h.minor < 0 || h.minor > 9 ||
		    (h.chunked && h.length >= 0))
			abort();
		ag_http1_head_free(&h);
	}
	if ((a = malloc(size + 1)) == NULL || (b = malloc(size + 1)) == NULL) {
		free(a);
		return 0;
	}
	ra = decode(data, size, size ? size : 1, a, &alen);
	rb = decode(data, size, 3, b, &blen);
	if (ra != rb || (ra >= 0 && (alen != blen ||
	    memcmp(a, b, alen) != 0)))
		abort();
	free(a);
	free(b);
	return 0;
}

/*
 * HTTP/1.1 request framing over untrusted bytes (RFC 9112): the request
 * head and the chunked transfer coding, each with hard limits. Anything
 * a proxy and this server could read two ways (two lengths, a length and
 * a coding, folded lines, spaces before a colon) is refused, not guessed.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auger/http1.h"

static const struct {
	const char		*name;
	enum ag_http1_method	 m;
} http1_methods[] = {
	{ "GET", AG_HTTP1_GET },
	{ "HEAD", AG_HTTP1_HEAD },
	{ "POST", AG_HTTP1_POST },
	{ "PUT", AG_HTTP1_PUT },
	{ "DELETE", AG_HTTP1_DELETE },
	{ "OPTIONS", AG_HTTP1_OPTIONS },
	{ "PATCH", AG_HTTP1_PATCH },
};

/* RFC 9110 section 5.6.2: tchar. */
static int
http1_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

void
ag_http1_head_free(struct ag_http1_head *h)
{
	if (h == NULL)
		return;
	free(h->buf);
	h->buf = NULL;
}

const char *
ag_http1_field(const struct ag_http1_head *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->nfields; i++)
		if (strcasecmp(h->fields[i].name, name) == 0)
			return h->fields[i].value;
	return NULL;
}

/* Whether the comma-separated list v holds token tok (case-insensitive). */
static int
http1_list_has(const char *v, const char *tok)
{
	size_t n = strlen(tok);
	const char *p = v;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (strncasecmp(p, tok, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' ' ||
		    p[n] == '\t'))
			return 1;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

/* Content-Length: 1*DIGIT, at most 2^62. */
static int
http1_length(int64_t *out, const char *v)
{
	uint64_t n = 0;

	if (*v == '\0')
		return -1;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		n = n * 10 + (uint64_t)(*v - '0');
		if (n > ((uint64_t)1 << 62))
			return -1;
	}
	*out = (int64_t)n;
	return 0;
}

/* The request line, NUL-terminated in place. */
static int
http1_request_line(struct ag_http1_head *h, char *line, struct ag_err *err)
{
	char *sp1, *sp2, *v;
	size_t i;

	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' '))
		return ag_err_set(err, AG_EINVAL, "malformed request line: "
		    "want METHOD SP target SP HTTP/1.x");
	*sp1 = *sp2 = '\0';
	for (i = 0; line[i] != '\0'; i++)
		if (!http1_tchar((unsigned char)line[i]))
			return ag_err_set(err, AG_EINVAL,
			    "malformed request method");
	h->method_name = line;
	for (i = 0; i < sizeof http1_methods / sizeof http1_methods[0]; i++)
		if (strcmp(line, http1_methods[i].name) == 0)
			h->method = http1_methods[i].m;
	if (h->method == 0)
		return ag_err_set(err, AG_ENOTFOUND, "method %.32s is not "
		    "implemented", line);
	h->target = sp1 + 1;
	if (strlen(h->target) > AG_HTTP1_MAX_TARGET)
		return ag_err_set(err, AG_ETOOBIG, "request target is longer "
		    "than %d bytes", AG_HTTP1_MAX_TARGET);
	if (h->target[0] != '/' && !(h->method == AG_HTTP1_OPTIONS &&
	    strcmp(h->target, "*") == 0))
		return ag_err_set(err, AG_EINVAL, "request target must be an "
		    "absolute path (origin-form)");
	for (i = 0; h->target[i] != '\0'; i++) {
		unsigned char c = (unsigned char)h->target[i];

		if (c <= 0x20 || c >= 0x7f)
			return ag_err_set(err, AG_EINVAL, "request target "
			    "holds a control, space or non-ASCII byte");
	}
	v = sp2 + 1;
	if (strncmp(v, "HTTP/1.", 7) != 0 || v[7] < '0' || v[7] > '9' ||
	    v[8] != '\0')
		return ag_err_set(err, AG_EINVAL, "unsupported HTTP version "
		    "%.16s: HTTP/1.0 and HTTP/1.1 are served", v);
	h->minor = v[7] - '0';
	return 0;
}

static int
http1_field_line(struct ag_http1_head *h, char *line, struct ag_err *err)
{
	char *colon, *v, *end;
	size_t i;

	if (line[0] == ' ' || line[0] == '\t')
		return ag_err_set(err, AG_EINVAL, "obsolete line folding in "
		    "header fields is not accepted");
	if ((colon = strchr(line, ':')) == NULL || colon == line)
		return ag_err_set(err, AG_EINVAL, "malformed header field "
		    "line (no name before a colon)");
	for (i = 0; line + i < colon; i++)
		if (!http1_tchar((unsigned char)line[i]))
			return ag_err_set(err, AG_EINVAL, "malformed header "
			    "field name (no spaces before the colon)");
	*colon = '\0';
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	for (i = 0; v[i] != '\0'; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return ag_err_set(err, AG_EINVAL, "header field %.64s "
			    "holds a control byte", line);
	}
	if (h->nfields == AG_HTTP1_MAX_FIELDS)
		return ag_err_set(err, AG_ETOOBIG, "more than %d header "
		    "fields", AG_HTTP1_MAX_FIELDS);
	h->fields[h->nfields].name = line;
	h->fields[h->nfields].value = v;
	h->nfields++;
	return 0;
}

/* What the fields say about framing and the connection. */
static int
http1_framing(struct ag_http1_head *h, struct ag_err *err)
{
	const char *conn = NULL, *te = NULL;
	int64_t n;
	size_t i;

	h->length = -1;
	for (i = 0; i < h->nfields; i++) {
		const char *name = h->fields[i].name;
		const char *v = h->fields[i].value;

		if (strcasecmp(name, "Content-Length") == 0) {
			if (http1_length(&n, v) < 0)
				return ag_err_set(err, AG_EINVAL,
				    "malformed Content-Length");
			if (h->length >= 0 && h->length != n)
				return ag_err_set(err, AG_EINVAL,
				    "conflicting Content-Length fields");
			h->length = n;
		} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
			if (te != NULL)
				return ag_err_set(err, AG_EINVAL,
				    "more than one Transfer-Encoding field");
			te = v;
		} else if (strcasecmp(name, "Connection") == 0)
			conn = v;
		else if (strcasecmp(name, "Expect") == 0 &&
		    strcasecmp(v, "100-continue") == 0)
			h->expect_continue = 1;
	}
	if (te != NULL) {
		if (strcasecmp(te, "chunked") != 0)
			return ag_err_set(err, AG_ENOTFOUND, "Transfer-Encoding "
			    "%.64s is not implemented (only chunked)", te);
		if (h->length >= 0)
			return ag_err_set(err, AG_EINVAL, "both Content-Length "
			    "and Transfer-Encoding");
		if (h->minor == 0)
			return ag_err_set(err, AG_EINVAL, "Transfer-Encoding "
			    "in an HTTP/1.0 request");
		h->chunked = 1;
	}
	if (h->minor >= 1)
		h->keepalive = conn == NULL || !http1_list_has(conn, "close");
	else
		h->keepalive = conn != NULL && http1_list_has(conn,
		    "keep-alive");
	return 0;
}

ssize_t
ag_http1_head_parse(struct ag_http1_head *h, const char *buf, size_t len,
    struct ag_err *err)
{
	size_t skip = 0, end, i, headlen;
	char *p, *line, *nl;
	int first = 1, r;

	memset(h, 0, sizeof *h);
	/* Empty lines before the request line are ignored (RFC 9112 2.2). */
	while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n') &&
	    skip < 64)
		skip++;
	for (i = skip, end = 0; i < len && end == 0; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			end = i + 2;
		else if (i + 2 < len && buf[i + 1] == '\r' &&
		    buf[i + 2] == '\n')
			end = i + 3;
	}
	if (end == 0) {
		if (len - skip > AG_HTTP1_MAX_HEAD)
			return ag_err_set(err, AG_ETOOBIG, "request head is "
			    "larger than %d bytes", AG_HTTP1_MAX_HEAD);
		return 0;
	}
	headlen = end - skip;
	if (headlen > AG_HTTP1_MAX_HEAD)
		return ag_err_set(err, AG_ETOOBIG, "request head is larger "
		    "than %d bytes", AG_HTTP1_MAX_HEAD);
	for (i = skip; i < end; i++)
		if (buf[i] == '\0')
			return ag_err_set(err, AG_EINVAL,
			    "NUL byte in the request head");
	if ((h->buf = malloc(headlen + 1)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	memcpy(h->buf, buf + skip, headlen);
	h->buf[headlen] = '\0';
	for (p = h->buf; *p != '\0'; p = nl + 1) {
		line = p;
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (strchr(line, '\r') != NULL) {
			r = ag_err_set(err, AG_EINVAL,
			    "bare CR in the request head");
			goto fail;
		}
		if (*line == '\0')
			break;	/* the empty line that ends the head */
		r = first ? http1_request_line(h, line, err) :
		    http1_field_line(h, line, err);
		if (r < 0)
			goto fail;
		first = 0;
	}
	if (first) {
		r = ag_err_set(err, AG_EINVAL, "empty request");
		goto fail;
	}
	if ((r = http1_framing(h, err)) < 0)
		goto fail;
	return (ssize_t)end;
fail:
	ag_http1_head_free(h);
	return r;
}

enum {
	CH_SIZE = 0,	/* hex digits of the chunk size */
	CH_EXT,		/* after the size: BWS, extensions, up to LF */
	CH_DATA,
	CH_DATA_CR,	/* the CRLF after a chunk's data */
	CH_DATA_LF,
	CH_TRAILER_START,	/* at the start of a trailer line */
	CH_TRAILER_LINE,
	CH_TRAILER_LF,	/* CR of the final empty line seen */
	CH_DONE
};

void
ag_http1_chunked_init(struct ag_http1_chunked *c)
{
	memset(c, 0, sizeof *c);
	c->state = CH_SIZE;
}

static int
hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
ag_http1_chunked_feed(struct ag_http1_chunked *c, const unsigned char *in,
    size_t inlen, size_t *used, unsigned char *out, size_t outcap,
    size_t *outlen, struct ag_err *err)
{
	size_t i = 0, n;
	int v;

	*outlen = 0;
	while (i < inlen && c->state != CH_DONE) {
		unsigned char ch = in[i];

		switch (c->state) {
		case CH_SIZE:
		case CH_EXT:
			if (++c->linelen > AG_HTTP1_MAX_CHUNK_LINE) {
				*used = i;
				return ag_err_set(err, AG_EINVAL, "chunk size "
				    "line is longer than %d bytes",
				    AG_HTTP1_MAX_CHUNK_LINE);
			}
			if (c->state == CH_SIZE &&
			    (v = hexval(ch)) >= 0) {
				if (c->left > ((uint64_t)1 << 58)) {
					*used = i;
					return ag_err_set(err, AG_EINVAL,
					    "chunk size overflows");
				}
				c->left = c->left * 16 + (uint64_t)v;
				c->sawdigit = 1;
				i++;
				break;
			}
			if (!c->sawdigit) {
				*used = i;
				return ag_err_set(err, AG_EINVAL,
				    "malformed chunk size");
			}
			if (ch == '\n') {
				c->linelen = 0;
				c->sawdigit = 0;
				c->state = c->left == 0 ? CH_TRAILER_START :
				    CH_DATA;
			} else if (c->state == CH_SIZE && ch != ';' &&
			    ch != ' ' && ch != '\t' && ch != '\r') {
				*used = i;
				return ag_err_set(err, AG_EINVAL,
				    "malformed chunk size");
			} else
				c->state = CH_EXT;
			i++;
			break;
		case CH_DATA:
			n = inlen - i;
			if (n > c->left)
				n = (size_t)c->left;
			if (n > outcap - *outlen)
				n = outcap - *outlen;
			if (n == 0) {	/* out is full */
				*used = i;
				return 0;
			}
			memcpy(out + *outlen, in + i, n);
			*outlen += n;
			c->left -= n;
			i += n;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			break;
		case CH_DATA_CR:
			if (ch == '\n') {
				c->state = CH_SIZE;
			} else if (ch == '\r')
				c->state = CH_DATA_LF;
			else {
				*used = i;
				return ag_err_set(err, AG_EINVAL, "chunk data "
				    "is longer than its size");
			}
			i++;
			break;
		case CH_DATA_LF:
			if (ch != '\n') {
				*used = i;
				return ag_err_set(err, AG_EINVAL, "chunk data "
				    "is longer than its size");
			}
			c->state = CH_SIZE;
			i++;
			break;
		case CH_TRAILER_START:
		case CH_TRAILER_LINE:
		case CH_TRAILER_LF:
			if (++c->trailer > AG_HTTP1_MAX_TRAILERS) {
				*used = i;
				return ag_err_set(err, AG_EINVAL, "chunked "
				    "trailer is larger than %d bytes",
				    AG_HTTP1_MAX_TRAILERS);
			}
			if (c->state == CH_TRAILER_LF) {
				if (ch != '\n') {
					*used = i;
					return ag_err_set(err, AG_EINVAL,
					    "malformed chunked trailer");
				}
				c->state = CH_DONE;
			} else if (ch == '\n')
				c->state = c->state == CH_TRAILER_START ?
				    CH_DONE : CH_TRAILER_START;
			else if (ch == '\r' && c->state == CH_TRAILER_START)
				c->state = CH_TRAILER_LF;
			else if (ch != '\r')
				c->state = CH_TRAILER_LINE;
			i++;
			break;
		}
	}
	*used = i;
	return c->state == CH_DONE ? 1 : 0;
}

int
ag_http1_cookie(const char *h, const char *name, char *out, size_t outsz)
{
	const char *p, *e, *v;
	size_t n = strlen(name);

	if (h == NULL || n == 0 || outsz == 0)
		return -1;
	for (p = h; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		while (*p == ' ' || *p == '\t')
			p++;
		if ((e = strchr(p, ';')) == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) <= n || strncmp(p, name, n) != 0 ||
		    p[n] != '=')
			continue;
		v = p + n + 1;
		if ((size_t)(e - v) >= outsz)
			return -1;
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = '\0';
		return 0;
	}
	return -1;
}

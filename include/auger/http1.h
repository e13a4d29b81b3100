/*
 * HTTP/1.1 request framing (RFC 9112) over untrusted bytes: the request
 * head (request line and header fields) and the chunked transfer coding.
 * Pure parsing with hard limits; the daemon owns sockets and replies.
 */
#ifndef AUGER_HTTP1_H
#define AUGER_HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "auger/err.h"

#define AG_HTTP1_MAX_HEAD	(32 * 1024)	/* request line + fields */
#define AG_HTTP1_MAX_FIELDS	100
#define AG_HTTP1_MAX_TARGET	8192
#define AG_HTTP1_MAX_CHUNK_LINE	1024		/* size + extensions */
#define AG_HTTP1_MAX_TRAILERS	(8 * 1024)

enum ag_http1_method {
	AG_HTTP1_GET = 1,
	AG_HTTP1_HEAD,
	AG_HTTP1_POST,
	AG_HTTP1_PUT,
	AG_HTTP1_DELETE,
	AG_HTTP1_OPTIONS,
	AG_HTTP1_PATCH
};

struct ag_http1_field {
	const char	*name;	/* into the head's copy, NUL-terminated */
	const char	*value;	/* trimmed, NUL-terminated */
};

struct ag_http1_head {
	char			*buf;		/* owned copy of the head */
	enum ag_http1_method	 method;
	const char		*method_name;
	const char		*target;	/* origin-form: /path?query */
	int			 minor;		/* HTTP/1.<minor> */
	struct ag_http1_field	 fields[AG_HTTP1_MAX_FIELDS];
	size_t			 nfields;
	/* Derived from the fields: */
	int			 chunked;	/* Transfer-Encoding: chunked */
	int64_t			 length;	/* Content-Length, or -1 */
	int			 keepalive;	/* the connection may be reused */
	int			 expect_continue;
};

/*
 * Parses a request head at the start of buf. Returns the bytes it took
 * (the head ends with an empty line), 0 when buf holds no complete head
 * yet (and it is under the limit), or a negative AG_E* code: AG_ETOOBIG
 * for a head over AG_HTTP1_MAX_HEAD (431), AG_EINVAL for malformed
 * input, AG_ENOTFOUND for a method or transfer coding not implemented
 * (501). Leading empty lines are skipped, as RFC 9112 section 2.2 allows.
 */
ssize_t	ag_http1_head_parse(struct ag_http1_head *h, const char *buf,
	    size_t len, struct ag_err *err);
void	ag_http1_head_free(struct ag_http1_head *h);
/* The value of the first field named name (case-insensitive), or NULL. */
const char *ag_http1_field(const struct ag_http1_head *h, const char *name);

/*
 * The value of cookie name in a Cookie header ("a=1; b=2"), copied into
 * out: 0, or -1 when it is not there or its value does not fit. The first
 * pair with that exact name wins; pairs without '=' are skipped.
 */
int	ag_http1_cookie(const char *header, const char *name, char *out,
	    size_t outsz);

/* The chunked transfer coding, decoded incrementally. */
struct ag_http1_chunked {
	int		 state;
	uint64_t	 left;		/* data bytes left in this chunk */
	size_t		 linelen;	/* bytes of the current size line */
	size_t		 trailer;	/* trailer bytes seen */
	int		 sawdigit;
};

void	ag_http1_chunked_init(struct ag_http1_chunked *c);
/*
 * Decodes from in: *used is how many bytes of in were taken, and the
 * data found is appended to out (at most outcap bytes; *outlen of them
 * written). Returns 1 when the last chunk and its trailer ended, 0 when
 * more input is needed, or AG_EINVAL for a malformed stream.
 */
int	ag_http1_chunked_feed(struct ag_http1_chunked *c,
	    const unsigned char *in, size_t inlen, size_t *used,
	    unsigned char *out, size_t outcap, size_t *outlen,
	    struct ag_err *err);

#endif

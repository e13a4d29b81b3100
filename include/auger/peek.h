/*
 * A protocol v0 upload-pack request read ahead of the engine, to tell
 * whether it has the one shape the fetch cache can answer over a stateful
 * transport (SSH): want lines (with any shallow, deepen or filter lines),
 * a flush, then "done", and no haves. Whatever was read is handed back
 * first by ag_peek_read, so the engine sees the stream untouched.
 *
 * The git CLI, asked for a shallow clone, waits for the server's shallow
 * lines before it sends "done"; go-git sends its whole request at once.
 * So after a deepen line "done" is looked for only when the client has
 * already sent more (ready), never waited for.
 */
#ifndef AUGER_PEEK_H
#define AUGER_PEEK_H

#include <stddef.h>
#include <sys/types.h>

#include "auger/io.h"

#define AG_PEEK_MAX		65536	/* as much as HTTP's cache keys */
#define AG_PEEK_READY_MS	10

struct ag_peek {
	unsigned char	 buf[AG_PEEK_MAX];
	size_t		 len;		/* read ahead */
	size_t		 off;		/* handed back so far */
	struct ag_io	*under;
	int		 ended;		/* under said EOF */
};

/* Has the client sent more within ms? 1 yes, 0 no, < 0 gone. */
typedef int (*ag_peek_ready_fn)(void *ctx, int ms);

void	ag_peek_init(struct ag_peek *p, struct ag_io *under);
/*
 * Reads the request ahead (never past its "done", nor more than
 * AG_PEEK_MAX): 1 when it has the cacheable shape, the request then being
 * p->buf[0..p->len); else 0. ready is asked on under's ctx.
 */
int	ag_peek_request(struct ag_peek *p, ag_peek_ready_fn ready);
/*
 * Protocol v2 over a stateful transport: reads the next command request
 * ahead, whole (its lines up to the flush that ends it; flushes before it,
 * empty requests, are dropped). 1 when p->buf[0..p->len) is that request:
 * ag_peek_read then hands it back and ends there, so the engine answers
 * just it; *fetch is set when it is a fetch with "done" and no haves (a
 * clone's, the cacheable shape). 0 at the end of input before any
 * request. -1 when it is malformed, cut short or larger than AG_PEEK_MAX:
 * what was read is handed back, then the rest of the stream.
 */
int	ag_peek_command(struct ag_peek *p, int *fetch);
/* An ag_io read on a struct ag_peek: what was read ahead, then under. */
ssize_t	ag_peek_read(void *ctx, void *buf, size_t len);

#endif

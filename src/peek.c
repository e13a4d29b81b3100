/* A v0 upload-pack request read ahead of the engine (see peek.h). */
#include <string.h>

#include "auger/peek.h"
#include "auger/pkt.h"

void
ag_peek_init(struct ag_peek *p, struct ag_io *under)
{
	p->len = p->off = 0;
	p->under = under;
	p->ended = 0;
}

ssize_t
ag_peek_read(void *ctx, void *buf, size_t len)
{
	struct ag_peek *p = ctx;
	size_t n = p->len - p->off;

	if (n == 0)
		return p->ended ? 0 : p->under->read(p->under->ctx, buf, len);
	if (n > len)
		n = len;
	memcpy(buf, p->buf + p->off, n);
	p->off += n;
	return (ssize_t)n;
}

/* Reads until p holds want bytes: 0, or -1 at EOF, an error or the cap. */
static int
peek_fill(struct ag_peek *p, size_t want)
{
	ssize_t n;

	if (want > sizeof p->buf)
		return -1;
	while (p->len < want) {
		n = p->under->read(p->under->ctx, p->buf + p->len,
		    want - p->len);
		if (n <= 0) {
			/* The engine meets the same end after the replay. */
			p->ended = n == 0;
			return -1;
		}
		p->len += (size_t)n;
	}
	return 0;
}

/*
 * Reads one packet ahead: its length (0 for a flush, 1 and 2 for the
 * other special packets, 4.. for data, its payload at *payload), or -1.
 */
static int
peek_pkt(struct ag_peek *p, const unsigned char **payload)
{
	char hdr[5];
	size_t at = p->len;
	int n;

	if (peek_fill(p, at + 4) < 0)
		return -1;
	memcpy(hdr, p->buf + at, 4);
	hdr[4] = '\0';
	if ((n = ag_pkt_parse_len(hdr)) < 0 || n == 3)
		return -1;
	if (n >= 4 && peek_fill(p, at + (size_t)n) < 0)
		return -1;
	*payload = p->buf + at + 4;
	return n;
}

static int
starts(const unsigned char *p, int n, const char *word)
{
	size_t w = strlen(word);

	return n >= 4 && (size_t)(n - 4) >= w && memcmp(p, word, w) == 0;
}

/*
 * Reads the request ahead: 1 when it is wants (and shallow, deepen or
 * filter lines), a flush and "done", the shape an identical later request
 * can be answered for from the cache. 0 otherwise; all is replayed.
 */
int
ag_peek_request(struct ag_peek *p, ag_peek_ready_fn ready)
{
	const unsigned char *pl;
	int n, lines = 0, deepen = 0;

	for (;;) {
		if ((n = peek_pkt(p, &pl)) < 0)
			return 0;
		if (n == 0)
			break;
		if (n < 4 || (lines == 0 && !starts(pl, n, "want ")))
			return 0;
		lines++;
		if (starts(pl, n, "deepen"))
			deepen = 1;
	}
	if (lines == 0)
		return 0;	/* a bare flush: nothing wanted */
	/* A shallow request's client may wait for our shallow lines. */
	if (deepen && ready(p->under->ctx, AG_PEEK_READY_MS) <= 0)
		return 0;
	if ((n = peek_pkt(p, &pl)) < 4)
		return 0;
	return (n == 8 && memcmp(pl, "done", 4) == 0) ||
	    (n == 9 && memcmp(pl, "done\n", 5) == 0);
}

/* A payload line equal to word, with or without its newline. */
static int
is_line(const unsigned char *p, int n, const char *word)
{
	size_t w = strlen(word), l = (size_t)(n - 4);

	if (l > 0 && p[l - 1] == '\n')
		l--;
	return l == w && memcmp(p, word, w) == 0;
}

/*
 * Reads one v2 command request ahead, whole: up to the flush that ends
 * it. Bare flushes before it ask for nothing and are dropped.
 */
int
ag_peek_command(struct ag_peek *p, int *fetch)
{
	const unsigned char *pl;
	size_t at;
	int n, lines = 0, args = 0, done = 0, haves = 0, cmd_fetch = 0;

	p->len = p->off = 0;
	p->ended = 0;
	*fetch = 0;
	for (;;) {
		at = p->len;
		if ((n = peek_pkt(p, &pl)) < 0)
			return lines == 0 && p->len == 0 && p->ended ? 0 : -1;
		if (n == 0 && lines == 0) {
			p->len = at;	/* an empty request */
			continue;
		}
		if (n == 0)
			break;
		if (n == 2)
			return -1;	/* response-end: not a request */
		lines++;
		if (n == 1) {
			args = 1;	/* the capabilities end here */
			continue;
		}
		if (!args && is_line(pl, n, "command=fetch"))
			cmd_fetch = 1;
		else if (args && is_line(pl, n, "done"))
			done = 1;
		else if (args && starts(pl, n, "have "))
			haves = 1;
	}
	*fetch = cmd_fetch && done && !haves;
	p->ended = 1;		/* the engine sees the request's end */
	return 1;
}

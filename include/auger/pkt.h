/* pkt-line framing (gitprotocol-common), side-band, and bounded reading. */
#ifndef AUGER_PKT_H
#define AUGER_PKT_H

#include <stddef.h>

#include "auger/err.h"
#include "auger/io.h"

#define AG_PKT_MAX	65520	/* a pkt-line, its 4-byte header included */
#define AG_PKT_DATA_MAX	(AG_PKT_MAX - 4)
#define AG_BAND_MAX	(AG_PKT_DATA_MAX - 1)	/* 65515 payload per band pkt */

enum ag_pkt_type {
	AG_PKT_EOF = 0,		/* the stream ended cleanly between packets */
	AG_PKT_DATA,
	AG_PKT_FLUSH,		/* 0000 */
	AG_PKT_DELIM,		/* 0001 */
	AG_PKT_END		/* 0002, response-end */
};

struct ag_pkt_reader {
	struct ag_io	*io;
	unsigned char	 buf[65536];
	size_t		 off;		/* next unread byte in buf */
	size_t		 len;		/* bytes held in buf */
	char		 line[AG_PKT_MAX + 1];	/* last payload, NUL-ended */
	size_t		 total;		/* bytes consumed so far */
	size_t		 total_max;	/* 0: no cap on the whole stream */
};

void	ag_pkt_reader_init(struct ag_pkt_reader *r, struct ag_io *io,
	    size_t total_max);
/*
 * Reads one packet. On AG_PKT_DATA, *line points into r (valid until the
 * next read), NUL-terminated, and *len excludes one trailing LF when
 * chomp is set. Returns the type, or a negative AG_E* code.
 */
int	ag_pkt_read(struct ag_pkt_reader *r, const char **line, size_t *len,
	    int chomp, struct ag_err *err);
/* Reads raw bytes that follow the pkt-lines (a pack): count, 0 at EOF. */
long	ag_pkt_read_raw(struct ag_pkt_reader *r, void *buf, size_t len,
	    struct ag_err *err);

/*
 * Parses the 4-hex-digit length at p; returns the length (0, 1, 2 for the
 * special packets, or 4..AG_PKT_MAX), or -1 when it is not a valid header.
 */
int	ag_pkt_parse_len(const char *p);

/* A buffered writer of pkt-lines on top of an io. */
struct ag_pkt_writer {
	struct ag_io	*io;
	unsigned char	 buf[65536];
	size_t		 len;
	int		 failed;
};

void	ag_pkt_writer_init(struct ag_pkt_writer *w, struct ag_io *io);
int	ag_pkt_write(struct ag_pkt_writer *w, const void *data, size_t len);
int	ag_pkt_printf(struct ag_pkt_writer *w, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	ag_pkt_flush(struct ag_pkt_writer *w);	/* writes 0000 */
int	ag_pkt_delim(struct ag_pkt_writer *w);	/* writes 0001 */
/* Writes data on band 1-3, split into packets of at most AG_BAND_MAX. */
int	ag_pkt_band(struct ag_pkt_writer *w, int band, const void *data,
	    size_t len);
int	ag_pkt_raw(struct ag_pkt_writer *w, const void *data, size_t len);
/* Hands the buffered bytes to the io and asks it to flush. */
int	ag_pkt_push(struct ag_pkt_writer *w);

#endif

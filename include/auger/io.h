/* A byte stream seen by the protocol engines: HTTP bodies and SSH channels. */
#ifndef AUGER_IO_H
#define AUGER_IO_H

#include <stddef.h>
#include <sys/types.h>

struct ag_io {
	/* Reads at most len bytes: the count, 0 at end of input, < 0 on error. */
	ssize_t	(*read)(void *ctx, void *buf, size_t len);
	/* Writes all len bytes: 0, or < 0 once the peer is gone. */
	int	(*write)(void *ctx, const void *buf, size_t len);
	/* Optional: pushes buffered bytes toward the peer now. */
	int	(*flush)(void *ctx);
	void	*ctx;
};

/* An io reading from a fixed memory buffer and discarding writes. */
struct ag_io_mem {
	const unsigned char	*data;
	size_t			 len;
	size_t			 off;
};

void	ag_io_mem_init(struct ag_io *io, struct ag_io_mem *m, const void *data,
	    size_t len);

/* An io whose writes append to a growing memory buffer (p is malloc'd). */
struct ag_io_buf {
	char	*p;
	size_t	 len, cap;
};

void	ag_io_buf_init(struct ag_io *io, struct ag_io_buf *b);

#endif

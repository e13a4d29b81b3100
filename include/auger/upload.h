/*
 * upload-pack: the serving half of fetch and clone, protocol v0/v1 and v2
 * (gitprotocol-pack, gitprotocol-v2), over any byte stream.
 */
#ifndef AUGER_UPLOAD_H
#define AUGER_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "auger/err.h"
#include "auger/io.h"
#include "auger/pkt.h"
#include "auger/refs.h"

/* Hard limits on what one request may carry. */
#define AG_UPLOAD_MAX_WANTS	65536
#define AG_UPLOAD_MAX_HAVES	65536
#define AG_UPLOAD_MAX_SHALLOWS	65536
#define AG_UPLOAD_MAX_PREFIXES	1024
#define AG_UPLOAD_INFINITE_DEPTH 0x7fffffff

/* Client capabilities that shape the answer. */
#define AG_CAP_MULTI_ACK		0x0001
#define AG_CAP_MULTI_ACK_DETAILED	0x0002
#define AG_CAP_NO_DONE			0x0004
#define AG_CAP_SIDE_BAND		0x0008
#define AG_CAP_SIDE_BAND_64K		0x0010
#define AG_CAP_OFS_DELTA		0x0020
#define AG_CAP_NO_PROGRESS		0x0040
#define AG_CAP_INCLUDE_TAG		0x0080
#define AG_CAP_SHALLOW			0x0100
#define AG_CAP_DEEPEN_RELATIVE		0x0200
#define AG_CAP_THIN_PACK		0x0400

#define AG_UPLOAD_MAX_DEEPEN_NOT	256	/* deepen-not lines */

struct ag_oidvec {
	git_oid	*v;
	size_t	 n, cap;
};

struct ag_upload_req {
	struct ag_oidvec wants;
	struct ag_oidvec haves;
	struct ag_oidvec shallows;	/* the client's shallow commits */
	int		 depth;		/* 0: not deepening */
	int64_t		 deepen_since;	/* 0: none; else a commit time */
	char		**deepen_not;	/* ref names, owned */
	size_t		 ndeepen_not;
	unsigned	 caps;
	int		 done;
	int		 saw_wants_flush;	/* v0: the wants section ended */
	char		 agent[128];
};

void	ag_upload_req_init(struct ag_upload_req *req);
void	ag_upload_req_free(struct ag_upload_req *req);

/*
 * Parses the v0 wants section ("want", "shallow", "deepen" lines up to a
 * flush). An empty section (a bare flush: git's probe) leaves wants empty.
 */
int	ag_upload_parse_wants(struct ag_upload_req *req,
	    struct ag_pkt_reader *r, struct ag_err *err);
/*
 * Parses the v2 fetch arguments (after the delimiter, up to the flush),
 * or, for ls-refs, fills prefixes. Exposed for the fuzz targets.
 */
int	ag_upload_parse_fetch_v2(struct ag_upload_req *req,
	    struct ag_pkt_reader *r, struct ag_err *err);

/* What the last pack of an exchange was made of, for the access log. */
struct ag_upload_stats {
	size_t		objects;	/* entries in it */
	size_t		reused;		/* copied as stored */
	size_t		deltas;		/* of those, deltas */
	uint64_t	bytes;
	int		whole_pack;	/* a maintained pack sent as it is */
};

struct ag_upload_opts {
	int	stateless;	/* HTTP: one round per request */
	int	keepalive_ms;	/* side-band keepalive while packing; 0: 5000 */
	struct ag_upload_stats *stats;	/* filled when a pack was sent; NULL */
	/* Polled while the pack is built: nonzero stops it (client gone). */
	int	(*cancelled)(void *arg);
	void	*cancel_arg;
};

/*
 * Serves one v0/v1 upload-pack exchange after the advertisement: reads
 * wants, haves and done from io, answers, and streams the pack. Errors the
 * client should see are sent as ERR packets and also returned.
 */
int	ag_upload_v0(git_repository *repo, const struct ag_refs *refs,
	    struct ag_io *io, const struct ag_upload_opts *opts,
	    struct ag_err *err);

/*
 * Serves protocol v2 commands (ls-refs, fetch) read from io: one when
 * stateless, else until the stream ends.
 */
int	ag_upload_v2(git_repository *repo, const struct ag_refs *refs,
	    struct ag_io *io, const struct ag_upload_opts *opts,
	    struct ag_err *err);

#endif

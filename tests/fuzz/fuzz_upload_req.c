/*
 * Fuzzes upload-pack request parsing (src/upload.c): the v0 wants section
 * and then, on the same reader, the lines that follow it (have, done...)
 * as v2 fetch arguments; then the whole input again as v2 arguments.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auger/upload.h"

#define FUZZ_MAX_INPUT	(1024 * 1024)

/* The request must hold no more than the limits allow. */
static void
check(const struct ag_upload_req *req)
{
	if (req->wants.n > AG_UPLOAD_MAX_WANTS ||
	    req->haves.n > AG_UPLOAD_MAX_HAVES ||
	    req->shallows.n > AG_UPLOAD_MAX_SHALLOWS ||
	    req->depth < 0 || req->depth > AG_UPLOAD_INFINITE_DEPTH ||
	    strnlen(req->agent, sizeof req->agent) >= sizeof req->agent)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ag_pkt_reader *r;
	struct ag_upload_req req;
	struct ag_err err;
	struct ag_io io;
	struct ag_io_mem m;
	int rc;

	if (size > FUZZ_MAX_INPUT || (r = malloc(sizeof *r)) == NULL)
		return 0;

	/* v0: wants, then haves and the rest as v2-style arguments */
	ag_io_mem_init(&io, &m, data, size);
	ag_pkt_reader_init(r, &io, FUZZ_MAX_INPUT);
	ag_upload_req_init(&req);
	ag_err_clear(&err);
	rc = ag_upload_parse_wants(&req, r, &err);
	if (rc < 0 && (err.code != rc || err.msg[0] == '\0'))
		abort();
	check(&req);
	if (rc == 0 && req.saw_wants_flush) {
		ag_err_clear(&err);
		rc = ag_upload_parse_fetch_v2(&req, r, &err);
		if (rc < 0 && (err.code != rc || err.msg[0] == '\0'))
			abort();
		check(&req);
	}
	ag_upload_req_free(&req);

	/* v2: the same bytes as fetch arguments */
	ag_io_mem_init(&io, &m, data, size);
	ag_pkt_reader_init(r, &io, FUZZ_MAX_INPUT);
	ag_upload_req_init(&req);
	ag_err_clear(&err);
	rc = ag_upload_parse_fetch_v2(&req, r, &err);
	if (rc < 0 && (err.code != rc || err.msg[0] == '\0'))
		abort();
	check(&req);
	ag_upload_req_free(&req);
	free(r);
	return 0;
}

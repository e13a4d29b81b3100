/*
 * Fuzzes receive-pack request parsing (src/receive.c): ref update
 * commands, capabilities and push options, up to where a pack starts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auger/receive.h"

#define FUZZ_MAX_INPUT	(1024 * 1024)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ag_pkt_reader *r;
	struct ag_receive_req req;
	struct ag_err err = { 0, "" };
	struct ag_io io;
	struct ag_io_mem m;
	size_t i;
	int rc;

	if (size > FUZZ_MAX_INPUT || (r = malloc(sizeof *r)) == NULL)
		return 0;
	ag_io_mem_init(&io, &m, data, size);
	ag_pkt_reader_init(r, &io, FUZZ_MAX_INPUT);
	memset(&req, 0, sizeof req);
	rc = ag_receive_parse(&req, r, &err);
	if (rc < 0 && (err.code != rc || err.msg[0] == '\0'))
		abort();
	if (req.n > AG_RECEIVE_MAX_COMMANDS ||
	    req.noptions > AG_RECEIVE_MAX_OPTIONS ||
	    strnlen(req.agent, sizeof req.agent) >= sizeof req.agent)
		abort();
	for (i = 0; i < req.n; i++) {
		const char *ref = req.cmds[i].ref;

		/* a parsed ref is non-empty, without spaces or NUL */
		if (ref == NULL || ref[0] == '\0' || strchr(ref, ' ') != NULL ||
		    req.cmds[i].error != NULL)
			abort();
	}
	for (i = 0; i < req.noptions; i++)
		if (req.options[i] == NULL ||
		    strlen(req.options[i]) > AG_RECEIVE_MAX_OPTION)
			abort();
	ag_receive_req_free(&req);
	free(r);
	return 0;
}

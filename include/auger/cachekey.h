/*
 * The fetch cache's key of an upload-pack request: a SHA-256 over the
 * repository, its ref state, the protocol version and the request's
 * pkt-line payloads (length prefixes left out), with the first want
 * line's capabilities sorted and agent=... dropped, so that requests which
 * differ only in the client's name or the order of what it asks for share
 * one answer. Bytes past the last whole pkt-line are hashed as they are.
 */
#ifndef AUGER_CACHEKEY_H
#define AUGER_CACHEKEY_H

#include <stddef.h>

void	ag_cachekey(unsigned char key[32], const char *repo, const char *state,
	    int v2, const unsigned char *body, size_t len);

#endif

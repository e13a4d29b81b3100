/*
 * Fuzzes the fetch cache's request key (src/cachekey.c) over arbitrary
 * bodies: it must not crash, must be deterministic, and two want lines
 * built from the input's words that differ only in the agent and the
 * order of capabilities must get the same key (while a different
 * capability set gets another).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auger/cachekey.h"

#define FUZZ_MAX_INPUT	65536
#define MAX_WORDS	16

static size_t
put_pkt(unsigned char *out, size_t at, const char *line, size_t n)
{
	char hex[8];

	snprintf(hex, sizeof hex, "%04x", (unsigned)(n + 4));
	memcpy(out + at, hex, 4);
	memcpy(out + at + 4, line, n);
	return at + n + 4;
}

/* The body "want <id> <words in order> agent=<agent>\n" flush done. */
static size_t
body(unsigned char *out, char words[][32], size_t nw, const size_t *order,
    const char *agent)
{
	char line[1024];
	size_t n, i, at;

	n = (size_t)snprintf(line, sizeof line, "want %040d", 7);
	for (i = 0; i < nw; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, " %s",
		    words[order[i]]);
	n += (size_t)snprintf(line + n, sizeof line - n, " agent=%s\n", agent);
	at = put_pkt(out, 0, line, n);
	memcpy(out + at, "0000", 4);
	return put_pkt(out, at + 4, "done\n", 5);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char k1[32], k2[32], b1[2048], b2[2048];
	char words[MAX_WORDS][32];
	size_t order[MAX_WORDS] = { 0 }, nw = 0, i, j, l1, l2;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	ag_cachekey(k1, "repo", "state", size & 1, data, size);
	ag_cachekey(k2, "repo", "state", size & 1, data, size);
	if (memcmp(k1, k2, 32) != 0)
		abort();
	/* Capability-like words from the input: [a-z0-9-], 1..31 bytes. */
	for (i = 0; i < size && nw < MAX_WORDS;) {
		size_t n = 0;

		while (i < size && n < 31 && ((data[i] >= 'a' &&
		    data[i] <= 'z') || (data[i] >= '0' && data[i] <= '9') ||
		    data[i] == '-'))
			words[nw][n++] = (char)data[i++];
		words[nw][n] = '\0';
		if (n > 0 && strncmp(words[nw], "agent", 5) != 0) {
			for (j = 0; j < nw; j++)
				if (strcmp(words[j], words[nw]) == 0)
					break;
			if (j == nw)
				nw++;
		}
		i++;
	}
	for (i = 0; i < nw; i++)
		order[i] = i;
	l1 = body(b1, words, nw, order, "git/2.39.5");
	for (i = 0; i < nw; i++)
		order[i] = nw - 1 - i;
	l2 = body(b2, words, nw, order, "go-git/5.4.2-long-agent-name");
	ag_cachekey(k1, "r", "s", 0, b1, l1);
	ag_cachekey(k2, "r", "s", 0, b2, l2);
	if (memcmp(k1, k2, 32) != 0)
		abort();	/* order or agent changed the key */
	if (nw > 1) {
		l2 = body(b2, words, nw - 1, order, "git/2.39.5");
		ag_cachekey(k2, "r", "s", 0, b2, l2);
		if (memcmp(k1, k2, 32) == 0)
			abort();	/* a capability fewer: same key */
	}
	return 0;
}

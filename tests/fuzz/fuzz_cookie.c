/*
 * Fuzz target: the Cookie header parser (ag_http1_cookie), which reads a
 * signed-out browser's header before any session exists.
 *
 * Input: the first byte picks the output buffer size (1..64), the rest up
 * to a NUL is the name and after it the header. Invariants (abort()):
 * - a found value fits the buffer, is NUL-terminated, holds no ';', and
 *   appears in the header right after "name=";
 * - not found leaves no claim; the parser never reads past the header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auger/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name, *hdr, out[65], *pat;
	const uint8_t *nul;
	size_t outsz, nlen;

	if (size < 2)
		return 0;
	outsz = (size_t)(data[0] % 64) + 1;
	data++;
	size--;
	if ((nul = memchr(data, 0, size)) == NULL)
		return 0;
	nlen = (size_t)(nul - data);
	name = malloc(nlen + 1);
	hdr = malloc(size - nlen);
	memcpy(name, data, nlen);
	name[nlen] = '\0';
	memcpy(hdr, nul + 1, size - nlen - 1);
	hdr[size - nlen - 1] = '\0';
	memset(out, 'X', sizeof out);
	if (ag_http1_cookie(hdr, name, out, outsz) == 0) {
		if (memchr(out, '\0', outsz) == NULL || strchr(out, ';') != NULL)
			abort();
		if ((pat = malloc(nlen + strlen(out) + 2)) == NULL)
			abort();
		memcpy(pat, name, nlen);
		pat[nlen] = '=';
		strcpy(pat + nlen + 1, out);
		if (strstr(hdr, pat) == NULL)
			abort();
		free(pat);
	}
	free(name);
	free(hdr);
	return 0;
}

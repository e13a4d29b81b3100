/* The fetch cache's request key (see cachekey.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auger/cachekey.h"

/* A capability word inside a request line: not NUL-terminated. */
struct word {
	const unsigned char	*p;
	size_t			 n;
};

static int
cmp_word(const void *a, const void *b)
{
	const struct word *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

/*
 * Hashes one pkt-line payload: capabilities after an id (v0's first want
 * line) in sorted order and without agent=..., since neither their order
 * nor the client's name changes the answer; anything else as it is.
 */
static void
key_line(EVP_MD_CTX *md, const unsigned char *p, size_t n)
{
	struct word caps[64];
	const unsigned char *sp, *c, *e, *end = p + n;
	size_t ncaps = 0, i;
	int whole = 1;

	if (n > 46 && memcmp(p, "want ", 5) == 0 &&
	    (sp = memchr(p + 5, ' ', n - 5)) != NULL) {
		for (c = sp + 1; c < end; c = e + 1) {
			for (e = c; e < end && *e != ' ' && *e != '\n'; e++)
				;
			if (e > c && !((size_t)(e - c) >= 6 &&
			    memcmp(c, "agent=", 6) == 0)) {
				if (ncaps == 64) {
					whole = 0;	/* hashed as it is */
					break;
				}
				caps[ncaps].p = c;
				caps[ncaps++].n = (size_t)(e - c);
			}
			if (e == end)
				break;
		}
		if (whole) {
			qsort(caps, ncaps, sizeof *caps, cmp_word);
			EVP_DigestUpdate(md, p, (size_t)(sp - p));
			for (i = 0; i < ncaps; i++) {
				EVP_DigestUpdate(md, " ", 1);
				EVP_DigestUpdate(md, caps[i].p, caps[i].n);
			}
			EVP_DigestUpdate(md, "\n", 1);
			return;
		}
	}
	if (n >= 6 && memcmp(p, "agent=", 6) == 0)
		return;		/* v2: the agent is a line of its own */
	EVP_DigestUpdate(md, p, n);
}

void
ag_cachekey(unsigned char key[32], const char *repo, const char *state,
    int v2, const unsigned char *body, size_t len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const unsigned char *p = body, *end = body + len;
	unsigned int n;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, repo, strlen(repo) + 1);
	EVP_DigestUpdate(md, state, strlen(state) + 1);
	EVP_DigestUpdate(md, v2 ? "2" : "0", 1);
	/*
	 * Line by line, lengths left out: two requests that differ only in
	 * the agent (hence a length) or the order of capabilities share.
	 * Bytes that are not pkt-lines are hashed as they are.
	 */
	while (p < end) {
		char hex[5];
		long l;

		if (end - p < 4)
			break;
		memcpy(hex, p, 4);
		hex[4] = '\0';
		l = strtol(hex, NULL, 16);
		if (strspn(hex, "0123456789abcdef") != 4 || (l > 0 && l < 4) ||
		    l > end - p)
			break;
		if (l < 4) {		/* flush, delimiter */
			EVP_DigestUpdate(md, p, 4);
			p += 4;
			continue;
		}
		EVP_DigestUpdate(md, "|", 1);
		key_line(md, p + 4, (size_t)l - 4);
		p += l;
	}
	EVP_DigestUpdate(md, "#", 1);
	EVP_DigestUpdate(md, p, (size_t)(end - p));
	EVP_DigestFinal_ex(md, key, &n);
	EVP_MD_CTX_free(md);
}


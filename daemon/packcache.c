/*
 * The fetch response cache: a hash table of refcounted byte strings with
 * LRU eviction under a total byte cap. Workers insert, the loop reads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "packcache.h"

#define PACKCACHE_BUCKETS 1024

struct packcache_entry {
	unsigned char		 key[32];
	unsigned char		*data;
	size_t			 len;
	int			 refcnt;	/* the table holds one */
	struct packcache_entry	*next;		/* bucket chain */
	struct packcache_entry	*newer, *older;	/* LRU list */
};

static struct {
	pthread_mutex_t		 mu;
	struct packcache_entry	*b[PACKCACHE_BUCKETS];
	struct packcache_entry	*newest, *oldest;
	size_t			 bytes, entries, hits;
} pc = { PTHREAD_MUTEX_INITIALIZER };

static int
cmp_cap(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;
	size_t lx = strcspn(*x, " \n"), ly = strcspn(*y, " \n");
	int c = memcmp(*x, *y, lx < ly ? lx : ly);

	return c != 0 ? c : (lx > ly) - (lx < ly);
}

/*
 * Hashes one pkt-line payload: capabilities after an id (v0's first want
 * line) in sorted order and without agent=..., since neither their order
 * nor the client's name changes the answer; anything else as it is.
 */
static void
key_line(EVP_MD_CTX *md, const unsigned char *p, size_t n)
{
	const char *caps[64];
	const unsigned char *sp;
	size_t ncaps = 0, i, head;

	if (n > 46 && memcmp(p, "want ", 5) == 0 &&
	    (sp = memchr(p + 5, ' ', n - 5)) != NULL) {
		const unsigned char *c = sp + 1, *end = p + n;

		head = (size_t)(sp - p);
		while (c < end && ncaps < 64) {
			const unsigned char *e = c;

			while (e < end && *e != ' ' && *e != '\n')
				e++;
			if (e > c && !(e - c >= 6 && memcmp(c, "agent=", 6) ==
			    0))
				caps[ncaps++] = (const char *)c;
			c = e + 1;
		}
		if (c >= end) {
			qsort(caps, ncaps, sizeof *caps, cmp_cap);
			EVP_DigestUpdate(md, p, head);
			for (i = 0; i < ncaps; i++) {
				EVP_DigestUpdate(md, " ", 1);
				EVP_DigestUpdate(md, caps[i],
				    strcspn(caps[i], " \n"));
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
packcache_key(unsigned char key[32], const char *repo, const char *state,
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

static unsigned
bucket(const unsigned char key[32])
{
	return ((unsigned)key[0] << 8 | key[1]) % PACKCACHE_BUCKETS;
}

static void
lru_unlink(struct packcache_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		pc.newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		pc.oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
lru_front(struct packcache_entry *e)
{
	e->older = pc.newest;
	e->newer = NULL;
	if (pc.newest)
		pc.newest->newer = e;
	pc.newest = e;
	if (pc.oldest == NULL)
		pc.oldest = e;
}

static void
entry_unref_locked(struct packcache_entry *e)
{
	if (--e->refcnt == 0) {
		free(e->data);
		free(e);
	}
}

/* Takes e out of the table (callers hold the lock). */
static void
evict(struct packcache_entry *e)
{
	struct packcache_entry **pp;

	for (pp = &pc.b[bucket(e->key)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	lru_unlink(e);
	pc.bytes -= e->len;
	pc.entries--;
	entry_unref_locked(e);
}

struct packcache_entry *
packcache_get(const unsigned char key[32])
{
	struct packcache_entry *e;

	pthread_mutex_lock(&pc.mu);
	for (e = pc.b[bucket(key)]; e != NULL; e = e->next)
		if (memcmp(e->key, key, 32) == 0)
			break;
	if (e != NULL) {
		e->refcnt++;
		pc.hits++;
		lru_unlink(e);
		lru_front(e);
	}
	pthread_mutex_unlock(&pc.mu);
	return e;
}

void
packcache_put(const unsigned char key[32], const unsigned char *data,
    size_t len)
{
	struct packcache_entry *e, *old;

	if (len == 0 || len > PACKCACHE_MAX_ENTRY)
		return;
	if ((e = calloc(1, sizeof *e)) == NULL ||
	    (e->data = malloc(len)) == NULL) {
		free(e);
		return;
	}
	memcpy(e->key, key, 32);
	memcpy(e->data, data, len);
	e->len = len;
	e->refcnt = 1;
	pthread_mutex_lock(&pc.mu);
	for (old = pc.b[bucket(key)]; old != NULL; old = old->next)
		if (memcmp(old->key, key, 32) == 0)
			break;
	if (old != NULL) {
		/* Another worker built the same answer meanwhile. */
		pthread_mutex_unlock(&pc.mu);
		free(e->data);
		free(e);
		return;
	}
	while (pc.oldest != NULL && pc.bytes + len > PACKCACHE_MAX_TOTAL)
		evict(pc.oldest);
	e->next = pc.b[bucket(key)];
	pc.b[bucket(key)] = e;
	lru_front(e);
	pc.bytes += len;
	pc.entries++;
	pthread_mutex_unlock(&pc.mu);
}

const unsigned char *
packcache_data(const struct packcache_entry *e, size_t *len)
{
	*len = e->len;
	return e->data;
}

void
packcache_unref(struct packcache_entry *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&pc.mu);
	entry_unref_locked(e);
	pthread_mutex_unlock(&pc.mu);
}

void
packcache_ref(struct packcache_entry *e)
{
	pthread_mutex_lock(&pc.mu);
	e->refcnt++;
	pthread_mutex_unlock(&pc.mu);
}

void
packcache_stats(size_t *entries, size_t *bytes, size_t *hits)
{
	pthread_mutex_lock(&pc.mu);
	*entries = pc.entries;
	*bytes = pc.bytes;
	*hits = pc.hits;
	pthread_mutex_unlock(&pc.mu);
}

void
packcache_free_all(void)
{
	pthread_mutex_lock(&pc.mu);
	while (pc.oldest != NULL)
		evict(pc.oldest);
	pthread_mutex_unlock(&pc.mu);
}

/*
 * The fetch response cache: a hash table of refcounted byte strings with
 * LRU eviction under a total byte cap. Workers insert, the loop reads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>


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

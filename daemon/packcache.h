/*
 * The fetch response cache ("smart proxy" part of DESIGN.md): the framed
 * reply of an upload-pack request, kept under a hash of the repository,
 * its ref state and the request, and served from memory by the loop. A
 * thousand clusters fetching the same new revision cost one pack build.
 */
#ifndef DAEMON_PACKCACHE_H
#define DAEMON_PACKCACHE_H

#include <stddef.h>

#define PACKCACHE_MAX_ENTRY	(32UL * 1024 * 1024)	/* larger: not kept */
#define PACKCACHE_MAX_TOTAL	(256UL * 1024 * 1024)

struct packcache_entry;

/* Entries are keyed by ag_cachekey (auger/cachekey.h). */
/* A referenced entry, or NULL. */
struct packcache_entry *packcache_get(const unsigned char key[32]);
void	packcache_put(const unsigned char key[32], const unsigned char *data,
	    size_t len);
const unsigned char *packcache_data(const struct packcache_entry *e,
	    size_t *len);
void	packcache_ref(struct packcache_entry *e);
void	packcache_unref(struct packcache_entry *e);
void	packcache_stats(size_t *entries, size_t *bytes, size_t *hits);
void	packcache_free_all(void);

#endif

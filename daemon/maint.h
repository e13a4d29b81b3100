/* Maintenance of the hosted repositories: repack and prune on workers. */
#ifndef DAEMON_MAINT_H
#define DAEMON_MAINT_H

#include <pthread.h>

#include <event2/event.h>
#include <git2.h>

/* Starts the loop timer that hands due repositories to workers. */
int	maint_start(struct event_base *base);
void	maint_stop(void);
/* Refs of name moved (a push, a deploy): look at it soon. */
void	maint_note(const char *name);
/* A receive-pack "moved" callback: repostate_moved, then maint_note. */
void	maint_moved_cb(void *arg, git_repository *repo);
/* The lock receive-pack read-holds while pruning must wait. */
pthread_rwlock_t *maint_prune_lock(const char *name);
/* augerd maintain: repack and prune every repository now (no daemon). */
int	maint_offline(void);
void	maint_free_all(void);

#endif

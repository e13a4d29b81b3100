/*
 * Pre-warming the fetch cache: when a repository's refs move (a push, a
 * deploy, a rollback), the depth-1 replies that Flux's go-git will ask
 * for are built on a worker and put in the fetch cache, so the first poll
 * after a deploy is already a hit.
 */
#ifndef DAEMON_PREWARM_H
#define DAEMON_PREWARM_H

#include <event2/event.h>

/* Loop thread, after worker_start. */
int	prewarm_start(struct event_base *base);
/* Any thread: the refs of repo moved. Coalesced; never blocks. */
void	prewarm_ask(const char *repo);
void	prewarm_stop(void);

#endif

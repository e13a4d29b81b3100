/*
 * Pre-warming the fetch cache: when a repository's refs move (a push, a
 * deploy, a rollback), the depth-1 replies that Flux's go-git will ask
 * for are built and put in the fetch cache before the new advertisement
 * is served, so the first poll after a deploy is already a hit.
 */
#ifndef DAEMON_PREWARM_H
#define DAEMON_PREWARM_H

#include <git2.h>

#include "auger/refs.h"

/*
 * Worker side: builds the replies for refs (the new state, not yet
 * advertised) of repository name, unless --prewarm 0.
 */
void	prewarm_now(git_repository *repo, const char *name,
	    const struct ag_refs *refs);

#endif

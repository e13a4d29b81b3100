/*
 * Per-repository state shared by the loop and the workers: the ref lock,
 * a generation bumped on every ref change, and the cached advertisements.
 */
#ifndef DAEMON_REPOSTATE_H
#define DAEMON_REPOSTATE_H

#include <pthread.h>
#include <stddef.h>

#include <git2.h>

#include "auger/err.h"
#include "auger/refs.h"

/* Advertisement bytes built once per ref change; refcounted, immutable. */
struct adv {
	int		 refcnt;	/* atomic */
	unsigned long	 gen;
	struct ag_refs	*refs;
	char		*upload;	/* v0, "# service=" framed (HTTP) */
	size_t		 upload_len;
	char		*receive;
	size_t		 receive_len;
	size_t		 upload_raw;	/* offset past "# service" (SSH) */
	size_t		 receive_raw;
};

struct repostate {
	char		*name;
	pthread_mutex_t	 mu;		/* guards gen and adv */
	pthread_mutex_t	 ref_lock;	/* held while refs move */
	unsigned long	 gen;
	struct adv	*adv;
	struct repostate *next;
};

/* The state of an existing repository, or NULL if none is known yet. */
struct repostate *repostate_find(const char *name);
/* The state of name, created if needed (only for repos that exist). */
struct repostate *repostate_get(const char *name);
unsigned long	 repostate_gen(struct repostate *s);
/* The current advertisement (a new reference), or NULL if stale. */
struct adv	*repostate_adv(struct repostate *s);
/* Builds the advertisement from repo and installs it (worker side). */
int		 repostate_refresh(struct repostate *s, git_repository *repo,
		    struct adv **out, struct ag_err *err);
/* Marks the refs changed. */
void		 repostate_bump(struct repostate *s);
/*
 * After refs moved through repo: bumps the generation and rebuilds the
 * advertisement, so a clone that starts after this sees the new refs.
 */
void		 repostate_moved(struct repostate *s, git_repository *repo);
/* The same as a receive-pack "moved" callback (arg: the repostate). */
void		 repostate_moved_cb(void *arg, git_repository *repo);
struct adv	*adv_ref(struct adv *a);
void		 adv_unref(struct adv *a);
void		 repostate_free_all(void);

#endif

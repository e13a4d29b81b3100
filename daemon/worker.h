/* The worker pool: jobs run on threads, and finish on the event loop. */
#ifndef DAEMON_WORKER_H
#define DAEMON_WORKER_H

#include <event2/event.h>
#include <git2.h>

struct worker;

struct job {
	/* Runs on a worker thread. */
	void	(*run)(struct job *job, struct worker *w);
	/* Runs on the event loop once run returned; frees the job. */
	void	(*done)(struct job *job);
	struct job	*next;
	struct event	*ev;	/* set by worker_submit */
	struct serial	*serial;	/* set by worker_submit_serial */
};

int	worker_start(struct event_base *base, int n, const char *repos_root);
/* Queues job; its done callback fires on the loop. */
int	worker_submit(struct job *job);
/*
 * Queues job behind the other jobs of the same key (an env): at most one
 * of them is on a worker at a time, so a queue of deploys to one env never
 * ties up the workers that other envs need. Loop thread only.
 */
int	worker_submit_serial(struct job *job, const char *key);
void	worker_stop(void);
/* Jobs submitted whose done callback has not run yet (loop only). */
int	worker_busy(void);

/*
 * The worker's own handle on a repository (one git_repository per worker),
 * refreshed when the repository's generation moved. NULL if not found.
 */
git_repository *worker_repo(struct worker *w, const char *name,
	    unsigned long gen);

#endif

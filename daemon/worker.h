/* The worker pool: jobs run on threads, and finish on the event loop. */
#ifndef DAEMON_WORKER_H
#define DAEMON_WORKER_H

#include <event2/event.h>
#include <git2.h>

struct worker;

/*
 * Kinds of work, queued apart so that one cannot starve another: API
 * calls and release writes, push indexing, pack building. Workers take
 * the kinds in turn; pack builds never take the last free worker, and at
 * most WORKER_PACKS_PER_REPO run for one repository at a time.
 */
enum job_class {
	JOB_API = 0,
	JOB_PUSH,
	JOB_PACK,
	JOB_NCLASSES
};

#define WORKER_MAX_QUEUED_API	4096
#define WORKER_MAX_QUEUED_PUSH	256
#define WORKER_MAX_QUEUED_PACK	512
#define WORKER_PACKS_PER_REPO	2
#define WORKER_EBUSY		(-2)	/* worker_submit: that queue is full */

struct job {
	enum job_class	 class;
	const char	*repo;	/* JOB_PACK: the repository, borrowed */
	/* Optional, any thread: nonzero when the job's client is gone. */
	int	(*cancelled)(struct job *job);
	/* Runs on a worker thread. */
	void	(*run)(struct job *job, struct worker *w);
	/* Runs on the event loop once run returned; frees the job. */
	void	(*done)(struct job *job);
	struct job	*next;
	struct event	*ev;	/* set by worker_submit */
	struct serial	*serial;	/* set by worker_submit_serial */
};

int	worker_start(struct event_base *base, int n, const char *repos_root);
/*
 * Queues job by its class; its done callback fires on the loop (a job
 * whose client left before it started is not run, only done). Returns
 * WORKER_EBUSY when the class's queue is full.
 */
int	worker_submit(struct job *job);
/* Jobs of class queued and not started (for messages). */
int	worker_queued(enum job_class class);
/* The queue bound of class (before worker_start). */
void	worker_set_max_queued(enum job_class class, int max);
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

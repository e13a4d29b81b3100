/*
 * The worker pool: a FIFO of jobs served by N threads. Each worker keeps its
 * own repository handles; a finished job wakes the loop through its event.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auger/err.h"
#include "auger/repo.h"
#include "log.h"
#include "worker.h"

#define WORKER_REPO_CACHE 64

struct worker_repo {
	char		*name;
	git_repository	*repo;
	unsigned long	 gen;
	unsigned long	 used;
};

struct worker {
	pthread_t		 thread;
	struct job		*current;	/* under pool.mu */
	struct worker_repo	 cache[WORKER_REPO_CACHE];
	unsigned long		 tick;
};

struct jobq {
	struct job	*head, *tail;
	int		 n;		/* queued */
	int		 running;
	int		 max;		/* queued at most */
};

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct jobq	 q[JOB_NCLASSES];
	int		 turn;		/* the class to look at first */
	int		 stopping;
	struct worker	*w;
	int		 n;
	struct event_base *base;
	const char	*root;
	int		 busy;		/* submitted, done not yet run (loop) */
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	.q = { { .max = WORKER_MAX_QUEUED_API },
	    { .max = WORKER_MAX_QUEUED_PUSH },
	    { .max = WORKER_MAX_QUEUED_PACK } } };

/* Running pack builds of one repository (under pool.mu). */
static int
packs_running(const char *repo)
{
	int n = 0, i;

	for (i = 0; i < pool.n; i++)
		if (pool.w[i].current != NULL &&
		    pool.w[i].current->class == JOB_PACK &&
		    pool.w[i].current->repo != NULL && repo != NULL &&
		    strcmp(pool.w[i].current->repo, repo) == 0)
			n++;
	return n;
}

/*
 * The next job a free worker should run (under pool.mu), or NULL: the
 * classes in turn; a pack build only while another worker stays free for
 * the other kinds, and only under its repository's limit.
 */
static struct job *
pick(void)
{
	struct job **pp, *job;
	int k, c;

	for (k = 0; k < JOB_NCLASSES; k++) {
		c = (pool.turn + k) % JOB_NCLASSES;
		if (pool.q[c].head == NULL)
			continue;
		if (c == JOB_PACK && pool.n > 1 &&
		    pool.q[JOB_PACK].running >= pool.n - 1)
			continue;
		for (pp = &pool.q[c].head; (job = *pp) != NULL;
		    pp = &job->next) {
			if (c == JOB_PACK &&
			    packs_running(job->repo) >= WORKER_PACKS_PER_REPO)
				continue;
			if ((*pp = job->next) == NULL)
				pool.q[c].tail = pp == &pool.q[c].head ? NULL :
				    (struct job *)((char *)pp -
				    offsetof(struct job, next));
			pool.q[c].n--;
			pool.q[c].running++;
			pool.turn = (c + 1) % JOB_NCLASSES;
			return job;
		}
	}
	return NULL;
}

/* The jobs waiting behind one key; loop thread only. */
struct serial {
	char		 key[128];
	struct job	*head, *tail;
	struct serial	*next;
};

static struct serial *serials;

static void
serial_next(struct serial *s)
{
	struct serial **pp;
	struct job *job;

	if ((job = s->head) != NULL) {
		if ((s->head = job->next) == NULL)
			s->tail = NULL;
		pool.busy--;	/* counted while it waited; submit counts it */
		job->serial = s;
		if (worker_submit(job) == 0)
			return;
		/* Cannot queue: finish it with its error path. */
		job->serial = NULL;
		job->done(job);
		serial_next(s);
		return;
	}
	for (pp = &serials; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	free(s);
}

static void
worker_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job *job = arg;
	struct event *ev = job->ev;
	struct serial *s = job->serial;

	(void)fd;
	(void)what;
	pool.busy--;
	job->done(job);
	event_free(ev);
	if (s != NULL)
		serial_next(s);
}

int
worker_submit_serial(struct job *job, const char *key)
{
	struct serial *s;

	for (s = serials; s != NULL; s = s->next)
		if (strcmp(s->key, key) == 0)
			break;
	if (s != NULL) {
		job->next = NULL;
		if (s->tail != NULL)
			s->tail->next = job;
		else
			s->head = job;
		s->tail = job;
		pool.busy++;	/* shutdown waits for queued jobs too */
		return 0;
	}
	if ((s = calloc(1, sizeof *s)) == NULL)
		return -1;
	snprintf(s->key, sizeof s->key, "%s", key);
	s->next = serials;
	serials = s;
	job->serial = s;
	if (worker_submit(job) < 0) {
		job->serial = NULL;
		serials = s->next;
		free(s);
		return -1;
	}
	return 0;
}

static int
queued_total(void)
{
	int c, n = 0;

	for (c = 0; c < JOB_NCLASSES; c++)
		n += pool.q[c].n;
	return n;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct job *job;
	int i;

	for (;;) {
		pthread_mutex_lock(&pool.mu);
		while ((job = pick()) == NULL &&
		    !(pool.stopping && queued_total() == 0))
			pthread_cond_wait(&pool.cv, &pool.mu);
		if (job == NULL) {
			pthread_mutex_unlock(&pool.mu);
			break;
		}
		w->current = job;
		pthread_mutex_unlock(&pool.mu);
		/* Nobody to answer: straight to done (it frees). */
		if (job->cancelled == NULL || !job->cancelled(job))
			job->run(job, w);
		pthread_mutex_lock(&pool.mu);
		w->current = NULL;
		pool.q[job->class].running--;
		/* A finished job may unblock one held back by a limit. */
		pthread_cond_broadcast(&pool.cv);
		pthread_mutex_unlock(&pool.mu);
		event_active(job->ev, EV_READ, 0);
	}
	for (i = 0; i < WORKER_REPO_CACHE; i++) {
		git_repository_free(w->cache[i].repo);
		free(w->cache[i].name);
	}
	return NULL;
}

int
worker_start(struct event_base *base, int n, const char *repos_root)
{
	int i;

	pool.base = base;
	pool.root = repos_root;
	if ((pool.w = calloc((size_t)n, sizeof *pool.w)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (pthread_create(&pool.w[i].thread, NULL, worker_main,
		    &pool.w[i]) != 0)
			return -1;
		pool.n++;
	}
	return 0;
}

int
worker_submit(struct job *job)
{
	struct jobq *q;

	if ((unsigned)job->class >= JOB_NCLASSES)
		job->class = JOB_API;
	q = &pool.q[job->class];
	pthread_mutex_lock(&pool.mu);
	if (q->n >= q->max) {
		pthread_mutex_unlock(&pool.mu);
		return WORKER_EBUSY;
	}
	pthread_mutex_unlock(&pool.mu);
	job->ev = event_new(pool.base, -1, 0, worker_done_cb, job);
	if (job->ev == NULL)
		return -1;
	job->next = NULL;
	pool.busy++;
	pthread_mutex_lock(&pool.mu);
	if (q->tail != NULL)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	q->n++;
	pthread_cond_broadcast(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	return 0;
}

int
worker_queued(enum job_class class)
{
	int n;

	pthread_mutex_lock(&pool.mu);
	n = pool.q[class].n;
	pthread_mutex_unlock(&pool.mu);
	return n;
}

void
worker_stop(void)
{
	int i;

	pthread_mutex_lock(&pool.mu);
	pool.stopping = 1;
	pthread_cond_broadcast(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	for (i = 0; i < pool.n; i++)
		pthread_join(pool.w[i].thread, NULL);
	free(pool.w);
	pool.w = NULL;
	pool.n = 0;
}

git_repository *
worker_repo(struct worker *w, const char *name, unsigned long gen)
{
	struct worker_repo *e, *victim = NULL;
	git_repository *repo;
	git_odb *odb;
	int i;

	w->tick++;
	for (i = 0; i < WORKER_REPO_CACHE; i++) {
		e = &w->cache[i];
		if (e->name != NULL && strcmp(e->name, name) == 0) {
			if (e->gen != gen) {
				/* New packs may have arrived: rescan. */
				if (git_repository_odb(&odb, e->repo) == 0) {
					git_odb_refresh(odb);
					git_odb_free(odb);
				}
				e->gen = gen;
			}
			e->used = w->tick;
			return e->repo;
		}
		if (victim == NULL || e->used < victim->used)
			victim = e;
	}
	if (ag_repo_open(&repo, pool.root, name, NULL) < 0)
		return NULL;
	git_repository_free(victim->repo);
	free(victim->name);
	victim->repo = repo;
	victim->name = strdup(name);
	victim->gen = gen;
	victim->used = w->tick;
	if (victim->name == NULL) {
		git_repository_free(repo);
		victim->repo = NULL;
		return NULL;
	}
	return repo;
}

int
worker_busy(void)
{
	return pool.busy;
}

void
worker_set_max_queued(enum job_class class, int max)
{
	pool.q[class].max = max;
}

/*
 * The worker pool: a FIFO of jobs served by N threads. Each worker keeps its
 * own repository handles; a finished job wakes the loop through its event.
 */
#include <pthread.h>
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
	struct worker_repo	 cache[WORKER_REPO_CACHE];
	unsigned long		 tick;
};

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct job	*head, *tail;
	int		 stopping;
	struct worker	*w;
	int		 n;
	struct event_base *base;
	const char	*root;
	int		 busy;		/* submitted, done not yet run (loop) */
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };

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

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct job *job;
	int i;

	for (;;) {
		pthread_mutex_lock(&pool.mu);
		while (pool.head == NULL && !pool.stopping)
			pthread_cond_wait(&pool.cv, &pool.mu);
		if (pool.head == NULL) {
			pthread_mutex_unlock(&pool.mu);
			break;
		}
		job = pool.head;
		if ((pool.head = job->next) == NULL)
			pool.tail = NULL;
		pthread_mutex_unlock(&pool.mu);
		job->run(job, w);
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
	job->ev = event_new(pool.base, -1, 0, worker_done_cb, job);
	if (job->ev == NULL)
		return -1;
	job->next = NULL;
	pool.busy++;
	pthread_mutex_lock(&pool.mu);
	if (pool.tail != NULL)
		pool.tail->next = job;
	else
		pool.head = job;
	pool.tail = job;
	pthread_cond_signal(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	return 0;
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

/*
 * Maintenance of the hosted repositories while augerd runs: after refs
 * move, a repository is looked at (pack and loose-object counts) on a
 * worker; past the thresholds it is repacked (src/maintain.c), and its
 * garbage pruned once the grace period is over. At most one maintenance
 * job per repository at a time; the loop only keeps the books.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "auger/maintain.h"
#include "auger/repo.h"
#include "augerd.h"
#include "log.h"
#include "maint.h"
#include "repostate.h"
#include "worker.h"

#define MAINT_TICK_SECS	5

struct maint_repo {
	char			 name[AG_REPO_NAME_MAX + 1];
	pthread_rwlock_t	 prune_lock;
	int			 due;		/* refs moved: look at it */
	int			 running;	/* a job is out (loop side) */
	time_t			 garbage_at;	/* garbage listed then, or 0 */
	struct maint_repo	*next;
};

struct maint_job {
	struct job		 job;
	struct maint_repo	*m;
	int			 prune_only;
	time_t			 garbage_at;	/* result */
};

static pthread_mutex_t maint_mu = PTHREAD_MUTEX_INITIALIZER;
static struct maint_repo *maint_repos;
static struct event *maint_timer;

/* The entry of name, created on first use; never freed while running. */
static struct maint_repo *
maint_get(const char *name)
{
	struct maint_repo *m;

	pthread_mutex_lock(&maint_mu);
	for (m = maint_repos; m != NULL; m = m->next)
		if (strcmp(m->name, name) == 0)
			break;
	if (m == NULL && (m = calloc(1, sizeof *m)) != NULL) {
		snprintf(m->name, sizeof m->name, "%s", name);
		pthread_rwlock_init(&m->prune_lock, NULL);
		m->next = maint_repos;
		maint_repos = m;
	}
	pthread_mutex_unlock(&maint_mu);
	return m;
}

pthread_rwlock_t *
maint_prune_lock(const char *name)
{
	struct maint_repo *m = maint_get(name);

	return m != NULL ? &m->prune_lock : NULL;
}

void
maint_note(const char *name)
{
	struct maint_repo *m = maint_get(name);

	if (m != NULL) {
		pthread_mutex_lock(&maint_mu);
		m->due = 1;
		pthread_mutex_unlock(&maint_mu);
	}
}

void
maint_moved_cb(void *arg, git_repository *repo)
{
	struct repostate *st = arg;

	repostate_moved(st, repo);
	maint_note(st->name);
}

static void
maint_run(struct job *job, struct worker *w)
{
	struct maint_job *j = (struct maint_job *)job;
	struct ag_maintain_stats ms;
	struct ag_err err = { 0, "" };
	git_repository *repo = NULL;
	struct repostate *rs;
	char path[4400];
	size_t packs = 0, loose = 0;
	int r;

	(void)w;
	j->garbage_at = j->m->garbage_at;
	ag_repo_path(path, sizeof path, augerd.repos, j->m->name);
	/* Garbage listed before a restart is found by its file. */
	if (j->garbage_at == 0) {
		struct stat sb;
		char gpath[4500];

		snprintf(gpath, sizeof gpath, "%s/objects/info/auger-garbage",
		    path);
		if (stat(gpath, &sb) == 0)
			j->garbage_at = sb.st_mtime;
	}
	if ((rs = repostate_get(j->m->name)) == NULL ||
	    ag_repo_open(&repo, augerd.repos, j->m->name, &err) < 0)
		return;
	if (!j->prune_only && ag_maintain_count(path, &packs, &loose) == 0 &&
	    (packs > AG_MAINTAIN_MAX_PACKS || loose > AG_MAINTAIN_MAX_LOOSE)) {
		if (ag_maintain_repack(repo, augerd.workers, &ms, &err) < 0)
			log_warn("maintain %s: %s", j->m->name, err.msg);
		else {
			log_info("maintain %s: repacked %zu packs and %zu loose "
			    "objects into %s (%zu objects, %llu bytes); the old "
			    "ones go in %d s", j->m->name, ms.packs, ms.loose,
			    ms.pack, ms.objects, (unsigned long long)ms.bytes,
			    augerd.maint_grace);
			j->garbage_at = time(NULL);
			repostate_bump(rs);
		}
	}
	if (j->garbage_at != 0 &&
	    time(NULL) - j->garbage_at >= augerd.maint_grace) {
		/* The same order as receive-pack: prune lock, then refs. */
		pthread_rwlock_wrlock(&j->m->prune_lock);
		pthread_mutex_lock(&rs->ref_lock);
		r = ag_maintain_prune(repo, augerd.maint_grace, &ms, &err);
		pthread_mutex_unlock(&rs->ref_lock);
		pthread_rwlock_unlock(&j->m->prune_lock);
		if (r < 0)
			log_warn("maintain %s: prune: %s", j->m->name, err.msg);
		else if (r == 1) {
			log_warn("maintain %s: the refs need objects listed as "
			    "garbage: repacking again", j->m->name);
			maint_note(j->m->name);
			j->garbage_at = 0;
		} else {
			if (ms.removed_packs + ms.removed_loose > 0)
				log_info("maintain %s: removed %zu old packs "
				    "and %zu loose objects", j->m->name,
				    ms.removed_packs, ms.removed_loose);
			j->garbage_at = 0;
			repostate_bump(rs);
		}
	}
	git_repository_free(repo);
}

static void
maint_done(struct job *job)
{
	struct maint_job *j = (struct maint_job *)job;

	j->m->running = 0;
	j->m->garbage_at = j->garbage_at;
	free(j);
}

static void
maint_tick(evutil_socket_t fd, short what, void *arg)
{
	struct maint_repo *m;
	struct maint_job *j;
	time_t now = time(NULL);
	int prune;

	(void)fd;
	(void)what;
	(void)arg;
	pthread_mutex_lock(&maint_mu);
	for (m = maint_repos; m != NULL; m = m->next) {
		prune = m->garbage_at != 0 &&
		    now - m->garbage_at >= augerd.maint_grace;
		if (m->running || (!m->due && !prune))
			continue;
		if ((j = calloc(1, sizeof *j)) == NULL)
			break;
		j->job.run = maint_run;
		j->job.done = maint_done;
		j->job.class = JOB_PACK;
		j->job.repo = m->name;
		j->m = m;
		j->prune_only = !m->due;
		m->due = 0;
		m->running = 1;
		if (worker_submit(&j->job) < 0) {
			m->running = 0;
			free(j);
		}
	}
	pthread_mutex_unlock(&maint_mu);
}

int
maint_start(struct event_base *base)
{
	if ((maint_timer = event_new(base, -1, EV_PERSIST, maint_tick,
	    NULL)) == NULL)
		return -1;
	return event_add(maint_timer, &(struct timeval){ MAINT_TICK_SECS, 0 });
}

void
maint_stop(void)
{
	if (maint_timer != NULL)
		event_free(maint_timer);
	maint_timer = NULL;
}

int
maint_offline(void)
{
	struct ag_maintain_stats ms, ps;
	struct ag_err err = { 0, "" };
	git_repository *repo = NULL;
	char **names = NULL;
	size_t n = 0, i;
	int rc = 0, r;

	if (ag_repo_list(&names, &n, augerd.repos, &err) < 0) {
		log_warn("maintain: %s", err.msg);
		return -1;
	}
	for (i = 0; i < n; i++) {
		ag_err_clear(&err);
		if (ag_repo_open(&repo, augerd.repos, names[i], &err) < 0) {
			log_warn("maintain %s: %s", names[i], err.msg);
			rc = -1;
		} else if (ag_maintain_repack(repo, augerd.workers, &ms,
		    &err) < 0) {
			log_warn("maintain %s: %s", names[i], err.msg);
			rc = -1;
		} else if ((r = ag_maintain_prune(repo, 0, &ps, &err)) != 0) {
			log_warn("maintain %s: prune: %s", names[i], r < 0 ?
			    err.msg : "the refs need objects outside the new "
			    "pack; kept the old ones");
			rc = -1;
		} else
			log_info("maintain %s: %zu packs and %zu loose objects "
			    "into %s (%zu objects, %llu bytes)", names[i],
			    ms.packs, ms.loose, ms.pack[0] ? ms.pack :
			    "nothing (no refs)", ms.objects,
			    (unsigned long long)ms.bytes);
		if (repo != NULL)
			git_repository_free(repo);
		repo = NULL;
		free(names[i]);
	}
	free(names);
	return rc;
}

void
maint_free_all(void)
{
	struct maint_repo *m;

	while ((m = maint_repos) != NULL) {
		maint_repos = m->next;
		pthread_rwlock_destroy(&m->prune_lock);
		free(m);
	}
}

/*
 * Per-repository state: ref lock, generation, cached advertisements. The
 * table only grows (repositories are never deleted while running).
 */
#include <stdlib.h>
#include <string.h>

#include "auger/pkt.h"
#include "prewarm.h"
#include "repostate.h"

#define REPOSTATE_BUCKETS 1024

static struct {
	pthread_mutex_t		 mu;
	struct repostate	*b[REPOSTATE_BUCKETS];
} table = { PTHREAD_MUTEX_INITIALIZER, { NULL } };

static unsigned
hash(const char *s)
{
	unsigned h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h % REPOSTATE_BUCKETS;
}

struct repostate *
repostate_find(const char *name)
{
	struct repostate *s;

	pthread_mutex_lock(&table.mu);
	for (s = table.b[hash(name)]; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			break;
	pthread_mutex_unlock(&table.mu);
	return s;
}

struct repostate *
repostate_get(const char *name)
{
	struct repostate *s;
	unsigned h = hash(name);

	pthread_mutex_lock(&table.mu);
	for (s = table.b[h]; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			goto out;
	if ((s = calloc(1, sizeof *s)) == NULL ||
	    (s->name = strdup(name)) == NULL) {
		free(s);
		s = NULL;
		goto out;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->ref_lock, NULL);
	s->gen = 1;
	s->next = table.b[h];
	table.b[h] = s;
out:
	pthread_mutex_unlock(&table.mu);
	return s;
}

struct adv *
adv_ref(struct adv *a)
{
	if (a != NULL)
		__atomic_add_fetch(&a->refcnt, 1, __ATOMIC_RELAXED);
	return a;
}

void
adv_unref(struct adv *a)
{
	if (a == NULL || __atomic_sub_fetch(&a->refcnt, 1, __ATOMIC_ACQ_REL))
		return;
	ag_refs_free(a->refs);
	free(a->upload);
	free(a->receive);
	free(a);
}

unsigned long
repostate_gen(struct repostate *s)
{
	unsigned long g;

	pthread_mutex_lock(&s->mu);
	g = s->gen;
	pthread_mutex_unlock(&s->mu);
	return g;
}

struct adv *
repostate_adv(struct repostate *s)
{
	struct adv *a = NULL;

	pthread_mutex_lock(&s->mu);
	if (s->adv != NULL && s->adv->gen == s->gen)
		a = adv_ref(s->adv);
	pthread_mutex_unlock(&s->mu);
	return a;
}

/* The offset past the "# service=..." packet and its flush. */
static size_t
skip_service(const char *p, size_t len)
{
	int n;

	if (len < 8 || (n = ag_pkt_parse_len(p)) < 4 || (size_t)n + 4 > len)
		return 0;
	return (size_t)n + 4;
}

/* A new advertisement of repo's refs at generation gen (not installed). */
static struct adv *
adv_build(git_repository *repo, unsigned long gen, struct ag_err *err)
{
	struct adv *a;

	if ((a = calloc(1, sizeof *a)) == NULL) {
		ag_err_set(err, AG_EINTERNAL, "out of memory");
		return NULL;
	}
	a->refcnt = 1;
	a->gen = gen;
	if (ag_refs_load(&a->refs, repo, err) < 0 ||
	    ag_refs_adv_v0(&a->upload, &a->upload_len, a->refs, AG_SVC_UPLOAD,
	    AG_ADV_HTTP, err) < 0 ||
	    ag_refs_adv_v0(&a->receive, &a->receive_len, a->refs,
	    AG_SVC_RECEIVE, AG_ADV_HTTP, err) < 0) {
		adv_unref(a);
		return NULL;
	}
	a->upload_raw = skip_service(a->upload, a->upload_len);
	a->receive_raw = skip_service(a->receive, a->receive_len);
	return a;
}

static void
adv_install(struct repostate *s, struct adv *a)
{
	pthread_mutex_lock(&s->mu);
	if (s->gen == a->gen) {
		adv_unref(s->adv);
		s->adv = adv_ref(a);
	}
	pthread_mutex_unlock(&s->mu);
}

int
repostate_refresh(struct repostate *s, git_repository *repo, struct adv **out,
    struct ag_err *err)
{
	struct adv *a;

	*out = NULL;
	if ((a = adv_build(repo, repostate_gen(s), err)) == NULL)
		return err ? err->code : AG_EINTERNAL;
	adv_install(s, a);
	*out = a;
	return 0;
}

void
repostate_bump(struct repostate *s)
{
	pthread_mutex_lock(&s->mu);
	s->gen++;
	pthread_mutex_unlock(&s->mu);
}

void
repostate_moved(struct repostate *s, git_repository *repo)
{
	struct adv *fresh = NULL;

	repostate_bump(s);
	if ((fresh = adv_build(repo, repostate_gen(s), NULL)) == NULL)
		return;
	/*
	 * Flux's replies for the new tips go into the fetch cache before
	 * the advertisement that shows those tips: no client can ask for a
	 * new tip before its reply is there.
	 */
	prewarm_now(repo, s->name, fresh->refs);
	adv_install(s, fresh);
	adv_unref(fresh);
}

void
repostate_free_all(void)
{
	struct repostate *s, *next;
	int i;

	pthread_mutex_lock(&table.mu);
	for (i = 0; i < REPOSTATE_BUCKETS; i++) {
		for (s = table.b[i]; s != NULL; s = next) {
			next = s->next;
			adv_unref(s->adv);
			pthread_mutex_destroy(&s->mu);
			pthread_mutex_destroy(&s->ref_lock);
			free(s->name);
			free(s);
		}
		table.b[i] = NULL;
	}
	pthread_mutex_unlock(&table.mu);
}

void
repostate_moved_cb(void *arg, git_repository *repo)
{
	repostate_moved(arg, repo);
}

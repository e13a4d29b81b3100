/* An open-addressing hash set of object ids, keyed by their first bytes. */
#include <stdlib.h>
#include <string.h>

#include "auger/oidset.h"

void
ag_oidset_init(struct ag_oidset *s)
{
	memset(s, 0, sizeof *s);
}

void
ag_oidset_clear(struct ag_oidset *s)
{
	free(s->keys);
	free(s->vals);
	free(s->used);
	memset(s, 0, sizeof *s);
}

static size_t
slot(const struct ag_oidset *s, const git_oid *id)
{
	size_t h;

	memcpy(&h, id->id, sizeof h);	/* ids are already uniform */
	return h & (s->cap - 1);
}

static int
grow(struct ag_oidset *s)
{
	struct ag_oidset ns;
	size_t i;

	ns.cap = s->cap ? s->cap * 2 : 64;
	ns.n = 0;
	ns.keys = malloc(ns.cap * sizeof *ns.keys);
	ns.vals = malloc(ns.cap * sizeof *ns.vals);
	ns.used = calloc(ns.cap, 1);
	if (ns.keys == NULL || ns.vals == NULL || ns.used == NULL) {
		ag_oidset_clear(&ns);
		return -1;
	}
	for (i = 0; i < s->cap; i++)
		if (s->used[i])
			ag_oidset_put(&ns, &s->keys[i], s->vals[i]);
	ag_oidset_clear(s);
	*s = ns;
	return 0;
}

int
ag_oidset_put(struct ag_oidset *s, const git_oid *id, int val)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap && grow(s) < 0)
		return -1;
	for (i = slot(s, id); s->used[i]; i = (i + 1) & (s->cap - 1)) {
		if (git_oid_equal(&s->keys[i], id)) {
			s->vals[i] = val;
			return 0;
		}
	}
	s->used[i] = 1;
	git_oid_cpy(&s->keys[i], id);
	s->vals[i] = val;
	s->n++;
	return 1;
}

int
ag_oidset_get(const struct ag_oidset *s, const git_oid *id, int *val)
{
	size_t i;

	if (s->cap == 0)
		return 0;
	for (i = slot(s, id); s->used[i]; i = (i + 1) & (s->cap - 1)) {
		if (git_oid_equal(&s->keys[i], id)) {
			if (val != NULL)
				*val = s->vals[i];
			return 1;
		}
	}
	return 0;
}

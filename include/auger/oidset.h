/* A set of object ids with an int value each (open addressing). */
#ifndef AUGER_OIDSET_H
#define AUGER_OIDSET_H

#include <stddef.h>

#include <git2.h>

struct ag_oidset {
	git_oid	*keys;
	int	*vals;
	unsigned char *used;
	size_t	 n, cap;
};

void	ag_oidset_init(struct ag_oidset *s);
void	ag_oidset_clear(struct ag_oidset *s);
/* Adds id with val (or sets val); returns 1 if new, 0 if present, -1 OOM. */
int	ag_oidset_put(struct ag_oidset *s, const git_oid *id, int val);
/* Returns 1 and *val if present, else 0. val may be NULL. */
int	ag_oidset_get(const struct ag_oidset *s, const git_oid *id, int *val);

#endif

/*
 * The object graph walked from tips: commits to their trees and parents,
 * trees to their entries (submodule commits aside), tags to their
 * targets. One walk serves every "is all of it there" question: a
 * push's connectivity, maintenance's check before pruning.
 */
#ifndef AUGER_REACH_H
#define AUGER_REACH_H

#include <stddef.h>

#include <git2.h>

#include "auger/err.h"

enum {
	AG_REACH_FOLLOW = 0,	/* read the object and walk on from it */
	AG_REACH_SKIP,		/* known, or a blob: nothing to follow */
	AG_REACH_MISSING	/* not there: the walk stops */
};

/*
 * Decides about each object once, before it is read: AG_REACH_* or a
 * negative error. type is GIT_OBJECT_INVALID when the walk does not know
 * it yet (a tip, a parent, a tag's target).
 */
typedef int (*ag_reach_fn)(void *arg, const git_oid *id, git_object_t type);

/*
 * Walks from tips, reading what visit says to follow from repo. Returns
 * 0 when everything was visited, 1 when visit said an object is missing,
 * or a negative error.
 */
int	ag_reach_walk(git_repository *repo, const git_oid *tips, size_t ntips,
	    ag_reach_fn visit, void *arg, struct ag_err *err);

#endif

/* The object graph walked from tips (see reach.h), depth first. */
#include <stdlib.h>

#include "auger/oidset.h"
#include "auger/reach.h"

struct reach_stack {
	git_oid		*id;
	git_object_t	*type;
	size_t		 n, cap;
};

static int
reach_push(struct reach_stack *s, struct ag_oidset *seen, const git_oid *id,
    git_object_t type)
{
	git_oid *ni;
	git_object_t *nt;
	int r;

	if ((r = ag_oidset_put(seen, id, 0)) != 1)
		return r;	/* 0: seen already; -1: out of memory */
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;

		if ((ni = realloc(s->id, cap * sizeof *ni)) == NULL)
			return -1;
		s->id = ni;
		if ((nt = realloc(s->type, cap * sizeof *nt)) == NULL)
			return -1;
		s->type = nt;
		s->cap = cap;
	}
	git_oid_cpy(&s->id[s->n], id);
	s->type[s->n++] = type;
	return 0;
}

int
ag_reach_walk(git_repository *repo, const git_oid *tips, size_t ntips,
    ag_reach_fn visit, void *arg, struct ag_err *err)
{
	struct reach_stack s = { 0 };
	struct ag_oidset seen;
	git_object *obj = NULL;
	git_object_t type;
	git_oid id;
	size_t i, cnt;
	int r = -1, v;

	ag_oidset_init(&seen);
	for (i = 0; i < ntips; i++)
		if (reach_push(&s, &seen, &tips[i], GIT_OBJECT_INVALID) < 0)
			goto oom;
	while (s.n > 0) {
		s.n--;
		git_oid_cpy(&id, &s.id[s.n]);
		type = s.type[s.n];
		if ((v = visit(arg, &id, type)) < 0) {
			r = v;
			goto out;
		}
		if (v == AG_REACH_MISSING) {
			r = 1;
			goto out;
		}
		if (v == AG_REACH_SKIP)
			continue;
		if (git_object_lookup(&obj, repo, &id, GIT_OBJECT_ANY) < 0) {
			r = ag_err_git(err, "reading an object");
			goto out;
		}
		switch (git_object_type(obj)) {
		case GIT_OBJECT_COMMIT:
			if (reach_push(&s, &seen, git_commit_tree_id(
			    (git_commit *)obj), GIT_OBJECT_TREE) < 0)
				goto oom;
			cnt = git_commit_parentcount((git_commit *)obj);
			for (i = 0; i < cnt; i++)
				if (reach_push(&s, &seen, git_commit_parent_id(
				    (git_commit *)obj, i), GIT_OBJECT_COMMIT) < 0)
					goto oom;
			break;
		case GIT_OBJECT_TREE:
			cnt = git_tree_entrycount((git_tree *)obj);
			for (i = 0; i < cnt; i++) {
				const git_tree_entry *e =
				    git_tree_entry_byindex((git_tree *)obj, i);

				if (git_tree_entry_filemode(e) ==
				    GIT_FILEMODE_COMMIT)	/* submodules */
					continue;
				if (reach_push(&s, &seen, git_tree_entry_id(e),
				    git_tree_entry_type(e)) < 0)
					goto oom;
			}
			break;
		case GIT_OBJECT_TAG:
			if (reach_push(&s, &seen, git_tag_target_id(
			    (git_tag *)obj), GIT_OBJECT_INVALID) < 0)
				goto oom;
			break;
		default:
			break;
		}
		git_object_free(obj);
		obj = NULL;
	}
	r = 0;
	goto out;
oom:
	r = ag_err_set(err, AG_EINTERNAL, "out of memory");
out:
	git_object_free(obj);
	free(s.id);
	free(s.type);
	ag_oidset_clear(&seen);
	return r;
}

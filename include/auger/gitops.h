/*
 * Writing GitOps repositories: tree edits at the top two levels (an app
 * folder, a file under flux/) and commits whose ref moves by
 * compare-and-swap.
 */
#ifndef AUGER_GITOPS_H
#define AUGER_GITOPS_H

#include <stddef.h>

#include <git2.h>

#include "auger/err.h"

#define AG_GITOPS_BRANCH "refs/heads/main"
/*
 * A release starts only with this much free on the repository's file
 * system; below it the write is refused at once (AG_ENOSPACE) rather than
 * failing half-way. A git error with less than AG_GITOPS_LOW_SPACE free is
 * taken for a full disk too.
 */
#define AG_GITOPS_MIN_FREE	((unsigned long long)1 << 20)
#define AG_GITOPS_LOW_SPACE	((unsigned long long)256 << 10)

enum ag_edit_kind {
	AG_EDIT_DIR_FILES,	/* <path>/ becomes exactly these files */
	AG_EDIT_DIR_TREE,	/* <path>/ becomes an existing tree */
	AG_EDIT_FILE,		/* "dir/name" or "name" gets data */
	AG_EDIT_REMOVE		/* a file or a folder goes away */
};

struct ag_file {
	const char	*name;	/* a plain name, no '/' */
	const char	*data;
	size_t		 len;
};

struct ag_edit {
	enum ag_edit_kind	 kind;
	const char		*path;	/* "web", "flux/kustomization-web.yaml" */
	const struct ag_file	*files;	/* AG_EDIT_DIR_FILES */
	size_t			 nfiles;
	git_oid			 tree;	/* AG_EDIT_DIR_TREE */
	const char		*data;	/* AG_EDIT_FILE */
	size_t			 len;
};

/* Applies edits to base (NULL: an empty tree) and writes the new tree. */
int	ag_gitops_tree(git_oid *out, git_repository *repo, const git_tree *base,
	    const struct ag_edit *edits, size_t n, struct ag_err *err);

/*
 * Commits tree on AG_GITOPS_BRANCH with parent (NULL: a root commit) and
 * moves the branch from parent to the commit by compare-and-swap
 * (AG_ECONFLICT if it moved meanwhile).
 */
int	ag_gitops_commit(git_oid *out, git_repository *repo,
	    const git_oid *parent, const git_oid *tree, const char *message,
	    struct ag_err *err);

/*
 * Moves AG_GITOPS_BRANCH back from moved (the commit just made) to old
 * (NULL: removes it), by compare-and-swap: undoes a commit whose indexing
 * failed.
 */
int	ag_gitops_unmove(git_repository *repo, const git_oid *moved,
	    const git_oid *old, struct ag_err *err);

/*
 * AG_ENOSPACE when the repository's file system has less than need bytes
 * free (for the caller's user), else 0.
 */
int	ag_gitops_space(git_repository *repo, unsigned long long need,
	    struct ag_err *err);

/* The branch's commit and tree; *commit NULL for an unborn branch. */
int	ag_gitops_head(git_commit **commit, git_tree **tree,
	    git_repository *repo, struct ag_err *err);

/* The id of the tree at path ("web") in tree, or AG_ENOTFOUND. */
int	ag_gitops_subtree(git_oid *out, const git_tree *tree, const char *path);

#endif

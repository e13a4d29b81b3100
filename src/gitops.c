/* Tree edits and compare-and-swap commits on GitOps repositories. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "auger/gitops.h"

/* Free bytes for this user on repo's file system, or -1 if unknown. */
static long long
space_free(git_repository *repo)
{
	struct statvfs sv;

	if (statvfs(git_repository_path(repo), &sv) < 0)
		return -1;
	return (long long)sv.f_bavail * (long long)sv.f_frsize;
}

int
ag_gitops_space(git_repository *repo, unsigned long long need,
    struct ag_err *err)
{
	long long have = space_free(repo);

	if (have >= 0 && (unsigned long long)have < need)
		return ag_err_set(err, AG_ENOSPACE, "no space left on device: "
		    "%lld bytes free under %s, a write needs %llu", have,
		    git_repository_path(repo), need);
	return 0;
}

/*
 * A git write that failed (r < 0) on a nearly full file system failed for
 * want of space, whatever libgit2 said (it may report a missing object):
 * err becomes AG_ENOSPACE, keeping its message.
 */
static int
space_err(struct ag_err *err, git_repository *repo, int r)
{
	char msg[AG_ERR_MSG_MAX];
	long long have;

	if (r >= 0 || err == NULL || err->code == AG_ENOSPACE ||
	    err->code == AG_EINVAL || err->code == AG_ECONFLICT)
		return r;
	have = space_free(repo);
	if (have < 0 || (unsigned long long)have >= AG_GITOPS_LOW_SPACE)
		return r;
	snprintf(msg, sizeof msg, "%s", err->msg);
	ag_err_clear(err);
	return ag_err_set(err, AG_ENOSPACE, "no space left on device (%lld "
	    "bytes free): %s", have, msg);
}

/* Splits "dir/name" at its only slash; a name without one has dir NULL. */
static int
split(const char *path, char *dir, size_t dirsz, const char **name)
{
	const char *slash = strchr(path, '/');

	if (slash == NULL) {
		dir[0] = '\0';
		*name = path;
		return 0;
	}
	if (strchr(slash + 1, '/') != NULL || (size_t)(slash - path) >= dirsz ||
	    slash == path || slash[1] == '\0')
		return -1;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*name = slash + 1;
	return 0;
}

static int
blob(git_oid *out, git_repository *repo, const char *data, size_t len)
{
	return git_blob_create_from_buffer(out, repo, data, len);
}

/* Writes a tree holding exactly files. */
static int
files_tree(git_oid *out, git_repository *repo, const struct ag_file *files,
    size_t n, struct ag_err *err)
{
	git_treebuilder *tb = NULL;
	git_oid id;
	size_t i;
	int r = -1;

	if (git_treebuilder_new(&tb, repo, NULL) < 0)
		return ag_err_git(err, "tree");
	for (i = 0; i < n; i++) {
		if (strchr(files[i].name, '/') != NULL ||
		    files[i].name[0] == '\0' || files[i].name[0] == '.') {
			r = ag_err_set(err, AG_EINVAL, "bad file name \"%s\"",
			    files[i].name);
			goto out;
		}
		if (blob(&id, repo, files[i].data, files[i].len) < 0 ||
		    git_treebuilder_insert(NULL, tb, files[i].name, &id,
		    GIT_FILEMODE_BLOB) < 0) {
			r = ag_err_git(err, "writing %s", files[i].name);
			goto out;
		}
	}
	if (git_treebuilder_write(out, tb) < 0) {
		r = ag_err_git(err, "writing tree");
		goto out;
	}
	r = 0;
out:
	git_treebuilder_free(tb);
	return r;
}

/* Sets or removes one file inside the folder dir of root. */
static int
edit_in_dir(git_treebuilder *root, git_repository *repo, const char *dir,
    const char *name, const char *data, size_t len, int remove,
    struct ag_err *err)
{
	const git_tree_entry *e;
	git_tree *sub = NULL;
	git_treebuilder *tb = NULL;
	git_oid id;
	int r = -1;

	e = git_treebuilder_get(root, dir);
	if (e != NULL && git_tree_entry_type(e) == GIT_OBJECT_TREE &&
	    git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0)
		return ag_err_git(err, "reading %s/", dir);
	if (git_treebuilder_new(&tb, repo, sub) < 0) {
		r = ag_err_git(err, "tree");
		goto out;
	}
	if (remove) {
		if (git_treebuilder_get(tb, name) != NULL)
			git_treebuilder_remove(tb, name);
	} else if (blob(&id, repo, data, len) < 0 ||
	    git_treebuilder_insert(NULL, tb, name, &id, GIT_FILEMODE_BLOB) < 0) {
		r = ag_err_git(err, "writing %s/%s", dir, name);
		goto out;
	}
	if (git_treebuilder_entrycount(tb) == 0) {
		if (git_treebuilder_get(root, dir) != NULL)
			git_treebuilder_remove(root, dir);
	} else if (git_treebuilder_write(&id, tb) < 0 ||
	    git_treebuilder_insert(NULL, root, dir, &id, GIT_FILEMODE_TREE) <
	    0) {
		r = ag_err_git(err, "writing %s/", dir);
		goto out;
	}
	r = 0;
out:
	git_treebuilder_free(tb);
	git_tree_free(sub);
	return r;
}

int
ag_gitops_tree(git_oid *out, git_repository *repo, const git_tree *base,
    const struct ag_edit *edits, size_t n, struct ag_err *err)
{
	git_treebuilder *root = NULL;
	const struct ag_edit *e;
	char dir[256];
	const char *name;
	git_oid id;
	size_t i;
	int r = -1;

	if (git_treebuilder_new(&root, repo, base) < 0)
		return ag_err_git(err, "tree");
	for (i = 0; i < n; i++) {
		e = &edits[i];
		if (split(e->path, dir, sizeof dir, &name) < 0) {
			r = ag_err_set(err, AG_EINVAL, "bad path \"%s\"",
			    e->path);
			goto out;
		}
		switch (e->kind) {
		case AG_EDIT_DIR_FILES:
		case AG_EDIT_DIR_TREE:
			if (dir[0] != '\0') {
				r = ag_err_set(err, AG_EINVAL,
				    "folders are top-level: \"%s\"", e->path);
				goto out;
			}
			if (e->kind == AG_EDIT_DIR_FILES) {
				if (files_tree(&id, repo, e->files, e->nfiles,
				    err) < 0)
					goto out;
			} else
				git_oid_cpy(&id, &e->tree);
			if (git_treebuilder_insert(NULL, root, name, &id,
			    GIT_FILEMODE_TREE) < 0) {
				r = ag_err_git(err, "writing %s/", name);
				goto out;
			}
			break;
		case AG_EDIT_FILE:
		case AG_EDIT_REMOVE:
			if (dir[0] != '\0') {
				if (edit_in_dir(root, repo, dir, name, e->data,
				    e->len, e->kind == AG_EDIT_REMOVE, err) < 0)
					goto out;
			} else if (e->kind == AG_EDIT_REMOVE) {
				if (git_treebuilder_get(root, name) != NULL)
					git_treebuilder_remove(root, name);
			} else if (blob(&id, repo, e->data, e->len) < 0 ||
			    git_treebuilder_insert(NULL, root, name, &id,
			    GIT_FILEMODE_BLOB) < 0) {
				r = ag_err_git(err, "writing %s", name);
				goto out;
			}
			break;
		}
	}
	if (git_treebuilder_write(out, root) < 0) {
		r = ag_err_git(err, "writing tree");
		goto out;
	}
	r = 0;
out:
	git_treebuilder_free(root);
	return space_err(err, repo, r);
}

int
ag_gitops_commit(git_oid *out, git_repository *repo, const git_oid *parent,
    const git_oid *tree, const char *message, struct ag_err *err)
{
	git_signature *sig = NULL;
	git_commit *pc = NULL;
	git_tree *t = NULL;
	git_reference *ref = NULL;
	git_odb *odb = NULL;
	const git_commit *parents[1];
	int r = -1, rc;

	if (git_signature_now(&sig, "auger", "auger@localhost") < 0 ||
	    git_tree_lookup(&t, repo, tree) < 0 ||
	    (parent != NULL && git_commit_lookup(&pc, repo, parent) < 0)) {
		r = ag_err_git(err, "preparing the commit");
		goto out;
	}
	parents[0] = pc;
	/* Write the commit object only; the ref moves below, by CAS. */
	if (git_commit_create(out, repo, NULL, sig, sig, NULL, message, t,
	    pc ? 1 : 0, parents) < 0) {
		r = ag_err_git(err, "writing the commit");
		goto out;
	}
	/* On a full disk the write can "succeed" without an object. */
	if (git_repository_odb(&odb, repo) < 0 || !git_odb_exists(odb, out)) {
		git_error_clear();
		r = ag_err_set(err, AG_EIO, "the new commit was not written");
		goto out;
	}
	if (parent != NULL)
		rc = git_reference_create_matching(&ref, repo,
		    AG_GITOPS_BRANCH, out, 1, parent, message);
	else
		rc = git_reference_create(&ref, repo, AG_GITOPS_BRANCH, out, 0,
		    message);
	if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS) {
		r = ag_err_set(err, AG_ECONFLICT, "%s moved while committing",
		    AG_GITOPS_BRANCH);
		goto out;
	}
	if (rc < 0) {
		r = ag_err_git(err, "moving %s", AG_GITOPS_BRANCH);
		goto out;
	}
	r = 0;
out:
	git_odb_free(odb);
	git_reference_free(ref);
	git_tree_free(t);
	git_commit_free(pc);
	git_signature_free(sig);
	return space_err(err, repo, r);
}

int
ag_gitops_unmove(git_repository *repo, const git_oid *moved,
    const git_oid *old, struct ag_err *err)
{
	git_reference *ref = NULL;
	int rc;

	if (old != NULL)
		rc = git_reference_create_matching(&ref, repo,
		    AG_GITOPS_BRANCH, old, 1, moved, "auger: undo");
	else if ((rc = git_reference_lookup(&ref, repo,
	    AG_GITOPS_BRANCH)) == 0) {
		rc = git_oid_equal(git_reference_target(ref), moved) ?
		    git_reference_delete(ref) : GIT_EMODIFIED;
	}
	git_reference_free(ref);
	if (rc == GIT_EMODIFIED)
		return ag_err_set(err, AG_ECONFLICT, "%s moved again",
		    AG_GITOPS_BRANCH);
	if (rc < 0)
		return space_err(err, repo, ag_err_git(err, "moving %s back",
		    AG_GITOPS_BRANCH));
	return 0;
}

int
ag_gitops_head(git_commit **commit, git_tree **tree, git_repository *repo,
    struct ag_err *err)
{
	git_reference *ref = NULL;
	int rc;

	*commit = NULL;
	*tree = NULL;
	rc = git_reference_lookup(&ref, repo, AG_GITOPS_BRANCH);
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	if (rc < 0)
		return ag_err_git(err, "reading %s", AG_GITOPS_BRANCH);
	if (git_commit_lookup(commit, repo, git_reference_target(ref)) < 0 ||
	    git_commit_tree(tree, *commit) < 0) {
		git_reference_free(ref);
		git_commit_free(*commit);
		*commit = NULL;
		return ag_err_git(err, "reading %s", AG_GITOPS_BRANCH);
	}
	git_reference_free(ref);
	return 0;
}

int
ag_gitops_subtree(git_oid *out, const git_tree *tree, const char *path)
{
	const git_tree_entry *e;

	if (tree == NULL || (e = git_tree_entry_byname(tree, path)) == NULL ||
	    git_tree_entry_type(e) != GIT_OBJECT_TREE)
		return AG_ENOTFOUND;
	git_oid_cpy(out, git_tree_entry_id(e));
	return 0;
}

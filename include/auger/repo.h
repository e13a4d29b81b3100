/* Hosted repositories: names, paths, creation and listing. */
#ifndef AUGER_REPO_H
#define AUGER_REPO_H

#include <stddef.h>

#include <git2.h>

#include "auger/err.h"

#define AG_REPO_NAME_MAX 127	/* "<ns>/<name>", each part at most 63 */

/*
 * Checks a repository name: [a-z0-9][a-z0-9._-]{0,62}, optionally one
 * "<ns>/" prefix of the same form; no "..", no ".git"/".lock" suffix.
 * Returns 0, or AG_EINVAL with the rule that failed in err.
 */
int	ag_repo_name_check(const char *name, struct ag_err *err);

/*
 * Splits a URL path "/<name>.git/<rest>" into name and rest. Returns 0 and
 * fills name (NUL-ended, at most namesz) and *rest (points into path), or
 * AG_EINVAL when the path names no repository.
 */
int	ag_repo_split_path(const char *path, char *name, size_t namesz,
	    const char **rest);

/* "<root>/<name>.git" into buf. */
int	ag_repo_path(char *buf, size_t bufsz, const char *root,
	    const char *name);

/* Creates a bare repository with HEAD on refs/heads/main. */
int	ag_repo_create(const char *root, const char *name, struct ag_err *err);

int	ag_repo_open(git_repository **out, const char *root, const char *name,
	    struct ag_err *err);

/* Lists repository names under root, sorted; the caller frees each and v. */
int	ag_repo_list(char ***out, size_t *n, const char *root,
	    struct ag_err *err);

#endif

/* Hosted repositories: name rules, on-disk layout, creation and listing. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auger/repo.h"

static int
part_check(const char *p, size_t len, const char *what, struct ag_err *err)
{
	size_t i;

	if (len == 0)
		return ag_err_set(err, AG_EINVAL, "%s is empty", what);
	if (len > 63)
		return ag_err_set(err, AG_EINVAL,
		    "%s is %zu characters long; at most 63 are allowed", what,
		    len);
	if (!((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= '0' && p[0] <= '9')))
		return ag_err_set(err, AG_EINVAL,
		    "%s must start with a lowercase letter or a digit, not '%c'",
		    what, p[0]);
	for (i = 1; i < len; i++) {
		char c = p[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-')
			continue;
		return ag_err_set(err, AG_EINVAL,
		    "%s may hold only a-z, 0-9, '.', '_' and '-'; found 0x%02x "
		    "at %zu", what, (unsigned char)c, i);
	}
	if (memmem(p, len, "..", 2) != NULL)
		return ag_err_set(err, AG_EINVAL, "%s may not contain \"..\"",
		    what);
	if ((len >= 4 && memcmp(p + len - 4, ".git", 4) == 0) ||
	    (len >= 5 && memcmp(p + len - 5, ".lock", 5) == 0))
		return ag_err_set(err, AG_EINVAL,
		    "%s may not end in \".git\" or \".lock\"", what);
	return 0;
}

int
ag_repo_name_check(const char *name, struct ag_err *err)
{
	const char *slash;
	size_t len;

	if (name == NULL || *name == '\0')
		return ag_err_set(err, AG_EINVAL, "repository name is empty");
	len = strlen(name);
	if (len > AG_REPO_NAME_MAX)
		return ag_err_set(err, AG_EINVAL,
		    "repository name is %zu characters long; at most %d are "
		    "allowed", len, AG_REPO_NAME_MAX);
	if (name[0] == '/')
		return ag_err_set(err, AG_EINVAL,
		    "repository name may not be an absolute path");
	if ((slash = strchr(name, '/')) == NULL)
		return part_check(name, len, "repository name", err);
	if (strchr(slash + 1, '/') != NULL)
		return ag_err_set(err, AG_EINVAL,
		    "repository name may have one \"<namespace>/\" prefix only");
	if (part_check(name, (size_t)(slash - name), "namespace", err) < 0)
		return AG_EINVAL;
	return part_check(slash + 1, strlen(slash + 1), "repository name", err);
}

int
ag_repo_split_path(const char *path, char *name, size_t namesz,
    const char **rest)
{
	const char *p, *end;
	size_t len;

	if (path[0] != '/')
		return AG_EINVAL;
	path++;
	/* The first ".git/" or a trailing ".git" ends the name. */
	for (p = path; (end = strstr(p, ".git")) != NULL; p = end + 1) {
		if (end[4] == '/' || end[4] == '\0')
			break;
	}
	if (end == NULL)
		return AG_EINVAL;
	len = (size_t)(end - path);
	if (len == 0 || len >= namesz)
		return AG_EINVAL;
	memcpy(name, path, len);
	name[len] = '\0';
	*rest = end + 4;
	return ag_repo_name_check(name, NULL) < 0 ? AG_EINVAL : 0;
}

int
ag_repo_path(char *buf, size_t bufsz, const char *root, const char *name)
{
	int n = snprintf(buf, bufsz, "%s/%s.git", root, name);

	return n < 0 || (size_t)n >= bufsz ? AG_ETOOBIG : 0;
}

int
ag_repo_create(const char *root, const char *name, struct ag_err *err)
{
	git_repository_init_options o = GIT_REPOSITORY_INIT_OPTIONS_INIT;
	git_repository *repo = NULL;
	char path[4096], ns[4096];
	const char *slash;
	struct stat sb;
	int r = -1;

	if ((r = ag_repo_name_check(name, err)) < 0)
		return r;
	if (ag_repo_path(path, sizeof path, root, name) < 0)
		return ag_err_set(err, AG_ETOOBIG, "data path too long");
	if (stat(path, &sb) == 0)
		return ag_err_set(err, AG_ECONFLICT,
		    "repository \"%s\" already exists", name);
	if ((slash = strchr(name, '/')) != NULL) {
		snprintf(ns, sizeof ns, "%s/%.*s", root, (int)(slash - name),
		    name);
		if (mkdir(ns, 0755) < 0 && errno != EEXIST)
			return ag_err_set(err, AG_EIO, "mkdir %s: %s", ns,
			    strerror(errno));
	}
	o.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
	    GIT_REPOSITORY_INIT_NO_REINIT;
	o.initial_head = "main";
	if (git_repository_init_ext(&repo, path, &o) < 0)
		return ag_err_git(err, "creating %s", name);
	git_repository_free(repo);
	return 0;
}

int
ag_repo_open(git_repository **out, const char *root, const char *name,
    struct ag_err *err)
{
	char path[4096];
	struct stat sb;

	*out = NULL;
	if (ag_repo_path(path, sizeof path, root, name) < 0 ||
	    stat(path, &sb) < 0)
		return ag_err_set(err, AG_ENOTFOUND,
		    "repository \"%s\" not found", name);
	if (git_repository_open_bare(out, path) < 0)
		return ag_err_git(err, "opening %s", name);
	return 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
push_name(char ***v, size_t *n, size_t *cap, const char *ns, const char *d,
    size_t dlen)
{
	char **nv, *s;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((nv = realloc(*v, *cap * sizeof *nv)) == NULL)
			return -1;
		*v = nv;
	}
	if (asprintf(&s, "%s%s%.*s", ns ? ns : "", ns ? "/" : "", (int)dlen,
	    d) < 0)
		return -1;
	(*v)[(*n)++] = s;
	return 0;
}

static int
scan(char ***v, size_t *n, size_t *cap, const char *dir, const char *ns)
{
	struct dirent *de;
	DIR *d;
	size_t len;
	char sub[4096];
	int r = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		len = strlen(de->d_name);
		if (len > 4 && strcmp(de->d_name + len - 4, ".git") == 0) {
			r = push_name(v, n, cap, ns, de->d_name, len - 4);
		} else if (ns == NULL &&
		    ag_repo_name_check(de->d_name, NULL) == 0) {
			struct stat sb;

			/* A namespace is a directory; skip stray files. */
			snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
			if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
				r = scan(v, n, cap, sub, de->d_name);
		}
	}
	closedir(d);
	return r;
}

int
ag_repo_list(char ***out, size_t *n, const char *root, struct ag_err *err)
{
	char **v = NULL;
	size_t cap = 0, i;

	*n = 0;
	if (scan(&v, n, &cap, root, NULL) < 0) {
		for (i = 0; i < *n; i++)
			free(v[i]);
		free(v);
		*n = 0;
		return ag_err_set(err, AG_EIO, "listing %s: %s", root,
		    strerror(errno));
	}
	if (*n > 0)
		qsort(v, *n, sizeof *v, cmpstr);
	*out = v;
	return 0;
}

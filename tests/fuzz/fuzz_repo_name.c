/*
 * Fuzzes repository name checks and URL path splitting (src/repo.c) on
 * NUL-terminated copies of the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auger/repo.h"

#define FUZZ_MAX_INPUT	4096

/* The rules of ag_repo_name_check, restated: for an accepted name. */
static void
check_accepted(const char *name)
{
	const char *slash = strchr(name, '/');
	size_t len = strlen(name);

	if (len == 0 || len > AG_REPO_NAME_MAX || name[0] == '/' ||
	    strstr(name, "..") != NULL || strstr(name, "//") != NULL ||
	    name[len - 1] == '/' || (slash && strchr(slash + 1, '/')))
		abort();
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-/") != len)
		abort();
	if ((len >= 4 && strcmp(name + len - 4, ".git") == 0) ||
	    (len >= 5 && strcmp(name + len - 5, ".lock") == 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ag_err err = { 0, "" };
	char *s, name[AG_REPO_NAME_MAX + 1], small[8];
	const char *rest = NULL;
	int rc;

	if (size > FUZZ_MAX_INPUT || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	rc = ag_repo_name_check(s, &err);
	if (rc == 0)
		check_accepted(s);
	else if (rc != AG_EINVAL || err.code != AG_EINVAL ||
	    err.msg[0] == '\0')
		abort();

	rc = ag_repo_split_path(s, name, sizeof name, &rest);
	if (rc == 0) {
		/* name is a valid name, rest lies inside s after ".git" */
		if (ag_repo_name_check(name, NULL) != 0)
			abort();
		check_accepted(name);
		if (rest == NULL || rest < s || rest > s + strlen(s) ||
		    rest - s < 5 || memcmp(rest - 4, ".git", 4) != 0 ||
		    (*rest != '\0' && *rest != '/'))
			abort();
		if ((size_t)(rest - 4 - (s + 1)) != strlen(name) ||
		    memcmp(s + 1, name, strlen(name)) != 0)
			abort();
	} else if (rc != AG_EINVAL)
		abort();

	/* A name buffer too small is refused, never overrun. */
	rc = ag_repo_split_path(s, small, sizeof small, &rest);
	if (rc == 0 && strlen(small) >= sizeof small)
		abort();
	free(s);
	return 0;
}

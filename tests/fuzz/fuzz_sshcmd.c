/*
 * Fuzz target: the SSH exec command parser (src/sshcmd.c), which sees the
 * bytes an authenticated client sends as its command.
 *
 * Invariants checked (abort() on violation):
 * - a refusal carries a negative code and a non-empty message;
 * - an accepted command names a repository that passes ag_repo_name_check,
 *   fits the buffer, has no "..", no leading "-" or "/", and a known
 *   service; the command starts with one of the four verbs;
 * - the name, quoted again as git's sq_quote does, parses to the same name
 *   and service (round trip), with and without a leading "/" and ".git"
 *   (".git" is not appended to a name ending in ".": that makes "..").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auger/refs.h"
#include "auger/repo.h"
#include "auger/sshcmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_round_trip(enum ag_service svc, const char *name)
{
	static const char *const fmt[] = { "%s '%s'", "%s '/%s.git'",
	    "%s /%s.git", "%s %s" };
	char cmd[AG_SSHCMD_MAX + 1], again[AG_REPO_NAME_MAX + 1];
	struct ag_err err = { 0, "" };
	enum ag_service svc2;
	size_t i;

	for (i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
		/* "x." + ".git" holds "..", refused on purpose. */
		if (strstr(fmt[i], ".git") != NULL &&
		    name[strlen(name) - 1] == '.')
			continue;
		snprintf(cmd, sizeof cmd, fmt[i], svc == AG_SVC_UPLOAD ?
		    "git-upload-pack" : "git receive-pack", name);
		ag_err_clear(&err);
		if (ag_sshcmd_parse(cmd, &svc2, again, sizeof again,
		    &err) != 0 || svc2 != svc || strcmp(again, name) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const verbs[] = { "git-upload-pack ",
	    "git upload-pack ", "git-receive-pack ", "git receive-pack " };
	struct ag_err err = { 0, "" }, nerr = { 0, "" };
	enum ag_service svc = (enum ag_service)-1;
	char name[AG_REPO_NAME_MAX + 1], *cmd;
	size_t i, len;
	int r, verb_ok = 0;

	/* The daemon copies the command as a C string: NUL ends it. */
	if ((cmd = malloc(size + 1)) == NULL)
		return 0;
	memcpy(cmd, data, size);
	cmd[size] = '\0';
	memset(name, 0x5a, sizeof name);
	r = ag_sshcmd_parse(cmd, &svc, name, sizeof name, &err);
	if (r != 0) {
		if (r > 0 || err.code >= 0 || err.msg[0] == '\0' ||
		    memchr(err.msg, '\0', sizeof err.msg) == NULL)
			abort();
		free(cmd);
		return 0;
	}
	if (err.code != 0 || (svc != AG_SVC_UPLOAD && svc != AG_SVC_RECEIVE))
		abort();
	if (memchr(name, '\0', sizeof name) == NULL)
		abort();
	len = strlen(name);
	if (len == 0 || name[0] == '-' || name[0] == '/' ||
	    strstr(name, "..") != NULL || ag_repo_name_check(name, &nerr) != 0)
		abort();
	if (strlen(cmd) > AG_SSHCMD_MAX)
		abort();
	for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strncmp(cmd, verbs[i], strlen(verbs[i])) == 0 &&
		    (i < 2) == (svc == AG_SVC_UPLOAD))
			verb_ok = 1;
	if (!verb_ok)
		abort();
	/* Nothing a shell would act on survives into an accepted name. */
	if (strpbrk(name, " \t\n'\"\\$`;&|<>(){}*?[]~!#") != NULL)
		abort();
	check_round_trip(svc, name);
	free(cmd);
	return 0;
}

/* The exec command of a git SSH session, parsed by a strict grammar. */
#ifndef AUGER_SSHCMD_H
#define AUGER_SSHCMD_H

#include <stddef.h>

#include "auger/err.h"
#include "auger/refs.h"

#define AG_SSHCMD_MAX	1024	/* longest exec command accepted */

/*
 * Parses "git-upload-pack '<path>'", "git upload-pack '<path>'" and the
 * receive-pack forms. <path> is single-quoted as git's sq_quote writes it
 * ('\'' and '\!' escapes) or a bare word; a leading "/" and a trailing
 * ".git" or "/" are optional. The repository name must pass
 * ag_repo_name_check. No shell is ever involved.
 */
int	ag_sshcmd_parse(const char *cmd, enum ag_service *svc, char *name,
	    size_t namesz, struct ag_err *err);

#endif

/* A snapshot of a repository's refs and the advertisements built from it. */
#ifndef AUGER_REFS_H
#define AUGER_REFS_H

#include <stddef.h>

#include <git2.h>

#include "auger/err.h"

struct ag_ref {
	char	*name;		/* "refs/heads/main" (owned) */
	git_oid	 oid;
	git_oid	 peeled;	/* meaningful when has_peeled */
	int	 has_peeled;	/* an annotated tag: peeled is its target */
};

struct ag_refs {
	struct ag_ref	*v;		/* sorted by name */
	size_t		 n;
	char		*head_target;	/* symref target of HEAD, or NULL */
	git_oid		 head_oid;
	int		 head_valid;	/* HEAD resolves to a commit */
	char		*state;		/* hex sha256 of all names and ids */
};

int	ag_refs_load(struct ag_refs **out, git_repository *repo,
	    struct ag_err *err);
void	ag_refs_free(struct ag_refs *refs);
/* The ref with that exact name, or NULL. */
const struct ag_ref *ag_refs_find(const struct ag_refs *refs,
	    const char *name);
/* Whether oid is the id, or the peeled id, of any ref (or HEAD). */
int	ag_refs_is_tip(const struct ag_refs *refs, const git_oid *oid);

enum ag_service {
	AG_SVC_UPLOAD = 0,
	AG_SVC_RECEIVE
};

#define AG_ADV_HTTP	0x1	/* start with "# service=..." and a flush */

/*
 * Builds the protocol v0 ref advertisement of service, pkt-framed and
 * ending with a flush, into a malloc'd buffer.
 */
int	ag_refs_adv_v0(char **out, size_t *outlen, const struct ag_refs *refs,
	    enum ag_service svc, int flags, struct ag_err *err);
/* The protocol v2 capability advertisement (upload-pack only). */
int	ag_refs_adv_v2(char **out, size_t *outlen, int flags,
	    struct ag_err *err);

const char *ag_service_name(enum ag_service svc);

#endif

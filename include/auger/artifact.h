/* Artifacts (Gimlet's shape): a build's version, vars and manifests. */
#ifndef AUGER_ARTIFACT_H
#define AUGER_ARTIFACT_H

#include <stdint.h>

#include <jansson.h>

#include "auger/access.h"
#include "auger/err.h"
#include "auger/store.h"

#define AG_ARTIFACT_MAX_MANIFESTS 256

/*
 * Checks an artifact (version.repositoryName and version.sha required;
 * environments[] of objects with app and env, an app not templated being
 * a valid name (ag_release_app_check); vars an object of scalars),
 * gives it an id and created time, and stores it with its indexes.
 * *out: the stored artifact.
 */
int	ag_artifact_put(json_t **out, struct ag_store *st, const json_t *in,
	    struct ag_err *err);
int	ag_artifact_get(json_t **out, struct ag_store *st, const char *id,
	    struct ag_err *err);

struct ag_artifact_query {
	const char	*repository, *branch, *event, *sha;
	size_t		 limit, offset;		/* limit 0: 50, at most 1000 */
	int64_t		 since, until;
	/*
	 * Whose list it is (borrowed): only artifacts with a manifest for
	 * one of its envs, unless admin or ["*"]. NULL: every artifact.
	 */
	const struct ag_grant *scope;
};

/* Newest first, filtered by scope before paging. */
int	ag_artifact_list(json_t **out, struct ag_store *st,
	    const struct ag_artifact_query *q, struct ag_err *err);

#endif

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
/* Stores art (read with ag_artifact_get) again: what its deploys did. */
int	ag_artifact_update(struct ag_store *st, const json_t *art,
	    struct ag_err *err);

/*
 * Release events: what one POST /api/releases or /api/rollback did, kept
 * under a tracking id (Gimlet's event id) next to the artifacts. Ids are
 * [0-9a-f-] of at most AG_ARTIFACT_EVENT_ID_MAX characters.
 */
#define AG_ARTIFACT_EVENT_ID_MAX	64
/* Gives rec an "id" (random) and a "created" time and stores it. */
int	ag_artifact_event_put(struct ag_store *st, json_t *rec,
	    struct ag_err *err);
int	ag_artifact_event_get(json_t **out, struct ag_store *st,
	    const char *id, struct ag_err *err);

#define AG_ARTIFACT_MAX_SHAS	100	/* sha= values of one query */

/*
 * Gimlet's artifact filters (pkg/dashboard/store/events.go Artifacts):
 * each set field must match; shas are OR-ed; event "push" also matches an
 * artifact without event (Go omits the zero value); sourceBranch is
 * compared with version.branch, as Gimlet does.
 */
struct ag_artifact_query {
	const char	*repository, *branch, *event, *source_branch;
	const char	*const *shas;
	size_t		 nshas;
	size_t		 limit, offset;		/* limit 0: 10, at most 1000 */
	int64_t		 since, until;		/* since <= created < until */
	/*
	 * Whose list it is (borrowed): only artifacts with a manifest for
	 * one of its envs, cut to those envs, unless admin or ["*"]. NULL:
	 * every artifact, whole.
	 */
	const struct ag_grant *scope;
};

/*
 * Cuts art down to what g may read, in place: the manifests
 * (environments[]) and deploy results (releases[]) of envs whose apps
 * repository g may fetch. Vars stay: they are the whole artifact's, the
 * input of every env's manifests. Returns 1 when a manifest is left (g may
 * see the artifact at all), 0 when none is. Admin, ["*"] and a NULL g
 * keep everything (1). Every answer that shows an artifact goes through
 * it.
 */
int	ag_artifact_scope(json_t *art, const struct ag_grant *g);

/* Newest first, filtered and cut by scope (ag_artifact_scope) before paging. */
int	ag_artifact_list(json_t **out, struct ag_store *st,
	    const struct ag_artifact_query *q, struct ag_err *err);

#endif

/*
 * The release service: what deploys, rolls back and deletes apps in the
 * environments, whoever asks (the API handlers in deploy.c, pushes in
 * pushdeploy.c). No HTTP here: errors are AG_E* codes with the message in
 * struct ag_err; the caller decides how to answer.
 */
#ifndef DAEMON_RELEASESVC_H
#define DAEMON_RELEASESVC_H

#include <stddef.h>

#include <jansson.h>

#include "auger/err.h"
#include "auth.h"

struct validate_file;

/*
 * The env's apps repo name in repo, after checking the name and that the
 * env exists: AG_EINVAL (no or bad name) or AG_ENOTFOUND.
 */
int	releasesvc_env_repo(char *repo, size_t reposz, const char *env,
	    struct ag_err *err);

/*
 * The validating chain after render, for any intent: built-in stages
 * (validate-yaml, validate-k8s, policy) and the external hooks in
 * DATA/hooks/validate.d/. files are (path, data) pairs in the GitOps repo.
 * Returns 0 (accepted) or AG_EINVAL with the user's message in *msg.
 */
int	releasesvc_validate(char **msg, const char *env, int infra,
	    const char *source, const char *repo, const char *ref,
	    const char *actor, const char *message,
	    const struct validate_file *files, size_t n, struct ag_err *err);

/*
 * Templates (unless the artifact's context says it is done), renders and
 * commits each manifest of the array: all prepared before the first commit.
 * keep_going: a manifest's error goes into its result instead of failing
 * the whole list. *out: one result per manifest.
 */
int	releasesvc_deploy_list(json_t **out, const json_t *artifact,
	    const json_t *manifests, const char *by, int keep_going,
	    struct ag_err *err);
/*
 * Deploys the artifact's manifests for env (NULL: any) and app (NULL:
 * any). policy: only those whose deploy policy matches and whose env cred
 * may deploy to, each error in its result; otherwise all or nothing.
 */
int	releasesvc_deploy_artifact(json_t **out, const struct cred *cred,
	    const json_t *artifact, const char *env, const char *app,
	    int policy, struct ag_err *err);

/*
 * One commit whose <app>/ is an earlier release's tree (see release.h).
 * *out also holds "id" and "type": "rollback" (a release event).
 */
int	releasesvc_rollback(json_t **out, const char *env, const char *app,
	    const char *to, const char *by, struct ag_err *err);
/* Deletes app from env (its folder and Kustomization) in one commit. */
int	releasesvc_delete(json_t **out, const char *env, const char *app,
	    const char *by, struct ag_err *err);
/* Flux's verdict on a gitops commit of env and its unmarked ancestors. */
int	releasesvc_set_status(const char *env, const char *sha,
	    const char *status, const char *desc, size_t *marked,
	    struct ag_err *err);
/* Indexes direct pushes to env's apps repo as releases by actor. */
int	releasesvc_index_push(const char *env, const char *actor,
	    struct ag_err *err);

/*
 * Stores an artifact (Gimlet's shape) from cred and deploys what its
 * policies match. *out: the stored artifact with "releases" (one result
 * per manifest that matched) and "warnings" (parts not supported).
 */
int	releasesvc_ship(json_t **out, const struct cred *cred, const json_t *in,
	    struct ag_err *err);
/* Keeps a push artifact's results with it (see releasesvc_track_artifact). */
int	releasesvc_keep_push_results(json_t *art, json_t *results);
/*
 * Deploys artifact_id to env (app NULL: each of its apps there), no
 * policy. *out: {"id", "type": "release", "releases": [...]}; the id
 * tracks (releasesvc_track_event) to the final status at once.
 */
int	releasesvc_release(json_t **out, const struct cred *cred,
	    const char *env, const char *app, const char *artifact_id,
	    struct ag_err *err);
/*
 * Gimlet's ReleaseStatus {type, status, statusDesc, results[]} of an
 * artifact (eventArtifactTrack) or a release or rollback event
 * (eventReleaseTrack), Flux's status of each commit read at the time.
 * An artifact is cut to what scope may read (ag_artifact_scope): not
 * found when no manifest of its envs is left.
 */
int	releasesvc_track_artifact(json_t **out, const char *id,
	    const struct ag_grant *scope, struct ag_err *err);
int	releasesvc_track_event(json_t **out, const char *id,
	    struct ag_err *err);

/*
 * Gimlet's gitopsManifests: {"infra": {name: text}, "apps": {...}}, the
 * files directly in flux/ on main of env's two repositories.
 */
int	releasesvc_flux_files(json_t **out, const char *env,
	    struct ag_err *err);

/* Whether a branch is the main line (main, master): no preview for it. */
int	releasesvc_is_main(const char *branch);
/* Whether version gets previews: Gimlet's event push, !{main,master}. */
int	releasesvc_preview_match(const json_t *version);
/*
 * A preview of manifest m for branch: app "<app without -preview>-<branch
 * slug>", the ingress host renamed likewise (Gimlet's PrepPreview).
 */
json_t	*releasesvc_preview_of(const json_t *m, const char *branch);

/* Brings every env's release index up to date (at start). */
int	releasesvc_catch_up_all(void);
/* augerd reindex: rebuilds every env's index from git. */
int	releasesvc_reindex_all(void);

#endif

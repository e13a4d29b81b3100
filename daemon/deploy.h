/* The release API: environments, artifacts, deploys, history, rollback. */
#ifndef DAEMON_DEPLOY_H
#define DAEMON_DEPLOY_H

#include "api.h"

void	deploy_envs_create(struct apijob *a, const char *arg);
void	deploy_envs_list(struct apijob *a, const char *arg);
void	deploy_bootstrap(struct apijob *a, const char *arg);
void	deploy_artifact_create(struct apijob *a, const char *arg);
void	deploy_artifacts_list(struct apijob *a, const char *arg);
void	deploy_releases_create(struct apijob *a, const char *arg);
void	deploy_releases_list(struct apijob *a, const char *arg);
void	deploy_status(struct apijob *a, const char *arg);
void	deploy_rollback(struct apijob *a, const char *arg);
void	deploy_delete(struct apijob *a, const char *arg);
/* Flux notification-controller events (generic-hmac provider). */
void	deploy_flux_events(struct apijob *a, const char *arg);

/*
 * Templates (unless the artifact's context says it is done), renders and
 * commits each manifest of the array: all prepared before the first commit.
 * keep_going: a manifest's error goes into its result instead of failing
 * the whole list. *out: one result per manifest.
 */
int	deploy_list(json_t **out, const json_t *artifact, const json_t *manifests,
	    const char *by, int keep_going, struct ag_err *err);
/* Deletes app from env (its folder and Kustomization) in one commit. */
int	deploy_delete_app(json_t **out, const char *env, const char *app,
	    const char *by, struct ag_err *err);
/* Indexes direct pushes to env's apps repo as releases by actor. */
int	deploy_index_push(const char *env, const char *actor,
	    struct ag_err *err);

/* Brings every env's release index up to date (at start). */
int	deploy_catch_up_all(void);
/* augerd reindex: rebuilds every env's index from git. */
int	deploy_reindex_all(void);

#endif

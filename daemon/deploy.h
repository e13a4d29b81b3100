/*
 * The release API's handlers (HTTP side): environments, artifacts,
 * deploys, history, rollback, delete. The work is the release service's.
 */
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
void	deploy_track_artifact(struct apijob *a, const char *arg);
void	deploy_track_event(struct apijob *a, const char *arg);
void	deploy_gitops_repo(struct apijob *a, const char *arg);
void	deploy_gitops_manifests(struct apijob *a, const char *env);
void	deploy_user(struct apijob *a, const char *arg);
void	deploy_users(struct apijob *a, const char *arg);
/* Flux notification-controller events (generic-hmac provider). */
void	deploy_flux_events(struct apijob *a, const char *arg);

#endif

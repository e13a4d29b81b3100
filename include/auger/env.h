/* Environments: a pair of GitOps repositories and their LMDB record. */
#ifndef AUGER_ENV_H
#define AUGER_ENV_H

#include <stddef.h>

#include <jansson.h>

#include "auger/err.h"
#include "auger/store.h"

#define AG_ENV_MAX 40	/* so "gitops-<env>-infra" stays a valid name */

/* DNS-1123 label of at most AG_ENV_MAX characters. */
int	ag_env_name_check(const char *env, struct ag_err *err);

/*
 * Creates gitops-<env>-apps and gitops-<env>-infra under root, each with a
 * first commit holding a README and the flux/ manifests (GitRepository at
 * public_url, Kustomization, Provider and Alert for events), and records
 * the env (with a fresh events HMAC token) in LMDB. *out: the record.
 */
int	ag_env_create(json_t **out, const char *root, struct ag_store *st,
	    const char *env, const char *public_url, struct ag_err *err);
/* The env's record, or AG_ENOTFOUND. */
int	ag_env_get(json_t **out, struct ag_store *st, const char *env,
	    struct ag_err *err);
/* All env records, by name. */
int	ag_env_list(json_t **out, struct ag_store *st, struct ag_err *err);

#endif

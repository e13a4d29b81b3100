/* The built-in validate stages: validate-yaml, validate-k8s and policy. */
#ifndef AUGER_HOOKS_VALIDATE_H
#define AUGER_HOOKS_VALIDATE_H

#include <stddef.h>

#include "auger/err.h"
#include "config.h"

/* Bytes of a message for the user, its NUL included. */
#define VALIDATE_MSG_MAX	(64 * 1024)
/* Files in one call. */
#define VALIDATE_MAX_FILES	100000

struct validate_file {
	const char	*path;	/* path in the gitops repo: "web/deployment.yaml" */
	const char	*data;
	size_t		 len;
};

/*
 * Every stage sets *msg (its old value is not read) to the message for the
 * user: malloc'd, one problem a line, each ending in '\n', at most
 * VALIDATE_MSG_MAX bytes (cut with a "... (truncated)" line), NULL when
 * accepted. Returns 0 accepted, AG_EINVAL refused (*msg set, and err
 * holds the stage and the message's first line), <0 other errors (*msg
 * NULL). Documents are
 * numbered from 1 among the non-empty documents of a file. env NULL reads
 * the built-in defaults (config_env(NULL, ...)). A file that does not
 * parse is refused by every stage.
 */

/*
 * validate-yaml: every *.yaml / *.yml file parses (all documents); errors
 * name "path:line:col: what". Other files are skipped.
 */
int	validate_yaml(char **msg, const struct validate_file *files, size_t n,
	    struct ag_err *err);
/*
 * validate-k8s: every document of every YAML file is a map with
 * apiVersion, kind and metadata.name (strings); metadata.name a DNS-1123
 * subdomain, metadata.namespace (if set) a DNS-1123 label; no two
 * documents with the same kind/namespace/name within one app folder (the
 * first path component; top-level files are the group ""); cluster-scoped
 * kinds refused unless env->allow_cluster_scoped. Files under "flux/" are
 * exempt from the cluster-scoped and duplicate rules; kustomization.yaml
 * files (read by kustomize, never applied) are not checked. A List (kind
 * "List" or any kind ending in "List", as kubectl reads them) needs
 * apiVersion, kind and an items array, and each item is checked as a
 * document of its own under every rule above ("document 2 item 1"),
 * Lists in Lists too, down to 8 levels (deeper is refused).
 */
int	validate_k8s(char **msg, const struct validate_file *files, size_t n,
	    const struct config_env *env, struct ag_err *err);
/*
 * policy: with env->deny_latest_tag, every container and initContainer
 * image of a Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod has a
 * tag other than "latest", or a digest; with env->require_limits, each of
 * those containers sets resources.limits.cpu and .memory. Both off: 0.
 */
int	validate_policy(char **msg, const struct validate_file *files,
	    size_t n, const struct config_env *env, struct ag_err *err);
/*
 * The three in order, stopping at the first that refuses, each file
 * parsed once. Every line of *msg starts with the stage that refused:
 * "validate-yaml: web/x.yaml:3:1: ...".
 */
int	validate_all(char **msg, const struct validate_file *files, size_t n,
	    const struct config_env *env, struct ag_err *err);

/* Whether kind is cluster-scoped (no namespace): the one list of them. */
int	validate_is_cluster_kind(const char *kind);

#endif

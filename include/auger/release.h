/*
 * The release engine on one environment's apps repository: deploy, rollback
 * and delete as single commits, each recorded in LMDB after git. Callers
 * hold the repository's ref lock around every call that writes.
 */
#ifndef AUGER_RELEASE_H
#define AUGER_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include <git2.h>
#include <jansson.h>

#include "auger/err.h"
#include "auger/gitops.h"
#include "auger/store.h"

#define AG_RELEASE_TRAILER	"Auger-Release: "
#define AG_RELEASE_LIST_MAX	1000	/* items per history page */
#define AG_RELEASE_APP_MAX	63	/* an app name is a DNS label */
#define AG_RELEASE_STATUS_MAX	4096	/* bytes of a Flux status or message */

/* The app names that would collide with the repository's own files. */
#define AG_RELEASE_RESERVED_RULE \
	"\"flux\", \"readme\" (any case) and names starting with \".\" " \
	"belong to the GitOps repository itself"
/* What a rollback target may be. */
#define AG_RELEASE_TO_RULE \
	"\"to\" must be a release number (1, 2, ...) or a 40-hex gitops " \
	"commit sha; leave it out for the release before the current one"

struct ag_release_ctx {
	git_repository	*repo;		/* gitops-<env>-apps */
	struct ag_store	*st;
	const char	*env;
	const char	*repo_name;
	/* Who made commits that carry no release record (a direct push);
	 * NULL: their committer. */
	const char	*actor;
};

/*
 * An app name: a DNS label (AG_RELEASE_APP_MAX) and not reserved. Every
 * deploy, rollback and delete checks it; so do artifacts and manifests
 * read from pushes, to refuse early. AG_EINVAL with the rule in err.
 */
int	ag_release_app_check(const char *app, struct ag_err *err);
/* Whether a top-level name is the repository's own (flux, readme, .x). */
int	ag_release_app_reserved(const char *app);
/*
 * The bytes of s that are kept as a Flux status or message: at most
 * AG_RELEASE_STATUS_MAX, cut on a UTF-8 character boundary.
 */
size_t	ag_release_status_len(const char *s);

/*
 * Indexes commits of the branch that LMDB does not know yet (newest known
 * back to HEAD), from their Auger-Release trailers. Run before each write
 * and at start: a crash between the git and the LMDB write loses nothing.
 */
int	ag_release_catch_up(const struct ag_release_ctx *c, size_t *added,
	    struct ag_err *err);
/* Drops the env's index and rebuilds it from the whole history. */
int	ag_release_reindex(const struct ag_release_ctx *c, size_t *added,
	    struct ag_err *err);

/*
 * Replaces <app>/ with files plus release.json, writes
 * flux/kustomization-<app>.yaml, commits, records. base holds artifactId,
 * triggeredBy and version. *out: the release record, or {"app", "status":
 * "unchanged"} when the tree did not change (no commit).
 */
int	ag_release_deploy(json_t **out, const struct ag_release_ctx *c,
	    const char *app, const struct ag_file *files, size_t nfiles,
	    const json_t *base, struct ag_err *err);

/*
 * One commit whose <app>/ is the target release's tree (to: NULL for the
 * release before the current one, a release number, or a 40-hex gitops
 * sha; anything else is AG_EINVAL with AG_RELEASE_TO_RULE). A root file
 * named app is refused (app names: ag_release_app_check), here and in
 * deploy and delete.
 */
int	ag_release_rollback(json_t **out, const struct ag_release_ctx *c,
	    const char *app, const char *to, const char *by,
	    struct ag_err *err);
/* Removes <app>/ and its Kustomization in one commit. */
int	ag_release_delete(json_t **out, const struct ag_release_ctx *c,
	    const char *app, const char *by, struct ag_err *err);

struct ag_release_query {
	const char	*app;		/* NULL: every app of the env */
	size_t		 limit;		/* 0: 50 */
	size_t		 offset;
	int64_t		 since, until;	/* created, unix seconds; 0: open */
	/* version.repositoryName (Gimlet's git-repo=); NULL: any */
	const char	*repository;
	/*
	 * Gimlet's history (pkg/dashboard/gitops/helper.go Releases): only
	 * deploys, no rollback or delete records of their own.
	 */
	int		 deploys_only;
};

/* History, newest first, from LMDB only. */
int	ag_release_list(json_t **out, struct ag_store *st, const char *env,
	    const struct ag_release_query *q, struct ag_err *err);
/*
 * Flux's status of a gitops commit of env: *status and *desc (malloc'd,
 * "" when none yet). AG_ENOTFOUND if the commit is not indexed.
 */
int	ag_release_commit_status(char **status, char **desc,
	    struct ag_store *st, const char *env, const char *sha,
	    struct ag_err *err);
/* One release record of app by its number: AG_ENOTFOUND if none. */
int	ag_release_get(json_t **out, struct ag_store *st, const char *env,
	    const char *app, uint64_t seq, struct ag_err *err);
/* The current release of each app: {"<app>": record}. */
int	ag_release_status(json_t **out, struct ag_store *st, const char *env,
	    struct ag_err *err);

/*
 * Flux's verdict on a gitops commit (reason of a notification-controller
 * event): recorded on the commit, its release, and the ancestors that have
 * no status yet (Flux reports the newest revision only). *marked counts.
 */
int	ag_release_set_status(const struct ag_release_ctx *c, const char *sha,
	    const char *status, const char *desc, size_t *marked,
	    struct ag_err *err);

/* The Flux Kustomization written for an app (flux/kustomization-<app>). */
char	*ag_release_kustomization(const char *env, const char *app);

#endif

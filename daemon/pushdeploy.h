/*
 * Deploy intents that arrive as pushes: application repositories carrying
 * manifests in .auger/ (push to deploy, previews, -o deploy=<env>), and
 * direct pushes to GitOps repositories (validated before any ref moves,
 * then recorded as releases).
 */
#ifndef DAEMON_PUSHDEPLOY_H
#define DAEMON_PUSHDEPLOY_H

#include "auger/receive.h"
#include "auth.h"

struct pushctx {
	char		repo[128];
	char		env[64];	/* for GitOps repositories */
	int		gitops;		/* 1 apps repo, 2 infra repo */
	struct cred	cred;
};

/* Wires the receive-pack hooks for a push to repo by cred. */
void	pushdeploy_setup(struct ag_receive_opts *o, struct pushctx *pc,
	    const char *repo, const struct cred *cred);

/*
 * The validating chain after render, for any intent: built-in stages
 * (validate-yaml, validate-k8s, policy) and the external hooks in
 * DATA/hooks/validate.d/. files are (path, data) pairs in the GitOps repo.
 * Returns 0 (accepted) or AG_EINVAL with the user's message in *msg.
 */
struct validate_file;
int	pushdeploy_validate(char **msg, const char *env, int infra,
	    const char *source, const char *repo, const char *ref,
	    const char *actor, const char *message,
	    const struct validate_file *files, size_t n, struct ag_err *err);

#endif

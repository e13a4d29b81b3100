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

#endif

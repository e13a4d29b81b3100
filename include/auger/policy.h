/* Deploy policies of manifests: which pushes and tags deploy automatically. */
#ifndef AUGER_POLICY_H
#define AUGER_POLICY_H

#include <jansson.h>

#include "auger/err.h"

#define AG_DEPLOY_ALL_MARK "[DEPLOY: ALL]"

/*
 * Matches one glob ("main", "release-*", "!main": anything but main)
 * against s: 1 match, 0 no match, AG_EINVAL for a malformed glob.
 */
int	ag_policy_glob(const char *glob, const char *s, struct ag_err *err);

/*
 * Decides whether a manifest's deploy policy ({branch, tag, event,
 * commitMessagePatterns}) matches an artifact version ({branch, tag, event,
 * message}). No policy never matches; "[DEPLOY: ALL]" in the message
 * matches any policy. Returns 1, 0, or AG_EINVAL (reason in err).
 */
int	ag_policy_match(const json_t *deploy, const json_t *version,
	    struct ag_err *err);

#endif

/* Deploy policies of manifests: which pushes and tags deploy automatically. */
#ifndef AUGER_POLICY_H
#define AUGER_POLICY_H

#include <jansson.h>

#include "auger/err.h"

#define AG_DEPLOY_ALL_MARK "[DEPLOY: ALL]"
/* Longest glob accepted, in bytes. */
#define AG_POLICY_GLOB_MAX	256

/*
 * Matches s against a glob with gobwas/glob's syntax (the library behind
 * Gimlet's policies), without separators: "*" and "**" any run of
 * characters, "?" one character, "[abc]" "[a-z]" "[!abc]" "[!a-z]" one
 * character of (not of) a list or a single range, "{a,b*,c}" any of the
 * alternatives (nested, each a pattern), "\x" a literal x. Characters are
 * UTF-8 code points. 1 match, 0 no match, AG_EINVAL for a malformed glob.
 */
int	ag_policy_globmatch(const char *glob, const char *s,
	    struct ag_err *err);

/*
 * A branch or tag policy the way Gimlet reads it: a leading "!" negates,
 * and the rest matches when it is the glob of s or equals s: "main",
 * "release-*", "!{main,master}". 1, 0, or AG_EINVAL.
 */
int	ag_policy_glob(const char *glob, const char *s, struct ag_err *err);

/*
 * Decides whether a manifest's deploy policy ({branch, tag, event,
 * commitMessagePatterns}) matches an artifact version ({branch, tag, event,
 * message}), as Gimlet's deployTrigger does: no policy, or one with none
 * of the four fields, never matches; a branch needs event push or pr; a tag
 * needs event tag; every field given must match (a version without event
 * is a push); commitMessagePatterns match when one of them, or
 * "*[DEPLOY: ALL]*", globs the message, brackets in them being literal.
 * Returns 1, 0, or AG_EINVAL (reason in err).
 */
int	ag_policy_match(const json_t *deploy, const json_t *version,
	    struct ag_err *err);

#endif

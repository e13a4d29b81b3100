/*
 * git fsck's object checks for pushed objects (what receive.fsckObjects
 * does in git): trees, commits, tags, and the .gitmodules and
 * .gitattributes blobs that trees name.
 *
 * Severities follow git's receive-pack, which runs index-pack --strict:
 * git's errors and warnings refuse the object, its infos (badFilemode,
 * badTagName, missingTaggerEntry, gitmodulesParse, ...) are accepted.
 * A refusal is AG_EINVAL with err->msg "<msgId>: <type> <oid>: <what>",
 * the message id spelt as git prints it (e.g. "hasDotgit: tree 1f2e...:
 * contains '.git'"), ready for "ng <ref> <msg>". The message never holds
 * a newline or other control character.
 */
#ifndef AUGER_FSCK_H
#define AUGER_FSCK_H

#include <stddef.h>

#include <git2.h>

#include "auger/err.h"

/* The largest .gitmodules blob checked; a larger one is gitmodulesLarge. */
#define AG_FSCK_GITMODULES_MAX		(1024 * 1024)
/* A section name with its subsection ("submodule.<name>"), and a key. */
#define AG_FSCK_GITMODULES_VAR_MAX	8192
/* One value (a url, a path) in .gitmodules. */
#define AG_FSCK_GITMODULES_VALUE_MAX	65536
/* git's ATTR_MAX_FILE_SIZE and ATTR_MAX_LINE_LENGTH for .gitattributes. */
#define AG_FSCK_GITATTRIBUTES_MAX	(100 * 1024 * 1024)
#define AG_FSCK_GITATTRIBUTES_LINE_MAX	2048
/* git's default fsck.largePathname: a tree entry name longer is refused. */
#define AG_FSCK_NAME_MAX		4096

struct ag_fsck;

int	ag_fsck_new(struct ag_fsck **out);
void	ag_fsck_free(struct ag_fsck *f);	/* accepts NULL */

/*
 * Checks one object's raw content (no "type len\0" header). 0 ok,
 * AG_EINVAL with err->msg "<msgId>: ...", AG_EINTERNAL when out of memory
 * (or given no data for len > 0 bytes).
 * Trees that name a .gitmodules (or .gitattributes) blob remember its id
 * in f; a blob whose id is remembered is checked here and not again by
 * ag_fsck_finish, any other blob is accepted as it is.
 */
int	ag_fsck_object(struct ag_fsck *f, const git_oid *id, git_object_t type,
	    const void *data, size_t len, struct ag_err *err);

/*
 * Reads a blob for ag_fsck_finish: 0 with *data and *len (owned by the callee
 * until the next call or the end), 1 when the blob is not available here
 * (skip it: it was checked when it came in), 2 when the object exists but
 * is not a blob (refused: gitmodulesBlob), <0 an error (AG_E*), passed up.
 */
typedef int (*ag_fsck_read_fn)(void *arg, const git_oid *id,
    const void **data, size_t *len);

/* Checks every remembered .gitmodules (and .gitattributes) blob. */
int	ag_fsck_finish(struct ag_fsck *f, ag_fsck_read_fn read, void *arg,
	    struct ag_err *err);

/* Exposed for tests and fuzzing: the .gitmodules checks on one blob's text. */
int	ag_fsck_gitmodules(const void *data, size_t len, const git_oid *id,
	    struct ag_err *err);

/* The .gitattributes checks on one blob's text (line length, size). */
int	ag_fsck_gitattributes(const void *data, size_t len, const git_oid *id,
	    struct ag_err *err);

/*
 * Whether a path component is a forbidden .git name: ".git" in any case,
 * its HFS+ spellings (ignorable code points inside) and NTFS ones
 * (trailing spaces and dots, "git~1", ":stream" suffixes, and the same
 * after any backslash).
 */
int	ag_fsck_is_dotgit(const char *name, size_t len);

/* Whether a tree entry name is a .gitmodules file (HFS+ and NTFS too). */
int	ag_fsck_is_dotgitmodules(const char *name, size_t len);

/* The number of .gitmodules/.gitattributes blobs remembered, not checked. */
size_t	ag_fsck_pending(const struct ag_fsck *f);

#endif

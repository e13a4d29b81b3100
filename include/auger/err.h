/* Error codes and the message slot every library call fills on failure. */
#ifndef AUGER_ERR_H
#define AUGER_ERR_H

#include <stddef.h>

enum {
	AG_OK = 0,
	AG_EINVAL = -1,		/* malformed input from a peer or caller */
	AG_ENOTFOUND = -2,	/* no such repository, ref, object or record */
	AG_ECONFLICT = -3,	/* compare-and-swap lost, or already exists */
	AG_EAUTH = -4,		/* no or bad credentials */
	AG_EFORBIDDEN = -5,	/* credentials valid but not allowed */
	AG_ETOOBIG = -6,	/* a named limit was exceeded */
	AG_EIO = -7,		/* read/write failed, peer went away */
	AG_EGIT = -8,		/* libgit2 reported an error */
	AG_ESTORE = -9,		/* LMDB reported an error */
	AG_EINTERNAL = -10,	/* a bug or an out-of-memory */
	AG_ETIMEOUT = -11,	/* a time limit ran out */
	AG_ENOSPACE = -12	/* a write failed with ENOSPC or EDQUOT */
};

#define AG_ERR_MSG_MAX 4096	/* a validation refusal is shown whole */

struct ag_err {
	int	code;
	char	msg[AG_ERR_MSG_MAX];
};

/* Sets err (if not NULL) and returns code; never overwrites a set error. */
int		 ag_err_set(struct ag_err *err, int code, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/*
 * Like ag_err_set, appending libgit2's last error message; AG_ENOSPACE
 * when that message says the disk or the quota is full.
 */
int		 ag_err_git(struct ag_err *err, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Whether errno e means the disk or the quota is full. */
int		 ag_err_is_nospace(int e);
void		 ag_err_clear(struct ag_err *err);
const char	*ag_err_name(int code);

#endif

/* Error values: a code and a human message, set once and passed up. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <git2.h>

#include "auger/err.h"

int
ag_err_set(struct ag_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->code != 0)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

int
ag_err_git(struct ag_err *err, const char *fmt, ...)
{
	const git_error *ge = git_error_last();
	char head[AG_ERR_MSG_MAX];
	va_list ap;

	if (err == NULL || err->code != 0)
		return AG_EGIT;
	va_start(ap, fmt);
	vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	/* libgit2 ends an OS error's message with strerror(errno). */
	if (ge != NULL && ge->message != NULL &&
	    (strstr(ge->message, strerror(ENOSPC)) != NULL ||
	    strstr(ge->message, strerror(EDQUOT)) != NULL))
		return ag_err_set(err, AG_ENOSPACE, "no space left on device "
		    "(%s: %s)", head, ge->message);
	return ag_err_set(err, AG_EGIT, "%s: %s", head,
	    ge != NULL && ge->message != NULL ? ge->message : "unknown error");
}

int
ag_err_is_nospace(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

void
ag_err_clear(struct ag_err *err)
{
	if (err != NULL) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

const char *
ag_err_name(int code)
{
	switch (code) {
	case AG_OK:		return "ok";
	case AG_EINVAL:		return "invalid";
	case AG_ENOTFOUND:	return "not found";
	case AG_ECONFLICT:	return "conflict";
	case AG_EAUTH:		return "unauthenticated";
	case AG_EFORBIDDEN:	return "forbidden";
	case AG_ETOOBIG:	return "too big";
	case AG_EIO:		return "i/o";
	case AG_EGIT:		return "git";
	case AG_ESTORE:		return "store";
	case AG_ETIMEOUT:	return "timeout";
	case AG_ENOSPACE:	return "no space";
	default:		return "internal";
	}
}

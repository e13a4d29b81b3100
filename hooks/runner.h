/* External hooks: the executables in DATA/hooks/<stage>.d/, in name order. */
#ifndef AUGER_HOOKS_RUNNER_H
#define AUGER_HOOKS_RUNNER_H

#include <stddef.h>

#include "auger/err.h"

/* Bytes of a hook's stderr kept for the message; the rest is read and dropped. */
#define RUNNER_STDERR_MAX	(16 * 1024)
/* Hooks in one directory. */
#define RUNNER_MAX_HOOKS	256
/* Bytes of input given to a hook on stdin. */
#define RUNNER_MAX_INPUT	(256 * 1024 * 1024)
/* Bytes of manifests a render hook may print on stdout. */
#define RUNNER_STDOUT_MAX	(8 * 1024 * 1024)
/* A render hook's exit status for "not my chart: ask the next". */
#define RUNNER_DECLINE		3
/* The time limit when timeout_ms is 0 or less. */
#define RUNNER_DEFAULT_TIMEOUT_MS	10000

/*
 * Runs every regular executable file in dir (e.g. "DATA/hooks/validate.d")
 * in name order (strcmp), skipping dotfiles, editor and package-manager
 * leftovers (names ending in "~", ".bak", ".orig", ".rej", ".swp",
 * ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".rpmnew", ".rpmsave") and files
 * without an execute bit. A missing dir means no hooks. Each hook is
 * execve()d directly (argv[0] = its path, no shell) in its own process
 * group, with cwd = dir, input on stdin, stdout discarded, stderr kept up
 * to RUNNER_STDERR_MAX, and the environment PATH=/usr/local/bin:/usr/bin:
 * /bin, HOME=dir, AUGER_STAGE=stage, LANG=C and nothing else. After
 * timeout_ms the group is killed. Exit 0 accepts; anything else refuses
 * and stops the chain: *msg = "hook NAME: <stderr or exit status>\n" (or
 * "hook NAME timed out after Ns\n"), malloc'd. Returns 0 accepted (*msg
 * NULL), AG_EINVAL refused (err holds the message's first line), <0 other
 * errors. Safe to call from several threads at once: no signal
 * dispositions change, every descriptor is close-on-exec, every child is
 * reaped.
 */
int	runner_run(char **msg, const char *dir, const char *stage,
	    const char *input, size_t inlen, int timeout_ms,
	    struct ag_err *err);

/*
 * The render stage (DATA/hooks/render.d): the hooks of dir run in the same
 * order, way and limits as runner_run()'s, with AUGER_STAGE=render, and
 * their stdout kept. The first that exits 0 renders: *out (malloc'd,
 * NUL-terminated) is what it printed, at most RUNNER_STDOUT_MAX bytes;
 * more, or nothing, is a refusal. Exit RUNNER_DECLINE hands the intent to
 * the next; any other exit, a signal or the deadline refuses, with *msg
 * as runner_run() makes it. Returns 0 rendered, AG_ENOTFOUND when no hook
 * claimed it (or there is none), AG_EINVAL refused, <0 other errors.
 */
int	runner_render(char **out, size_t *outlen, char **msg, const char *dir,
	    const char *input, size_t inlen, int timeout_ms,
	    struct ag_err *err);

#endif

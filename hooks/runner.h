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

#endif

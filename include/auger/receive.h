/*
 * receive-pack: the serving half of push (gitprotocol-pack). The pack is
 * indexed into a quarantine directory and moves into the repository only
 * once every accepted ref is checked; refs move by compare-and-swap.
 */
#ifndef AUGER_RECEIVE_H
#define AUGER_RECEIVE_H

#include <pthread.h>
#include <stddef.h>

#include <git2.h>

#include "auger/err.h"
#include "auger/io.h"
#include "auger/pkt.h"

#define AG_RECEIVE_MAX_COMMANDS	4096
#define AG_RECEIVE_MAX_OPTIONS	32
#define AG_RECEIVE_MAX_OPTION	4096		/* bytes per push option */
#define AG_RECEIVE_MAX_PACK	(1024UL * 1024 * 1024)
#define AG_RECEIVE_MAX_OBJECTS	2000000
#define AG_RECEIVE_MAX_BLOB	(100UL * 1024 * 1024)	/* inflated */
#define AG_RECEIVE_MAX_REFNAME	1024

#define AG_RCAP_REPORT_STATUS	0x01
#define AG_RCAP_REPORT_STATUS_V2 0x02
#define AG_RCAP_DELETE_REFS	0x04
#define AG_RCAP_SIDE_BAND_64K	0x08
#define AG_RCAP_QUIET		0x10
#define AG_RCAP_ATOMIC		0x20
#define AG_RCAP_OFS_DELTA	0x40
#define AG_RCAP_PUSH_OPTIONS	0x80

struct ag_receive_cmd {
	git_oid	 old_oid;
	git_oid	 new_oid;
	char	*ref;		/* owned */
	char	*error;		/* owned; NULL while accepted */
};

struct ag_receive_req {
	struct ag_receive_cmd *cmds;
	size_t		 n, cap;
	unsigned	 caps;
	char		**options;	/* push options, owned */
	size_t		 noptions;
	char		 agent[128];
};

void	ag_receive_req_free(struct ag_receive_req *req);
/* Parses commands and push options (up to the pack). Exposed for fuzzing. */
int	ag_receive_parse(struct ag_receive_req *req, struct ag_pkt_reader *r,
	    struct ag_err *err);
/* Marks cmd refused with a reason (formatted), unless it already is. */
void	ag_receive_refuse(struct ag_receive_cmd *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Called with the ref lock held, after the built-in checks, with a
 * repository that sees the quarantined objects. It may refuse commands
 * (ag_receive_refuse) and write "remote:" lines with ag_receive_say.
 */
struct ag_receive_ctx;
typedef int (*ag_receive_check_fn)(void *arg, git_repository *qrepo,
    struct ag_receive_req *req, struct ag_receive_ctx *ctx);
void	ag_receive_say(struct ag_receive_ctx *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

struct ag_receive_opts {
	size_t		 max_pack;	/* 0: AG_RECEIVE_MAX_PACK */
	size_t		 max_objects;	/* 0: AG_RECEIVE_MAX_OBJECTS */
	size_t		 max_blob;	/* 0: AG_RECEIVE_MAX_BLOB */
	int		 allow_force;	/* non-fast-forward updates allowed */
	int		 immutable_tags;	/* tags may be created only */
	int		 no_branch_deletes;	/* branches may not be deleted */
	pthread_mutex_t	*ref_lock;	/* serializes ref updates, or NULL */
	/* Read-held from the connectivity check until refs moved, or NULL. */
	pthread_rwlock_t *prune_lock;
	ag_receive_check_fn check;
	void		*check_arg;
	/*
	 * Called after refs moved (the lock released), before the report,
	 * with the repository: post-receive work whose messages the pusher
	 * sees (deploys). Commands with error == NULL are the ones that
	 * moved.
	 */
	ag_receive_check_fn post;
	void		*post_arg;
	/*
	 * Called once refs moved, before the report is sent, so that
	 * whatever serves the refs (advertisement caches) is current when
	 * the client reads its report and lists refs again.
	 */
	void		(*moved)(void *arg, git_repository *repo);
	void		*moved_arg;
};

/*
 * Serves one push read from io on repository repo (at path). *updated
 * counts the refs that moved. Returns 0 when the exchange completed, even
 * if refs were refused (they are reported to the client).
 */
/*
 * Removes what a crash leaves in a repository: quarantine dirs
 * (objects/incoming-*) and ref lock files. Start-up only, when no one
 * else writes it. Returns how many it removed.
 */
int	ag_receive_sweep(const char *repo_path);

int	ag_receive_pack(git_repository *repo, struct ag_io *io,
	    const struct ag_receive_opts *opts, size_t *updated,
	    struct ag_err *err);

#endif

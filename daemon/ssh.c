/*
 * The SSH listener. An accept thread admits each connection through the
 * startup gate (limits on connections not yet authenticated, checked before
 * anything is spent on them) and hands it to a thread of its own, which
 * authenticates the key that signed, takes one exec request, and runs the
 * same upload-pack and receive-pack engines as HTTP on the channel. The
 * accept thread also cuts connections whose login grace time is over. The
 * libevent loop is never involved, so SSH and HTTP never wait for each
 * other.
 *
 * libssh's message API is used although parts of it are marked deprecated:
 * it lets an engine block on ssh_channel_read, where the callback API would
 * turn every read inside the protocol engines into a callback.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/server.h>
#include <openssl/rand.h>

#include "auger/receive.h"
#include "auger/repo.h"
#include "auger/sshcmd.h"
#include "auger/upload.h"
#include "augerd.h"
#include "auth.h"
#include "log.h"
#include "maint.h"
#include "pushdeploy.h"
#include "repostate.h"
#include "ssh.h"
#include "sshfetch.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* Every address with a connection: sessions plus startups, at most. */
#define SSH_PEERS		(SSH_MAX_SESSIONS + SSH_STARTUPS_MAX)
#define SSH_ACCEPT_BATCH	64	/* accepts between two grace sweeps */
#define SSH_LISTEN_BACKLOG	128
#define SSH_REFUSAL_ADDRS	64	/* addresses whose last refusal is kept */

/*
 * What a connection holds at the gate. Every move happens under sshd.mu,
 * and each slot is given back by the one move out of the state that holds
 * it, so a connection releases its startup slot exactly once.
 */
enum ss_state {
	SS_STARTUP,	/* accepted, not authenticated: a startup slot */
	SS_SESSION,	/* authenticated: a session slot */
	SS_CUT,		/* login grace time over: nothing */
	SS_DONE,	/* ended: nothing */
};

static const char *ss_state_names[] = { "startup", "session", "cut", "done" };

struct peer {
	char	 ip[64];
	int	 n;		/* authenticated sessions */
	int	 startups;	/* connections not yet authenticated */
};

struct session {
	ssh_session	 s;
	ssh_channel	 chan;
	char		 ip[64];
	struct cred	 cred;
	int		 authed;
	char		 git_protocol[SSH_MAX_ENV_VALUE + 1];
	time_t		 start;

	/* The gate's fields, under sshd.mu. */
	enum ss_state	 state;
	int		 peer;		/* index in sshd.peers */
	/*
	 * A duplicate of the socket while in SS_STARTUP, for the grace cut:
	 * libssh closes its own descriptor on a peer's EOF, and a number
	 * that was closed may already name someone else's connection.
	 */
	int		 gate_fd;
	uint64_t	 deadline;	/* monotonic ms: the login grace ends */
	TAILQ_ENTRY(session) entry;	/* in sshd.startq while SS_STARTUP */
	TAILQ_ENTRY(session) all;	/* in sshd.allq until gate_leave */
};

TAILQ_HEAD(startq, session);

static struct {
	ssh_bind	 bind;
	pthread_t	 accept_thread;
	atomic_int	 running;
	/* The limits, from augerd's flags at start. */
	int		 begin, rate, full, per_addr, grace;
	pthread_mutex_t	 mu;		/* guards what follows */
	pthread_cond_t	 cv;
	int		 conns;		/* admitted and not yet ended */
	int		 sessions;	/* in SS_SESSION */
	int		 startups;	/* in SS_STARTUP */
	struct peer	 peers[SSH_PEERS];
	/* SS_STARTUP, in arrival order: the first is the first to expire. */
	struct startq	 startq;
	/* Every admitted connection, for the cut at shutdown. */
	TAILQ_HEAD(, session) allq;
	ssh_key		 keys[2];
	int		 nkeys;
} sshd = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.startq = TAILQ_HEAD_INITIALIZER(sshd.startq),
	.allq = TAILQ_HEAD_INITIALIZER(sshd.allq),
};

/* Refusals logged lately, so a flood is not (accept thread only). */
static struct {
	struct {
		char	 ip[64];
		uint64_t ms;		/* when it was last logged */
	}		 addr[SSH_REFUSAL_ADDRS];
	uint64_t	 sec;		/* the second lines are counted in */
	int		 lines;		/* lines logged in it */
	unsigned long	 quiet;		/* refusals not logged since a line */
} refusals;

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
fingerprint(ssh_key key, char *out, size_t outsz)
{
	unsigned char *hash = NULL;
	size_t hlen;
	char *fp;

	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
	    &hlen) < 0)
		return -1;
	fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	ssh_clean_pubkey_hash(&hash);
	if (fp == NULL)
		return -1;
	snprintf(out, outsz, "%s", fp);
	ssh_string_free_char(fp);
	return 0;
}

int
ssh_key_parse(const char *line, char *fp, size_t fpsz, char *norm,
    size_t normsz)
{
	char type[64], b64[16384];
	enum ssh_keytypes_e kt;
	ssh_key key = NULL;
	char *out = NULL;
	int r = -1;

	if (strlen(line) >= sizeof b64 ||
	    sscanf(line, "%63s %16383s", type, b64) != 2)
		return -1;
	if ((kt = ssh_key_type_from_name(type)) == SSH_KEYTYPE_UNKNOWN)
		return -1;
	if (kt != SSH_KEYTYPE_ED25519 && kt != SSH_KEYTYPE_RSA &&
	    kt != SSH_KEYTYPE_ECDSA_P256 && kt != SSH_KEYTYPE_ECDSA_P384 &&
	    kt != SSH_KEYTYPE_ECDSA_P521)
		return -1;
	if (ssh_pki_import_pubkey_base64(b64, kt, &key) != SSH_OK)
		return -1;
	if (fingerprint(key, fp, fpsz) < 0 ||
	    ssh_pki_export_pubkey_base64(key, &out) != SSH_OK)
		goto out;
	snprintf(norm, normsz, "%s %s", ssh_key_type_to_char(
	    ssh_key_type(key)), out);
	r = 0;
out:
	ssh_string_free_char(out);
	ssh_key_free(key);
	return r;
}

/* Loads DIR/host_<name>, creating it on first start. */
static int
host_key(ssh_key *out, const char *dir, const char *name,
    enum ssh_keytypes_e type, int bits)
{
	char path[4200], fp[128];
	struct stat sb;
	ssh_key key = NULL;

	snprintf(path, sizeof path, "%s/host_%s", dir, name);
	if (stat(path, &sb) < 0) {
		if (ssh_pki_generate(type, bits, &key) != SSH_OK ||
		    ssh_pki_export_privkey_file(key, NULL, NULL, NULL,
		    path) != SSH_OK) {
			log_warn("cannot create SSH host key %s", path);
			ssh_key_free(key);
			return -1;
		}
		chmod(path, 0600);
		ssh_key_free(key);
		key = NULL;
		log_info("created SSH host key %s", path);
	}
	if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) !=
	    SSH_OK) {
		log_warn("cannot read SSH host key %s", path);
		return -1;
	}
	if (fingerprint(key, fp, sizeof fp) == 0)
		log_info("SSH host key %s %s", ssh_key_type_to_char(
		    ssh_key_type(key)), fp);
	*out = key;
	return 0;
}

json_t *
ssh_host_keys(void)
{
	json_t *arr = json_array();
	char fp[128], *b64;
	int i;

	for (i = 0; i < sshd.nkeys; i++) {
		if (fingerprint(sshd.keys[i], fp, sizeof fp) < 0 ||
		    ssh_pki_export_pubkey_base64(sshd.keys[i], &b64) != SSH_OK)
			continue;
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "type",
		    ssh_key_type_to_char(ssh_key_type(sshd.keys[i])),
		    "fingerprint", fp, "publicKey", b64));
		ssh_string_free_char(b64);
	}
	return arr;
}

int
ssh_startups_parse(const char *spec, int *begin, int *rate, int *full,
    char *msg, size_t msgsz)
{
	long v[3];
	const char *p = spec;
	char *end;
	int i, n = 0;

	for (i = 0; i < 3; i++) {
		errno = 0;
		v[i] = strtol(p, &end, 10);
		if (end == p || errno != 0 || v[i] < 0 || v[i] > 100000)
			goto bad;
		n++;
		if (*end == '\0')
			break;
		if (*end != ':' || i == 2)
			goto bad;
		p = end + 1;
	}
	if (n == 1) {
		v[2] = v[0];
		v[1] = 100;
	} else if (n != 3)
		goto bad;
	if (v[2] < 1 || v[2] > SSH_STARTUPS_MAX) {
		snprintf(msg, msgsz, "--ssh-max-startups \"%s\": FULL must be "
		    "1..%d", spec, SSH_STARTUPS_MAX);
		return -1;
	}
	if (n == 3 && (v[0] >= v[2] || v[1] < 1 || v[1] > 100)) {
		snprintf(msg, msgsz, "--ssh-max-startups \"%s\": START must be "
		    "below FULL and RATE 1..100", spec);
		return -1;
	}
	*begin = (int)v[0];
	*rate = (int)v[1];
	*full = (int)v[2];
	return 0;
bad:
	snprintf(msg, msgsz, "--ssh-max-startups \"%s\": expected "
	    "START:RATE:FULL (e.g. 10:30:100) or FULL", spec);
	return -1;
}

/* Under sshd.mu: the peer entry of ip, or -1. */
static int
peer_find(const char *ip)
{
	int i;

	for (i = 0; i < SSH_PEERS; i++)
		if ((sshd.peers[i].n > 0 || sshd.peers[i].startups > 0) &&
		    strcmp(sshd.peers[i].ip, ip) == 0)
			return i;
	return -1;
}

/* Under sshd.mu: a free peer entry for ip, or -1. */
static int
peer_new(const char *ip)
{
	int i;

	for (i = 0; i < SSH_PEERS; i++)
		if (sshd.peers[i].n == 0 && sshd.peers[i].startups == 0) {
			snprintf(sshd.peers[i].ip, sizeof sshd.peers[i].ip,
			    "%s", ip);
			return i;
		}
	return -1;
}

/* Under sshd.mu. */
static void
gate_set_state(struct session *ss, enum ss_state state)
{
	log_debug("ssh %s: %s -> %s (%d unauthenticated, %d sessions)",
	    ss->ip, ss_state_names[ss->state], ss_state_names[state],
	    sshd.startups, sshd.sessions);
	ss->state = state;
}

/*
 * Under sshd.mu: OpenSSH's drop_connection(). Below START nothing is
 * refused, from FULL on everything; in between a new connection is refused
 * with a chance that rises linearly from RATE% to 100%.
 */
static int
gate_drop(int startups, int *pct)
{
	uint32_t rnd;
	int p;

	*pct = 0;
	if (startups < sshd.begin)
		return 0;
	*pct = 100;
	if (startups >= sshd.full || sshd.rate >= 100)
		return 1;
	p = 100 - sshd.rate;
	p *= startups - sshd.begin;
	p /= sshd.full - sshd.begin;
	p += sshd.rate;
	*pct = p;
	/* Fail closed; the modulo bias of 2^32 % 100 is 2e-8. */
	if (RAND_bytes((unsigned char *)&rnd, sizeof rnd) != 1)
		return 1;
	return (int)(rnd % 100) < p;
}

/* Under sshd.mu: gives back the startup slot of ss (in SS_STARTUP). */
static void
gate_unhold(struct session *ss, int cut, int keep)
{
	sshd.peers[ss->peer].startups--;
	sshd.startups--;
	TAILQ_REMOVE(&sshd.startq, ss, entry);
	if (cut)
		shutdown(ss->gate_fd, SHUT_RDWR);
	/*
	 * An authenticated session keeps the duplicate until it leaves:
	 * shutdown cuts it through that, as the grace time cuts logins.
	 */
	if (!keep) {
		close(ss->gate_fd);
		ss->gate_fd = -1;
	}
}

/*
 * Whether a connection just accepted on fd from ss->ip may go on: the
 * session caps first (it could not log in anyway), then the startup limits,
 * per address, then in total with early random drop. On 0 it holds a startup
 * slot, and a place in sshd.conns, until gate_leave(); on -1, why says what
 * was over.
 */
static int
gate_admit(struct session *ss, int fd, char *why, size_t whysz)
{
	int i, pct, r = -1;

	pthread_mutex_lock(&sshd.mu);
	i = peer_find(ss->ip);
	if (sshd.sessions >= SSH_MAX_SESSIONS) {
		snprintf(why, whysz, "%d sessions, the most there may be",
		    sshd.sessions);
		goto out;
	}
	if (i >= 0 && sshd.peers[i].n >= SSH_MAX_PER_IP) {
		snprintf(why, whysz, "%d sessions from this address, the most "
		    "there may be", sshd.peers[i].n);
		goto out;
	}
	if (i >= 0 && sshd.peers[i].startups >= sshd.per_addr) {
		snprintf(why, whysz, "%d unauthenticated connections from this "
		    "address (--ssh-max-startups-per-addr %d)",
		    sshd.peers[i].startups, sshd.per_addr);
		goto out;
	}
	if (gate_drop(sshd.startups, &pct)) {
		if (sshd.startups >= sshd.full)
			snprintf(why, whysz, "%d unauthenticated connections "
			    "(--ssh-max-startups %d:%d:%d is full)",
			    sshd.startups, sshd.begin, sshd.rate, sshd.full);
		else
			snprintf(why, whysz, "%d unauthenticated connections "
			    "(--ssh-max-startups %d:%d:%d: dropped at random, "
			    "%d%% at this count)", sshd.startups, sshd.begin,
			    sshd.rate, sshd.full, pct);
		goto out;
	}
	if (i < 0 && (i = peer_new(ss->ip)) < 0) {
		snprintf(why, whysz, "no room for another address");
		goto out;
	}
	if ((ss->gate_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		snprintf(why, whysz, "cannot duplicate the socket: %s",
		    strerror(errno));
		goto out;
	}
	ss->peer = i;
	ss->deadline = mono_ms() + (uint64_t)sshd.grace * 1000;
	sshd.peers[i].startups++;
	sshd.startups++;
	sshd.conns++;
	TAILQ_INSERT_TAIL(&sshd.startq, ss, entry);
	TAILQ_INSERT_TAIL(&sshd.allq, ss, all);
	ss->state = SS_STARTUP;
	log_debug("ssh %s: admitted (%d unauthenticated, %d from this "
	    "address)", ss->ip, sshd.startups, sshd.peers[i].startups);
	r = 0;
out:
	pthread_mutex_unlock(&sshd.mu);
	return r;
}

/*
 * Moves ss, whose key just signed, from its startup slot to a session slot.
 * -1 when its login grace time ran out meanwhile (it was cut) or when the
 * session caps are reached.
 */
static int
gate_authed(struct session *ss)
{
	struct peer *p;
	int r = -1;

	pthread_mutex_lock(&sshd.mu);
	if (ss->state != SS_STARTUP)
		goto out;
	p = &sshd.peers[ss->peer];
	if (sshd.sessions >= SSH_MAX_SESSIONS || p->n >= SSH_MAX_PER_IP) {
		log_warn("ssh %s: %s authenticated, but refused: %d sessions, "
		    "%d from this address (at most %d, %d)", ss->ip,
		    ss->cred.name, sshd.sessions, p->n, SSH_MAX_SESSIONS,
		    SSH_MAX_PER_IP);
		goto out;
	}
	gate_unhold(ss, 0, 1);
	p->n++;
	sshd.sessions++;
	gate_set_state(ss, SS_SESSION);
	r = 0;
out:
	pthread_mutex_unlock(&sshd.mu);
	return r;
}

/* Whether the login grace time cut ss. */
static int
gate_was_cut(struct session *ss)
{
	int cut;

	pthread_mutex_lock(&sshd.mu);
	cut = ss->state == SS_CUT;
	pthread_mutex_unlock(&sshd.mu);
	return cut;
}

/* Gives back whatever ss holds, as it ends; ss may be freed after. */
static void
gate_leave(struct session *ss)
{
	pthread_mutex_lock(&sshd.mu);
	switch (ss->state) {
	case SS_STARTUP:
		gate_unhold(ss, 0, 0);
		break;
	case SS_SESSION:
		sshd.peers[ss->peer].n--;
		sshd.sessions--;
		break;
	case SS_CUT:
	case SS_DONE:
		break;
	}
	if (ss->state != SS_DONE)
		TAILQ_REMOVE(&sshd.allq, ss, all);
	if (ss->gate_fd >= 0) {
		close(ss->gate_fd);
		ss->gate_fd = -1;
	}
	gate_set_state(ss, SS_DONE);
	sshd.conns--;
	pthread_cond_broadcast(&sshd.cv);
	pthread_mutex_unlock(&sshd.mu);
}

/*
 * Cuts the connections whose login grace time is over (all of them when
 * all is set): their sockets are shut down, which ends whatever libssh
 * waits for in their threads. Returns the ms until the next is due, or -1.
 */
static int
gate_sweep(int all)
{
	struct session *ss;
	uint64_t now = mono_ms();
	int next = -1;

	pthread_mutex_lock(&sshd.mu);
	while ((ss = TAILQ_FIRST(&sshd.startq)) != NULL) {
		if (!all && ss->deadline > now) {
			next = (int)(ss->deadline - now);
			break;
		}
		if (!all)
			log_info("ssh %s: not authenticated within the login "
			    "grace time (%d s): closed", ss->ip, sshd.grace);
		else
			log_debug("ssh %s: still not authenticated at "
			    "shutdown: closed", ss->ip);
		gate_unhold(ss, 1, 0);
		gate_set_state(ss, SS_CUT);
	}
	pthread_mutex_unlock(&sshd.mu);
	return next;
}

/*
 * Logs a refused connection: at most once a second for an address, and at
 * most SSH_REFUSALS_PER_SEC lines a second in all; the next line counts
 * what was left out. Accept thread only.
 */
static void
refusal_log(const char *ip, const char *why)
{
	uint64_t now = mono_ms();
	int i, slot = -1, oldest = 0;

	if (now / 1000 != refusals.sec) {
		refusals.sec = now / 1000;
		refusals.lines = 0;
	}
	for (i = 0; i < SSH_REFUSAL_ADDRS; i++) {
		if (strcmp(refusals.addr[i].ip, ip) == 0) {
			slot = i;
			break;
		}
		if (refusals.addr[i].ms < refusals.addr[oldest].ms)
			oldest = i;
	}
	if ((slot >= 0 && refusals.addr[slot].ms != 0 &&
	    now - refusals.addr[slot].ms < 1000) ||
	    refusals.lines >= SSH_REFUSALS_PER_SEC) {
		refusals.quiet++;
		return;
	}
	if (slot < 0) {
		slot = oldest;
		snprintf(refusals.addr[slot].ip, sizeof refusals.addr[slot].ip,
		    "%s", ip);
	}
	refusals.addr[slot].ms = now;
	refusals.lines++;
	if (refusals.quiet > 0)
		log_warn("ssh %s: refused before authentication: %s (and %lu "
		    "more refusals not logged)", ip, why, refusals.quiet);
	else
		log_warn("ssh %s: refused before authentication: %s", ip, why);
	refusals.quiet = 0;
}

static ssize_t
chan_read(void *ctx, void *buf, size_t len)
{
	struct session *ss = ctx;
	int n;

	if (time(NULL) - ss->start > SSH_MAX_SESSION_SECS)
		return -1;
	n = ssh_channel_read_timeout(ss->chan, buf, (uint32_t)len, 0,
	    SSH_IDLE_SECS * 1000);
	if (n == SSH_ERROR)
		return -1;
	if (n == 0 && !ssh_channel_is_eof(ss->chan))
		return -1;	/* idle too long */
	return n;
}

static int
chan_write(void *ctx, const void *buf, size_t len)
{
	struct session *ss = ctx;
	const char *p = buf;
	int n;

	if (time(NULL) - ss->start > SSH_MAX_SESSION_SECS)
		return -1;
	while (len > 0) {
		n = ssh_channel_write(ss->chan, p, (uint32_t)(len > 32768 ?
		    32768 : len));
		if (n == SSH_ERROR || n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* sshfetch's question: has the client sent more within ms? */
static int
chan_ready(void *ctx, int ms)
{
	struct session *ss = ctx;
	int n = ssh_channel_poll_timeout(ss->chan, ms, 0);

	return n == SSH_ERROR ? -1 : n > 0 || (n == SSH_EOF);
}

/*
 * Drains what the client still sends until its EOF (bounded), so that the
 * exit status reaches it before the channel closes.
 */
static void
linger(struct session *ss)
{
	char buf[4096];
	int i, n;

	for (i = 0; i < 50 && !ssh_channel_is_eof(ss->chan); i++) {
		n = ssh_channel_read_timeout(ss->chan, buf, sizeof buf, 0, 100);
		if (n == SSH_ERROR)
			break;
	}
}

/* Ends the channel with a message on stderr and an exit status. */
static void
finish(struct session *ss, int status, const char *msg)
{
	if (msg != NULL) {
		char line[1200];
		int n = snprintf(line, sizeof line, "auger: %s\n", msg);

		ssh_channel_write_stderr(ss->chan, line, (uint32_t)n);
	}
	ssh_channel_request_send_exit_status(ss->chan, status);
	ssh_channel_send_eof(ss->chan);
	linger(ss);
	ssh_channel_close(ss->chan);
	/* Let the client's close arrive, so it sees a clean end. */
	for (int i = 0; i < 20 && !ssh_channel_is_closed(ss->chan); i++)
		if (ssh_channel_poll_timeout(ss->chan, 100, 0) == SSH_ERROR)
			break;
}

static void
run_git(struct session *ss, const char *cmd)
{
	struct ag_err err = { 0, "" };
	enum ag_service svc;
	struct repostate *st;
	git_repository *repo = NULL;
	struct adv *adv = NULL;
	struct ag_io io = { chan_read, chan_write, NULL, ss };
	char name[AG_REPO_NAME_MAX + 1];
	size_t updated = 0, bytes = 0;
	enum sshfetch_how how = SSHFETCH_UNCACHED;
	int v2, rc;

	if (ag_sshcmd_parse(cmd, &svc, name, sizeof name, &err) < 0) {
		log_info("ssh %s %s: refused command \"%.80s\": %s", ss->ip,
		    ss->cred.name, cmd, err.msg);
		finish(ss, 128, err.msg);
		return;
	}
	if (!auth_allow(&ss->cred, svc == AG_SVC_UPLOAD ? AG_OP_FETCH : AG_OP_PUSH,
	    name)) {
		char msg[256];

		snprintf(msg, sizeof msg, "%s may not %s %s", ss->cred.name,
		    svc == AG_SVC_UPLOAD ? "fetch from" : "push to", name);
		finish(ss, 1, msg);
		return;
	}
	if (ag_repo_open(&repo, augerd.repos, name, &err) < 0) {
		finish(ss, 1, err.msg);
		return;
	}
	if ((st = repostate_get(name)) == NULL ||
	    ((adv = repostate_adv(st)) == NULL &&
	    repostate_refresh(st, repo, &adv, &err) < 0)) {
		finish(ss, 1, "cannot read the repository's refs");
		git_repository_free(repo);
		return;
	}
	v2 = svc == AG_SVC_UPLOAD && strstr(ss->git_protocol, "version=2");
	if (svc == AG_SVC_UPLOAD) {
		if (v2) {
			char *caps = NULL;
			size_t clen;

			rc = ag_refs_adv_v2(&caps, &clen, 0, &err);
			if (rc == 0)
				rc = chan_write(ss, caps, clen);
			free(caps);
			if (rc == 0)
				rc = sshfetch_v2(repo, name, adv->refs, &io,
				    &err, &how, &bytes);
		} else {
			rc = chan_write(ss, adv->upload + adv->upload_raw,
			    adv->upload_len - adv->upload_raw);
			if (rc == 0)
				rc = sshfetch_v0(repo, name, adv->refs, &io,
				    chan_ready, &err, &how, &bytes);
		}
	} else {
		struct ag_receive_opts o = {
			.ref_lock = &st->ref_lock,
			.moved = maint_moved_cb,
			.moved_arg = st,
			.prune_lock = maint_prune_lock(name),
		};
		struct pushctx pc;

		auth_receive_opts(&o, &ss->cred, name);
		pushdeploy_setup(&o, &pc, name, &ss->cred);

		rc = chan_write(ss, adv->receive + adv->receive_raw,
		    adv->receive_len - adv->receive_raw);
		if (rc == 0)
			rc = ag_receive_pack(repo, &io, &o, &updated, &err);
	}
	if (rc < 0 || err.code)
		log_info("ssh %s %s %s by %s: error: %s", ss->ip,
		    ag_service_name(svc), name, ss->cred.name,
		    err.code ? err.msg : "i/o");
	else if (how != SSHFETCH_UNCACHED)
		log_info("ssh %s %s %s by %s: ok, %s (%zu bytes)", ss->ip,
		    ag_service_name(svc), name, ss->cred.name,
		    how == SSHFETCH_HIT ? "from the fetch cache" :
		    how == SSHFETCH_SHARED ? "shared with the build in flight" :
		    "built and kept in the fetch cache", bytes);
	else
		log_info("ssh %s %s %s by %s: ok", ss->ip,
		    ag_service_name(svc), name, ss->cred.name);
	finish(ss, rc < 0 ? 1 : 0, NULL);
	adv_unref(adv);
	git_repository_free(repo);
}

static int
authenticate(struct session *ss)
{
	ssh_message msg;
	int tries = 0;
	char fp[128];

	while (!ss->authed && (msg = ssh_message_get(ss->s)) != NULL) {
		if (ssh_message_type(msg) == SSH_REQUEST_AUTH &&
		    ++tries > SSH_MAX_AUTH) {
			ssh_message_free(msg);
			log_info("ssh %s: too many authentication attempts",
			    ss->ip);
			return -1;
		}
		if (ssh_message_type(msg) == SSH_REQUEST_AUTH &&
		    ssh_message_subtype(msg) == SSH_AUTH_METHOD_PUBLICKEY &&
		    strcmp(ssh_message_auth_user(msg), "git") == 0 &&
		    fingerprint(ssh_message_auth_pubkey(msg), fp,
		    sizeof fp) == 0 && auth_key(&ss->cred, fp) == 0) {
			switch (ssh_message_auth_publickey_state(msg)) {
			case SSH_PUBLICKEY_STATE_NONE:
				/* Offered only: say it would do; no identity. */
				ssh_message_auth_reply_pk_ok_simple(msg);
				break;
			case SSH_PUBLICKEY_STATE_VALID:
				if (gate_authed(ss) < 0) {
					ssh_message_reply_default(msg);
					ssh_message_free(msg);
					return -1;
				}
				ssh_message_auth_reply_success(msg, 0);
				ss->authed = 1;
				log_info("ssh %s: key %s (%s) authenticated",
				    ss->ip, fp, ss->cred.name);
				break;
			default:
				ssh_message_reply_default(msg);
			}
		} else {
			if (ssh_message_type(msg) == SSH_REQUEST_AUTH)
				ssh_message_auth_set_methods(msg,
				    SSH_AUTH_METHOD_PUBLICKEY);
			ssh_message_reply_default(msg);
		}
		ssh_message_free(msg);
	}
	return ss->authed ? 0 : -1;
}

/* Channel setup: env (GIT_PROTOCOL only), then exec; the rest refused. */
static void
serve(struct session *ss)
{
	ssh_message msg;
	const char *name, *value;
	char cmd[AG_SSHCMD_MAX + 2];

	while ((msg = ssh_message_get(ss->s)) != NULL) {
		int type = ssh_message_type(msg);
		int sub = ssh_message_subtype(msg);

		if (type == SSH_REQUEST_CHANNEL_OPEN &&
		    sub == SSH_CHANNEL_SESSION && ss->chan == NULL) {
			ss->chan = ssh_message_channel_request_open_reply_accept(
			    msg);
		} else if (type == SSH_REQUEST_CHANNEL && ss->chan != NULL &&
		    sub == SSH_CHANNEL_REQUEST_ENV) {
			name = ssh_message_channel_request_env_name(msg);
			value = ssh_message_channel_request_env_value(msg);
			if (name != NULL && value != NULL &&
			    strcmp(name, "GIT_PROTOCOL") == 0 &&
			    strlen(value) <= SSH_MAX_ENV_VALUE) {
				snprintf(ss->git_protocol,
				    sizeof ss->git_protocol, "%s", value);
				ssh_message_channel_request_reply_success(msg);
			} else
				ssh_message_reply_default(msg);
		} else if (type == SSH_REQUEST_CHANNEL && ss->chan != NULL &&
		    sub == SSH_CHANNEL_REQUEST_EXEC) {
			value = ssh_message_channel_request_command(msg);
			snprintf(cmd, sizeof cmd, "%s", value ? value : "");
			ssh_message_channel_request_reply_success(msg);
			ssh_message_free(msg);
			run_git(ss, cmd);
			return;
		} else if (type == SSH_REQUEST_CHANNEL && ss->chan != NULL &&
		    sub == SSH_CHANNEL_REQUEST_SHELL) {
			char hello[256];

			ssh_message_channel_request_reply_success(msg);
			ssh_message_free(msg);
			snprintf(hello, sizeof hello, "Hi %s! You are "
			    "authenticated, but auger serves git only: no "
			    "shell.", ss->cred.name);
			finish(ss, 1, hello);
			return;
		} else {
			/* pty, subsystems, forwarding, agent: refused. */
			ssh_message_reply_default(msg);
		}
		ssh_message_free(msg);
	}
}

static void *
session_main(void *arg)
{
	struct session *ss = arg;
	/* A backstop: the grace sweep cuts first, and says so. */
	long timeout = sshd.grace + 1;

	ssh_options_set(ss->s, SSH_OPTIONS_TIMEOUT, &timeout);
	if (ssh_handle_key_exchange(ss->s) != SSH_OK) {
		if (!gate_was_cut(ss))
			log_info("ssh %s: key exchange failed: %s", ss->ip,
			    ssh_get_error(ss->s));
		goto out;
	}
	ssh_set_auth_methods(ss->s, SSH_AUTH_METHOD_PUBLICKEY);
	if (authenticate(ss) < 0) {
		if (!gate_was_cut(ss))
			log_info("ssh %s: not authenticated", ss->ip);
		goto out;
	}
	timeout = SSH_IDLE_SECS;
	ssh_options_set(ss->s, SSH_OPTIONS_TIMEOUT, &timeout);
	serve(ss);
	/* Wait (briefly) for the client to hang up first, as sshd does. */
	timeout = 2;
	ssh_options_set(ss->s, SSH_OPTIONS_TIMEOUT, &timeout);
	for (int i = 0; i < 10 && ssh_is_connected(ss->s); i++) {
		ssh_message msg = ssh_message_get(ss->s);

		if (msg == NULL)
			break;
		ssh_message_reply_default(msg);
		ssh_message_free(msg);
	}
out:
	if (ss->chan != NULL)
		ssh_channel_free(ss->chan);
	ssh_disconnect(ss->s);
	ssh_free(ss->s);
	gate_leave(ss);
	free(ss);
	return NULL;
}

static void
addr_string(const struct sockaddr_storage *sa, char *out, size_t outsz)
{
	snprintf(out, outsz, "?");
	if (sa->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    out, (socklen_t)outsz);
	else if (sa->ss_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
		    (socklen_t)outsz);
}

/*
 * One accepted connection: through the gate, then a libssh session and a
 * thread. A refused connection is closed at once, before either is spent.
 */
static void
accept_one(int fd, const struct sockaddr_storage *sa, pthread_attr_t *attr)
{
	struct session *ss;
	ssh_session s = NULL;
	pthread_t t;
	char why[256];

	if ((ss = calloc(1, sizeof *ss)) == NULL) {
		close(fd);
		return;
	}
	ss->gate_fd = -1;
	addr_string(sa, ss->ip, sizeof ss->ip);
	if (gate_admit(ss, fd, why, sizeof why) < 0) {
		close(fd);
		refusal_log(ss->ip, why);
		free(ss);
		return;
	}
	ss->start = time(NULL);
	if ((s = ssh_new()) == NULL) {
		log_warn("ssh %s: no memory for a session", ss->ip);
		goto fail;
	}
	if (ssh_bind_accept_fd(sshd.bind, s, fd) != SSH_OK) {
		log_warn("ssh %s: cannot start a session: %s", ss->ip,
		    ssh_get_error(sshd.bind));
		goto fail;
	}
	ss->s = s;
	if (pthread_create(&t, attr, session_main, ss) != 0) {
		log_warn("ssh %s: cannot start a session thread", ss->ip);
		goto fail;
	}
	return;
fail:
	/* The session owns fd once libssh took it. */
	if (s == NULL || ssh_get_fd(s) != fd)
		close(fd);
	ssh_free(s);
	gate_leave(ss);
	free(ss);
}

static void *
accept_main(void *arg)
{
	struct sockaddr_storage sa;
	struct pollfd pfd;
	pthread_attr_t attr;
	socklen_t sl;
	uint64_t warned = 0;
	int fd, i, wait;

	(void)arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pfd.fd = ssh_bind_get_fd(sshd.bind);
	pfd.events = POLLIN;
	while (sshd.running) {
		if ((wait = gate_sweep(0)) < 0 || wait > 1000)
			wait = 1000;
		if (poll(&pfd, 1, wait) <= 0)
			continue;
		/* Bounded work per wake-up: the sweep runs between batches. */
		for (i = 0; i < SSH_ACCEPT_BATCH && sshd.running; i++) {
			sl = sizeof sa;
			fd = accept4(pfd.fd, (struct sockaddr *)&sa, &sl,
			    SOCK_CLOEXEC);
			if (fd >= 0) {
				accept_one(fd, &sa, &attr);
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR || errno == ECONNABORTED ||
			    !sshd.running)
				break;
			/* Out of descriptors or memory: back off a little. */
			if (mono_ms() - warned >= 1000) {
				log_warn("ssh: accept: %s", strerror(errno));
				warned = mono_ms();
			}
			usleep(100000);
			break;
		}
	}
	pthread_attr_destroy(&attr);
	return NULL;
}

int
ssh_start(const char *hostport, const char *keydir, char *bound,
    size_t boundsz)
{
	char host[256], port[16], addr[128];
	const char *colon = strrchr(hostport, ':');
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fl, lfd;

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof host ||
	    strlen(colon + 1) >= sizeof port)
		return -1;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	snprintf(port, sizeof port, "%s", colon + 1);
	if (mkdir(keydir, 0700) < 0 && errno != EEXIST)
		return -1;
	if (host_key(&sshd.keys[0], keydir, "ed25519", SSH_KEYTYPE_ED25519,
	    0) < 0 || host_key(&sshd.keys[1], keydir, "ecdsa",
	    SSH_KEYTYPE_ECDSA_P256, 256) < 0)
		return -1;
	sshd.nkeys = 2;
	if ((sshd.bind = ssh_bind_new()) == NULL)
		return -1;
	ssh_bind_options_set(sshd.bind, SSH_BIND_OPTIONS_BINDADDR, host);
	ssh_bind_options_set(sshd.bind, SSH_BIND_OPTIONS_BINDPORT_STR, port);
	/* The bind takes ownership of imported keys: give it copies. */
	for (int i = 0; i < sshd.nkeys; i++) {
		ssh_key copy = NULL;
		char path[4200];

		snprintf(path, sizeof path, "%s/host_%s", keydir,
		    i == 0 ? "ed25519" : "ecdsa");
		if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL,
		    &copy) != SSH_OK || ssh_bind_options_set(sshd.bind,
		    SSH_BIND_OPTIONS_IMPORT_KEY, copy) < 0)
			return -1;
	}
	if (ssh_bind_listen(sshd.bind) < 0) {
		log_warn("ssh: cannot listen on %s: %s", hostport,
		    ssh_get_error(sshd.bind));
		return -1;
	}
	if (getsockname(ssh_bind_get_fd(sshd.bind), (struct sockaddr *)&ss,
	    &sl) == 0 && ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    addr, sizeof addr);
		snprintf(bound, boundsz, "%s:%d", addr,
		    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    addr, sizeof addr);
		snprintf(bound, boundsz, "[%s]:%d", addr,
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	} else
		snprintf(bound, boundsz, "%s", hostport);
	/*
	 * Accepts are ours (accept_main), so that the gate comes first. libssh
	 * listens with a backlog of 10: a flood that the gate refuses must not
	 * fill the kernel's queue ahead of real users.
	 */
	lfd = ssh_bind_get_fd(sshd.bind);
	if ((fl = fcntl(lfd, F_GETFL)) < 0 ||
	    fcntl(lfd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    listen(lfd, SSH_LISTEN_BACKLOG) < 0) {
		log_warn("ssh: cannot set up the listener on %s: %s",
		    hostport, strerror(errno));
		return -1;
	}
	sshd.begin = augerd.ssh_startups_begin;
	sshd.rate = augerd.ssh_startups_rate;
	sshd.full = augerd.ssh_startups_full;
	sshd.per_addr = augerd.ssh_startups_per_addr;
	sshd.grace = augerd.ssh_login_grace;
	log_info("ssh: at most %d:%d:%d unauthenticated connections "
	    "(start:rate:full), %d from one address, %d s to log in",
	    sshd.begin, sshd.rate, sshd.full, sshd.per_addr, sshd.grace);
	sshd.running = 1;
	if (pthread_create(&sshd.accept_thread, NULL, accept_main, NULL) != 0)
		return -1;
	return 0;
}

void
ssh_close_listener(void)
{
	if (!sshd.running)
		return;
	sshd.running = 0;
	/* Wakes the accept thread out of accept(). */
	shutdown(ssh_bind_get_fd(sshd.bind), SHUT_RDWR);
	pthread_join(sshd.accept_thread, NULL);
	/* Nobody still logging in is waited for. */
	gate_sweep(1);
}

int
ssh_active(void)
{
	int n;

	pthread_mutex_lock(&sshd.mu);
	n = sshd.conns;
	pthread_mutex_unlock(&sshd.mu);
	return n;
}

void
ssh_cut_all(void)
{
	struct session *ss;

	pthread_mutex_lock(&sshd.mu);
	TAILQ_FOREACH(ss, &sshd.allq, all)
		if (ss->gate_fd >= 0)
			shutdown(ss->gate_fd, SHUT_RDWR);
	pthread_mutex_unlock(&sshd.mu);
}

int
ssh_stop(int secs)
{
	struct timespec deadline;
	int i, left;

	if (sshd.bind == NULL)
		return 0;
	ssh_close_listener();
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += secs;
	pthread_mutex_lock(&sshd.mu);
	while (sshd.conns > 0 &&
	    pthread_cond_timedwait(&sshd.cv, &sshd.mu, &deadline) == 0)
		;
	left = sshd.conns;
	pthread_mutex_unlock(&sshd.mu);
	/* Sessions still running use the keys: leave them to the exit. */
	if (left > 0)
		return left;
	ssh_bind_free(sshd.bind);
	sshd.bind = NULL;
	for (i = 0; i < sshd.nkeys; i++)
		ssh_key_free(sshd.keys[i]);
	sshd.nkeys = 0;
	return 0;
}

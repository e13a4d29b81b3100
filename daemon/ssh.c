/*
 * The SSH listener. An accept thread hands each session to a thread of its
 * own (bounded by SSH_MAX_SESSIONS), which authenticates the key that
 * signed, takes one exec request, and runs the same upload-pack and
 * receive-pack engines as HTTP on the channel. The libevent loop is never
 * involved, so SSH and HTTP never wait for each other.
 *
 * libssh's message API is used although parts of it are marked deprecated:
 * it lets an engine block on ssh_channel_read, where the callback API would
 * turn every read inside the protocol engines into a callback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "auger/receive.h"
#include "auger/repo.h"
#include "auger/sshcmd.h"
#include "auger/upload.h"
#include "augerd.h"
#include "auth.h"
#include "log.h"
#include "pushdeploy.h"
#include "repostate.h"
#include "ssh.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

struct peer {
	char	 ip[64];
	int	 n;
};

static struct {
	ssh_bind	 bind;
	pthread_t	 accept_thread;
	int		 running;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 sessions;
	struct peer	 peers[SSH_MAX_SESSIONS];
	ssh_key		 keys[2];
	int		 nkeys;
} sshd = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

struct session {
	ssh_session	 s;
	ssh_channel	 chan;
	char		 ip[64];
	struct cred	 cred;
	int		 authed;
	char		 git_protocol[SSH_MAX_ENV_VALUE + 1];
	time_t		 start;
};

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

/* Counts a session from ip; 0 if admitted, -1 if over a limit. */
static int
admit(const char *ip)
{
	int i, free_slot = -1, r = -1;

	pthread_mutex_lock(&sshd.mu);
	if (sshd.sessions >= SSH_MAX_SESSIONS)
		goto out;
	for (i = 0; i < SSH_MAX_SESSIONS; i++) {
		if (sshd.peers[i].n > 0 && strcmp(sshd.peers[i].ip, ip) == 0) {
			if (sshd.peers[i].n >= SSH_MAX_PER_IP)
				goto out;
			sshd.peers[i].n++;
			sshd.sessions++;
			r = 0;
			goto out;
		}
		if (sshd.peers[i].n == 0 && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0) {
		snprintf(sshd.peers[free_slot].ip, sizeof sshd.peers[0].ip,
		    "%s", ip);
		sshd.peers[free_slot].n = 1;
		sshd.sessions++;
		r = 0;
	}
out:
	pthread_mutex_unlock(&sshd.mu);
	return r;
}

static void
release(const char *ip)
{
	int i;

	pthread_mutex_lock(&sshd.mu);
	for (i = 0; i < SSH_MAX_SESSIONS; i++)
		if (sshd.peers[i].n > 0 && strcmp(sshd.peers[i].ip, ip) == 0) {
			sshd.peers[i].n--;
			break;
		}
	sshd.sessions--;
	pthread_cond_broadcast(&sshd.cv);
	pthread_mutex_unlock(&sshd.mu);
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
	size_t updated = 0;
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
		struct ag_upload_opts o = { .stateless = 0 };

		if (v2) {
			char *caps = NULL;
			size_t clen;

			rc = ag_refs_adv_v2(&caps, &clen, 0, &err);
			if (rc == 0)
				rc = chan_write(ss, caps, clen);
			free(caps);
			if (rc == 0)
				rc = ag_upload_v2(repo, adv->refs, &io, &o,
				    &err);
		} else {
			rc = chan_write(ss, adv->upload + adv->upload_raw,
			    adv->upload_len - adv->upload_raw);
			if (rc == 0)
				rc = ag_upload_v0(repo, adv->refs, &io, &o,
				    &err);
		}
	} else {
		struct ag_receive_opts o = {
			.ref_lock = &st->ref_lock,
			.moved = repostate_moved_cb,
			.moved_arg = st,
		};
		struct pushctx pc;

		auth_receive_opts(&o, &ss->cred, name);
		pushdeploy_setup(&o, &pc, name, &ss->cred);

		rc = chan_write(ss, adv->receive + adv->receive_raw,
		    adv->receive_len - adv->receive_raw);
		if (rc == 0)
			rc = ag_receive_pack(repo, &io, &o, &updated, &err);
	}
	log_info("ssh %s %s %s by %s: %s%s", ss->ip, ag_service_name(svc),
	    name, ss->cred.name, rc < 0 || err.code ? "error: " : "ok",
	    rc < 0 || err.code ? (err.code ? err.msg : "i/o") : "");
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
	long timeout = SSH_IDLE_SECS;

	ssh_options_set(ss->s, SSH_OPTIONS_TIMEOUT, &timeout);
	if (ssh_handle_key_exchange(ss->s) != SSH_OK) {
		log_info("ssh %s: key exchange failed: %s", ss->ip,
		    ssh_get_error(ss->s));
		goto out;
	}
	ssh_set_auth_methods(ss->s, SSH_AUTH_METHOD_PUBLICKEY);
	if (authenticate(ss) < 0) {
		log_info("ssh %s: not authenticated", ss->ip);
		goto out;
	}
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
	release(ss->ip);
	free(ss);
	return NULL;
}

static void
peer_ip(ssh_session s, char *out, size_t outsz)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	snprintf(out, outsz, "?");
	if (getpeername(ssh_get_fd(s), (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out,
		    (socklen_t)outsz);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    out, (socklen_t)outsz);
}

static void *
accept_main(void *arg)
{
	struct session *ss;
	pthread_attr_t attr;
	pthread_t t;
	ssh_session s;

	(void)arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (sshd.running) {
		if ((s = ssh_new()) == NULL)
			break;
		if (ssh_bind_accept(sshd.bind, s) != SSH_OK) {
			ssh_free(s);
			if (!sshd.running)
				break;
			continue;
		}
		if ((ss = calloc(1, sizeof *ss)) == NULL) {
			ssh_disconnect(s);
			ssh_free(s);
			continue;
		}
		ss->s = s;
		ss->start = time(NULL);
		peer_ip(s, ss->ip, sizeof ss->ip);
		if (admit(ss->ip) < 0) {
			log_warn("ssh %s: refused, too many sessions", ss->ip);
			ssh_disconnect(s);
			ssh_free(s);
			free(ss);
			continue;
		}
		if (pthread_create(&t, &attr, session_main, ss) != 0) {
			release(ss->ip);
			ssh_disconnect(s);
			ssh_free(s);
			free(ss);
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
	sshd.running = 1;
	if (pthread_create(&sshd.accept_thread, NULL, accept_main, NULL) != 0)
		return -1;
	return 0;
}

void
ssh_stop(void)
{
	struct timespec deadline;
	int i;

	if (!sshd.running)
		return;
	sshd.running = 0;
	/* Wakes the accept thread out of accept(). */
	shutdown(ssh_bind_get_fd(sshd.bind), SHUT_RDWR);
	pthread_join(sshd.accept_thread, NULL);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 30;
	pthread_mutex_lock(&sshd.mu);
	while (sshd.sessions > 0 &&
	    pthread_cond_timedwait(&sshd.cv, &sshd.mu, &deadline) == 0)
		;
	pthread_mutex_unlock(&sshd.mu);
	ssh_bind_free(sshd.bind);
	for (i = 0; i < sshd.nkeys; i++)
		ssh_key_free(sshd.keys[i]);
	sshd.nkeys = 0;
}

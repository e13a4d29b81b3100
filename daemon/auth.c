/* Credentials (tokens hashed with SHA-256 in LMDB) and access decisions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "augerd.h"
#include "auth.h"
#include "log.h"

void
auth_hash(unsigned char out[32], const char *token)
{
	unsigned int n;

	EVP_Digest(token, strlen(token), out, &n, EVP_sha256(), NULL);
}

int
auth_new_token(char out[65])
{
	unsigned char b[32];
	int i;

	if (RAND_bytes(b, sizeof b) != 1)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

const char *
auth_role_name(enum role r)
{
	return r == ROLE_ADMIN ? "admin" : r == ROLE_DEPLOY ? "deploy" : "read";
}

int
auth_role_parse(enum role *r, const char *s)
{
	if (strcmp(s, "admin") == 0)
		*r = ROLE_ADMIN;
	else if (strcmp(s, "deploy") == 0)
		*r = ROLE_DEPLOY;
	else if (strcmp(s, "read") == 0)
		*r = ROLE_READ;
	else
		return -1;
	return 0;
}

/* Fills c from a stored token or key record (JSON); frees val. */
static int
cred_from_record(struct cred *c, char *val)
{
	json_t *j, *envs, *e;
	enum role role;
	size_t i;

	j = json_loads(val, 0, NULL);
	free(val);
	if (j == NULL)
		return -1;
	if (!json_is_string(json_object_get(j, "name")) ||
	    !json_is_string(json_object_get(j, "role")) ||
	    auth_role_parse(&role, json_string_value(json_object_get(j,
	    "role"))) < 0) {
		json_decref(j);
		return -1;
	}
	snprintf(c->name, sizeof c->name, "%s",
	    json_string_value(json_object_get(j, "name")));
	c->role = role;
	envs = json_object_get(j, "envs");
	json_array_foreach(envs, i, e) {
		const char *s = json_string_value(e);

		if (s == NULL)
			continue;
		if (strcmp(s, "*") == 0)
			c->all_envs = 1;
		else if (c->nenvs < AUTH_MAX_ENVS)
			snprintf(c->envs[c->nenvs++], sizeof c->envs[0], "%s",
			    s);
	}
	json_decref(j);
	return 0;
}

int
auth_token(struct cred *c, const char *token)
{
	unsigned char h[32];
	char *val = NULL;

	memset(c, 0, sizeof *c);
	if (token == NULL || *token == '\0' || strlen(token) > 256)
		return -1;
	auth_hash(h, token);
	if (CRYPTO_memcmp(h, augerd.admin_hash, 32) == 0) {
		snprintf(c->name, sizeof c->name, "admin");
		c->role = ROLE_ADMIN;
		c->all_envs = 1;
		return 0;
	}
	/* The key is the hash: the lookup itself compares no secret. */
	if (ag_store_get(augerd.store, "tokens", h, 32, &val, NULL, NULL) < 0)
		return -1;
	return cred_from_record(c, val);
}

int
auth_key(struct cred *c, const char *fingerprint)
{
	char *val = NULL;

	memset(c, 0, sizeof *c);
	if (ag_store_get(augerd.store, "keys", fingerprint,
	    strlen(fingerprint), &val, NULL, NULL) < 0)
		return -1;
	return cred_from_record(c, val);
}

static int
b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Decodes standard base64 (padding optional); -1 on bad input. */
static int
b64decode(char *out, size_t outsz, const char *in)
{
	size_t o = 0;
	int bits = 0, v;
	unsigned acc = 0;

	for (; *in != '\0' && *in != '='; in++) {
		if ((v = b64val((unsigned char)*in)) < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= outsz)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return (int)o;
}

int
auth_header(struct cred *c, const char *h)
{
	char buf[1024], *colon;

	if (h == NULL)
		return -1;
	if (evutil_ascii_strncasecmp(h, "Bearer ", 7) == 0)
		return auth_token(c, h + 7);
	if (evutil_ascii_strncasecmp(h, "Basic ", 6) == 0) {
		if (strlen(h + 6) > 1000 || b64decode(buf, sizeof buf,
		    h + 6) < 0 || (colon = strchr(buf, ':')) == NULL)
			return -1;
		return auth_token(c, colon + 1);
	}
	return -1;
}

int
auth_repo_env(char *env, size_t envsz, const char *repo)
{
	size_t len = strlen(repo), el;
	const char *suffix;

	if (strncmp(repo, "gitops-", 7) != 0)
		return 0;
	if (len > 12 && strcmp(repo + len - 5, "-apps") == 0)
		suffix = repo + len - 5;
	else if (len > 13 && strcmp(repo + len - 6, "-infra") == 0)
		suffix = repo + len - 6;
	else
		return 0;
	el = (size_t)(suffix - (repo + 7));
	if (el == 0 || el >= envsz)
		return 0;
	memcpy(env, repo + 7, el);
	env[el] = '\0';
	return 1;
}

static int
has_env(const struct cred *c, const char *env)
{
	int i;

	if (c->all_envs)
		return 1;
	for (i = 0; i < c->nenvs; i++)
		if (strcmp(c->envs[i], env) == 0)
			return 1;
	return 0;
}

static const char *
op_name(enum op op)
{
	return op == OP_FETCH ? "fetch" : op == OP_PUSH ? "push" : "admin";
}

int
auth_allow(const struct cred *c, enum op op, const char *repo)
{
	char env[64];
	int gitops = repo != NULL && auth_repo_env(env, sizeof env, repo);
	int ok;

	switch (c->role) {
	case ROLE_ADMIN:
		ok = 1;
		break;
	case ROLE_DEPLOY:
		/* App repos, and the gitops repos of its envs. */
		ok = op != OP_ADMIN && repo != NULL &&
		    (!gitops || has_env(c, env));
		break;
	default:
		ok = op == OP_FETCH && gitops && has_env(c, env);
	}
	log_info("access %s %s %s %s: %s", c->name, auth_role_name(c->role),
	    op_name(op), repo ? repo : "-", ok ? "allowed" : "denied");
	return ok;
}

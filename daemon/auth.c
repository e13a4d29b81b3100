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
auth_role_name(enum ag_role r)
{
	return r == AG_ROLE_ADMIN ? "admin" : r == AG_ROLE_DEPLOY ? "deploy" : "read";
}

int
auth_role_parse(enum ag_role *r, const char *s)
{
	if (strcmp(s, "admin") == 0)
		*r = AG_ROLE_ADMIN;
	else if (strcmp(s, "deploy") == 0)
		*r = AG_ROLE_DEPLOY;
	else if (strcmp(s, "read") == 0)
		*r = AG_ROLE_READ;
	else
		return -1;
	return 0;
}

/* Fills c from a stored token or key record (JSON); frees val. */
static int
cred_from_record(struct cred *c, char *val)
{
	json_t *j, *envs, *e;
	enum ag_role role;
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
	c->g.role = role;
	envs = json_object_get(j, "envs");
	json_array_foreach(envs, i, e) {
		const char *s = json_string_value(e);

		if (s == NULL)
			continue;
		if (strcmp(s, "*") == 0)
			c->g.all_envs = 1;
		else if (c->g.nenvs < AUTH_MAX_ENVS)
			snprintf(c->g.envs[c->g.nenvs++], sizeof c->g.envs[0],
			    "%s", s);
	}
	json_decref(j);
	return 0;
}

int
auth_token(struct cred *c, const char *token)
{
	unsigned char h[32];

	memset(c, 0, sizeof *c);
	if (token == NULL || *token == '\0' || strlen(token) > 256)
		return -1;
	auth_hash(h, token);
	return auth_token_hash(c, h);
}

int
auth_token_hash(struct cred *c, const unsigned char h[32])
{
	char *val = NULL;

	memset(c, 0, sizeof *c);
	if (CRYPTO_memcmp(h, augerd.admin_hash, 32) == 0) {
		snprintf(c->name, sizeof c->name, "admin");
		c->g.role = AG_ROLE_ADMIN;
		c->g.all_envs = 1;
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

static const char *
op_name(enum ag_op op)
{
	return op == AG_OP_FETCH ? "fetch" : op == AG_OP_PUSH ? "push" :
	    "admin";
}

int
auth_allow(const struct cred *c, enum ag_op op, const char *repo)
{
	int ok = ag_access_allowed(&c->g, op, repo);

	log_info("access %s %s %s %s: %s", c->name, auth_role_name(c->g.role),
	    op_name(op), repo ? repo : "-", ok ? "allowed" : "denied");
	return ok;
}

int
auth_role_may(const struct cred *c, enum ag_op op, const char *what)
{
	int ok = ag_access_role_may(&c->g, op);

	if (!ok)
		log_info("access %s %s %s %s: denied", c->name,
		    auth_role_name(c->g.role), op_name(op), what);
	return ok;
}

struct name_scan {
	const char	*name;
	int		 found;
};

static int
name_each(void *arg, const void *key, size_t klen, const char *val,
    size_t vlen)
{
	struct name_scan *n = arg;
	json_t *j = json_loadb(val, vlen, 0, NULL);
	const char *s = json_string_value(json_object_get(j, "name"));

	(void)key;
	(void)klen;
	if (s != NULL && strcmp(s, n->name) == 0)
		n->found = 1;
	json_decref(j);
	return n->found;
}

int
auth_name_taken(const char *db, const char *name)
{
	struct name_scan n = { name, 0 };

	ag_store_scan(augerd.store, db, NULL, 0, name_each, &n, NULL);
	return n.found;
}

void
auth_receive_opts(struct ag_receive_opts *o, const struct cred *c,
    const char *repo)
{
	char env[AG_ENV_NAME_MAX + 1];
	int admin = c->g.role == AG_ROLE_ADMIN;

	o->max_pack = augerd.max_push;
	o->max_blob = augerd.max_blob;
	o->allow_force = admin;
	o->immutable_tags = !admin;
	o->no_branch_deletes = !admin &&
	    ag_access_repo_env(env, sizeof env, repo) == 1;
}

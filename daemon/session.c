/*
 * Dashboard sessions (see session.h). A fixed table under one mutex: the
 * loop signs in and resolves, workers never touch it. A session is found
 * by the SHA-256 of its id, so the table holds no cookie value.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "log.h"
#include "session.h"

struct session {
	unsigned char	 idhash[32];
	unsigned char	 tokhash[32];	/* resolved again on every use */
	char		 csrf[SESSION_CSRF_LEN + 1];
	time_t		 expires;	/* 0: free slot */
	uint64_t	 born;		/* order of creation: who is oldest */
	char		 name[AUTH_NAME_MAX];	/* for the log */
};

static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static struct session	 table[SESSION_MAX];
static uint64_t		 births;	/* sessions created; under mu */
static int		 ttl = SESSION_TTL_DEFAULT;

void
session_set_ttl(int secs)
{
	ttl = secs;
}

int
session_ttl(void)
{
	return ttl;
}

int
session_random(char out[SESSION_ID_LEN + 1])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char b[33];
	unsigned v;
	int i, o = 0;

	if (RAND_bytes(b, 32) != 1)
		return -1;
	b[32] = 0;
	/* 11 groups of 3 bytes make 44 characters; 32 bytes need 43. */
	for (i = 0; i < 33; i += 3) {
		v = (unsigned)b[i] << 16 | (unsigned)b[i + 1] << 8 | b[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		if (o < SESSION_ID_LEN)
			out[o++] = b64[v & 63];
	}
	out[SESSION_ID_LEN] = '\0';
	return 0;
}

static void
id_hash(unsigned char out[32], const char *id)
{
	auth_hash(out, id);
}

/* The slot of idhash, or NULL. Called with mu held. */
static struct session *
find(const unsigned char h[32])
{
	int i;

	for (i = 0; i < SESSION_MAX; i++)
		if (table[i].expires != 0 &&
		    memcmp(table[i].idhash, h, 32) == 0)
			return &table[i];
	return NULL;
}

/*
 * A slot for a new session of token th: a free one; the token's own oldest
 * when it has SESSION_PER_TOKEN or the table is full; NULL when the table
 * is full of other tokens' sessions (one token never signs others out).
 * Called with mu held.
 */
static struct session *
slot(time_t now, const unsigned char th[32])
{
	struct session *free_s = NULL, *mine = NULL, *s;
	int i, n = 0;

	for (i = 0; i < SESSION_MAX; i++) {
		s = &table[i];
		if (s->expires == 0 || s->expires <= now) {
			if (free_s == NULL)
				free_s = s;
			continue;
		}
		if (memcmp(s->tokhash, th, 32) == 0) {
			n++;
			/*
			 * By creation, not expiry: expiries are whole seconds
			 * and a slot reused out of order would win a tie.
			 */
			if (mine == NULL || s->born < mine->born)
				mine = s;
		}
	}
	if (n >= SESSION_PER_TOKEN || (free_s == NULL && mine != NULL))
		return mine;
	if (free_s == NULL)
		log_info("ui: %d sessions open: a sign-in refused", SESSION_MAX);
	return free_s;
}

int
session_create(char id[SESSION_ID_LEN + 1], struct session_view *v,
    const char *token)
{
	unsigned char th[32];
	struct session *s;
	time_t now = time(NULL);

	if (token == NULL || *token == '\0' || strlen(token) > 256)
		return -1;
	auth_hash(th, token);
	if (auth_token_hash(&v->cred, th) < 0)
		return -1;
	if (session_random(id) < 0 || session_random(v->csrf) < 0)
		return -1;
	v->expires = now + ttl;
	pthread_mutex_lock(&mu);
	if ((s = slot(now, th)) == NULL) {
		pthread_mutex_unlock(&mu);
		return -1;
	}
	memset(s, 0, sizeof *s);
	id_hash(s->idhash, id);
	memcpy(s->tokhash, th, 32);
	memcpy(s->csrf, v->csrf, sizeof s->csrf);
	snprintf(s->name, sizeof s->name, "%s", v->cred.name);
	s->expires = v->expires;
	s->born = ++births;
	pthread_mutex_unlock(&mu);
	return 0;
}

int
session_get(struct session_view *v, const char *id)
{
	unsigned char h[32], th[32];
	struct session *s;
	time_t now = time(NULL);
	char name[AUTH_NAME_MAX];
	int gone;

	if (id == NULL || strlen(id) != SESSION_ID_LEN)
		return -1;
	id_hash(h, id);
	pthread_mutex_lock(&mu);
	if ((s = find(h)) == NULL) {
		pthread_mutex_unlock(&mu);
		return -1;
	}
	if (s->expires <= now) {
		log_info("ui: session of %s expired", s->name);
		s->expires = 0;
		pthread_mutex_unlock(&mu);
		return -1;
	}
	memcpy(th, s->tokhash, 32);
	memcpy(v->csrf, s->csrf, sizeof v->csrf);
	v->expires = s->expires;
	snprintf(name, sizeof name, "%s", s->name);
	pthread_mutex_unlock(&mu);
	/* Outside the lock: the token may have been deleted since. */
	gone = auth_token_hash(&v->cred, th) < 0;
	if (gone) {
		log_info("ui: session of %s ends: its token is gone", name);
		pthread_mutex_lock(&mu);
		if ((s = find(h)) != NULL)
			s->expires = 0;
		pthread_mutex_unlock(&mu);
		return -1;
	}
	return 0;
}

void
session_end(const char *id)
{
	unsigned char h[32];
	struct session *s;

	if (id == NULL || strlen(id) != SESSION_ID_LEN)
		return;
	id_hash(h, id);
	pthread_mutex_lock(&mu);
	if ((s = find(h)) != NULL) {
		log_info("ui: %s signed out", s->name);
		s->expires = 0;
	}
	pthread_mutex_unlock(&mu);
}

int
session_value_eq(const char *want, const char *given)
{
	return given != NULL && strlen(want) == SESSION_CSRF_LEN &&
	    strlen(given) == SESSION_CSRF_LEN &&
	    CRYPTO_memcmp(want, given, SESSION_CSRF_LEN) == 0;
}

int
session_csrf_ok(const struct session_view *v, const char *given)
{
	return session_value_eq(v->csrf, given);
}

int
session_count(void)
{
	time_t now = time(NULL);
	int i, n = 0;

	pthread_mutex_lock(&mu);
	for (i = 0; i < SESSION_MAX; i++)
		n += table[i].expires > now;
	pthread_mutex_unlock(&mu);
	return n;
}

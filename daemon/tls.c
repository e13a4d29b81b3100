/* TLS contexts for the HTTP listener (see tls.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

static struct {
	pthread_mutex_t	 mu;
	SSL_CTX		*ctx;
	char		*cert, *key;
} tls = { PTHREAD_MUTEX_INITIALIZER };

/* The last OpenSSL error, in words, after what. */
static void
ssl_msg(char *msg, size_t msglen, const char *what, const char *path)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	snprintf(msg, msglen, "%s %s: %s", what, path, e != 0 ? buf :
	    "unreadable");
}

static SSL_CTX *
ctx_new(const char *cert, const char *key, char *msg, size_t msglen)
{
	static const unsigned char sid[] = "augerd";
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(msg, msglen, "TLS: out of memory");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	/* Resumption: a session cache for 1.2, tickets for both. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, 20000);
	SSL_CTX_set_timeout(ctx, 3600);
	SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_msg(msg, msglen, "TLS certificate", cert);
		goto bad;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			snprintf(msg, msglen, "TLS key %s does not match the "
			    "certificate %s", key, cert);
		} else
			ssl_msg(msg, msglen, "TLS key", key);
		goto bad;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(msg, msglen, "TLS key %s does not match the "
		    "certificate %s", key, cert);
		ERR_clear_error();
		goto bad;
	}
	return ctx;
bad:
	SSL_CTX_free(ctx);
	return NULL;
}

int
tls_load(const char *cert, const char *key, char *msg, size_t msglen)
{
	SSL_CTX *ctx;

	if ((ctx = ctx_new(cert, key, msg, msglen)) == NULL)
		return -1;
	pthread_mutex_lock(&tls.mu);
	SSL_CTX_free(tls.ctx);
	tls.ctx = ctx;
	free(tls.cert);
	free(tls.key);
	tls.cert = strdup(cert);
	tls.key = strdup(key);
	pthread_mutex_unlock(&tls.mu);
	return tls.cert != NULL && tls.key != NULL ? 0 : -1;
}

int
tls_reload(char *msg, size_t msglen)
{
	SSL_CTX *ctx, *old;

	if (tls.cert == NULL)
		return 0;
	if ((ctx = ctx_new(tls.cert, tls.key, msg, msglen)) == NULL)
		return -1;
	pthread_mutex_lock(&tls.mu);
	old = tls.ctx;
	tls.ctx = ctx;
	pthread_mutex_unlock(&tls.mu);
	/* Open connections hold their own reference to the old one. */
	SSL_CTX_free(old);
	return 0;
}

int
tls_enabled(void)
{
	return tls.ctx != NULL;
}

SSL *
tls_new(void)
{
	SSL *ssl;

	pthread_mutex_lock(&tls.mu);
	ssl = tls.ctx != NULL ? SSL_new(tls.ctx) : NULL;
	pthread_mutex_unlock(&tls.mu);
	return ssl;
}

void
tls_free(void)
{
	pthread_mutex_lock(&tls.mu);
	SSL_CTX_free(tls.ctx);
	tls.ctx = NULL;
	free(tls.cert);
	free(tls.key);
	tls.cert = tls.key = NULL;
	pthread_mutex_unlock(&tls.mu);
}

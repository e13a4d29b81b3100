/* auger: the command-line client of augerd's API (AUGER_URL, AUGER_TOKEN). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "auger/version.h"

struct resp {
	int		 status;
	char		*body;
	int		 failed;
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: auger <command> [args]\n"
"\n"
"  repo create NAME             create a hosted repository\n"
"  repo list                    list repositories and their clone URLs\n"
"  token create NAME --role admin|deploy|read [--env ENV]...\n"
"                               create a token (printed once)\n"
"  token list                   list token names and roles\n"
"  token revoke NAME            revoke a token at once\n"
"  key add NAME --role ROLE -f PUBKEY_FILE [--env ENV]...\n"
"                               register an SSH public key\n"
"  key list                     list keys, roles and fingerprints\n"
"  key remove NAME              remove a key at once\n"
"\n"
"environment:\n"
"  AUGER_URL    augerd's base URL (default http://127.0.0.1:8080)\n"
"  AUGER_TOKEN  a token; default: the contents of ./data/admin.token\n");
}

static void
on_done(struct evhttp_request *req, void *arg)
{
	struct resp *r = arg;
	struct evbuffer *b;
	size_t n;

	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		r->failed = 1;
		return;
	}
	r->status = evhttp_request_get_response_code(req);
	b = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(b);
	if ((r->body = malloc(n + 1)) != NULL) {
		evbuffer_remove(b, r->body, n);
		r->body[n] = '\0';
	}
}

/* One request to the API; returns 0 and fills r, or -1. */
static int
call(struct resp *r, enum evhttp_cmd_type m, const char *path, json_t *body)
{
	const char *url = getenv("AUGER_URL"), *token = getenv("AUGER_TOKEN");
	struct event_base *base = NULL;
	struct evhttp_connection *conn = NULL;
	struct evhttp_request *req;
	struct evhttp_uri *u = NULL;
	struct evkeyvalq *h;
	char tokbuf[256], auth[300], hostport[300], full[2048];
	const char *host;
	char *s;
	int port, rc = -1;
	FILE *f;

	memset(r, 0, sizeof *r);
	if (url == NULL || *url == '\0')
		url = "http://127.0.0.1:8080";
	if (token == NULL || *token == '\0') {
		if ((f = fopen("data/admin.token", "r")) == NULL) {
			fprintf(stderr, "auger: set AUGER_TOKEN (or run where "
			    "data/admin.token is readable)\n");
			return -1;
		}
		tokbuf[fread(tokbuf, 1, sizeof tokbuf - 1, f)] = '\0';
		fclose(f);
		tokbuf[strcspn(tokbuf, "\r\n")] = '\0';
		token = tokbuf;
	}
	if ((u = evhttp_uri_parse(url)) == NULL ||
	    (host = evhttp_uri_get_host(u)) == NULL) {
		fprintf(stderr, "auger: AUGER_URL \"%s\" is not a URL\n", url);
		goto out;
	}
	if (evhttp_uri_get_scheme(u) == NULL ||
	    strcmp(evhttp_uri_get_scheme(u), "http") != 0) {
		fprintf(stderr, "auger: only http:// URLs are supported\n");
		goto out;
	}
	port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	base = event_base_new();
	conn = evhttp_connection_base_new(base, NULL, host,
	    (unsigned short)port);
	evhttp_connection_set_timeout(conn, 120);
	req = evhttp_request_new(on_done, r);
	h = evhttp_request_get_output_headers(req);
	snprintf(hostport, sizeof hostport, "%s:%d", host, port);
	evhttp_add_header(h, "Host", hostport);
	snprintf(auth, sizeof auth, "Bearer %s", token);
	evhttp_add_header(h, "Authorization", auth);
	if (body != NULL) {
		s = json_dumps(body, JSON_COMPACT);
		evbuffer_add(evhttp_request_get_output_buffer(req), s,
		    strlen(s));
		free(s);
		evhttp_add_header(h, "Content-Type", "application/json");
	}
	snprintf(full, sizeof full, "%s%s",
	    evhttp_uri_get_path(u) && strcmp(evhttp_uri_get_path(u), "/") ?
	    evhttp_uri_get_path(u) : "", path);
	if (evhttp_make_request(conn, req, m, full) < 0) {
		fprintf(stderr, "auger: cannot send the request\n");
		goto out;
	}
	event_base_dispatch(base);
	if (r->failed) {
		fprintf(stderr, "auger: no answer from %s\n", url);
		goto out;
	}
	rc = 0;
out:
	if (conn)
		evhttp_connection_free(conn);
	if (base)
		event_base_free(base);
	if (u)
		evhttp_uri_free(u);
	return rc;
}

/* Prints an API error and returns the exit status. */
static int
check(struct resp *r, json_t **out)
{
	json_t *j = r->body ? json_loads(r->body, 0, NULL) : NULL;

	if (r->status >= 400) {
		const char *e = json_string_value(json_object_get(j, "error"));

		fprintf(stderr, "auger: %d: %s\n", r->status,
		    e ? e : (r->body ? r->body : ""));
		json_decref(j);
		free(r->body);
		return 1;
	}
	free(r->body);
	*out = j;
	return 0;
}

static int
cmd_repo(int argc, char **argv)
{
	struct resp r;
	json_t *j = NULL, *e;
	size_t i;

	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (call(&r, EVHTTP_REQ_GET, "/api/repos", NULL) < 0 ||
		    check(&r, &j))
			return 1;
		json_array_foreach(json_object_get(j, "repos"), i, e)
			printf("%-40s %s\n",
			    json_string_value(json_object_get(e, "name")),
			    json_string_value(json_object_get(e, "url")));
		json_decref(j);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "create") == 0) {
		json_t *b = json_pack("{s:s}", "name", argv[2]);
		int bad = call(&r, EVHTTP_REQ_POST, "/api/repos", b);

		json_decref(b);
		if (bad < 0 || check(&r, &j))
			return 1;
		printf("created %s\nclone: git clone %s\n", argv[2],
		    json_string_value(json_object_get(j, "url")));
		json_decref(j);
		return 0;
	}
	fprintf(stderr, "usage: auger repo create NAME | auger repo list\n");
	return 2;
}

/* Reads the first line of path (a public key file). */
static int
read_line(const char *path, char *buf, size_t bufsz)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");

	if (f == NULL) {
		perror(path);
		return -1;
	}
	if (fgets(buf, (int)bufsz, f) == NULL)
		buf[0] = '\0';
	if (f != stdin)
		fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/*
 * token create|list|revoke and key add|list|remove: the same shapes over
 * /api/tokens and /api/keys.
 */
static int
cmd_cred(int argc, char **argv, int keys)
{
	const char *api = keys ? "/api/keys" : "/api/tokens";
	const char *create = keys ? "add" : "create";
	const char *remove = keys ? "remove" : "revoke";
	struct resp r;
	json_t *j = NULL, *e, *b, *envs;
	const char *role = NULL, *file = NULL;
	char path[512], pub[16384];
	size_t i;
	int k, bad;

	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (call(&r, EVHTTP_REQ_GET, api, NULL) < 0 || check(&r, &j))
			return 1;
		json_array_foreach(json_object_get(j, keys ? "keys" : "tokens"),
		    i, e) {
			char *es = json_dumps(json_object_get(e, "envs"),
			    JSON_COMPACT);

			printf("%-24s %-8s %-24s %s\n",
			    json_string_value(json_object_get(e, "name")),
			    json_string_value(json_object_get(e, "role")),
			    es ? es : "", keys ? json_string_value(
			    json_object_get(e, "fingerprint")) : "");
			free(es);
		}
		json_decref(j);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], remove) == 0) {
		snprintf(path, sizeof path, "%s/%s", api, argv[2]);
		if (call(&r, EVHTTP_REQ_DELETE, path, NULL) < 0 ||
		    check(&r, &j))
			return 1;
		printf("%s %s\n", keys ? "removed" : "revoked", argv[2]);
		json_decref(j);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], create) == 0) {
		envs = json_array();
		for (k = 3; k < argc; k++) {
			if (strcmp(argv[k], "--role") == 0 && k + 1 < argc)
				role = argv[++k];
			else if (strcmp(argv[k], "--env") == 0 && k + 1 < argc)
				json_array_append_new(envs,
				    json_string(argv[++k]));
			else if (keys && strcmp(argv[k], "-f") == 0 &&
			    k + 1 < argc)
				file = argv[++k];
			else {
				json_decref(envs);
				fprintf(stderr, "auger: unknown option %s\n",
				    argv[k]);
				return 2;
			}
		}
		if (role == NULL || (keys && file == NULL)) {
			json_decref(envs);
			fprintf(stderr, "auger: --role%s is required\n",
			    keys ? " and -f PUBKEY_FILE are" : "");
			return 2;
		}
		if (keys && read_line(file, pub, sizeof pub) < 0) {
			json_decref(envs);
			return 1;
		}
		if (json_array_size(envs) == 0)
			json_array_append_new(envs, json_string("*"));
		b = json_pack("{s:s,s:s,s:o}", "name", argv[2], "role", role,
		    "envs", envs);
		if (keys)
			json_object_set_new(b, "publicKey", json_string(pub));
		bad = call(&r, EVHTTP_REQ_POST, api, b);
		json_decref(b);
		if (bad < 0 || check(&r, &j))
			return 1;
		if (keys)
			printf("added key %s (%s) %s\n", argv[2], role,
			    json_string_value(json_object_get(j,
			    "fingerprint")));
		else {
			printf("%s\n", json_string_value(json_object_get(j,
			    "token")));
			fprintf(stderr, "token %s (%s) created; it is shown "
			    "only once\n", argv[2], role);
		}
		json_decref(j);
		return 0;
	}
	if (keys)
		fprintf(stderr, "usage: auger key add NAME --role ROLE -f "
		    "PUBKEY_FILE [--env ENV]... | list | remove NAME\n");
	else
		fprintf(stderr, "usage: auger token create NAME --role ROLE "
		    "[--env ENV]... | list | revoke NAME\n");
	return 2;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("auger %s\n", AG_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "repo") == 0)
		return cmd_repo(argc - 1, argv + 1);
	if (strcmp(argv[1], "token") == 0)
		return cmd_cred(argc - 1, argv + 1, 0);
	if (strcmp(argv[1], "key") == 0)
		return cmd_cred(argc - 1, argv + 1, 1);
	fprintf(stderr, "auger: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}

/* auger: the command-line client of augerd's API (AUGER_URL, AUGER_TOKEN). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "auger/dotenv.h"
#include "auger/template.h"
#include "auger/version.h"
#include "auger/yaml.h"
#include "../hooks/patch.h"
#include "../hooks/render.h"

struct resp {
	int		 status;
	char		*body;
	int		 failed;
	struct event_base *base;
};

/* --json: lists print the API's JSON instead of a table. */
static int json_out;

/* Prints j as indented JSON (for --json). */
static void
print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	printf("%s\n", s ? s : "null");
	free(s);
}

/* A unix time for people: "2024-01-02 15:04:05 UTC", "-" when unset. */
static const char *
human_time(char *buf, size_t bufsz, const json_t *t)
{
	time_t v = (time_t)json_integer_value(t);
	struct tm tm;

	if (!json_is_integer(t) || v <= 0 || gmtime_r(&v, &tm) == NULL)
		return "-";
	strftime(buf, bufsz, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

static const char *
str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && *s != '\0' ? s : dflt;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: auger <command> [args]\n"
"\n"
"  repo create NAME             create a hosted repository\n"
"  repo list                    list repositories and their clone URLs\n"
"  token create NAME --role admin|deploy|read [--env ENV]... [--all-envs]\n"
"                               create a token (printed once); read and\n"
"                               deploy need --env (repeated) or --all-envs\n"
"  token list                   list token names and roles\n"
"  token revoke NAME            revoke a token at once\n"
"  key add NAME --role ROLE -f PUBKEY_FILE [--env ENV]... [--all-envs]\n"
"                               register an SSH public key (envs as for\n"
"                               tokens)\n"
"  key list                     list keys, roles and fingerprints\n"
"  key remove NAME              remove a key at once\n"
"  env create NAME              create gitops-NAME-apps and -infra\n"
"  env list                     list environments\n"
"  env bootstrap NAME           print the Flux Secrets for NAME (new read "
"token)\n"
"  artifact push -f FILE.json   store an artifact (Gimlet's shape); "
"policies\n"
"                               that match deploy at once\n"
"  release make --env E --artifact ID [--app A]   deploy (no policy)\n"
"  release list --env E [--app A] [--limit N] [--offset N] [--since T] "
"[--until T]\n"
"  release status --env E [--app A]  the current release of each app\n"
"  release rollback --env E --app A [--to N|GITOPS_SHA]\n"
"                               default: the release before the current\n"
"  release delete --env E --app A\n"
"  release track --env E --app A [--wait S]   the current release and\n"
"                               Flux's report on it (waits up to S seconds)\n"
"  manifest template -f FILE [--vars FILE] [--render-hooks DIR]\n"
"                    [--render-hook-timeout SECS]\n"
"                               render a manifest locally (no server)\n"
"\n"
"  --json (anywhere) prints the API's JSON answer of a list or status\n"
"  instead of a table.\n"
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

	/* The connection stays open (keep-alive): leave the loop now. */
	event_base_loopexit(r->base, NULL);
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
	r->base = base;
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
		if (json_out) {
			print_json(json_object_get(j, "repos"));
			json_decref(j);
			return 0;
		}
		printf("%-40s %s\n", "NAME", "CLONE URL");
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
		if (json_out) {
			print_json(json_object_get(j, keys ? "keys" : "tokens"));
			json_decref(j);
			return 0;
		}
		printf("%-24s %-8s %-24s %-23s %s\n", "NAME", "ROLE", "ENVS",
		    "CREATED", keys ? "FINGERPRINT" : "");
		json_array_foreach(json_object_get(j, keys ? "keys" : "tokens"),
		    i, e) {
			char *es = json_dumps(json_object_get(e, "envs"),
			    JSON_COMPACT);
			char tb[64];

			printf("%-24s %-8s %-24s %-23s %s\n",
			    json_string_value(json_object_get(e, "name")),
			    json_string_value(json_object_get(e, "role")),
			    es ? es : "", human_time(tb, sizeof tb,
			    json_object_get(e, "created")), keys ?
			    json_string_value(json_object_get(e,
			    "fingerprint")) : "");
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
			else if (strcmp(argv[k], "--all-envs") == 0)
				json_array_append_new(envs, json_string("*"));
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
		/* Scope is never implied: all envs is asked for by name. */
		if (json_array_size(envs) == 0 && strcmp(role, "admin") != 0) {
			json_decref(envs);
			fprintf(stderr, "auger: a %s credential needs its envs: "
			    "--env ENV (repeated for several) or --all-envs\n",
			    role);
			return 2;
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
		    "PUBKEY_FILE [--env ENV]... [--all-envs] | list | "
		    "remove NAME\n");
	else
		fprintf(stderr, "usage: auger token create NAME --role ROLE "
		    "[--env ENV]... [--all-envs] | list | revoke NAME\n");
	return 2;
}

/* --name VALUE options after the subcommand; NULL where absent. */
static const char *
opt(int argc, char **argv, const char *name)
{
	int k;

	for (k = 2; k < argc - 1; k++)
		if (strcmp(argv[k], name) == 0)
			return argv[k + 1];
	return NULL;
}

/* Rejects options not in the allowed list (each takes a value). */
static int
opts_known(int argc, char **argv, const char *const *allowed)
{
	int k, i, ok;

	for (k = 2; k < argc; k += 2) {
		ok = 0;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(argv[k], allowed[i]) == 0)
				ok = 1;
		if (!ok || k + 1 >= argc) {
			fprintf(stderr, "auger: %s %s\n", ok ? "missing value "
			    "for" : "unknown option", argv[k]);
			return -1;
		}
	}
	return 0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL, *nb;
	size_t cap = 0, n = 0, got;

	if (f == NULL) {
		perror(path);
		return NULL;
	}
	do {
		if (n + 65536 > cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > (64UL << 20) || (nb = realloc(buf, cap + 1)) ==
			    NULL) {
				fprintf(stderr, "auger: %s is too large\n", path);
				free(buf);
				if (f != stdin)
					fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void
print_release(const json_t *r)
{
	const json_t *v = json_object_get(r, "version");
	const char *err = json_string_value(json_object_get(r, "error"));
	char tb[64];

	if (err != NULL) {
		printf("%s/%s: error: %s\n",
		    json_string_value(json_object_get(r, "env")),
		    json_string_value(json_object_get(r, "app")), err);
		return;
	}
	if (json_is_string(json_object_get(r, "status"))) {
		printf("%s/%s: %s (no commit)\n",
		    json_string_value(json_object_get(r, "env")),
		    json_string_value(json_object_get(r, "app")),
		    json_string_value(json_object_get(r, "status")));
		return;
	}
	printf("%-4lld %-10s %-20s %-9s %-12.12s %-7.7s %-16s %-23s %s%s\n",
	    (long long)json_integer_value(json_object_get(r, "seq")),
	    str_or(r, "env", "-"), str_or(r, "app", "-"),
	    str_or(r, "action", "deploy"), str_or(r, "gitopsRef", "-"),
	    v ? str_or(v, "sha", "-") : "-", str_or(r, "triggeredBy", "-"),
	    human_time(tb, sizeof tb, json_object_get(r, "created")),
	    str_or(r, "gitopsCommitStatus", "-"),
	    json_is_true(json_object_get(r, "rolledBack")) ?
	    " (rolled back)" : "");
}

/* The header of print_release's table. */
static void
print_release_header(void)
{
	printf("%-4s %-10s %-20s %-9s %-12s %-7s %-16s %-23s %s\n", "SEQ",
	    "ENV", "APP", "ACTION", "GITOPS", "SHA", "BY", "CREATED", "FLUX");
}

static int
cmd_env(int argc, char **argv)
{
	struct resp r;
	json_t *j = NULL, *e, *b;
	size_t i;

	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (call(&r, EVHTTP_REQ_GET, "/api/envs", NULL) < 0 ||
		    check(&r, &j))
			return 1;
		if (json_out) {
			print_json(json_object_get(j, "envs"));
			json_decref(j);
			return 0;
		}
		printf("%-20s %-30s %s\n", "NAME", "APPS REPO", "INFRA REPO");
		json_array_foreach(json_object_get(j, "envs"), i, e)
			printf("%-20s %-30s %s\n",
			    json_string_value(json_object_get(e, "name")),
			    json_string_value(json_object_get(e, "appsRepo")),
			    json_string_value(json_object_get(e, "infraRepo")));
		json_decref(j);
		return 0;
	}
	if (argc == 3 && (strcmp(argv[1], "create") == 0 ||
	    strcmp(argv[1], "bootstrap") == 0)) {
		int boot = strcmp(argv[1], "bootstrap") == 0, bad;

		b = boot ? json_pack("{s:s}", "env", argv[2]) :
		    json_pack("{s:s}", "name", argv[2]);
		bad = call(&r, EVHTTP_REQ_POST, boot ? "/api/bootstrap" :
		    "/api/envs", b);
		json_decref(b);
		if (bad < 0 || check(&r, &j))
			return 1;
		if (boot) {
			printf("# Secrets for Flux in env %s (read token %s).\n"
			    "# Apply with kubectl apply -f -; keep out of git.\n"
			    "%s", argv[2], json_string_value(json_object_get(j,
			    "tokenName")), json_string_value(json_object_get(j,
			    "secrets")));
		} else
			printf("created env %s: %s, %s\n", argv[2],
			    json_string_value(json_object_get(j, "appsRepo")),
			    json_string_value(json_object_get(j,
			    "infraRepo")));
		json_decref(j);
		return 0;
	}
	fprintf(stderr, "usage: auger env create NAME | env list | "
	    "env bootstrap NAME\n");
	return 2;
}

static int
cmd_artifact(int argc, char **argv)
{
	static const char *const allowed[] = { "-f", NULL };
	struct resp r;
	json_t *j = NULL, *b, *rel;
	json_error_t je;
	const char *file;
	char *text;
	size_t len, i;
	int bad;

	if (argc < 2 || strcmp(argv[1], "push") != 0 ||
	    opts_known(argc, argv, allowed) < 0 ||
	    (file = opt(argc, argv, "-f")) == NULL) {
		fprintf(stderr, "usage: auger artifact push -f ARTIFACT.json\n");
		return 2;
	}
	if ((text = slurp(file, &len)) == NULL)
		return 1;
	b = json_loadb(text, len, 0, &je);
	free(text);
	if (b == NULL) {
		fprintf(stderr, "auger: %s:%d:%d: %s\n", file, je.line,
		    je.column, je.text);
		return 1;
	}
	bad = call(&r, EVHTTP_REQ_POST, "/api/artifact", b);
	json_decref(b);
	if (bad < 0 || check(&r, &j))
		return 1;
	printf("%s\n", json_string_value(json_object_get(j, "id")));
	json_array_foreach(json_object_get(j, "releases"), i, rel)
		print_release(rel);
	json_decref(j);
	return 0;
}

/* A URL-safe copy of s for a query string (names are plain already). */
static int
qs_ok(const char *s)
{
	for (; s && *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			return 0;
	return 1;
}

static int
cmd_release(int argc, char **argv)
{
	static const char *const allowed[] = { "--env", "--app", "--artifact",
	    "--to", "--limit", "--offset", "--since", "--until", "--wait",
	    NULL };
	const char *env = opt(argc, argv, "--env");
	const char *app = opt(argc, argv, "--app");
	const char *sub = argc >= 2 ? argv[1] : "";
	struct resp r;
	json_t *j = NULL, *b = NULL, *e;
	char path[1024];
	const char *k;
	size_t i;
	int bad;

	if (argc < 2 || opts_known(argc, argv, allowed) < 0)
		goto usage;
	if (env == NULL || !qs_ok(env) || !qs_ok(app)) {
		fprintf(stderr, "auger: --env is required (and names are "
		    "plain)\n");
		return 2;
	}
	if (strcmp(sub, "track") == 0) {
		const char *w = opt(argc, argv, "--wait");
		long wait = w ? strtol(w, NULL, 10) : 0, t;
		const json_t *cur;
		const char *st;

		if (app == NULL) {
			fprintf(stderr, "auger: --app is required\n");
			return 2;
		}
		/* Polls the app's current release until Flux reports on it. */
		for (t = 0;; t++) {
			snprintf(path, sizeof path, "/api/status?env=%s", env);
			if (call(&r, EVHTTP_REQ_GET, path, NULL) < 0 ||
			    check(&r, &j))
				return 1;
			cur = json_object_get(j, app);
			if (cur == NULL) {
				fprintf(stderr, "auger: %s/%s is not deployed\n",
				    env, app);
				json_decref(j);
				return 1;
			}
			st = json_string_value(json_object_get(cur,
			    "gitopsCommitStatus"));
			if ((st != NULL && *st != '\0') || t >= wait) {
				print_release(cur);
				printf("flux: %s%s%s\n", st && *st ? st :
				    "no report yet", json_is_string(
				    json_object_get(cur, "gitopsCommitStatusDesc")) ?
				    ": " : "", json_is_string(json_object_get(cur,
				    "gitopsCommitStatusDesc")) ? json_string_value(
				    json_object_get(cur, "gitopsCommitStatusDesc")) :
				    "");
				json_decref(j);
				return st && strstr(st, "Failed") ? 1 : 0;
			}
			json_decref(j);
			sleep(1);
		}
	}
	if (strcmp(sub, "list") == 0 || strcmp(sub, "status") == 0) {
		const char *lim = opt(argc, argv, "--limit");
		const char *off = opt(argc, argv, "--offset");
		const char *since = opt(argc, argv, "--since");
		const char *until = opt(argc, argv, "--until");

		if (!qs_ok(lim) || !qs_ok(off) || !qs_ok(since) ||
		    !qs_ok(until))
			goto usage;
		/* The CLI shows auger's whole index (rollbacks too). */
		snprintf(path, sizeof path, "/api/%s?env=%s%s%s%s%s%s%s%s%s"
		    "%s%s%s", strcmp(sub, "list") == 0 ? "releases" : "status",
		    env, strcmp(sub, "list") == 0 ? "&all=true" : "",
		    app ? "&app=" : "", app ? app : "",
		    lim ? "&limit=" : "", lim ? lim : "",
		    off ? "&offset=" : "", off ? off : "",
		    since ? "&since=" : "", since ? since : "",
		    until ? "&until=" : "", until ? until : "");
		if (call(&r, EVHTTP_REQ_GET, path, NULL) < 0 || check(&r, &j))
			return 1;
		if (json_out)
			print_json(j);
		else if (strcmp(sub, "list") == 0) {
			print_release_header();
			json_array_foreach(j, i, e)
				print_release(e);
		} else {
			print_release_header();
			json_object_foreach(j, k, e)
				print_release(e);
		}
		json_decref(j);
		return 0;
	}
	if (strcmp(sub, "make") == 0) {
		const char *id = opt(argc, argv, "--artifact");

		if (id == NULL) {
			fprintf(stderr, "auger: --artifact is required\n");
			return 2;
		}
		b = json_pack("{s:s,s:s}", "env", env, "artifactId", id);
		if (app != NULL)
			json_object_set_new(b, "app", json_string(app));
		snprintf(path, sizeof path, "/api/releases");
	} else if (strcmp(sub, "rollback") == 0 ||
	    strcmp(sub, "delete") == 0) {
		const char *to = opt(argc, argv, "--to");

		if (app == NULL) {
			fprintf(stderr, "auger: --app is required\n");
			return 2;
		}
		b = json_pack("{s:s,s:s}", "env", env, "app", app);
		if (to != NULL && strcmp(sub, "rollback") == 0)
			json_object_set_new(b, "to", json_string(to));
		snprintf(path, sizeof path, "/api/%s", sub);
	} else
		goto usage;
	bad = call(&r, EVHTTP_REQ_POST, path, b);
	json_decref(b);
	if (bad < 0 || check(&r, &j))
		return 1;
	if (json_is_array(json_object_get(j, "releases")))
		json_array_foreach(json_object_get(j, "releases"), i, e)
			print_release(e);
	else
		print_release(j);
	json_decref(j);
	return 0;
usage:
	fprintf(stderr,
	    "usage: auger release make --env ENV --artifact ID [--app APP]\n"
	    "       auger release list --env ENV [--app APP] [--limit N] "
	    "[--offset N] [--since T] [--until T]\n"
	    "       auger release status --env ENV\n"
	    "       auger release rollback --env ENV --app APP [--to N|SHA]\n"
	    "       auger release delete --env ENV --app APP\n"
	    "       auger release track --env ENV --app APP [--wait SECONDS]\n");
	return 2;
}

/*
 * manifest template: renders a manifest file locally, as a deploy would
 * (template the text with the vars, parse, render), and prints the files.
 */
static int
cmd_manifest(int argc, char **argv)
{
	static const char *const allowed[] = { "-f", "--vars", "--render-hooks",
	    "--render-hook-timeout", NULL };
	struct ag_err err = { 0, "" };
	const char *file, *varsf, *hooks, *secs;
	struct render_out *ro = NULL;
	json_t *vars = NULL, *m = NULL;
	char *text = NULL, *vtext = NULL, *out = NULL;
	size_t len, vlen, i;
	int rc = 1, secs_ms = 0;

	if (argc < 2 || strcmp(argv[1], "template") != 0 ||
	    opts_known(argc, argv, allowed) < 0 ||
	    (file = opt(argc, argv, "-f")) == NULL) {
		fprintf(stderr, "usage: auger manifest template -f MANIFEST.yaml "
		    "[--vars VARS.env] [--render-hooks DIR "
		    "[--render-hook-timeout SECS]]\n");
		return 2;
	}
	varsf = opt(argc, argv, "--vars");
	/* A render hook's deadline, as augerd --render-hook-timeout sets it. */
	if ((secs = opt(argc, argv, "--render-hook-timeout")) != NULL) {
		char *end;
		long v = strtol(secs, &end, 10);

		if (*secs == '\0' || *end != '\0' || v < 1 ||
		    v > RENDER_HOOK_MAX_TIMEOUT_MS / 1000) {
			fprintf(stderr, "auger: --render-hook-timeout must be "
			    "1..%d seconds\n", RENDER_HOOK_MAX_TIMEOUT_MS / 1000);
			return 2;
		}
		secs_ms = (int)v * 1000;
	}
	/* The render hooks a daemon would offer the chart (DATA/hooks/render.d). */
	if ((hooks = opt(argc, argv, "--render-hooks")) != NULL)
		render_hooks_set(hooks, secs_ms);
	if ((text = slurp(file, &len)) == NULL)
		return 1;
	if (varsf != NULL) {
		if ((vtext = slurp(varsf, &vlen)) == NULL)
			goto out;
		if (ag_dotenv_parse(&vars, vtext, vlen, &err) < 0)
			goto fail;
	} else
		vars = json_object();
	if (ag_yaml_load(&m, text, len, file, &err) < 0)
		goto fail;
	if (!json_is_object(m) || !json_is_string(json_object_get(m, "app"))) {
		ag_err_set(&err, AG_EINVAL, "%s: a manifest needs \"app\"",
		    file);
		goto fail;
	}
	json_object_set(vars, "APP", json_object_get(m, "app"));
	json_decref(m);
	m = NULL;
	if (ag_template_yaml(&m, text, len, file, vars, &err) < 0 ||
	    patch_render(&ro, m, vars, &err) < 0)
		goto fail;
	for (i = 0; i < ro->nfiles; i++)
		printf("---\n# Source: %s/%s\n%.*s", json_string_value(
		    json_object_get(m, "app")), ro->files[i].name,
		    (int)ro->files[i].len, ro->files[i].data);
	for (i = 0; i < json_array_size(ro->warnings); i++)
		fprintf(stderr, "auger: warning: %s\n", json_string_value(
		    json_array_get(ro->warnings, i)));
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "auger: %s\n", err.msg);
out:
	if (ro != NULL)
		render_out_free(ro);
	json_decref(vars);
	json_decref(m);
	free(out);
	free(text);
	free(vtext);
	return rc;
}

int
main(int argc, char **argv)
{
	int i, n;

	/* --json is a flag (no value): taken out before the options. */
	for (i = n = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json_out = 1;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	argc = n;
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
	if (strcmp(argv[1], "env") == 0)
		return cmd_env(argc - 1, argv + 1);
	if (strcmp(argv[1], "artifact") == 0)
		return cmd_artifact(argc - 1, argv + 1);
	if (strcmp(argv[1], "release") == 0)
		return cmd_release(argc - 1, argv + 1);
	if (strcmp(argv[1], "manifest") == 0)
		return cmd_manifest(argc - 1, argv + 1);
	fprintf(stderr, "auger: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}

/*
 * The dashboard's pages, built on a worker. Every fact on a page comes
 * from an API route called in-process as the signed-in credential
 * (http_api_call), so the API's access checks decide what a page shows and
 * what a form may do; only the trees of releases (manifests, diffs) are
 * read from git here, after the API let the credential read the env.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <git2.h>

#include "auger/release.h"
#include "auger/repo.h"
#include "augerd.h"
#include "http.h"
#include "log.h"
#include "ui_page.h"

#define HISTORY_PAGE	20
#define ARTIFACTS_PAGE	30
/*
 * What a manifests or diff page may hold, counted as the HTML it becomes
 * (escaping can make text 6 times longer): the page is buffered whole
 * while a slow client reads it.
 */
#define SHOW_MAX	(2UL * 1024 * 1024)
#define SHOW_FILE_MAX	(256UL * 1024)	/* a file's text, before escaping */

/* ------------------------------------------------------------ helpers */

/* A query string or path built with hf (so values are encoded). */
struct qs {
	struct evbuffer	*b;
	char		*s;
};

static const char *
qs_str(struct qs *q)
{
	evbuffer_add(q->b, "", 1);
	q->s = (char *)evbuffer_pullup(q->b, -1);
	return q->s;
}

static void
qs_free(struct qs *q)
{
	if (q->b != NULL)
		evbuffer_free(q->b);
	q->b = NULL;
}

/*
 * Calls the API as the page's credential. On an error the page becomes an
 * error page with the API's status and message, and -1 is returned.
 */
static int
api(struct uijob *j, enum ag_http1_method m, const char *path,
    const char *query, const json_t *body, json_t **out)
{
	char err[AG_ERR_MSG_MAX + 512], *text = NULL;
	int status;

	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		ui_error_page(j, 500, "Error", "out of memory");
		return -1;
	}
	status = http_api_call(&j->sv.cred, m, path, query, text, out, err,
	    sizeof err);
	free(text);
	if (status >= 400) {
		ui_error_page(j, status, status == 403 ? "Not allowed" :
		    status == 404 ? "Not found" : "Error", err);
		return -1;
	}
	return status;
}

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static json_int_t
jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *
form(struct uijob *j, const char *k)
{
	return evhttp_find_header(&j->form, k);
}

static const char *
query(struct uijob *j, const char *k)
{
	return evhttp_find_header(&j->query, k);
}

/* The first line of a commit message, at most 120 bytes. */
static void
first_line(char *out, size_t outsz, const char *msg)
{
	size_t n = strcspn(msg, "\n");

	if (n >= outsz)
		n = outsz - 1;
	if (n > 120)
		n = 120;
	memcpy(out, msg, n);
	out[n] = '\0';
}

/* A sha cut to 7, linked to url when it is http(s) (never javascript:). */
static void
sha_link(struct evbuffer *b, const char *sha, const char *url)
{
	char s[8];

	snprintf(s, sizeof s, "%s", sha);
	if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)
		hf(b, "<a class=\"sha\" href=\"%s\" rel=\"noreferrer\">%s</a>",
		    url, s);
	else
		hf(b, "<span class=\"sha\">%s</span>", s);
}

/* The version's branch, or its tag for a tag event. */
static const char *
version_ref(const json_t *v)
{
	if (strcmp(jstr(v, "event"), "tag") == 0 && *jstr(v, "tag") != '\0')
		return jstr(v, "tag");
	return jstr(v, "branch");
}

/* A history page's numbers: ?offset=, bounded. */
static size_t
offset_of(struct uijob *j)
{
	const char *s = query(j, "offset");
	char *end;
	unsigned long v;

	if (s == NULL)
		return 0;
	v = strtoul(s, &end, 10);
	return *end == '\0' && v < 1000000 ? v : 0;
}

static int
seq_of(const char *s, json_int_t *seq)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 1)
		return -1;
	*seq = v;
	return 0;
}

/* ------------------------------------------------------------ env rows */

static void
apps_header(struct evbuffer *b)
{
	hf(b, "<thead><tr><th>App</th><th>Version</th><th class=\"opt\">"
	    "Author</th><th>Commit</th><th class=\"opt\">Ref</th><th>When</th>"
	    "<th class=\"opt\">By</th><th>Flux</th></tr></thead><tbody>");
}

/* A release's commit, ref, time, author of the deploy and Flux's verdict. */
static void
release_cells(struct evbuffer *b, const json_t *rec)
{
	const json_t *v = json_object_get(rec, "version");

	hf(b, "<td class=\"sha\">");
	sha_link(b, jstr(v, "sha"), jstr(v, "url"));
	hf(b, "</td><td class=\"ref opt\">%s</td><td class=\"when\">",
	    version_ref(v));
	ui_time(b, jint(rec, "created"));
	hf(b, "</td><td class=\"by opt\">%s</td><td class=\"flux\">",
	    jstr(rec, "triggeredBy"));
	ui_flux(b, jstr(rec, "gitopsCommitStatus"));
	hf(b, "</td>");
}

static void
app_row(struct evbuffer *b, const char *env, const char *app,
    const json_t *rec)
{
	const json_t *v = json_object_get(rec, "version");
	char msg[128];

	first_line(msg, sizeof msg, jstr(v, "message"));
	hf(b, "<tr class=\"app\" data-app=\"%s\"><td><a class=\"app-link\" "
	    "href=\"/ui/env/%u/app/%u\">%s</a>", app, env, app, app);
	if (strcmp(jstr(rec, "action"), "rollback") == 0)
		hf(b, " <span class=\"tag\">rolled back to #%I</span>",
		    jint(rec, "rollbackTo"));
	hf(b, "</td><td class=\"version\">%s</td><td class=\"author opt\">%s"
	    "</td>", msg, jstr(v, "authorName"));
	release_cells(b, rec);
	hf(b, "</tr>");
}

/* The apps (or the previews) of an env's status map, as a table. */
static int
apps_table(struct evbuffer *b, const char *id, const char *env,
    const json_t *status, int previews)
{
	const char *app;
	json_t *rec;
	int n = 0;

	json_object_foreach((json_t *)status, app, rec)
		n += json_is_true(json_object_get(rec, "preview")) == previews;
	if (n == 0)
		return 0;
	if (*id != '\0')
		hf(b, "<div class=\"scroll\"><table id=\"%s\">", id);
	else
		hf(b, "<div class=\"scroll\"><table>");
	apps_header(b);
	json_object_foreach((json_t *)status, app, rec) {
		if (json_is_true(json_object_get(rec, "preview")) != previews)
			continue;
		app_row(b, env, app, rec);
	}
	hf(b, "</tbody></table></div>");
	return n;
}

/* ------------------------------------------------------------ pages */

static void
page_overview(struct uijob *j)
{
	json_t *envs = NULL, *e, *st = NULL;
	struct qs q = { NULL, NULL };
	const char *name;
	size_t i;

	if (api(j, AG_HTTP1_GET, "/api/envs", NULL, NULL, &envs) < 0)
		return;
	ui_head(j->out, "Environments", &j->sv);
	hf(j->out, "<h1>Environments</h1><div id=\"overview\" data-live>");
	if (json_array_size(json_object_get(envs, "envs")) == 0)
		hf(j->out, "<p class=\"muted\">No environment you may read. "
		    "An admin makes one with <code>auger env create</code>."
		    "</p>");
	json_array_foreach(json_object_get(envs, "envs"), i, e) {
		name = jstr(e, "name");
		q.b = evbuffer_new();
		hf(q.b, "env=%u", name);
		st = NULL;
		hf(j->out, "<section class=\"env\" data-env=\"%s\"><h2><a "
		    "class=\"env-link\" href=\"/ui/env/%u\">%s</a></h2>", name,
		    name, name);
		if (http_api_call(&j->sv.cred, AG_HTTP1_GET, "/api/status",
		    qs_str(&q), NULL, &st, NULL, 0) >= 400 || st == NULL)
			hf(j->out, "<p class=\"muted\">status unavailable</p>");
		else if (json_object_size(st) == 0)
			hf(j->out, "<p class=\"muted\">Nothing deployed yet.</p>");
		else {
			apps_table(j->out, "", name, st, 0);
			apps_table(j->out, "", name, st, 1);
		}
		hf(j->out, "</section>");
		json_decref(st);
		qs_free(&q);
	}
	hf(j->out, "</div>");
	ui_foot(j->out);
	json_decref(envs);
}

static void
page_env(struct uijob *j, const char *env)
{
	struct qs q = { evbuffer_new(), NULL };
	json_t *st = NULL;

	hf(q.b, "env=%u", env);
	if (api(j, AG_HTTP1_GET, "/api/status", qs_str(&q), NULL, &st) < 0)
		goto out;
	ui_head(j->out, env, &j->sv);
	hf(j->out, "<h1>Environment %s</h1><div id=\"env-apps\" data-live>"
	    "<h2>Apps</h2>", env);
	if (apps_table(j->out, "apps", env, st, 0) == 0)
		hf(j->out, "<p class=\"muted\">No app deployed yet.</p>");
	hf(j->out, "<h2>Previews</h2><div id=\"previews-wrap\">");
	if (apps_table(j->out, "previews", env, st, 1) == 0)
		hf(j->out, "<p id=\"previews\" class=\"muted\">No open previews"
		    "</p>");
	hf(j->out, "</div></div><p class=\"hint\">Flux's verdict is the "
	    "newest event it sent for the release's gitops commit. "
	    "Deploy from <a href=\"/ui/artifacts\">Artifacts</a>.</p>");
	ui_foot(j->out);
out:
	json_decref(st);
	qs_free(&q);
}

static void
history_row(struct evbuffer *b, const char *env,
    const char *app, const json_t *rec, json_int_t cur, int may)
{
	const json_t *v = json_object_get(rec, "version");
	const char *action = jstr(rec, "action");
	json_int_t seq = jint(rec, "seq");
	int rb = json_is_true(json_object_get(rec, "rolledBack"));
	char msg[128];

	first_line(msg, sizeof msg, jstr(v, "message"));
	hf(b, "<tr class=\"release %r%r%r\" data-seq=\"%I\"><td>#%I</td>"
	    "<td>%s", seq == cur ? "current" : "", rb ? " rolled-back" : "",
	    strcmp(action, "rollback") == 0 ? " rollback" : "", seq, seq,
	    action);
	if (strcmp(action, "rollback") == 0)
		hf(b, " to #%I", jint(rec, "rollbackTo"));
	if (rb)
		hf(b, " <span class=\"tag tag-rb\">rolled back</span>");
	if (seq == cur)
		hf(b, " <span class=\"tag\">current</span>");
	hf(b, "</td><td class=\"version\">%s</td>", msg);
	release_cells(b, rec);
	hf(b, "<td class=\"actions\">");
	if (strcmp(action, "delete") != 0)
		hf(b, "<a class=\"manifests\" href=\"/ui/env/%u/app/%u/release/"
		    "%I\">manifests</a> ", env, app, seq);
	if (seq != cur && cur > 0 && strcmp(action, "delete") != 0)
		hf(b, "<a class=\"diff\" href=\"/ui/env/%u/app/%u/diff?from=%I"
		    "&amp;to=%I\">diff to current</a> ", env, app, seq, cur);
	if (may && seq != cur && strcmp(action, "deploy") == 0)
		hf(b, "<a class=\"rollback\" href=\"/ui/env/%u/app/%u/rollback"
		    "?to=%I\">Roll back to this</a>", env, app, seq);
	hf(b, "</td></tr>");
}

static void
page_app(struct uijob *j, const char *env, const char *app)
{
	struct qs q = { evbuffer_new(), NULL }, q2 = { evbuffer_new(), NULL };
	json_t *st = NULL, *hist = NULL, *rec;
	size_t off = offset_of(j), i;
	json_int_t cur = 0;
	int may = ui_may_write(&j->sv.cred, env);

	hf(q.b, "env=%u&app=%u", env, app);
	if (api(j, AG_HTTP1_GET, "/api/status", qs_str(&q), NULL, &st) < 0)
		goto out;
	cur = jint(json_object_get(st, app), "seq");
	hf(q2.b, "env=%u&app=%u&all=true&limit=%d&offset=%d", env, app,
	    HISTORY_PAGE + 1, (int)off);
	if (api(j, AG_HTTP1_GET, "/api/releases", qs_str(&q2), NULL,
	    &hist) < 0)
		goto out;
	ui_head(j->out, app, &j->sv);
	hf(j->out, "<h1>%s <span class=\"muted\">in <a href=\"/ui/env/%u\">"
	    "%s</a></span></h1><div id=\"history-wrap\" data-live>", app, env,
	    env);
	if (json_array_size(hist) == 0 && off == 0) {
		hf(j->out, "<p class=\"muted\">No release of %s in %s.</p>",
		    app, env);
	} else {
		hf(j->out, "<div class=\"scroll\"><table id=\"history\"><thead>"
		    "<tr><th>#</th><th>What</th><th>Version</th><th>Commit</th>"
		    "<th class=\"opt\">Ref</th><th>When</th><th class=\"opt\">"
		    "By</th><th>Flux</th><th></th></tr></thead><tbody>");
		json_array_foreach(hist, i, rec) {
			if (i == HISTORY_PAGE)
				break;
			history_row(j->out, env, app, rec, cur, may);
		}
		hf(j->out, "</tbody></table></div>");
	}
	hf(j->out, "<div class=\"pager\">");
	if (off > 0)
		hf(j->out, "<a id=\"newer\" href=\"/ui/env/%u/app/%u?offset=%d\">"
		    "&larr; Newer</a>", env, app, (int)(off > HISTORY_PAGE ?
		    off - HISTORY_PAGE : 0));
	if (json_array_size(hist) > HISTORY_PAGE)
		hf(j->out, "<a id=\"older\" href=\"/ui/env/%u/app/%u?offset=%d\">"
		    "Older &rarr;</a>", env, app, (int)(off + HISTORY_PAGE));
	hf(j->out, "</div></div>");
	if (!may)
		hf(j->out, "<p class=\"hint\">%s may read this env, not deploy "
		    "to it.</p>", j->sv.cred.name);
	ui_foot(j->out);
out:
	json_decref(st);
	json_decref(hist);
	qs_free(&q);
	qs_free(&q2);
}

/*
 * The release records of app that a page names (after the API let the
 * credential read the env): NULL and an error page if there is none.
 */
static json_t *
record(struct uijob *j, const char *env, const char *app, json_int_t seq)
{
	struct ag_err err = { 0, "" };
	json_t *rec;

	if (ag_release_get(&rec, augerd.store, env, app, (uint64_t)seq,
	    &err) < 0) {
		ui_error_page(j, 404, "Not found", err.msg);
		return NULL;
	}
	return rec;
}

/* The API's answer to "may this credential read env?" (its status call). */
static int
may_read(struct uijob *j, const char *env, const char *app, json_t **st)
{
	struct qs q = { evbuffer_new(), NULL };
	int r;

	hf(q.b, "env=%u&app=%u", env, app);
	r = api(j, AG_HTTP1_GET, "/api/status", qs_str(&q), NULL, st);
	qs_free(&q);
	return r < 0 ? -1 : 0;
}

static git_repository *
apps_repo(struct uijob *j, const char *env)
{
	struct ag_err err = { 0, "" };
	git_repository *repo = NULL;
	char name[128];

	snprintf(name, sizeof name, "gitops-%s-apps", env);
	if (ag_repo_open(&repo, augerd.repos, name, &err) < 0) {
		ui_error_page(j, 500, "Error", err.msg);
		return NULL;
	}
	return repo;
}

struct walk {
	struct uijob	*j;
	git_repository	*repo;
};

static int
walk_file(const char *root, const git_tree_entry *te, void *arg)
{
	struct walk *w = arg;
	git_blob *blob;
	git_object_size_t n;
	char *text;

	if (git_tree_entry_type(te) != GIT_OBJECT_BLOB)
		return 0;
	hf(w->j->out, "<h3 class=\"file\">%s%s</h3>", root,
	    git_tree_entry_name(te));
	if (git_blob_lookup(&blob, w->repo, git_tree_entry_id(te)) < 0) {
		hf(w->j->out, "<p class=\"error\">cannot read this file</p>");
		return 0;
	}
	n = git_blob_rawsize(blob);
	if (git_blob_is_binary(blob) || n > SHOW_FILE_MAX ||
	    evbuffer_get_length(w->j->out) + 6 * (size_t)n > SHOW_MAX) {
		hf(w->j->out, "<p class=\"muted\">%I bytes, not shown</p>",
		    (json_int_t)n);
	} else if ((text = malloc((size_t)n + 1)) != NULL) {
		memcpy(text, git_blob_rawcontent(blob), (size_t)n);
		text[n] = '\0';
		hf(w->j->out, "<pre class=\"manifest\">%s</pre>", text);
		free(text);
	}
	git_blob_free(blob);
	return 0;
}

static int
tree_of(struct uijob *j, git_repository *repo, const json_t *rec,
    git_tree **tree)
{
	git_oid id;

	if (git_oid_fromstr(&id, jstr(rec, "appTree")) < 0 ||
	    git_tree_lookup(tree, repo, &id) < 0) {
		ui_error_page(j, 404, "Not found", "this release has no tree "
		    "to show (a delete has none)");
		return -1;
	}
	return 0;
}

static void
page_release(struct uijob *j, const char *env, const char *app,
    const char *seqs)
{
	json_t *st = NULL, *rec = NULL;
	git_repository *repo = NULL;
	git_tree *tree = NULL;
	struct walk w = { j, NULL };
	const json_t *v;
	json_int_t seq;
	char msg[128];

	if (seq_of(seqs, &seq) < 0) {
		ui_error_page(j, 404, "Not found", "a release is a number");
		return;
	}
	if (may_read(j, env, app, &st) < 0 ||
	    (rec = record(j, env, app, seq)) == NULL ||
	    (repo = apps_repo(j, env)) == NULL ||
	    tree_of(j, repo, rec, &tree) < 0)
		goto out;
	v = json_object_get(rec, "version");
	first_line(msg, sizeof msg, jstr(v, "message"));
	ui_head(j->out, app, &j->sv);
	hf(j->out, "<h1>%s #%I <span class=\"muted\">in <a href=\"/ui/env/%u"
	    "/app/%u\">%s</a></span></h1><p>%s · %s · ", app, seq, env, app,
	    env, jstr(rec, "action"), msg);
	sha_link(j->out, jstr(v, "sha"), jstr(v, "url"));
	hf(j->out, " · ");
	ui_time(j->out, jint(rec, "created"));
	hf(j->out, " · gitops commit <code>%s</code></p><div id=\"manifests\">",
	    jstr(rec, "gitopsRef"));
	w.repo = repo;
	git_tree_walk(tree, GIT_TREEWALK_PRE, walk_file, &w);
	hf(j->out, "</div>");
	ui_foot(j->out);
out:
	git_tree_free(tree);
	git_repository_free(repo);
	json_decref(rec);
	json_decref(st);
}

struct diffout {
	struct evbuffer	*b;
	int		 cut;
};

static int
diff_line(const git_diff_delta *d, const git_diff_hunk *h,
    const git_diff_line *l, void *arg)
{
	struct diffout *o = arg;
	const char *cls = NULL;
	char *text;

	(void)d;
	(void)h;
	/* Past the limit the walk stops (git_diff_print returns the 1). */
	if (evbuffer_get_length(o->b) + 6 * l->content_len > SHOW_MAX) {
		o->cut = 1;
		return 1;
	}
	if ((text = malloc(l->content_len + 1)) == NULL)
		return -1;
	memcpy(text, l->content, l->content_len);
	text[l->content_len] = '\0';
	switch (l->origin) {
	case GIT_DIFF_LINE_ADDITION: cls = "diff-add"; break;
	case GIT_DIFF_LINE_DELETION: cls = "diff-del"; break;
	case GIT_DIFF_LINE_HUNK_HDR: cls = "diff-hunk"; break;
	default: break;
	}
	if (l->origin == GIT_DIFF_LINE_ADDITION ||
	    l->origin == GIT_DIFF_LINE_DELETION ||
	    l->origin == GIT_DIFF_LINE_CONTEXT)
		hf(o->b, "<span class=\"%r\">%r%s</span>", cls ? cls : "",
		    l->origin == GIT_DIFF_LINE_CONTEXT ? " " :
		    l->origin == GIT_DIFF_LINE_ADDITION ? "+" : "-", text);
	else if (cls != NULL)
		hf(o->b, "<span class=\"%r\">%s</span>", cls, text);
	else
		hf(o->b, "%s", text);
	free(text);
	return 0;
}

static void
page_diff(struct uijob *j, const char *env, const char *app)
{
	json_t *st = NULL, *ra = NULL, *rb = NULL;
	git_repository *repo = NULL;
	git_tree *ta = NULL, *tb = NULL;
	git_diff *diff = NULL;
	struct diffout o = { NULL, 0 };
	json_int_t from, to;

	if (seq_of(query(j, "from"), &from) < 0 ||
	    seq_of(query(j, "to"), &to) < 0) {
		ui_error_page(j, 400, "Bad request", "?from= and ?to= are "
		    "release numbers");
		return;
	}
	if (may_read(j, env, app, &st) < 0 ||
	    (ra = record(j, env, app, from)) == NULL ||
	    (rb = record(j, env, app, to)) == NULL ||
	    (repo = apps_repo(j, env)) == NULL ||
	    tree_of(j, repo, ra, &ta) < 0 || tree_of(j, repo, rb, &tb) < 0)
		goto out;
	if (git_diff_tree_to_tree(&diff, repo, ta, tb, NULL) < 0) {
		ui_error_page(j, 500, "Error", git_error_last() ?
		    git_error_last()->message : "diff failed");
		goto out;
	}
	ui_head(j->out, app, &j->sv);
	hf(j->out, "<h1>%s: #%I &rarr; #%I <span class=\"muted\">in <a "
	    "href=\"/ui/env/%u/app/%u\">%s</a></span></h1>"
	    "<form id=\"diff-pick\" class=\"inline\" method=\"get\">"
	    "<label>from <input type=\"text\" name=\"from\" size=\"4\" "
	    "value=\"%I\"></label><label>to <input type=\"text\" name=\"to\" "
	    "size=\"4\" value=\"%I\"></label><button type=\"submit\">Compare"
	    "</button></form>", app, from, to, env, app, env, from, to);
	if (git_diff_num_deltas(diff) == 0) {
		hf(j->out, "<p id=\"nodiff\">No differences: the two releases "
		    "have the same app tree.</p>");
	} else {
		o.b = evbuffer_new();
		git_diff_print(diff, GIT_DIFF_FORMAT_PATCH, diff_line, &o);
		hf(j->out, "<pre id=\"diff\">");
		evbuffer_add_buffer(j->out, o.b);
		hf(j->out, "</pre>");
		if (o.cut)
			hf(j->out, "<p class=\"muted\">The diff is cut at %d "
			    "MiB of HTML.</p>", (int)(SHOW_MAX >> 20));
		evbuffer_free(o.b);
	}
	ui_foot(j->out);
out:
	git_diff_free(diff);
	git_tree_free(ta);
	git_tree_free(tb);
	git_repository_free(repo);
	json_decref(ra);
	json_decref(rb);
	json_decref(st);
}

static void
page_rollback_confirm(struct uijob *j, const char *env, const char *app)
{
	json_t *st = NULL, *rec = NULL;
	const json_t *v;
	json_int_t to;
	char msg[128];

	if (seq_of(query(j, "to"), &to) < 0) {
		ui_error_page(j, 400, "Bad request", "?to= is a release number");
		return;
	}
	if (may_read(j, env, app, &st) < 0 ||
	    (rec = record(j, env, app, to)) == NULL)
		goto out;
	if (!ui_may_write(&j->sv.cred, env)) {
		ui_error_page(j, 403, "Not allowed", "this credential may not "
		    "deploy to this env");
		goto out;
	}
	v = json_object_get(rec, "version");
	first_line(msg, sizeof msg, jstr(v, "message"));
	ui_head(j->out, "Roll back", &j->sv);
	hf(j->out, "<h1>Roll back %s in %s?</h1><div class=\"card\"><p>"
	    "The app's folder becomes release <strong>#%I</strong> again: "
	    "&ldquo;%s&rdquo; (", app, env, to, msg);
	sha_link(j->out, jstr(v, "sha"), jstr(v, "url"));
	hf(j->out, ", %s, ", version_ref(v));
	ui_time(j->out, jint(rec, "created"));
	hf(j->out, "). One commit; Flux applies it on its next poll.</p>"
	    "<form id=\"rollback\" method=\"post\" action=\"/ui/env/%u/app/%u/"
	    "rollback\"><input type=\"hidden\" name=\"to\" value=\"%I\">",
	    env, app, to);
	ui_csrf(j->out, &j->sv);
	hf(j->out, "<button class=\"danger\" type=\"submit\">Roll back</button>"
	    " <a href=\"/ui/env/%u/app/%u\">Cancel</a></form></div>", env, app);
	ui_foot(j->out);
out:
	json_decref(rec);
	json_decref(st);
}

static void
post_rollback(struct uijob *j, const char *env, const char *app)
{
	json_t *body, *out = NULL;
	json_int_t to;

	if (seq_of(form(j, "to"), &to) < 0) {
		ui_error_page(j, 400, "Bad request", "the form's \"to\" is a "
		    "release number");
		return;
	}
	body = json_pack("{s:s,s:s,s:I}", "env", env, "app", app, "to", to);
	if (api(j, AG_HTTP1_POST, "/api/rollback", NULL, body, &out) >= 0) {
		ui_head(j->out, "Rolled back", &j->sv);
		hf(j->out, "<h1>Rolled back</h1><div class=\"card ok\" "
		    "id=\"result\"><p>%s in %s is release #%I again, as new "
		    "release <strong class=\"new-seq\">#%I</strong> (gitops "
		    "commit <code>%s</code>).</p><p><a href=\"/ui/env/%u/app/%u\">"
		    "Back to %s's history</a></p></div>", app, env, to,
		    jint(out, "seq"), jstr(out, "gitopsRef"), env, app, app);
		ui_foot(j->out);
		log_info("ui: %s rolled %s/%s back to #%lld", j->sv.cred.name,
		    env, app, (long long)to);
	}
	json_decref(body);
	json_decref(out);
}

static void
artifact_card(struct uijob *j, const json_t *a, const json_t *envs)
{
	const json_t *v = json_object_get(a, "version"), *m, *e;
	const char *id = jstr(a, "id"), *env;
	char msg[128];
	size_t i, k, nopt = 0;

	first_line(msg, sizeof msg, jstr(v, "message"));
	hf(j->out, "<article class=\"artifact\" data-id=\"%s\"><div><strong>"
	    "%s</strong> · <span class=\"ref\">%s</span> · <span class=\"tag\">"
	    "%s</span> · ", id, jstr(v, "repositoryName"), version_ref(v),
	    jstr(v, "event"));
	sha_link(j->out, jstr(v, "sha"), jstr(v, "url"));
	hf(j->out, " · ");
	ui_time(j->out, jint(a, "created"));
	hf(j->out, "</div><div class=\"version\">%s <span class=\"muted\">by "
	    "%s</span></div><div class=\"muted\">", msg, jstr(v, "authorName"));
	json_array_foreach(json_object_get(a, "environments"), i, m)
		hf(j->out, "%r%s/%s", i ? ", " : "for ", jstr(m, "env"),
		    jstr(m, "app"));
	hf(j->out, "</div>");
	/* Deploy: the envs this artifact has manifests for and c may write. */
	json_array_foreach(json_object_get(a, "environments"), i, m) {
		env = jstr(m, "env");
		for (k = 0; k < i; k++)
			if (strcmp(jstr(json_array_get(json_object_get(a,
			    "environments"), k), "env"), env) == 0)
				break;
		if (k < i || !ui_may_write(&j->sv.cred, env))
			continue;
		json_array_foreach(envs, k, e)
			if (strcmp(jstr(e, "name"), env) == 0)
				break;
		if (k == json_array_size(envs))
			continue;	/* no such env (any more) */
		if (nopt++ == 0) {
			hf(j->out, "<form class=\"deploy inline\" method=\"post\" "
			    "action=\"/ui/deploy\"><input type=\"hidden\" "
			    "name=\"artifact\" value=\"%s\">", id);
			ui_csrf(j->out, &j->sv);
			hf(j->out, "<select name=\"env\" aria-label=\"env\">");
		}
		hf(j->out, "<option value=\"%s\">%s</option>", env, env);
	}
	if (nopt > 0)
		hf(j->out, "</select><button type=\"submit\">Deploy</button>"
		    "</form>");
	hf(j->out, "</article>");
}

static void
page_artifacts(struct uijob *j)
{
	static const char *events[] = { "", "push", "tag", "pr" };
	const char *repo = query(j, "repository"), *br = query(j, "branch"),
	    *ev = query(j, "event");
	struct qs q = { evbuffer_new(), NULL };
	json_t *arts = NULL, *envs = NULL, *a;
	size_t i;

	hf(q.b, "limit=%d", ARTIFACTS_PAGE);
	if (repo != NULL && *repo != '\0')
		hf(q.b, "&repository=%u", repo);
	if (br != NULL && *br != '\0')
		hf(q.b, "&branch=%u", br);
	if (ev != NULL && *ev != '\0')
		hf(q.b, "&event=%u", ev);
	if (api(j, AG_HTTP1_GET, "/api/artifacts", qs_str(&q), NULL,
	    &arts) < 0 ||
	    api(j, AG_HTTP1_GET, "/api/envs", NULL, NULL, &envs) < 0)
		goto out;
	ui_head(j->out, "Artifacts", &j->sv);
	hf(j->out, "<h1>Artifacts</h1><form id=\"filters\" method=\"get\" "
	    "action=\"/ui/artifacts\"><label>Repository <input type=\"text\" "
	    "name=\"repository\" value=\"%s\" placeholder=\"acme/web\"></label>"
	    "<label>Branch <input type=\"text\" name=\"branch\" value=\"%s\">"
	    "</label><label>Event <select name=\"event\">", repo, br);
	for (i = 0; i < 4; i++)
		hf(j->out, "<option value=\"%s\"%r>%s</option>", events[i],
		    ev != NULL && strcmp(ev, events[i]) == 0 ? " selected" : "",
		    i == 0 ? "any" : events[i]);
	hf(j->out, "</select></label><button type=\"submit\">Filter</button>"
	    "</form><div id=\"artifacts\" data-live>");
	if (json_array_size(arts) == 0)
		hf(j->out, "<p class=\"muted\">No artifacts match.</p>");
	json_array_foreach(arts, i, a)
		artifact_card(j, a, json_object_get(envs, "envs"));
	hf(j->out, "</div>");
	ui_foot(j->out);
out:
	json_decref(arts);
	json_decref(envs);
	qs_free(&q);
}

static void
post_deploy(struct uijob *j)
{
	const char *id = form(j, "artifact"), *env = form(j, "env"),
	    *app = form(j, "app");
	json_t *body, *out = NULL, *r;
	size_t i;

	if (id == NULL || env == NULL || !ui_name_ok(env)) {
		ui_error_page(j, 400, "Bad request", "the form names an "
		    "artifact and an env");
		return;
	}
	body = json_pack("{s:s,s:s}", "env", env, "artifactId", id);
	if (app != NULL && *app != '\0')
		json_object_set_new(body, "app", json_string(app));
	if (api(j, AG_HTTP1_POST, "/api/releases", NULL, body, &out) < 0) {
		/* The whole refusal (validation's message) is on the page. */
		json_decref(body);
		return;
	}
	ui_head(j->out, "Deployed", &j->sv);
	hf(j->out, "<h1>Deployed to %s</h1><div class=\"card ok\" id=\"result\">"
	    "<ul>", env);
	json_array_foreach(json_object_get(out, "releases"), i, r) {
		if (json_object_get(r, "error") != NULL)
			hf(j->out, "<li class=\"error\">%s: <pre class=\"wrap\">"
			    "%s</pre></li>", jstr(r, "app"), jstr(r, "error"));
		else if (json_object_get(r, "seq") == NULL)
			hf(j->out, "<li>%s: unchanged (the same tree is there "
			    "already)</li>", jstr(r, "app"));
		else
			hf(j->out, "<li><a href=\"/ui/env/%u/app/%u\">%s</a>: "
			    "release <strong class=\"new-seq\">#%I</strong>, "
			    "gitops commit <code>%s</code></li>", env,
			    jstr(r, "app"), jstr(r, "app"), jint(r, "seq"),
			    jstr(r, "gitopsRef"));
	}
	hf(j->out, "</ul><p><a href=\"/ui/env/%u\">See %s</a></p></div>", env,
	    env);
	ui_foot(j->out);
	log_info("ui: %s deployed %s to %s", j->sv.cred.name, id, env);
	json_decref(body);
	json_decref(out);
}

/* ------------------------------------------------------------ routing */

/* Splits "/ui/env/E[/app/A[/rest]]": 0, or -1 if it is not such a path. */
static int
split_env(const char *path, char *env, char *app, char *rest, size_t sz)
{
	char buf[512], *p, *parts[6], *save = NULL;
	int n = 0;

	*env = *app = *rest = '\0';
	snprintf(buf, sizeof buf, "%s", path + 8);	/* after "/ui/env/" */
	/* strtok_r: pages are built on several workers at once. */
	for (p = strtok_r(buf, "/", &save); p != NULL && n < 6;
	    p = strtok_r(NULL, "/", &save))
		parts[n++] = p;
	if (p != NULL || n == 0 || n == 2 || n > 5 || !ui_name_ok(parts[0]))
		return -1;
	snprintf(env, sz, "%s", parts[0]);
	if (n == 1)
		return 0;
	if (strcmp(parts[1], "app") != 0 || !ui_name_ok(parts[2]))
		return -1;
	snprintf(app, sz, "%s", parts[2]);
	if (n == 4)
		snprintf(rest, sz, "%s", parts[3]);
	else if (n == 5)
		snprintf(rest, sz, "%s/%s", parts[3], parts[4]);
	return 0;
}

void
ui_page_run(struct uijob *j)
{
	char env[128], app[128], rest[300];

	if (strcmp(j->path, "/") == 0 && !j->post) {
		page_overview(j);
		return;
	}
	if (strcmp(j->path, "/ui/artifacts") == 0 && !j->post) {
		page_artifacts(j);
		return;
	}
	if (strcmp(j->path, "/ui/deploy") == 0 && j->post) {
		post_deploy(j);
		return;
	}
	if (strncmp(j->path, "/ui/env/", 8) != 0 ||
	    split_env(j->path, env, app, rest, 128) < 0) {
		ui_error_page(j, 404, "Not found", "no such page");
		return;
	}
	if (*app == '\0' && !j->post)
		page_env(j, env);
	else if (*app != '\0' && *rest == '\0' && !j->post)
		page_app(j, env, app);
	else if (strncmp(rest, "release/", 8) == 0 && !j->post)
		page_release(j, env, app, rest + 8);
	else if (strcmp(rest, "diff") == 0 && !j->post)
		page_diff(j, env, app);
	else if (strcmp(rest, "rollback") == 0)
		j->post ? post_rollback(j, env, app) :
		    page_rollback_confirm(j, env, app);
	else
		ui_error_page(j, 404, "Not found", "no such page");
}

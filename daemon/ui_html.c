/* The dashboard's HTML writer and the pieces every page shares. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auger/access.h"
#include "ui_page.h"

static void
esc(struct evbuffer *b, const char *s)
{
	const char *p, *r;

	for (p = s; *p != '\0'; p++) {
		switch (*p) {
		case '&': r = "&amp;"; break;
		case '<': r = "&lt;"; break;
		case '>': r = "&gt;"; break;
		case '"': r = "&quot;"; break;
		case '\'': r = "&#39;"; break;
		default: continue;
		}
		evbuffer_add(b, s, (size_t)(p - s));
		evbuffer_add(b, r, strlen(r));
		s = p + 1;
	}
	evbuffer_add(b, s, (size_t)(p - s));
}

static void
urlenc(struct evbuffer *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			evbuffer_add(b, p, 1);
		else
			evbuffer_add_printf(b, "%%%c%c", hex[*p >> 4],
			    hex[*p & 15]);
	}
}

void
hf(struct evbuffer *b, const char *fmt, ...)
{
	va_list ap;
	const char *p, *s;

	va_start(ap, fmt);
	for (p = fmt; *p != '\0'; p++) {
		if (*p != '%') {
			if ((s = strchr(p, '%')) == NULL)
				s = p + strlen(p);
			evbuffer_add(b, p, (size_t)(s - p));
			p = s - 1;
			continue;
		}
		if (p[1] == '\0')
			break;
		switch (*++p) {
		case 's':
			if ((s = va_arg(ap, const char *)) != NULL)
				esc(b, s);
			break;
		case 'r':
			if ((s = va_arg(ap, const char *)) != NULL)
				evbuffer_add(b, s, strlen(s));
			break;
		case 'u':
			if ((s = va_arg(ap, const char *)) != NULL)
				urlenc(b, s);
			break;
		case 'd':
			evbuffer_add_printf(b, "%d", va_arg(ap, int));
			break;
		case 'I':
			evbuffer_add_printf(b, "%lld",
			    (long long)va_arg(ap, json_int_t));
			break;
		default:
			evbuffer_add(b, p, 1);	/* %% and anything else */
			break;
		}
	}
	va_end(ap);
}

void
ui_csrf(struct evbuffer *b, const struct session_view *sv)
{
	hf(b, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", sv->csrf);
}

void
ui_head(struct evbuffer *b, const char *title, const struct session_view *sv)
{
	hf(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\"><title>%s · auger</title>"
	    "<link rel=\"icon\" href=\"/ui/assets/favicon.svg\">"
	    "<link rel=\"stylesheet\" href=\"/ui/assets/auger.css\">"
	    "<script src=\"/ui/assets/auger.js\" defer></script></head>\n",
	    title);
	if (sv == NULL) {
		hf(b, "<body><header><span class=\"brand\">auger</span>"
		    "</header><main>\n");
		return;
	}
	hf(b, "<body data-live-page><header><a class=\"brand\" href=\"/\">"
	    "auger</a><nav><a id=\"nav-envs\" href=\"/\">Environments</a>"
	    "<a id=\"nav-artifacts\" href=\"/ui/artifacts\">Artifacts</a>"
	    "</nav><span id=\"whoami\">%s (%s)</span>"
	    "<form id=\"signout\" method=\"post\" action=\"/ui/signout\">",
	    sv->cred.name, auth_role_name(sv->cred.g.role));
	ui_csrf(b, sv);
	hf(b, "<button class=\"quiet\" type=\"submit\">Sign out</button>"
	    "</form></header><main>\n<ul id=\"live-log\" aria-live=\"polite\">"
	    "</ul>\n");
}

void
ui_foot(struct evbuffer *b)
{
	hf(b, "\n</main></body></html>\n");
}

void
ui_error_body(struct evbuffer *b, const char *title, const char *msg,
    const struct session_view *sv)
{
	ui_head(b, title, sv);
	hf(b, "<h1>%s</h1><div class=\"card error\" id=\"result\">"
	    "<pre class=\"error wrap\">%s</pre></div>"
	    "<p><a href=\"/\">Back to the environments</a></p>", title, msg);
	ui_foot(b);
}

void
ui_error_page(struct uijob *j, int status, const char *title,
    const char *msg)
{
	evbuffer_drain(j->out, evbuffer_get_length(j->out));
	j->status = status;
	ui_error_body(j->out, title, msg, j->sv.cred.name[0] != '\0' ?
	    &j->sv : NULL);
}

void
ui_time(struct evbuffer *b, json_int_t t)
{
	char iso[32], text[40];
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		hf(b, "-");
		return;
	}
	strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
	hf(b, "<time datetime=\"%s\">%s</time>", iso, text);
}

void
ui_flux(struct evbuffer *b, const char *status)
{
	const char *cls = "flux-pending";

	if (status == NULL)
		status = "";
	if (strstr(status, "Succeeded") != NULL ||
	    strcmp(status, "Ready") == 0 || strcmp(status, "ready") == 0)
		cls = "flux-ok";
	else if (strstr(status, "Failed") != NULL ||
	    strstr(status, "rror") != NULL)
		cls = "flux-fail";
	hf(b, "<span class=\"flux %r\" data-status=\"%s\">%s</span>", cls,
	    status, *status != '\0' ? status : "pending");
}

int
ui_may_write(const struct cred *c, const char *env)
{
	char repo[128];

	snprintf(repo, sizeof repo, "gitops-%s-apps", env);
	return ag_access_allowed(&c->g, AG_OP_PUSH, repo);
}

int
ui_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 63 || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

/*
 * The daemon's config file (augerd --config FILE): the defaults and
 * per-env settings of the hook chain. The YAML is loaded with the
 * project's loader for its typing; a second pass over libyaml's events
 * finds the line of a key when an error names one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <yaml.h>

#include "auger/env.h"
#include "auger/yaml.h"
#include "config.h"

/* Keys of an error's path: envs.NAME.policy.KEY is the deepest. */
#define CONFIG_PATH_MAX	4

static const struct config_env config_builtin = {
	"", 0, 0, 0, CONFIG_DEFAULT_TIMEOUT_MS
};

struct config_ctx {
	const char	*text;
	size_t		 len;
	const char	*file;
	struct ag_err	*err;
};

/* One open mapping or sequence while walking libyaml's events. */
struct config_frame {
	int	map;		/* a mapping, not a sequence */
	int	onpath;		/* its keys so far matched the path */
	int	wantkey;	/* the next scalar is a key */
	int	keymatch;	/* the current key is the next on the path */
};

/*
 * Finds the key at path (depth keys from the root mapping) in the text:
 * 1 and its 0-based line and column, or 0 when it is not there.
 */
static int
config_locate(const struct config_ctx *x, const char *const *path,
    size_t depth, size_t *line, size_t *col)
{
	struct config_frame st[AG_YAML_MAX_DEPTH + 1], *top;
	yaml_parser_t p;
	yaml_event_t ev;
	size_t sp = 0, d, n;
	int done = 0, found = 0;

	if (depth == 0 || yaml_parser_initialize(&p) == 0)
		return 0;
	yaml_parser_set_input_string(&p, (const unsigned char *)x->text,
	    x->len);
	while (!done && !found && yaml_parser_parse(&p, &ev)) {
		top = sp > 0 ? &st[sp - 1] : NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			done = 1;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (sp == AG_YAML_MAX_DEPTH) {
				done = 1;
				break;
			}
			st[sp].map = ev.type == YAML_MAPPING_START_EVENT;
			st[sp].onpath = top == NULL || (top->map &&
			    top->onpath && top->keymatch);
			st[sp].wantkey = 1;
			st[sp].keymatch = 0;
			sp++;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			if (top != NULL && top->map && top->wantkey) {
				d = sp - 1;
				top->wantkey = 0;
				top->keymatch = 0;
				if (ev.type != YAML_SCALAR_EVENT ||
				    !top->onpath || d >= depth)
					break;
				n = strlen(path[d]);
				top->keymatch = ev.data.scalar.length == n &&
				    memcmp(ev.data.scalar.value, path[d],
				    n) == 0;
				if (top->keymatch && d == depth - 1) {
					*line = ev.start_mark.line;
					*col = ev.start_mark.column;
					found = 1;
				}
			} else if (top != NULL && top->map)
				top->wantkey = 1;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			if (sp > 0)
				sp--;
			if (sp > 0 && st[sp - 1].map)
				st[sp - 1].wantkey = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return found;
}

/* An error about the key at path, with its position when it is found. */
static int
config_err(const struct config_ctx *x, int code, const char *const *path,
    size_t depth, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
config_err(const struct config_ctx *x, int code, const char *const *path,
    size_t depth, const char *fmt, ...)
{
	char msg[AG_ERR_MSG_MAX];
	size_t line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (config_locate(x, path, depth, &line, &col))
		return ag_err_set(x->err, code, "%s:%zu:%zu: %s", x->file,
		    line + 1, col + 1, msg);
	return ag_err_set(x->err, code, "%s: %s", x->file, msg);
}

/* The dotted name of a path, for messages: "envs.production.policy". */
static const char *
config_dotted(char *buf, size_t bufsz, const char *const *path, size_t depth)
{
	size_t i, off = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < depth && off < bufsz; i++) {
		n = snprintf(buf + off, bufsz - off, "%s%s", i ? "." : "",
		    path[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf;
}

static int
config_bool(const struct config_ctx *x, const json_t *v,
    const char *const *path, size_t depth, int *out)
{
	char name[256];

	if (json_is_null(v))
		return 0;	/* "key:" with no value keeps what was there */
	if (!json_is_boolean(v))
		return config_err(x, AG_EINVAL, path, depth,
		    "%s must be true or false",
		    config_dotted(name, sizeof name, path, depth));
	*out = json_is_true(v);
	return 0;
}

/*
 * "500ms", "10s", "2m", "500" or the integer 500: milliseconds between 1
 * and CONFIG_MAX_TIMEOUT_MS. -1 when s is none of these.
 */
static long long
config_duration(const char *s)
{
	long long v = 0, mult;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i >= 12)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0)
		return -1;
	if (strcmp(s + i, "") == 0 || strcmp(s + i, "ms") == 0)
		mult = 1;
	else if (strcmp(s + i, "s") == 0)
		mult = 1000;
	else if (strcmp(s + i, "m") == 0)
		mult = 60 * 1000;
	else
		return -1;
	return v * mult;
}

static int
config_timeout(const struct config_ctx *x, const json_t *v,
    const char *const *path, size_t depth, int *out)
{
	char name[256];
	long long ms = -1;

	if (json_is_null(v))
		return 0;
	if (json_is_integer(v))
		ms = json_integer_value(v);
	else if (json_is_string(v))
		ms = config_duration(json_string_value(v));
	if (ms < 1 || ms > CONFIG_MAX_TIMEOUT_MS)
		return config_err(x, AG_EINVAL, path, depth,
		    "%s must be a duration like \"10s\" or \"500ms\", or an "
		    "integer of milliseconds, from 1ms to %dm",
		    config_dotted(name, sizeof name, path, depth),
		    CONFIG_MAX_TIMEOUT_MS / 60000);
	*out = (int)ms;
	return 0;
}

static int
config_unknown(const struct config_ctx *x, const char *const *path,
    size_t depth, const char *known)
{
	char name[256];

	return config_err(x, AG_EINVAL, path, depth,
	    "unknown key %s (known here: %s)",
	    config_dotted(name, sizeof name, path, depth), known);
}

static int
config_policy(const struct config_ctx *x, const json_t *v, const char **path,
    size_t depth, struct config_env *e)
{
	const char *k;
	json_t *val;
	char name[256];
	int r;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return config_err(x, AG_EINVAL, path, depth,
		    "%s must be a map",
		    config_dotted(name, sizeof name, path, depth));
	json_object_foreach((json_t *)(uintptr_t)v, k, val) {
		path[depth] = k;
		if (strcmp(k, "denyLatestTag") == 0)
			r = config_bool(x, val, path, depth + 1,
			    &e->deny_latest_tag);
		else if (strcmp(k, "requireResourceLimits") == 0)
			r = config_bool(x, val, path, depth + 1,
			    &e->require_limits);
		else
			r = config_unknown(x, path, depth + 1,
			    "denyLatestTag, requireResourceLimits");
		if (r < 0)
			return r;
	}
	return 0;
}

/* The keys of defaults: or of one env, over what e holds already. */
static int
config_section(const struct config_ctx *x, const json_t *v, const char **path,
    size_t depth, struct config_env *e)
{
	const char *k;
	json_t *val;
	char name[256];
	int r;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return config_err(x, AG_EINVAL, path, depth,
		    "%s must be a map",
		    config_dotted(name, sizeof name, path, depth));
	json_object_foreach((json_t *)(uintptr_t)v, k, val) {
		path[depth] = k;
		if (strcmp(k, "hookTimeout") == 0)
			r = config_timeout(x, val, path, depth + 1,
			    &e->hook_timeout_ms);
		else if (strcmp(k, "allowClusterScoped") == 0)
			r = config_bool(x, val, path, depth + 1,
			    &e->allow_cluster_scoped);
		else if (strcmp(k, "policy") == 0)
			r = config_policy(x, val, path, depth + 1, e);
		else
			r = config_unknown(x, path, depth + 1,
			    "hookTimeout, allowClusterScoped, policy");
		if (r < 0)
			return r;
	}
	return 0;
}

static int
config_envs(const struct config_ctx *x, const json_t *v, struct config *c)
{
	const char *path[CONFIG_PATH_MAX] = { "envs" };
	struct ag_err nerr = { 0, "" };
	const char *k;
	json_t *val;
	size_t n;
	int r;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return config_err(x, AG_EINVAL, path, 1,
		    "envs must be a map of env names to settings");
	if ((n = json_object_size(v)) > CONFIG_MAX_ENVS)
		return config_err(x, AG_ETOOBIG, path, 1,
		    "envs has %zu entries, over the limit of %d", n,
		    CONFIG_MAX_ENVS);
	if (n == 0)
		return 0;
	if ((c->envs = calloc(n, sizeof *c->envs)) == NULL)
		return ag_err_set(x->err, AG_EINTERNAL, "out of memory");
	json_object_foreach((json_t *)(uintptr_t)v, k, val) {
		path[1] = k;
		if (ag_env_name_check(k, &nerr) < 0 ||
		    strlen(k) >= sizeof c->envs[0].name)
			return config_err(x, AG_EINVAL, path, 2,
			    "envs: \"%.80s\" is not a valid env name (%s)", k,
			    nerr.msg[0] != '\0' ? nerr.msg : "too long");
		c->envs[c->nenvs] = c->defaults;
		snprintf(c->envs[c->nenvs].name,
		    sizeof c->envs[c->nenvs].name, "%s", k);
		if ((r = config_section(x, val, path, 2,
		    &c->envs[c->nenvs])) < 0)
			return r;
		c->nenvs++;
	}
	return 0;
}

int
config_parse(struct config **out, const char *text, size_t len,
    const char *filename, struct ag_err *err)
{
	struct config_ctx x = { text, len, filename ? filename : "<config>",
	    err };
	const char *path[CONFIG_PATH_MAX] = { "defaults" };
	struct config *c = NULL;
	json_t *root = NULL, *val;
	const char *k;
	int r;

	*out = NULL;
	if (text == NULL && len > 0)
		return ag_err_set(err, AG_EINVAL, "config: no text");
	if (len > CONFIG_MAX_INPUT)
		return ag_err_set(err, AG_ETOOBIG,
		    "%s: %zu bytes, over the limit of %d", x.file, len,
		    CONFIG_MAX_INPUT);
	if ((c = calloc(1, sizeof *c)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "out of memory");
	c->defaults = config_builtin;
	if ((r = ag_yaml_load(&root, text != NULL ? text : "", len, x.file,
	    err)) < 0)
		goto out;
	if (!json_is_null(root) && !json_is_object(root)) {
		r = ag_err_set(err, AG_EINVAL,
		    "%s:1:1: the config must be a map of defaults and envs",
		    x.file);
		goto out;
	}
	/* defaults first, wherever it is: the envs start from it */
	if ((r = config_section(&x, json_object_get(root, "defaults"), path,
	    1, &c->defaults)) < 0)
		goto out;
	json_object_foreach(root, k, val) {
		if (strcmp(k, "defaults") == 0)
			continue;
		if (strcmp(k, "envs") == 0)
			r = config_envs(&x, val, c);
		else {
			path[0] = k;
			r = config_unknown(&x, path, 1, "defaults, envs");
		}
		if (r < 0)
			goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	config_free(c);
	json_decref(root);
	return r;
}

int
config_load(struct config **out, const char *path, struct ag_err *err)
{
	struct stat sb;
	char *buf = NULL;
	size_t off = 0;
	ssize_t n;
	int fd = -1, r;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return ag_err_set(err, AG_EINVAL, "config: no file named");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = ag_err_set(err, errno == ENOENT ? AG_ENOTFOUND : AG_EIO,
		    "config: %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		r = ag_err_set(err, AG_EIO, "config: %s: not a regular file",
		    path);
		goto out;
	}
	if (sb.st_size > CONFIG_MAX_INPUT) {
		r = ag_err_set(err, AG_ETOOBIG,
		    "config: %s: %lld bytes, over the limit of %d", path,
		    (long long)sb.st_size, CONFIG_MAX_INPUT);
		goto out;
	}
	/* one spare byte: a file that grew since fstat is caught */
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		r = ag_err_set(err, AG_EINTERNAL, "out of memory");
		goto out;
	}
	while (off < (size_t)sb.st_size + 1) {
		n = read(fd, buf + off, (size_t)sb.st_size + 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ag_err_set(err, AG_EIO, "config: %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	if (off > (size_t)sb.st_size) {
		r = ag_err_set(err, AG_EIO, "config: %s: changed while read",
		    path);
		goto out;
	}
	r = config_parse(out, buf, off, path, err);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->envs);
	free(c);
}

const struct config_env *
config_env(const struct config *c, const char *env)
{
	size_t i;

	if (c == NULL)
		return &config_builtin;
	for (i = 0; env != NULL && i < c->nenvs; i++)
		if (strcmp(c->envs[i].name, env) == 0)
			return &c->envs[i];
	return &c->defaults;
}

/* Deploy policies: branch and tag globs with "!" negation, events, messages. */
#include <fnmatch.h>
#include <string.h>

#include "auger/policy.h"

/* Rejects what fnmatch would silently read literally. */
static int
glob_ok(const char *g)
{
	const char *p;

	for (p = g; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == '\0')
				return 0;
			p++;
		} else if (*p == '[') {
			const char *q = p + 1;

			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q != '\0' && *q != ']')
				q++;
			if (*q == '\0')
				return 0;
			p = q;
		} else if (*p == ']')
			return 0;
	}
	return 1;
}

int
ag_policy_glob(const char *glob, const char *s, struct ag_err *err)
{
	int neg = 0, m;

	if (glob[0] == '!') {
		neg = 1;
		glob++;
	}
	if (*glob == '\0' || strlen(glob) > 256 || !glob_ok(glob))
		return ag_err_set(err, AG_EINVAL, "malformed glob \"%s%.256s\"",
		    neg ? "!" : "", glob);
	m = fnmatch(glob, s, 0) == 0;
	return neg ? !m : m;
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

int
ag_policy_match(const json_t *deploy, const json_t *version,
    struct ag_err *err)
{
	const char *event = str(version, "event"), *want;
	const json_t *pats, *p;
	size_t i;
	int m, any;

	if (!json_is_object(deploy))
		return 0;
	if (strstr(str(version, "message"), AG_DEPLOY_ALL_MARK) != NULL)
		return 1;
	if (*event == '\0')
		event = *str(version, "tag") != '\0' ? "tag" : "push";
	want = str(deploy, "event");
	if (*want == '\0')
		want = json_object_get(deploy, "tag") != NULL &&
		    json_object_get(deploy, "branch") == NULL ? "tag" : "push";
	if (strcmp(want, "push") != 0 && strcmp(want, "tag") != 0 &&
	    strcmp(want, "pr") != 0)
		return ag_err_set(err, AG_EINVAL, "deploy.event must be push, "
		    "tag or pr, not \"%.40s\"", want);
	if (strcmp(want, event) != 0)
		return 0;
	if (json_is_string(json_object_get(deploy, "branch")) &&
	    (m = ag_policy_glob(str(deploy, "branch"), str(version, "branch"),
	    err)) <= 0)
		return m;
	if (json_is_string(json_object_get(deploy, "tag")) &&
	    (m = ag_policy_glob(str(deploy, "tag"), str(version, "tag"),
	    err)) <= 0)
		return m;
	pats = json_object_get(deploy, "commitMessagePatterns");
	if (json_is_array(pats) && json_array_size(pats) > 0) {
		any = 0;
		json_array_foreach(pats, i, p) {
			if (!json_is_string(p))
				return ag_err_set(err, AG_EINVAL,
				    "commitMessagePatterns must be strings");
			if ((m = ag_policy_glob(json_string_value(p),
			    str(version, "message"), err)) < 0)
				return m;
			any |= m;
		}
		if (!any)
			return 0;
	}
	return 1;
}

/* The exec command of a git SSH session: a strict grammar, no shell. */
#include <string.h>

#include "auger/repo.h"
#include "auger/sshcmd.h"

/* Unquotes one sq_quote'd or bare argument into out; -1 if malformed. */
static int
unquote(const char *p, char *out, size_t outsz)
{
	size_t o = 0;

	if (*p != '\'') {
		/* A bare word: nothing a shell would treat specially. */
		for (; *p != '\0'; p++) {
			if (strchr(" \t\n'\"\\$`;&|<>(){}*?[]~!#", *p) != NULL ||
			    (unsigned char)*p < 0x20 || o + 1 >= outsz)
				return -1;
			out[o++] = *p;
		}
		out[o] = '\0';
		return o > 0 ? 0 : -1;
	}
	for (;;) {
		if (*p != '\'')
			return -1;
		for (p++; *p != '\''; p++) {
			if (*p == '\0' || o + 1 >= outsz)
				return -1;
			out[o++] = *p;
		}
		p++;
		if (*p == '\0')
			break;
		/* '\'' and '\!' join quoted runs. */
		if (p[0] != '\\' || (p[1] != '\'' && p[1] != '!') ||
		    o + 1 >= outsz)
			return -1;
		out[o++] = p[1];
		p += 2;
	}
	out[o] = '\0';
	return 0;
}

int
ag_sshcmd_parse(const char *cmd, enum ag_service *svc, char *name,
    size_t namesz, struct ag_err *err)
{
	static const struct {
		const char	*verb;
		enum ag_service	 svc;
	} verbs[] = {
		{ "git-upload-pack ", AG_SVC_UPLOAD },
		{ "git upload-pack ", AG_SVC_UPLOAD },
		{ "git-receive-pack ", AG_SVC_RECEIVE },
		{ "git receive-pack ", AG_SVC_RECEIVE },
	};
	char path[AG_SSHCMD_MAX + 1], *p;
	const char *arg = NULL;
	size_t i, len;

	if (cmd == NULL || (len = strlen(cmd)) == 0)
		return ag_err_set(err, AG_EINVAL, "no command given; this "
		    "server runs git-upload-pack and git-receive-pack only");
	if (len > AG_SSHCMD_MAX)
		return ag_err_set(err, AG_ETOOBIG,
		    "command longer than %d bytes", AG_SSHCMD_MAX);
	for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		size_t vl = strlen(verbs[i].verb);

		if (strncmp(cmd, verbs[i].verb, vl) == 0) {
			*svc = verbs[i].svc;
			arg = cmd + vl;
			break;
		}
	}
	if (arg == NULL)
		return ag_err_set(err, AG_EINVAL, "command not allowed: only "
		    "git-upload-pack and git-receive-pack are served");
	if (unquote(arg, path, sizeof path) < 0)
		return ag_err_set(err, AG_EINVAL, "malformed repository path: "
		    "quote it as git does ('path')");
	if (strstr(path, "..") != NULL)
		return ag_err_set(err, AG_EINVAL,
		    "repository path may not contain \"..\"");
	p = path;
	if (*p == '/')
		p++;
	len = strlen(p);
	if (len > 0 && p[len - 1] == '/')
		p[--len] = '\0';
	if (len > 4 && strcmp(p + len - 4, ".git") == 0)
		p[len -= 4] = '\0';
	if (len >= namesz)
		return ag_err_set(err, AG_EINVAL, "repository path too long");
	if (ag_repo_name_check(p, err) < 0)
		return AG_EINVAL;
	memcpy(name, p, len + 1);
	return 0;
}

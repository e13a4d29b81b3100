/* Unit tests of the access rules (src/access.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auger/access.h"

/* A grant of role scoped to the NULL-terminated envs ("*" for all). */
static struct ag_grant
grant(enum ag_role role, const char *const *envs)
{
	struct ag_grant g;

	memset(&g, 0, sizeof g);
	g.role = role;
	for (; envs != NULL && *envs != NULL; envs++) {
		if (strcmp(*envs, "*") == 0)
			g.all_envs = 1;
		else
			snprintf(g.envs[g.nenvs++], sizeof g.envs[0], "%s",
			    *envs);
	}
	return g;
}

static const char *
role_s(enum ag_role r)
{
	return r == AG_ROLE_ADMIN ? "admin" : r == AG_ROLE_DEPLOY ? "deploy" :
	    "read";
}

static const char *
op_s(enum ag_op op)
{
	return op == AG_OP_FETCH ? "fetch" : op == AG_OP_PUSH ? "push" :
	    "admin";
}

static void
expect(const struct ag_grant *g, enum ag_op op, const char *repo, int want)
{
	int got = ag_access_allowed(g, op, repo);

	if ((got != 0) != (want != 0))
		print_error("%s (%d envs%s) %s %s: got %s, want %s\n",
		    role_s(g->role), g->nenvs, g->all_envs ? ", all" : "",
		    op_s(op), repo ? repo : "(none)",
		    got ? "allowed" : "denied", want ? "allowed" : "denied");
	assert_int_equal(got != 0, want != 0);
}

static const char *const staging[] = { "staging", NULL };
static const char *const staging_prod[] = { "staging", "production", NULL };
static const char *const all[] = { "*", NULL };
static const char *const none[] = { NULL };

/*
 * The full matrix for one grant per role scoped to staging: each repo
 * kind (app, own env's gitops apps/infra, other env's gitops, namespaced)
 * x fetch/push/admin.
 */
static const struct {
	const char	*repo;
	/* allowed for read-fetch, read-push, deploy-fetch, deploy-push */
	int		 rf, rp, df, dp;
} matrix[] = {
	{ "web",			0, 0, 1, 1 },
	{ "ns/web",			0, 0, 1, 1 },
	{ "gitops-staging-apps",	1, 0, 1, 1 },
	/* infra: cluster-scoped objects, pushed by admin only. */
	{ "gitops-staging-infra",	1, 0, 1, 0 },
	{ "gitops-production-apps",	0, 0, 0, 0 },
	{ "gitops-production-infra",	0, 0, 0, 0 },
	{ "gitops-stagingx-apps",	0, 0, 0, 0 },
	{ "gitops-stag-apps",		0, 0, 0, 0 },
	/* Not gitops repos of staging: application repositories. */
	{ "gitops-staging",		0, 0, 1, 1 },
	{ "gitops-staging-other",	0, 0, 1, 1 },
	{ "ns/gitops-staging-apps",	0, 0, 1, 1 },
	{ "ns/gitops-production-apps",	0, 0, 1, 1 },
	{ "gitops--apps",		0, 0, 1, 1 },
	{ "xgitops-staging-apps",	0, 0, 1, 1 },
};

static void
test_matrix_staging(void **state)
{
	struct ag_grant r = grant(AG_ROLE_READ, staging);
	struct ag_grant d = grant(AG_ROLE_DEPLOY, staging);
	struct ag_grant a = grant(AG_ROLE_ADMIN, staging);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof matrix / sizeof matrix[0]; i++) {
		const char *repo = matrix[i].repo;

		expect(&r, AG_OP_FETCH, repo, matrix[i].rf);
		expect(&r, AG_OP_PUSH, repo, matrix[i].rp);
		expect(&r, AG_OP_ADMIN, repo, 0);
		expect(&d, AG_OP_FETCH, repo, matrix[i].df);
		expect(&d, AG_OP_PUSH, repo, matrix[i].dp);
		expect(&d, AG_OP_ADMIN, repo, 0);
		/* admin: everything, whatever its env scope. */
		expect(&a, AG_OP_FETCH, repo, 1);
		expect(&a, AG_OP_PUSH, repo, 1);
		expect(&a, AG_OP_ADMIN, repo, 1);
	}
}

/* The cases the design calls out, spelled out one by one. */
static void
test_named_cases(void **state)
{
	struct ag_grant d = grant(AG_ROLE_DEPLOY, staging);
	struct ag_grant r = grant(AG_ROLE_READ, staging);

	(void)state;
	expect(&d, AG_OP_PUSH, "gitops-production-apps", 0);
	expect(&d, AG_OP_PUSH, "gitops-staging-apps", 1);
	expect(&d, AG_OP_PUSH, "web", 1);
	expect(&r, AG_OP_PUSH, "gitops-staging-apps", 0);
	expect(&r, AG_OP_PUSH, "web", 0);
	expect(&r, AG_OP_FETCH, "web", 0);
	expect(&r, AG_OP_FETCH, "gitops-production-apps", 0);
	expect(&r, AG_OP_FETCH, "gitops-staging-apps", 1);
	/* An env's infra repository: deploy fetches it, never pushes it. */
	expect(&d, AG_OP_FETCH, "gitops-staging-infra", 1);
	expect(&d, AG_OP_PUSH, "gitops-staging-infra", 0);
	expect(&d, AG_OP_PUSH, "gitops-x-infra-apps", 0);
	expect(&d, AG_OP_PUSH, "gitops-staging-apps-infra", 0);
}

/* A role's least rights, as an API route checks them from the headers. */
static void
test_role_may(void **state)
{
	struct ag_grant r = grant(AG_ROLE_READ, none);
	struct ag_grant d = grant(AG_ROLE_DEPLOY, staging);
	struct ag_grant a = grant(AG_ROLE_ADMIN, none);

	(void)state;
	assert_int_equal(ag_access_role_may(&r, AG_OP_FETCH), 1);
	assert_int_equal(ag_access_role_may(&r, AG_OP_PUSH), 0);
	assert_int_equal(ag_access_role_may(&r, AG_OP_ADMIN), 0);
	assert_int_equal(ag_access_role_may(&d, AG_OP_FETCH), 1);
	assert_int_equal(ag_access_role_may(&d, AG_OP_PUSH), 1);
	assert_int_equal(ag_access_role_may(&d, AG_OP_ADMIN), 0);
	assert_int_equal(ag_access_role_may(&a, AG_OP_ADMIN), 1);
}

/* Non-repository operations (repo NULL): only admin. */
static void
test_no_repo(void **state)
{
	struct ag_grant r = grant(AG_ROLE_READ, all);
	struct ag_grant d = grant(AG_ROLE_DEPLOY, all);
	struct ag_grant a = grant(AG_ROLE_ADMIN, none);
	enum ag_op ops[] = { AG_OP_FETCH, AG_OP_PUSH, AG_OP_ADMIN };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		expect(&r, ops[i], NULL, 0);
		expect(&d, ops[i], NULL, 0);
		expect(&a, ops[i], NULL, 1);
	}
}

/* Several envs, all envs ("*"), no envs at all. */
static void
test_env_scopes(void **state)
{
	struct ag_grant r2 = grant(AG_ROLE_READ, staging_prod);
	struct ag_grant d2 = grant(AG_ROLE_DEPLOY, staging_prod);
	struct ag_grant rall = grant(AG_ROLE_READ, all);
	struct ag_grant dall = grant(AG_ROLE_DEPLOY, all);
	struct ag_grant r0 = grant(AG_ROLE_READ, none);
	struct ag_grant d0 = grant(AG_ROLE_DEPLOY, none);

	(void)state;
	expect(&r2, AG_OP_FETCH, "gitops-staging-apps", 1);
	expect(&r2, AG_OP_FETCH, "gitops-production-infra", 1);
	expect(&r2, AG_OP_FETCH, "gitops-dev-apps", 0);
	expect(&r2, AG_OP_PUSH, "gitops-production-apps", 0);
	expect(&d2, AG_OP_PUSH, "gitops-production-apps", 1);
	expect(&d2, AG_OP_PUSH, "gitops-dev-apps", 0);

	expect(&rall, AG_OP_FETCH, "gitops-anything-apps", 1);
	expect(&rall, AG_OP_FETCH, "gitops-x-infra", 1);
	expect(&dall, AG_OP_PUSH, "gitops-x-infra", 0);
	expect(&rall, AG_OP_FETCH, "web", 0);	/* still no app repos */
	expect(&rall, AG_OP_PUSH, "gitops-x-apps", 0);
	expect(&rall, AG_OP_ADMIN, "gitops-x-apps", 0);
	expect(&dall, AG_OP_PUSH, "gitops-anything-apps", 1);
	expect(&dall, AG_OP_PUSH, "web", 1);
	expect(&dall, AG_OP_ADMIN, "web", 0);

	expect(&r0, AG_OP_FETCH, "gitops-staging-apps", 0);
	expect(&r0, AG_OP_FETCH, "web", 0);
	expect(&d0, AG_OP_PUSH, "gitops-staging-apps", 0);
	expect(&d0, AG_OP_FETCH, "gitops-staging-apps", 0);
	expect(&d0, AG_OP_PUSH, "web", 1);
}

/* Env names compare exactly: no prefix, case or empty-string matches. */
static void
test_env_exact(void **state)
{
	static const char *const empty_env[] = { "", NULL };
	static const char *const upper[] = { "Staging", NULL };
	static const char *const prefix[] = { "stag", NULL };
	struct ag_grant re = grant(AG_ROLE_READ, empty_env);
	struct ag_grant ru = grant(AG_ROLE_READ, upper);
	struct ag_grant rp = grant(AG_ROLE_READ, prefix);

	(void)state;
	expect(&re, AG_OP_FETCH, "gitops--apps", 0);
	expect(&re, AG_OP_FETCH, "gitops-staging-apps", 0);
	expect(&ru, AG_OP_FETCH, "gitops-staging-apps", 0);
	expect(&rp, AG_OP_FETCH, "gitops-staging-apps", 0);
	expect(&rp, AG_OP_FETCH, "gitops-stag-apps", 1);
}

static void
expect_env(const char *repo, int want, const char *want_env)
{
	char env[AG_ENV_NAME_MAX + 1];
	int got;

	memset(env, 'Q', sizeof env);
	env[sizeof env - 1] = '\0';
	got = ag_access_repo_env(env, sizeof env, repo);
	if (got != want)
		print_error("ag_access_repo_env(%s): got %d, want %d\n", repo,
		    got, want);
	assert_int_equal(got, want);
	if (want)
		assert_string_equal(env, want_env);
}

static void
test_repo_env(void **state)
{
	char big[200], env[AG_ENV_NAME_MAX + 1], small[4];

	(void)state;
	expect_env("gitops-x-apps", 1, "x");
	expect_env("gitops-x-infra", 1, "x");
	expect_env("gitops-staging-apps", 1, "staging");
	expect_env("gitops-production-infra", 1, "production");
	expect_env("gitops-eu-west-apps", 1, "eu-west");
	expect_env("gitops-apps-apps", 1, "apps");
	expect_env("gitops-x-infra-apps", 1, "x-infra");
	expect_env("gitops--apps", 0, NULL);
	expect_env("gitops--infra", 0, NULL);
	expect_env("gitops-apps", 0, NULL);
	expect_env("gitops-infra", 0, NULL);
	expect_env("gitops-x", 0, NULL);
	expect_env("gitops-", 0, NULL);
	expect_env("gitops", 0, NULL);
	expect_env("", 0, NULL);
	expect_env("gitops-x-app", 0, NULL);
	expect_env("gitops-x-apps2", 0, NULL);
	expect_env("gitops-x-apps.git", 0, NULL);
	expect_env("gitops-xapps", 0, NULL);
	expect_env("ns/gitops-x-apps", 0, NULL);
	expect_env("gitops-x/y-apps", 0, NULL);
	expect_env("Gitops-x-apps", 0, NULL);
	expect_env("web", 0, NULL);
	/* An env too long for the buffer: not a gitops repo of a cut env. */
	snprintf(big, sizeof big, "gitops-%0*d-apps", 100, 0);
	memset(env, 0, sizeof env);
	assert_int_equal(ag_access_repo_env(env, sizeof env, big), 0);
	assert_int_equal(ag_access_repo_env(small, sizeof small,
	    "gitops-abcd-apps"), 0);
	assert_int_equal(ag_access_repo_env(small, sizeof small,
	    "gitops-abc-apps"), 1);
	assert_string_equal(small, "abc");
	/* 63 characters fit AG_ENV_NAME_MAX exactly. */
	snprintf(big, sizeof big, "gitops-%0*d-infra", AG_ENV_NAME_MAX, 7);
	assert_int_equal(ag_access_repo_env(env, sizeof env, big), 1);
	assert_int_equal(strlen(env), AG_ENV_NAME_MAX);
}

/* An env longer than AG_ENV_NAME_MAX can never be granted by a cut name. */
static void
test_long_env_not_truncated(void **state)
{
	char repo[200], env[AG_ENV_NAME_MAX + 1];
	struct ag_grant r;

	(void)state;
	memset(env, 'e', AG_ENV_NAME_MAX);
	env[AG_ENV_NAME_MAX] = '\0';
	r = grant(AG_ROLE_READ, NULL);
	snprintf(r.envs[0], sizeof r.envs[0], "%s", env);
	r.nenvs = 1;
	snprintf(repo, sizeof repo, "gitops-%s-apps", env);
	expect(&r, AG_OP_FETCH, repo, 1);
	snprintf(repo, sizeof repo, "gitops-%sX-apps", env);
	expect(&r, AG_OP_FETCH, repo, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix_staging),
		cmocka_unit_test(test_named_cases),
		cmocka_unit_test(test_role_may),
		cmocka_unit_test(test_no_repo),
		cmocka_unit_test(test_env_scopes),
		cmocka_unit_test(test_env_exact),
		cmocka_unit_test(test_repo_env),
		cmocka_unit_test(test_long_env_not_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the dashboard's session table (daemon/session.c), built
 * in with a clock the test turns and the token store stubbed: which
 * session a full token loses, expiry, sign-out, deleted tokens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/sha.h>

static time_t	test_now = 1700000000;
static int	token_gone;	/* auth_token_hash fails: the token was deleted */

static time_t
test_time(time_t *t)
{
	if (t != NULL)
		*t = test_now;
	return test_now;
}

#define time(t)	test_time(t)
#include "../../daemon/session.c"
#undef time

void
auth_hash(unsigned char out[32], const char *token)
{
	SHA256((const unsigned char *)token, strlen(token), out);
}

int
auth_token_hash(struct cred *c, const unsigned char h[32])
{
	(void)h;
	memset(c, 0, sizeof *c);
	if (token_gone)
		return -1;
	snprintf(c->name, sizeof c->name, "reader");
	return 0;
}

void
log_info(const char *fmt, ...)
{
	(void)fmt;
}

static int
alive(const char *id)
{
	struct session_view v;

	return session_get(&v, id) == 0;
}

static void
reset(void)
{
	memset(table, 0, sizeof table);
	test_now = 1700000000;
	token_gone = 0;
	session_set_ttl(SESSION_TTL_DEFAULT);
}

/*
 * A token at its SESSION_PER_TOKEN loses its oldest session, by creation,
 * even when a newer one sits in an earlier slot with the same expiry (all
 * in one second): the tie the whole-second expiry used to break wrongly.
 */
static void
test_oldest_goes_first(void **state)
{
	char first[SESSION_ID_LEN + 1], ids[SESSION_PER_TOKEN + 2][
	    SESSION_ID_LEN + 1];
	struct session_view v;
	int i;

	(void)state;
	reset();
	test_now -= 60;
	assert_int_equal(session_create(first, &v, "tok-r"), 0);
	test_now += 60;
	/* first is slot 0; these fill slots 1..31, then the 32nd takes 0. */
	for (i = 0; i < SESSION_PER_TOKEN; i++)
		assert_int_equal(session_create(ids[i], &v, "tok-r"), 0);
	assert_false(alive(first));
	assert_true(alive(ids[0]));
	assert_int_equal(session_count(), SESSION_PER_TOKEN);
	/* One more: ids[0] is the oldest, though ids[31] has a lower slot. */
	assert_int_equal(session_create(ids[SESSION_PER_TOKEN], &v, "tok-r"),
	    0);
	assert_false(alive(ids[0]));
	assert_true(alive(ids[1]));
	assert_true(alive(ids[SESSION_PER_TOKEN - 1]));
	assert_true(alive(ids[SESSION_PER_TOKEN]));
	assert_int_equal(session_count(), SESSION_PER_TOKEN);
}

/* Another token's sessions are never taken for a new sign-in. */
static void
test_tokens_apart(void **state)
{
	char a[SESSION_ID_LEN + 1], id[SESSION_ID_LEN + 1];
	struct session_view v;
	int i;

	(void)state;
	reset();
	assert_int_equal(session_create(a, &v, "tok-a"), 0);
	for (i = 0; i < SESSION_PER_TOKEN + 5; i++)
		assert_int_equal(session_create(id, &v, "tok-b"), 0);
	assert_true(alive(a));
	assert_int_equal(session_count(), SESSION_PER_TOKEN + 1);
}

/* Expiry, sign-out and a deleted token each end a session. */
static void
test_endings(void **state)
{
	char a[SESSION_ID_LEN + 1], b[SESSION_ID_LEN + 1];
	struct session_view v;

	(void)state;
	reset();
	session_set_ttl(10);
	assert_int_equal(session_create(a, &v, "tok-a"), 0);
	assert_int_equal(v.expires, test_now + 10);
	assert_int_equal(session_create(b, &v, "tok-a"), 0);
	assert_true(session_csrf_ok(&v, v.csrf));
	assert_false(session_csrf_ok(&v, "x"));
	session_end(b);
	assert_false(alive(b));
	test_now += 9;
	assert_true(alive(a));
	test_now += 1;
	assert_false(alive(a));
	assert_int_equal(session_count(), 0);

	assert_int_equal(session_create(a, &v, "tok-a"), 0);
	token_gone = 1;
	assert_false(alive(a));
	token_gone = 0;
	assert_false(alive(a));		/* it ended, not only failed once */
	assert_false(alive("short"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oldest_goes_first),
		cmocka_unit_test(test_tokens_apart),
		cmocka_unit_test(test_endings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

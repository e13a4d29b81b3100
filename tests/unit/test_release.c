/* Unit tests of the release engine's input rules (src/release.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auger/release.h"

static void
test_app_names(void **state)
{
	static const char *const good[] = {
		"web", "a", "web-2", "flux2", "fluxx", "readmes", "my-readme",
		"x123456789012345678901234567890123456789012345678901234567890ab",
		NULL
	};
	static const char *const reserved[] = {
		"flux", "FLUX", "Flux", "readme", "README", "ReadMe",
		"README.md", "readme.txt", ".git", ".auger", ".gimlet", ".",
		"..", NULL
	};
	static const char *const bad[] = {
		"", "Web", "web_1", "-web", "web-", "a/b", "web.", "a b",
		"x123456789012345678901234567890123456789012345678901234567890abc",
		NULL
	};
	const char *const *p;
	struct ag_err err;

	for (p = good; *p != NULL; p++) {
		ag_err_clear(&err);
		if (ag_release_app_check(*p, &err) != 0)
			fail_msg("\"%s\" refused: %s", *p, err.msg);
	}
	for (p = reserved; *p != NULL; p++) {
		ag_err_clear(&err);
		assert_int_equal(ag_release_app_check(*p, &err), AG_EINVAL);
		assert_int_equal(err.code, AG_EINVAL);
		if (strstr(err.msg, "is reserved: " AG_RELEASE_RESERVED_RULE) ==
		    NULL)
			fail_msg("\"%s\": %s", *p, err.msg);
		assert_true(ag_release_app_reserved(*p));
	}
	for (p = bad; *p != NULL; p++) {
		ag_err_clear(&err);
		assert_int_equal(ag_release_app_check(*p, &err), AG_EINVAL);
		assert_null(strstr(err.msg, "reserved"));
	}
	ag_err_clear(&err);
	assert_int_equal(ag_release_app_check(NULL, &err), AG_EINVAL);
}

static void
test_status_len(void **state)
{
	char s[AG_RELEASE_STATUS_MAX + 64];
	size_t i;

	assert_int_equal(ag_release_status_len(""), 0);
	assert_int_equal(ag_release_status_len("Progressing"), 11);
	/* ASCII: cut at the limit. */
	memset(s, 'a', sizeof s - 1);
	s[sizeof s - 1] = '\0';
	assert_int_equal(ag_release_status_len(s), AG_RELEASE_STATUS_MAX);
	/* Exactly the limit is kept whole. */
	s[AG_RELEASE_STATUS_MAX] = '\0';
	assert_int_equal(ag_release_status_len(s), AG_RELEASE_STATUS_MAX);
	/* "x" then two-byte characters: the limit falls inside one. */
	s[0] = 'x';
	for (i = 1; i + 1 < sizeof s - 1; i += 2) {
		s[i] = (char)0xc3;
		s[i + 1] = (char)0xa9;
	}
	s[i] = '\0';
	assert_int_equal(ag_release_status_len(s), AG_RELEASE_STATUS_MAX - 1);
	/* A four-byte character across the limit goes whole. */
	memset(s, 'a', sizeof s - 1);
	s[sizeof s - 1] = '\0';
	memcpy(s + AG_RELEASE_STATUS_MAX - 2, "\xf0\x9f\x98\x80", 4);
	assert_int_equal(ag_release_status_len(s), AG_RELEASE_STATUS_MAX - 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_names),
		cmocka_unit_test(test_status_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

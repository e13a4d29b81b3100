/*
 * Fuzzes git fsck's object checks (src/fsck.c). The first byte picks what
 * the rest is: 0 a tree, 1 a commit, 2 a tag, 3 a .gitmodules text, 4 a
 * .gitattributes text, 5 a path component for ag_fsck_is_dotgit; higher
 * values wrap. A tree's remembered .gitmodules blobs are then read back
 * as its own bytes, so the tree and the config parser meet. Every refusal
 * must be one printable line "<msgId>: ...".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auger/fsck.h"

#define FUZZ_MAX_INPUT	(2 * 1024 * 1024)

struct blob {
	const uint8_t	*data;
	size_t		 len;
	int		 calls;
};

static int
read_blob(void *arg, const git_oid *id, const void **data, size_t *len)
{
	struct blob *b = arg;

	(void)id;
	/* Answer each way once: the bytes, "not here", "not a blob". */
	switch (b->calls++ % 3) {
	case 0:
		*data = b->data;
		*len = b->len;
		return 0;
	case 1:
		return 1;
	default:
		return 2;
	}
}

/* A refusal is AG_EINVAL with a one-line message led by a msgId. */
static void
check_result(int r, const struct ag_err *err)
{
	size_t i;

	if (r == 0) {
		if (err->code != 0)
			abort();
		return;
	}
	if (r != AG_EINVAL || err->code != r || err->msg[0] == '\0')
		abort();
	for (i = 0; err->msg[i] != '\0'; i++)
		if ((unsigned char)err->msg[i] < 0x20 ||
		    (unsigned char)err->msg[i] >= 0x7f)
			abort();
	for (i = 0; err->msg[i] >= 'a' && err->msg[i] <= 'z'; i++)
		;
	if (i == 0)
		abort();
	for (; (err->msg[i] >= 'a' && err->msg[i] <= 'z') ||
	    (err->msg[i] >= 'A' && err->msg[i] <= 'Z') ||
	    (err->msg[i] >= '0' && err->msg[i] <= '9'); i++)
		;
	if (err->msg[i] != ':' || err->msg[i + 1] != ' ')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const git_object_t types[] = {
		GIT_OBJECT_TREE, GIT_OBJECT_COMMIT, GIT_OBJECT_TAG
	};
	struct ag_err err = { 0, "" };
	struct ag_fsck *f = NULL;
	struct blob b;
	git_oid id;
	const uint8_t *p;
	size_t n;
	int sel, r, dot;
	uint8_t *copy;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	sel = data[0] % 6;
	/* A copy of exactly the bytes: overreads show under ASan. */
	n = size - 1;
	if ((copy = malloc(n ? n : 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, n);
	p = copy;
	memset(&id, 0x5a, sizeof id);
	switch (sel) {
	case 0:
	case 1:
	case 2:
		if (ag_fsck_new(&f) < 0)
			break;
		r = ag_fsck_object(f, &id, types[sel], p, n, &err);
		check_result(r, &err);
		if (r == 0 && sel == 0) {
			b.data = p;
			b.len = n;
			b.calls = 0;
			r = ag_fsck_finish(f, read_blob, &b, &err);
			check_result(r, &err);
			if (r == 0 && ag_fsck_pending(f) != 0)
				abort();
		}
		ag_fsck_free(f);
		break;
	case 3:
		check_result(ag_fsck_gitmodules(p, n, &id, &err), &err);
		break;
	case 4:
		check_result(ag_fsck_gitattributes(p, n, &id, &err), &err);
		break;
	default:
		dot = ag_fsck_is_dotgit((const char *)p, n);
		/* Case never matters to the answer. */
		if (n == 4 && (p[0] == '.') && (p[1] | 0x20) == 'g' &&
		    (p[2] | 0x20) == 'i' && (p[3] | 0x20) == 't' && !dot)
			abort();
		(void)ag_fsck_is_dotgitmodules((const char *)p, n);
		break;
	}
	free(copy);
	return 0;
}

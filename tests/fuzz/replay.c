/*
 * Replays a fuzz corpus through LLVMFuzzerTestOneInput without libFuzzer,
 * so the checked-in inputs run as an ordinary test (make test-unit).
 *
 *   fuzz_pkt-replay [DIR|FILE]...
 *
 * With no arguments it reads tests/fuzz/corpus/<name>, <name> being the
 * program's base name without "-replay"; run it from the repository root.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The largest input replayed; libFuzzer's default -max_len is far less. */
#define REPLAY_MAX	(16 * 1024 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int
replay_file(const char *path, size_t *count)
{
	struct stat sb;
	uint8_t *buf = NULL;
	size_t n = 0;
	FILE *f;
	int r = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &sb) < 0 || sb.st_size > REPLAY_MAX) {
		fprintf(stderr, "replay: %s: unreadable or too large\n", path);
		goto out;
	}
	/* One spare byte so that an empty input is a valid pointer. */
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		goto out;
	}
	n = fread(buf, 1, (size_t)sb.st_size, f);
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, n);
	(*count)++;
	r = 0;
out:
	free(buf);
	fclose(f);
	return r;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file in dir, in name order (no recursion). */
static int
replay_dir(const char *dir, size_t *count)
{
	struct dirent *de;
	struct stat sb;
	char **v = NULL, **nv, *p;
	size_t n = 0, cap = 0, i;
	int r = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0) {
			r = -1;
			break;
		}
		if (stat(p, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			free(p);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof *nv)) == NULL) {
				free(p);
				r = -1;
				break;
			}
			v = nv;
		}
		v[n++] = p;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof *v, cmpstr);
	for (i = 0; i < n; i++) {
		if (r == 0 && replay_file(v[i], count) < 0)
			r = -1;
		free(v[i]);
	}
	free(v);
	return r;
}

static int
replay_path(const char *path, size_t *count)
{
	struct stat sb;

	if (stat(path, &sb) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return S_ISDIR(sb.st_mode) ? replay_dir(path, count) :
	    replay_file(path, count);
}

int
main(int argc, char **argv)
{
	char name[256], dflt[512];
	const char *base, *suffix = "-replay";
	size_t count = 0, len;
	int i, r = 0;

	base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	snprintf(name, sizeof name, "%s", base);
	len = strlen(name);
	if (len > strlen(suffix) &&
	    strcmp(name + len - strlen(suffix), suffix) == 0)
		name[len - strlen(suffix)] = '\0';
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		snprintf(dflt, sizeof dflt, "tests/fuzz/corpus/%s", name);
		r = replay_path(dflt, &count);
	} else {
		for (i = 1; i < argc && r == 0; i++)
			r = replay_path(argv[i], &count);
	}
	if (r < 0) {
		fprintf(stderr, "replay %s: failed after %zu inputs\n", name,
		    count);
		return 1;
	}
	printf("replay %s: %zu inputs ok\n", name, count);
	return 0;
}

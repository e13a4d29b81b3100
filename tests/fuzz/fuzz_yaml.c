/*
 * Fuzzes the YAML loader and dumper (src/yaml.c). Whatever loads must dump,
 * and the dump must load back to the same JSON: the emitter's quoting and
 * the loader's typing agree. The single-document loader runs too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auger/yaml.h"

#define FUZZ_MAX_INPUT	(256 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ag_err err = { 0, "" };
	json_t *docs = NULL, *back = NULL, *one = NULL;
	char *out = NULL, *out2 = NULL;
	size_t outlen = 0, outlen2 = 0;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (ag_yaml_load(&one, (const char *)data, size, "fuzz", &err) == 0) {
		ag_err_clear(&err);
		if (ag_yaml_dump(&out, &outlen, one, &err) == 0) {
			if (ag_yaml_load(&back, out, outlen, "dump",
			    &err) != 0 ||
			    !json_equal(one, back)) {
				fprintf(stderr, "single round trip: %s\n%s\n",
				    err.msg, out);
				abort();
			}
			json_decref(back);
			back = NULL;
		}
		free(out);
		out = NULL;
	} else if (err.msg[0] == '\0')
		abort();	/* every failure says why */
	ag_err_clear(&err);
	if (ag_yaml_load_all(&docs, (const char *)data, size, "fuzz",
	    &err) != 0)
		goto out;
	if (ag_yaml_dump_all(&out, &outlen, docs, &err) != 0)
		goto out;	/* e.g. over the output cap */
	ag_err_clear(&err);
	if (ag_yaml_load_all(&back, out, outlen, "dump", &err) != 0 ||
	    !json_equal(docs, back)) {
		fprintf(stderr, "round trip: %s\n%s\n", err.msg, out);
		abort();
	}
	/* deterministic: the same tree dumps to the same bytes */
	if (ag_yaml_dump_all(&out2, &outlen2, back, &err) != 0 ||
	    outlen2 != outlen || memcmp(out, out2, outlen) != 0)
		abort();
out:
	free(out);
	free(out2);
	json_decref(one);
	json_decref(docs);
	json_decref(back);
	return 0;
}

/* YAML <-> jansson with libyaml: bounded loading, deterministic dumping. */
#ifndef AUGER_YAML_H
#define AUGER_YAML_H

#include <stddef.h>

#include <jansson.h>

#include "auger/err.h"

/* Nesting of sequences and mappings, counted from 1 at the root. */
#define AG_YAML_MAX_DEPTH	64
/* Scalars (mapping keys included), sequences and mappings in one call. */
#define AG_YAML_MAX_NODES	100000
/* Bytes of YAML text accepted. */
#define AG_YAML_MAX_INPUT	(8 * 1024 * 1024)
/* Bytes of YAML text written by one dump. */
#define AG_YAML_MAX_OUTPUT	(64 * 1024 * 1024)

/*
 * Parses one YAML document into JSON: mappings become objects (document
 * order), sequences arrays. Plain scalars resolve like Go's yaml.v3, the
 * parser behind Gimlet, Flux and kubectl's tooling: null (~, null, empty),
 * true/false, integers (decimal, 0x, 0o, 0b and 0777-style octal,
 * underscores ignored), floats; anything else, and every quoted or block
 * scalar, is a string. .inf and .nan are refused (JSON has no such
 * numbers), as are anchors, aliases, merge keys (<<), duplicate keys,
 * non-scalar keys and tags other than the standard ones. Errors read
 * "FILE:LINE:COL: what" (filename NULL reads "<input>"). An empty input
 * is json null; more than one document is an error.
 */
int	ag_yaml_load(json_t **out, const char *text, size_t len,
	    const char *filename, struct ag_err *err);
/*
 * Every document of a stream, as a JSON array; documents that are empty
 * or null are skipped. The limits hold for the whole stream.
 */
int	ag_yaml_load_all(json_t **out, const char *text, size_t len,
	    const char *filename, struct ag_err *err);

/*
 * Emits doc as block-style YAML through libyaml's emitter: keys in object
 * iteration order, multi-line strings as literal blocks, and strings that
 * a YAML 1.1 or 1.2 reader could take for another type ("true", "yes",
 * "1", "0777", "1.0", "", "null", ...) double-quoted; libyaml itself
 * quotes what cannot be plain (": ", leading "-", ...). Same input, same
 * bytes. *out is malloc'd and NUL-terminated; outlen may be NULL.
 */
int	ag_yaml_dump(char **out, size_t *outlen, const json_t *doc,
	    struct ag_err *err);
/* Each element of the array docs as a document starting with "---". */
int	ag_yaml_dump_all(char **out, size_t *outlen, const json_t *docs,
	    struct ag_err *err);

#endif

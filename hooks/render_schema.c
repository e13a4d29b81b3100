/*
 * OneChart 0.74.0's values.schema.json (gimlet-io/onechart, commit
 * e041bb4, Apache-2.0; titles, descriptions and examples left out) and the
 * part of JSON Schema draft-07 it uses: type, required, properties, items,
 * anyOf, minimum, maximum, pattern, enum. Messages are those of helm's
 * validator (gojsonschema), so a refusal reads as helm's does.
 */
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "render.h"

/* Errors listed in one refusal; the rest are counted. */
#define RENDER_SCHEMA_MAX_ERRORS	8

static const char render_schema_text[] =
	"{\"type\":\"object\",\"required\":[],\"properties\":{\"image\":{\"type\""
	":\"object\",\"required\":[],\"properties\":{\"repository\":{\"type\":\""
	"string\"},\"tag\":{\"type\":\"string\"}}},\"initContainers\":{\"type\":"
	"\"array\",\"items\":{\"type\":\"object\",\"anyOf\":[{\"type\":\"object\",\""
	"properties\":{\"name\":{\"type\":\"string\"},\"image\":{\"type\":\"strin"
	"g\"},\"tag\":{\"type\":\"string\"},\"imagePullPolicy\":{\"type\":\"strin"
	"g\"},\"command\":{\"type\":\"string\"}},\"required\":[\"name\",\"image\","
	"\"tag\"]}]}},\"imagePullSecrets\":{\"type\":\"array\",\"items\":{\"type"
	"\":\"string\"}},\"replicas\":{\"type\":\"integer\",\"minimum\":0,\"maxim"
	"um\":16},\"podDisruptionBudgetEnabled\":{\"type\":\"boolean\"},\"spr"
	"eadAcrossNodes\":{\"type\":\"boolean\"},\"nameOverride\":{\"type\":\"s"
	"tring\"},\"fullnameOverride\":{\"type\":\"string\"},\"podAnnotations"
	"\":{\"type\":\"object\",\"required\":[],\"additionalProperties\":true"
	"},\"podLabels\":{\"type\":\"object\",\"required\":[],\"additionalProp"
	"erties\":true},\"name\":{\"type\":\"string\"},\"ownerName\":{\"type\":\""
	"string\"},\"ownerIm\":{\"type\":\"string\"},\"documentation\":{\"type\""
	":\"string\"},\"logs\":{\"type\":\"string\"},\"metrics\":{\"type\":\"strin"
	"g\"},\"issues\":{\"type\":\"string\"},\"traces\":{\"type\":\"string\"},\"g"
	"itSha\":{\"type\":\"string\"},\"gitRepository\":{\"type\":\"string\"},\""
	"podSecurityContext\":{\"type\":\"object\",\"required\":[\"fsGroup\"],"
	"\"properties\":{\"fsGroup\":{\"type\":\"integer\"}},\"additionalPrope"
	"rties\":true},\"securityContext\":{\"type\":\"object\",\"required\":["
	"],\"additionalProperties\":true},\"containerPort\":{\"type\":\"inte"
	"ger\"},\"resources\":{\"type\":\"object\",\"required\":[],\"properties"
	"\":{\"ignore\":{\"type\":\"boolean\"},\"ignoreLimits\":{\"type\":\"boole"
	"an\"},\"requests\":{\"type\":\"object\",\"required\":[\"cpu\",\"memory\"]"
	",\"properties\":{\"cpu\":{\"type\":\"string\"},\"memory\":{\"type\":\"str"
	"ing\"}}},\"limits\":{\"type\":\"object\",\"required\":[\"cpu\",\"memory\""
	"],\"properties\":{\"cpu\":{\"type\":\"string\"},\"memory\":{\"type\":\"st"
	"ring\"}}}}},\"nodeSelector\":{\"type\":\"object\",\"required\":[],\"ad"
	"ditionalProperties\":true},\"tolerations\":{\"type\":\"array\",\"ite"
	"ms\":{}},\"affinity\":{\"type\":\"object\",\"required\":[],\"additiona"
	"lProperties\":true},\"probe\":{\"type\":\"object\",\"required\":[\"ena"
	"bled\",\"path\"],\"properties\":{\"enabled\":{\"type\":\"boolean\"},\"pa"
	"th\":{\"type\":\"string\"},\"settings\":{\"type\":\"object\",\"propertie"
	"s\":{\"initialDelaySeconds\":{\"type\":\"integer\",\"minimum\":0,\"max"
	"imum\":180},\"periodSeconds\":{\"type\":\"integer\",\"minimum\":1,\"ma"
	"ximum\":60},\"successThreshold\":{\"type\":\"integer\",\"minimum\":1,"
	"\"maximum\":15},\"timeoutSeconds\":{\"type\":\"integer\",\"minimum\":1"
	",\"maximum\":30},\"failureThreshold\":{\"type\":\"integer\",\"minimum"
	"\":1,\"maximum\":15}}}}},\"livenessProbe\":{\"type\":\"object\",\"requ"
	"ired\":[\"enabled\",\"path\"],\"properties\":{\"enabled\":{\"type\":\"bo"
	"olean\"},\"path\":{\"type\":\"string\"},\"settings\":{\"type\":\"object\""
	",\"properties\":{\"initialDelaySeconds\":{\"type\":\"integer\",\"mini"
	"mum\":0,\"maximum\":180},\"periodSeconds\":{\"type\":\"integer\",\"min"
	"imum\":1,\"maximum\":60},\"successThreshold\":{\"type\":\"integer\",\""
	"minimum\":1,\"maximum\":15},\"timeoutSeconds\":{\"type\":\"integer\","
	"\"minimum\":1,\"maximum\":30},\"failureThreshold\":{\"type\":\"intege"
	"r\",\"minimum\":1,\"maximum\":15}}}}},\"secretName\":{\"type\":\"strin"
	"g\"},\"secret\":{\"type\":\"object\",\"required\":[\"enabled\"],\"proper"
	"ties\":{\"enabled\":{\"type\":\"boolean\"}},\"additionalProperties\":"
	"true},\"shell\":{\"type\":\"string\"},\"vars\":{\"type\":\"object\",\"req"
	"uired\":[],\"properties\":{},\"additionalProperties\":true},\"seal"
	"edSecrets\":{\"type\":\"object\",\"required\":[],\"properties\":{},\"a"
	"dditionalProperties\":true},\"ingress\":{\"type\":\"object\",\"requi"
	"red\":[],\"properties\":{\"host\":{\"type\":\"string\",\"pattern\":\"^[a"
	"-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?"
	")*$\"},\"tlsEnabled\":{\"type\":\"boolean\"},\"nginxBasicAuth\":{\"typ"
	"e\":\"object\",\"required\":[],\"properties\":{\"user\":{\"type\":\"stri"
	"ng\"},\"password\":{\"type\":\"string\"}}},\"annotations\":{\"type\":\"o"
	"bject\",\"additionalProperties\":true}}},\"existingFileSecrets\":"
	"{\"type\":\"array\",\"items\":{\"type\":\"object\",\"anyOf\":[{\"type\":\"o"
	"bject\",\"properties\":{\"name\":{\"type\":\"string\"},\"path\":{\"type\""
	":\"string\"},\"subPath\":{\"type\":\"string\"}},\"required\":[\"name\",\""
	"path\"]}]}},\"volumes\":{\"type\":\"array\",\"items\":{\"type\":\"object"
	"\",\"anyOf\":[{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"st"
	"ring\"},\"path\":{\"type\":\"string\"},\"size\":{\"type\":\"string\"},\"st"
	"orageClass\":{\"type\":\"string\"},\"pvcAnnotations\":{\"type\":\"obje"
	"ct\",\"additionalProperties\":true}},\"required\":[\"name\",\"path\","
	"\"size\"]},{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"stri"
	"ng\"},\"existingClaim\":{\"type\":\"string\"},\"path\":{\"type\":\"strin"
	"g\"}},\"required\":[\"name\",\"path\",\"existingClaim\"]},{\"type\":\"ob"
	"ject\",\"properties\":{\"name\":{\"type\":\"string\"},\"hostPath\":{\"ty"
	"pe\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"type\":{"
	"\"type\":\"string\",\"enum\":[\"DirectoryOrCreate\",\"Directory\",\"Fil"
	"eOrCreate\",\"File\",\"Socket\",\"CharDevice\",\"BlockDevice\"]}},\"re"
	"quired\":[\"path\"]},\"path\":{\"type\":\"string\"}},\"required\":[\"nam"
	"e\",\"path\",\"hostPath\"]},{\"type\":\"object\",\"properties\":{\"name\""
	":{\"type\":\"string\"},\"emptyDir\":{\"type\":\"boolean\"},\"path\":{\"ty"
	"pe\":\"string\"}},\"required\":[\"name\",\"emptyDir\",\"path\"]},{\"type"
	"\":\"object\",\"properties\":{\"existingConfigMap\":{\"type\":\"string"
	"\"},\"path\":{\"type\":\"string\"},\"subPath\":{\"type\":\"string\"}},\"re"
	"quired\":[\"existingConfigMap\",\"path\"]},{\"type\":\"object\",\"prop"
	"erties\":{\"fileName\":{\"type\":\"string\"},\"fileContent\":{\"type\":"
	"\"string\"},\"path\":{\"type\":\"string\"}},\"required\":[\"fileName\",\""
	"fileContent\",\"path\"]},{\"type\":\"object\",\"properties\":{\"existi"
	"ngSecret\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"},\"subPat"
	"h\":{\"type\":\"string\"}},\"required\":[\"existingSecret\",\"path\"]}]"
	"}}},\"additionalProperties\":true}";

struct render_schema_ctx {
	char	 msg[AG_ERR_MSG_MAX];
	size_t	 len;
	int	 nerr;
	int	 oom;
	int	 score;		/* checks passed: picks anyOf's closest */
	int	 nerrs;		/* entries of errs */
	struct {
		char	path[256];
		char	text[512];
	} errs[RENDER_SCHEMA_MAX_ERRORS];
};

static void
render_schema_add(struct render_schema_ctx *c, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
render_schema_add(struct render_schema_ctx *c, const char *path,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->nerrs < RENDER_SCHEMA_MAX_ERRORS) {
		snprintf(c->errs[c->nerrs].path, sizeof c->errs[0].path, "%s",
		    path);
		va_start(ap, fmt);
		vsnprintf(c->errs[c->nerrs].text, sizeof c->errs[0].text, fmt,
		    ap);
		va_end(ap);
		c->nerrs++;
	}
	if (c->nerr++ >= RENDER_SCHEMA_MAX_ERRORS || c->len >= sizeof c->msg)
		return;
	n = snprintf(c->msg + c->len, sizeof c->msg - c->len, "%s%s: ",
	    c->len > 0 ? "; " : "", *path != '\0' ? path : "(root)");
	if (n > 0)
		c->len += (size_t)n;
	if (c->len >= sizeof c->msg) {
		c->len = sizeof c->msg;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(c->msg + c->len, sizeof c->msg - c->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->len += (size_t)n;
	if (c->len > sizeof c->msg)
		c->len = sizeof c->msg;
}

/* gojsonschema's name of a value's type: integral numbers are integers. */
static const char *
render_schema_type_of(const json_t *v)
{
	double d;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		d = json_real_value(v);
		return d == (double)(long long)d ? "integer" : "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "null";
	}
}

static int
render_schema_type_ok(const char *want, const char *given)
{
	return strcmp(want, given) == 0 ||
	    (strcmp(want, "number") == 0 && strcmp(given, "integer") == 0);
}

static void	render_schema_walk(struct render_schema_ctx *,
		    const json_t *, const json_t *, const char *, int);

static void
render_schema_walk(struct render_schema_ctx *c, const json_t *s,
    const json_t *v, const char *path, int depth)
{
	const json_t *t, *x, *sub, *e;
	const char *k, *given;
	char p[512], allowed[256];
	size_t i, n;
	regex_t re;
	int ok, before;

	if (!json_is_object(s) || depth > 32)
		return;
	given = render_schema_type_of(v);
	if ((t = json_object_get(s, "type")) != NULL && json_is_string(t) &&
	    !render_schema_type_ok(json_string_value(t), given)) {
		render_schema_add(c, path, "Invalid type. Expected: %s, "
		    "given: %s", json_string_value(t), given);
		return;
	}
	c->score++;
	if ((x = json_object_get(s, "anyOf")) != NULL && json_is_array(x)) {
		struct render_schema_ctx *trial, *best = NULL;
		int j;

		ok = 0;
		if ((trial = calloc(2, sizeof *trial)) == NULL) {
			c->oom = 1;
			return;
		}
		json_array_foreach(x, i, sub) {
			memset(&trial[0], 0, sizeof trial[0]);
			render_schema_walk(&trial[0], sub, v, path, depth + 1);
			if (trial[0].nerr == 0) {
				ok = 1;
				break;
			}
			/* gojsonschema: the first with the best score */
			if (best == NULL || trial[0].score > best->score) {
				trial[1] = trial[0];
				best = &trial[1];
			}
		}
		if (!ok) {
			render_schema_add(c, path, "Must validate at least one "
			    "schema (anyOf)");
			for (j = 0; best != NULL && j < best->nerrs; j++)
				render_schema_add(c, best->errs[j].path, "%s",
				    best->errs[j].text);
		}
		free(trial);
	}
	if (json_is_object(v)) {
		json_array_foreach(json_object_get(s, "required"), i, x)
			if (json_is_string(x) && json_object_get(v,
			    json_string_value(x)) == NULL)
				render_schema_add(c, path, "%s is required",
				    json_string_value(x));
			else
				c->score++;
		json_object_foreach((json_t *)(uintptr_t)json_object_get(s,
		    "properties"), k, sub) {
			if ((x = json_object_get(v, k)) == NULL)
				continue;
			snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "",
			    k);
			render_schema_walk(c, sub, x, p, depth + 1);
		}
	}
	if (json_is_array(v) && json_is_object(sub = json_object_get(s,
	    "items")))
		json_array_foreach(v, i, x) {
			snprintf(p, sizeof p, "%s%s%zu", path, *path ? "." : "",
			    i);
			render_schema_walk(c, sub, x, p, depth + 1);
		}
	if (json_is_number(v)) {
		if ((x = json_object_get(s, "minimum")) != NULL &&
		    json_number_value(v) < json_number_value(x))
			render_schema_add(c, path, "Must be greater than or "
			    "equal to %g", json_number_value(x));
		if ((x = json_object_get(s, "maximum")) != NULL &&
		    json_number_value(v) > json_number_value(x))
			render_schema_add(c, path, "Must be less than or "
			    "equal to %g", json_number_value(x));
	}
	if (json_is_string(v) && json_is_string(x = json_object_get(s,
	    "pattern"))) {
		if (regcomp(&re, json_string_value(x), REG_EXTENDED |
		    REG_NOSUB) != 0) {
			c->oom = 1;
			return;
		}
		if (regexec(&re, json_string_value(v), 0, NULL, 0) != 0)
			render_schema_add(c, path, "Does not match pattern "
			    "'%s'", json_string_value(x));
		regfree(&re);
	}
	if ((x = json_object_get(s, "enum")) != NULL && json_is_array(x)) {
		ok = 0;
		allowed[0] = '\0';
		n = 0;
		json_array_foreach(x, i, e) {
			if (json_equal(e, v))
				ok = 1;
			before = snprintf(allowed + n, sizeof allowed - n,
			    "%s\"%s\"", i ? ", " : "", json_is_string(e) ?
			    json_string_value(e) : "?");
			if (before > 0 && n + (size_t)before < sizeof allowed)
				n += (size_t)before;
		}
		if (!ok)
			render_schema_add(c, path, "%s must be one of the "
			    "following: %s", *path ? path : "(root)", allowed);
	}
}

int
render_schema_check(const json_t *values, struct ag_err *err)
{
	struct render_schema_ctx c;
	json_error_t je;
	json_t *schema;

	if ((schema = json_loads(render_schema_text, 0, &je)) == NULL)
		return ag_err_set(err, AG_EINTERNAL, "render: the built-in "
		    "OneChart schema does not parse: %s", je.text);
	memset(&c, 0, sizeof c);
	render_schema_walk(&c, schema, values, "", 0);
	json_decref(schema);
	if (c.oom)
		return ag_err_set(err, AG_EINTERNAL,
		    "render: a pattern of the OneChart schema does not compile");
	if (c.nerr == 0)
		return 0;
	return ag_err_set(err, AG_EINVAL, "values don't meet the "
	    "specifications of OneChart 0.74.0's values.schema.json: %s%s",
	    c.msg, c.nerr > RENDER_SCHEMA_MAX_ERRORS ? "; ..." : "");
}

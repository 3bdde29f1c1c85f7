/* AdmissionReview bytes → the webhook's answer. Whatever the bytes: no crash, no leak;
 * a 200 answer is a JSON AdmissionReview that echoes the request's uid; any patch in it
 * applies cleanly to the pod that was sent; and every input that is a JSON
 * AdmissionReview v1 with a usable uid gets a 200 (allowed), never a 400. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonpatch/jsonpatch.h"
#include "lib/text/base64.h"
#include "webhook/admission.h"
#include "webhook/review.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The namespaces and Instrumentations the lookup serves (those of the unit fixtures, so
 * the seed corpus reaches every outcome). */
static const char cluster_json[] =
	"{\"namespaces\":{\"shop\":{\"autotrace.dev/inject\":\"true\"},\"plain\":{},"
	"\"multi\":{\"autotrace.dev/inject\":\"true\"},\"nodes\":{\"autotrace.dev/inject\":"
	"\"node-wide\"},\"otel\":{},\"bad\":{},\"kube-system\":{\"autotrace.dev/inject\":\"true\"}},"
	"\"instrumentations\":["
	"{\"metadata\":{\"namespace\":\"shop\",\"name\":\"default\"},\"spec\":{\"exporter\":"
	"{\"endpoint\":\"http://c:4318\",\"protocol\":\"http/protobuf\",\"timeout\":\"10s\"},"
	"\"sampler\":{\"type\":\"parentbased_traceidratio\",\"ratio\":0.25},\"propagators\":"
	"[\"tracecontext\",\"baggage\"],\"resourceAttributes\":{\"env\":\"prod eu,west\"},"
	"\"agent\":{\"image\":\"agent:1\"}}},"
	"{\"metadata\":{\"namespace\":\"plain\",\"name\":\"traces\"},\"spec\":{\"agent\":"
	"{\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}}}},"
	"{\"metadata\":{\"namespace\":\"multi\",\"name\":\"a\"},\"spec\":{}},"
	"{\"metadata\":{\"namespace\":\"multi\",\"name\":\"b\"},\"spec\":{}},"
	"{\"metadata\":{\"namespace\":\"nodes\",\"name\":\"node-wide\"},\"spec\":{\"agent\":"
	"{\"mode\":\"node\"}}},"
	"{\"metadata\":{\"namespace\":\"otel\",\"name\":\"otel-go\"},\"spec\":{\"targets\":"
	"{\"containerNames\":[\"worker\"],\"executable\":\"/bin/w\"}}},"
	"{\"metadata\":{\"namespace\":\"bad\",\"name\":\"broken\"},\"spec\":{\"sampler\":"
	"{\"type\":\"sometimes\"}}}]}";

static json_t *cluster;

static int ns_annotations(void *ud, const char *ns, json_t **ret)
{
	json_t *a = json_object_get(json_object_get(cluster, "namespaces"), ns);

	if (!a)
		return -ENOENT;
	*ret = json_incref(a);
	return 0;
}

static int same_ns(const json_t *cr, const char *ns)
{
	const char *n = json_string_value(json_object_get(json_object_get(cr, "metadata"),
							  "namespace"));
	return n && strcmp(n, ns) == 0;
}

static int list_instrumentations(void *ud, const char *ns, json_t **ret)
{
	json_t *all = json_object_get(cluster, "instrumentations"), *out = json_array();

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(all); i++)
		if (same_ns(json_array_get(all, i), ns))
			json_array_append(out, json_array_get(all, i));
	*ret = out;
	return 0;
}

static int get_instrumentation(void *ud, const char *ns, const char *name, json_t **ret)
{
	json_t *all = json_object_get(cluster, "instrumentations");

	for (size_t i = 0; i < json_array_size(all); i++) {
		json_t *cr = json_array_get(all, i);
		const char *n = json_string_value(
			json_object_get(json_object_get(cr, "metadata"), "name"));

		if (same_ns(cr, ns) && n && strcmp(n, name) == 0) {
			*ret = json_incref(cr);
			return 0;
		}
	}
	return -ENOENT;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	cluster = json_loads(cluster_json, 0, NULL);
	if (!cluster)
		abort();
	return 0;
}

/* The uid an AdmissionReview v1 carries, if the webhook must answer it; borrowed. */
static const char *answerable_uid(const json_t *review)
{
	const json_t *req = json_object_get(review, "request");
	const char *uid = json_string_value(json_object_get(req, "uid"));
	const char *api = json_string_value(json_object_get(review, "apiVersion"));
	const char *kind = json_string_value(json_object_get(review, "kind"));

	if (!uid || !uid[0] || strlen(uid) > REVIEW_MAX_UID || !api || !kind ||
	    strcmp(api, REVIEW_API_VERSION) != 0 || strcmp(kind, REVIEW_KIND) != 0 ||
	    !json_is_object(req))
		return NULL;
	for (const char *p = uid; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return NULL;
	return uid;
}

static json_t *decode_patch(const char *b64)
{
	unsigned char *raw = NULL;
	json_t *patch = NULL;
	size_t n;

	if (base64_decode(b64, &raw, &n) < 0)
		return NULL;
	patch = json_loadb((const char *)raw, n, 0, NULL);
	free(raw);
	return patch;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webhook_lookup lookup = { NULL, ns_annotations, list_instrumentations,
					 get_instrumentation };
	struct webhook_options opts;
	struct admission_outcome out = { 0 };
	json_t *input, *answer, *response, *patch, *patched = NULL;
	const char *uid = NULL, *b64;
	char err[256];

	webhook_options_init(&opts, "agent:default");
	opts.max_review_bytes = 1 << 20;
	if (webhook_admit(&opts, &lookup, (const char *)data, size, &out) < 0)
		return 0; /* out of memory: nothing was answered */

	input = size <= opts.max_review_bytes ?
			json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL) :
			NULL;
	uid = answerable_uid(input);
	if (uid && out.http_status != 200) {
		fprintf(stderr, "answerable review got HTTP %d: %s\n", out.http_status, out.body);
		abort();
	}
	if (out.http_status == 200) {
		answer = json_loadb(out.body, out.body_len, 0, NULL);
		response = json_object_get(answer, "response");
		if (!answer || !json_is_true(json_object_get(response, "allowed")) || !uid ||
		    strcmp(json_string_value(json_object_get(response, "uid")) ?: "", uid) != 0) {
			fprintf(stderr, "bad answer: %s\n", out.body);
			abort();
		}
		b64 = json_string_value(json_object_get(response, "patch"));
		if (b64) {
			const json_t *pod =
				json_object_get(json_object_get(input, "request"), "object");

			patch = decode_patch(b64);
			if (!patch || jsonpatch_apply(pod, patch, &patched, err, sizeof(err)) != 0) {
				fprintf(stderr, "patch does not apply: %s\n", err);
				abort();
			}
			json_decref(patched);
			json_decref(patch);
		}
		json_decref(answer);
	} else if (out.http_status != 400) {
		abort();
	}
	json_decref(input);
	admission_outcome_clear(&out);
	return 0;
}

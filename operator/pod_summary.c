#include "operator/pod_summary.h"

#include <errno.h>
#include <string.h>

#include "lib/instrumentation/optin.h"
#include "operator/usage.h"

/* Layout: one flag byte, then ns, recorded, inject and inject_otel, each ended by a
 * NUL (jansson strings carry their length, so embedded NULs are kept). */
enum { FLAG_BASE = 0x40, FLAG_INJECTED = 1, FLAG_RUNNING = 2, FLAG_READY = 4, FLAG_SIDECAR = 8 };
#define FIELDS 4
/* Longer than any valid "<ns>/<name>" (63 + 1 + 253): a value cut to this stays invalid. */
#define VALUE_MAX 320
/* What a non-string annotation value becomes: not a DNS name, so invalid. */
#define NOT_A_STRING "?"

static const json_t *meta_field(const json_t *pod, const char *map, const char *key)
{
	return json_object_get(json_object_get(json_object_get(pod, "metadata"), map), key);
}

static const char *annotation(const json_t *pod, const char *key)
{
	const json_t *v = meta_field(pod, "annotations", key);

	if (!v)
		return "";
	return json_is_string(v) ? json_string_value(v) : NOT_A_STRING;
}

/* 1, 0, or -1 when `statuses` has no entry for the agent container. */
static int agent_ready_in(const json_t *statuses)
{
	size_t i;
	const json_t *st;

	json_array_foreach(statuses, i, st) {
		const char *n = json_string_value(json_object_get(st, "name"));

		if (n && strcmp(n, AGENT_CONTAINER_NAME) == 0)
			return json_is_true(json_object_get(st, "ready")) ? 1 : 0;
	}
	return -1;
}

static int is_running(const json_t *pod)
{
	const char *phase =
		json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));

	if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
		return 0;
	return !phase || (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0);
}

/* A native sidecar is an init container: looked for there first. */
static int is_agent_ready(const json_t *pod)
{
	const json_t *status = json_object_get(pod, "status");
	int r = agent_ready_in(json_object_get(status, "initContainerStatuses"));

	if (r < 0)
		r = agent_ready_in(json_object_get(status, "containerStatuses"));
	return r > 0;
}

static int has_agent_container(const json_t *pod)
{
	static const char *const lists[] = { "initContainers", "containers" };
	const json_t *spec = json_object_get(pod, "spec"), *c;
	size_t i;

	for (size_t l = 0; l < 2; l++)
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			const char *n = json_string_value(json_object_get(c, "name"));

			if (n && strcmp(n, AGENT_CONTAINER_NAME) == 0)
				return 1;
		}
	return 0;
}

json_t *pod_summary_pack(const json_t *pod)
{
	const json_t *label = meta_field(pod, "labels", POD_LABEL_INJECTED);
	const char *ns = json_string_value(
		json_object_get(json_object_get(pod, "metadata"), "namespace"));
	const char *fields[FIELDS];
	char buf[1 + FIELDS * (VALUE_MAX + 1)];
	size_t len = 0;
	int flags = FLAG_BASE;

	if (!ns)
		return NULL;
	fields[0] = ns;
	fields[1] = annotation(pod, POD_ANNOTATION_INSTRUMENTATION);
	fields[2] = annotation(pod, ANNOTATION_INJECT);
	fields[3] = annotation(pod, ANNOTATION_OTEL_INJECT_GO);
	if (json_is_string(label) && strcmp(json_string_value(label), "true") == 0)
		flags |= FLAG_INJECTED;
	if (is_running(pod))
		flags |= FLAG_RUNNING;
	/* A pod of a node-mode Instrumentation has no sidecar: its agent is the node's. */
	if (has_agent_container(pod))
		flags |= FLAG_SIDECAR;
	if ((flags & FLAG_RUNNING) && is_agent_ready(pod))
		flags |= FLAG_READY;
	buf[len++] = (char)flags;
	for (int i = 0; i < FIELDS; i++) {
		size_t n = strnlen(fields[i], VALUE_MAX);

		memcpy(buf + len, fields[i], n);
		len += n;
		buf[len++] = '\0';
	}
	return json_stringn_nocheck(buf, len);
}

int pod_summary_unpack(const json_t *packed, struct pod_summary *ret)
{
	const char *s = json_string_value(packed), *p, *end;
	const char *fields[FIELDS];
	size_t len = json_string_length(packed);

	if (!s || len < 1 + FIELDS || ((unsigned char)s[0] & ~15u) != FLAG_BASE ||
	    s[len - 1] != '\0')
		return -EINVAL;
	p = s + 1;
	end = s + len;
	for (int i = 0; i < FIELDS; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));

		if (!nul)
			return -EINVAL;
		fields[i] = p;
		p = nul + 1;
	}
	if (p != end)
		return -EINVAL;
	*ret = (struct pod_summary){
		.injected = !!(s[0] & FLAG_INJECTED),
		.running = !!(s[0] & FLAG_RUNNING),
		.agent_ready = !!(s[0] & FLAG_READY),
		.sidecar = !!(s[0] & FLAG_SIDECAR),
		.ns = fields[0], .recorded = fields[1], .inject = fields[2],
		.inject_otel = fields[3],
	};
	return 0;
}

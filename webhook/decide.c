#include "webhook/decide.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "webhook/sidecar.h"

static void set_outcome(struct decision *d, enum admission_result result,
			enum admission_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set_outcome(struct decision *d, enum admission_result result,
			enum admission_reason reason, const char *fmt, ...)
{
	va_list ap;

	d->result = result;
	d->reason = reason;
	va_start(ap, fmt);
	vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
	va_end(ap);
	/* Users' values end up in here: keep it printable ASCII for warnings and
	 * annotations. */
	for (char *p = d->detail; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
}

static const json_t *pod_spec(const json_t *pod)
{
	return json_object_get(pod, "spec");
}

/* Does the list (containers, volumes) hold an entry with this name? */
static int has_entry_named(const json_t *list, const char *name)
{
	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *n = json_string_value(json_object_get(json_array_get(list, i), "name"));

		if (n && strcmp(n, name) == 0)
			return 1;
	}
	return 0;
}

int pod_is_injected(const json_t *pod)
{
	const json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
	const char *v = json_string_value(json_object_get(labels, LABEL_INJECTED));

	return (v && strcmp(v, "true") == 0) ||
	       has_entry_named(json_object_get(pod_spec(pod), "containers"),
				   AGENT_CONTAINER_NAME) ||
	       has_entry_named(json_object_get(pod_spec(pod), "initContainers"),
				   AGENT_CONTAINER_NAME);
}

static int is_excluded(const struct webhook_options *o, const char *ns)
{
	for (size_t i = 0; i < o->n_excluded_namespaces; i++)
		if (o->excluded_namespaces[i] && strcmp(o->excluded_namespaces[i], ns) == 0)
			return 1;
	return 0;
}

static const char *object_name(const json_t *obj)
{
	const char *n = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));

	return n ? n : "?";
}

/* Finds the Instrumentation the opt-in names; a new reference in *ret_cr on success.
 * Returns 1 when it decided the outcome (skip or error) instead. */
static int resolve_instrumentation(const struct webhook_lookup *lk, const struct optin *in,
				   const char *pod_ns, struct decision *d, json_t **ret_cr)
{
	json_t *items = NULL, *cr = NULL;
	size_t n;
	int r;

	if (in->kind == OPTIN_NAMED) {
		r = lk->get_instrumentation(lk->userdata, in->ns, in->name, &cr);
		if (r == -ENOENT) {
			set_outcome(d, ADMISSION_SKIPPED, REASON_INSTRUMENTATION_NOT_FOUND,
				    "Instrumentation %s/%s (from %s) does not exist", in->ns,
				    in->name, optin_source_name(in->source));
			return 1;
		}
		if (r < 0 || !cr) {
			set_outcome(d, ADMISSION_ERROR, REASON_LOOKUP_FAILED,
				    "could not read Instrumentation %s/%s: %s", in->ns, in->name,
				    strerror(r < 0 ? -r : EIO));
			return 1;
		}
		*ret_cr = cr;
		return 0;
	}
	r = lk->list_instrumentations(lk->userdata, pod_ns, &items);
	if (r == -ENOENT) {
		items = NULL;
	} else if (r < 0) {
		set_outcome(d, ADMISSION_ERROR, REASON_LOOKUP_FAILED,
			    "could not list Instrumentations in %s: %s", pod_ns, strerror(-r));
		return 1;
	}
	n = json_array_size(items);
	if (n == 0) {
		set_outcome(d, ADMISSION_SKIPPED, REASON_NO_INSTRUMENTATION,
			    "%s is \"true\" but namespace %s has no Instrumentation",
			    optin_source_name(in->source), pod_ns);
	} else if (n > 1) {
		set_outcome(d, ADMISSION_SKIPPED, REASON_SEVERAL_INSTRUMENTATIONS,
			    "%s is \"true\" but namespace %s has %zu Instrumentations (%.60s, "
			    "%.60s%s); name one",
			    optin_source_name(in->source), pod_ns, n,
			    object_name(json_array_get(items, 0)),
			    object_name(json_array_get(items, 1)), n > 2 ? ", ..." : "");
	} else {
		*ret_cr = json_incref(json_array_get(items, 0));
	}
	json_decref(items);
	return n == 1 ? 0 : 1;
}

/* The containers to trace: the pod's container-names annotation, else the
 * Instrumentation's targets.containerNames, each kept only if the pod has it. Returns 1
 * when it decided the outcome. */
static int choose_targets(const json_t *pod, struct decision *d)
{
	const json_t *annotations = json_object_get(json_object_get(pod, "metadata"), "annotations");
	const json_t *containers = json_object_get(pod_spec(pod), "containers");
	const json_t *ann = json_object_get(annotations, ANNOTATION_OTEL_CONTAINER_NAMES);
	const char *wanted[DECISION_MAX_TARGETS];
	char list[1024];
	size_t n_wanted = 0;

	if (ann) {
		const char *v = json_string_value(ann);
		char *tok, *end;

		if (!v || strlen(v) >= sizeof(list)) {
			set_outcome(d, ADMISSION_SKIPPED, REASON_INVALID_ANNOTATION,
				    "pod annotation %s: want a comma-separated list of container "
				    "names",
				    ANNOTATION_OTEL_CONTAINER_NAMES);
			return 1;
		}
		snprintf(list, sizeof(list), "%s", v);
		/* Split on ',' in place, trimming spaces; empty items are ignored. */
		for (tok = list; tok; tok = end) {
			end = strchr(tok, ',');
			if (end)
				*end++ = '\0';
			while (*tok == ' ')
				tok++;
			for (size_t k = strlen(tok); k > 0 && tok[k - 1] == ' '; k--)
				tok[k - 1] = '\0';
			if (!tok[0])
				continue;
			if (!k8s_is_dns1123_label(tok) || n_wanted == DECISION_MAX_TARGETS) {
				set_outcome(d, ADMISSION_SKIPPED, REASON_INVALID_ANNOTATION,
					    "pod annotation %s: \"%.64s\" is not a container name "
					    "(or more than %d names)",
					    ANNOTATION_OTEL_CONTAINER_NAMES, tok,
					    DECISION_MAX_TARGETS);
				return 1;
			}
			wanted[n_wanted++] = tok;
		}
	} else {
		for (size_t i = 0; i < d->spec.n_container_names; i++)
			wanted[n_wanted++] = d->spec.container_names[i];
	}
	if (n_wanted == 0)
		return 0;
	/* Borrow the names from the pod: list[] dies with this frame. */
	for (size_t i = 0; i < json_array_size(containers) && d->n_targets < DECISION_MAX_TARGETS;
	     i++) {
		const char *name =
			json_string_value(json_object_get(json_array_get(containers, i), "name"));

		for (size_t j = 0; name && j < n_wanted; j++)
			if (strcmp(name, wanted[j]) == 0) {
				d->targets[d->n_targets++] = name;
				break;
			}
	}
	if (d->n_targets == 0) {
		set_outcome(d, ADMISSION_SKIPPED, REASON_NO_TARGET_CONTAINER,
			    "none of the target containers (%.64s%s) is in this pod", wanted[0],
			    n_wanted > 1 ? ", ..." : "");
		return 1;
	}
	return 0;
}

static int choose_executable(const json_t *pod, struct decision *d)
{
	const json_t *annotations = json_object_get(json_object_get(pod, "metadata"), "annotations");
	const json_t *ann = json_object_get(annotations, ANNOTATION_OTEL_TARGET_EXE);
	const char *exe = d->spec.executable;

	if (ann) {
		exe = json_string_value(ann);
		if (!exe || exe[0] != '/' || strlen(exe) >= sizeof(d->target_exe) ||
		    strpbrk(exe, " \t\r\n")) {
			set_outcome(d, ADMISSION_SKIPPED, REASON_INVALID_ANNOTATION,
				    "pod annotation %s: want an absolute path without spaces",
				    ANNOTATION_OTEL_TARGET_EXE);
			return 1;
		}
	}
	snprintf(d->target_exe, sizeof(d->target_exe), "%s", exe ? exe : "");
	return 0;
}

static int declares_port(const json_t *list, int port)
{
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *ports = json_object_get(json_array_get(list, i), "ports");

		for (size_t j = 0; j < json_array_size(ports); j++)
			if (json_integer_value(
				    json_object_get(json_array_get(ports, j), "containerPort")) ==
			    port)
				return 1;
	}
	return 0;
}

/* The sidecar's own conditions. Returns 1 when it decided the outcome. */
static int check_sidecar(const struct webhook_options *o, const json_t *pod, struct decision *d)
{
	const json_t *spec = pod_spec(pod);
	const json_t *share = json_object_get(spec, "shareProcessNamespace");

	if (json_is_true(json_object_get(spec, "hostPID"))) {
		set_outcome(d, ADMISSION_SKIPPED, REASON_HOST_PID,
			    "hostPID pod: a sidecar would see every process on the node");
		return 1;
	}
	if (json_is_true(json_object_get(spec, "hostNetwork"))) {
		set_outcome(d, ADMISSION_SKIPPED, REASON_HOST_NETWORK,
			    "hostNetwork pod: the agent's port %d would be the node's",
			    o->metrics_port);
		return 1;
	}
	if (json_is_false(share)) {
		set_outcome(d, ADMISSION_SKIPPED, REASON_SHARE_PROCESS_NAMESPACE_FALSE,
			    "shareProcessNamespace is false: the agent cannot see the "
			    "application's processes");
		return 1;
	}
	if (choose_targets(pod, d) || choose_executable(pod, d))
		return 1;
	if (declares_port(json_object_get(spec, "containers"), o->metrics_port) ||
	    declares_port(json_object_get(spec, "initContainers"), o->metrics_port)) {
		set_outcome(d, ADMISSION_SKIPPED, REASON_PORT_CONFLICT,
			    "a container already uses port %d, the agent's", o->metrics_port);
		return 1;
	}
	/* Two volumes of one name get the pod refused: never add a second one. */
	if (has_entry_named(json_object_get(spec, "volumes"), AGENT_CONFIG_VOLUME)) {
		set_outcome(d, ADMISSION_SKIPPED, REASON_NAME_CONFLICT,
			    "the pod already has a volume named " AGENT_CONFIG_VOLUME);
		return 1;
	}
	d->agent_image = d->spec.agent_image ? d->spec.agent_image : o->agent_image;
	if (!d->agent_image || !d->agent_image[0]) {
		set_outcome(d, ADMISSION_SKIPPED, REASON_NO_AGENT_IMAGE,
			    "Instrumentation %s/%s sets no spec.agent.image and the webhook has "
			    "no default",
			    d->spec.ns, d->spec.name);
		return 1;
	}
	return 0;
}

void decide_injection(const struct webhook_options *opts, const struct webhook_lookup *lookup,
		      const json_t *pod, const char *pod_ns, struct decision *ret)
{
	const json_t *pod_annotations =
		json_object_get(json_object_get(pod, "metadata"), "annotations");
	json_t *ns_annotations = NULL, *cr = NULL;
	char err[256];
	struct optin in;
	int r;

	memset(ret, 0, sizeof(*ret));
	instrumentation_spec_clear(&ret->spec);

	if (pod_is_injected(pod)) {
		set_outcome(ret, ADMISSION_UNCHANGED, REASON_ALREADY_INJECTED,
			    "the pod already has the agent");
		return;
	}
	r = lookup->namespace_annotations(lookup->userdata, pod_ns, &ns_annotations);
	if (r < 0 && r != -ENOENT) {
		set_outcome(ret, ADMISSION_ERROR, REASON_LOOKUP_FAILED,
			    "could not read namespace %s: %s", pod_ns, strerror(-r));
		return;
	}
	optin_decide(pod_annotations, r == 0 ? ns_annotations : NULL, pod_ns, &in);
	json_decref(r == 0 ? ns_annotations : NULL);

	if (in.kind == OPTIN_UNSET) {
		set_outcome(ret, ADMISSION_UNCHANGED, REASON_NOT_OPTED_IN, "not opted in");
		return;
	}
	if (in.kind == OPTIN_FALSE) {
		set_outcome(ret, ADMISSION_UNCHANGED, REASON_OPTED_OUT, "opted out by %s",
			    optin_source_name(in.source));
		return;
	}
	if (is_excluded(opts, pod_ns)) {
		set_outcome(ret, ADMISSION_SKIPPED, REASON_EXCLUDED_NAMESPACE,
			    "namespace %s is never injected", pod_ns);
		return;
	}
	ret->patchable = 1;
	if (in.kind == OPTIN_INVALID) {
		set_outcome(ret, ADMISSION_SKIPPED, REASON_INVALID_ANNOTATION,
			    "%s: \"%.64s\" is not true, false, <name> or <namespace>/<name>",
			    optin_source_name(in.source), in.value);
		return;
	}
	if (resolve_instrumentation(lookup, &in, pod_ns, ret, &cr))
		return;
	r = instrumentation_spec_parse(cr, &ret->spec, err, sizeof(err));
	if (r < 0) {
		set_outcome(ret, ADMISSION_SKIPPED, REASON_INVALID_INSTRUMENTATION,
			    "Instrumentation %s/%s: %s",
			    json_string_value(json_object_get(json_object_get(cr, "metadata"),
							      "namespace")) ?: "?",
			    object_name(cr), err);
		json_decref(cr);
		return;
	}
	json_decref(cr);
	if (ret->spec.mode == AGENT_MODE_NODE) {
		set_outcome(ret, ADMISSION_INJECTED, REASON_NODE_AGENT,
			    "traced by the node agent (Instrumentation %s/%s)", ret->spec.ns,
			    ret->spec.name);
		return;
	}
	if (check_sidecar(opts, pod, ret)) {
		instrumentation_spec_clear(&ret->spec);
		ret->n_targets = 0;
		ret->agent_image = NULL;
		return;
	}
	set_outcome(ret, ADMISSION_INJECTED, REASON_SIDECAR,
		    "agent sidecar added (Instrumentation %s/%s)", ret->spec.ns, ret->spec.name);
}

void decision_clear(struct decision *d)
{
	if (!d)
		return;
	instrumentation_spec_clear(&d->spec);
	d->n_targets = 0;
	d->agent_image = NULL;
}

#include "agent/health_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cli/number.h"
#include "lib/kube/config.h"
#include "lib/log/log.h"

#define COMPONENT "agent"

struct health_agent {
	const struct health_source *src;
	enum health_mode mode;
	char node[254];
	char pod[320]; /* "<ns>/<name>", sidecar only */
	struct kube_client *client;
	int owns_client; /* a sidecar's own; a node agent's is borrowed */
	struct health_writer *writer;
};

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static uint32_t env_seconds(const char *name)
{
	long n;

	return cli_parse_long(env(name), 1, &n) == 0 && n <= 86400 ? (uint32_t)n : 0;
}

/* The tracer's failures (agent/tracer.h) as the report's: the reason, and the
 * executable with what went wrong in the message (held in f). */
struct report_failures {
	struct tracer_failure tf[TRACER_MAX_FAILURES];
	struct health_failure hf[TRACER_MAX_FAILURES];
	char msg[TRACER_MAX_FAILURES][400];
	size_t n;
};

static void report_failures(const struct tracer *t, struct report_failures *f)
{
	f->n = t ? tracer_failures(t, f->tf, TRACER_MAX_FAILURES) : 0;
	for (size_t i = 0; i < f->n; i++) {
		snprintf(f->msg[i], sizeof(f->msg[i]), "%s: %s", f->tf[i].exe, f->tf[i].message);
		f->hf[i] = (struct health_failure){ .reason = f->tf[i].reason, .message = f->msg[i] };
	}
}

/* What a node agent's report says now: one entry per Instrumentation it serves. */
static int collect_node(struct health_agent *h, int64_t now, json_t **ret)
{
	const struct health_source *s = h->src;
	struct node_agent *na = *s->node;
	struct tracer *t = *s->tracer;
	struct node_agent_instr_health *nh = NULL;
	struct health_instrumentation *insts = NULL;
	struct node_agent_stats ns = { 0 };
	struct tracer_stats ts = { 0 };
	int loaded = t && tracer_loaded(t);
	size_t n = 0;
	int rc;

	if (!na)
		return -ESHUTDOWN;
	node_agent_get_stats(na, &ns);
	nh = calloc(HEALTH_REPORT_MAX_INSTRUMENTATIONS, sizeof(*nh));
	insts = calloc(HEALTH_REPORT_MAX_INSTRUMENTATIONS + 1, sizeof(*insts));
	if (!nh || !insts) {
		rc = -ENOMEM;
		goto out;
	}
	/* More than fit: the report counts the rest in instrumentationsOmitted. */
	n = node_agent_health(na, nh, HEALTH_REPORT_MAX_INSTRUMENTATIONS);
	for (size_t i = 0; i < n && i < HEALTH_REPORT_MAX_INSTRUMENTATIONS; i++)
		insts[i] = (struct health_instrumentation){
			.name = nh[i].name, .config_revision = nh[i].revision,
			.pods = nh[i].pods, .processes = nh[i].processes,
			.export = nh[i].has_exporter ? &nh[i].export : NULL,
			.last_export_error = nh[i].last_export_error[0] ? nh[i].last_export_error : NULL,
			.last_export_error_time = nh[i].last_export_error_time,
		};
	if (loaded)
		tracer_get_stats(t, &ts);
	struct health_input in = {
		.mode = HEALTH_MODE_NODE,
		.node = h->node,
		.agent_version = s->version,
		/* Ready once it can trace and knows which pods to: until the informers
		 * have listed, it would report an empty node as healthy. */
		.ready = loaded && ns.synced,
		.not_ready_reason = !t ? "Stopping" : !loaded ? "ProbesLoading" : "NotSynced",
		.pods_instrumented = ns.pods_traced,
		.tracer = loaded ? &ts : NULL,
		.instrumentations = insts,
		.n_instrumentations = n,
	};
	struct report_failures f;

	report_failures(loaded ? t : NULL, &f);
	in.failures = f.hf;
	in.n_failures = f.n;
	rc = health_report_build(&in, now, ret);
out:
	free(nh);
	free(insts);
	return rc;
}

/* What the report says now. */
static int collect(void *ud, int64_t now, json_t **ret)
{
	struct health_agent *h = ud;
	const struct health_source *s = h->src;

	if (h->mode == HEALTH_MODE_NODE)
		return collect_node(h, now, ret);
	struct tracer *t = *s->tracer;
	struct agent_settings *set = *s->settings;
	struct tracer_stats ts = { 0 };
	struct otlp_exporter_stats es = { 0 };
	char export_error[OTLP_EXPORT_ERROR_MAX];
	int64_t export_error_time = 0;
	int has_export_error = 0;
	int loaded = t && tracer_loaded(t);
	struct health_instrumentation inst = { 0 };
	struct health_input in = {
		.mode = h->mode,
		.node = h->node,
		.pod = h->mode == HEALTH_MODE_SIDECAR ? h->pod : NULL,
		.agent_version = s->version,
		.ready = loaded,
		.not_ready_reason = t ? "ProbesLoading" : "Stopping",
	};

	if (loaded)
		tracer_get_stats(t, &ts);
	if (*s->exporter) {
		otlp_exporter_get_stats(*s->exporter, &es);
		has_export_error = otlp_exporter_last_error(*s->exporter, export_error,
							    sizeof(export_error), &export_error_time);
	}
	in.tracer = loaded ? &ts : NULL;
	if (set && set->instrumentation[0]) {
		inst.name = set->instrumentation;
		inst.config_revision = set->revision;
		inst.pods = 1; /* a sidecar serves its own pod */
		inst.processes = ts.processes;
		inst.export = *s->exporter ? &es : NULL;
		inst.last_export_error = has_export_error ? export_error : NULL;
		inst.last_export_error_time = export_error_time;
		in.instrumentations = &inst;
		in.n_instrumentations = 1;
	}
	in.pods_instrumented = ts.processes ? 1 : 0;
	struct report_failures f;

	report_failures(loaded ? t : NULL, &f);
	in.failures = f.hf;
	in.n_failures = f.n;
	return health_report_build(&in, now, ret);
}

static int load_config(struct kube_config **ret_cfg)
{
	char err[512];
	int rc;

	if (env("AUTOTRACE_REPORT_KUBECONFIG"))
		rc = kube_config_load_file(env("AUTOTRACE_REPORT_KUBECONFIG"), NULL, ret_cfg, err,
					   sizeof(err));
	else
		rc = kube_config_in_cluster(NULL, ret_cfg, err, sizeof(err));
	if (rc < 0)
		log_warn(COMPONENT, "no health report: %s", err);
	return rc;
}

/* A sidecar's report: named after its pod (the webhook's downward-API environment),
 * written with its pod's ServiceAccount token (the in-cluster config). */
static int setup_sidecar(struct health_agent *h, struct health_writer_opts *wo)
{
	const char *pod = env("K8S_POD_NAME"), *ns = env("K8S_NAMESPACE_NAME");
	const char *node = env("K8S_NODE_NAME");
	struct kube_config *cfg = NULL;
	struct kube_error kerr;
	int rc;

	if (!env("KUBERNETES_SERVICE_HOST") && !env("AUTOTRACE_REPORT_KUBECONFIG")) {
		log_info(COMPONENT, "no health report: not in a cluster");
		return 1;
	}
	if (!ns || !node || !pod) {
		log_warn(COMPONENT, "no health report: K8S_NAMESPACE_NAME, K8S_NODE_NAME and "
			 "K8S_POD_NAME must be set");
		return 1;
	}
	h->mode = HEALTH_MODE_SIDECAR;
	snprintf(h->node, sizeof(h->node), "%s", node);
	snprintf(h->pod, sizeof(h->pod), "%s/%s", ns, pod);
	if ((rc = load_config(&cfg)) < 0)
		return rc;
	/* The client takes cfg, also on failure. */
	if ((rc = kube_client_new(cfg, &(struct kube_client_opts){ .user_agent = "autotrace-agent" },
				  &h->client, &kerr)) < 0) {
		log_warn(COMPONENT, "no health report: %s", kerr.message);
		return rc;
	}
	h->owns_client = 1;
	wo->mode = HEALTH_MODE_SIDECAR;
	wo->ns = ns;
	wo->name = pod;
	/* The report goes with its pod. */
	wo->owner_name = pod;
	wo->owner_uid = env("K8S_POD_UID");
	return 0;
}

/* A node agent's report: named after its node, in its own namespace, written with the
 * client it watches with (the DaemonSet's ServiceAccount). Owned by the agent's pod
 * when the DaemonSet says which (POD_NAME, POD_UID): the pod goes when its node goes,
 * so the report of a node removed from the cluster does not stay behind as a stale
 * agent. A Node owner would need `get nodes` for the uid the downward API does not
 * give. */
static int setup_node(struct health_agent *h, struct health_writer_opts *wo)
{
	const struct health_source *s = h->src;

	if (!s->node_name || !*s->node_name || !s->namespace || !*s->namespace || !s->client) {
		log_warn(COMPONENT, "no health report: a node agent needs its node's name and "
			 "its own namespace (--namespace or $POD_NAMESPACE)");
		return 1;
	}
	h->mode = HEALTH_MODE_NODE;
	snprintf(h->node, sizeof(h->node), "%s", s->node_name);
	h->client = s->client;
	wo->mode = HEALTH_MODE_NODE;
	wo->ns = s->namespace;
	wo->name = s->node_name;
	wo->owner_name = env("POD_NAME");
	wo->owner_uid = env("POD_UID");
	return 0;
}

int health_agent_start(struct event_base *base, const struct health_source *src,
		       struct health_agent **ret)
{
	struct health_writer_opts wo = { 0 };
	struct health_agent *h;
	int rc;

	*ret = NULL;
	if (env("AUTOTRACE_REPORT") && strcmp(env("AUTOTRACE_REPORT"), "off") == 0)
		return 0;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->src = src;
	rc = src->node ? setup_node(h, &wo) : setup_sidecar(h, &wo);
	if (rc != 0) /* 1: no report here, said in the log */
		goto fail;
	wo.pacing.min_interval_s = env_seconds("AUTOTRACE_REPORT_MIN_INTERVAL_S");
	wo.pacing.heartbeat_s = env_seconds("AUTOTRACE_REPORT_HEARTBEAT_S");
	wo.collect = collect;
	wo.ud = h;
	if ((rc = health_writer_new(h->client, base, &wo, &h->writer)) < 0)
		goto fail;
	log_info(COMPONENT, "health report: AgentReport %s/%s (%s)", wo.ns, wo.name,
		 h->mode == HEALTH_MODE_SIDECAR ? "sidecar" : "node");
	*ret = h;
	return 0;
fail:
	health_agent_free(h);
	return rc < 0 ? rc : 0;
}

struct health_agent *health_agent_free(struct health_agent *h)
{
	if (!h)
		return NULL;
	h->writer = health_writer_free(h->writer);
	if (h->owns_client)
		kube_client_free(h->client);
	free(h);
	return NULL;
}

int health_agent_scrape(const struct health_agent *h, struct prom_text *out)
{
	return h ? health_writer_scrape(h->writer, out) : 0;
}

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

/* What the report says now. */
static int collect(void *ud, int64_t now, json_t **ret)
{
	struct health_agent *h = ud;
	const struct health_source *s = h->src;
	struct tracer *t = *s->tracer;
	struct agent_settings *set = *s->settings;
	struct tracer_stats ts = { 0 };
	struct otlp_exporter_stats es = { 0 };
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
	if (*s->exporter)
		otlp_exporter_get_stats(*s->exporter, &es);
	in.tracer = loaded ? &ts : NULL;
	if (set && set->instrumentation[0]) {
		inst.name = set->instrumentation;
		inst.config_revision = set->revision;
		/* A sidecar serves its own pod; the node agent's pods are counted by the
		 * code that maps them (not here yet). */
		inst.pods = h->mode == HEALTH_MODE_SIDECAR ? 1 : 0;
		inst.processes = ts.processes;
		inst.export = *s->exporter ? &es : NULL;
		in.instrumentations = &inst;
		in.n_instrumentations = 1;
	}
	in.pods_instrumented = h->mode == HEALTH_MODE_SIDECAR && ts.processes ? 1 : 0;
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

int health_agent_start(struct event_base *base, const struct health_source *src,
		       struct health_agent **ret)
{
	const char *mode = env("AUTOTRACE_AGENT_MODE"), *pod = env("K8S_POD_NAME");
	const char *ns = env("K8S_NAMESPACE_NAME"), *node = env("K8S_NODE_NAME");
	struct health_writer_opts wo = { 0 };
	struct kube_config *cfg = NULL;
	struct kube_error kerr;
	struct health_agent *h;
	int rc;

	*ret = NULL;
	if (env("AUTOTRACE_REPORT") && strcmp(env("AUTOTRACE_REPORT"), "off") == 0)
		return 0;
	if (!env("KUBERNETES_SERVICE_HOST") && !env("AUTOTRACE_REPORT_KUBECONFIG")) {
		log_info(COMPONENT, "no health report: not in a cluster");
		return 0;
	}
	if (!ns || !node || (!(mode && strcmp(mode, "node") == 0) && !pod)) {
		log_warn(COMPONENT, "no health report: K8S_NAMESPACE_NAME, K8S_NODE_NAME and "
			 "(for a sidecar) K8S_POD_NAME must be set");
		return 0;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->src = src;
	h->mode = mode && strcmp(mode, "node") == 0 ? HEALTH_MODE_NODE : HEALTH_MODE_SIDECAR;
	snprintf(h->node, sizeof(h->node), "%s", node);
	if (h->mode == HEALTH_MODE_SIDECAR)
		snprintf(h->pod, sizeof(h->pod), "%s/%s", ns, pod);
	if ((rc = load_config(&cfg)) < 0)
		goto fail;
	/* The client takes cfg, also on failure. */
	if ((rc = kube_client_new(cfg, &(struct kube_client_opts){ .user_agent = "autotrace-agent" },
				  &h->client, &kerr)) < 0) {
		log_warn(COMPONENT, "no health report: %s", kerr.message);
		goto fail;
	}
	wo.mode = h->mode;
	wo.ns = ns;
	wo.name = h->mode == HEALTH_MODE_SIDECAR ? pod : node;
	/* A sidecar's report goes with its pod. A node agent's would go with its Node,
	 * whose uid the downward API does not give: it has no owner until the DaemonSet
	 * passes one. */
	wo.owner_name = h->mode == HEALTH_MODE_SIDECAR ? pod : NULL;
	wo.owner_uid = h->mode == HEALTH_MODE_SIDECAR ? env("K8S_POD_UID") : NULL;
	wo.pacing.min_interval_s = env_seconds("AUTOTRACE_REPORT_MIN_INTERVAL_S");
	wo.pacing.heartbeat_s = env_seconds("AUTOTRACE_REPORT_HEARTBEAT_S");
	wo.collect = collect;
	wo.ud = h;
	if ((rc = health_writer_new(h->client, base, &wo, &h->writer)) < 0)
		goto fail;
	log_info(COMPONENT, "health report: AgentReport %s/%s (%s)", ns, wo.name,
		 h->mode == HEALTH_MODE_SIDECAR ? "sidecar" : "node");
	*ret = h;
	return 0;
fail:
	health_agent_free(h);
	return rc;
}

struct health_agent *health_agent_free(struct health_agent *h)
{
	if (!h)
		return NULL;
	h->writer = health_writer_free(h->writer);
	h->client = kube_client_free(h->client);
	free(h);
	return NULL;
}

int health_agent_scrape(const struct health_agent *h, struct prom_text *out)
{
	return h ? health_writer_scrape(h->writer, out) : 0;
}

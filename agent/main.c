/* autotrace-agent: finds the Go processes it can see (a pod's, as a sidecar with
 * shareProcessNamespace; a node's, as a DaemonSet), traces their HTTP servers with
 * uprobes and exports the spans over OTLP; serves /metrics, /healthz and /readyz.
 *
 * main wires only. As a sidecar (the default): settings (environment, then the mounted
 * config file, watched), the tracer, the exporter. As a node agent (--mode node): the
 * Kubernetes client and agent/node_agent.c, which chooses the processes and holds an
 * exporter per Instrumentation. Then the HTTP server and the timers; SIGTERM flushes. */
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/capabilities.h"
#include "agent/health_source.h"
#include "agent/node_agent.h"
#include "agent/self_metrics.h"
#include "agent/settings.h"
#include "agent/span_flow.h"
#include "agent/tracer.h"
#include "lib/cli/number.h"
#include "lib/fs/file_watch.h"
#include "lib/http/server.h"
#include "lib/kube/client.h"
#include "lib/kube/config.h"
#include "lib/kube/error.h"
#include "lib/log/log.h"
#include "lib/otlp/exporter.h"

#define COMPONENT "agent"
#define VERSION "0.1.0"
/* Spans in the exporter's queue, and in a batch. */
#define EXPORT_QUEUE_SPANS 256

struct agent {
	struct event_base *base;
	struct http_server *http;
	struct tracer *tracer;
	struct otlp_exporter *exporter; /* a sidecar's; a node agent has one per Instrumentation */
	struct node_agent *node;        /* --mode node */
	struct kube_client *kube;
	struct agent_settings *settings;
	struct self_metrics *metrics;
	struct file_watch *config_watch;
	struct health_source health_src;
	struct health_agent *health; /* the AgentReport writer; NULL: none */
	struct event *scan_timer, *poll_timer, *refill_timer, *loaded, *wakeup, *sigterm, *sigint;
	unsigned shutdown_ms;
	int stopping;
	int failed; /* the probes could not be loaded: exit 1 */
};

struct flags {
	int node_mode;
	const char *node_name, *own_namespace;
	const char *metrics_listen;
	const char *config_file;
	const char *proc_root;
	unsigned scan_ms, poll_ms, shutdown_ms;
	size_t ringbuf_bytes;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: autotrace-agent [options]\n"
		"  --mode sidecar|node     a pod's sidecar (default), or the node's agent: traces the\n"
		"                          pods of its node that opt in to a node-mode Instrumentation\n"
		"                          (default $AUTOTRACE_AGENT_MODE); wants hostPID and the API\n"
		"  --node-name NAME        node mode: this node (default $NODE_NAME)\n"
		"  --namespace NS          node mode: the agent's own namespace, never traced\n"
		"                          (default $POD_NAMESPACE)\n"
		"  --metrics-listen ADDR   /metrics, /healthz, /readyz (default :$AUTOTRACE_METRICS_PORT or :9464)\n"
		"  --config-file PATH      the mounted config (default $AUTOTRACE_CONFIG_FILE or\n"
		"                          /etc/autotrace/config.json); watched, applied live\n"
		"  --proc-root PATH        where to find processes (default /proc)\n"
		"  --scan-interval-ms N    how often to look for new and exited processes (500)\n"
		"  --poll-interval-ms N    how often to drain the ring buffer (50)\n"
		"  --shutdown-timeout-ms N time to flush spans on SIGTERM (default\n"
		"                          $AUTOTRACE_SHUTDOWN_TIMEOUT_MS or 5000)\n"
		"  --ringbuf-kib N         kernel-to-agent ring buffer, a power of two (default\n"
		"                          $AUTOTRACE_RINGBUF_KIB or 1024; a node agent wants more)\n"
		"Exporter, sampler and resource: the OTEL_* environment, overlaid by the config file.\n");
}

#define MAX_MS 3600000L

/* A positive number of at most MAX_MS from the environment, else dflt. */
static unsigned env_uint(const char *name, unsigned dflt)
{
	long n;

	return cli_parse_long(getenv(name), 1, &n) == 0 && n <= MAX_MS ? (unsigned)n : dflt;
}

/* A --*-ms flag: 1..MAX_MS. */
static int flag_ms(const char *flag, const char *arg, unsigned *ret)
{
	long n;

	if (cli_parse_long(arg, 1, &n) < 0 || n > MAX_MS) {
		fprintf(stderr, "autotrace-agent: --%s wants milliseconds (1..%ld), got \"%s\"\n", flag,
			MAX_MS, arg);
		return -EINVAL;
	}
	*ret = (unsigned)n;
	return 0;
}

/* The ring buffer size in KiB: a power of two from 64 KiB (the kernel wants a power of
 * two times the page size) to 256 MiB. */
static int ringbuf_kib(const char *what, const char *arg, size_t *ret)
{
	long n;

	if (cli_parse_long(arg, 64, &n) < 0 || n > 262144 || (n & (n - 1))) {
		fprintf(stderr, "autotrace-agent: %s wants a power of two of KiB from 64 to 262144, got \"%s\"\n",
			what, arg);
		return -EINVAL;
	}
	*ret = (size_t)n * 1024;
	return 0;
}

static int parse_flags(int argc, char **argv, struct flags *f)
{
	static char listen_buf[32];
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'M' },
		{ "node-name", required_argument, NULL, 'N' },
		{ "namespace", required_argument, NULL, 'S' },
		{ "metrics-listen", required_argument, NULL, 'm' },
		{ "config-file", required_argument, NULL, 'c' },
		{ "proc-root", required_argument, NULL, 'p' },
		{ "scan-interval-ms", required_argument, NULL, 's' },
		{ "poll-interval-ms", required_argument, NULL, 'l' },
		{ "shutdown-timeout-ms", required_argument, NULL, 't' },
		{ "ringbuf-kib", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *mode = getenv("AUTOTRACE_AGENT_MODE");
	int c;

	f->node_name = getenv("NODE_NAME");
	f->own_namespace = getenv("POD_NAMESPACE");
	snprintf(listen_buf, sizeof(listen_buf), ":%u", env_uint("AUTOTRACE_METRICS_PORT", 9464));
	f->metrics_listen = listen_buf;
	f->config_file = getenv("AUTOTRACE_CONFIG_FILE") ? getenv("AUTOTRACE_CONFIG_FILE")
							 : "/etc/autotrace/config.json";
	f->proc_root = "/proc";
	f->scan_ms = 500;
	f->poll_ms = 50;
	f->shutdown_ms = env_uint("AUTOTRACE_SHUTDOWN_TIMEOUT_MS", 5000);
	/* 1 MiB: a sidecar traces one pod; at 100k spans/s the reader, woken at a quarter
	 * full, still has about 30 ms. It also holds what the export queue has no room
	 * for (agent/span_flow.h): 3,196 records, some 120 ms of spans at 27k spans/s.
	 * Its pages count in the RSS once (agent/ring_reader.h). */
	f->ringbuf_bytes = 1024 * 1024;
	const char *ring_env = getenv("AUTOTRACE_RINGBUF_KIB");
	if (ring_env && ringbuf_kib("AUTOTRACE_RINGBUF_KIB", ring_env, &f->ringbuf_bytes) < 0)
		return -EINVAL;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int rc = 0;
		switch (c) {
		case 'M': mode = optarg; break;
		case 'N': f->node_name = optarg; break;
		case 'S': f->own_namespace = optarg; break;
		case 'm': f->metrics_listen = optarg; break;
		case 'c': f->config_file = optarg; break;
		case 'p': f->proc_root = optarg; break;
		case 's': rc = flag_ms("scan-interval-ms", optarg, &f->scan_ms); break;
		case 'l': rc = flag_ms("poll-interval-ms", optarg, &f->poll_ms); break;
		case 't': rc = flag_ms("shutdown-timeout-ms", optarg, &f->shutdown_ms); break;
		case 'r': rc = ringbuf_kib("--ringbuf-kib", optarg, &f->ringbuf_bytes); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
		if (rc < 0)
			return rc;
	}
	if (optind < argc) {
		usage(stderr);
		return -EINVAL;
	}
	if (mode && *mode && strcmp(mode, "sidecar") != 0 && strcmp(mode, "node") != 0) {
		fprintf(stderr, "autotrace-agent: --mode wants sidecar or node, got \"%s\"\n", mode);
		return -EINVAL;
	}
	f->node_mode = mode && strcmp(mode, "node") == 0;
	if (f->node_mode && (!f->node_name || !*f->node_name)) {
		fprintf(stderr, "autotrace-agent: --mode node wants --node-name or $NODE_NAME "
			"(the downward API's spec.nodeName)\n");
		return -EINVAL;
	}
	return 0;
}

static struct timeval ms_tv(unsigned ms)
{
	return (struct timeval){ ms / 1000, (ms % 1000) * 1000 };
}

/* --- spans and config ------------------------------------------------------------ */

static int on_span(void *ud, const struct otlp_span *span)
{
	struct agent *a = ud;

	otlp_exporter_enqueue(a->exporter, span);
	return 0;
}

/* A new settings object is in force: push what changed into the tracer and exporter. */
static void apply_settings(struct agent *a, struct agent_settings *next)
{
	if (a->tracer) {
		struct tracer_probes probes;

		tracer_set_sampler(a->tracer, &next->sampler);
		tracer_set_targets(a->tracer, &next->targets);
		/* A family turned off is detached now, one turned on attached. */
		agent_settings_tracer_probes(next, &probes);
		tracer_set_probes(a->tracer, 0, &probes);
		if (tracer_loaded(a->tracer))
			tracer_scan(a->tracer);
	}
	if (a->exporter) {
		if (otlp_exporter_set_config(a->exporter, &next->exporter) < 0)
			log_warn(COMPONENT, "exporter rejected endpoint %s; keeping the previous one",
				 next->exporter.endpoint);
		otlp_exporter_set_resource(a->exporter, &next->resource);
	}
	agent_settings_free(a->settings);
	a->settings = next;
	log_info(COMPONENT, "config %s%s%s: sampler %s ratio %g, endpoint %s, probes: httpServer %s, "
		 "httpClient %s, databaseSql %s (query text %s)",
		 next->revision[0] ? next->revision : "from environment",
		 next->instrumentation[0] ? " of " : "", next->instrumentation,
		 agent_sampler_name(next->sampler.type), next->sampler.ratio, next->exporter.endpoint,
		 next->probes.http_server ? "on" : "off", next->probes.http_client ? "on" : "off",
		 next->probes.database_sql ? "on" : "off", next->probes.db_query_text ? "on" : "off");
}

static void on_config_file(void *ud, int rc, const char *data, size_t len)
{
	struct agent *a = ud;
	struct agent_settings *next = NULL;
	char err[512];

	if (rc == -ENOENT) {
		log_warn(COMPONENT, "config file disappeared; keeping revision %s", a->settings->revision);
		return;
	}
	if (rc < 0) {
		log_error(COMPONENT, "config file unreadable (%s); keeping revision %s", strerror(-rc),
			  a->settings->revision);
		self_metrics_config_error(a->metrics);
		return;
	}
	rc = agent_settings_new(NULL, NULL, data, len, &next, err, sizeof(err));
	if (rc < 0) {
		log_error(COMPONENT, "config file refused, keeping revision \"%s\": %s",
			  a->settings ? a->settings->revision : "", err);
		self_metrics_config_error(a->metrics);
		return;
	}
	if (a->settings && strcmp(a->settings->revision, next->revision) == 0 && a->settings->has_file) {
		agent_settings_free(next); /* same content, new inode: nothing to do */
		self_metrics_config(a->metrics, a->settings->revision, a->settings->instrumentation, 0);
		return;
	}
	apply_settings(a, next);
	self_metrics_config(a->metrics, next->revision, next->instrumentation, 0);
}

/* --- timers and events ------------------------------------------------------------ */

static void on_scan(evutil_socket_t fd, short what, void *ud)
{
	struct agent *a = ud;

	tracer_scan(a->tracer);
}

/* How soon the reader looks again when the exporter's queue was full. */
#define REFILL_MS 2
/* Spans a node agent takes from the ring per poll. */
#define NODE_POLL_SPANS 1024

static void on_poll(evutil_socket_t fd, short what, void *ud)
{
	struct agent *a = ud;
	struct timeval refill = ms_tv(REFILL_MS);
	int more;

	if (a->node) {
		/* Spans go to several exporters, known only per record: a bounded poll that
		 * ends early when a span's exporter has no room (the span waits in the ring;
		 * agent/export_backpressure.h says for how long). */
		int n = node_agent_poll(a->node, NODE_POLL_SPANS);

		more = node_agent_take_held(a->node) || n == NODE_POLL_SPANS;
	} else {
		more = span_flow_poll(a->tracer, a->exporter);
	}

	if (!a->wakeup)
		return; /* not loaded yet */
	/* What the full queue left in the ring keeps its descriptor readable: look again
	 * on a short timer, which leaves the exporter's worker the CPU to take a batch,
	 * rather than spin on the descriptor. */
	if (more > 0) {
		event_del(a->wakeup);
		evtimer_add(a->refill_timer, &refill);
	} else if (!event_pending(a->wakeup, EV_READ, NULL)) {
		event_add(a->wakeup, NULL);
	}
}

/* The BPF programs are loaded (or not): poll the ring buffer, and attach to what the
 * scans found meanwhile. */
static void on_loaded(evutil_socket_t fd, short what, void *ud)
{
	struct agent *a = ud;
	int rc;

	rc = tracer_finish_loading(a->tracer);
	if (rc < 0) {
		log_error(COMPONENT, "cannot load the BPF probes: %s (the agent needs CAP_BPF, "
			  "CAP_PERFMON and CAP_SYS_PTRACE)", strerror(-rc));
		a->failed = 1;
		event_base_loopbreak(a->base);
		return;
	}
	/* Loading parsed the kernel's BTF (megabytes) and freed it: give those pages back,
	 * since a sidecar's footprint is multiplied by every pod. */
	malloc_trim(0);
	a->wakeup = event_new(a->base, tracer_wakeup_fd(a->tracer), EV_READ | EV_PERSIST, on_poll, a);
	if (!a->wakeup || event_add(a->wakeup, NULL) < 0) {
		/* The poll timer still drains the ring. */
		log_warn(COMPONENT, "no ring-buffer wakeups; polling every interval only");
	}
	tracer_scan(a->tracer);
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* What the node's ring holds, into the exporters, each flushed whenever a span waited
 * for room, until deadline; then the rest, into queues that drop their oldest. */
static void node_drain(struct agent *a, long deadline)
{
	long left;

	for (;;) {
		node_agent_poll(a->node, SIZE_MAX);
		if (!node_agent_take_held(a->node))
			return;
		left = deadline - mono_ms();
		if (left <= 0)
			break;
		node_agent_flush(a->node, (uint32_t)left);
	}
	node_agent_stop_holding(a->node);
	node_agent_poll(a->node, SIZE_MAX);
}

static void shutdown_now(struct agent *a)
{
	struct otlp_shutdown_report rep = { 0 };
	long deadline = mono_ms() + a->shutdown_ms, left;

	if (a->stopping)
		return;
	a->stopping = 1;
	log_info(COMPONENT, "stopping: flushing spans (up to %u ms)", a->shutdown_ms);
	/* Take what the kernel still holds, a queue at a time, then stop taking spans. */
	if (a->node) {
		if (a->tracer)
			node_drain(a, deadline);
		a->tracer = tracer_free(a->tracer);
		node_agent_set_tracer(a->node, NULL);
		left = deadline - mono_ms();
		node_agent_shutdown(a->node, left > 0 ? (unsigned)left : 1);
		event_base_loopbreak(a->base);
		return;
	}
	span_flow_drain(a->tracer, a->exporter, deadline);
	a->tracer = tracer_free(a->tracer);
	left = deadline - mono_ms();
	otlp_exporter_shutdown(a->exporter, left > 0 ? (unsigned)left : 1, &rep);
	log_info(COMPONENT, "stopped: %llu spans queued at shutdown, %llu exported, %llu dropped",
		 (unsigned long long)rep.queued, (unsigned long long)rep.exported,
		 (unsigned long long)rep.dropped);
	event_base_loopbreak(a->base);
}

static void on_signal(evutil_socket_t sig, short what, void *ud)
{
	shutdown_now(ud);
}

/* --- HTTP ------------------------------------------------------------------------- */

static void serve_metrics(struct http_request *req, void *ud)
{
	struct agent *a = ud;
	struct prom_text out = { 0 };

	int rc;

	if (a->node) {
		struct node_agent_stats ns;

		node_agent_get_stats(a->node, &ns);
		self_metrics_pods(a->metrics, ns.pods_traced);
		rc = self_metrics_scrape_stats(a->metrics, a->tracer, &ns.exporters, &out);
	} else {
		rc = self_metrics_scrape(a->metrics, a->tracer, a->exporter, &out);
	}
	if (rc == 0)
		rc = health_agent_scrape(a->health, &out);
	if (rc < 0) {
		free(out.data);
		http_response_set_status(req, 500);
		http_response_printf(req, "metrics unavailable\n");
		return;
	}
	http_response_add_header(req, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	http_response_append_owned(req, out.data, out.len);
}

static void serve_healthz(struct http_request *req, void *ud)
{
	http_response_printf(req, "ok\n");
}

/* Ready once it serves, which it does before the BPF programs are loaded: an agent
 * that cannot trace (yet) must not hold its pod back from Ready; /metrics says how many
 * probes are attached. */
static void serve_readyz(struct http_request *req, void *ud)
{
	struct agent *a = ud;
	struct tracer_stats s = { 0 };

	if (a->stopping) {
		http_response_set_status(req, 503);
		http_response_printf(req, "stopping\n");
		return;
	}
	if (!tracer_loaded(a->tracer)) {
		http_response_printf(req, "ok: loading the probes\n");
		return;
	}
	tracer_get_stats(a->tracer, &s);
	http_response_printf(req, "ok: %llu processes, %llu probes attached\n",
			     (unsigned long long)s.processes, (unsigned long long)s.probes_attached);
}

/* --- wiring ---------------------------------------------------------------------- */

/* Node mode: the API server ($KUBECONFIG, else in-cluster) and the node agent. */
static int start_node(struct agent *a, const struct flags *f)
{
	struct kube_config *cfg = NULL;
	struct kube_error err;
	char buf[600];
	int rc;

	if ((rc = kube_config_load_default(NULL, &cfg, buf, sizeof(buf))) < 0) {
		log_error(COMPONENT, "kubeconfig: %s", buf);
		return rc;
	}
	if ((rc = kube_client_new(cfg, NULL, &a->kube, &err)) < 0) {
		log_error(COMPONENT, "API client: %s", kube_error_format(&err, buf, sizeof(buf)));
		return rc;
	}
	struct node_agent_opts no = { .base = a->base, .client = a->kube, .node = f->node_name,
				      .own_namespace = f->own_namespace, .proc_root = f->proc_root,
				      .scope_version = VERSION, .queue_capacity = EXPORT_QUEUE_SPANS,
				      .max_delay_ms = 1000 };
	if ((rc = node_agent_new(&no, &a->node)) < 0) {
		log_error(COMPONENT, "node agent: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

static int start(struct agent *a, const struct flags *f)
{
	char err[512];
	int rc;

	rc = agent_settings_new(NULL, NULL, NULL, 0, &a->settings, err, sizeof(err));
	if (rc < 0) {
		log_error(COMPONENT, "environment: %s", err);
		return rc;
	}
	if ((rc = self_metrics_new(&a->metrics)) < 0)
		return rc;
	if (f->node_mode) {
		if ((rc = start_node(a, f)) < 0)
			return rc;
		goto serve;
	}
	/* The file, when mounted already, wins before anything starts. */
	struct file_watch_opts wo = { .path = f->config_file, .on_change = on_config_file, .ud = a };
	if ((rc = file_watch_new(a->base, &wo, &a->config_watch)) < 0)
		return rc;

	/* The queue and the batch being sent hold whole spans (struct otlp_span, ~1.7 KB,
	 * touched in full as the queue wraps): a batch's worth each, what the exporter takes
	 * at once; the ring buffer holds the rest (agent/span_flow.h). */
	struct otlp_exporter_options eo = { .scope_version = VERSION, .resource = &a->settings->resource,
					    .queue_capacity = EXPORT_QUEUE_SPANS,
					    .max_batch = EXPORT_QUEUE_SPANS,
					    /* Spans reach the collector within a second. */
					    .max_delay_ms = 1000 };
	rc = otlp_exporter_new(&eo, &a->settings->exporter, &a->exporter);
	if (rc < 0) {
		log_error(COMPONENT, "exporter to %s: %s", a->settings->exporter.endpoint, strerror(-rc));
		return rc;
	}
serve:;
	/* Said before loading, so that a pod whose securityContext lacks one learns which. */
	uint64_t caps;
	char missing[320];
	if (capabilities_effective(&caps) == 0 && capabilities_missing(caps, missing, sizeof(missing)) > 0)
		log_error(COMPONENT, "missing capabilities: %s; add them to the container's "
			  "securityContext.capabilities", missing);
	struct http_server_opts ho = { .listen = f->metrics_listen };
	rc = http_server_new(a->base, &ho, &a->http);
	if (rc < 0) {
		log_error(COMPONENT, "cannot listen on %s: %s", f->metrics_listen, strerror(-rc));
		return rc;
	}
	http_server_route(a->http, HTTP_METHOD_GET | HTTP_METHOD_HEAD, "/metrics", serve_metrics, a);
	http_server_route(a->http, HTTP_METHOD_GET | HTTP_METHOD_HEAD, "/healthz", serve_healthz, a);
	http_server_route(a->http, HTTP_METHOD_GET | HTTP_METHOD_HEAD, "/readyz", serve_readyz, a);

	/* The kernel verifies the programs on a thread of the tracer's while this one serves
	 * and reads the binaries to probe (on_loaded takes it from there). */
	struct tracer_opts to = { .proc_root = f->proc_root, .ringbuf_bytes = f->ringbuf_bytes,
				  .load_in_background = 1, .sampler = a->settings->sampler,
				  .targets = a->settings->targets, .on_span = on_span, .ud = a };
	if (a->node) {
		to.select = node_agent_select;
		to.on_span = node_agent_on_span;
		to.ud = a->node;
	}
	rc = tracer_new(&to, &a->tracer);
	if (rc < 0) {
		log_error(COMPONENT, "cannot load the BPF probes: %s", strerror(-rc));
		return rc;
	}
	if (!a->node) {
		/* The settings read so far (the file may have come before the tracer). */
		struct tracer_probes probes;

		agent_settings_tracer_probes(a->settings, &probes);
		tracer_set_probes(a->tracer, 0, &probes);
	}
	if (a->node) {
		node_agent_set_tracer(a->node, a->tracer);
		if ((rc = node_agent_start(a->node)) < 0) {
			log_error(COMPONENT, "cannot watch the API server: %s", strerror(-rc));
			return rc;
		}
	}

	struct timeval scan = ms_tv(f->scan_ms), poll = ms_tv(f->poll_ms);
	a->scan_timer = event_new(a->base, -1, EV_PERSIST, on_scan, a);
	a->poll_timer = event_new(a->base, -1, EV_PERSIST, on_poll, a);
	a->refill_timer = evtimer_new(a->base, on_poll, a);
	a->loaded = event_new(a->base, tracer_loading_fd(a->tracer), EV_READ, on_loaded, a);
	a->sigterm = evsignal_new(a->base, SIGTERM, on_signal, a);
	a->sigint = evsignal_new(a->base, SIGINT, on_signal, a);
	if (!a->scan_timer || !a->poll_timer || !a->refill_timer || !a->loaded || !a->sigterm ||
	    !a->sigint)
		return -ENOMEM;
	event_add(a->scan_timer, &scan);
	event_add(a->poll_timer, &poll);
	event_add(a->loaded, NULL);
	event_add(a->sigterm, NULL);
	event_add(a->sigint, NULL);
	/* The AgentReport: a sidecar's of its pod, a node agent's of its node (over the
	 * Instrumentations its pods use). Without it the agent traces all the same. */
	a->health_src = (struct health_source){ .tracer = &a->tracer, .exporter = &a->exporter,
						.settings = &a->settings, .version = VERSION };
	if (a->node) {
		a->health_src.node = &a->node;
		a->health_src.node_name = f->node_name;
		a->health_src.namespace = f->own_namespace;
		a->health_src.client = a->kube;
	}
	if ((rc = health_agent_start(a->base, &a->health_src, &a->health)) < 0)
		log_warn(COMPONENT, "no health report: %s", strerror(-rc));
	/* The first scan as soon as the loop runs. */
	event_active(a->scan_timer, EV_TIMEOUT, 0);
	if (a->node)
		log_info(COMPONENT, "node agent of %s serving on %s (port %u)", f->node_name,
			 f->metrics_listen, http_server_port(a->http));
	else
		log_info(COMPONENT, "serving on %s (port %u); exporting to %s", f->metrics_listen,
			 http_server_port(a->http), a->settings->exporter.endpoint);
	return 0;
}

static void stop(struct agent *a)
{
	struct event *events[] = { a->scan_timer, a->poll_timer, a->refill_timer, a->loaded,
				   a->wakeup, a->sigterm, a->sigint };

	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (events[i])
			event_free(events[i]);
	a->health = health_agent_free(a->health);
	a->http = http_server_free(a->http);
	a->tracer = tracer_free(a->tracer);
	a->node = node_agent_free(a->node);
	a->kube = kube_client_free(a->kube);
	a->exporter = otlp_exporter_free(a->exporter);
	a->config_watch = file_watch_free(a->config_watch);
	a->metrics = self_metrics_free(a->metrics);
	a->settings = agent_settings_free(a->settings);
}

int main(int argc, char **argv)
{
	struct flags f;
	struct agent a = { 0 };
	int rc;

	log_init_from_env();
	if (parse_flags(argc, argv, &f) < 0)
		return 2;
	a.shutdown_ms = f.shutdown_ms;
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	a.base = event_base_new();
	if (!a.base)
		return 1;
	rc = start(&a, &f);
	if (rc == 0)
		event_base_dispatch(a.base);
	stop(&a);
	event_base_free(a.base);
	curl_global_cleanup();
	return rc < 0 || a.failed ? 1 : 0;
}

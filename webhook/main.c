/* autotrace-webhook: flags and environment, one event loop with the HTTPS admission
 * server, the plain metrics server and the Namespace and Instrumentation caches;
 * SIGTERM stops accepting, lets the requests in flight finish and exits 0. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lib/cli/number.h"
#include "lib/http/server.h"
#include "lib/kube/client.h"
#include "lib/kube/config.h"
#include "lib/log/log.h"
#include "lib/metrics/http_endpoint.h"
#include "lib/metrics/registry.h"
#include "webhook/cache.h"
#include "webhook/options.h"
#include "webhook/server.h"

#define COMPONENT	 "webhook"
#define MAX_EXCLUDED	 32
#define CRD_WARN_AFTER_S 30

struct flags {
	const char *listen, *metrics_listen;
	const char *tls_cert_file, *tls_key_file;
	long tls_reload_ms;
	const char *kubeconfig, *context;
	const char *ns;
	const char *agent_image;
	const char *excluded[MAX_EXCLUDED + 4];
	size_t n_excluded;
	long shutdown_delay_ms, shutdown_grace_ms;
};

struct webhook {
	struct flags f;
	struct webhook_options options;
	struct event_base *base;
	struct kube_client *client;
	struct webhook_cache *cache;
	struct metrics_registry *metrics;
	struct webhook_server *routes;
	struct http_server *https, *http;
	struct event *sigterm, *sigint, *cache_timer, *tls_timer, *delay_timer;
	struct http_tls_stats tls_seen;
	int stopping;
	long waited_s;
};

static void usage(FILE *out)
{
	fputs("usage: autotrace-webhook [options]\n"
	      "  --listen HOST:PORT            HTTPS: /mutate-v1-pod, /healthz, /readyz (default :9443)\n"
	      "  --tls-cert-file FILE          serving certificate chain, PEM; reloaded when it\n"
	      "  --tls-key-file FILE           changes (default /etc/autotrace-webhook/tls/tls.{crt,key})\n"
	      "  --tls-reload-interval-ms MS   how often they are checked (default 1000)\n"
	      "  --metrics-listen HOST:PORT    plain HTTP: /metrics, /healthz, /readyz (default :9465;\n"
	      "                                \"off\" to disable)\n"
	      "  --kubeconfig FILE             else $KUBECONFIG, in-cluster, or ~/.kube/config\n"
	      "  --context NAME                kubeconfig context (default: current)\n"
	      "  --namespace NS                the webhook's own namespace, never injected\n"
	      "                                (default $POD_NAMESPACE, else autotrace-system)\n"
	      "  --exclude-namespace NS        another namespace never injected (repeatable;\n"
	      "                                kube-system, kube-public, kube-node-lease always are)\n"
	      "  --agent-image IMAGE           agent image when an Instrumentation names none\n"
	      "                                (default $AUTOTRACE_AGENT_IMAGE)\n"
	      "  --shutdown-delay-ms MS        after SIGTERM, keep serving (not ready) this long\n"
	      "                                before closing the listener, while the endpoints\n"
	      "                                catch up (default 0)\n"
	      "  --shutdown-grace-ms MS        how long the close waits for requests in flight\n"
	      "                                (default 10000)\n"
	      "  --log-level LEVEL             debug, info, warn, error (default\n"
	      "                                $AUTOTRACE_LOG_LEVEL, else info)\n",
	      out);
}

static int parse_flags(int argc, char **argv, struct flags *f)
{
	enum { O_LISTEN = 256, O_CERT, O_KEY, O_RELOAD, O_METRICS, O_KUBECONFIG, O_CONTEXT,
	       O_NS, O_EXCLUDE, O_IMAGE, O_DELAY, O_GRACE, O_LOG, O_HELP };
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "tls-cert-file", required_argument, NULL, O_CERT },
		{ "tls-key-file", required_argument, NULL, O_KEY },
		{ "tls-reload-interval-ms", required_argument, NULL, O_RELOAD },
		{ "metrics-listen", required_argument, NULL, O_METRICS },
		{ "kubeconfig", required_argument, NULL, O_KUBECONFIG },
		{ "context", required_argument, NULL, O_CONTEXT },
		{ "namespace", required_argument, NULL, O_NS },
		{ "exclude-namespace", required_argument, NULL, O_EXCLUDE },
		{ "agent-image", required_argument, NULL, O_IMAGE },
		{ "shutdown-delay-ms", required_argument, NULL, O_DELAY },
		{ "shutdown-grace-ms", required_argument, NULL, O_GRACE },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "help", no_argument, NULL, O_HELP },
		{ 0 },
	};
	enum log_level level;
	int c;

	f->listen = ":9443";
	f->metrics_listen = ":9465";
	f->tls_cert_file = "/etc/autotrace-webhook/tls/tls.crt";
	f->tls_key_file = "/etc/autotrace-webhook/tls/tls.key";
	f->tls_reload_ms = 1000;
	f->ns = getenv("POD_NAMESPACE") && *getenv("POD_NAMESPACE") ? getenv("POD_NAMESPACE")
								    : "autotrace-system";
	f->agent_image = getenv("AUTOTRACE_AGENT_IMAGE");
	f->shutdown_grace_ms = 10000;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case O_LISTEN: f->listen = optarg; break;
		case O_CERT: f->tls_cert_file = optarg; break;
		case O_KEY: f->tls_key_file = optarg; break;
		case O_RELOAD: bad = cli_parse_long(optarg, 10, &f->tls_reload_ms); break;
		case O_METRICS: f->metrics_listen = optarg; break;
		case O_KUBECONFIG: f->kubeconfig = optarg; break;
		case O_CONTEXT: f->context = optarg; break;
		case O_NS: f->ns = optarg; bad = !*optarg; break;
		case O_EXCLUDE:
			if (f->n_excluded >= MAX_EXCLUDED || !*optarg)
				bad = 1;
			else
				f->excluded[f->n_excluded++] = optarg;
			break;
		case O_IMAGE: f->agent_image = optarg; break;
		case O_DELAY: bad = cli_parse_long(optarg, 0, &f->shutdown_delay_ms); break;
		case O_GRACE: bad = cli_parse_long(optarg, 0, &f->shutdown_grace_ms); break;
		case O_LOG:
			bad = log_level_parse(optarg, &level) < 0;
			if (!bad)
				log_set_level(level);
			break;
		case 'h':
		case O_HELP: usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
		if (bad) {
			fprintf(stderr, "autotrace-webhook: bad value for --%s: %s\n",
				opts[c - O_LISTEN].name, optarg);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	if (f->agent_image && !*f->agent_image)
		f->agent_image = NULL;
	return 0;
}

/* The system namespaces, ours, then --exclude-namespace. */
static void build_options(struct webhook *w)
{
	struct flags *f = &w->f;
	size_t n = 0;
	const char *extra[MAX_EXCLUDED];

	memcpy(extra, f->excluded, f->n_excluded * sizeof(extra[0]));
	for (size_t i = 0; i < 3; i++)
		f->excluded[n++] = webhook_system_namespaces[i];
	f->excluded[n++] = f->ns;
	for (size_t i = 0; i < f->n_excluded; i++)
		f->excluded[n++] = extra[i];
	f->n_excluded = n;
	webhook_options_init(&w->options, f->agent_image);
	w->options.excluded_namespaces = f->excluded;
	w->options.n_excluded_namespaces = n;
}

/* ---- caches -------------------------------------------------------------------- */

static void on_ready(void *ud)
{
	struct webhook *w = ud;
	struct webhook_cache_state ns, inst;

	webhook_cache_state(w->cache, WEBHOOK_CACHE_NAMESPACES, &ns);
	webhook_cache_state(w->cache, WEBHOOK_CACHE_INSTRUMENTATIONS, &inst);
	log_info(COMPONENT, "ready: %zu namespaces and %zu Instrumentations cached", ns.objects,
		 inst.objects);
}

/* Until the caches have listed, opted-in pods are admitted unchanged: say so, and why
 * it may be, every CRD_WARN_AFTER_S seconds. */
static void check_caches(evutil_socket_t fd, short what, void *ud)
{
	struct webhook *w = ud;
	struct timeval again = { 1, 0 };
	struct webhook_cache_state st;

	if (webhook_cache_ready(w->cache))
		return;
	if (++w->waited_s % CRD_WARN_AFTER_S == 0) {
		webhook_cache_state(w->cache, WEBHOOK_CACHE_NAMESPACES, &st);
		if (!st.synced)
			log_warn(COMPONENT, "namespaces not listed after %lds (can the webhook "
				 "reach the API server, may it list namespaces?); opted-in pods "
				 "are admitted unchanged meanwhile", w->waited_s);
		webhook_cache_state(w->cache, WEBHOOK_CACHE_INSTRUMENTATIONS, &st);
		if (!st.synced)
			log_warn(COMPONENT, "Instrumentations not listed after %lds (is the CRD "
				 "instrumentations.autotrace.dev installed, may the webhook list "
				 "them?); opted-in pods are admitted unchanged meanwhile",
				 w->waited_s);
	}
	evtimer_add(w->cache_timer, &again);
}

/* lib/http reloads the certificate by itself and logs at debug only: say here what
 * changed, once per change. */
static void check_tls(evutil_socket_t fd, short what, void *ud)
{
	struct webhook *w = ud;
	struct timeval again = { 1, 0 };
	struct http_tls_stats now;

	http_server_tls_stats(w->https, &now);
	if (now.reloads > w->tls_seen.reloads)
		log_info(COMPONENT, "serving certificate reloaded from %s (valid until %lld); "
			 "new connections use it", w->f.tls_cert_file, (long long)now.not_after);
	if (now.reload_errors > w->tls_seen.reload_errors)
		log_warn(COMPONENT, "%s and %s changed but do not load as a matching pair; "
			 "still serving the previous certificate", w->f.tls_cert_file,
			 w->f.tls_key_file);
	w->tls_seen = now;
	evtimer_add(w->tls_timer, &again);
}

/* ---- shutdown ------------------------------------------------------------------- */

static void drained(void *ud)
{
	struct webhook *w = ud;

	log_info(COMPONENT, "requests in flight finished; exiting");
	event_base_loopbreak(w->base);
}

/* Stop accepting; exit once the requests in flight have their answers. */
static void drain(evutil_socket_t fd, short what, void *ud)
{
	struct webhook *w = ud;

	log_info(COMPONENT, "closing the listener; finishing %zu request(s) in flight",
		 http_server_in_flight(w->https));
	if (http_server_shutdown(w->https, (unsigned)w->f.shutdown_grace_ms, drained, w) < 0)
		event_base_loopbreak(w->base);
}

static void on_signal(evutil_socket_t sig, short what, void *ud)
{
	struct webhook *w = ud;
	struct timeval delay = { w->f.shutdown_delay_ms / 1000,
				 (w->f.shutdown_delay_ms % 1000) * 1000 };

	if (w->stopping++) {
		log_info(COMPONENT, "signal %d again: exiting now", (int)sig);
		event_base_loopbreak(w->base);
		return;
	}
	if (w->f.shutdown_delay_ms <= 0) {
		log_info(COMPONENT, "signal %d: stopping", (int)sig);
		drain(-1, 0, w);
		return;
	}
	/* Kubernetes takes the pod out of the Service's endpoints only after it has been
	 * told to stop: until then the API server still opens connections here. */
	log_info(COMPONENT, "signal %d: not ready any more; serving %ld ms longer", (int)sig,
		 w->f.shutdown_delay_ms);
	webhook_server_set_stopping(w->routes);
	w->delay_timer = evtimer_new(w->base, drain, w);
	if (!w->delay_timer || evtimer_add(w->delay_timer, &delay) < 0)
		drain(-1, 0, w);
}

/* ---- main ----------------------------------------------------------------------- */

static int load_kube_config(const struct flags *f, struct kube_config **ret_cfg)
{
	char buf[600];
	int rc = f->kubeconfig
			 ? kube_config_load_file(f->kubeconfig, f->context, ret_cfg, buf, sizeof(buf))
			 : kube_config_load_default(f->context, ret_cfg, buf, sizeof(buf));

	if (rc < 0)
		log_error(COMPONENT, "kubeconfig: %s", buf);
	return rc;
}

static int start_servers(struct webhook *w)
{
	struct http_server_opts tls = {
		.listen = w->f.listen,
		.tls_cert_file = w->f.tls_cert_file,
		.tls_key_file = w->f.tls_key_file,
		.tls_reload_interval_ms = (unsigned)w->f.tls_reload_ms,
		.max_body_bytes = w->options.max_review_bytes,
	};
	struct http_server_opts plain = { .listen = w->f.metrics_listen };
	int rc;

	if ((rc = http_server_new(w->base, &tls, &w->https)) < 0) {
		log_error(COMPONENT, "HTTPS on %s with %s and %s: %s", w->f.listen,
			  w->f.tls_cert_file, w->f.tls_key_file, strerror(-rc));
		return rc;
	}
	if ((rc = webhook_server_mount_admission(w->routes, w->https)) < 0 ||
	    (rc = metrics_register_tls_stats(w->metrics, w->https, "webhook")) < 0)
		return rc;
	if (strcmp(w->f.metrics_listen, "off") == 0)
		return 0;
	if ((rc = http_server_new(w->base, &plain, &w->http)) < 0) {
		log_error(COMPONENT, "HTTP on %s: %s", w->f.metrics_listen, strerror(-rc));
		return rc;
	}
	return webhook_server_mount_metrics(w->routes, w->http);
}

static int run(struct webhook *w)
{
	struct kube_config *cfg = NULL;
	struct kube_error err;
	struct kube_client_opts co = { .user_agent = "autotrace-webhook" };
	struct webhook_cache_opts cache_opts = { .on_ready = on_ready, .ud = w };
	struct timeval one = { 1, 0 };
	char buf[700];
	int rc;

	build_options(w);
	if ((rc = load_kube_config(&w->f, &cfg)) < 0)
		return rc;
	if ((rc = kube_client_new(cfg, &co, &w->client, &err)) < 0) {
		log_error(COMPONENT, "client: %s", kube_error_format(&err, buf, sizeof(buf)));
		return rc;
	}
	w->base = event_base_new();
	if (!w->base || metrics_registry_new(&w->metrics) < 0)
		return -ENOMEM;
	if ((rc = webhook_cache_new(w->client, w->base, &cache_opts, &w->cache)) < 0)
		return rc;
	struct webhook_server_opts so = { .options = &w->options, .cache = w->cache,
					  .metrics = w->metrics };
	if ((rc = webhook_server_new(&so, &w->routes)) < 0 || (rc = start_servers(w)) < 0)
		return rc;
	w->sigterm = evsignal_new(w->base, SIGTERM, on_signal, w);
	w->sigint = evsignal_new(w->base, SIGINT, on_signal, w);
	w->cache_timer = evtimer_new(w->base, check_caches, w);
	w->tls_timer = evtimer_new(w->base, check_tls, w);
	if (!w->sigterm || !w->sigint || !w->cache_timer || !w->tls_timer ||
	    event_add(w->sigterm, NULL) < 0 || event_add(w->sigint, NULL) < 0 ||
	    evtimer_add(w->cache_timer, &one) < 0 || evtimer_add(w->tls_timer, &one) < 0)
		return -ENOMEM;
	http_server_tls_stats(w->https, &w->tls_seen);
	if ((rc = webhook_cache_start(w->cache)) < 0)
		return rc;
	if (!w->options.agent_image)
		log_warn(COMPONENT, "no --agent-image: pods whose Instrumentation names no "
			 "spec.agent.image are skipped");
	log_info(COMPONENT, "serving admissions on %s (port %u), metrics on %s (port %u); "
		 "namespace %s is never injected",
		 w->f.listen, (unsigned)http_server_port(w->https), w->f.metrics_listen,
		 w->http ? (unsigned)http_server_port(w->http) : 0, w->f.ns);
	event_base_dispatch(w->base);
	return 0;
}

int main(int argc, char **argv)
{
	struct webhook w = { 0 };
	int rc;

	log_init_from_env();
	if (parse_flags(argc, argv, &w.f) < 0)
		return 2;
	rc = run(&w);
	/* Reverse order: servers (their routes read the caches and the registry) first. */
	http_server_free(w.http);
	http_server_free(w.https);
	webhook_server_free(w.routes);
	metrics_registry_free(w.metrics);
	webhook_cache_free(w.cache);
	if (w.cache_timer)
		event_free(w.cache_timer);
	if (w.tls_timer)
		event_free(w.tls_timer);
	if (w.delay_timer)
		event_free(w.delay_timer);
	if (w.sigterm)
		event_free(w.sigterm);
	if (w.sigint)
		event_free(w.sigint);
	if (w.base)
		event_base_free(w.base);
	kube_client_free(w.client);
	return rc < 0 ? 1 : 0;
}

/* autotrace-operator: flags, the event loop, leader election, the reconcile loop, the
 * webhook certificate timer, /metrics, /healthz and /readyz; SIGTERM hands the Lease
 * back. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/cli/number.h"
#include "lib/http/server.h"
#include "lib/kube/client.h"
#include "lib/kube/config.h"
#include "lib/kube/leader.h"
#include "lib/log/log.h"
#include "lib/metrics/http_endpoint.h"
#include "lib/metrics/registry.h"
#include "operator/controller.h"
#include "operator/install_check.h"
#include "operator/uninstall_cleanup.h"
#include "operator/webhook_cert.h"

#define COMPONENT "operator"
#define MAX_IPS	  8

struct flags {
	const char *ns;
	const char *lease_name;
	char identity[256];
	long lease_ms, renew_ms, retry_ms;
	const char *listen;
	long status_delay_ms, secret_retry_ms, report_stale_s;
	int manage_cert;
	const char *webhook_service, *webhook_secret, *webhook_config;
	const char *report_role;
	const char *ips[MAX_IPS + 1];
	size_t n_ips;
	long cert_validity_s, cert_rotate_before_s, cert_check_s;
	int check_install, cleanup;
	const char *webhook_url;
};

struct operator {
	struct flags f;
	struct event_base *base;
	struct kube_client *client;
	struct metrics_registry *metrics;
	struct http_server *http;
	struct controller *ctl;
	struct leader *leader;
	struct event *cert_timer, *sigterm, *sigint;
	int leading;
	unsigned long cert_rotations, cert_errors;
	double cert_not_after;
};

static void usage(FILE *out)
{
	fputs("usage: autotrace-operator [options]\n"
	      "  --namespace NS              the operator's namespace: Lease, webhook Secret\n"
	      "                              (default $POD_NAMESPACE, else autotrace-system)\n"
	      "  --lease-name NAME           default autotrace-operator\n"
	      "  --identity ID               default <hostname>-<pid>\n"
	      "  --lease-duration-ms MS      default 15000 (renew deadline 2/3, retry 1/5 of it)\n"
	      "  --listen HOST:PORT          /metrics, /healthz, /readyz (default :8080)\n"
	      "  --status-delay-ms MS        coalescing of pod events (default 300)\n"
	      "  --secret-retry-ms MS        retry of a missing Secret (default 5000)\n"
	      "  --agent-report-stale-s S    an AgentReport older than this (or 2.5 of its\n"
	      "                              heartbeats) counts as not ready (default 150)\n"
	      "  --agent-report-role NAME    the ClusterRole to bind, in each namespace with\n"
	      "                              sidecars, to its ServiceAccounts so that they write\n"
	      "                              their AgentReports (default: none)\n"
	      "  --no-webhook-cert           do not manage the webhook certificate\n"
	      "  --webhook-service NAME      default autotrace-webhook\n"
	      "  --webhook-secret NAME       default autotrace-webhook-tls\n"
	      "  --webhook-config NAME       MutatingWebhookConfiguration (default autotrace)\n"
	      "  --cert-ip IP                an IP SAN on the serving certificate (repeatable)\n"
	      "  --cert-validity-s S         default 31536000 (one year)\n"
	      "  --cert-rotate-before-s S    default 2592000 (30 days)\n"
	      "  --cert-check-s S            how often the certificate is checked (default 3600)\n"
	      "  --check-install             check the install and exit (what `helm test` runs):\n"
	      "                              the Instrumentation API is served, the webhook\n"
	      "                              answers over TLS trusted by its caBundle\n"
	      "  --cleanup                   remove what the operator wrote and exit (what\n"
	      "                              `helm uninstall` runs once the operator is gone)\n"
	      "  --webhook-url URL           where --check-install reaches the webhook\n"
	      "                              (default https://<webhook-service>.<namespace>.svc)\n"
	      "Kubernetes access: $KUBECONFIG, in-cluster, or ~/.kube/config. Log level:\n"
	      "$AUTOTRACE_LOG_LEVEL.\n",
	      out);
}

static int parse_flags(int argc, char **argv, struct flags *f)
{
	enum { O_NS = 256, O_LEASE, O_ID, O_LEASE_MS, O_LISTEN, O_STATUS, O_SECRET, O_NOCERT,
	       O_SVC, O_WSECRET, O_WCONFIG, O_IP, O_VALID, O_ROTATE, O_CHECK, O_HELP,
	       O_CHECK_INSTALL, O_WEBHOOK_URL, O_CLEANUP, O_STALE, O_ROLE };
	static const struct option opts[] = {
		{ "namespace", required_argument, NULL, O_NS },
		{ "lease-name", required_argument, NULL, O_LEASE },
		{ "identity", required_argument, NULL, O_ID },
		{ "lease-duration-ms", required_argument, NULL, O_LEASE_MS },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "status-delay-ms", required_argument, NULL, O_STATUS },
		{ "secret-retry-ms", required_argument, NULL, O_SECRET },
		{ "agent-report-stale-s", required_argument, NULL, O_STALE },
		{ "agent-report-role", required_argument, NULL, O_ROLE },
		{ "no-webhook-cert", no_argument, NULL, O_NOCERT },
		{ "webhook-service", required_argument, NULL, O_SVC },
		{ "webhook-secret", required_argument, NULL, O_WSECRET },
		{ "webhook-config", required_argument, NULL, O_WCONFIG },
		{ "cert-ip", required_argument, NULL, O_IP },
		{ "cert-validity-s", required_argument, NULL, O_VALID },
		{ "cert-rotate-before-s", required_argument, NULL, O_ROTATE },
		{ "cert-check-s", required_argument, NULL, O_CHECK },
		{ "help", no_argument, NULL, O_HELP },
		{ "check-install", no_argument, NULL, O_CHECK_INSTALL },
		{ "webhook-url", required_argument, NULL, O_WEBHOOK_URL },
		{ "cleanup", no_argument, NULL, O_CLEANUP },
		{ 0 },
	};
	char host[200] = "operator";
	int c;

	f->ns = getenv("POD_NAMESPACE") ? getenv("POD_NAMESPACE") : "autotrace-system";
	f->lease_name = "autotrace-operator";
	gethostname(host, sizeof(host) - 1);
	snprintf(f->identity, sizeof(f->identity), "%s-%ld", host, (long)getpid());
	f->lease_ms = 15000;
	f->listen = ":8080";
	f->manage_cert = 1;
	f->webhook_service = "autotrace-webhook";
	f->webhook_secret = "autotrace-webhook-tls";
	f->webhook_config = "autotrace";
	f->cert_validity_s = WEBHOOK_CERT_DEFAULT_VALIDITY_S;
	f->cert_rotate_before_s = WEBHOOK_CERT_DEFAULT_ROTATE_BEFORE_S;
	f->cert_check_s = 3600;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case O_NS: f->ns = optarg; break;
		case O_LEASE: f->lease_name = optarg; break;
		case O_ID: snprintf(f->identity, sizeof(f->identity), "%s", optarg); break;
		case O_LEASE_MS: bad = cli_parse_long(optarg, 1000, &f->lease_ms); break;
		case O_LISTEN: f->listen = optarg; break;
		case O_STATUS: bad = cli_parse_long(optarg, 1, &f->status_delay_ms); break;
		case O_SECRET: bad = cli_parse_long(optarg, 1, &f->secret_retry_ms); break;
		case O_STALE: bad = cli_parse_long(optarg, 1, &f->report_stale_s); break;
		case O_ROLE: f->report_role = *optarg ? optarg : NULL; break;
		case O_NOCERT: f->manage_cert = 0; break;
		case O_SVC: f->webhook_service = optarg; break;
		case O_WSECRET: f->webhook_secret = optarg; break;
		case O_WCONFIG: f->webhook_config = optarg; break;
		case O_IP:
			if (f->n_ips >= MAX_IPS)
				bad = 1;
			else
				f->ips[f->n_ips++] = optarg;
			break;
		case O_VALID: bad = cli_parse_long(optarg, 60, &f->cert_validity_s); break;
		case O_ROTATE: bad = cli_parse_long(optarg, 1, &f->cert_rotate_before_s); break;
		case O_CHECK: bad = cli_parse_long(optarg, 1, &f->cert_check_s); break;
		case O_CHECK_INSTALL: f->check_install = 1; break;
		case O_WEBHOOK_URL: f->webhook_url = optarg; break;
		case O_CLEANUP: f->cleanup = 1; break;
		case 'h':
		case O_HELP: usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
		if (bad) {
			fprintf(stderr, "autotrace-operator: bad value for --%s: %s\n",
				opts[c - O_NS].name, optarg);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	f->renew_ms = f->lease_ms * 2 / 3;
	f->retry_ms = f->lease_ms / 5;
	return 0;
}

/* ---- webhook certificate -------------------------------------------------------- */

static void cert_check(evutil_socket_t fd, short what, void *ud)
{
	struct operator *op = ud;
	struct webhook_cert_opts o = {
		.ns = op->f.ns, .secret_name = op->f.webhook_secret,
		.service_name = op->f.webhook_service, .webhook_config = op->f.webhook_config,
		.ips = op->f.ips, .validity_s = op->f.cert_validity_s,
		.rotate_before_s = op->f.cert_rotate_before_s,
	};
	struct webhook_cert_result res;
	struct kube_error err;
	struct timeval next = { .tv_sec = op->f.cert_check_s };
	char buf[700];

	if (!op->leading)
		return;
	if (webhook_cert_ensure(op->client, &o, &res, &err) < 0) {
		op->cert_errors++;
		log_warn(COMPONENT, "webhook certificate: %s; retrying in 10s",
			 kube_error_format(&err, buf, sizeof(buf)));
		next.tv_sec = next.tv_sec < 10 ? next.tv_sec : 10;
	} else {
		op->cert_not_after = (double)res.not_after;
		if (res.created || res.rotated) {
			op->cert_rotations++;
			log_info(COMPONENT, "webhook certificate %s in Secret %s/%s, valid until %ld",
				 res.created ? "created" : "rotated", op->f.ns, op->f.webhook_secret,
				 (long)res.not_after);
		}
		if (res.bundle_patched)
			log_info(COMPONENT, "caBundle of MutatingWebhookConfiguration %s updated",
				 op->f.webhook_config);
		/* Check again before it is due: at the rotation time at the latest. */
		long due = (long)(res.not_after - time(NULL) - op->f.cert_rotate_before_s) + 1;
		if (due > 0 && due < next.tv_sec)
			next.tv_sec = due;
		if (res.config_missing && next.tv_sec > 10)
			next.tv_sec = 10; /* the chart may not have created it yet */
	}
	evtimer_add(op->cert_timer, &next);
}

/* ---- leadership ----------------------------------------------------------------- */

static void started_leading(void *ud)
{
	struct operator *op = ud;
	struct timeval now = { 0 };

	log_info(COMPONENT, "leading as %s", op->f.identity);
	op->leading = 1;
	controller_set_leading(op->ctl, 1);
	if (op->cert_timer)
		evtimer_add(op->cert_timer, &now);
}

static void stopped_leading(void *ud)
{
	struct operator *op = ud;

	log_info(COMPONENT, "no longer leading");
	op->leading = 0;
	controller_set_leading(op->ctl, 0);
	if (op->cert_timer)
		evtimer_del(op->cert_timer);
}

static void new_leader(void *ud, const char *identity)
{
	log_info(COMPONENT, "leader is %s", identity);
}

static void on_signal(evutil_socket_t sig, short what, void *ud)
{
	struct operator *op = ud;
	struct kube_error err;

	log_info(COMPONENT, "signal %d: releasing the Lease and stopping", (int)sig);
	if (op->leader)
		leader_release(op->leader, &err);
	event_base_loopbreak(op->base);
}

/* ---- HTTP ----------------------------------------------------------------------- */

static void healthz(struct http_request *req, void *ud)
{
	http_response_printf(req, "ok\n");
}

static void readyz(struct http_request *req, void *ud)
{
	struct operator *op = ud;

	if (!controller_synced(op->ctl)) {
		http_response_set_status(req, 503);
		http_response_printf(req, "caches not synced\n");
		return;
	}
	http_response_printf(req, "ok\n");
}

static double read_depth(void *ud)
{
	struct controller_stats s = controller_stats(((struct operator *)ud)->ctl);
	return (double)(s.queue_depth + s.queue_waiting);
}

static double read_leader(void *ud)
{
	return ((struct operator *)ud)->leading;
}

static double read_rotations(void *ud)
{
	return (double)((struct operator *)ud)->cert_rotations;
}

static double read_cert_errors(void *ud)
{
	return (double)((struct operator *)ud)->cert_errors;
}

static double read_not_after(void *ud)
{
	return ((struct operator *)ud)->cert_not_after;
}

static double read_errors(void *ud)
{
	return (double)controller_stats(((struct operator *)ud)->ctl).errors;
}

static int register_metrics(struct operator *op)
{
	struct {
		int counter;
		struct metrics_opts o;
		metrics_read_fn fn;
	} fams[] = {
		{ 0, { .name = "autotrace_operator_workqueue_depth",
		       .help = "Instrumentations waiting in the work queue (ready or delayed)." },
		  read_depth },
		{ 0, { .name = "autotrace_operator_leader",
		       .help = "1 while this replica holds the Lease." },
		  read_leader },
		{ 1, { .name = "autotrace_operator_reconcile_errors_total",
		       .help = "Reconciles that failed and were retried with backoff." },
		  read_errors },
		{ 1, { .name = "autotrace_operator_webhook_certificate_issued_total",
		       .help = "Webhook certificates created or rotated by this replica." },
		  read_rotations },
		{ 1, { .name = "autotrace_operator_webhook_certificate_errors_total",
		       .help = "Failed checks of the webhook certificate." },
		  read_cert_errors },
		{ 0, { .name = "autotrace_operator_webhook_certificate_expiry_timestamp_seconds",
		       .help = "End of the webhook's serving certificate (Unix time)." },
		  read_not_after },
	};
	int rc;

	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		rc = fams[i].counter
			     ? metrics_counter_fn_new(op->metrics, &fams[i].o, fams[i].fn, op)
			     : metrics_gauge_fn_new(op->metrics, &fams[i].o, fams[i].fn, op);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- main ----------------------------------------------------------------------- */

static int run(struct operator *op)
{
	struct kube_config *cfg = NULL;
	struct kube_error err;
	struct http_server_opts ho = { .listen = op->f.listen };
	struct controller_opts co = { .status_delay_ms = op->f.status_delay_ms,
				      .secret_retry_ms = op->f.secret_retry_ms,
				      .agent_report_stale_s = op->f.report_stale_s,
				      .agent_report_role = op->f.report_role,
				      .agents_namespace = op->f.ns,
				      .identity = op->f.identity };
	struct leader_opts lo = {
		.ns = op->f.ns, .name = op->f.lease_name, .identity = op->f.identity,
		.lease_duration_ms = op->f.lease_ms, .renew_deadline_ms = op->f.renew_ms,
		.retry_period_ms = op->f.retry_ms, .on_started_leading = started_leading,
		.on_stopped_leading = stopped_leading, .on_new_leader = new_leader, .ud = op,
	};
	char buf[600];
	int rc;

	if ((rc = kube_config_load_default(NULL, &cfg, buf, sizeof(buf))) < 0) {
		log_error(COMPONENT, "kubeconfig: %s", buf);
		return rc;
	}
	if ((rc = kube_client_new(cfg, NULL, &op->client, &err)) < 0) {
		log_error(COMPONENT, "client: %s", kube_error_format(&err, buf, sizeof(buf)));
		return rc;
	}
	op->base = event_base_new();
	if (!op->base || metrics_registry_new(&op->metrics) < 0)
		return -ENOMEM;
	co.metrics = op->metrics;
	if ((rc = http_server_new(op->base, &ho, &op->http)) < 0) {
		log_error(COMPONENT, "listen on %s: %s", op->f.listen, strerror(-rc));
		return rc;
	}
	if ((rc = metrics_http_mount(op->metrics, op->http, NULL)) < 0 ||
	    (rc = http_server_route(op->http, HTTP_METHOD_GET, "/healthz", healthz, op)) < 0 ||
	    (rc = http_server_route(op->http, HTTP_METHOD_GET, "/readyz", readyz, op)) < 0)
		return rc;
	if ((rc = controller_new(op->client, op->base, &co, &op->ctl)) < 0 ||
	    (rc = register_metrics(op)) < 0) {
		log_error(COMPONENT, "controller: %s", strerror(-rc));
		return rc;
	}
	if (op->f.manage_cert && !(op->cert_timer = evtimer_new(op->base, cert_check, op)))
		return -ENOMEM;
	op->sigterm = evsignal_new(op->base, SIGTERM, on_signal, op);
	op->sigint = evsignal_new(op->base, SIGINT, on_signal, op);
	if (!op->sigterm || !op->sigint || event_add(op->sigterm, NULL) < 0 ||
	    event_add(op->sigint, NULL) < 0)
		return -ENOMEM;
	if ((rc = controller_start(op->ctl)) < 0)
		return rc;
	if ((rc = leader_new(op->client, op->base, &lo, &op->leader)) < 0 ||
	    (rc = leader_start(op->leader)) < 0) {
		log_error(COMPONENT, "leader election: %s", strerror(-rc));
		return rc;
	}
	log_info(COMPONENT, "started as %s; Lease %s/%s; serving on %s (port %u)",
		 op->f.identity, op->f.ns, op->f.lease_name, op->f.listen,
		 (unsigned)http_server_port(op->http));
	event_base_dispatch(op->base);
	return 0;
}

int main(int argc, char **argv)
{
	struct operator op = { 0 };
	int rc;

	log_init_from_env();
	if (parse_flags(argc, argv, &op.f) < 0)
		return 2;
	if (op.f.check_install) {
		struct install_check_opts o = { .ns = op.f.ns, .webhook_service = op.f.webhook_service,
						.webhook_config = op.f.webhook_config,
						.webhook_url = op.f.webhook_url };
		return install_check_run(&o);
	}
	if (op.f.cleanup)
		return uninstall_cleanup_run(op.f.ns);
	rc = run(&op);
	leader_free(op.leader);
	controller_free(op.ctl);
	if (op.cert_timer)
		event_free(op.cert_timer);
	if (op.sigterm)
		event_free(op.sigterm);
	if (op.sigint)
		event_free(op.sigint);
	http_server_free(op.http);
	metrics_registry_free(op.metrics);
	if (op.base)
		event_base_free(op.base);
	kube_client_free(op.client);
	return rc < 0 ? 1 : 0;
}

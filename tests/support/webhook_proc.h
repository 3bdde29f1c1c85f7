/* The real autotrace-webhook binary as tests and benchmarks run it: its own CA and a
 * serving certificate (SAN IP:127.0.0.1) published the way a Secret volume is
 * (tests/support/secretdir.h), free loopback ports, stderr into a log file under
 * build/, and the MutatingWebhookConfiguration that sends pod creations to it.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_TESTS_SUPPORT_WEBHOOK_PROC_H
#define AUTOTRACE_TESTS_SUPPORT_WEBHOOK_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "lib/kube/client.h"
#include "tests/support/testcert.h"

struct webhook_proc {
	char dir[512];	     /* build/<name>: certificates, log */
	char ca_file[600];   /* the CA the API server and clients trust */
	char cert_dir[600];  /* tls.crt and tls.key, swapped like a Secret volume */
	char log_file[600];  /* the daemon's stderr (appended across restarts) */
	uint16_t port;	     /* HTTPS */
	uint16_t metrics_port;
	pid_t pid;	     /* 0 when not running */
	int cpu;	     /* >= 0: the daemon is pinned to this CPU */
	char agent_image[128];
	char ns[64];	     /* its --namespace */
	char log_level[16];
	const char *const *extra_args;
	struct testcert_ca *ca;
	int certs_issued;
};

struct webhook_proc_opts {
	const char *name;	 /* folder under build/; required */
	const char *agent_image; /* NULL: registry.invalid/autotrace-agent:test */
	const char *ns;		 /* the webhook's namespace; NULL: autotrace-system */
	int cpu;		 /* -1: not pinned */
	const char *log_level;	 /* NULL: $WEBHOOK_LOG_LEVEL, else info */
	/* More flags, NULL-terminated (borrowed: must outlive w, restarts use them). */
	const char *const *extra_args;
};

/* Makes the CA and the first certificate, picks ports, starts the daemon and waits
 * (up to timeout_ms) until its metrics port answers /healthz. The binary is
 * $WEBHOOK_BIN, else bin/autotrace-webhook. */
int webhook_proc_start(struct webhook_proc *w, const struct webhook_proc_opts *opts,
		       long timeout_ms);
/* Starts the daemon again with the same ports and certificates. */
int webhook_proc_restart(struct webhook_proc *w, long timeout_ms);
/* Waits until /readyz answers 200. */
int webhook_proc_wait_ready(struct webhook_proc *w, long timeout_ms);
/* Sends sig; with wait, waits for the exit and returns its status (as waitpid). */
int webhook_proc_signal(struct webhook_proc *w, int sig, int wait, int *ret_status);
/* Stops the daemon (SIGTERM, then SIGKILL after 5 s) and frees the CA; accepts a
 * zeroed w. */
void webhook_proc_stop(struct webhook_proc *w);

/* Issues a new serving certificate valid for `days` and swaps it in. */
int webhook_proc_rotate(struct webhook_proc *w, int days);

/* GETs path from the metrics port (plain HTTP); *ret_body new, NUL terminated. */
int webhook_proc_get(struct webhook_proc *w, const char *path, long *ret_code,
		     char **ret_body);
/* The value of one series of /metrics, named exactly as exposed, e.g.
 * autotrace_webhook_admissions_total{result="injected",reason="sidecar"}; -ENOENT
 * when absent. */
int webhook_proc_metric(struct webhook_proc *w, const char *series, double *ret_value);
/* The daemon's resident set size in KiB (VmRSS). */
long webhook_proc_rss_kb(const struct webhook_proc *w);
/* Any "<field>: N kB" line of the daemon's /proc status (RssAnon, RssFile, ...); -1. */
long webhook_proc_status_kb(const struct webhook_proc *w, const char *field);

/* Creates (replacing) the MutatingWebhookConfiguration `name` that sends pod
 * CREATEs to the daemon: failurePolicy Ignore, sideEffects None, reinvocationPolicy
 * IfNeeded, timeoutSeconds as given, and namespaceSelector (borrowed; NULL: every
 * namespace but kube-system, kube-public and kube-node-lease). */
int webhook_proc_register(struct kube_client *c, const struct webhook_proc *w, const char *name,
			  int timeout_s, const json_t *namespace_selector);
/* The same for another server at `url` that trusts w's certificates (hook_name: the
 * webhook's name inside the configuration). */
int webhook_proc_register_url(struct kube_client *c, const struct webhook_proc *w,
			      const char *name, const char *hook_name, const char *url,
			      int timeout_s, const json_t *namespace_selector);
void webhook_proc_unregister(struct kube_client *c, const char *name);

/* The name of the webhook inside its configuration (for the API server's metrics). */
#define WEBHOOK_PROC_HOOK_NAME "pods.autotrace.dev"

#endif

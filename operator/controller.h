/* The reconcile loop of autotrace-operator: informers on Instrumentations, Namespaces,
 * the ConfigMaps it manages (label app.kubernetes.io/managed-by=autotrace) and injected
 * pods only (label autotrace.dev/injected=true, so memory grows with instrumented pods,
 * not with the cluster); a rate-limited work queue keyed by Instrumentation
 * ("ns/name"); and for each key, one reconcile:
 *
 *   1. render the Instrumentation into the agent config (Secret header values read
 *      from the API server); a missing Secret keeps the last good config in place and
 *      retries;
 *   2. write the ConfigMap into every namespace that uses it (operator/usage.h), only
 *      where its content differs; owned by the Instrumentation in its own namespace;
 *      removed from the other namespaces that no longer use it;
 *   3. compute the status (operator/status.h) and write it only when it changed; pod
 *      events reach the queue after status_delay_ms, so a burst of pod changes makes one
 *      status write, not one per pod;
 *   4. record Events a user should see (config published, Secret not found, invalid
 *      spec) when they happen, not at every pass.
 *
 * Apart from that loop, it keeps the label autotrace.dev/inject-enabled=true on every
 * namespace whose annotation opts in and off every other (lib/instrumentation/optin.h,
 * the rule the webhook applies), one patch per namespace whose label differs, so that
 * the webhook registration can select those namespaces by label.
 *
 * Informers run on every replica (a standby has warm caches); only the leader
 * processes the queue and writes.
 * Errors: 0 or a negative errno. Runs on the loop's thread. */
#ifndef AUTOTRACE_OPERATOR_CONTROLLER_H
#define AUTOTRACE_OPERATOR_CONTROLLER_H

#include "lib/kube/client.h"
#include <event2/event.h>
#include "lib/metrics/registry.h"

struct controller;

struct controller_opts {
	long status_delay_ms;	/* coalescing of pod events; default 300 */
	long secret_retry_ms;	/* retry of a missing Secret; default 5000 */
	long resync_ms;		/* every Instrumentation reconciled again (picks up changed
				 * Secret values); default 300000 */
	long agent_report_stale_s; /* an AgentReport older than this (or 2.5 of its
				    * heartbeats) counts as not ready; default 150 */
	/* The ClusterRole that lets a sidecar write its AgentReport, bound in each
	 * namespace that gets a sidecar-mode Instrumentation's ConfigMap
	 * (operator/report_binding.h); NULL: no bindings. */
	const char *agent_report_role;
	/* Where node agents run and write their reports (the operator's namespace, as
	 * the chart installs them): a report of mode "node" elsewhere is not counted, since
	 * the ServiceAccounts of namespaces with sidecars may write reports there. NULL:
	 * anywhere. */
	const char *agents_namespace;
	const char *identity;	/* reportingInstance of Events */
	struct metrics_registry *metrics; /* may be NULL */
};

struct controller_stats {
	unsigned long reconciles;
	unsigned long errors;
	unsigned long configmap_writes;
	unsigned long configmap_deletes;
	unsigned long status_writes;
	unsigned long events;
	unsigned long namespace_label_writes;
	size_t queue_depth;
	size_t queue_waiting;
};

/* Borrows c and base, which must outlive the controller. */
int controller_new(struct kube_client *c, struct event_base *base,
		   const struct controller_opts *opts, struct controller **ret_ctl);
/* Starts the informers. */
int controller_start(struct controller *ctl);
/* Leading: process the queue (every Instrumentation is queued once); not leading:
 * process nothing and forget what was written. */
void controller_set_leading(struct controller *ctl, int leading);
/* Every informer has listed once. */
int controller_synced(const struct controller *ctl);
struct controller_stats controller_stats(const struct controller *ctl);
struct controller *controller_free(struct controller *ctl);

#endif

/* The agent's /metrics: its own autotrace_agent_* families, mirrored from the tracer's
 * and the exporter's counters at each scrape, the exporter's latency histogram, and
 * the RED histogram of every traced request. Runs on the event loop's thread.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_SELF_METRICS_H
#define AUTOTRACE_AGENT_SELF_METRICS_H

#include "agent/prom_text.h"
#include "agent/tracer.h"
#include "lib/otlp/exporter.h"

struct self_metrics;

int self_metrics_new(struct self_metrics **ret);
struct self_metrics *self_metrics_free(struct self_metrics *m);

/* The config in force, and whether the last file read was refused. */
void self_metrics_config(struct self_metrics *m, const char *revision, const char *instrumentation,
			 int last_load_failed);
void self_metrics_config_error(struct self_metrics *m);

/* Reads the counters now and writes the whole exposition into out. `t` or `ex` may be
 * NULL (not started yet). */
int self_metrics_scrape(struct self_metrics *m, struct tracer *t, struct otlp_exporter *ex,
			struct prom_text *out);
/* The same with the exporters' counters already read (a node agent's, summed over its
 * Instrumentations' exporters); e may be NULL. */
int self_metrics_scrape_stats(struct self_metrics *m, struct tracer *t,
			      const struct otlp_exporter_stats *e, struct prom_text *out);
/* Pods traced now: a node agent's count. A sidecar's is its own pod, once it traces a
 * process, unless this was called. */
void self_metrics_pods(struct self_metrics *m, uint64_t pods);

#endif

/* What a pod belongs to and what it is called, read from the pod alone (no API calls;
 * the webhook for a sidecar's resource, the node agent for a pod it traces):
 * its owning workloads from ownerReferences, and the service name OTel expects.
 * Errors are 0 or a negative errno. */
#ifndef AUTOTRACE_INSTRUMENTATION_WORKLOAD_H
#define AUTOTRACE_INSTRUMENTATION_WORKLOAD_H

#include <jansson.h>

#include "lib/instrumentation/naming.h"

#define ANNOTATION_OTEL_SERVICE_NAME "resource.opentelemetry.io/service.name"
#define LABEL_APP_NAME		     "app.kubernetes.io/name"

/* The owner chain, as far as the pod's own fields tell it; "" where unknown. A
 * Deployment is the ReplicaSet's name without its "-<pod-template-hash>" suffix (the
 * pod carries that label); a CronJob is the Job's name without its "-<scheduled
 * minute>" suffix (eight or more digits). */
struct workload {
	char replicaset[K8S_SUBDOMAIN_MAX + 1];
	char deployment[K8S_SUBDOMAIN_MAX + 1];
	char statefulset[K8S_SUBDOMAIN_MAX + 1];
	char daemonset[K8S_SUBDOMAIN_MAX + 1];
	char job[K8S_SUBDOMAIN_MAX + 1];
	char cronjob[K8S_SUBDOMAIN_MAX + 1];
};

void workload_from_pod(const json_t *pod, struct workload *ret);

/* The top of the chain (deployment, statefulset, daemonset, cronjob, job, replicaset),
 * borrowed from w; NULL when the pod has no known owner. */
const char *workload_top_name(const struct workload *w);

/* The service name: the resource.opentelemetry.io/service.name annotation, else the
 * app.kubernetes.io/name label, else the top workload's name, else the pod's name
 * (NULL when the pod has no name yet: it is named by generateName after admission,
 * and the caller falls back to the downward API). Borrowed from pod or w. */
const char *workload_service_name(const json_t *pod, const struct workload *w);

#endif

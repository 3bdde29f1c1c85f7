/* Names shared by the operator (which publishes an Instrumentation's agent config) and
 * the webhook (which mounts it): one rule, in one place, so the two cannot drift.
 * Errors are 0 or a negative errno. */
#ifndef AUTOTRACE_INSTRUMENTATION_NAMING_H
#define AUTOTRACE_INSTRUMENTATION_NAMING_H

#include <stddef.h>

/* Kubernetes name limits (DNS-1123 label and subdomain). */
#define K8S_LABEL_MAX	  63
#define K8S_SUBDOMAIN_MAX 253

/* Buffer size that holds any name instrumentation_configmap_name() writes. */
#define INSTRUMENTATION_CONFIGMAP_NAME_SIZE (K8S_SUBDOMAIN_MAX + 1)

/* The key of the agent config inside that ConfigMap, and where the agent finds it. */
#define INSTRUMENTATION_CONFIG_KEY	  "config.json"
#define INSTRUMENTATION_CONFIG_MOUNT_DIR  "/etc/autotrace"
#define INSTRUMENTATION_CONFIG_FILE	  "/etc/autotrace/config.json"
/* Set by the webhook on every application container of an injected pod, read by the
 * agent from a process's environment: /proc does not name containers. */
#define INSTRUMENTATION_CONTAINER_NAME_ENV "AUTOTRACE_CONTAINER_NAME"

/* The name of the ConfigMap that carries the agent config of Instrumentation
 * <ns>/<name>, in every namespace whose pods use it.
 *
 * Rule: "autotrace.<ns>.<name>" when that fits in 253 characters. A namespace is a
 * DNS-1123 label and has no '.', so the first '.' after "autotrace." ends the
 * namespace and two different (ns, name) pairs never give the same name. Longer pairs
 * (rare: name over ~180 characters) give "autotrace-<sha256 of "ns/name" in hex>.<the
 * start of ns.name>": the '-' after "autotrace" keeps the two forms apart, and the
 * full 256-bit hash keeps long pairs apart. Both are valid DNS-1123 subdomains.
 *
 * buf must hold INSTRUMENTATION_CONFIGMAP_NAME_SIZE bytes. -EINVAL when ns is not a
 * DNS-1123 label or name not a DNS-1123 subdomain; -ENOBUFS when buf is too small. */
int instrumentation_configmap_name(const char *ns, const char *name, char *buf, size_t size);

/* Is s a DNS-1123 label (namespace names) / subdomain (most object names)? */
int k8s_is_dns1123_label(const char *s);
int k8s_is_dns1123_subdomain(const char *s);

#endif

/* The agent sidecar as Kubernetes objects: its container and its config volume.
 * Errors are 0 or a negative errno. */
#ifndef AUTOTRACE_WEBHOOK_SIDECAR_H
#define AUTOTRACE_WEBHOOK_SIDECAR_H

#include <jansson.h>

#define AGENT_CONTAINER_NAME "autotrace-agent"
#define AGENT_CONFIG_VOLUME  "autotrace-config"
/* A port name is an IANA service name: 15 characters at most. */
#define AGENT_PORT_NAME	     "autotrace"
#define AGENT_READY_PATH     "/readyz"

struct sidecar_input {
	const char *image;
	const json_t *resources; /* borrowed; NULL: the built-in requests and limits */
	json_t *env;		 /* stolen: the EnvVar array */
	int port;
	const json_t *token_mount; /* borrowed; NULL: none (see sidecar_token_mount) */
};

/* Where Kubernetes mounts a pod's ServiceAccount token in each container. */
#define SERVICE_ACCOUNT_MOUNT_PATH "/var/run/secrets/kubernetes.io/serviceaccount"

/* The application's mount of the pod's ServiceAccount token (borrowed), or NULL. The
 * ServiceAccount admission plugin ran before the webhook and gave every container one;
 * the sidecar gets the same, or the plugin, run again after our patch, would add it
 * and make the API server call the webhook a second time for every pod
 * (reinvocationPolicy IfNeeded). */
const json_t *sidecar_token_mount(const json_t *pod);

/* A new Container object (caller owns it). The container is a native sidecar: it is
 * meant for spec.initContainers with restartPolicy Always, so it starts before the
 * application's containers (tracing from their first second) and never keeps a Job's
 * pod from completing. Least privilege: not privileged, no privilege escalation,
 * read-only root, root user (BPF needs it), and only the capabilities in
 * agent_capabilities. */
int sidecar_container_new(const struct sidecar_input *in, json_t **ret_container);

/* A new Volume object for the agent config ConfigMap, optional so that a pod never
 * waits for it. */
int sidecar_config_volume_new(const char *configmap_name, json_t **ret_volume);

/* The capabilities the agent keeps (all others dropped): the one list, here.
 * BPF: load programs and maps; PERFMON: uprobes through perf_event_open; SYS_PTRACE:
 * read other processes' /proc/<pid>/exe, maps and memory in the shared PID namespace.
 * No SYS_RESOURCE: these kernels (5.11+) charge BPF memory to the cgroup, not to
 * RLIMIT_MEMLOCK, and libbpf does not raise the limit there. */
extern const char *const agent_capabilities[3];

#endif

/* Where the API server is and who we are to it: kubeconfig files (current or named
 * context) and the in-cluster service account. TLS verification is always on: a
 * kubeconfig that asks to skip it is refused, as is one with an auth method we do not
 * implement (exec, auth-provider), so a user never runs unauthenticated by surprise.
 *
 * Errors: 0 or a negative errno; on failure `errbuf` gets a message that names the
 * file and the field, e.g. "users[0].user.client-key-data: not valid base64". */
#ifndef AUTOTRACE_KUBE_CONFIG_H
#define AUTOTRACE_KUBE_CONFIG_H

#include <stddef.h>

struct kube_config {
	char *server;              /* "https://host:port", no trailing slash */
	char *ca_file;             /* CA as a file path, or ... */
	unsigned char *ca_pem;     /* ... as PEM bytes (certificate-authority-data) */
	size_t ca_pem_len;
	char *client_cert_file;
	unsigned char *client_cert_pem;
	size_t client_cert_pem_len;
	char *client_key_file;
	unsigned char *client_key_pem;
	size_t client_key_pem_len;
	char *token;               /* bearer token, or ... */
	char *token_file;          /* ... a file re-read when it changes (rotated tokens) */
	char *namespace;           /* the context's namespace, "default" when unset */
	char *context;             /* the context used; NULL in-cluster */
};

/* Largest kubeconfig we read: real ones are a few KiB. */
#define KUBE_CONFIG_MAX_BYTES (1024 * 1024)

/* Parses kubeconfig YAML. `context` NULL means current-context. `base_dir` resolves
 * relative file paths (the kubeconfig's folder; NULL for the working directory).
 * On success *ret_cfg is a new config the caller frees with kube_config_free(). */
int kube_config_parse(const char *yaml, size_t len, const char *context, const char *base_dir,
		      struct kube_config **ret_cfg, char *errbuf, size_t errlen);

/* Reads and parses a kubeconfig file. Same ownership as kube_config_parse(). */
int kube_config_load_file(const char *path, const char *context,
			  struct kube_config **ret_cfg, char *errbuf, size_t errlen);

/* In-cluster config from KUBERNETES_SERVICE_HOST/PORT and the service account files
 * in `sa_dir` (NULL: /var/run/secrets/kubernetes.io/serviceaccount). */
int kube_config_in_cluster(const char *sa_dir, struct kube_config **ret_cfg,
			   char *errbuf, size_t errlen);

/* The usual order: $KUBECONFIG, else in-cluster when KUBERNETES_SERVICE_HOST is set,
 * else ~/.kube/config. */
int kube_config_load_default(const char *context, struct kube_config **ret_cfg,
			     char *errbuf, size_t errlen);

/* Frees everything; accepts NULL; returns NULL. */
struct kube_config *kube_config_free(struct kube_config *cfg);

#endif

/* The agent config: what an Instrumentation means for one agent, as the JSON file the
 * agent reads (key config.json of the ConfigMap the operator publishes, mounted at
 * INSTRUMENTATION_CONFIG_FILE). The operator renders it; the agent parses it back and
 * applies a new revision live.
 *
 *   {"revision": "<16 hex digits>", "instrumentation": "<ns>/<name>",
 *    "exporter": {"endpoint", "protocol", "headers": {name: value}, "timeoutMs",
 *                 "tls": {"insecureSkipVerify", "caPem"?}},
 *    "sampler": {"type", "ratio"}, "propagators": [...], "resourceAttributes": {...},
 *    "targets": {"containerNames": [...], "executable"?},
 *    "probes": {"httpServer": {"enabled"}, ..., "databaseSql": {"enabled", "queryText"}}}
 *    (a bare boolean per probe, as earlier operators wrote it, is read too)
 *
 * Rendering fills in every default, so an agent never guesses; it is deterministic (keys
 * sorted, fixed number format: the same input gives the same bytes) and the revision is
 * the start of the SHA-256 of the rest of the content, so it changes exactly when the
 * content does. Parsing is bounded (AGENT_CONFIG_MAX_BYTES, the same limits as the CRD)
 * and checks every field; keys it does not know are ignored, so an older agent reads a
 * newer operator's file.
 * Errors: 0 or a negative errno; on -EINVAL `err` names the field and says what is wrong. */
#ifndef AUTOTRACE_INSTRUMENTATION_AGENT_CONFIG_H
#define AUTOTRACE_INSTRUMENTATION_AGENT_CONFIG_H

#include <stddef.h>
#include <jansson.h>

#include "lib/instrumentation/spec.h"

#define AGENT_CONFIG_MAX_BYTES	    (512 * 1024)
#define AGENT_CONFIG_REVISION_LEN   16
#define AGENT_CONFIG_DEFAULT_ENDPOINT "http://localhost:4318"
#define AGENT_CONFIG_DEFAULT_PROTOCOL "http/protobuf"
#define AGENT_CONFIG_DEFAULT_SAMPLER  "parentbased_always_on"
#define AGENT_CONFIG_DEFAULT_TIMEOUT_MS 10000

/* Looks up key `key` of Secret `secret` in the Instrumentation's namespace.
 * 0 with *ret_value a new string (malloc'd; the renderer frees it), -ENOENT when the
 * Secret or the key does not exist, another negative errno when the lookup failed. */
typedef int (*agent_config_secret_fn)(void *ud, const char *secret, const char *key,
				      char **ret_value);

struct agent_config_render_opts {
	agent_config_secret_fn secret_value; /* NULL: any Secret reference fails -ENOENT */
	void *ud;
};

/* Renders `spec` into *ret_json (a new NUL-terminated string; free()) and its revision
 * into ret_revision (AGENT_CONFIG_REVISION_LEN + 1 bytes). A header or TLS Secret that
 * cannot be read gives the lookup's error and `err` names the reference
 * ("spec.exporter.headers[1]: Secret otel key token: not found"). */
int agent_config_render(const struct instrumentation_spec *spec,
			const struct agent_config_render_opts *opts, char **ret_json,
			char ret_revision[AGENT_CONFIG_REVISION_LEN + 1], char *err,
			size_t err_size);

enum agent_protocol { AGENT_PROTOCOL_PROTOBUF, AGENT_PROTOCOL_JSON };

#define AGENT_CONFIG_MAX_PROBES 16

/* A parsed config. Strings borrow from `root`, which it owns. */
struct agent_config {
	json_t *root;
	const char *revision;
	const char *instrumentation; /* "ns/name" */

	const char *endpoint;
	enum agent_protocol protocol;
	const json_t *headers;	     /* object of string values */
	long long timeout_ms;
	int tls_insecure_skip_verify;
	const char *tls_ca_pem;	     /* NULL: the system's CAs */

	const char *sampler_type;
	double sampler_ratio;

	const char *propagators[INSTRUMENTATION_MAX_PROPAGATORS];
	size_t n_propagators;
	const json_t *resource_attributes; /* object of string values */

	const char *container_names[INSTRUMENTATION_MAX_CONTAINERS];
	size_t n_container_names;
	const char *executable; /* NULL: any */

	/* Probe names (instrumentation_probe_names) that are on. */
	const char *probes_on[AGENT_CONFIG_MAX_PROBES];
	size_t n_probes_on;
	struct instrumentation_probes probes; /* the same, and the query-text setting */
};

/* Parses `len` bytes of config JSON into *ret (release with agent_config_clear). */
int agent_config_parse(const char *data, size_t len, struct agent_config *ret, char *err,
		       size_t err_size);
void agent_config_clear(struct agent_config *cfg);
/* Is probe `name` on? */
int agent_config_probe_on(const struct agent_config *cfg, const char *name);

#endif

/* Agent config bytes → the checked config the agent applies; and an Instrumentation →
 * its rendered config → parsed back. Whatever the bytes: no crash, no leak, and every
 * config the operator renders from a spec that passed its checks is one the agent
 * accepts, rendered the same way twice. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/instrumentation/agent_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every Secret key holds a value derived from its name, so lookups are deterministic. */
static int secret_value(void *ud, const char *secret, const char *key, char **ret_value)
{
	if (strcmp(key, "missing") == 0)
		return -ENOENT;
	if (strcmp(key, "ca.crt") == 0)
		*ret_value = strdup("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n");
	else
		*ret_value = strdup(secret);
	return *ret_value ? 0 : -ENOMEM;
}

static void roundtrip(json_t *cr)
{
	struct instrumentation_spec spec;
	struct agent_config_render_opts o = { .secret_value = secret_value };
	struct agent_config cfg;
	char err[256], rev1[AGENT_CONFIG_REVISION_LEN + 1], rev2[AGENT_CONFIG_REVISION_LEN + 1];
	char *a = NULL, *b = NULL;

	if (instrumentation_spec_parse(cr, &spec, err, sizeof(err)) != 0)
		return;
	if (agent_config_render(&spec, &o, &a, rev1, err, sizeof(err)) == 0) {
		if (agent_config_parse(a, strlen(a), &cfg, err, sizeof(err)) != 0)
			abort();
		if (strcmp(cfg.revision, rev1) != 0)
			abort();
		agent_config_clear(&cfg);
		if (agent_config_render(&spec, &o, &b, rev2, err, sizeof(err)) != 0 ||
		    strcmp(a, b) != 0)
			abort();
	}
	free(a);
	free(b);
	instrumentation_spec_clear(&spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config cfg;
	char err[256];
	json_t *cr;

	if (agent_config_parse((const char *)data, size, &cfg, err, sizeof(err)) == 0) {
		if (!cfg.revision || !cfg.endpoint || !cfg.sampler_type)
			abort();
		agent_config_clear(&cfg);
	}
	if (size > 64 * 1024)
		return 0;
	cr = json_loadb((const char *)data, size, 0, NULL);
	if (cr)
		roundtrip(cr);
	json_decref(cr);
	return 0;
}

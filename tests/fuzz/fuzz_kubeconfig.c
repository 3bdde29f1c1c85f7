/* kubeconfig bytes → config or a clear error; never a crash, leak or overread. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/kube/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_config *cfg = NULL;
	char err[256];

	/* The first byte picks a named context or the current one. */
	const char *context = size > 0 && (data[0] & 1) ? "dev" : NULL;
	if (kube_config_parse((const char *)data, size, context, "/base", &cfg, err, sizeof(err)) == 0) {
		if (!cfg->server || strncmp(cfg->server, "https://", 8) != 0 || !cfg->namespace)
			__builtin_trap();
		kube_config_free(cfg);
	} else if (cfg) {
		__builtin_trap(); /* out-parameters are written only on success */
	} else if (!memchr(err, '\0', sizeof(err)) || err[0] == '\0') {
		__builtin_trap(); /* every failure says why */
	}
	return 0;
}

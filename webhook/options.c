#include "webhook/options.h"

#include <string.h>

const char *const webhook_system_namespaces[3] = { "kube-system", "kube-public",
						    "kube-node-lease" };

void webhook_options_init(struct webhook_options *o, const char *agent_image)
{
	memset(o, 0, sizeof(*o));
	o->agent_image = agent_image;
	o->excluded_namespaces = webhook_system_namespaces;
	o->n_excluded_namespaces = 3;
	o->metrics_port = WEBHOOK_DEFAULT_METRICS_PORT;
	o->max_review_bytes = WEBHOOK_DEFAULT_MAX_REVIEW_BYTES;
}

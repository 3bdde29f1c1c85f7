/* The Secret values an agent config refers to (exporter headers and TLS), read from
 * the API server when a reconcile renders the config. */
#include "operator/controller_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/kube/api.h"
#include "lib/text/base64.h"

/* No Secret informer: the operator needs a few Secrets, not every Secret of the
 * cluster in memory. */
int controller_secret_value(void *ud, const char *secret, const char *key, char **ret_value)
{
	const struct secret_scope *scope = ud;
	struct controller *ctl = scope->ctl;
	struct kube_ref ref = { .res = &KUBE_SECRETS, .ns = scope->ns, .name = secret };
	json_t *obj = NULL;
	const char *b64;
	unsigned char *out = NULL;
	size_t n;
	int rc;

	rc = kube_get(ctl->client, &ref, &obj, NULL);
	if (rc < 0)
		return rc;
	b64 = json_string_value(json_object_get(json_object_get(obj, "data"), key));
	if (!b64) {
		rc = -ENOENT;
		goto out;
	}
	if ((rc = base64_decode(b64, &out, &n)) < 0)
		goto out;
	if (strlen((char *)out) != n) {
		rc = -EINVAL; /* a NUL inside: not text */
		goto out;
	}
	*ret_value = (char *)out;
	out = NULL;
	rc = 0;
out:
	free(out);
	json_decref(obj);
	return rc;
}

/* `autotrace-operator --cleanup` (see uninstall_cleanup.h). */
#include <errno.h>
#include <stdio.h>

#include <jansson.h>

#include "lib/instrumentation/optin.h"
#include "lib/kube/api.h"
#include "lib/kube/config.h"
#include "operator/publish.h"
#include "operator/uninstall_cleanup.h"

/* Deletes every object of `res` in `ns` (NULL: all namespaces) matching `selector`;
 * returns how many could not be deleted. */
static int delete_all(struct kube_client *c, const struct kube_resource *res, const char *ns,
		      const char *what)
{
	struct kube_ref all = { .res = res, .ns = ns };
	struct kube_list_opts lo = { .label_selector = PUBLISH_SELECTOR };
	struct kube_error err;
	json_t *items = NULL, *obj;
	size_t i;
	char buf[600];
	int failed = 0, deleted = 0;

	if (kube_list_all(c, &all, &lo, &items, NULL, &err) < 0) {
		printf("FAIL listing %s: %s\n", what, kube_error_format(&err, buf, sizeof(buf)));
		return 1;
	}
	json_array_foreach(items, i, obj) {
		struct kube_ref one = { .res = res, .ns = kube_obj_namespace(obj), .name = kube_obj_name(obj) };

		if (kube_delete(c, &one, NULL, &err) < 0 && err.http_code != 404) {
			printf("FAIL deleting %s %s/%s: %s\n", what, one.ns, one.name,
			       kube_error_format(&err, buf, sizeof(buf)));
			failed++;
		} else {
			deleted++;
		}
	}
	printf("deleted %d %s\n", deleted, what);
	json_decref(items);
	return failed;
}

/* Takes the operator's opt-in label off every namespace that carries it. */
static int unlabel_namespaces(struct kube_client *c)
{
	struct kube_ref all = { .res = &KUBE_NAMESPACES };
	struct kube_list_opts lo = { .label_selector = LABEL_INJECT_ENABLED };
	struct kube_error err;
	json_t *items = NULL, *obj, *patch;
	size_t i;
	char buf[600];
	int failed = 0, done = 0;

	if (kube_list_all(c, &all, &lo, &items, NULL, &err) < 0) {
		printf("FAIL listing namespaces: %s\n", kube_error_format(&err, buf, sizeof(buf)));
		return 1;
	}
	patch = json_pack("{s:{s:{s:n}}}", "metadata", "labels", LABEL_INJECT_ENABLED);
	json_array_foreach(items, i, obj) {
		struct kube_ref one = { .res = &KUBE_NAMESPACES, .name = kube_obj_name(obj) };

		if (!patch || kube_patch(c, &one, KUBE_PATCH_MERGE, patch, NULL, NULL, &err) < 0) {
			printf("FAIL unlabelling namespace %s: %s\n", one.name,
			       patch ? kube_error_format(&err, buf, sizeof(buf)) : "out of memory");
			failed++;
		} else {
			done++;
		}
	}
	printf("took the label %s off %d namespaces\n", LABEL_INJECT_ENABLED, done);
	json_decref(patch);
	json_decref(items);
	return failed;
}

int uninstall_cleanup_run(const char *ns)
{
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	struct kube_error err;
	char buf[600];
	int failed = 0;

	if (kube_config_load_default(NULL, &cfg, buf, sizeof(buf)) < 0) {
		printf("FAIL kubeconfig: %s\n", buf);
		return 1;
	}
	if (kube_client_new(cfg, NULL, &c, &err) < 0) {
		printf("FAIL API client: %s\n", kube_error_format(&err, buf, sizeof(buf)));
		return 1;
	}
	failed += delete_all(c, &KUBE_CONFIGMAPS, NULL, "agent-config ConfigMaps");
	/* The garbage collector would remove them with their ConfigMaps; the hook does not
	 * leave that to a controller that may lag or not run. */
	failed += delete_all(c, &KUBE_ROLEBINDINGS, NULL, "AgentReport RoleBindings");
	failed += delete_all(c, &KUBE_SECRETS, ns, "webhook certificate Secrets");
	failed += unlabel_namespaces(c);
	kube_client_free(c);
	return failed ? 1 : 0;
}

/* core/v1 Events about an Instrumentation, posted without waiting for the answer. */
#include "operator/controller_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/instrumentation/naming.h"
#include "lib/kube/api.h"
#include "lib/kube/client.h"
#include "lib/log/log.h"
#include "operator/status.h"

#define EVENT_COMPONENT "autotrace-operator"

static void event_sent(void *ud, int rc, struct kube_response *resp,
		       const struct kube_error *err)
{
	char buf[600];

	if (rc < 0)
		log_debug("operator", "event: %s", kube_error_format(err, buf, sizeof(buf)));
}

/* A core/v1 Event about Instrumentation `cr`. Failures are only logged: an Event is
 * for people, never a reason to retry. */
void controller_record_event(struct controller *ctl, const json_t *cr, const char *type,
			 const char *reason, const char *message)
{
	struct kube_ref ref = { .res = &KUBE_EVENTS, .ns = kube_obj_namespace(cr) };
	char now[32], name[K8S_SUBDOMAIN_MAX + 1], path[512], *body;
	json_t *ev;

	if (status_now(now, sizeof(now)) < 0)
		return;
	snprintf(name, sizeof(name), "%.200s.%lx%04lx", kube_obj_name(cr), (unsigned long)time(NULL),
		 (unsigned long)(random() & 0xffff));
	ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, "
		       "s:{s:s}, s:s, s:s, s:i, s:s, s:s}",
		       "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace",
		       kube_obj_namespace(cr), "involvedObject", "apiVersion",
		       "autotrace.dev/v1alpha1", "kind", "Instrumentation", "name", kube_obj_name(cr),
		       "namespace", kube_obj_namespace(cr), "uid",
		       kube_obj_uid(cr) ? kube_obj_uid(cr) : "", "type", type, "reason", reason,
		       "message", message, "source", "component", EVENT_COMPONENT,
		       "firstTimestamp", now, "lastTimestamp", now, "count", 1,
		       "reportingComponent", EVENT_COMPONENT, "reportingInstance",
		       ctl->opts.identity ? ctl->opts.identity : EVENT_COMPONENT);
	if (!ev)
		return;
	body = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (!body || kube_ref_path(&ref, path, sizeof(path)) < 0) {
		free(body);
		return;
	}
	struct kube_request req = { .method = "POST", .path = path, .body = body,
				    .body_len = strlen(body) };
	/* Sent without waiting: an Event must not slow the reconcile down. */
	if (kube_client_call(ctl->client, ctl->base, &req, event_sent, ctl, NULL) == 0) {
		ctl->stats.events++;
		controller_count_write(ctl, "event");
	}
	free(body);
}

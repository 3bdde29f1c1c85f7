/* One reconcile of an Instrumentation: render its agent config, publish it where it is
 * used, write its status, and post an Event when the outcome changed. */
#include "operator/controller_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/instrumentation/agent_config.h"
#include "lib/instrumentation/naming.h"
#include "lib/instrumentation/spec.h"
#include "lib/kube/api.h"
#include "lib/kube/packed.h"
#include "lib/log/log.h"
#include "lib/metrics/registry.h"
#include "operator/publish.h"
#include "operator/status.h"

/* Failures that say nothing about the Instrumentation: retried, not reported. */
static int is_transient(int rc)
{
	return rc == -EBUSY || rc == -EEXIST || rc == -EAGAIN || rc == -ETIMEDOUT ||
	       rc == -ECONNREFUSED || rc == -EIO || rc == -EPROTO;
}

static int reconcile_deleted(struct controller *ctl, const char *key, const char *ns,
			     const char *name)
{
	char cm_name[INSTRUMENTATION_CONFIGMAP_NAME_SIZE];

	json_object_del(ctl->written, key);
	if (instrumentation_configmap_name(ns, name, cm_name, sizeof(cm_name)) < 0)
		return 0;
	return controller_remove_stale(ctl, key, cm_name, ns, NULL);
}

int controller_reconcile(void *ud, const char *key)
{
	struct controller *ctl = ud;
	char ns[K8S_LABEL_MAX + 1], name[K8S_SUBDOMAIN_MAX + 1];
	char cm_name[INSTRUMENTATION_CONFIGMAP_NAME_SIZE], rev[AGENT_CONFIG_REVISION_LEN + 1];
	char err[512] = "", now[32];
	struct instrumentation_spec spec = { 0 };
	struct status_observation obs = { 0 };
	struct agent_fold fold;
	const json_t *cr = NULL, *packed, *entry, *own, *old_status, *prev_cond;
	json_t *wanted = NULL, *status = NULL;
	char *config = NULL;
	struct secret_scope scope = { ctl, ns };
	struct agent_config_render_opts ro = { .secret_value = controller_secret_value, .ud = &scope };
	struct timespec t0, t1;
	char prev_reason_buf[64] = "", prev_rev_buf[64] = "";
	const char *prev_reason = NULL, *prev_rev = NULL;
	int rc = 0, published = 0;

	if (!ctl->leading)
		return 0;
	if (!controller_synced(ctl)) {
		/* Counting from half-listed caches would publish a wrong status first. */
		workqueue_add_after(ctl->queue, key, 100);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ctl->stats.reconciles++;
	if (usage_key_split(key, ns, name) < 0)
		return 0;
	if ((rc = controller_usage_refresh(ctl)) < 0)
		goto out;
	packed = kube_informer_get(ctl->insts, ns, name);
	if (!packed) {
		rc = reconcile_deleted(ctl, key, ns, name);
		goto out;
	}
	/* Ours while we call the API, whatever the cache does meanwhile. */
	if (!(cr = kube_packed_load(packed))) {
		rc = -ENOMEM;
		goto out;
	}
	/* The cache shows our last status write now: from here on it is the record, and
	 * a thousand Instrumentations do not each keep a copy of their status. */
	if (json_equal(json_object_get(ctl->written, key), json_object_get(cr, "status")))
		json_object_del(ctl->written, key);
	if ((rc = instrumentation_configmap_name(ns, name, cm_name, sizeof(cm_name))) < 0)
		goto out;
	entry = json_object_get(ctl->usage, key);
	wanted = json_deep_copy(json_object_get(entry, "ns"));
	if (!wanted)
		wanted = json_object();
	if (!wanted) {
		rc = -ENOMEM;
		goto out;
	}
	json_object_set_new(wanted, ns, json_true());

	old_status = json_object_get(ctl->written, key);
	if (!old_status)
		old_status = json_object_get(cr, "status");
	prev_cond = status_condition(old_status, "ConfigPublished");
	/* Copies: controller_write_status() replaces the object old_status may point into. */
	if (json_is_string(json_object_get(prev_cond, "reason"))) {
		snprintf(prev_reason_buf, sizeof(prev_reason_buf), "%s",
			 json_string_value(json_object_get(prev_cond, "reason")));
		prev_reason = prev_reason_buf;
	}
	if (json_is_string(json_object_get(old_status, "configRevision"))) {
		snprintf(prev_rev_buf, sizeof(prev_rev_buf), "%s",
			 json_string_value(json_object_get(old_status, "configRevision")));
		prev_rev = prev_rev_buf;
	}

	obs.generation = json_integer_value(json_object_get(json_object_get(cr, "metadata"),
							     "generation"));
	obs.injected = (long)json_integer_value(json_object_get(entry, "injected"));
	obs.ready = (long)json_integer_value(json_object_get(entry, "ready"));
	own = kube_informer_get(ctl->configmaps, ns, cm_name);
	obs.revision = json_string_value(json_object_get(
		json_object_get(json_object_get(own, "metadata"), "annotations"),
		PUBLISH_ANNOTATION_REVISION));

	if (instrumentation_spec_parse((json_t *)cr, &spec, err, sizeof(err)) < 0) {
		obs.problem = STATUS_INVALID_SPEC;
	} else if ((rc = agent_config_render(&spec, &ro, &config, rev, err, sizeof(err))) < 0) {
		if (rc != -ENOENT)
			goto out; /* the API server: retry with backoff */
		obs.problem = STATUS_SECRET_NOT_FOUND;
		rc = 0;
		workqueue_add_after(ctl->queue, key, ctl->opts.secret_retry_ms);
	} else {
		const char *wns;
		json_t *v;
		struct kube_error kerr;

		json_object_foreach(wanted, wns, v) {
			json_t *cm = publish_configmap(wns, cm_name, cr, config, rev);
			int r;

			if (!cm) {
				rc = -ENOMEM;
				goto out;
			}
			r = controller_publish_one(ctl, cm, &kerr);
			json_decref(cm);
			if (r >= 0) {
				published++;
				/* Its sidecars' reports; tracing and the status do not wait
				 * on it (a sidecar retries its report). */
				if (spec.mode == AGENT_MODE_SIDECAR &&
				    controller_bind_reports(ctl, wns, cm_name, &kerr) < 0) {
					char buf[600];
					log_warn("operator", "namespace %s: no RoleBinding for the "
						 "agents' reports: %s", wns,
						 kube_error_format(&kerr, buf, sizeof(buf)));
				}
			} else if (r == -ENOENT ||
				   (r == -EACCES && strstr(kerr.message, "being terminated"))) {
				/* A namespace that is gone or terminating: nothing to do. */
			} else if (is_transient(r)) {
				/* A stale cache (conflict) or an API server away: try again
				 * soon, and leave the status as it is meanwhile. */
				rc = r;
				goto out;
			} else {
				char buf[600];
				snprintf(err, sizeof(err), "writing ConfigMap %s/%s: %s", wns, cm_name,
					 kube_error_format(&kerr, buf, sizeof(buf)));
				obs.problem = STATUS_PUBLISH_FAILED;
				rc = r;
			}
		}
		if (obs.problem == STATUS_OK)
			obs.revision = rev;
		int r = controller_remove_stale(ctl, key, cm_name, ns, wanted);
		if (r < 0 && rc == 0)
			rc = r;
	}
	obs.namespaces = (size_t)published;
	obs.problem_message = err;
	if (ctl->reports) {
		int fr = controller_fold_agents(ctl, key, entry, obs.revision, &fold);

		if (fr < 0) {
			rc = fr;
			goto out;
		}
		obs.agents = &fold;
	}

	if (status_now(now, sizeof(now)) < 0) {
		rc = -EIO;
		goto out;
	}
	status = status_build(old_status, &obs, now);
	if (!status) {
		rc = -ENOMEM;
		goto out;
	}
	if (!json_equal(status, json_object_get(cr, "status")) &&
	    !json_equal(status, json_object_get(ctl->written, key))) {
		int r = controller_write_status(ctl, key, cr, status);
		if (r < 0 && rc == 0)
			rc = r;
	}
	/* Events on what changed, not on every pass. */
	if (obs.problem == STATUS_OK && (!prev_rev || strcmp(prev_rev, rev) != 0)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "agent config %s published in %d namespace%s", rev,
			 published, published == 1 ? "" : "s");
		controller_record_event(ctl, cr, "Normal", "ConfigPublished", msg);
	} else if (obs.problem != STATUS_OK &&
		   (!prev_reason || strcmp(prev_reason, status_problem_reason(obs.problem)) != 0)) {
		controller_record_event(ctl, cr, "Warning", status_problem_reason(obs.problem), err);
	}
out:
	if (rc < 0) {
		ctl->stats.errors++;
		log_warn("operator", "reconcile %s: %s", key, err[0] ? err : strerror(-rc));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ctl->m_reconciles) {
		const char *v[] = { rc < 0 ? "error" : "ok" };
		metrics_counter_add_labels(ctl->m_reconciles, v, 1);
		metrics_histogram_observe(ctl->m_duration, (double)(t1.tv_sec - t0.tv_sec) +
								   (t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	instrumentation_spec_clear(&spec);
	free(config);
	json_decref(wanted);
	json_decref(status);
	json_decref((json_t *)cr);
	return rc;
}

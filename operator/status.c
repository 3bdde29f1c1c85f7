#include "operator/status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *status_problem_reason(enum status_problem p)
{
	switch (p) {
	case STATUS_OK:
		return "Published";
	case STATUS_INVALID_SPEC:
		return "InvalidSpec";
	case STATUS_SECRET_NOT_FOUND:
		return "SecretNotFound";
	case STATUS_PUBLISH_FAILED:
		return "PublishFailed";
	}
	return "Unknown";
}

const json_t *status_condition(const json_t *status, const char *type)
{
	size_t i;
	const json_t *c;

	json_array_foreach(json_object_get(status, "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));

		if (t && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

/* Appends one condition; the transition time is the old one when the status holds. */
static int add_condition_status(json_t *conds, const json_t *old_status, const char *type,
				const char *st, const char *reason, const char *message,
				long long generation, const char *now)
{
	const json_t *old = status_condition(old_status, type);
	const char *since = now;

	if (old && json_is_string(json_object_get(old, "lastTransitionTime")) &&
	    json_is_string(json_object_get(old, "status")) &&
	    strcmp(json_string_value(json_object_get(old, "status")), st) == 0)
		since = json_string_value(json_object_get(old, "lastTransitionTime"));
	return json_array_append_new(conds,
				     json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", type,
					       "status", st, "reason", reason, "message", message,
					       "lastTransitionTime", since, "observedGeneration",
					       (json_int_t)generation));
}

static int add_condition(json_t *conds, const json_t *old_status, const char *type, int ok,
			 const char *reason, const char *message, long long generation,
			 const char *now)
{
	return add_condition_status(conds, old_status, type, ok ? "True" : "False", reason,
				    message, generation, now);
}

/* ConfigApplied: whether every agent that reports applies the published revision. */
static int add_config_applied(json_t *conds, const json_t *old_status,
			      const struct status_observation *obs, const char *now)
{
	const struct agent_fold *f = obs->agents;
	char msg[AGENT_FOLD_NAMES_MAX + 128];

	if (!obs->revision)
		return add_condition_status(conds, old_status, "ConfigApplied", "Unknown",
					    "NotPublished", "no agent config published yet",
					    obs->generation, now);
	if (f->reporting == 0)
		return add_condition_status(conds, old_status, "ConfigApplied", "Unknown",
					    "NoReports", "no agent reports on this Instrumentation",
					    obs->generation, now);
	if (f->on_latest == f->reporting) {
		snprintf(msg, sizeof(msg), "%ld of %ld reporting agents apply revision %.64s",
			 f->on_latest, f->reporting, obs->revision);
		return add_condition_status(conds, old_status, "ConfigApplied", "True",
					    "AllAgentsOnLatest", msg, obs->generation, now);
	}
	snprintf(msg, sizeof(msg), "%ld of %ld reporting agents apply revision %.64s; behind: %s",
		 f->on_latest, f->reporting, obs->revision, f->behind);
	return add_condition_status(conds, old_status, "ConfigApplied", "False", "AgentsBehind",
				    msg, obs->generation, now);
}

/* The counts only the reports give. */
static int add_agent_counts(json_t *st, const struct agent_fold *f)
{
	return json_object_set_new(st, "agents", json_integer(f->agents)) < 0 ||
			       json_object_set_new(st, "nodesReporting", json_integer(f->nodes)) < 0 ||
			       json_object_set_new(st, "agentsReporting", json_integer(f->reporting)) < 0 ||
			       json_object_set_new(st, "agentsOnLatestRevision",
						   json_integer(f->on_latest)) < 0 ||
			       json_object_set_new(st, "podsInstrumented", json_integer(f->pods)) < 0
		       ? -ENOMEM
		       : 0;
}

json_t *status_build(const json_t *old_status, const struct status_observation *obs,
		     const char *now)
{
	json_t *st = NULL, *conds = json_array();
	const char *reason = status_problem_reason(obs->problem);
	char published[512], ready_msg[640], degraded[AGENT_FOLD_NAMES_MAX + 64];
	long agents = obs->agents ? obs->agents->agents : obs->injected;
	long ready = obs->agents ? obs->agents->ready : obs->ready;
	long not_ready = agents - ready;
	long export_failing = obs->agents ? obs->agents->export_failing : 0;
	int ok = obs->problem == STATUS_OK;

	if (!conds)
		return NULL;
	if (ok)
		snprintf(published, sizeof(published), "agent config %s published in %zu namespace%s",
			 obs->revision ? obs->revision : "-", obs->namespaces,
			 obs->namespaces == 1 ? "" : "s");
	else if (obs->revision)
		snprintf(published, sizeof(published), "%.400s; the last good config %s stays in place",
			 obs->problem_message ? obs->problem_message : reason, obs->revision);
	else
		snprintf(published, sizeof(published), "%.400s",
			 obs->problem_message ? obs->problem_message : reason);
	if (ok)
		snprintf(ready_msg, sizeof(ready_msg), "%s; %ld of %ld agents ready", published,
			 ready, agents);
	else
		snprintf(ready_msg, sizeof(ready_msg), "%s", published);
	if (!ok)
		snprintf(degraded, sizeof(degraded), "%s", published);
	else if (not_ready > 0 && obs->agents && obs->agents->not_ready[0])
		snprintf(degraded, sizeof(degraded), "%ld of %ld agents not ready: %s", not_ready,
			 agents, obs->agents->not_ready);
	else if (not_ready > 0)
		snprintf(degraded, sizeof(degraded), "%ld of %ld agents not ready", not_ready, agents);
	else if (export_failing > 0)
		snprintf(degraded, sizeof(degraded), "%ld of %ld agents cannot export spans: %s",
			 export_failing, agents, obs->agents->export_failing_names);
	else
		snprintf(degraded, sizeof(degraded), "%s",
			 agents ? "every agent is ready" : obs->injected ? "no agents" : "no injected pods");

	if (add_condition(conds, old_status, "Ready", ok, ok ? "Ready" : reason, ready_msg,
			  obs->generation, now) < 0 ||
	    add_condition(conds, old_status, "ConfigPublished", ok, reason, published,
			  obs->generation, now) < 0 ||
	    add_condition(conds, old_status, "Degraded", !ok || not_ready > 0 || export_failing > 0,
			  !ok		     ? reason
			  : not_ready > 0    ? "AgentsNotReady"
			  : export_failing > 0 ? "ExportFailing"
					       : "AsExpected",
			  degraded,
			  obs->generation, now) < 0 ||
	    (obs->agents && add_config_applied(conds, old_status, obs, now) < 0))
		goto fail;
	st = json_pack("{s:I, s:I, s:I, s:o}", "observedGeneration", (json_int_t)obs->generation,
		       "injectedPods", (json_int_t)obs->injected, "readyAgents",
		       (json_int_t)ready, "conditions", conds);
	conds = NULL;
	if (st && obs->agents && add_agent_counts(st, obs->agents) < 0) {
		json_decref(st);
		return NULL;
	}
	if (st && obs->revision &&
	    json_object_set_new(st, "configRevision", json_string(obs->revision)) < 0) {
		json_decref(st);
		st = NULL;
	}
	return st;
fail:
	json_decref(conds);
	return NULL;
}

int status_now(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -EINVAL;
	return 0;
}

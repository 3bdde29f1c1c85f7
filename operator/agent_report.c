#include "operator/agent_report.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/kube/api.h"

static const char *str_or_empty(const json_t *v)
{
	const char *s = json_string_value(v);

	return s ? s : "";
}

void agent_report_trim(void *ud, json_t *obj)
{
	static const char *const top[] = { "metadata", "status", NULL };
	static const char *const meta[] = { "name", "namespace", "resourceVersion", "uid", NULL };
	static const char *const status[] = { "mode", "node", "pod", "ready", "notReadyReason",
					      "lastUpdateTime", "heartbeatSeconds",
					      "instrumentations", NULL };
	static const char *const entry[] = { "name", "configRevision", "pods", "lastExportError",
						     NULL };
	json_t *insts, *e;
	size_t i;

	(void)ud;
	kube_obj_keep(obj, top);
	kube_obj_keep(json_object_get(obj, "metadata"), meta);
	kube_obj_keep(json_object_get(obj, "status"), status);
	insts = json_object_get(json_object_get(obj, "status"), "instrumentations");
	if (!json_is_array(insts))
		return;
	while (json_array_size(insts) > AGENT_REPORT_MAX_INSTRUMENTATIONS)
		json_array_remove(insts, json_array_size(insts) - 1);
	json_array_foreach(insts, i, e)
		kube_obj_keep(e, entry);
}

int agent_report_time_parse(const char *s, int64_t *ret_unix)
{
	struct tm tm = { 0 };
	int n = 0, sign, oh, om;
	int64_t t;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -EINVAL;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
		return -EINVAL;
	s += n;
	if (*s == '.' && isdigit((unsigned char)s[1])) /* fractions: whole seconds suffice */
		for (s++; isdigit((unsigned char)*s); s++)
			;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = (int64_t)timegm(&tm);
	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*ret_unix = t;
		return 0;
	}
	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]) || s[3] != ':' || !isdigit((unsigned char)s[4]) ||
	    !isdigit((unsigned char)s[5]))
		return -EINVAL;
	sign = s[0] == '+' ? 1 : -1;
	oh = (s[1] - '0') * 10 + (s[2] - '0');
	om = (s[4] - '0') * 10 + (s[5] - '0');
	if (oh > 23 || om > 59)
		return -EINVAL;
	*ret_unix = t - sign * (int64_t)(oh * 3600 + om * 60);
	return 0;
}

int agent_report_view(const json_t *obj, struct agent_report_view *ret)
{
	const json_t *st = json_object_get(obj, "status");
	const json_t *hb = json_object_get(st, "heartbeatSeconds");
	struct agent_report_view v = { 0 };

	v.ns = kube_obj_namespace(obj);
	v.name = kube_obj_name(obj);
	if (!v.ns || !v.name)
		return -EINVAL;
	v.sidecar = strcmp(str_or_empty(json_object_get(st, "mode")), "sidecar") == 0;
	v.node = str_or_empty(json_object_get(st, "node"));
	v.pod = str_or_empty(json_object_get(st, "pod"));
	v.ready = json_is_true(json_object_get(st, "ready"));
	v.not_ready_reason = str_or_empty(json_object_get(st, "notReadyReason"));
	if (agent_report_time_parse(json_string_value(json_object_get(st, "lastUpdateTime")),
				    &v.updated) < 0)
		v.updated = -1;
	/* A day at most: a report cannot keep itself fresh for ever by naming a huge one. */
	if (json_is_integer(hb) && json_integer_value(hb) > 0 && json_integer_value(hb) <= 86400)
		v.heartbeat_s = json_integer_value(hb);
	*ret = v;
	return 0;
}

int agent_report_entry(const json_t *obj, const char *key, const char **ret_revision,
		       int64_t *ret_pods, const char **ret_export_error)
{
	const json_t *insts = json_object_get(json_object_get(obj, "status"), "instrumentations");
	const json_t *e;
	size_t i;

	json_array_foreach(insts, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const json_t *pods = json_object_get(e, "pods");

		if (!name || strcmp(name, key) != 0)
			continue;
		if (ret_revision)
			*ret_revision = str_or_empty(json_object_get(e, "configRevision"));
		if (ret_pods)
			*ret_pods = json_is_integer(pods) && json_integer_value(pods) > 0
					    ? json_integer_value(pods)
					    : 0;
		if (ret_export_error)
			*ret_export_error = str_or_empty(json_object_get(e, "lastExportError"));
		return 0;
	}
	return -ENOENT;
}

void agent_report_foreach_key(const json_t *obj, void (*fn)(void *ud, const char *key), void *ud)
{
	const json_t *insts = json_object_get(json_object_get(obj, "status"), "instrumentations");
	const json_t *e;
	size_t i;

	json_array_foreach(insts, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));

		if (name && *name)
			fn(ud, name);
	}
}

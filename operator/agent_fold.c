#include "operator/agent_fold.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "operator/agent_report.h"

/* A list of names in a fixed buffer: what does not fit is counted, so the message
 * stays one line whatever the fleet's size. */
struct names {
	char *buf;
	size_t size, len;
	long omitted;
};

static void names_add(struct names *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void names_add(struct names *n, const char *fmt, ...)
{
	char item[300];
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	/* Room for ", " and a later ", and N more". */
	if (w < 0 || n->len + (size_t)w + 2 + 24 >= n->size) {
		n->omitted++;
		return;
	}
	n->len += (size_t)snprintf(n->buf + n->len, n->size - n->len, "%s%s", n->len ? ", " : "",
				   item);
}

static void names_finish(struct names *n)
{
	if (n->omitted > 0)
		snprintf(n->buf + n->len, n->size - n->len, "%sand %ld more", n->len ? ", " : "",
			 n->omitted);
}

/* Why a report does not count as ready, into buf. */
static void why_not_ready(const struct agent_report_view *v, int fresh, int64_t now, char *buf,
			  size_t size)
{
	if (v->updated < 0)
		snprintf(buf, size, "no report time");
	else if (!fresh)
		snprintf(buf, size, "no report for %" PRId64 " s", now - v->updated);
	else
		snprintf(buf, size, "%.200s", *v->not_ready_reason ? v->not_ready_reason : "NotReady");
}

/* Whether the report sits where its writer may put it (agent_fold_input.node_ns). */
static int report_in_place(const struct agent_report_view *v, const char *node_ns)
{
	size_t n = strlen(v->ns);

	if (!v->sidecar)
		return !node_ns || strcmp(v->ns, node_ns) == 0;
	return strncmp(v->pod, v->ns, n) == 0 && v->pod[n] == '/' && strcmp(v->pod + n + 1, v->name) == 0;
}

int agent_fold(const json_t *reports, const struct agent_fold_input *in, struct agent_fold *ret)
{
	struct agent_fold f = { 0 };
	struct names nr = { f.not_ready, sizeof(f.not_ready), 0, 0 };
	struct names be = { f.behind, sizeof(f.behind), 0, 0 };
	struct names ef = { f.export_failing_names, sizeof(f.export_failing_names), 0, 0 };
	int64_t stale_s = in->stale_s > 0 ? in->stale_s : 150;
	json_t *nodes = json_object(), *pods_seen = json_object();
	long unready_containers_named = 0;
	const json_t *r;
	size_t i;

	if (!nodes || !pods_seen) {
		json_decref(nodes);
		json_decref(pods_seen);
		return -ENOMEM;
	}
	f.agents = in->sidecars;
	f.ready = in->sidecars_ready;
	json_array_foreach(reports, i, r) {
		struct agent_report_view v;
		const char *rev, *export_error;
		int64_t pods, window, until;
		int fresh, state = -1;
		char why[256];

		if (agent_report_view(r, &v) < 0 || agent_report_entry(r, in->key, &rev, &pods, &export_error) < 0 ||
		    !report_in_place(&v, in->node_ns))
			continue;
		if (v.sidecar) {
			state = in->sidecar_state && *v.pod ? in->sidecar_state(in->ud, v.pod) : -1;
			/* One pod, one sidecar: a second report naming the same pod (written
			 * by mistake or by someone else) counts for nothing. */
			if (state < 0 || json_object_get(pods_seen, v.pod) ||
			    json_object_set_new(pods_seen, v.pod, json_true()) < 0)
				continue;
		}
		window = v.heartbeat_s * 5 / 2 > stale_s ? v.heartbeat_s * 5 / 2 : stale_s;
		until = v.updated + window;
		fresh = v.updated >= 0 && in->now <= until;
		why_not_ready(&v, fresh, in->now, why, sizeof(why));
		if (fresh) {
			f.reporting++;
			f.pods += pods;
			if (*v.node && !json_object_get(nodes, v.node))
				json_object_set_new(nodes, v.node, json_true());
			if (in->revision && strcmp(rev, in->revision) == 0)
				f.on_latest++;
			else if (v.sidecar)
				names_add(&be, "pod %s (%s)", v.pod, *rev ? rev : "none");
			else
				names_add(&be, "node %s (%s)", *v.node ? v.node : v.name, *rev ? rev : "none");
			if (!f.next_change || until + 1 < f.next_change)
				f.next_change = until + 1;
			if (*export_error) {
				f.export_failing++;
				if (v.sidecar)
					names_add(&ef, "pod %s (%.200s)", v.pod, export_error);
				else
					names_add(&ef, "node %s (%.200s)", *v.node ? v.node : v.name,
						  export_error);
			}
		}
		if (v.sidecar) {
			/* Counted among the sidecars already, by its container's readiness. */
			if (state == 1 && (!fresh || !v.ready)) {
				f.ready--;
				names_add(&nr, "pod %s (%s)", v.pod, why);
			} else if (state == 0) {
				names_add(&nr, "pod %s (container not ready)", v.pod);
				unready_containers_named++;
			}
			continue;
		}
		f.agents++;
		if (fresh && v.ready)
			f.ready++;
		else
			names_add(&nr, "node %s (%s)", *v.node ? v.node : v.name, why);
	}
	f.nodes = (long)json_object_size(nodes);
	json_decref(nodes);
	json_decref(pods_seen);
	/* Sidecars whose container is not ready and that wrote no report: the pod cache
	 * keeps counts, not names. */
	if (in->sidecars - in->sidecars_ready - unready_containers_named > 0)
		names_add(&nr, "%ld sidecar%s without a report",
			  in->sidecars - in->sidecars_ready - unready_containers_named,
			  in->sidecars - in->sidecars_ready - unready_containers_named == 1 ? "" : "s");
	names_finish(&nr);
	names_finish(&be);
	names_finish(&ef);
	*ret = f;
	return 0;
}

/* The node agent's state: the Instrumentations its pods use (each with an exporter and
 * a sampler slot), and the containers it traces (each with a resource id), rebuilt from
 * the informers' caches after every change (a node has at most a few hundred pods: a
 * full pass costs less than keeping incremental state right). */
#include "agent/node_agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/container_procs.h"
#include "agent/export_backpressure.h"
#include "agent/node_plan.h"
#include "agent/pod_containers.h"
#include "agent/process_scan.h"
#include "agent/settings.h"
#include "lib/instrumentation/agent_config.h"
#include "lib/instrumentation/optin.h"
#include "lib/kube/informer.h"
#include "lib/log/log.h"

#define COMPONENT "node"
/* Traced containers at most: a node runs 110 pods by default. */
#define MAX_CONTAINERS 4096
/* How long one Instrumentation's full exporter may hold the node's ring back (see
 * agent/export_backpressure.h): the exporter's own batching delay. At 8 MiB the ring
 * holds some 25,000 spans, a second of a busy node's traffic, so the others' spans
 * behind the held one still fit meanwhile. */
#define HOLD_MAX_MS 1000

struct instr {
	char ns[K8S_LABEL_MAX + 1], name[K8S_SUBDOMAIN_MAX + 1];
	struct instrumentation_spec spec;  /* in force; owns its reference to the CR */
	struct agent_settings *settings;   /* spec rendered: exporter, sampler, resource */
	struct otlp_exporter *exporter;
	struct export_backpressure bp;
	uint32_t slot;  /* sampler slot */
	int used;       /* by a pod in the current pass */
	uint64_t pods;  /* traced by the current pass */
};

struct traced_container {
	char id[CONTAINER_ID_LEN + 1];
	char name[K8S_LABEL_MAX + 1];
	char pod[K8S_LABEL_MAX + K8S_SUBDOMAIN_MAX + 2]; /* "ns/name", for the log */
	struct instr *in;
	struct node_plan plan;
	uint32_t resource_id;
	int seen;
};

enum { INF_PODS, INF_NAMESPACES, INF_INSTRUMENTATIONS, INF_COUNT };

struct node_agent {
	struct event_base *base;
	char *node, *own_ns, *proc_root, *scope_version;
	size_t queue_capacity;
	uint32_t max_delay_ms;
	struct kube_informer *inf[INF_COUNT];
	struct event *reconcile_ev;
	struct tracer *tracer;

	struct instr **instrs;
	size_t n_instrs;
	/* The Instrumentation the plan asked for last, parsed: valid for the pass. */
	struct instrumentation_spec scratch;
	uint64_t slots_used; /* bit i: sampler slot i taken (slot 0 is the sidecar's) */

	struct traced_container *containers;
	size_t n_containers;
	size_t last_hit; /* the container of the last span: spans come in runs */
	uint32_t next_resource_id;
	uint64_t pods_traced;
	uint64_t spans_unrouted;
	int held;     /* on_span held a span back since node_agent_take_held */
	/* The ring poll under way (node_agent_poll): its number and time, read once for
	 * all its spans; outside one, each span counts as a poll of its own. */
	uint64_t poll, poll_ms;
	int polling;
	int no_holds; /* shutting down: every span goes into its queue */
	struct otlp_exporter_stats retired; /* of the exporters stopped */
};

/* ---- the plan's lookup, over the caches ---------------------------------------- */

static const json_t *ns_annotations(void *ud, const char *ns)
{
	struct node_agent *na = ud;
	const json_t *obj = kube_informer_get(na->inf[INF_NAMESPACES], NULL, ns);

	return json_object_get(json_object_get(obj, "metadata"), "annotations");
}

static struct instr *find_instr(struct node_agent *na, const char *ns, const char *name)
{
	for (size_t i = 0; i < na->n_instrs; i++)
		if (strcmp(na->instrs[i]->ns, ns) == 0 && strcmp(na->instrs[i]->name, name) == 0)
			return na->instrs[i];
	return NULL;
}

static const struct instrumentation_spec *lookup_instr(void *ud, const char *ns, const char *name)
{
	struct node_agent *na = ud;
	const json_t *cr = kube_informer_get(na->inf[INF_INSTRUMENTATIONS], ns, name);
	char err[256];

	instrumentation_spec_clear(&na->scratch);
	memset(&na->scratch, 0, sizeof(na->scratch));
	if (!cr || instrumentation_spec_parse((json_t *)cr, &na->scratch, err, sizeof(err)) < 0)
		return NULL;
	return &na->scratch;
}

struct count_ctx {
	const char *ns, *only;
	size_t n;
};

static void count_one(void *ud, const json_t *obj)
{
	struct count_ctx *c = ud;
	const json_t *meta = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));

	if (ns && strcmp(ns, c->ns) == 0) {
		c->n++;
		c->only = json_string_value(json_object_get(meta, "name"));
	}
}

static size_t instrs_in(void *ud, const char *ns, const char **ret_only)
{
	struct node_agent *na = ud;
	struct count_ctx c = { .ns = ns };

	kube_informer_foreach(na->inf[INF_INSTRUMENTATIONS], count_one, &c);
	*ret_only = c.n == 1 ? c.only : NULL;
	return c.n;
}

/* ---- Instrumentations: settings, exporter, sampler slot ------------------------- */

static const char *no_env(const char *name, void *ud)
{
	return NULL; /* the node agent's own OTEL_* are not any pod's */
}

/* The settings of spec as a sidecar would read them from its config file. */
static int settings_of(const struct instrumentation_spec *spec, struct agent_settings **ret,
		       char *err, size_t err_size)
{
	char *json = NULL, rev[AGENT_CONFIG_REVISION_LEN + 1];
	int r;

	/* No Secret lookups: the node agent may not read Secrets (headers or TLS from a
	 * Secret make the Instrumentation unusable here, and the log says so). */
	r = agent_config_render(spec, NULL, &json, rev, err, err_size);
	if (r == 0)
		r = agent_settings_new(no_env, NULL, json, strlen(json), ret, err, err_size);
	free(json);
	return r;
}

/* The exporters' stats are summed field by field. */
_Static_assert(sizeof(struct otlp_exporter_stats) % sizeof(uint64_t) == 0,
	       "otlp_exporter_stats is made of uint64_t counters");

static void retire_exporter(struct node_agent *na, struct instr *in, uint32_t grace_ms)
{
	struct otlp_shutdown_report rep;
	struct otlp_exporter_stats e;
	uint64_t *sum = (uint64_t *)&na->retired;
	const uint64_t *add = (const uint64_t *)&e;

	if (!in->exporter)
		return;
	otlp_exporter_shutdown(in->exporter, grace_ms, &rep);
	otlp_exporter_get_stats(in->exporter, &e);
	/* Every field is a uint64_t counter; the gauges are zero once stopped. */
	for (size_t i = 0; i < sizeof(e) / sizeof(uint64_t); i++)
		sum[i] += add[i];
	na->retired.queue_length = na->retired.queue_capacity = na->retired.in_flight = 0;
	na->retired.config_generation = 0;
	in->exporter = otlp_exporter_free(in->exporter);
}

static void free_instr(struct node_agent *na, struct instr *in)
{
	retire_exporter(na, in, 1000);
	if (in->slot)
		na->slots_used &= ~(1ULL << in->slot);
	agent_settings_free(in->settings);
	instrumentation_spec_clear(&in->spec);
	free(in);
}

static int take_slot(struct node_agent *na, uint32_t *ret)
{
	for (uint32_t s = 1; s < TRACER_SAMPLER_SLOTS; s++) {
		if (!(na->slots_used & (1ULL << s))) {
			na->slots_used |= 1ULL << s;
			*ret = s;
			return 0;
		}
	}
	return -ENOSPC;
}

/* Brings in's settings, exporter and sampler up to spec (new or changed). */
static int apply_spec(struct node_agent *na, struct instr *in, const struct instrumentation_spec *spec)
{
	struct agent_settings *s = NULL;
	struct instrumentation_spec own = { 0 };
	char err[512];
	int r;

	r = instrumentation_spec_parse(spec->cr, &own, err, sizeof(err));
	if (r == 0) {
		/* Targets are read from the spec by every pass: in force at once. */
		instrumentation_spec_clear(&in->spec);
		in->spec = own;
	}
	r = settings_of(spec, &s, err, sizeof(err));
	if (r < 0) {
		log_warn(COMPONENT, "Instrumentation %s/%s not usable here: %s", in->ns, in->name, err);
		return r;
	}
	if (in->settings && strcmp(in->settings->revision, s->revision) == 0) {
		agent_settings_free(s); /* the same config */
		return 0;
	}
	if (!in->exporter) {
		struct otlp_exporter_options eo = { .scope_version = na->scope_version,
						    .resource = &s->resource,
						    .queue_capacity = na->queue_capacity,
						    .max_delay_ms = na->max_delay_ms };

		r = otlp_exporter_new(&eo, &s->exporter, &in->exporter);
	} else {
		r = otlp_exporter_set_config(in->exporter, &s->exporter);
		if (r == 0)
			r = otlp_exporter_set_resource(in->exporter, &s->resource);
	}
	if (r < 0) {
		log_warn(COMPONENT, "Instrumentation %s/%s: exporter to %s: %s", in->ns, in->name,
			 s->exporter.endpoint, strerror(-r));
		agent_settings_free(s);
		return r;
	}
	if (na->tracer && (r = tracer_set_sampler_slot(na->tracer, in->slot, &s->sampler)) < 0)
		log_warn(COMPONENT, "Instrumentation %s/%s: sampler: %s", in->ns, in->name, strerror(-r));
	if (na->tracer) {
		/* Applied to its pods' processes by the scan that ends the pass. */
		struct tracer_probes probes;

		agent_settings_tracer_probes(s, &probes);
		tracer_set_probes(na->tracer, in->slot, &probes);
	}
	log_info(COMPONENT, "Instrumentation %s/%s: config %s: sampler %s ratio %g, endpoint %s",
		 in->ns, in->name, s->revision, agent_sampler_name(s->sampler.type), s->sampler.ratio,
		 s->exporter.endpoint);
	agent_settings_free(in->settings);
	in->settings = s;
	return 0;
}

/* The entry of a node-mode Instrumentation a pod uses, made on first use. */
static struct instr *use_instr(struct node_agent *na, const char *ns, const char *name,
			       const struct instrumentation_spec *spec)
{
	struct instr *in = find_instr(na, ns, name), **grown;

	if (!in) {
		in = calloc(1, sizeof(*in));
		grown = reallocarray(na->instrs, na->n_instrs + 1, sizeof(*grown));
		if (!in || !grown || take_slot(na, &in->slot) < 0) {
			free(in);
			if (grown)
				na->instrs = grown;
			log_warn(COMPONENT, "Instrumentation %s/%s: no room (%d served at most)", ns,
				 name, TRACER_SAMPLER_SLOTS - 1);
			return NULL;
		}
		na->instrs = grown;
		snprintf(in->ns, sizeof(in->ns), "%s", ns);
		snprintf(in->name, sizeof(in->name), "%s", name);
		na->instrs[na->n_instrs++] = in;
	}
	in->used = 1;
	if (apply_spec(na, in, spec) < 0 && !in->exporter)
		return NULL;
	return in;
}

/* ---- containers --------------------------------------------------------------- */

static struct traced_container *find_container(struct node_agent *na, const char *id)
{
	for (size_t i = 0; i < na->n_containers; i++)
		if (strcmp(na->containers[i].id, id) == 0)
			return &na->containers[i];
	return NULL;
}

static void drop_container(struct node_agent *na, size_t i)
{
	struct traced_container *c = &na->containers[i];

	if (c->in && c->in->exporter)
		otlp_exporter_remove_resource(c->in->exporter, c->resource_id);
	log_info(COMPONENT, "container %s of pod %s (%.12s): no longer traced", c->name, c->pod, c->id);
	na->containers[i] = na->containers[--na->n_containers];
}

/* One traced pod: an entry per started container, its resource in its exporter. */
static void trace_pod(struct node_agent *na, const json_t *pod, const struct node_plan *plan,
		      struct instr *in)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	struct pod_containers *pc = NULL;
	struct otlp_resource res;

	if (pod_containers_from_json(pod, &pc) < 0)
		return;
	if (pc->n) {
		na->pods_traced++;
		in->pods++;
	}
	for (size_t i = 0; i < pc->n; i++) {
		const struct pod_container *k = &pc->items[i];
		struct traced_container *c = find_container(na, k->id.id);

		if (!c) {
			if (na->n_containers == MAX_CONTAINERS)
				break;
			c = &na->containers[na->n_containers++];
			memset(c, 0, sizeof(*c));
			snprintf(c->id, sizeof(c->id), "%s", k->id.id);
			/* Never 0 (the exporter's own resource); ids are not reused, so a
			 * span queued for a container gone cannot take another's resource. */
			if (++na->next_resource_id == 0)
				na->next_resource_id = 1;
			c->resource_id = na->next_resource_id;
			log_info(COMPONENT, "container %s of pod %s/%s (%.12s): traced by %s/%s",
				 k->name, ns, name, k->id.id, in->ns, in->name);
		} else if (c->in != in && c->in && c->in->exporter) {
			otlp_exporter_remove_resource(c->in->exporter, c->resource_id);
		}
		snprintf(c->name, sizeof(c->name), "%s", k->name);
		snprintf(c->pod, sizeof(c->pod), "%s/%s", ns ? ns : "", name ? name : "");
		c->in = in;
		c->plan = *plan;
		c->seen = 1;
		if (node_plan_resource(&in->spec, pod, k->name, na->node, &res) == -E2BIG)
			log_debug(COMPONENT, "pod %s: resource attributes cut", pc->uid);
		if (otlp_exporter_put_resource(in->exporter, c->resource_id, &res) < 0)
			log_warn(COMPONENT, "pod %s: no room for its resource", pc->uid);
	}
	free(pc);
}

struct pass {
	struct node_agent *na;
	struct node_plan_opts opts;
	struct node_plan_lookup lookup;
};

static void plan_one(void *ud, const json_t *pod)
{
	struct pass *p = ud;
	struct node_plan plan;
	struct instr *in;

	node_plan_pod(&p->opts, &p->lookup, pod, &plan);
	if (plan.verdict != NODE_PLAN_TRACE)
		return;
	/* scratch holds the plan's Instrumentation until the next lookup. */
	in = use_instr(p->na, plan.ns, plan.name, &p->na->scratch);
	if (in)
		trace_pod(p->na, pod, &plan, in);
}

static void reconcile(evutil_socket_t fd, short what, void *ud)
{
	struct node_agent *na = ud;
	const char *excluded[] = { "kube-system", "kube-public", "kube-node-lease", na->own_ns, NULL };
	struct pass p = {
		.na = na,
		.opts = { .node = na->node, .excluded_namespaces = excluded },
		.lookup = { .ud = na, .namespace_annotations = ns_annotations,
			    .instrumentation = lookup_instr, .instrumentations_in = instrs_in },
	};

	for (size_t i = 0; i < na->n_containers; i++)
		na->containers[i].seen = 0;
	for (size_t i = 0; i < na->n_instrs; i++) {
		na->instrs[i]->used = 0;
		na->instrs[i]->pods = 0;
	}
	na->pods_traced = 0;
	kube_informer_foreach(na->inf[INF_PODS], plan_one, &p);
	instrumentation_spec_clear(&na->scratch);
	memset(&na->scratch, 0, sizeof(na->scratch));
	for (size_t i = na->n_containers; i-- > 0;)
		if (!na->containers[i].seen)
			drop_container(na, i);
	for (size_t i = na->n_instrs; i-- > 0;) {
		if (na->instrs[i]->used)
			continue;
		log_info(COMPONENT, "Instrumentation %s/%s: no pod here uses it any more; its "
			 "exporter stops", na->instrs[i]->ns, na->instrs[i]->name);
		free_instr(na, na->instrs[i]);
		na->instrs[i] = na->instrs[--na->n_instrs];
	}
	/* Attach and detach now rather than at the next scan. */
	if (na->tracer && tracer_loaded(na->tracer))
		tracer_scan(na->tracer);
}

static void changed(struct node_agent *na)
{
	/* Events come in bursts (a list, a rollout): one pass for all of them. */
	if (!event_pending(na->reconcile_ev, EV_TIMEOUT, NULL)) {
		struct timeval tv = { 0, 50 * 1000 };

		event_add(na->reconcile_ev, &tv);
	}
}

static void on_add(void *ud, const json_t *obj)
{
	changed(ud);
}

static void on_update(void *ud, const json_t *old_obj, const json_t *new_obj)
{
	changed(ud);
}

static void on_synced(void *ud)
{
	changed(ud);
}

static void trim_namespace(void *ud, json_t *ns)
{
	optin_trim_namespace(ns);
}

/* ---- the tracer's callbacks ------------------------------------------------------ */

int node_agent_select(void *ud, const struct process_info *p, struct tracer_selection *ret)
{
	struct node_agent *na = ud;
	struct cgroup_container cg;
	struct traced_container *c;

	if (na->n_containers == 0 || container_proc_read(na->proc_root, p->pid, &cg) < 0)
		return 0;
	c = find_container(na, cg.container.id);
	if (!c || !c->in || !c->in->exporter ||
	    !node_plan_traces_process(&c->in->spec, &c->plan, c->name, p->exe))
		return 0;
	ret->sampler_slot = c->in->slot;
	ret->span_tag = c->resource_id;
	return 1;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t exporter_room(void *ud)
{
	return otlp_exporter_room(ud);
}

/* A new ring poll: its number, and the time its spans' verdicts use. */
static void begin_poll(struct node_agent *na)
{
	na->poll++;
	na->poll_ms = mono_ms();
}

int node_agent_poll(struct node_agent *na, size_t max)
{
	int n;

	if (!na->tracer)
		return 0;
	begin_poll(na);
	na->polling = 1;
	n = tracer_poll_at_most(na->tracer, max);
	na->polling = 0;
	return n;
}

int node_agent_on_span(void *ud, const struct otlp_span *span)
{
	struct node_agent *na = ud;
	struct traced_container *c = NULL;

	if (na->last_hit < na->n_containers &&
	    na->containers[na->last_hit].resource_id == span->resource_id)
		c = &na->containers[na->last_hit];
	for (size_t i = 0; !c && i < na->n_containers; i++) {
		if (na->containers[i].resource_id == span->resource_id) {
			c = &na->containers[i];
			na->last_hit = i;
		}
	}
	if (!c || !c->in || !c->in->exporter) {
		na->spans_unrouted++;
		return 0;
	}
	if (!na->no_holds) {
		struct instr *in = c->in;
		uint64_t sheds = in->bp.sheds;

		if (!na->polling)
			begin_poll(na);
		switch (export_backpressure_decide_in_poll(&in->bp, na->poll, na->poll_ms,
							   exporter_room, in->exporter,
							   HOLD_MAX_MS)) {
		case EXPORT_HOLD:
			na->held = 1;
			return TRACER_SPAN_HOLD;
		case EXPORT_SHED:
			if (in->bp.sheds != sheds)
				log_warn(COMPONENT, "Instrumentation %s/%s: its collector has taken no "
					 "spans for %d ms; its oldest queued spans are dropped until it "
					 "catches up, so the node's other pods are not held back",
					 in->ns, in->name, HOLD_MAX_MS);
			break;
		case EXPORT_ENQUEUE:
			break;
		}
	}
	otlp_exporter_enqueue(c->in->exporter, span);
	return 0;
}

int node_agent_take_held(struct node_agent *na)
{
	int held = na->held;

	na->held = 0;
	return held;
}

void node_agent_flush(struct node_agent *na, uint32_t timeout_ms)
{
	uint32_t each = na->n_instrs ? timeout_ms / (uint32_t)na->n_instrs : timeout_ms;

	for (size_t i = 0; i < na->n_instrs; i++)
		if (na->instrs[i]->exporter)
			otlp_exporter_flush(na->instrs[i]->exporter, each ? each : 1);
}

void node_agent_stop_holding(struct node_agent *na)
{
	na->no_holds = 1;
}

/* ---- lifecycle ------------------------------------------------------------------- */

int node_agent_new(const struct node_agent_opts *opts, struct node_agent **ret)
{
	static const struct kube_resource *const res[INF_COUNT] = {
		[INF_PODS] = &KUBE_PODS, [INF_NAMESPACES] = &KUBE_NAMESPACES,
		[INF_INSTRUMENTATIONS] = &KUBE_INSTRUMENTATIONS,
	};
	struct node_agent *na;
	char selector[320];
	int r = -ENOMEM;

	if (!opts->node || !opts->node[0])
		return -EINVAL;
	na = calloc(1, sizeof(*na));
	if (!na)
		return -ENOMEM;
	na->base = opts->base;
	na->node = strdup(opts->node);
	na->own_ns = opts->own_namespace ? strdup(opts->own_namespace) : NULL;
	na->proc_root = strdup(opts->proc_root ? opts->proc_root : "/proc");
	na->scope_version = strdup(opts->scope_version ? opts->scope_version : "");
	na->containers = calloc(MAX_CONTAINERS, sizeof(*na->containers));
	na->queue_capacity = opts->queue_capacity;
	na->max_delay_ms = opts->max_delay_ms;
	na->reconcile_ev = evtimer_new(opts->base, reconcile, na);
	if (!na->node || (opts->own_namespace && !na->own_ns) || !na->proc_root ||
	    !na->scope_version || !na->containers || !na->reconcile_ev)
		goto fail;
	snprintf(selector, sizeof(selector), "spec.nodeName=%s", opts->node);
	for (int k = 0; k < INF_COUNT; k++) {
		struct kube_informer_opts io = {
			.res = res[k],
			.field_selector = k == INF_PODS ? selector : NULL,
			.transform = k == INF_NAMESPACES ? trim_namespace : NULL,
			.handlers = { .on_add = on_add, .on_update = on_update, .on_delete = on_add,
				      .on_synced = on_synced },
			.ud = na,
		};

		r = kube_informer_new(opts->client, opts->base, &io, &na->inf[k]);
		if (r < 0)
			goto fail;
	}
	*ret = na;
	return 0;
fail:
	node_agent_free(na);
	return r;
}

int node_agent_start(struct node_agent *na)
{
	for (int k = 0; k < INF_COUNT; k++) {
		int r = kube_informer_start(na->inf[k]);

		if (r < 0)
			return r;
	}
	return 0;
}

void node_agent_set_tracer(struct node_agent *na, struct tracer *t)
{
	na->tracer = t;
	for (size_t i = 0; t && i < na->n_instrs; i++)
		if (na->instrs[i]->settings) {
			struct tracer_probes probes;

			tracer_set_sampler_slot(t, na->instrs[i]->slot, &na->instrs[i]->settings->sampler);
			agent_settings_tracer_probes(na->instrs[i]->settings, &probes);
			tracer_set_probes(t, na->instrs[i]->slot, &probes);
		}
}

void node_agent_shutdown(struct node_agent *na, uint32_t timeout_ms)
{
	uint32_t each = na->n_instrs ? timeout_ms / (uint32_t)na->n_instrs : timeout_ms;

	for (size_t i = 0; i < na->n_instrs; i++)
		retire_exporter(na, na->instrs[i], each ? each : 1);
}

struct node_agent *node_agent_free(struct node_agent *na)
{
	if (!na)
		return NULL;
	for (int k = 0; k < INF_COUNT; k++)
		na->inf[k] = kube_informer_free(na->inf[k]);
	for (size_t i = 0; i < na->n_instrs; i++)
		free_instr(na, na->instrs[i]);
	free(na->instrs);
	instrumentation_spec_clear(&na->scratch);
	if (na->reconcile_ev)
		event_free(na->reconcile_ev);
	free(na->containers);
	free(na->node);
	free(na->own_ns);
	free(na->proc_root);
	free(na->scope_version);
	free(na);
	return NULL;
}

void node_agent_get_stats(struct node_agent *na, struct node_agent_stats *ret)
{
	struct node_agent_stats s = { .pods_traced = na->pods_traced,
				      .containers_traced = na->n_containers,
				      .instrumentations = na->n_instrs,
				      .spans_unrouted = na->spans_unrouted,
				      .exporters = na->retired };
	uint64_t *sum = (uint64_t *)&s.exporters;

	s.synced = 1;
	for (int k = 0; k < INF_COUNT; k++)
		s.synced &= kube_informer_has_synced(na->inf[k]) ? 1 : 0;
	for (size_t i = 0; i < na->n_instrs; i++) {
		struct otlp_exporter_stats e;
		const uint64_t *add = (const uint64_t *)&e;

		if (!na->instrs[i]->exporter)
			continue;
		otlp_exporter_get_stats(na->instrs[i]->exporter, &e);
		for (size_t j = 0; j < sizeof(e) / sizeof(uint64_t); j++)
			sum[j] += add[j];
	}
	*ret = s;
}

struct proc_count {
	struct node_agent *na;
	uint64_t *per_instr; /* by index in na->instrs */
};

static void count_process(void *ud, uint32_t span_tag)
{
	struct proc_count *pc = ud;
	struct node_agent *na = pc->na;

	for (size_t i = 0; i < na->n_containers; i++) {
		if (na->containers[i].resource_id != span_tag)
			continue;
		for (size_t k = 0; k < na->n_instrs; k++)
			if (na->instrs[k] == na->containers[i].in)
				pc->per_instr[k]++;
		return;
	}
}

size_t node_agent_health(struct node_agent *na, struct node_agent_instr_health *out, size_t max)
{
	uint64_t per_instr[TRACER_SAMPLER_SLOTS] = { 0 }; /* an Instrumentation takes a slot */
	struct proc_count pc = { na, per_instr };
	size_t n = na->n_instrs < max ? na->n_instrs : max;

	if (na->tracer && na->n_instrs <= TRACER_SAMPLER_SLOTS)
		tracer_foreach_attached(na->tracer, count_process, &pc);
	for (size_t i = 0; i < n; i++) {
		const struct instr *in = na->instrs[i];
		struct node_agent_instr_health *h = &out[i];

		memset(h, 0, sizeof(*h));
		snprintf(h->name, sizeof(h->name), "%s/%s", in->ns, in->name);
		if (in->settings)
			snprintf(h->revision, sizeof(h->revision), "%s", in->settings->revision);
		h->pods = in->pods;
		h->processes = per_instr[i];
		if (in->exporter) {
			h->has_exporter = 1;
			otlp_exporter_get_stats(in->exporter, &h->export);
			otlp_exporter_last_error(in->exporter, h->last_export_error,
						 sizeof(h->last_export_error),
						 &h->last_export_error_time);
		}
	}
	return na->n_instrs;
}

#include "lib/kube/leader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/kube/api.h"
#include "lib/log/log.h"

struct leader {
	struct kube_client *client;
	struct event_base *base;
	struct leader_opts opts;
	char *ns, *name, *identity;
	struct event *tick;
	int leading;
	long last_renew_ms;      /* monotonic time of our last successful renewal */
	char *observed_holder;   /* the record as we last saw it ... */
	char *observed_renew;
	long observed_at_ms;     /* ... and when it last changed, by our clock */
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* metav1.MicroTime: "2026-11-23T18:40:06.123456Z". */
static void micro_time(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06dZ", (int)(ts.tv_nsec / 1000));
}

static int set_string(char **dst, const char *src)
{
	char *copy = src ? strdup(src) : NULL;

	if (src && !copy)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

static void become(struct leader *l, int leading)
{
	if (l->leading == leading)
		return;
	l->leading = leading;
	if (leading && l->opts.on_started_leading)
		l->opts.on_started_leading(l->opts.ud);
	else if (!leading && l->opts.on_stopped_leading)
		l->opts.on_stopped_leading(l->opts.ud);
}

/* Notes what the record says now; the clock for expiry restarts when it changes. */
static void observe(struct leader *l, const char *holder, const char *renew)
{
	int changed = !l->observed_at_ms ||
		      strcmp(holder ? holder : "", l->observed_holder ? l->observed_holder : "") ||
		      strcmp(renew ? renew : "", l->observed_renew ? l->observed_renew : "");

	if (!changed)
		return;
	if (l->opts.on_new_leader && holder && holder[0] &&
	    strcmp(holder, l->observed_holder ? l->observed_holder : ""))
		l->opts.on_new_leader(l->opts.ud, holder);
	set_string(&l->observed_holder, holder);
	set_string(&l->observed_renew, renew);
	l->observed_at_ms = now_ms();
}

static json_t *lease_spec(struct leader *l, const char *holder, const char *acquire,
			  const char *renew, json_int_t transitions, long duration_s)
{
	json_t *spec = json_pack("{s:s, s:I, s:s, s:s, s:I}", "holderIdentity", holder,
				 "leaseDurationSeconds", (json_int_t)duration_s, "acquireTime",
				 acquire, "renewTime", renew, "leaseTransitions", transitions);
	return spec;
}

/* One round: 1 if we hold the Lease after it, 0 if someone else does, <0 on error. */
static int try_acquire_or_renew(struct leader *l)
{
	struct kube_ref ref = { .res = &KUBE_LEASES, .ns = l->ns, .name = l->name };
	struct kube_error err;
	json_t *lease = NULL, *obj = NULL;
	char now[40];
	long duration_s = (l->opts.lease_duration_ms + 999) / 1000;
	int rc;

	micro_time(now, sizeof(now));
	rc = kube_get(l->client, &ref, &lease, &err);
	if (rc == -ENOENT) {
		obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "coordination.k8s.io/v1",
				"kind", "Lease", "metadata", "name", l->name, "namespace", l->ns,
				"spec", lease_spec(l, l->identity, now, now, 0, duration_s));
		rc = obj ? kube_create(l->client, &ref, obj, NULL, &err) : -ENOMEM;
		json_decref(obj);
		if (rc == 0)
			observe(l, l->identity, now);
		return rc == 0 ? 1 : (rc == -EEXIST ? 0 : rc);
	}
	if (rc < 0)
		return rc;

	json_t *spec = json_object_get(lease, "spec");
	const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
	const char *renew = json_string_value(json_object_get(spec, "renewTime"));
	const char *acquire = json_string_value(json_object_get(spec, "acquireTime"));
	json_int_t transitions = json_integer_value(json_object_get(spec, "leaseTransitions"));
	observe(l, holder, renew);

	int ours = holder && strcmp(holder, l->identity) == 0;
	int held = holder && holder[0];
	if (held && !ours && now_ms() - l->observed_at_ms < l->opts.lease_duration_ms) {
		json_decref(lease);
		return 0; /* someone else holds an unexpired lease */
	}
	/* Take over (or renew): the update fails with a conflict if anyone wrote the
	 * Lease since we read it. */
	json_object_set_new(lease, "spec",
			    lease_spec(l, l->identity, ours && acquire ? acquire : now, now,
				       ours ? transitions : transitions + 1, duration_s));
	rc = kube_update(l->client, &ref, lease, NULL, &err);
	json_decref(lease);
	if (rc == 0) {
		observe(l, l->identity, now);
		return 1;
	}
	return rc == -EBUSY ? 0 : rc;
}

static void schedule(struct leader *l, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(l->tick, &tv);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct leader *l = arg;
	int rc = try_acquire_or_renew(l);

	if (rc == 1) {
		l->last_renew_ms = now_ms();
		become(l, 1);
	} else if (rc == 0) {
		become(l, 0);
	} else if (l->leading && now_ms() - l->last_renew_ms > l->opts.renew_deadline_ms) {
		/* Could not renew in time: someone may take over now, so stop acting. */
		log_debug("leader", "%s/%s: renew failed past the deadline (%d)", l->ns, l->name, rc);
		become(l, 0);
	}
	schedule(l, l->opts.retry_period_ms);
}

int leader_new(struct kube_client *c, struct event_base *base, const struct leader_opts *opts,
	       struct leader **ret_leader)
{
	struct leader *l;

	if (!opts || !opts->ns || !opts->name || !opts->identity || !opts->identity[0])
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->client = c;
	l->base = base;
	l->opts = *opts;
	if (l->opts.lease_duration_ms <= 0)
		l->opts.lease_duration_ms = 15000;
	if (l->opts.renew_deadline_ms <= 0)
		l->opts.renew_deadline_ms = 10000;
	if (l->opts.retry_period_ms <= 0)
		l->opts.retry_period_ms = 2000;
	if (l->opts.renew_deadline_ms >= l->opts.lease_duration_ms)
		l->opts.renew_deadline_ms = l->opts.lease_duration_ms * 2 / 3;
	l->tick = evtimer_new(base, on_tick, l);
	if (!l->tick || set_string(&l->ns, opts->ns) < 0 || set_string(&l->name, opts->name) < 0 ||
	    set_string(&l->identity, opts->identity) < 0) {
		leader_free(l);
		return -ENOMEM;
	}
	*ret_leader = l;
	return 0;
}

int leader_start(struct leader *l)
{
	schedule(l, 0);
	return 0;
}

int leader_is_leading(const struct leader *l)
{
	return l->leading;
}

int leader_release(struct leader *l, struct kube_error *err)
{
	struct kube_ref ref = { .res = &KUBE_LEASES, .ns = l->ns, .name = l->name };
	json_t *lease = NULL;
	char now[40];
	int rc;

	evtimer_del(l->tick);
	if (!l->leading)
		return 0;
	become(l, 0);
	rc = kube_get(l->client, &ref, &lease, err);
	if (rc < 0)
		return rc;
	json_t *spec = json_object_get(lease, "spec");
	const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
	if (!holder || strcmp(holder, l->identity) != 0) {
		json_decref(lease);
		return 0; /* not ours any more: nothing to hand back */
	}
	micro_time(now, sizeof(now));
	json_object_set_new(spec, "holderIdentity", json_string(""));
	json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
	json_object_set_new(spec, "renewTime", json_string(now));
	rc = kube_update(l->client, &ref, lease, NULL, err);
	json_decref(lease);
	return rc;
}

struct leader *leader_free(struct leader *l)
{
	if (!l)
		return NULL;
	if (l->tick)
		event_free(l->tick);
	free(l->ns);
	free(l->name);
	free(l->identity);
	free(l->observed_holder);
	free(l->observed_renew);
	free(l);
	return NULL;
}

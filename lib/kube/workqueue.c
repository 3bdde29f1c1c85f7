#include "lib/kube/workqueue.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/kube/backoff.h"

/* Key sets are jansson objects (a hash table keyed by string). */
struct workqueue {
	struct event_base *base;
	struct workqueue_opts opts;
	workqueue_process_fn process;
	void *ud;

	char **ring;        /* FIFO of ready keys, owned */
	size_t head, count, cap;
	json_t *dirty;      /* keys queued and not yet processed */
	json_t *processing; /* the key being processed */
	json_t *waiting;    /* key -> due time (ms, integer) */
	json_t *failures;   /* key -> count */

	struct event *kick;  /* runs one key */
	struct event *timer; /* fires at the earliest due time */
	struct workqueue_stats stats;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static size_t distinct_keys(const struct workqueue *q)
{
	return json_object_size(q->dirty) + json_object_size(q->waiting) +
	       json_object_size(q->processing);
}

static int ring_push(struct workqueue *q, const char *key)
{
	char *copy;

	if (q->count == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		char **ring = malloc(cap * sizeof(*ring));
		if (!ring)
			return -ENOMEM;
		for (size_t i = 0; i < q->count; i++)
			ring[i] = q->ring[(q->head + i) % q->cap];
		free(q->ring);
		q->ring = ring;
		q->cap = cap;
		q->head = 0;
	}
	copy = strdup(key);
	if (!copy)
		return -ENOMEM;
	q->ring[(q->head + q->count) % q->cap] = copy;
	q->count++;
	return 0;
}

/* Returns the oldest ready key; the caller frees it. */
static char *ring_pop(struct workqueue *q)
{
	char *key;

	if (q->count == 0)
		return NULL;
	key = q->ring[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	return key;
}

/* A zero timeout rather than event_active: timeouts run after the loop has polled,
 * so a long queue does not starve sockets. */
static void kick(struct workqueue *q)
{
	static const struct timeval now = { 0, 0 };

	if (q->count > 0 && !evtimer_pending(q->kick, NULL))
		evtimer_add(q->kick, &now);
}

int workqueue_add(struct workqueue *q, const char *key)
{
	int rc;

	if (json_object_get(q->dirty, key))
		return 0; /* already queued: processed once */
	if (!json_object_get(q->processing, key) && !json_object_get(q->waiting, key) &&
	    distinct_keys(q) >= q->opts.max_keys) {
		q->stats.dropped++;
		return -ENOSPC;
	}
	if (json_object_set_new(q->dirty, key, json_true()) < 0)
		return -ENOMEM;
	q->stats.adds++;
	json_object_del(q->waiting, key); /* due now, not later */
	if (json_object_get(q->processing, key))
		return 0; /* requeued by done() */
	rc = ring_push(q, key);
	if (rc < 0) {
		json_object_del(q->dirty, key);
		return rc;
	}
	kick(q);
	return 0;
}

static void arm_timer(struct workqueue *q)
{
	const char *key;
	json_t *due;
	long earliest = -1;

	json_object_foreach(q->waiting, key, due) {
		long d = (long)json_integer_value(due);
		if (earliest < 0 || d < earliest)
			earliest = d;
	}
	if (earliest < 0) {
		evtimer_del(q->timer);
		return;
	}
	long delay = earliest - now_ms();
	if (delay < 0)
		delay = 0;
	struct timeval tv = { delay / 1000, (delay % 1000) * 1000 };
	evtimer_add(q->timer, &tv);
}

int workqueue_add_after(struct workqueue *q, const char *key, long delay_ms)
{
	if (delay_ms <= 0)
		return workqueue_add(q, key);
	if (json_object_get(q->dirty, key))
		return 0; /* already due now */
	long due = now_ms() + delay_ms;
	json_t *cur = json_object_get(q->waiting, key);
	if (cur && json_integer_value(cur) <= due)
		return 0;
	if (!cur && !json_object_get(q->processing, key) && distinct_keys(q) >= q->opts.max_keys) {
		q->stats.dropped++;
		return -ENOSPC;
	}
	if (json_object_set_new(q->waiting, key, json_integer(due)) < 0)
		return -ENOMEM;
	arm_timer(q);
	return 0;
}

int workqueue_add_rate_limited(struct workqueue *q, const char *key)
{
	unsigned n = workqueue_failures(q, key);

	json_object_set_new(q->failures, key, json_integer(n + 1));
	q->stats.retries++;
	return workqueue_add_after(q, key, backoff_delay_for(q->opts.base_delay_ms,
							    q->opts.max_delay_ms, n));
}

void workqueue_forget(struct workqueue *q, const char *key)
{
	json_object_del(q->failures, key);
}

unsigned workqueue_failures(const struct workqueue *q, const char *key)
{
	return (unsigned)json_integer_value(json_object_get(q->failures, key));
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct workqueue *q = arg;
	long now = now_ms();
	const char *key;
	json_t *due, *tmp;

	json_object_foreach_safe(q->waiting, tmp, key, due) {
		if (json_integer_value(due) <= now) {
			char *k = strdup(key);
			json_object_del(q->waiting, key);
			if (k) {
				workqueue_add(q, k);
				free(k);
			}
		}
	}
	arm_timer(q);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct workqueue *q = arg;
	char *key = ring_pop(q);

	if (!key)
		return;
	json_object_del(q->dirty, key);
	json_object_set_new(q->processing, key, json_true());
	int rc = q->process(q->ud, key);
	q->stats.processed++;
	json_object_del(q->processing, key);
	if (rc == 0)
		workqueue_forget(q, key);
	if (json_object_get(q->dirty, key)) {
		/* Added again while it ran: run it again, after what is already queued. */
		if (ring_push(q, key) < 0)
			json_object_del(q->dirty, key);
	}
	if (rc < 0)
		workqueue_add_rate_limited(q, key);
	free(key);
	kick(q);
}

int workqueue_new(struct event_base *base, const struct workqueue_opts *opts,
		  workqueue_process_fn process, void *ud, struct workqueue **ret_q)
{
	struct workqueue *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->base = base;
	if (opts)
		q->opts = *opts;
	if (q->opts.base_delay_ms <= 0)
		q->opts.base_delay_ms = 5;
	if (q->opts.max_delay_ms <= 0)
		q->opts.max_delay_ms = 60000;
	if (!q->opts.max_keys)
		q->opts.max_keys = 100000;
	q->process = process;
	q->ud = ud;
	q->dirty = json_object();
	q->processing = json_object();
	q->waiting = json_object();
	q->failures = json_object();
	q->kick = evtimer_new(base, on_kick, q);
	q->timer = evtimer_new(base, on_timer, q);
	if (!q->dirty || !q->processing || !q->waiting || !q->failures || !q->kick || !q->timer) {
		workqueue_free(q);
		return -ENOMEM;
	}
	*ret_q = q;
	return 0;
}

struct workqueue *workqueue_free(struct workqueue *q)
{
	char *key;

	if (!q)
		return NULL;
	while ((key = ring_pop(q)))
		free(key);
	free(q->ring);
	json_decref(q->dirty);
	json_decref(q->processing);
	json_decref(q->waiting);
	json_decref(q->failures);
	if (q->kick)
		event_free(q->kick);
	if (q->timer)
		event_free(q->timer);
	free(q);
	return NULL;
}

struct workqueue_stats workqueue_stats(const struct workqueue *q)
{
	struct workqueue_stats s = q->stats;

	s.depth = q->count;
	s.waiting = json_object_size(q->waiting);
	return s;
}

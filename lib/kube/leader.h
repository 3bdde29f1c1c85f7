/* Leader election on a coordination.k8s.io/v1 Lease, on an event_base, with
 * client-go's rules: the holder renews every retry period; another candidate takes
 * the Lease over once it has seen no renewal for a lease duration (by its own clock,
 * so clocks need not agree); a leader that cannot renew within the renew deadline
 * steps down; releasing on shutdown empties the holder so a successor need not wait.
 * Updates carry the resourceVersion, so two candidates can never both win a round.
 * Error convention: see lib/kube/error.h. */
#ifndef AUTOTRACE_KUBE_LEADER_H
#define AUTOTRACE_KUBE_LEADER_H

#include <event2/event.h>

#include "lib/kube/client.h"

struct leader;

struct leader_opts {
	const char *ns;           /* the Lease's namespace and name */
	const char *name;
	const char *identity;     /* unique per candidate, e.g. pod name + pid */
	long lease_duration_ms;   /* default 15000 */
	long renew_deadline_ms;   /* default 10000; less than lease_duration */
	long retry_period_ms;     /* default 2000 */
	void (*on_started_leading)(void *ud);
	void (*on_stopped_leading)(void *ud); /* leadership lost or released */
	void (*on_new_leader)(void *ud, const char *identity); /* optional */
	void *ud;
};

int leader_new(struct kube_client *c, struct event_base *base, const struct leader_opts *opts,
	       struct leader **ret_leader);
int leader_start(struct leader *l);
int leader_is_leading(const struct leader *l);
/* Hands the Lease back if we hold it (on SIGTERM); on_stopped_leading runs. */
int leader_release(struct leader *l, struct kube_error *err);
struct leader *leader_free(struct leader *l);

#endif

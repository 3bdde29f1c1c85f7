/* What integration tests need around a real API server: a client from $KUBECONFIG,
 * throwaway namespaces, an event loop run until a condition holds, the test CRD, and
 * the local control plane's controls ($CLUSTER_DIR, e2e/cluster/ctl.sh). */
#ifndef AUTOTRACE_TESTS_KUBE_TEST_H
#define AUTOTRACE_TESTS_KUBE_TEST_H

#include <event2/event.h>
#include <jansson.h>

#include "lib/kube/api.h"

/* A namespaced test resource whose watches the test cluster serves straight from
 * etcd (kube-apiserver --watch-cache-sizes=widgets.test.autotrace.dev#0). */
extern const struct kube_resource KT_WIDGETS;

/* A new client for $KUBECONFIG; aborts the test program when there is none. */
struct kube_client *kt_client(void);
/* The same with client options (borrowed for the client's life). */
struct kube_client *kt_client_with(const struct kube_client_opts *opts);
/* Creates namespace "<prefix>-<random>" into buf. */
int kt_namespace_new(struct kube_client *c, const char *prefix, char *buf, size_t len);
void kt_namespace_delete(struct kube_client *c, const char *ns);
/* Creates the Widget CRD once and waits until it is served. */
int kt_widget_crd_ensure(struct kube_client *c);

typedef int (*kt_pred_fn)(void *ud);
/* Runs `base` until pred(ud) is true or timeout_ms passed; returns pred's last value. */
int kt_run_until(struct event_base *base, kt_pred_fn pred, void *ud, long timeout_ms);
/* Runs `base` for ms milliseconds. */
void kt_run_for(struct event_base *base, long ms);

/* e2e/cluster/ctl.sh $CLUSTER_DIR <action> <component>; returns its exit status. */
int kt_cluster_ctl(const char *action, const char *component);
/* Compacts etcd to its current revision (e2e/cluster/etcd-compact.sh). */
int kt_etcd_compact(void);

long kt_now_ms(void);

/* A ConfigMap {name, ns, data{k: v}}; new reference. */
json_t *kt_configmap(const char *ns, const char *name, const char *k, const char *v);

#endif

/* Informer initial sync of 10,000 ConfigMaps against the local control plane: seconds
 * and peak RSS of a process that only syncs, next to `kubectl get configmaps -A -o json`
 * of the same objects in the same run.
 *
 * The program runs itself as the syncing process (`bench_informer_sync sync`), so the
 * figure is the informer's alone, not the creation of the objects. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/kube/informer.h"
#include "tests/support/kube_test.h"

#define DEFAULT_OBJECTS 10000
#define IN_FLIGHT 32

/* --- the syncing child ------------------------------------------------------------ */

static void on_synced(void *ud)
{
	*(int *)ud = 1;
}

static int synced_pred(void *ud)
{
	return *(int *)ud;
}

static int sync_once(void)
{
	struct kube_client *c = kt_client();
	struct event_base *base = event_base_new();
	struct kube_informer *inf = NULL;
	int synced = 0;
	struct kube_informer_opts o = { .res = &KUBE_CONFIGMAPS, .page_size = 500,
					.handlers = { .on_synced = on_synced }, .ud = &synced };

	long t0 = kt_now_ms();
	if (kube_informer_new(c, base, &o, &inf) < 0 || kube_informer_start(inf) < 0)
		return 1;
	if (!kt_run_until(base, synced_pred, &synced, 300000))
		return 1;
	long ms = kt_now_ms() - t0;
	printf("%zu %ld\n", kube_informer_count(inf), ms);
	kube_informer_free(inf);
	event_base_free(base);
	kube_client_free(c);
	return 0;
}

/* --- creating the objects, many requests in flight -------------------------------- */

struct creator {
	struct kube_client *c;
	struct event_base *base;
	const char *ns;
	int next, total, in_flight, failed;
	char body[512];
};

static void start_one(struct creator *cr);

static void created(void *ud, int rc, struct kube_response *resp, const struct kube_error *err)
{
	struct creator *cr = ud;

	cr->in_flight--;
	if (rc < 0)
		cr->failed++;
	start_one(cr);
}

static void start_one(struct creator *cr)
{
	char path[256], body[512];

	if (cr->next >= cr->total)
		return;
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps", cr->ns);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cm-%05d\","
		 "\"labels\":{\"app\":\"bench\"}},\"data\":{\"sampler\":\"traceidratio\",\"ratio\":\"0.25\","
		 "\"endpoint\":\"http://collector.observability:4318\"}}",
		 cr->next);
	struct kube_request req = { .method = "POST", .path = path, .body = body,
				    .body_len = strlen(body) };
	cr->next++;
	if (kube_client_call(cr->c, cr->base, &req, created, cr, NULL) == 0)
		cr->in_flight++;
	else
		cr->failed++;
}

static int all_created(void *ud)
{
	struct creator *cr = ud;
	return cr->next >= cr->total && cr->in_flight == 0;
}

/* Runs `argv` with stdout to /dev/null (or a pipe when out != NULL); wall ms and peak
 * RSS (KiB) of that process alone. */
static int run_measured(char *const argv[], char *out, size_t outlen, long *ret_ms,
			long *ret_rss_kb)
{
	int fds[2] = { -1, -1 };
	struct rusage ru;
	int status;

	if (out && pipe(fds) < 0)
		return -errno;
	long t0 = kt_now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(out ? fds[1] : devnull, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (out) {
		close(fds[1]);
		ssize_t n, used = 0;
		while ((n = read(fds[0], out + used, outlen - 1 - (size_t)used)) > 0)
			used += n;
		out[used] = '\0';
		close(fds[0]);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return -errno;
	*ret_ms = kt_now_ms() - t0;
	*ret_rss_kb = ru.ru_maxrss;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "sync") == 0)
		return sync_once();
	if (!getenv("KUBECONFIG")) {
		printf("informer_sync: skipped, no local control plane (KUBECONFIG unset)\n");
		return 0;
	}
	int total = getenv("BENCH_OBJECTS") ? (int)strtol(getenv("BENCH_OBJECTS"), NULL, 10)
					    : DEFAULT_OBJECTS;
	struct kube_client *c = kt_client();
	struct event_base *base = event_base_new();
	char ns[64];

	if (kt_namespace_new(c, "bench-sync", ns, sizeof(ns)) < 0) {
		printf("informer_sync: cannot create a namespace\n");
		return 1;
	}
	struct creator cr = { .c = c, .base = base, .ns = ns, .total = total };
	long t0 = kt_now_ms();
	for (int i = 0; i < IN_FLIGHT; i++)
		start_one(&cr);
	kt_run_until(base, all_created, &cr, 600000);
	printf("informer_sync: created %d ConfigMaps in %.1f s (%d failed)\n", total - cr.failed,
	       (double)(kt_now_ms() - t0) / 1000.0, cr.failed);

	char self[4096], out[256];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	long ms = 0, rss = 0, kms = 0, krss = 0;
	char *sync_argv[] = { self, "sync", NULL };
	char *kubectl_argv[] = { "kubectl", "get", "configmaps", "-A", "-o", "json", NULL };
	/* One warm-up of each so neither pays for a cold API server cache alone. */
	run_measured(kubectl_argv, NULL, 0, &kms, &krss);
	if (run_measured(sync_argv, out, sizeof(out), &ms, &rss) < 0 ||
	    run_measured(kubectl_argv, NULL, 0, &kms, &krss) < 0) {
		printf("informer_sync: a measured run failed\n");
		return 1;
	}
	size_t objects = 0;
	long sync_ms = 0;
	sscanf(out, "%zu %ld", &objects, &sync_ms);
	printf("informer_sync: %zu objects synced in %.2f s (process %.2f s), peak RSS %.1f MiB\n",
	       objects, (double)sync_ms / 1000.0, (double)ms / 1000.0, (double)rss / 1024.0);
	printf("informer_sync: kubectl get configmaps -A -o json: %.2f s, peak RSS %.1f MiB\n",
	       (double)kms / 1000.0, (double)krss / 1024.0);
	printf("informer_sync: ratio autotrace/kubectl: time %.2f, RSS %.2f\n",
	       (double)ms / (double)(kms ? kms : 1), (double)rss / (double)(krss ? krss : 1));
	kt_namespace_delete(c, ns);
	event_base_free(base);
	kube_client_free(c);
	return 0;
}

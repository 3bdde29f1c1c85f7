#include "agent/probe_load.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct probe_load {
	pthread_t thread;
	int done_fd; /* eventfd, written once by the thread */
	struct probe_loader_opts opts;
	/* Written by the thread before done_fd, read after the join. */
	struct probe_loader *loader;
	struct probe_load_cost cost;
	int rc;
};

static long clock_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The loader is the caller's. */
int probe_load_now(const struct probe_loader_opts *opts, struct probe_loader **ret_loader,
		   struct probe_load_cost *ret_cost)
{
	long wall = clock_ms(CLOCK_MONOTONIC), cpu = clock_ms(CLOCK_THREAD_CPUTIME_ID);
	int r;

	r = probe_loader_new(opts, ret_loader);
	if (r == 0 && ret_cost)
		*ret_cost = (struct probe_load_cost){
			.wall_ms = clock_ms(CLOCK_MONOTONIC) - wall,
			.cpu_ms = clock_ms(CLOCK_THREAD_CPUTIME_ID) - cpu,
		};
	return r;
}

static void *load_main(void *arg)
{
	struct probe_load *l = arg;
	uint64_t one = 1;

	l->rc = probe_load_now(&l->opts, &l->loader, &l->cost);
	/* An eventfd's counter cannot overflow from one write. */
	if (write(l->done_fd, &one, sizeof(one)) < 0 && l->rc == 0)
		l->rc = -errno;
	return NULL;
}

/* Returns a new load; the thread writes only its results into it. */
int probe_load_start(const struct probe_loader_opts *opts, struct probe_load **ret_load)
{
	struct probe_load *l;
	int r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->opts = *opts;
	l->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->done_fd < 0) {
		r = -errno;
		free(l);
		return r;
	}
	/* The thread takes no signal: one pending in it makes the kernel abandon the
	 * verification under way (EAGAIN), which libbpf then starts over, up to five
	 * times. The thread inherits the mask in force at its creation. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&l->thread, NULL, load_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		close(l->done_fd);
		free(l);
		return -r;
	}
	*ret_load = l;
	return 0;
}

int probe_load_fd(const struct probe_load *l)
{
	return l->done_fd;
}

/* Frees l; the loader, on success, is the caller's. */
int probe_load_finish(struct probe_load *l, struct probe_loader **ret_loader,
		      struct probe_load_cost *ret_cost)
{
	int r;

	pthread_join(l->thread, NULL);
	close(l->done_fd);
	r = l->rc;
	if (r == 0) {
		*ret_loader = l->loader;
		if (ret_cost)
			*ret_cost = l->cost;
	} else {
		probe_loader_free(l->loader);
	}
	free(l);
	return r;
}

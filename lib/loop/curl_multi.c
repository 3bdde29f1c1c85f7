#include "lib/loop/curl_multi.h"

#include <errno.h>
#include <stdlib.h>

struct curl_loop {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	int running;
	int in_flight;
	struct transfer *transfers; /* in flight, for cancelling them all at free */
};

/* Per-transfer state, reached through CURLOPT_PRIVATE. */
struct transfer {
	curl_loop_done_fn done;
	void *ud;
	CURL *easy;
	struct transfer *prev, *next;
};

static void transfer_unlink(struct curl_loop *loop, struct transfer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		loop->transfers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	loop->in_flight--;
}

/* Per-socket state, reached through curl_multi_assign. */
struct sock {
	struct event *ev;
	struct curl_loop *loop;
};

static void check_done(struct curl_loop *loop)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(loop->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		CURLcode result = msg->data.result;
		struct transfer *t = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
		curl_multi_remove_handle(loop->multi, easy);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		if (t) {
			transfer_unlink(loop, t);
			curl_loop_done_fn done = t->done;
			void *ud = t->ud;
			free(t);
			done(ud, easy, result);
		}
	}
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct curl_loop *loop = arg;
	int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(loop->multi, fd, flags, &loop->running);
	/* The timer is curl's to arm and clear: a done callback may have just added a
	 * transfer whose start is that timer. */
	check_done(loop);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct curl_loop *loop = arg;

	curl_multi_socket_action(loop->multi, CURL_SOCKET_TIMEOUT, 0, &loop->running);
	check_done(loop);
}

static int on_timer_update(CURLM *multi, long timeout_ms, void *userp)
{
	struct curl_loop *loop = userp;

	if (timeout_ms < 0) {
		evtimer_del(loop->timer);
		return 0;
	}
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	evtimer_add(loop->timer, &tv);
	return 0;
}

static int on_socket_update(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct curl_loop *loop = userp;
	struct sock *sk = socketp;

	if (what == CURL_POLL_REMOVE) {
		if (sk) {
			event_free(sk->ev);
			free(sk);
			curl_multi_assign(loop->multi, s, NULL);
		}
		return 0;
	}
	short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
		     (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (!sk) {
		sk = calloc(1, sizeof(*sk));
		if (!sk)
			return -1;
		sk->loop = loop;
		curl_multi_assign(loop->multi, s, sk);
	} else {
		event_free(sk->ev);
	}
	sk->ev = event_new(loop->base, s, kind, on_socket_event, loop);
	if (!sk->ev || event_add(sk->ev, NULL) < 0)
		return -1;
	return 0;
}

struct curl_loop *curl_loop_new(struct event_base *base)
{
	struct curl_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->base = base;
	loop->multi = curl_multi_init();
	loop->timer = evtimer_new(base, on_timeout, loop);
	if (!loop->multi || !loop->timer)
		return curl_loop_free(loop);
	curl_multi_setopt(loop->multi, CURLMOPT_SOCKETFUNCTION, on_socket_update);
	curl_multi_setopt(loop->multi, CURLMOPT_SOCKETDATA, loop);
	curl_multi_setopt(loop->multi, CURLMOPT_TIMERFUNCTION, on_timer_update);
	curl_multi_setopt(loop->multi, CURLMOPT_TIMERDATA, loop);
	return loop;
}

int curl_loop_add(struct curl_loop *loop, CURL *easy, curl_loop_done_fn done, void *ud)
{
	struct transfer *t;

	if (!loop || !easy || !done)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->done = done;
	t->ud = ud;
	t->easy = easy;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
	if (curl_multi_add_handle(loop->multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(t);
		return -EINVAL;
	}
	t->next = loop->transfers;
	if (t->next)
		t->next->prev = t;
	loop->transfers = t;
	loop->in_flight++;
	return 0;
}

void curl_loop_remove(struct curl_loop *loop, CURL *easy)
{
	struct transfer *t = NULL;

	if (!loop || !easy)
		return;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
	if (!t)
		return; /* not ours, or already finished */
	curl_multi_remove_handle(loop->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	transfer_unlink(loop, t);
	free(t);
}

struct curl_loop *curl_loop_free(struct curl_loop *loop)
{
	if (!loop)
		return NULL;
	if (loop->multi) {
		while (loop->transfers)
			curl_loop_remove(loop, loop->transfers->easy);
		curl_multi_cleanup(loop->multi);
	}
	if (loop->timer)
		event_free(loop->timer);
	free(loop);
	return NULL;
}

struct event_base *curl_loop_base(struct curl_loop *loop)
{
	return loop->base;
}

int curl_loop_running(struct curl_loop *loop)
{
	return loop->in_flight;
}

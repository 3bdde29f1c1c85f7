/* libcurl's multi interface driven by a libevent event_base, so one thread serves
 * HTTP, runs timers and keeps many Kubernetes watches and requests in flight (the
 * pattern of curl's hiperfifo example). Everything runs on the loop's thread. */
#ifndef AUTOTRACE_LOOP_CURL_MULTI_H
#define AUTOTRACE_LOOP_CURL_MULTI_H

#include <curl/curl.h>
#include <event2/event.h>

struct curl_loop;

/* Called once when a transfer ends (success or not). The easy handle has already been
 * removed from the multi handle; the callee owns it again. */
typedef void (*curl_loop_done_fn)(void *ud, CURL *easy, CURLcode result);

/* New loop on `base` (borrowed; must outlive the loop). NULL on allocation failure. */
struct curl_loop *curl_loop_new(struct event_base *base);
/* Cancels every transfer without calling their callbacks; accepts NULL; returns NULL. */
struct curl_loop *curl_loop_free(struct curl_loop *loop);

/* Starts `easy` (borrowed until done or removed). 0 or -EINVAL/-ENOMEM. */
int curl_loop_add(struct curl_loop *loop, CURL *easy, curl_loop_done_fn done, void *ud);
/* Stops a transfer in flight without calling its callback. Not from inside that
 * transfer's write or header callback (libcurl forbids it): return an error there to
 * abort it, and the done callback follows. From its done callback it is a no-op. */
void curl_loop_remove(struct curl_loop *loop, CURL *easy);

struct event_base *curl_loop_base(struct curl_loop *loop);
/* Transfers in flight. */
int curl_loop_running(struct curl_loop *loop);

#endif

/* A Go HTTP service (tests/fixtures/go/httpsvc, build/fixtures/httpsvc-manifest.txt)
 * run as a child process on a free loopback port, and a keep-alive libcurl client for
 * it: what the agent's tests and benchmarks trace. Call curl_global_init first.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_TESTS_SUPPORT_TRACED_SERVICE_H
#define AUTOTRACE_TESTS_SUPPORT_TRACED_SERVICE_H

#include <stddef.h>
#include <sys/types.h>

#define TRACED_SERVICE_MANIFEST "build/fixtures/httpsvc-manifest.txt"

struct traced_service;

/* Starts binary with -addr 127.0.0.1:<free port> and waits until it accepts
 * connections. Returns a new service. */
int traced_service_start(const char *binary, struct traced_service **ret_service);
/* The same, as if in the pod container `container`: the service's environment carries
 * AUTOTRACE_CONTAINER_NAME, as the webhook sets it. */
int traced_service_start_in(const char *binary, const char *container,
			    struct traced_service **ret_service);
/* The same with -next <next> (tests/fixtures/go/chain: the service it calls); container
 * and next may be NULL. */
int traced_service_start_next(const char *binary, const char *container, const char *next,
			      struct traced_service **ret_service);
/* The same with the listening address given by addr_flag ("-addr", or "-grpc" for a
 * gRPC server: the readiness check is a TCP connect either way), followed by args[]
 * (NULL-terminated, at most TRACED_SERVICE_MAX_ARGS, copied; tests/fixtures/go/chain3:
 * "-role", "middle", "-grpc", "127.0.0.1:P"). */
#define TRACED_SERVICE_MAX_ARGS 8
int traced_service_start_args(const char *binary, const char *addr_flag, const char *const *args,
			      struct traced_service **ret_service);
/* Stops it (SIGTERM, then SIGKILL) and waits for it; accepts NULL; returns NULL. */
struct traced_service *traced_service_free(struct traced_service *s);
/* Stops the process and starts the same binary again on the same port (a new pid). */
int traced_service_restart(struct traced_service *s);

pid_t traced_service_pid(const struct traced_service *s);
/* The executable the service runs: this test program's private copy of the fixture
 * (absolute path), the exact target to give a tracer. Borrowed. */
const char *traced_service_binary(const struct traced_service *s);
int traced_service_port(const struct traced_service *s);

/* GETs path (e.g. "/hello") over the service's kept-alive connection, with the
 * extra header lines in headers[] (NULL-terminated, may be NULL). The status goes in
 * ret_status. */
int traced_service_get(struct traced_service *s, const char *path, const char *const *headers,
		       long *ret_status);
/* The same with another method (the body, if any, is empty). */
int traced_service_request(struct traced_service *s, const char *method, const char *path,
			   const char *const *headers, long *ret_status);

/* The path of the first manifest fixture built by a Go version starting with
 * go_prefix ("go1.22", or "" for any) and stripped or not, into path[0..size). */
int traced_service_fixture(const char *go_prefix, int stripped, char *path, size_t size);

#endif

/* Parsing of a listen address "host:port": "127.0.0.1:8443", "[::1]:0", "localhost:9090",
 * ":9090" (every interface). Port 0 asks the kernel for a free port. */
#ifndef AUTOTRACE_HTTP_LISTEN_ADDR_H
#define AUTOTRACE_HTTP_LISTEN_ADDR_H

#include <stdint.h>

#define HTTP_LISTEN_HOST_MAX 256

struct http_listen_addr {
	/* Empty for every interface; IPv6 literals without their brackets. */
	char host[HTTP_LISTEN_HOST_MAX];
	uint16_t port;
};

/* 0, or -EINVAL for a missing or out-of-range port, unbalanced brackets, an empty or
 * too long string. *ret_addr is written only on success. */
int http_listen_addr_parse(const char *text, struct http_listen_addr *ret_addr);

#endif

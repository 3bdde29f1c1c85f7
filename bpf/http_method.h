/* HTTP request methods as the probes count them (enum hs_method): from a method string,
 * and from the request line as it sits in the connection's read buffer. Pure C, shared
 * by bpf/http_server.bpf.c and the unit tests. */
#ifndef AUTOTRACE_BPF_HTTP_METHOD_H
#define AUTOTRACE_BPF_HTTP_METHOD_H

#include "bpf/http_server.h"

#ifdef __bpf__
#define HM_INLINE __attribute__((always_inline)) inline
#else
#define HM_INLINE inline
#endif

#define HM3(a, b, c) ((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16)
#define HM4(a, b, c, d) (HM3(a, b, c) | (__u64)(d) << 24)
#define HM5(a, b, c, d, e) (HM4(a, b, c, d) | (__u64)(e) << 32)
#define HM6(a, b, c, d, e, f) (HM5(a, b, c, d, e) | (__u64)(f) << 40)
#define HM7(a, b, c, d, e, f, g) (HM6(a, b, c, d, e, f) | (__u64)(g) << 48)

/* The method whose len bytes are the low bytes of w (little-endian), len <= 7. */
static HM_INLINE __u8 hs_method_of_word(__u64 w, __u32 len)
{
	if (len == 0 || len > 7)
		return HS_METHOD_OTHER;
	w &= (1ULL << (8 * len)) - 1;
	switch (len) {
	case 3:
		if (w == HM3('G', 'E', 'T'))
			return HS_METHOD_GET;
		if (w == HM3('P', 'U', 'T'))
			return HS_METHOD_PUT;
		break;
	case 4:
		if (w == HM4('P', 'O', 'S', 'T'))
			return HS_METHOD_POST;
		if (w == HM4('H', 'E', 'A', 'D'))
			return HS_METHOD_HEAD;
		break;
	case 5:
		if (w == HM5('P', 'A', 'T', 'C', 'H'))
			return HS_METHOD_PATCH;
		if (w == HM5('T', 'R', 'A', 'C', 'E'))
			return HS_METHOD_TRACE;
		break;
	case 6:
		if (w == HM6('D', 'E', 'L', 'E', 'T', 'E'))
			return HS_METHOD_DELETE;
		break;
	case 7:
		if (w == HM7('O', 'P', 'T', 'I', 'O', 'N', 'S'))
			return HS_METHOD_OPTIONS;
		if (w == HM7('C', 'O', 'N', 'N', 'E', 'C', 'T'))
			return HS_METHOD_CONNECT;
		break;
	}
	return HS_METHOD_OTHER;
}

/* The length of a known method's name; 0 for HS_METHOD_OTHER and unknown ids. */
static HM_INLINE __u32 hs_method_len(__u8 id)
{
	switch (id) {
	case HS_METHOD_GET:
	case HS_METHOD_PUT:
		return 3;
	case HS_METHOD_HEAD:
	case HS_METHOD_POST:
		return 4;
	case HS_METHOD_PATCH:
	case HS_METHOD_TRACE:
		return 5;
	case HS_METHOD_DELETE:
		return 6;
	case HS_METHOD_OPTIONS:
	case HS_METHOD_CONNECT:
		return 7;
	}
	return 0;
}

/* The method of a string of len bytes at m; m has 8 readable bytes. */
static HM_INLINE __u8 hs_method_of_string(const char *m, __u32 len)
{
	__u64 w;

	__builtin_memcpy(&w, m, 8);
	return hs_method_of_word(w, len);
}

/* The method of the request line at p, of which avail bytes are the request's (p has
 * 8 readable bytes): a known method followed by a space, else HS_METHOD_UNKNOWN (the
 * bytes are not a request line this can vouch for; ask the request itself). */
static HM_INLINE __u8 hs_method_of_line(const __u8 *p, __u32 avail)
{
	__u64 w;
	__u32 len = 8;

	__builtin_memcpy(&w, p, 8);
#ifdef __bpf__
#pragma unroll
#endif
	for (__u32 k = 7; k >= 3; k--) {
		if (((w >> (8 * k)) & 0xff) == ' ')
			len = k;
	}
	if (len > 7 || len >= avail)
		return HS_METHOD_UNKNOWN;
	w = hs_method_of_word(w, len);
	return w == HS_METHOD_OTHER ? HS_METHOD_UNKNOWN : (__u8)w;
}

#endif

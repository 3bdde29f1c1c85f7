/* The OTLP/HTTP encodings, by their OTEL_EXPORTER_OTLP_PROTOCOL names. */
#ifndef AUTOTRACE_OTLP_PROTOCOL_H
#define AUTOTRACE_OTLP_PROTOCOL_H

enum otlp_protocol {
	OTLP_PROTOCOL_HTTP_PROTOBUF, /* "http/protobuf", the default */
	OTLP_PROTOCOL_HTTP_JSON,     /* "http/json" */
};

/* "http/protobuf" or "http/json". 0, or -EINVAL (*ret_protocol unchanged); "grpc" is
 * refused too: this exporter speaks OTLP/HTTP only. */
int otlp_protocol_parse(const char *name, enum otlp_protocol *ret_protocol);
const char *otlp_protocol_name(enum otlp_protocol protocol);
/* The request's Content-Type. */
const char *otlp_protocol_content_type(enum otlp_protocol protocol);

#endif

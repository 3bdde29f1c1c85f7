#include "lib/otlp/protocol.h"

#include <errno.h>
#include <string.h>

int otlp_protocol_parse(const char *name, enum otlp_protocol *ret_protocol)
{
	if (!name)
		return -EINVAL;
	if (strcmp(name, "http/protobuf") == 0)
		*ret_protocol = OTLP_PROTOCOL_HTTP_PROTOBUF;
	else if (strcmp(name, "http/json") == 0)
		*ret_protocol = OTLP_PROTOCOL_HTTP_JSON;
	else
		return -EINVAL;
	return 0;
}

const char *otlp_protocol_name(enum otlp_protocol protocol)
{
	return protocol == OTLP_PROTOCOL_HTTP_JSON ? "http/json" : "http/protobuf";
}

const char *otlp_protocol_content_type(enum otlp_protocol protocol)
{
	return protocol == OTLP_PROTOCOL_HTTP_JSON ? "application/json" : "application/x-protobuf";
}

/* Spans of several resources in one request: each group names a resource, and a span
 * goes under the group whose id is its resource_id (otlp_span.resource_id); a span
 * whose id no group has goes under the first group, the exporter's own resource. What
 * a node agent's exporter does with the pods of one Instrumentation. */
#ifndef AUTOTRACE_OTLP_RESOURCE_GROUP_H
#define AUTOTRACE_OTLP_RESOURCE_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/otlp/span.h"

struct otlp_resource_group {
	uint32_t id;
	const struct otlp_resource *res; /* borrowed */
};

/* Whether span s goes under groups[g] of groups[0..n). */
static inline bool otlp_resource_group_has(const struct otlp_resource_group *groups, size_t n,
					   size_t g, const struct otlp_span *s)
{
	if (groups[g].id == s->resource_id)
		return true;
	if (g != 0)
		return false;
	for (size_t i = 1; i < n; i++)
		if (groups[i].id == s->resource_id)
			return false;
	return true;
}

#endif

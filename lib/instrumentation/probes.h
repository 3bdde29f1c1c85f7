/* spec.probes of an Instrumentation, and the "probes" object of the agent config the
 * operator renders from it: which probe families an agent attaches, and whether
 * database spans carry their query's text.
 *
 *   probes:
 *     httpServer:  {enabled: true}
 *     httpClient:  {enabled: true}
 *     grpcServer:  {enabled: true}
 *     grpcClient:  {enabled: true}
 *     databaseSql: {enabled: true, queryText: false}
 *
 * Every key is optional: a family is on unless `enabled: false`, the query text off
 * unless `queryText: true`. A bare boolean (`httpServer: false`, the first form of this
 * field) means {enabled: <it>}.
 * Errors: 0 or -EINVAL, with `err` naming the field and what is wrong. */
#ifndef AUTOTRACE_INSTRUMENTATION_PROBES_H
#define AUTOTRACE_INSTRUMENTATION_PROBES_H

#include <stddef.h>
#include <jansson.h>

struct instrumentation_probes {
	int http_server, http_client, grpc_server, grpc_client, database_sql; /* 0 or 1 */
	int db_query_text;                                                    /* 0 or 1 */
};

/* Every family on, no query text. */
void instrumentation_probes_default(struct instrumentation_probes *ret);

enum instrumentation_probes_mode {
	/* An Instrumentation's spec: an unknown family or key is an error. */
	INSTRUMENTATION_PROBES_STRICT,
	/* An agent config: unknown ones are ignored (a newer operator wrote it). */
	INSTRUMENTATION_PROBES_LENIENT,
};

/* Parses probes (an object, or NULL for the defaults); where prefixes messages
 * ("spec.probes"). *ret is written only on success. */
int instrumentation_probes_parse(const json_t *probes, enum instrumentation_probes_mode mode,
				 const char *where, struct instrumentation_probes *ret, char *err,
				 size_t err_size);

/* The agent config's "probes" object, every field explicit: a new reference, or NULL
 * when out of memory. */
json_t *instrumentation_probes_render(const struct instrumentation_probes *p);

#endif

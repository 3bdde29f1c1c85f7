#include "lib/instrumentation/probes.h"

#include <errno.h>
#include <string.h>

#include "lib/text/errbuf.h"

enum family { HTTP_SERVER, HTTP_CLIENT, GRPC_SERVER, GRPC_CLIENT, DATABASE_SQL, FAMILIES };

static const char *const family_names[FAMILIES] = {
	[HTTP_SERVER] = "httpServer",   [HTTP_CLIENT] = "httpClient",
	[GRPC_SERVER] = "grpcServer",   [GRPC_CLIENT] = "grpcClient",
	[DATABASE_SQL] = "databaseSql",
};

static int *family_field(struct instrumentation_probes *p, enum family f)
{
	switch (f) {
	case HTTP_SERVER:
		return &p->http_server;
	case HTTP_CLIENT:
		return &p->http_client;
	case GRPC_SERVER:
		return &p->grpc_server;
	case GRPC_CLIENT:
		return &p->grpc_client;
	default:
		return &p->database_sql;
	}
}

void instrumentation_probes_default(struct instrumentation_probes *ret)
{
	*ret = (struct instrumentation_probes){ 1, 1, 1, 1, 1, 0 };
}

/* One family's settings: {enabled, queryText (databaseSql only)} or a bare boolean. */
static int parse_family(const json_t *v, enum family f, enum instrumentation_probes_mode mode,
			const char *where, struct instrumentation_probes *p, char *err,
			size_t err_size)
{
	const char *name = family_names[f], *key;
	json_t *member;

	if (json_is_boolean(v)) {
		*family_field(p, f) = json_is_true(v);
		return 0;
	}
	if (!json_is_object(v))
		return errbuf_fail(err, err_size, -EINVAL,
				   "%s.%s: want an object like {enabled: true}", where, name);
	json_object_foreach((json_t *)v, key, member) {
		if (strcmp(key, "enabled") == 0) {
			if (!json_is_boolean(member))
				return errbuf_fail(err, err_size, -EINVAL,
						   "%s.%s.enabled: want true or false", where, name);
			*family_field(p, f) = json_is_true(member);
		} else if (strcmp(key, "queryText") == 0 && f == DATABASE_SQL) {
			if (!json_is_boolean(member))
				return errbuf_fail(err, err_size, -EINVAL,
						   "%s.%s.queryText: want true or false", where, name);
			p->db_query_text = json_is_true(member);
		} else if (mode == INSTRUMENTATION_PROBES_STRICT) {
			return errbuf_fail(err, err_size, -EINVAL,
					   f == DATABASE_SQL
						   ? "%s.%s.%.64s: not a setting (enabled, queryText)"
						   : "%s.%s.%.64s: not a setting (enabled; queryText is "
						     "databaseSql's)",
					   where, name, key);
		}
	}
	return 0;
}

int instrumentation_probes_parse(const json_t *probes, enum instrumentation_probes_mode mode,
				 const char *where, struct instrumentation_probes *ret, char *err,
				 size_t err_size)
{
	struct instrumentation_probes p;
	const char *key;
	json_t *v;

	instrumentation_probes_default(&p);
	if (probes && !json_is_object(probes))
		return errbuf_fail(err, err_size, -EINVAL, "%s: want an object", where);
	json_object_foreach((json_t *)probes, key, v) {
		enum family f;

		for (f = 0; f < FAMILIES; f++)
			if (strcmp(key, family_names[f]) == 0)
				break;
		if (f == FAMILIES) {
			if (mode == INSTRUMENTATION_PROBES_LENIENT)
				continue;
			return errbuf_fail(err, err_size, -EINVAL,
					   "%s.%.64s: not one of httpServer, httpClient, grpcServer, "
					   "grpcClient, databaseSql",
					   where, key);
		}
		if (parse_family(v, f, mode, where, &p, err, err_size) < 0)
			return -EINVAL;
	}
	*ret = p;
	return 0;
}

json_t *instrumentation_probes_render(const struct instrumentation_probes *p)
{
	return json_pack("{s:{s:b}, s:{s:b}, s:{s:b}, s:{s:b}, s:{s:b, s:b}}", "httpServer",
			 "enabled", p->http_server, "httpClient", "enabled", p->http_client,
			 "grpcServer", "enabled", p->grpc_server, "grpcClient", "enabled",
			 p->grpc_client, "databaseSql", "enabled", p->database_sql, "queryText",
			 p->db_query_text);
}

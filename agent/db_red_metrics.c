#include "agent/db_red_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_series {
	char system[16], operation[16];
	int failed;
	uint64_t buckets[DB_RED_METRICS_MAX_BUCKETS];
	size_t n_buckets;
	uint64_t count;
	double sum_seconds;
};

struct db_red_metrics {
	struct db_series *s;
	size_t n, cap;
};

/* Returns a new collection; free it with db_red_metrics_free. */
int db_red_metrics_new(struct db_red_metrics **ret)
{
	struct db_red_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	*ret = m;
	return 0;
}

struct db_red_metrics *db_red_metrics_free(struct db_red_metrics *m)
{
	if (!m)
		return NULL;
	free(m->s);
	free(m);
	return NULL;
}

/* A label value from names the agent chose (never a process's bytes), kept to
 * [a-z A-Z 0-9 _]. */
static void label_value(const char *in, char *out, size_t size)
{
	size_t i = 0;

	for (; in && in[i] && i + 1 < size; i++) {
		char c = in[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
				 ? c
				 : '_';
	}
	out[i] = '\0';
}

int db_red_metrics_add(struct db_red_metrics *m, const char *system, const char *operation,
		       int failed, const uint64_t *buckets, size_t n_buckets, uint64_t count,
		       double sum_seconds)
{
	char sys[16], op[16];
	struct db_series *s = NULL;

	if (n_buckets > DB_RED_METRICS_MAX_BUCKETS)
		return -EINVAL;
	label_value(system, sys, sizeof(sys));
	label_value(operation, op, sizeof(op));
	for (size_t i = 0; i < m->n && !s; i++)
		if (strcmp(m->s[i].system, sys) == 0 && strcmp(m->s[i].operation, op) == 0 &&
		    m->s[i].failed == !!failed && m->s[i].n_buckets == n_buckets)
			s = &m->s[i];
	if (!s) {
		if (m->n == m->cap) {
			size_t cap = m->cap ? 2 * m->cap : 16;
			struct db_series *grown = reallocarray(m->s, cap, sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			m->s = grown;
			m->cap = cap;
		}
		s = &m->s[m->n++];
		memset(s, 0, sizeof(*s));
		memcpy(s->system, sys, sizeof(sys));
		memcpy(s->operation, op, sizeof(op));
		s->failed = !!failed;
		s->n_buckets = n_buckets;
	}
	for (size_t b = 0; b < n_buckets; b++)
		s->buckets[b] += buckets[b];
	s->count += count;
	s->sum_seconds += sum_seconds;
	return 0;
}

int db_red_metrics_format(const struct db_red_metrics *m, const double *bounds,
			  size_t n_bounds, struct prom_text *out)
{
	int rc = prom_text_histogram_header(out, DB_RED_METRICS_FAMILY,
					    "Duration of database/sql client operations, every call "
					    "the probes saw, sampled or not.");

	for (size_t i = 0; i < m->n && rc == 0; i++) {
		const struct db_series *s = &m->s[i];
		char labels[128];
		size_t used = 0;

		if (s->n_buckets != n_bounds + 1)
			continue;
		labels[0] = '\0';
		if (s->system[0])
			used += (size_t)snprintf(labels + used, sizeof(labels) - used,
						 "db_system_name=\"%s\"", s->system);
		if (s->operation[0] && used < sizeof(labels))
			used += (size_t)snprintf(labels + used, sizeof(labels) - used,
						 "%sdb_operation_name=\"%s\"", used ? "," : "",
						 s->operation);
		if (s->failed && used < sizeof(labels))
			snprintf(labels + used, sizeof(labels) - used, "%serror_type=\"_OTHER\"",
				 used ? "," : "");
		rc = prom_text_histogram_series(out, DB_RED_METRICS_FAMILY, labels, bounds, n_bounds,
						s->buckets, s->count, s->sum_seconds);
	}
	return rc;
}

/* The config in use and its live replacement: requests take a reference to the
 * current config, so a new one installs without waiting for a request to end. */
#include <pthread.h>
#include <stdio.h>

#include "lib/otlp/exporter_internal.h"

struct export_config *exporter_current_config(struct otlp_exporter *ex, uint64_t *ret_generation)
{
	struct export_config *cfg;

	pthread_mutex_lock(&ex->mu);
	cfg = export_config_ref(ex->config);
	*ret_generation = ex->config_generation;
	pthread_mutex_unlock(&ex->mu);
	return cfg;
}

static void install_config(struct otlp_exporter *ex, struct export_config *cfg)
{
	struct export_config *old;

	pthread_mutex_lock(&ex->mu);
	old = ex->config;
	ex->config = cfg;
	ex->config_generation++;
	pthread_cond_broadcast(&ex->work_cv);
	pthread_mutex_unlock(&ex->mu);
	export_config_unref(old);
}

int otlp_exporter_set_config(struct otlp_exporter *ex, const struct otlp_exporter_config *config)
{
	struct export_config *cur, *cfg;
	uint64_t generation;
	int err;

	cur = exporter_current_config(ex, &generation);
	err = export_config_new(config, cur->resource, &cfg);
	export_config_unref(cur);
	if (err < 0)
		return err;
	install_config(ex, cfg);
	return 0;
}

int otlp_exporter_set_resource(struct otlp_exporter *ex, const struct otlp_resource *res)
{
	struct export_config *cur, *cfg;
	uint64_t generation;
	int err;

	cur = exporter_current_config(ex, &generation);
	err = export_config_with_resource(cur, res, &cfg);
	export_config_unref(cur);
	if (err < 0)
		return err;
	install_config(ex, cfg);
	return 0;
}

void otlp_exporter_get_url(struct otlp_exporter *ex, char *buf, size_t size)
{
	pthread_mutex_lock(&ex->mu);
	snprintf(buf, size, "%s", ex->config->url);
	pthread_mutex_unlock(&ex->mu);
}

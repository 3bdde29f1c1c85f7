/* Peer-controlled label values (a route seen in a traced process, a pod name) through
 * a registry and out in the text format. The page must stay parseable whatever the
 * bytes: valid UTF-8 throughout, one sample per line, each value bounded, and the same
 * raw value always lands in the same series. Input: label values separated by NUL. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/metrics/label_value.h"
#include "lib/metrics/registry.h"
#include "lib/metrics/text_format.h"

static size_t count_lines(const char *text, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);

	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');

		if (strncmp(line, prefix, len) == 0)
			n++;
		line = end ? end + 1 : NULL;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 2);
	const char *values[8][2];
	size_t n_values = 0, pos = 0;
	struct metrics_registry *reg;
	struct metrics_gauge *g;
	char *text;
	size_t len;
	double v;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = copy[size + 1] = '\0';
	/* Pairs of values for the two labels, at most 8 series. */
	while (pos <= size && n_values < 8) {
		values[n_values][0] = copy + pos;
		pos += strlen(copy + pos) + 1;
		values[n_values][1] = pos <= size ? copy + pos : "";
		pos += pos <= size ? strlen(copy + pos) + 1 : 1;
		n_values++;
	}
	if (metrics_registry_new(&reg) < 0 ||
	    metrics_gauge_new(reg,
			      &(struct metrics_opts){
				      .name = "fuzz_gauge",
				      .help = "Fuzzed.",
				      .labels = (const char *[]){ "a", "b", NULL },
				      .max_series = 4,
			      },
			      &g) < 0)
		abort();
	for (size_t i = 0; i < n_values; i++)
		metrics_gauge_add_labels(g, values[i], 1);
	if (metrics_registry_format(reg, &text, &len) < 0)
		abort();
	if (strlen(text) != len || !metrics_label_value_clean(text, len))
		abort(); /* a NUL or invalid UTF-8 on the page */
	if (count_lines(text, "fuzz_gauge{") > 4)
		abort();
	/* Every accepted value reads back from the series it went to. */
	for (size_t i = 0; i < n_values; i++)
		if (metrics_gauge_get(g, values[i], &v) == 0 && !(v >= 1 && v <= 8))
			abort();
	free(text);
	metrics_registry_free(reg);
	free(copy);
	return 0;
}

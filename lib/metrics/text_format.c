#include "lib/metrics/text_format.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/metrics/series.h"

void metrics_format_value(double value, char *buf, size_t size)
{
	if (isnan(value)) {
		snprintf(buf, size, "NaN");
		return;
	}
	if (isinf(value)) {
		snprintf(buf, size, value > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Whole numbers (counts, most counters and gauges) without printf. */
	if (value == floor(value) && fabs(value) < 9007199254740992.0 && size >= 20) {
		uint64_t u = (uint64_t)fabs(value);
		char digits[20];
		size_t n = 0, used = 0;

		do {
			digits[n++] = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (value < 0)
			buf[used++] = '-';
		while (n)
			buf[used++] = digits[--n];
		buf[used] = '\0';
		return;
	}
	/* The shortest of 15, 16 or 17 significant digits that reads back as the same
	 * double: 0.1 stays "0.1", 1/3 needs 16 digits. */
	for (int precision = 15; precision <= 17; precision++) {
		snprintf(buf, size, "%.*g", precision, value);
		if (strtod(buf, NULL) == value)
			return;
	}
}

/* The stream is locked once for the whole exposition (metrics_registry_write), so the
 * writes below use the unlocked stdio calls. */
static void put(FILE *out, const char *s)
{
	fwrite_unlocked(s, 1, strlen(s), out);
}

static void write_escaped(FILE *out, const char *s, int escape_quote)
{
	const char *special = escape_quote ? "\\\n\"" : "\\\n";

	for (;;) {
		size_t run = strcspn(s, special);

		fwrite_unlocked(s, 1, run, out);
		s += run;
		if (!*s)
			return;
		put(out, *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : "\\\"");
		s++;
	}
}

void metrics_write_label_value(FILE *out, const char *value)
{
	write_escaped(out, value, 1);
}

void metrics_write_help(FILE *out, const char *help)
{
	write_escaped(out, help, 0);
}

static const char *type_name(enum metrics_type type)
{
	switch (type) {
	case METRICS_COUNTER:
		return "counter";
	case METRICS_GAUGE:
		return "gauge";
	case METRICS_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

/* Writes {a="x",b="y"} with an optional extra pair (le="...") last; nothing when
 * there are no labels at all. */
static void write_labels(FILE *out, const struct metrics_family *family,
			 const struct metrics_series *series, const char *extra_name,
			 const char *extra_value)
{
	size_t n = series ? family->n_labels : 0;

	if (n == 0 && !extra_name)
		return;
	fputc_unlocked('{', out);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc_unlocked(',', out);
		put(out, family->label_names[i]);
		put(out, "=\"");
		metrics_write_label_value(out, series->label_values[i]);
		fputc_unlocked('"', out);
	}
	if (extra_name) {
		if (n)
			fputc_unlocked(',', out);
		put(out, extra_name);
		put(out, "=\"");
		metrics_write_label_value(out, extra_value);
		fputc_unlocked('"', out);
	}
	fputc_unlocked('}', out);
}

static void write_sample(FILE *out, const char *name, const char *suffix,
			 const struct metrics_family *family, const struct metrics_series *series,
			 const char *extra_name, const char *extra_value, double value)
{
	char buf[32];

	metrics_format_value(value, buf, sizeof(buf));
	put(out, name);
	put(out, suffix);
	write_labels(out, family, series, extra_name, extra_value);
	fputc_unlocked(' ', out);
	put(out, buf);
	fputc_unlocked('\n', out);
}

static void write_histogram_series(FILE *out, const struct metrics_family *family,
				   struct metrics_series *series)
{
	uint64_t cumulative = 0;
	char le[32];

	/* _count is the +Inf bucket as read here, so the two always agree even while
	 * other threads observe; _sum may be a few observations ahead or behind. */
	for (size_t i = 0; i <= family->n_buckets; i++) {
		cumulative += atomic_load_explicit(&series->buckets[i], memory_order_relaxed);
		if (i < family->n_buckets)
			metrics_format_value(family->bounds[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		write_sample(out, family->name, "_bucket", family, series, "le", le,
			     (double)cumulative);
	}
	write_sample(out, family->name, "_sum", family, series, NULL, NULL,
		     metrics_series_value(family, series));
	write_sample(out, family->name, "_count", family, series, NULL, NULL,
		     (double)cumulative);
}

static void write_family(FILE *out, struct metrics_family *family)
{
	size_t n = atomic_load_explicit(&family->n_series, memory_order_acquire);

	fprintf(out, "# HELP %s ", family->name);
	metrics_write_help(out, family->help);
	fprintf(out, "\n# TYPE %s %s\n", family->name, type_name(family->type));
	if (family->read_fn) {
		write_sample(out, family->name, "", family, NULL, NULL, NULL,
			     family->read_fn(family->read_userdata));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct metrics_series *s = family->series[i];

		if (family->type == METRICS_HISTOGRAM)
			write_histogram_series(out, family, s);
		else
			write_sample(out, family->name, "", family, s, NULL, NULL,
				     metrics_series_value(family, s));
	}
}

static void write_overflow(FILE *out, const struct metrics_registry *registry)
{
	fprintf(out, "# HELP %s Updates dropped because their metric family had reached its "
		     "series limit.\n# TYPE %s counter\n",
		METRICS_OVERFLOW_FAMILY, METRICS_OVERFLOW_FAMILY);
	for (size_t i = 0; i < registry->n_families; i++) {
		const struct metrics_family *f = registry->families[i];
		char buf[32];

		if (f->n_labels == 0)
			continue;
		metrics_format_value((double)atomic_load(&f->overflow), buf, sizeof(buf));
		fprintf(out, "%s{family=\"%s\"} %s\n", METRICS_OVERFLOW_FAMILY, f->name, buf);
	}
}

int metrics_registry_write(struct metrics_registry *registry, FILE *out)
{
	pthread_mutex_lock(&registry->lock);
	flockfile(out);
	for (size_t i = 0; i < registry->n_families; i++)
		write_family(out, registry->families[i]);
	write_overflow(out, registry);
	funlockfile(out);
	pthread_mutex_unlock(&registry->lock);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}

int metrics_registry_format(struct metrics_registry *registry, char **ret_text,
			    size_t *ret_len)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int r;

	if (!out)
		return -ENOMEM;
	r = metrics_registry_write(registry, out);
	if (fclose(out) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(text);
		return r == -EIO ? -ENOMEM : r;
	}
	*ret_text = text;
	*ret_len = len;
	return 0;
}

/* Validation of Prometheus metric and label names, done once at registration so that
 * exposition never has to escape or reject a name. */
#ifndef AUTOTRACE_METRICS_NAMES_H
#define AUTOTRACE_METRICS_NAMES_H

#include <stdbool.h>

/* [a-zA-Z_][a-zA-Z0-9_]*. Colons, legal in the data model, are reserved for recording
 * rules, and promtool's lint flags them, so they are refused here. */
bool metrics_name_valid(const char *name);

/* [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved for Prometheus). */
bool metrics_label_name_valid(const char *name);

/* True when name ends with suffix (e.g. "_total"). */
bool metrics_name_has_suffix(const char *name, const char *suffix);

#endif

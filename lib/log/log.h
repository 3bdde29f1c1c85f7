/* Structured, leveled logging for the daemons: one line per record on stderr,
 * "ts level component: message key=value ...". Library code (lib/, module files)
 * logs at debug only and returns errors; a daemon's main decides what to say. */
#ifndef AUTOTRACE_LOG_H
#define AUTOTRACE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the least level printed; AUTOTRACE_LOG_LEVEL=debug|info|warn|error sets it too. */
void log_set_level(enum log_level level);
void log_init_from_env(void);
/* 0, or -EINVAL for an unknown name. */
int log_level_parse(const char *name, enum log_level *ret_level);
int log_enabled(enum log_level level);

void log_write(enum log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(comp, ...) log_write(LOG_DEBUG, comp, __VA_ARGS__)
#define log_info(comp, ...)  log_write(LOG_INFO, comp, __VA_ARGS__)
#define log_warn(comp, ...)  log_write(LOG_WARN, comp, __VA_ARGS__)
#define log_error(comp, ...) log_write(LOG_ERROR, comp, __VA_ARGS__)

#endif

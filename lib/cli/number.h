/* Numbers from command-line flags and environment variables, checked whole: "10x",
 * "", overflow and values below the minimum are refused rather than read as 0. */
#ifndef AUTOTRACE_CLI_NUMBER_H
#define AUTOTRACE_CLI_NUMBER_H

/* 0 with *ret set, or -EINVAL. */
int cli_parse_long(const char *s, long min, long *ret);

#endif

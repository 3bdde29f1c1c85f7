/* One hexadecimal digit's value, for the decoders of untrusted text (%XX escapes in
 * request targets and OTLP header values). */
#ifndef AUTOTRACE_TEXT_HEX_H
#define AUTOTRACE_TEXT_HEX_H

/* 0..15, or -1 when c is not a hexadecimal digit (either case). */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif

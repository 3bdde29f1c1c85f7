#include "lib/otlp/retry.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>

#define RETRY_AFTER_MAX_MS (24ULL * 3600 * 1000)

uint64_t otlp_backoff_delay_ms(const struct otlp_backoff *b, unsigned attempt, uint32_t rnd)
{
	double interval = b->initial_ms;
	double jitter = b->jitter < 0 ? 0 : b->jitter > 1 ? 1 : b->jitter;
	double low, high;

	for (unsigned i = 0; i < attempt && interval < b->max_ms; i++)
		interval *= b->multiplier < 1 ? 1 : b->multiplier;
	if (interval > b->max_ms)
		interval = b->max_ms;
	low = interval * (1 - jitter);
	high = interval * (1 + jitter);
	return (uint64_t)llround(low + (high - low) * ((double)rnd / UINT32_MAX));
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

int otlp_retry_after_parse(const char *value, time_t now, uint64_t *ret_delay_ms)
{
	const char *p = value;
	uint64_t secs = 0;
	time_t when;
	bool digits = false;

	if (!value)
		return -EINVAL;
	while (is_space(*p))
		p++;
	for (; *p >= '0' && *p <= '9'; p++) {
		digits = true;
		if (secs < RETRY_AFTER_MAX_MS / 1000)
			secs = secs * 10 + (uint64_t)(*p - '0');
	}
	if (digits) {
		while (is_space(*p))
			p++;
		if (*p)
			return -EINVAL;
		secs *= 1000;
		*ret_delay_ms = secs < RETRY_AFTER_MAX_MS ? secs : RETRY_AFTER_MAX_MS;
		return 0;
	}
	/* An HTTP-date names a weekday first; curl_getdate alone would also take a bare
	 * time or a number as a date. */
	if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
		return -EINVAL;
	when = curl_getdate(p, NULL);
	if (when == -1)
		return -EINVAL;
	if (when <= now)
		*ret_delay_ms = 0;
	else if ((uint64_t)(when - now) >= RETRY_AFTER_MAX_MS / 1000)
		*ret_delay_ms = RETRY_AFTER_MAX_MS;
	else
		*ret_delay_ms = (uint64_t)(when - now) * 1000;
	return 0;
}

bool otlp_http_status_retryable(long status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

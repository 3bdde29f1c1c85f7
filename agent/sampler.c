#include "agent/sampler.h"

#include <errno.h>
#include <math.h>
#include <string.h>

uint64_t sampler_ratio_threshold(double ratio)
{
	double t;

	if (!(ratio > 0))
		return 0;
	if (ratio >= 1)
		return UINT64_MAX;
	t = ldexp(ratio, 64);
	/* Doubles just below 1 round to 2^64, which does not fit. */
	if (t >= 18446744073709551615.0)
		return UINT64_MAX;
	return (uint64_t)t;
}

int sampler_to_bpf(const struct tracer_sampler *sampler, uint64_t revision,
		   struct hs_sampler *ret_value)
{
	struct hs_sampler v;
	int ratio = 0;

	memset(&v, 0, sizeof(v));
	switch (sampler->type) {
	case TRACER_SAMPLER_ALWAYS_ON:
		v.type = HS_SAMPLER_ALWAYS_ON;
		break;
	case TRACER_SAMPLER_ALWAYS_OFF:
		v.type = HS_SAMPLER_ALWAYS_OFF;
		break;
	case TRACER_SAMPLER_TRACEIDRATIO:
		v.type = HS_SAMPLER_RATIO;
		ratio = 1;
		break;
	case TRACER_SAMPLER_PARENTBASED_ALWAYS_ON:
		v.type = HS_SAMPLER_PARENT_ALWAYS_ON;
		break;
	case TRACER_SAMPLER_PARENTBASED_ALWAYS_OFF:
		v.type = HS_SAMPLER_PARENT_ALWAYS_OFF;
		break;
	case TRACER_SAMPLER_PARENTBASED_TRACEIDRATIO:
		v.type = HS_SAMPLER_PARENT_RATIO;
		ratio = 1;
		break;
	default:
		return -EINVAL;
	}
	if (ratio) {
		if (isnan(sampler->ratio) || sampler->ratio < 0 || sampler->ratio > 1)
			return -EINVAL;
		v.threshold = sampler_ratio_threshold(sampler->ratio);
	}
	v.revision = revision;
	*ret_value = v;
	return 0;
}

int sampler_keeps_trace(const struct hs_sampler *value, const uint8_t trace_id[16])
{
	uint64_t low = 0;

	for (int i = 8; i < 16; i++)
		low = low << 8 | trace_id[i];
	switch (value->type) {
	case HS_SAMPLER_ALWAYS_ON:
	case HS_SAMPLER_PARENT_ALWAYS_ON:
		return 1;
	case HS_SAMPLER_RATIO:
	case HS_SAMPLER_PARENT_RATIO:
		return value->threshold == UINT64_MAX || low < value->threshold;
	default:
		return 0;
	}
}

/* AgentReport bytes, as an agent (or anyone allowed to write reports) sends them, → the
 * operator's cached form → the fold and the status it makes. Whatever the bytes: no
 * crash, no leak, counts that add up (ready never above agents, on the latest revision
 * never above reporting), messages bounded, and the trim changes no answer. */
#include <stdint.h>
#include <string.h>

#include "operator/agent_fold.h"
#include "operator/agent_report.h"
#include "operator/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sidecar_state(void *ud, const char *pod)
{
	return pod[0] == 'a' ? 1 : pod[0] == 'b' ? 0 : -1;
}

static void fold(const json_t *reports, struct agent_fold *f)
{
	struct agent_fold_input in = { .key = "shop/traces", .revision = "r1", .sidecars = 2,
				       .sidecars_ready = 1, .now = 1796551200,
				       .sidecar_state = sidecar_state };

	if (agent_fold(reports, &in, f) < 0)
		__builtin_trap();
	if (f->ready > f->agents || f->on_latest > f->reporting || f->ready < 0 ||
	    strlen(f->not_ready) >= AGENT_FOLD_NAMES_MAX || strlen(f->behind) >= AGENT_FOLD_NAMES_MAX)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *r = json_loadb((const char *)data, size, 0, NULL), *rs, *st;
	struct agent_fold before, after;
	struct status_observation o = { .revision = "r1", .agents = &after };

	if (!r)
		return 0;
	rs = json_pack("[O, O]", r, r);
	if (rs) {
		fold(rs, &before);
		agent_report_trim(NULL, r);
		fold(rs, &after);
		if (memcmp(&before, &after, sizeof(before)) != 0)
			__builtin_trap();
		st = status_build(NULL, &o, "2026-12-06T10:00:00Z");
		json_decref(st);
	}
	json_decref(rs);
	json_decref(r);
	return 0;
}

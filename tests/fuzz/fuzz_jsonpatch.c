/* A document and a JSON Patch, split at the first NUL byte. Whatever they hold: no
 * crash, no leak, no runaway growth; the document is never modified; a patch that
 * applies gives a document that serializes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonpatch/jsonpatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	json_t *doc, *patch, *before, *out = NULL;
	char err[256];

	if (!nul || size > 64 * 1024)
		return 0;
	doc = json_loadb((const char *)data, (size_t)(nul - data), JSON_DECODE_ANY, NULL);
	patch = json_loadb((const char *)nul + 1, size - (size_t)(nul - data) - 1, 0, NULL);
	if (doc && patch) {
		before = json_deep_copy(doc);
		if (jsonpatch_apply(doc, patch, &out, err, sizeof(err)) == 0) {
			char *text = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);

			if (!text)
				abort();
			free(text);
			json_decref(out);
		} else if (err[0] == '\0') {
			abort(); /* every failure says why */
		}
		if (!json_equal(doc, before))
			abort();
		json_decref(before);
	}
	json_decref(doc);
	json_decref(patch);
	return 0;
}

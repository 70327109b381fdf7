/* libFuzzer target for the request parser: every byte string must parse or be refused without
 * reading or writing out of bounds, and whatever parses must satisfy the parser's promises. */
#include "protocol.h"
#include <assert.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct hp_request req;
	char err[512];
	uint64_t lead = hp_leading_id((const char *)data, size);
	assert(lead <= HP_MAX_ID);
	if (hp_parse((const char *)data, size, &req, err, sizeof err) != 0) {
		assert(memchr(err, 0, sizeof err));
		assert(req.id == lead); /* an error names the id the line starts with, or 0 */
		return 0;
	}
	assert(req.id == lead);
	assert(req.id >= 1 && req.id <= HP_MAX_ID && req.verb < V_COUNT && req.nfields <= HP_MAX_FIELDS);
	for (int i = 0; i < req.nfields; i++) {
		assert(strlen(req.fields[i].val) == req.fields[i].len);
		if (!strcmp(req.fields[i].key, "path"))
			assert(req.fields[i].val[0] == '/' && !strstr(req.fields[i].val, "/../") && req.fields[i].len <= HP_MAX_PATH);
	}
	char out[3 * HP_MAX_LINE];
	for (int i = 0; i < req.nfields; i++)
		hp_encode(req.fields[i].val, req.fields[i].len, out, sizeof out);
	return 0;
}

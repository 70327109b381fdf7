/* The helper's line protocol: one request per line, parsed and fully checked here before any
 * verb runs. Kept free of side effects so the fuzz target can drive it directly.
 *
 *   request:  ID VERB [KEY=VALUE ...]\n     ID: 1..2^53-1, decimal, no leading zeros
 *   replies:  ID ok [KEY=VALUE ...]  |  ID err CODE msg=TEXT [...]  |  ID progress done=N total=N
 *             ID item KIND [KEY=VALUE ...]   (list entries, before the final ok)
 *
 * Raw lines carry printable ASCII only; every other byte in a value (space, '%', '=', UTF-8 …)
 * is percent-encoded (%XX). A decoded value may not contain NUL. Lines are at most
 * HP_MAX_LINE bytes including the newline: room for a PATH_MAX path encoded byte by byte
 * (3 x 4095) and the other fields, so every valid path fits. A longer line is answered with the
 * id it starts with (or 0 when it starts with none). */
#ifndef HEARTH_PROTOCOL_H
#define HEARTH_PROTOCOL_H
#include <stddef.h>
#include <stdint.h>

#define HP_MAX_LINE 16384
#define HP_MAX_FIELDS 8
#define HP_MAX_PATH 4095
#define HP_MAX_ID 9007199254740991ULL /* 2^53-1: survives a JavaScript number */

/* To add a verb: a value here, its name and parameters in protocol.c's verbs[], and its
 * handler in helper.c's handlers[]. */
enum hp_verb {
	V_HELLO, V_STATUS, V_STAGE, V_UNSTAGE, V_OFF, V_LOCK, V_UNLOCK,
	V_SYSCTL_GET, V_SYSCTL_SET, V_SYSCTL_PERSIST, V_RESIDENCY, V_CANCEL,
	V_PRESSURE, V_PRESSURE_RELEASE, V_PRESSURE_STATUS, V_CGROUP_CREATE, V_CGROUP_REMOVE, V_CGROUP_JOIN, /* load lab */
	V_COUNT
};

struct hp_field {
	const char *key;   /* points into the parameter table (static) */
	const char *val;   /* decoded, NUL-terminated, inside hp_request.store */
	size_t len;
	uint64_t num;      /* for numeric and boolean parameters */
};

struct hp_request {
	uint64_t id;       /* 0 when the id itself could not be parsed */
	enum hp_verb verb;
	int nfields;
	struct hp_field fields[HP_MAX_FIELDS];
	char store[HP_MAX_LINE + HP_MAX_FIELDS];
};

/* The two sysctl keys the helper may touch, with the bounds it accepts and the advice shown. */
struct hp_sysctl_key {
	const char *name;
	const char *proc_path; /* relative to /proc/sys */
	uint64_t min, max, recommended;
};
extern const struct hp_sysctl_key hp_sysctl_keys[];
const struct hp_sysctl_key *hp_sysctl_find(const char *name);

/* 0 on success; -1 with a message for people in err (the request's id is kept when parsed). */
int hp_parse(const char *line, size_t len, struct hp_request *req, char *err, size_t errlen);
/* The request id a line starts with (its first token, when that is a valid id), else 0: lets
 * the helper answer even a line it will not parse (too long) under the request's own id. */
uint64_t hp_leading_id(const char *line, size_t len);
const char *hp_verb_name(enum hp_verb v);
const struct hp_field *hp_find(const struct hp_request *req, const char *key);
const char *hp_str(const struct hp_request *req, const char *key);
uint64_t hp_num(const struct hp_request *req, const char *key, uint64_t fallback);

/* Percent-encodes in[0..len) into out (always NUL-terminated, truncated to outlen-1). */
size_t hp_encode(const char *in, size_t len, char *out, size_t outlen);
#endif

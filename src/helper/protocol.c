#include "protocol.h"
#include <stdio.h>
#include <string.h>

enum hp_type { T_PATH, T_U64, T_BOOL, T_SYSCTL_KEY };

struct hp_param {
	const char *key;
	enum hp_type type;
	int required;
	uint64_t min, max;
};

#define GiB (1024ULL * 1024 * 1024)
#define MiB (1024ULL * 1024)
#define END { NULL, 0, 0, 0, 0 }

static const struct hp_param p_none[] = { END };
static const struct hp_param p_hello[] = {
	{ "version", T_U64, 0, 1, 1000 }, { "uid", T_U64, 0, 0, 4294967294ULL }, END };
/* reserve: RAM the client asks to keep free. Any value parses; the helper raises it to its own
 * floor (budget.c), so a client can ask for more headroom, never for less. */
static const struct hp_param p_stage[] = {
	{ "path", T_PATH, 1, 0, 0 }, { "reserve", T_U64, 0, 0, 1ULL << 50 }, END };
static const struct hp_param p_unstage[] = {
	{ "path", T_PATH, 1, 0, 0 }, { "lazy", T_BOOL, 0, 0, 1 }, END };
/* limit-permille: a further cap the client may set on what this helper locks, as a share of
 * MemTotal; the MemAvailable bound (budget.c) applies whatever it says. */
static const struct hp_param p_lock[] = {
	{ "path", T_PATH, 1, 0, 0 }, { "limit-permille", T_U64, 0, 10, 750 },
	{ "reserve", T_U64, 0, 0, 1ULL << 50 }, END };
static const struct hp_param p_path[] = { { "path", T_PATH, 1, 0, 0 }, END };
static const struct hp_param p_sysctl_get[] = { { "key", T_SYSCTL_KEY, 1, 0, 0 }, END };
static const struct hp_param p_sysctl_set[] = {
	{ "key", T_SYSCTL_KEY, 1, 0, 0 }, { "value", T_U64, 1, 0, 1ULL << 32 }, END };
static const struct hp_param p_sysctl_persist[] = {
	{ "key", T_SYSCTL_KEY, 1, 0, 0 }, { "value", T_U64, 0, 0, 1ULL << 32 },
	{ "clear", T_BOOL, 0, 0, 1 }, END };
static const struct hp_param p_cancel[] = { { "target", T_U64, 1, 1, HP_MAX_ID }, END };
/* Load lab (pressure.c, cgroup.c): the helper's own floors apply on top of these ranges. */
static const struct hp_param p_pressure[] = { { "leave", T_U64, 1, 0, 1ULL << 50 }, { "reserve", T_U64, 0, 0, 1ULL << 50 }, END };
static const struct hp_param p_cgroup_create[] = { { "limit", T_U64, 1, 16 * MiB, 1ULL << 50 }, END };
static const struct hp_param p_cgroup_remove[] = { { "id", T_U64, 1, 1, 1ULL << 31 }, END };
static const struct hp_param p_cgroup_join[] = { { "id", T_U64, 1, 1, 1ULL << 31 }, { "pid", T_U64, 1, 1, 1ULL << 22 }, END };

static const struct {
	const char *name;
	const struct hp_param *params;
} verbs[V_COUNT] = {
	[V_HELLO] = { "hello", p_hello },
	[V_STATUS] = { "status", p_none },
	[V_STAGE] = { "stage", p_stage },
	[V_UNSTAGE] = { "unstage", p_unstage },
	[V_OFF] = { "off", p_none },
	[V_LOCK] = { "lock", p_lock },
	[V_UNLOCK] = { "unlock", p_path },
	[V_SYSCTL_GET] = { "sysctl-get", p_sysctl_get },
	[V_SYSCTL_SET] = { "sysctl-set", p_sysctl_set },
	[V_SYSCTL_PERSIST] = { "sysctl-persist", p_sysctl_persist },
	[V_RESIDENCY] = { "residency", p_path },
	[V_CANCEL] = { "cancel", p_cancel },
	[V_PRESSURE] = { "pressure", p_pressure },
	[V_PRESSURE_RELEASE] = { "pressure-release", p_none },
	[V_PRESSURE_STATUS] = { "pressure-status", p_none },
	[V_CGROUP_CREATE] = { "cgroup-create", p_cgroup_create },
	[V_CGROUP_REMOVE] = { "cgroup-remove", p_cgroup_remove },
	[V_CGROUP_JOIN] = { "cgroup-join", p_cgroup_join },
};

const struct hp_sysctl_key hp_sysctl_keys[] = {
	{ "fs.inotify.max_user_watches", "fs/inotify/max_user_watches", 8192, 4194304, 524288 },
	{ "fs.inotify.max_user_instances", "fs/inotify/max_user_instances", 128, 8192, 1024 },
	{ NULL, NULL, 0, 0, 0 },
};

const struct hp_sysctl_key *hp_sysctl_find(const char *name)
{
	for (const struct hp_sysctl_key *k = hp_sysctl_keys; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

const char *hp_verb_name(enum hp_verb v)
{
	return v < V_COUNT ? verbs[v].name : "?";
}

/* The verbs' names, space-separated, for the unknown-verb message. */
static const char *verb_list(void)
{
	static char list[512];
	if (!list[0])
		for (int v = 0; v < V_COUNT; v++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", v ? " " : "", verbs[v].name);
	return list;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *a)
{
	snprintf(err, errlen, fmt, a ? a : "");
	return -1;
}

/* Strict unsigned decimal: no sign, no leading zeros, no overflow. */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

/* Absolute, canonical (no empty, "." or ".." components, no trailing slash), and not inside the
 * kernel's pseudo filesystems; the helper still checks the filesystem type on the open fd. */
static const char *path_problem(const char *p, size_t len)
{
	if (len == 0) return "is empty";
	if (len > HP_MAX_PATH) return "is longer than 4095 bytes";
	if (p[0] != '/') return "is not absolute; give the full path";
	if (len > 1 && p[len - 1] == '/') return "ends with a slash; give a file";
	for (size_t i = 0; i < len;) {
		size_t j = i + 1;
		while (j < len && p[j] != '/') j++;
		size_t clen = j - i - 1;
		const char *c = p + i + 1;
		if (clen == 0 && len > 1) return "has an empty component (//)";
		if (clen == 1 && c[0] == '.') return "has a . component; give the resolved path";
		if (clen == 2 && c[0] == '.' && c[1] == '.') return "has a .. component; give the resolved path";
		i = j;
	}
	static const char *const pseudo[] = { "/proc", "/sys", "/dev", NULL };
	for (int k = 0; pseudo[k]; k++) {
		size_t n = strlen(pseudo[k]);
		if (len >= n && memcmp(p, pseudo[k], n) == 0 && (len == n || p[n] == '/'))
			return "is under /proc, /sys or /dev; only model files can be staged";
	}
	return NULL;
}

static const struct hp_param *find_param(const struct hp_param *ps, const char *key, size_t klen)
{
	for (; ps->key; ps++)
		if (strlen(ps->key) == klen && memcmp(ps->key, key, klen) == 0)
			return ps;
	return NULL;
}

/* The first token as an id, in a line without its newline. */
static uint64_t leading_id(const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);
	size_t idlen = sp ? (size_t)(sp - line) : len;
	uint64_t id;
	if (idlen <= 16 && parse_u64(line, idlen, &id) == 0 && id > 0 && id <= HP_MAX_ID)
		return id;
	return 0;
}

uint64_t hp_leading_id(const char *line, size_t len)
{
	return leading_id(line, len > 0 && line[len - 1] == '\n' ? len - 1 : len);
}

int hp_parse(const char *line, size_t len, struct hp_request *req, char *err, size_t errlen)
{
	memset(req, 0, offsetof(struct hp_request, store));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	/* The id first, so that even a malformed request's error names it. */
	req->id = leading_id(line, len);
	if (len + 1 > HP_MAX_LINE) {
		snprintf(err, errlen, "request line is longer than %d bytes", HP_MAX_LINE);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == 0)
			return fail(err, errlen, "request contains a NUL byte%s", NULL);
		if (c < 0x20 || c > 0x7e)
			return fail(err, errlen, "request contains a control or non-ASCII byte; percent-encode values%s", NULL);
		if (c == ' ' && (i == 0 || i + 1 == len || line[i + 1] == ' '))
			return fail(err, errlen, "fields must be separated by single spaces%s", NULL);
	}

	/* Split into at most 2 + HP_MAX_FIELDS tokens. */
	const char *tok[2 + HP_MAX_FIELDS + 1];
	size_t tlen[2 + HP_MAX_FIELDS + 1];
	int nt = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && line[j] != ' ') j++;
		if (nt == 2 + HP_MAX_FIELDS)
			return fail(err, errlen, "too many fields (at most %s)", "8");
		tok[nt] = line + i;
		tlen[nt++] = j - i;
		i = j + 1;
	}
	if (nt < 2)
		return fail(err, errlen, "expected: ID VERB [KEY=VALUE ...]%s", NULL);
	uint64_t id;
	if (tlen[0] > 16 || parse_u64(tok[0], tlen[0], &id) < 0 || id == 0 || id > HP_MAX_ID)
		return fail(err, errlen, "request id must be a decimal number from 1 to 2^53-1%s", NULL);
	req->id = id;

	int verb = -1;
	for (int v = 0; v < V_COUNT; v++)
		if (strlen(verbs[v].name) == tlen[1] && memcmp(verbs[v].name, tok[1], tlen[1]) == 0)
			verb = v;
	if (verb < 0)
		return fail(err, errlen, "unknown verb; known: %s", verb_list());
	req->verb = (enum hp_verb)verb;
	const struct hp_param *params = verbs[verb].params;

	char *store = req->store;
	for (int t = 2; t < nt; t++) {
		const char *eq = memchr(tok[t], '=', tlen[t]);
		if (!eq || eq == tok[t])
			return fail(err, errlen, "field is not KEY=VALUE%s", NULL);
		size_t klen = (size_t)(eq - tok[t]);
		const struct hp_param *p = find_param(params, tok[t], klen);
		if (!p)
			return fail(err, errlen, "unknown field for %s", verbs[verb].name);
		for (int f = 0; f < req->nfields; f++)
			if (req->fields[f].key == p->key)
				return fail(err, errlen, "field %s given twice", p->key);
		const char *v = eq + 1;
		size_t vlen = tlen[t] - klen - 1;
		size_t n = 0;
		for (size_t i = 0; i < vlen; i++) {
			if (v[i] == '%') {
				int hi = i + 2 < vlen ? hexval(v[i + 1]) : -1;
				int lo = i + 2 < vlen ? hexval(v[i + 2]) : -1;
				if (hi < 0 || lo < 0)
					return fail(err, errlen, "bad percent-encoding in %s", p->key);
				char c = (char)(hi * 16 + lo);
				if (c == 0)
					return fail(err, errlen, "%s contains a NUL byte", p->key);
				store[n++] = c;
				i += 2;
			} else {
				store[n++] = v[i];
			}
		}
		store[n] = 0;
		struct hp_field *f = &req->fields[req->nfields++];
		f->key = p->key;
		f->val = store;
		f->len = n;
		switch (p->type) {
		case T_PATH: {
			const char *why = path_problem(store, n);
			if (why) {
				snprintf(err, errlen, "%s %s", p->key, why);
				return -1;
			}
			break;
		}
		case T_U64:
		case T_BOOL:
			if (parse_u64(store, n, &f->num) < 0 || f->num < p->min || f->num > p->max) {
				snprintf(err, errlen, "%s must be a whole number from %llu to %llu", p->key,
					 (unsigned long long)p->min, (unsigned long long)p->max);
				return -1;
			}
			break;
		case T_SYSCTL_KEY:
			if (!hp_sysctl_find(store))
				return fail(err, errlen, "%s is not a key the helper may change; allowed: fs.inotify.max_user_watches fs.inotify.max_user_instances", p->key);
			break;
		}
		store += n + 1;
	}
	for (const struct hp_param *p = params; p->key; p++)
		if (p->required && !hp_find(req, p->key))
			return fail(err, errlen, "missing field %s", p->key);

	/* Cross-field checks: a sysctl value must lie in that key's bounds. */
	if (req->verb == V_SYSCTL_SET || req->verb == V_SYSCTL_PERSIST) {
		const struct hp_sysctl_key *k = hp_sysctl_find(hp_str(req, "key"));
		const struct hp_field *val = hp_find(req, "value");
		const struct hp_field *clr = hp_find(req, "clear");
		if (req->verb == V_SYSCTL_PERSIST && !!val == !!(clr && clr->num))
			return fail(err, errlen, "sysctl-persist takes either value=N or clear=1%s", NULL);
		if (val && (val->num < k->min || val->num > k->max)) {
			snprintf(err, errlen, "value for %s must be from %llu to %llu", k->name,
				 (unsigned long long)k->min, (unsigned long long)k->max);
			return -1;
		}
	}
	return 0;
}

const struct hp_field *hp_find(const struct hp_request *req, const char *key)
{
	for (int i = 0; i < req->nfields; i++)
		if (strcmp(req->fields[i].key, key) == 0)
			return &req->fields[i];
	return NULL;
}

const char *hp_str(const struct hp_request *req, const char *key)
{
	const struct hp_field *f = hp_find(req, key);
	return f ? f->val : NULL;
}

uint64_t hp_num(const struct hp_request *req, const char *key, uint64_t fallback)
{
	const struct hp_field *f = hp_find(req, key);
	return f ? f->num : fallback;
}

size_t hp_encode(const char *in, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	if (outlen == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int plain = c > 0x20 && c < 0x7f && c != '%' && c != '=';
		if (n + (plain ? 1 : 3) >= outlen)
			break;
		if (plain) {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = 0;
	return n;
}

/* The stage journal (one file per stage, written by rename), the lock every helper sharing the
 * base takes before touching it, and the reading of /proc/self/mountinfo that tells which stages
 * are mounted. */
#define _GNU_SOURCE
#include "journal.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ---------- the lock ---------- */

static int lock_fd = -1;

int mkdir_private(const char *p, mode_t forbidden)
{
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -1;
	struct stat st;
	/* Refuse a directory someone else prepared: root's own, not a link, none of `forbidden`. */
	if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & forbidden))
		return errno = EPERM, -1;
	return 0;
}

/* Not on the base's parent (any user could flock a world-readable directory and stall every
 * helper) but on base-lock/lock: a 0700 root directory that outlives the base. */
int journal_lock(uint64_t id, int wait_ms)
{
	char p[sizeof cfg.lock_dir + 8];
	if (mkdir_private(cfg.lock_dir, 077) < 0)
		return -1;
	snprintf(p, sizeof p, "%s/lock", cfg.lock_dir);
	lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock_fd < 0)
		return -1;
	for (int waited = 0;; waited += 50) {
		if (flock(lock_fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK || waited >= wait_ms || (id && cancel_requested(id)))
			break;
		usleep(50 * 1000);
	}
	close(lock_fd);
	lock_fd = -1;
	return -1;
}

void journal_unlock(void)
{
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;
}

/* ---------- records ---------- */

static void pct_decode(const char *in, char *out, size_t outlen)
{
	size_t n = 0;
	for (; *in && n + 1 < outlen; in++) {
		unsigned v;
		if (*in == '%' && isxdigit((unsigned char)in[1]) && isxdigit((unsigned char)in[2]) &&
		    sscanf(in + 1, "%2x", &v) == 1 && v) {
			out[n++] = (char)v;
			in += 2;
		} else {
			out[n++] = *in;
		}
	}
	out[n] = 0;
}

int rec_write(const struct rec *r)
{
	char tmp[400], fin[400];
	snprintf(tmp, sizeof tmp, "%s/%u.tmp", cfg.journal, r->seq);
	snprintf(fin, sizeof fin, "%s/%u.rec", cfg.journal, r->seq);
	FILE *f = fopen(tmp, "wxe");
	if (!f)
		return -1;
	fprintf(f, "state=%s\nuid=%u\nmntns=%llu\npath=%s\ndev=%llu\nino=%llu\nbytes=%llu\ncopy-dev=%llu\ncopy-ino=%llu\nmnt=%llu\n",
		r->state, (unsigned)r->uid, (unsigned long long)r->mntns, enc(r->path), (unsigned long long)r->dev, (unsigned long long)r->ino,
		(unsigned long long)r->bytes, (unsigned long long)r->copy_dev, (unsigned long long)r->copy_ino,
		(unsigned long long)r->mnt);
	if (fclose(f) != 0 || rename(tmp, fin) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int rec_read(unsigned seq, struct rec *r)
{
	char fn[400], line[3 * HP_MAX_PATH + 64];
	snprintf(fn, sizeof fn, "%s/%u.rec", cfg.journal, seq);
	FILE *f = fopen(fn, "re");
	if (!f)
		return -1;
	memset(r, 0, sizeof *r);
	r->seq = seq; /* a record from before uids were kept reads as root's: only root undoes it */
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq++ = 0;
		unsigned long long v = strtoull(eq, NULL, 10);
		if (!strcmp(line, "state")) snprintf(r->state, sizeof r->state, "%s", eq);
		else if (!strcmp(line, "uid")) r->uid = (uid_t)v;
		else if (!strcmp(line, "mntns")) r->mntns = v;
		else if (!strcmp(line, "path")) pct_decode(eq, r->path, sizeof r->path);
		else if (!strcmp(line, "dev")) r->dev = v;
		else if (!strcmp(line, "ino")) r->ino = v;
		else if (!strcmp(line, "bytes")) r->bytes = v;
		else if (!strcmp(line, "copy-dev")) r->copy_dev = v;
		else if (!strcmp(line, "copy-ino")) r->copy_ino = v;
		else if (!strcmp(line, "mnt")) r->mnt = v;
	}
	fclose(f);
	return 0;
}

int rec_here(const struct rec *r)
{
	return !r->mntns || r->mntns == cfg.mntns;
}

void rec_remove(unsigned seq)
{
	char fn[400];
	snprintf(fn, sizeof fn, "%s/%u.rec", cfg.journal, seq);
	unlink(fn);
}

static int cmp_seq(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

unsigned *rec_list(int *n)
{
	DIR *d = opendir(cfg.journal);
	unsigned *seqs = NULL;
	int cap = 0;
	*n = 0;
	if (!d) {
		if (errno != ENOENT)
			*n = -1;
		return NULL;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		unsigned long v = strtoul(e->d_name, &end, 10);
		if (end != e->d_name && !strcmp(end, ".tmp")) {
			unlinkat(dirfd(d), e->d_name, 0); /* a record half-written when a helper died */
			continue;
		}
		if (end == e->d_name || strcmp(end, ".rec") || v == 0 || v > UINT_MAX)
			continue;
		if (*n == cap) {
			unsigned *more = realloc(seqs, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *seqs);
			if (!more) {
				free(seqs);
				closedir(d);
				*n = -1;
				return NULL;
			}
			seqs = more;
		}
		seqs[(*n)++] = (unsigned)v;
	}
	closedir(d);
	if (*n > 1)
		qsort(seqs, (size_t)*n, sizeof *seqs, cmp_seq);
	return seqs;
}

void copy_name(unsigned seq, char *out, size_t n, int with_slash)
{
	snprintf(out, n, "%ss%u", with_slash ? "/" : "", seq);
}

/* ---------- mountinfo ---------- */

struct mi_line {
	uint64_t id;
	dev_t dev;
	const char *root, *mountpoint;
	size_t mountpoint_len;
};

static void unescape_octal(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT …", split in place: no field has a size limit. */
static int parse_line(char *line, struct mi_line *m)
{
	char *f[5], *p = line, *end;
	for (int i = 0; i < 5; i++) {
		f[i] = p;
		if (!(p = strchr(p, ' ')))
			return -1;
		*p++ = 0;
	}
	unsigned maj, min;
	m->id = strtoull(f[0], &end, 10);
	if (*end || end == f[0] || sscanf(f[2], "%u:%u", &maj, &min) != 2)
		return -1;
	m->dev = makedev(maj, min);
	unescape_octal(f[3]);
	unescape_octal(f[4]);
	m->root = f[3];
	m->mountpoint = f[4];
	m->mountpoint_len = strlen(f[4]);
	return 0;
}

/* Calls fn on every mount until it returns nonzero. 0 when mountinfo was read (to the end, or
 * until fn stopped), -1 when it could not be read or a line did not parse. */
static int mountinfo_each(int (*fn)(const struct mi_line *, void *), void *arg)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	int rc = -1;
	for (;;) {
		struct mi_line m;
		if (getline(&line, &cap, f) < 0) {
			rc = feof(f) && !ferror(f) ? 0 : -1; /* getline fails without EOF on ENOMEM */
			break;
		}
		if (parse_line(line, &m) < 0)
			break;
		if (fn(&m, arg)) {
			rc = 0;
			break;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

struct ram_search { int found; dev_t dev; };
static int ram_line(const struct mi_line *m, void *arg)
{
	struct ram_search *s = arg;
	if (!strcmp(m->mountpoint, cfg.ram)) { /* the last one wins: what the path shows now */
		s->found = 1;
		s->dev = m->dev;
	}
	return 0;
}

int ram_mounted(dev_t *dev)
{
	struct ram_search s = { 0, 0 };
	if (mountinfo_each(ram_line, &s) < 0)
		return -1;
	if (s.found && dev)
		*dev = s.dev;
	return s.found;
}

/* The binds of copies (root "/sN") that mountinfo shows, read once for a whole batch of
 * lookups (status, off and reconcile look at every record). */
struct copy_mount {
	uint64_t id;
	dev_t dev;
	unsigned seq;
	char *mountpoint; /* NULL: longer than PATH_MAX */
};
struct mounts {
	struct copy_mount *v;
	int n, cap, failed;
	int ram_found;
	dev_t ram_dev;
};

static int snapshot_line(const struct mi_line *m, void *arg)
{
	struct mounts *s = arg;
	char *end;
	if (!strcmp(m->mountpoint, cfg.ram)) {
		s->ram_found = 1;
		s->ram_dev = m->dev;
	}
	if (m->root[0] != '/' || m->root[1] != 's' || !isdigit((unsigned char)m->root[2]))
		return 0;
	unsigned long seq = strtoul(m->root + 2, &end, 10);
	if (*end || seq > UINT_MAX)
		return 0;
	if (s->n == s->cap) {
		struct copy_mount *more = realloc(s->v, (size_t)(s->cap = s->cap ? 2 * s->cap : 64) * sizeof *more);
		if (!more)
			return s->failed = 1;
		s->v = more;
	}
	struct copy_mount *c = &s->v[s->n++];
	c->id = m->id;
	c->dev = m->dev;
	c->seq = (unsigned)seq;
	c->mountpoint = m->mountpoint_len < PATH_MAX ? strdup(m->mountpoint) : NULL;
	if (m->mountpoint_len < PATH_MAX && !c->mountpoint)
		return s->failed = 1;
	return 0;
}

struct mounts *mounts_read(void)
{
	struct mounts *s = calloc(1, sizeof *s);
	if (s && (mountinfo_each(snapshot_line, s) < 0 || s->failed)) {
		mounts_free(s);
		return NULL;
	}
	return s;
}

void mounts_free(struct mounts *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		free(s->v[i].mountpoint);
	free(s->v);
	free(s);
}

int mounts_ram(const struct mounts *s, dev_t *dev)
{
	if (s->ram_found && dev)
		*dev = s->ram_dev;
	return s->ram_found;
}

/* A bind of copy /sN on the copy's tmpfs device; when mnt is known, that very mount. The ram
 * tmpfs itself need not be visible (it may have been detached while binds of it live on). */
int mounts_find(const struct mounts *s, const struct rec *r, struct bind *b)
{
	if (!r->copy_dev)
		return 0; /* never verified, so never bound: binding comes after "verified" is written */
	for (int i = 0; i < s->n; i++) {
		const struct copy_mount *c = &s->v[i];
		if (c->seq != r->seq || c->dev != (dev_t)r->copy_dev || (r->mnt && c->id != r->mnt))
			continue;
		if (b) {
			b->mnt = c->id;
			b->long_mountpoint = !c->mountpoint;
			snprintf(b->mountpoint, sizeof b->mountpoint, "%s", c->mountpoint ? c->mountpoint : "");
		}
		return 1;
	}
	return 0;
}

int mounts_copy_bound(const struct mounts *s, unsigned seq, dev_t ram_dev)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i].seq == seq && s->v[i].dev == ram_dev)
			return 1;
	return 0;
}

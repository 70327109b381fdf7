/* The two inotify limits model apps run out of: read, set at runtime (remembering the original
 * so `off` restores it), and persist in sysctl.d through an atomic rename. A runtime change is
 * recorded with the caller who made it: their `off` restores it, root's restores every one, and
 * another user may not change that key again until it is restored.
 *
 * These limits are every user's: a caller other than root may only raise them (a value at or
 * above what the system had before Hearth, now and at boot), never lower them under the other
 * users' feet. The sysctl.d file records whose it is; another user may not rewrite or remove it. */
#define _GNU_SOURCE
#include "helper.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONF_NAME "60-hearth-inotify.conf"

static int read_u64_file(const char *p, uint64_t *v)
{
	FILE *f = fopen(p, "re");
	unsigned long long x;
	int ok = f && fscanf(f, "%llu", &x) == 1;
	if (f)
		fclose(f);
	if (ok)
		*v = x;
	return ok ? 0 : -1;
}

static int write_u64_file(const char *p, uint64_t v)
{
	int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	char b[32];
	int n = snprintf(b, sizeof b, "%llu\n", (unsigned long long)v);
	int r = write(fd, b, (size_t)n) == n ? 0 : -1;
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

static void proc_path(const struct hp_sysctl_key *k, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", cfg.proc_sys, k->proc_path);
}

static void saved_path(const struct hp_sysctl_key *k, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", cfg.sysctl_saved, k->name);
}

/* A saved original: "VALUE uid=UID set=SET" — the value before Hearth, who changed it, and the
 * value Hearth last wrote (a record without uid= is root's; without set=, SET is unknown: -1). */
static int read_saved(const struct hp_sysctl_key *k, uint64_t *orig, uid_t *uid, int64_t *set)
{
	char p[400];
	saved_path(k, p, sizeof p);
	FILE *f = fopen(p, "re");
	unsigned long long v, w = 0;
	unsigned u = 0;
	int n = f ? fscanf(f, "%llu uid=%u set=%llu", &v, &u, &w) : 0;
	if (f)
		fclose(f);
	if (n < 1)
		return -1;
	*orig = v;
	*uid = n >= 2 ? (uid_t)u : 0;
	if (set)
		*set = n == 3 ? (int64_t)w : -1;
	return 0;
}

static int write_saved(const char *path, uint64_t orig, uid_t uid, uint64_t set)
{
	char tmp[420];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp);
	FILE *f = fopen(tmp, "wxe");
	if (!f || fprintf(f, "%llu uid=%u set=%llu\n", (unsigned long long)orig, (unsigned)uid, (unsigned long long)set) < 0 || fclose(f) != 0) {
		unlink(tmp);
		return -1;
	}
	return rename(tmp, path);
}

/* Values in our sysctl.d file (0 where absent), and whose each one is: the uid in the comment
 * line above it ("# KEY: uid N"; root's where there is none). */
static void read_conf(uint64_t *vals, uid_t *owners)
{
	char p[400], line[256];
	snprintf(p, sizeof p, "%s/%s", cfg.sysctl_d, CONF_NAME);
	FILE *f = fopen(p, "re");
	uid_t next_owner = 0;
	while (f && fgets(line, sizeof line, f)) {
		char key[128];
		unsigned long long v;
		unsigned u;
		if (sscanf(line, "# %127[a-z_.]: uid %u", key, &u) == 2) {
			next_owner = (uid_t)u;
			continue;
		}
		if (sscanf(line, " %127[a-z_.] = %llu", key, &v) != 2)
			continue;
		int i = 0;
		for (const struct hp_sysctl_key *k = hp_sysctl_keys; k->name; k++, i++)
			if (!strcmp(k->name, key) && v >= k->min && v <= k->max) {
				vals[i] = v;
				if (owners)
					owners[i] = next_owner;
			}
		next_owner = 0;
	}
	if (f)
		fclose(f);
}

int sysctl_has_saved(void)
{
	DIR *d = opendir(cfg.sysctl_saved);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n > 0;
}

void verb_sysctl_get(const struct hp_request *r)
{
	const struct hp_sysctl_key *k = hp_sysctl_find(hp_str(r, "key"));
	char p[400];
	uint64_t v, orig, conf[4] = { 0 };
	proc_path(k, p, sizeof p);
	if (read_u64_file(p, &v) < 0) {
		reply_err(r->id, "UNSUPPORTED", NULL, "cannot read %s: %s", p, strerror(errno));
		return;
	}
	read_conf(conf, NULL);
	uid_t by;
	int changed = read_saved(k, &orig, &by, NULL) == 0;
	reply_ok(r->id, "key=%s value=%llu recommended=%llu persisted=%llu original=%llu changed=%d", k->name,
		 (unsigned long long)v, (unsigned long long)k->recommended,
		 (unsigned long long)conf[k - hp_sysctl_keys], (unsigned long long)(changed ? orig : v), changed);
}

void verb_sysctl_set(const struct hp_request *r)
{
	const struct hp_sysctl_key *k = hp_sysctl_find(hp_str(r, "key"));
	uint64_t value = hp_num(r, "value", 0), old, orig;
	char p[400], s[400];
	proc_path(k, p, sizeof p);
	saved_path(k, s, sizeof s);
	if (read_u64_file(p, &old) < 0) {
		reply_err(r->id, "UNSUPPORTED", NULL, "cannot read %s: %s", p, strerror(errno));
		return;
	}
	uid_t by;
	int64_t set;
	int have_saved = read_saved(k, &orig, &by, &set) == 0;
	if (have_saved && !caller_owns(by)) {
		reply_err(r->id, "PERMISSION", NULL, "%s was changed through Hearth by uid %u; it is theirs to restore (hearth off) before another user changes it",
			  k->name, (unsigned)by);
		return;
	}
	/* A user may bring down only their own raise, and only while it is still what Hearth set
	 * (an administrator may have raised it since): never below the value before Hearth. */
	int own_raise = have_saved && set >= 0 && (uint64_t)set == old;
	uint64_t floor = own_raise ? orig : old;
	if (caller_uid != 0 && value < floor) {
		reply_err(r->id, "PERMISSION", NULL,
			  "%s is every user's limit: it may be raised from %llu through Hearth, not lowered (as root: sysctl -w %s=%llu)",
			  k->name, (unsigned long long)floor, k->name, (unsigned long long)value);
		return;
	}
	if (!have_saved) {
		if (mkdir(cfg.base, 0700) < 0 && errno != EEXIST)
			goto fail;
		if (mkdir(cfg.sysctl_saved, 0700) < 0 && errno != EEXIST)
			goto fail;
		orig = old;
		by = caller_uid;
	}
	if (write_saved(s, orig, by, value) < 0)
		goto fail;
	if (write_u64_file(p, value) < 0) {
		int e = errno;
		if (!have_saved)
			unlink(s);
		else
			write_saved(s, orig, by, (uint64_t)set);
		reply_err(r->id, e == EACCES || e == EPERM ? "PERMISSION" : "IO", NULL, "cannot write %s: %s", p, strerror(e));
		return;
	}
	if (value == orig) { /* back where it started: nothing left for off to undo */
		unlink(s);
		stage_cleanup_base();
	}
	reply_ok(r->id, "key=%s value=%llu old=%llu original=%llu", k->name, (unsigned long long)value,
		 (unsigned long long)old, (unsigned long long)orig);
	return;
fail:
	reply_err(r->id, "INTERNAL", NULL, "cannot record the original value of %s under %s: %s", k->name, cfg.sysctl_saved, strerror(errno));
}

void verb_sysctl_persist(const struct hp_request *r)
{
	const struct hp_sysctl_key *k = hp_sysctl_find(hp_str(r, "key"));
	uint64_t vals[4] = { 0 };
	uid_t owners[4] = { 0 };
	read_conf(vals, owners);
	size_t ki = (size_t)(k - hp_sysctl_keys);
	char fin[400], tmp[420], body[1024];
	snprintf(fin, sizeof fin, "%s/%s", cfg.sysctl_d, CONF_NAME);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", cfg.sysctl_d, CONF_NAME);
	if (vals[ki] && !caller_owns(owners[ki])) {
		reply_err(r->id, "PERMISSION", NULL, "%s in %s was written through Hearth by uid %u; only they or root may change or remove it",
			  k->name, fin, (unsigned)owners[ki]);
		return;
	}
	uint64_t value = hp_find(r, "value") ? hp_num(r, "value", 0) : 0;
	if (value && caller_uid != 0) {
		/* At boot the file sets the value: no lower than what the system has without Hearth. */
		char p[400];
		uint64_t live, orig;
		uid_t by;
		proc_path(k, p, sizeof p);
		if (read_u64_file(p, &live) < 0) {
			reply_err(r->id, "UNSUPPORTED", NULL, "cannot read %s: %s", p, strerror(errno));
			return;
		}
		uint64_t floor = read_saved(k, &orig, &by, NULL) == 0 && orig < live ? orig : live;
		if (value < floor) {
			reply_err(r->id, "PERMISSION", NULL,
				  "%s is every user's limit: it may be persisted at %llu or more through Hearth, not lowered (as root: edit %s)",
				  k->name, (unsigned long long)floor, fin);
			return;
		}
	}
	vals[ki] = value;
	owners[ki] = caller_uid;
	size_t n = (size_t)snprintf(body, sizeof body, "# Written by Hearth (hearth sysctl inotify --persist); remove with --clear.\n");
	int any = 0, i = 0;
	for (const struct hp_sysctl_key *q = hp_sysctl_keys; q->name; q++, i++)
		if (vals[i]) {
			n += (size_t)snprintf(body + n, sizeof body - n, "# %s: uid %u\n%s = %llu\n", q->name, (unsigned)owners[i], q->name,
					      (unsigned long long)vals[i]);
			any = 1;
		}
	if (!any) {
		if (unlink(fin) < 0 && errno != ENOENT) {
			reply_err(r->id, "IO", NULL, "cannot remove %s: %s", fin, strerror(errno));
			return;
		}
		reply_ok(r->id, "file=%s removed=1", enc(fin));
		return;
	}
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	int ok = fd >= 0 && write(fd, body, n) == (ssize_t)n && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	if (!ok || rename(tmp, fin) < 0) {
		int e = errno;
		unlink(tmp);
		reply_err(r->id, "IO", NULL, "cannot write %s: %s", fin, strerror(e));
		return;
	}
	int dfd = open(cfg.sysctl_d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	reply_ok(r->id, "file=%s removed=0", enc(fin));
}

int sysctl_revert_all(uint64_t id)
{
	int failed = 0;
	for (const struct hp_sysctl_key *k = hp_sysctl_keys; k->name; k++) {
		char p[400], s[400];
		uint64_t orig, live;
		uid_t by;
		int64_t set;
		saved_path(k, s, sizeof s);
		if (read_saved(k, &orig, &by, &set) < 0 || !caller_owns(by))
			continue;
		proc_path(k, p, sizeof p);
		if (set >= 0 && read_u64_file(p, &live) == 0 && live != (uint64_t)set) {
			/* changed outside Hearth since (an administrator's raise): theirs now, left alone */
			unlink(s);
			reply_line(id, "item", "sysctl key=%s left=%llu changed-outside=1", k->name, (unsigned long long)live);
			continue;
		}
		if (write_u64_file(p, orig) == 0) {
			unlink(s);
			reply_line(id, "item", "sysctl key=%s restored=%llu", k->name, (unsigned long long)orig);
		} else {
			failed++;
			reply_line(id, "item", "failed sysctl=%s msg=%s", k->name, enc(strerror(errno)));
		}
	}
	rmdir(cfg.sysctl_saved);
	return failed;
}

void sysctl_status(uint64_t id)
{
	for (const struct hp_sysctl_key *k = hp_sysctl_keys; k->name; k++) {
		char p[400];
		uint64_t orig, v = 0;
		uid_t by;
		if (read_saved(k, &orig, &by, NULL) < 0 || !caller_owns(by))
			continue;
		proc_path(k, p, sizeof p);
		read_u64_file(p, &v);
		reply_line(id, "item", "sysctl key=%s value=%llu original=%llu uid=%u", k->name, (unsigned long long)v,
			   (unsigned long long)orig, (unsigned)by);
	}
}

/* Staging: copy a file into the helper's tmpfs and bind-mount the copy, read-only, over that
 * exact inode. A journal record per stage (written before the copy exists, removed after the copy
 * is gone) lets a restarted helper tell half-made stages (rolled back) from finished ones (kept),
 * against /proc/self/mountinfo. The original file is only ever opened for reading. */
#define _GNU_SOURCE
#include "helper.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x1000U
#endif
#define CHUNK_BYTES (8u << 20)
#define HUGE_BYTES (2ull << 20)

struct rec {
	unsigned seq;
	char state[16]; /* copying → verified → mounted → unstaging */
	char path[HP_MAX_PATH + 1];
	uint64_t dev, ino, bytes, copy_dev, copy_ino, mnt;
};

struct bind {
	uint64_t mnt;
	char mountpoint[HP_MAX_PATH + 1];
};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* ---------- one lock for every helper that shares this base ---------- */

/* Held across each stage/unstage/off/reconcile so that two helpers (the app's and a `sudo
 * hearth` CLI's) never take each other's in-flight stage for a crashed one. It is taken on the
 * base's parent directory so that removing the base when nothing is staged leaves nothing. */
static int lock_fd = -1;
static int take_lock(void)
{
	char parent[sizeof cfg.base];
	snprintf(parent, sizeof parent, "%s", cfg.base);
	char *slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	lock_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (lock_fd >= 0)
			close(lock_fd);
		lock_fd = -1;
		return -1;
	}
	return 0;
}
static void drop_lock(void)
{
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;
}

/* ---------- journal ---------- */

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

static int rec_write(const struct rec *r)
{
	char tmp[400], fin[400];
	snprintf(tmp, sizeof tmp, "%s/%u.tmp", cfg.journal, r->seq);
	snprintf(fin, sizeof fin, "%s/%u.rec", cfg.journal, r->seq);
	FILE *f = fopen(tmp, "wxe");
	if (!f)
		return -1;
	fprintf(f, "state=%s\npath=%s\ndev=%llu\nino=%llu\nbytes=%llu\ncopy-dev=%llu\ncopy-ino=%llu\nmnt=%llu\n",
		r->state, enc(r->path), (unsigned long long)r->dev, (unsigned long long)r->ino,
		(unsigned long long)r->bytes, (unsigned long long)r->copy_dev, (unsigned long long)r->copy_ino,
		(unsigned long long)r->mnt);
	if (fclose(f) != 0 || rename(tmp, fin) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int rec_read(unsigned seq, struct rec *r)
{
	char fn[400], line[3 * HP_MAX_PATH + 64];
	snprintf(fn, sizeof fn, "%s/%u.rec", cfg.journal, seq);
	FILE *f = fopen(fn, "re");
	if (!f)
		return -1;
	memset(r, 0, sizeof *r);
	r->seq = seq;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq++ = 0;
		unsigned long long v = strtoull(eq, NULL, 10);
		if (!strcmp(line, "state")) snprintf(r->state, sizeof r->state, "%s", eq);
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

static void rec_remove(unsigned seq)
{
	char fn[400];
	snprintf(fn, sizeof fn, "%s/%u.rec", cfg.journal, seq);
	unlink(fn);
}

/* The journal's sequence numbers, ascending; returns how many (at most max). */
static int rec_list(unsigned *seqs, int max)
{
	DIR *d = opendir(cfg.journal);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) && n < max) {
		char *end;
		unsigned long v = strtoul(e->d_name, &end, 10);
		if (end != e->d_name && !strcmp(end, ".rec"))
			seqs[n++] = (unsigned)v;
		else if (end != e->d_name && !strcmp(end, ".tmp"))
			unlinkat(dirfd(d), e->d_name, 0); /* a record half-written when a helper died */
	}
	if (d)
		closedir(d);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && seqs[j - 1] > seqs[j]; j--) {
			unsigned t = seqs[j];
			seqs[j] = seqs[j - 1];
			seqs[j - 1] = t;
		}
	return n;
}

/* ---------- mountinfo ---------- */

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

/* Finds the helper's tmpfs (the last mount on cfg.ram) and, when want_root is given, the
 * mount of that tmpfs whose root is want_root (a bind of one copy). */
static int mountinfo_find(unsigned *ram_maj, unsigned *ram_min, const char *want_root, struct bind *out)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int found_ram = 0, found_bind = 0;
	static char root[3 * HP_MAX_PATH + 8], mp[3 * HP_MAX_PATH + 8];
	unsigned rmaj = 0, rmin = 0;
	/* Candidate binds; only those on the ram tmpfs count, known once the whole file is read. */
	static struct bind cands[64];
	unsigned cmaj[64], cmin[64];
	int nc = 0;
	while (f && getline(&line, &cap, f) > 0) {
		unsigned long long id, parent;
		unsigned maj, min;
		if (strlen(line) >= sizeof root || sscanf(line, "%llu %llu %u:%u %s %s", &id, &parent, &maj, &min, root, mp) != 6)
			continue;
		unescape_octal(root);
		unescape_octal(mp);
		if (!strcmp(mp, cfg.ram)) {
			found_ram = 1;
			rmaj = maj;
			rmin = min;
		} else if (want_root && !strcmp(root, want_root) && nc < 64) {
			cands[nc].mnt = id;
			snprintf(cands[nc].mountpoint, sizeof cands[nc].mountpoint, "%s", mp);
			cmaj[nc] = maj;
			cmin[nc++] = min;
		}
	}
	free(line);
	if (f)
		fclose(f);
	if (!found_ram)
		return 0;
	if (ram_maj) *ram_maj = rmaj;
	if (ram_min) *ram_min = rmin;
	for (int i = 0; i < nc; i++)
		if (cmaj[i] == rmaj && cmin[i] == rmin) {
			if (out)
				*out = cands[i];
			found_bind = 1;
		}
	return found_bind ? 2 : 1;
}

static int ram_mounted(dev_t *dev)
{
	unsigned maj, min;
	if (mountinfo_find(&maj, &min, NULL, NULL) < 1)
		return 0;
	if (dev)
		*dev = makedev(maj, min);
	return 1;
}

/* ---------- holders: processes with the copy open or mapped, matched by dev+ino ---------- */

static int find_holders(dev_t dev, ino_t ino, char *out, size_t outlen)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	int n = 0;
	size_t used = 0;
	out[0] = 0;
	while (proc && (e = readdir(proc))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		int held = 0;
		char p[96], line[1024];
		snprintf(p, sizeof p, "/proc/%ld/fd", pid);
		DIR *fds = opendir(p);
		struct dirent *fe;
		while (fds && !held && (fe = readdir(fds))) {
			struct stat st;
			if (fe->d_name[0] == '.')
				continue;
			snprintf(p, sizeof p, "/proc/%ld/fd/%s", pid, fe->d_name);
			held = stat(p, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
		}
		if (fds)
			closedir(fds);
		snprintf(p, sizeof p, "/proc/%ld/maps", pid);
		FILE *maps = held ? NULL : fopen(p, "re");
		while (maps && !held && fgets(line, sizeof line, maps)) {
			unsigned maj, min;
			unsigned long long inode;
			if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &inode) == 3)
				held = makedev(maj, min) == dev && inode == ino;
		}
		if (maps)
			fclose(maps);
		if (!held)
			continue;
		char comm[64] = "?";
		snprintf(p, sizeof p, "/proc/%ld/comm", pid);
		FILE *c = fopen(p, "re");
		if (c) {
			if (fgets(comm, sizeof comm, c))
				comm[strcspn(comm, "\n")] = 0;
			fclose(c);
		}
		if (n < 16 && used + 80 < outlen)
			used += (size_t)snprintf(out + used, outlen - used, "%s%ld:%s", n ? "," : "", pid, enc(comm));
		n++;
	}
	if (proc)
		closedir(proc);
	return n;
}

/* Detaches the mount with id mnt that sits on mountpoint, going through an fd so that a path
 * swapped meanwhile (a symlink, a renamed folder) can never redirect the umount elsewhere. */
static int detach_verified(const char *mountpoint, uint64_t mnt)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, mountpoint, &how, sizeof how);
	if (fd < 0)
		return errno;
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID) || sx.stx_mnt_id != mnt) {
		close(fd);
		return ESTALE;
	}
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	int r = umount2(p, MNT_DETACH);
	int e = errno;
	close(fd);
	return r < 0 ? e : 0;
}

/* ---------- the tmpfs ---------- */

static int mkdir_private(const char *p)
{
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -1;
	struct stat st;
	/* Refuse a base someone else prepared: it must be root's own directory, not a link. */
	if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return errno = EPERM, -1;
	return 0;
}

static uint64_t tmpfs_used_bytes(uint64_t *size_bytes)
{
	struct statvfs sv;
	if (statvfs(cfg.ram, &sv) < 0)
		return 0;
	if (size_bytes)
		*size_bytes = (uint64_t)sv.f_blocks * sv.f_frsize;
	return (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
}

/* Mounts the tmpfs, or grows it by remount, so that need_bytes more fit. */
static int ram_grow(uint64_t id, uint64_t need_bytes)
{
	if (mkdir_private(cfg.base) < 0 || mkdir_private(cfg.journal) < 0 || mkdir_private(cfg.ram) < 0) {
		reply_err(id, "INTERNAL", NULL, "cannot prepare %s: %s", cfg.base, strerror(errno));
		return -1;
	}
	int mounted = ram_mounted(NULL);
	uint64_t size = (mounted ? tmpfs_used_bytes(NULL) : 0) + need_bytes;
	size = size > cfg.test_tmpfs_short_bytes + 4096 ? size - cfg.test_tmpfs_short_bytes : 4096;
	char opts[128];
	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	int r;
	if (!mounted) {
		/* huge=always: 2 MiB pages make the copy about 1.6x faster (FACTS.md). */
		snprintf(opts, sizeof opts, "size=%llu,mode=0700,huge=always", (unsigned long long)size);
		r = mount("hearth", cfg.ram, "tmpfs", flags, opts);
		if (r < 0 && errno == EINVAL) {
			snprintf(opts, sizeof opts, "size=%llu,mode=0700", (unsigned long long)size);
			r = mount("hearth", cfg.ram, "tmpfs", flags, opts);
		}
	} else {
		snprintf(opts, sizeof opts, "size=%llu", (unsigned long long)size);
		r = mount(NULL, cfg.ram, NULL, MS_REMOUNT | flags, opts);
	}
	if (r < 0) {
		reply_err(id, "INTERNAL", NULL, "cannot %s the RAM disk at %s: %s", mounted ? "grow" : "mount", cfg.ram, strerror(errno));
		return -1;
	}
	return 0;
}

/* Shrinks the tmpfs to what it holds, or removes it and the base when nothing is left. */
void stage_cleanup_base(void)
{
	unsigned seqs[1];
	if (ram_mounted(NULL)) {
		if (rec_list(seqs, 1) > 0) {
			char opts[64];
			uint64_t used = tmpfs_used_bytes(NULL);
			snprintf(opts, sizeof opts, "size=%llu", (unsigned long long)(used > 4096 ? used : 4096));
			mount(NULL, cfg.ram, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, opts);
			return;
		}
		if (umount2(cfg.ram, UMOUNT_NOFOLLOW) < 0)
			umount2(cfg.ram, MNT_DETACH | UMOUNT_NOFOLLOW);
	}
	if (rec_list(seqs, 1) > 0)
		return;
	rmdir(cfg.ram);
	rmdir(cfg.journal);
	if (!sysctl_has_saved())
		rmdir(cfg.base);
}

/* ---------- reconcile ---------- */

static void copy_name(unsigned seq, char *out, size_t n, int with_slash)
{
	snprintf(out, n, "%ss%u", with_slash ? "/" : "", seq);
}

static void remove_copy(unsigned seq)
{
	char p[400];
	snprintf(p, sizeof p, "%s/s%u", cfg.ram, seq);
	unlink(p);
}

static void reconcile_locked(void)
{
	unsigned seqs[1024];
	int n = rec_list(seqs, 1024);
	for (int i = 0; i < n; i++) {
		struct rec r;
		struct bind b;
		char root[32];
		if (rec_read(seqs[i], &r) < 0)
			continue;
		copy_name(r.seq, root, sizeof root, 1);
		int bound = mountinfo_find(NULL, NULL, root, &b) == 2;
		int finished = !strcmp(r.state, "verified") || !strcmp(r.state, "mounted") || !strcmp(r.state, "unstaging");
		if (bound && finished) {
			/* A finished stage (the copy was verified before it was mounted): keep it. An
			 * interrupted unstage is kept too; asking again finishes it. */
			if (strcmp(r.state, "mounted") || r.mnt != b.mnt) {
				snprintf(r.state, sizeof r.state, "mounted");
				r.mnt = b.mnt;
				rec_write(&r);
			}
			continue;
		}
		if (bound)
			detach_verified(b.mountpoint, b.mnt);
		remove_copy(r.seq);
		rec_remove(r.seq);
	}
	/* Copies that lost their record (none by construction) and are not mounted: delete. */
	DIR *d = opendir(cfg.ram);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		if (e->d_name[0] != 's')
			continue;
		unsigned long seq = strtoul(e->d_name + 1, &end, 10);
		char fn[400], root[32];
		struct stat st;
		snprintf(fn, sizeof fn, "%s/%lu.rec", cfg.journal, seq);
		copy_name((unsigned)seq, root, sizeof root, 1);
		if (!*end && stat(fn, &st) < 0 && mountinfo_find(NULL, NULL, root, NULL) != 2)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
	stage_cleanup_base();
}

void stage_reconcile(void)
{
	if (take_lock() < 0)
		return; /* another helper is at work; it keeps the journal straight */
	reconcile_locked();
	drop_lock();
}

/* ---------- verbs ---------- */

void verb_status(const struct hp_request *r)
{
	unsigned seqs[1024];
	if (take_lock() == 0) {
		reconcile_locked();
		drop_lock();
	}
	int n = rec_list(seqs, 1024);
	uint64_t staged = 0;
	for (int i = 0; i < n; i++) {
		struct rec rc;
		struct bind b;
		char root[32];
		if (rec_read(seqs[i], &rc) < 0)
			continue;
		copy_name(rc.seq, root, sizeof root, 1);
		int bound = mountinfo_find(NULL, NULL, root, &b) == 2;
		staged += rc.bytes;
		reply_line(r->id, "item", "stage path=%s staged-at=%s bytes=%llu state=%s mnt=%llu copy=s%u copy-dev=%llu copy-ino=%llu",
			   enc(rc.path), enc(bound ? b.mountpoint : ""), (unsigned long long)rc.bytes, rc.state,
			   (unsigned long long)rc.mnt, rc.seq, (unsigned long long)rc.copy_dev, (unsigned long long)rc.copy_ino);
	}
	locks_status(r->id);
	sysctl_status(r->id);
	uint64_t size = 0, used = ram_mounted(NULL) ? tmpfs_used_bytes(&size) : 0;
	reply_ok(r->id, "stages=%d staged-bytes=%llu tmpfs-size-bytes=%llu tmpfs-used-bytes=%llu mem-available-bytes=%llu mem-total-bytes=%llu base=%s",
		 n, (unsigned long long)staged, (unsigned long long)size, (unsigned long long)used,
		 (unsigned long long)mem_available_bytes(), (unsigned long long)mem_total_bytes(), enc(cfg.base));
}

static int copy_verify(const struct hp_request *r, int src, int dst, char *map, uint64_t size, const char *path)
{
	double start = now_ms(), last = start;
	posix_fadvise(src, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < CHUNK_BYTES ? (size_t)(size - off) : CHUNK_BYTES;
		/* Start reading the next chunk now, so the disk works while this one is copied (a
		 * large pread alone reads synchronously and leaves the disk idle during the copy). */
		if (off + n < size)
			readahead(src, (off64_t)(off + n), CHUNK_BYTES);
		/* sendfile: page cache → tmpfs pages in one kernel copy (no user buffer, and tmpfs
		 * skips zeroing pages that a write fills whole). */
		for (size_t put = 0; put < n;) {
			off_t from = (off_t)(off + put);
			if (lseek(dst, from, SEEK_SET) < 0)
				return reply_err(r->id, "INTERNAL", NULL, "seek in the copy: %s", strerror(errno)), -1;
			ssize_t k = sendfile(dst, src, &from, n - put);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				int e = k < 0 ? errno : EIO;
				char extra[64];
				snprintf(extra, sizeof extra, "done-bytes=%llu", (unsigned long long)(off + put));
				if (e == ENOSPC)
					reply_err(r->id, "TOO_LARGE", extra, "the RAM disk filled up after %.1f MiB of %s; the stage was rolled back",
						  (double)(off + put) / 1048576.0, path);
				else
					reply_err(r->id, "IO", extra, "copying %s failed at byte %llu: %s; the stage was rolled back", path,
						  (unsigned long long)(off + put), k < 0 ? strerror(e) : "the file got shorter");
				return -1;
			}
			put += (size_t)k;
		}
		off += n;
		double t = now_ms();
		if (t - last >= 200 || off == size) {
			last = t;
			reply_line(r->id, "progress", "done=%llu total=%llu", (unsigned long long)off, (unsigned long long)size);
		}
		if (cancel_requested(r->id)) {
			reply_err(r->id, "CANCELLED", NULL, "staging %s was cancelled; nothing was staged", path);
			return -1;
		}
	}
	/* Verify: the source did not change while we read it, and sampled blocks of the copy match
	 * the source byte for byte (a full compare would read the file twice). */
	struct stat a;
	char cmp[65536];
	if (fstat(src, &a) < 0 || (uint64_t)a.st_size != size) {
		reply_err(r->id, "IO", NULL, "%s changed size while it was copied; the stage was rolled back", path);
		return -1;
	}
	for (int i = 0; i < 64; i++) {
		uint64_t off = size <= sizeof cmp ? 0 : (size - sizeof cmp) / 63 * (uint64_t)i;
		size_t n = size - off < sizeof cmp ? (size_t)(size - off) : sizeof cmp;
		if (pread(src, cmp, n, (off_t)off) != (ssize_t)n || memcmp(cmp, map + off, n) != 0) {
			reply_err(r->id, "IO", NULL, "the copy of %s differs from it at byte %llu; the stage was rolled back", path,
				  (unsigned long long)off);
			return -1;
		}
		if (size <= sizeof cmp)
			break;
	}
	(void)dst;
	return 0;
}

void verb_stage(const struct hp_request *r)
{
	const char *path = hp_str(r, "path");
	uint64_t reserve = hp_num(r, "reserve", DEFAULT_RESERVE_BYTES);
	struct stat st, again;
	int src = -1, dst = -1, tree = -1, locked = 0;
	char *map = MAP_FAILED;
	struct rec rec = { 0 };
	int ofd = open_path_as_caller(r->id, path, &st);
	if (ofd < 0)
		return;
	if (check_stageable(r->id, ofd, &st, path) < 0)
		goto out;
	dev_t ram_dev;
	if (ram_mounted(&ram_dev) && st.st_dev == ram_dev) {
		reply_ok(r->id, "already=1 bytes=%llu", (unsigned long long)st.st_size);
		goto out;
	}
	if ((src = reopen_for_read_as_caller(r->id, ofd, path)) < 0)
		goto out;
	uint64_t size = (uint64_t)st.st_size;
	uint64_t need = (size + HUGE_BYTES - 1) / HUGE_BYTES * HUGE_BYTES;
	uint64_t avail = mem_available_bytes();
	if (avail < reserve || need > avail - reserve) {
		char n1[32], n2[32], n3[32];
		fmt_gib(n1, sizeof n1, need);
		fmt_gib(n2, sizeof n2, avail > reserve ? avail - reserve : 0);
		fmt_gib(n3, sizeof n3, reserve);
		reply_err(r->id, "TOO_LARGE", NULL, "staging %s needs %s, %s available after the %s reserve; free RAM or lower the reserve",
			  path, n1, n2, n3);
		goto out;
	}
	if (take_lock() < 0) {
		reply_err(r->id, "BUSY", NULL, "another hearth-helper is changing stages; retry when it finishes");
		goto out;
	}
	locked = 1;
	if (ram_grow(r->id, need) < 0)
		goto out;
	unsigned seqs[1024];
	int nrec = rec_list(seqs, 1024);
	rec.seq = nrec ? seqs[nrec - 1] + 1 : 1;
	snprintf(rec.state, sizeof rec.state, "copying");
	snprintf(rec.path, sizeof rec.path, "%s", path);
	rec.dev = st.st_dev;
	rec.ino = st.st_ino;
	rec.bytes = size;
	if (rec_write(&rec) < 0) {
		reply_err(r->id, "INTERNAL", NULL, "cannot write the journal under %s: %s", cfg.journal, strerror(errno));
		rec.seq = 0;
		goto out;
	}
	char name[32];
	copy_name(rec.seq, name, sizeof name, 0);
	int ramfd = open(cfg.ram, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	dst = ramfd < 0 ? -1 : openat(ramfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (dst < 0 || ftruncate(dst, (off_t)size) < 0 ||
	    (map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dst, 0)) == MAP_FAILED) {
		reply_err(r->id, "INTERNAL", NULL, "cannot create the copy in %s: %s", cfg.ram, strerror(errno));
		if (ramfd >= 0)
			close(ramfd);
		goto out;
	}
	if (copy_verify(r, src, dst, map, size, path) < 0) {
		close(ramfd);
		goto out;
	}
	/* The copy looks like the original to every reader: owner, mode and times. */
	if (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 0777) < 0) {
		reply_err(r->id, "INTERNAL", NULL, "cannot set the copy's owner and mode: %s", strerror(errno));
		close(ramfd);
		goto out;
	}
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	futimens(dst, times);
	if (fstat(dst, &again) < 0 || fstat(src, &st) < 0 || st.st_mtim.tv_sec != times[1].tv_sec ||
	    st.st_mtim.tv_nsec != times[1].tv_nsec) {
		reply_err(r->id, "IO", NULL, "%s was modified while it was copied; the stage was rolled back", path);
		close(ramfd);
		goto out;
	}
	rec.copy_dev = again.st_dev;
	rec.copy_ino = again.st_ino;
	snprintf(rec.state, sizeof rec.state, "verified");
	rec_write(&rec);

	tree = (int)syscall(SYS_open_tree, ramfd, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	close(ramfd);
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
	struct statx sx;
	if (tree < 0 || syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0 ||
	    syscall(SYS_move_mount, tree, "", ofd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		reply_err(r->id, errno == ENOSYS ? "UNSUPPORTED" : "IO", NULL, "cannot bind the copy over %s: %s; the stage was rolled back",
			  path, strerror(errno));
		goto out;
	}
	if (statx(tree, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0)
		rec.mnt = sx.stx_mnt_id;
	snprintf(rec.state, sizeof rec.state, "mounted");
	rec_write(&rec);
	/* Every reader now gets the RAM copy; the original's cached pages only take RAM twice. */
	posix_fadvise(src, 0, 0, POSIX_FADV_DONTNEED);
	reply_ok(r->id, "bytes=%llu copy=s%u mnt=%llu", (unsigned long long)size, rec.seq, (unsigned long long)rec.mnt);
	rec.seq = 0; /* kept */
out:
	if (map != MAP_FAILED)
		munmap(map, size);
	if (rec.seq) {
		remove_copy(rec.seq);
		rec_remove(rec.seq);
	}
	if (locked) {
		stage_cleanup_base();
		drop_lock();
	}
	if (tree >= 0)
		close(tree);
	if (dst >= 0)
		close(dst);
	if (src >= 0)
		close(src);
	close(ofd);
}

/* Undoes one stage: refuses when a process holds the copy unless lazy; returns 0 when undone. */
static int unstage_one(uint64_t id, struct rec *rc, const struct bind *b, int lazy, int *holders_out)
{
	char holders[2048];
	int nh = find_holders((dev_t)rc->copy_dev, (ino_t)rc->copy_ino, holders, sizeof holders);
	if (holders_out)
		*holders_out = nh;
	if (nh && !lazy) {
		char extra[2100];
		snprintf(extra, sizeof extra, "holders=%s", holders);
		reply_err(id, "BUSY", extra, "%s is in use by %d process%s (%s); stop them, or unstage lazily (--lazy): the RAM then stays in use until they exit",
			  rc->path, nh, nh == 1 ? "" : "es", holders);
		return -1;
	}
	snprintf(rc->state, sizeof rc->state, "unstaging");
	rec_write(rc);
	int e = b ? detach_verified(b->mountpoint, rc->mnt) : 0;
	if (e) {
		snprintf(rc->state, sizeof rc->state, "mounted");
		rec_write(rc);
		reply_err(id, "IO", NULL, "cannot unmount the copy at %s: %s", b->mountpoint, strerror(e));
		return -1;
	}
	remove_copy(rc->seq);
	rec_remove(rc->seq);
	if (nh)
		reply_line(id, "item", "lazy path=%s holders=%s", enc(rc->path), holders);
	return 0;
}

void verb_unstage(const struct hp_request *r)
{
	const char *path = hp_str(r, "path");
	int lazy = (int)hp_num(r, "lazy", 0);
	struct stat st;
	struct statx sx;
	int ofd = open_path_as_caller(r->id, path, &st);
	if (ofd < 0)
		return;
	if (statx(ofd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0) {
		reply_err(r->id, "IO", NULL, "cannot stat %s: %s", path, strerror(errno));
		close(ofd);
		return;
	}
	close(ofd);
	if (take_lock() < 0) {
		reply_err(r->id, "BUSY", NULL, "another hearth-helper is changing stages; retry when it finishes");
		return;
	}
	unsigned seqs[1024];
	int n = rec_list(seqs, 1024);
	for (int i = 0; i < n; i++) {
		struct rec rc;
		struct bind b;
		char root[32];
		if (rec_read(seqs[i], &rc) < 0 || rc.mnt != sx.stx_mnt_id || rc.copy_ino != st.st_ino || rc.copy_dev != st.st_dev)
			continue;
		copy_name(rc.seq, root, sizeof root, 1);
		int bound = mountinfo_find(NULL, NULL, root, &b) == 2 && b.mnt == rc.mnt;
		int holders = 0;
		if (unstage_one(r->id, &rc, bound ? &b : NULL, lazy, &holders) == 0)
			reply_ok(r->id, "bytes=%llu lazy=%d holders=%d", (unsigned long long)rc.bytes, holders ? 1 : 0, holders);
		stage_cleanup_base();
		drop_lock();
		return;
	}
	drop_lock();
	reply_err(r->id, "NOT_FOUND", NULL, "%s is not staged", path);
}

int stage_off(uint64_t id)
{
	if (take_lock() < 0) {
		reply_err(id, "BUSY", NULL, "another hearth-helper is changing stages; retry when it finishes");
		return 1;
	}
	reconcile_locked();
	unsigned seqs[1024];
	int n = rec_list(seqs, 1024), failed = 0;
	for (int i = 0; i < n; i++) {
		struct rec rc;
		struct bind b;
		char root[32];
		if (rec_read(seqs[i], &rc) < 0)
			continue;
		copy_name(rc.seq, root, sizeof root, 1);
		int bound = mountinfo_find(NULL, NULL, root, &b) == 2;
		/* Off always detaches (lazily where held) and names who still holds the RAM. */
		if (unstage_one(id, &rc, bound ? &b : NULL, 1, NULL) == 0)
			reply_line(id, "item", "unstaged path=%s bytes=%llu", enc(rc.path), (unsigned long long)rc.bytes);
		else
			failed++;
	}
	stage_cleanup_base();
	drop_lock();
	return failed;
}

/* Staging: copy a model file into the helper's tmpfs and bind-mount the copy, read-only, over
 * that exact inode. A journal record per stage (journal.c; written before the copy exists,
 * removed after the copy is gone) lets a restarted helper tell half-made stages (rolled back)
 * from finished ones (kept), against /proc/self/mountinfo. The original file is only ever
 * opened for reading. Each record names the caller it was made for: a user sees and undoes
 * their own stages, root all of them. */
#define _GNU_SOURCE
#include "journal.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x1000U
#endif
#define CHUNK_BYTES (8u << 20)
#define HUGE_BYTES (2ull << 20)
#define LOCK_WAIT_MS 2000

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void reply_lock_busy(uint64_t id)
{
	reply_err(id, "BUSY", NULL, "another hearth-helper is changing stages; retry when it finishes");
}

/* ---------- holders: processes with the copy open or mapped, matched by dev+ino ---------- */

/* ino 0: any file on dev (one scan answers "nobody holds any copy" for off's many stages). */
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
			held = stat(p, &st) == 0 && st.st_dev == dev && (!ino || st.st_ino == ino);
		}
		if (fds)
			closedir(fds);
		snprintf(p, sizeof p, "/proc/%ld/maps", pid);
		FILE *maps = held ? NULL : fopen(p, "re");
		while (maps && !held && fgets(line, sizeof line, maps)) {
			unsigned maj, min;
			unsigned long long inode;
			if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &inode) == 3)
				held = makedev(maj, min) == dev && (!ino || inode == ino);
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

/* An O_PATH fd on the mount with id mnt at mountpoint, or -errno: the path is opened without
 * following links and the mount id checked, so a path swapped meanwhile (a symlink, a renamed
 * folder) can never redirect the unmount elsewhere. */
static int open_mount(const struct bind *b, uint64_t mnt)
{
	if (b->long_mountpoint)
		return -ENAMETOOLONG;
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, b->mountpoint, &how, sizeof how);
	if (fd < 0)
		return -errno;
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID) || sx.stx_mnt_id != mnt) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* Detaches the mount an fd from open_mount (or a verified caller path) sits on. */
static int detach_fd(int fd)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	return umount2(p, MNT_DETACH) < 0 ? errno : 0;
}

/* ---------- the tmpfs ---------- */

uint64_t stage_ram_bytes(void)
{
	/* Something is mounted on ram (a directory only root made) when its device differs from
	 * the base's: enough to count bytes, without reading mountinfo on every request. */
	struct stat ram, base;
	struct statvfs sv;
	if (stat(cfg.ram, &ram) < 0 || stat(cfg.base, &base) < 0 || ram.st_dev == base.st_dev || statvfs(cfg.ram, &sv) < 0)
		return 0;
	return (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
}

static uint64_t tmpfs_size_bytes(void)
{
	struct statvfs sv;
	return statvfs(cfg.ram, &sv) < 0 ? 0 : (uint64_t)sv.f_blocks * sv.f_frsize;
}

/* No noexec: a bind carries its mount's flags onto the file it covers, and a staged file must
 * behave as the original did. nosuid and nodev: nothing staged needs them. */
#define RAM_FLAGS (MS_NOSUID | MS_NODEV)

/* Mounts the tmpfs, or grows it by remount, so that need_bytes more fit. */
static int ram_grow(uint64_t id, uint64_t need_bytes)
{
	if (mkdir_private(cfg.base, 022) < 0 || mkdir_private(cfg.journal, 022) < 0 || mkdir_private(cfg.ram, 022) < 0) {
		reply_err(id, "INTERNAL", NULL, "cannot prepare %s: %s", cfg.base, strerror(errno));
		return -1;
	}
	int mounted = ram_mounted(NULL);
	if (mounted < 0) {
		reply_err(id, "INTERNAL", NULL, "cannot read /proc/self/mountinfo; nothing was staged");
		return -1;
	}
	uint64_t size = (mounted ? stage_ram_bytes() : 0) + need_bytes;
	size = size > cfg.test_tmpfs_short_bytes + 4096 ? size - cfg.test_tmpfs_short_bytes : 4096;
	char opts[128];
	int r;
	if (!mounted) {
		/* huge=within_size: 2 MiB pages wherever a whole one lies inside the file (a model's
		 * bulk: the copy runs faster, FACTS.md), small pages for the rest, so many small
		 * files do not take 2 MiB each. */
		snprintf(opts, sizeof opts, "size=%llu,mode=0700,huge=within_size", (unsigned long long)size);
		r = mount("hearth", cfg.ram, "tmpfs", RAM_FLAGS, opts);
		if (r < 0 && errno == EINVAL) {
			snprintf(opts, sizeof opts, "size=%llu,mode=0700", (unsigned long long)size);
			r = mount("hearth", cfg.ram, "tmpfs", RAM_FLAGS, opts);
		}
	} else {
		snprintf(opts, sizeof opts, "size=%llu", (unsigned long long)size);
		r = mount(NULL, cfg.ram, NULL, MS_REMOUNT | RAM_FLAGS, opts);
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
	int n, here = 0;
	unsigned *seqs = rec_list(&n);
	for (int i = 0; i < n; i++) {
		struct rec r;
		here += rec_read(seqs[i], &r) == 0 && rec_here(&r);
	}
	free(seqs);
	int mounted = ram_mounted(NULL);
	if (n < 0 || mounted < 0)
		return;
	if (mounted) {
		/* This namespace's RAM disk holds this namespace's copies only. */
		if (here > 0) {
			char opts[64];
			uint64_t used = stage_ram_bytes();
			snprintf(opts, sizeof opts, "size=%llu", (unsigned long long)(used > 4096 ? used : 4096));
			mount(NULL, cfg.ram, NULL, MS_REMOUNT | RAM_FLAGS, opts);
			return;
		}
		if (umount2(cfg.ram, UMOUNT_NOFOLLOW) < 0)
			umount2(cfg.ram, MNT_DETACH | UMOUNT_NOFOLLOW);
	}
	if (n > 0)
		return;
	rmdir(cfg.ram);
	rmdir(cfg.journal);
	if (!sysctl_has_saved())
		rmdir(cfg.base);
}

/* ---------- reconcile ---------- */

static void remove_copy(unsigned seq)
{
	char p[400];
	snprintf(p, sizeof p, "%s/s%u", cfg.ram, seq);
	unlink(p);
}

static int is_finished(const struct rec *r)
{
	return !strcmp(r->state, "verified") || !strcmp(r->state, "mounted") || !strcmp(r->state, "unstaging");
}

/* Keeps finished stages whose bind is there, rolls back what is really not mounted, and leaves
 * alone whatever it cannot see clearly. */
static void reconcile_locked(void)
{
	int n;
	struct mounts *mounts = mounts_read();
	if (!mounts)
		return; /* mountinfo unreadable: nothing may be concluded, so nothing is rolled back */
	unsigned *seqs = rec_list(&n);
	for (int i = 0; i < n; i++) {
		struct rec r;
		struct bind b;
		if (rec_read(seqs[i], &r) < 0 || !rec_here(&r))
			continue; /* another namespace's stage: invisible here, so never concluded about */
		int bound = mounts_find(mounts, &r, &b);
		if (bound && is_finished(&r)) {
			/* A finished stage (the copy was verified before it was mounted): keep it. An
			 * interrupted unstage is kept too; asking again finishes it. */
			if (strcmp(r.state, "mounted") || r.mnt != b.mnt) {
				snprintf(r.state, sizeof r.state, "mounted");
				r.mnt = b.mnt;
				rec_write(&r);
			}
			continue;
		}
		if (bound) {
			int fd = open_mount(&b, b.mnt);
			int e = fd < 0 ? -fd : detach_fd(fd);
			if (fd >= 0)
				close(fd);
			if (e)
				continue; /* still mounted: keep the record so that it can be undone later */
		}
		remove_copy(r.seq);
		rec_remove(r.seq);
	}
	free(seqs);
	/* Copies that lost their record (none by construction) and are not mounted: delete. */
	dev_t ram_dev;
	DIR *d = mounts_ram(mounts, &ram_dev) ? opendir(cfg.ram) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end, fn[400];
		struct stat st;
		if (e->d_name[0] != 's')
			continue;
		unsigned long seq = strtoul(e->d_name + 1, &end, 10);
		snprintf(fn, sizeof fn, "%s/%lu.rec", cfg.journal, seq);
		if (!*end && seq <= UINT_MAX && stat(fn, &st) < 0 && errno == ENOENT && !mounts_copy_bound(mounts, (unsigned)seq, ram_dev))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
	mounts_free(mounts);
	stage_cleanup_base();
}

void stage_reconcile(void)
{
	if (journal_lock(0, 0) < 0)
		return; /* another helper is at work; it keeps the journal straight */
	reconcile_locked();
	journal_unlock();
}

/* ---------- verbs ---------- */

void verb_status(const struct hp_request *r)
{
	if (journal_lock(0, 0) == 0) {
		reconcile_locked();
		journal_unlock();
	}
	int n, mine = 0;
	unsigned *seqs = rec_list(&n);
	struct mounts *mounts = mounts_read();
	uint64_t staged = 0;
	for (int i = 0; i < n; i++) {
		struct rec rc;
		struct bind b;
		if (rec_read(seqs[i], &rc) < 0 || !caller_owns(rc.uid) || !rec_here(&rc))
			continue;
		int bound = mounts && mounts_find(mounts, &rc, &b);
		staged += rc.bytes;
		mine++;
		reply_line(r->id, "item", "stage path=%s staged-at=%s bytes=%llu state=%s mnt=%llu copy=s%u copy-dev=%llu copy-ino=%llu uid=%u",
			   enc(rc.path), enc(bound ? b.mountpoint : ""), (unsigned long long)rc.bytes, rc.state,
			   (unsigned long long)rc.mnt, rc.seq, (unsigned long long)rc.copy_dev, (unsigned long long)rc.copy_ino,
			   (unsigned)rc.uid);
	}
	free(seqs);
	mounts_free(mounts);
	locks_status(r->id);
	sysctl_status(r->id);
	struct ram_budget bud;
	ram_budget(0, &bud);
	int mounted = ram_mounted(NULL) == 1;
	reply_ok(r->id, "stages=%d staged-bytes=%llu tmpfs-size-bytes=%llu tmpfs-used-bytes=%llu mem-available-bytes=%llu mem-total-bytes=%llu reserve-floor-bytes=%llu max-stages=%d base=%s",
		 mine, (unsigned long long)staged, (unsigned long long)(mounted ? tmpfs_size_bytes() : 0),
		 (unsigned long long)bud.staged, (unsigned long long)bud.mem_available, (unsigned long long)bud.mem_total,
		 (unsigned long long)bud.floor, MAX_STAGES, enc(cfg.base));
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
	return 0;
}

static const char *xattr_kind(const char *name)
{
	if (!strncmp(name, "system.posix_acl_", 17))
		return "an ACL";
	if (!strncmp(name, "security.", 9))
		return "a security label";
	return "an extended attribute";
}

/* ACLs, security labels and other extended attributes go onto the copy as they are on the
 * original (tmpfs holds security.*, trusted.*, system.posix_acl_* and, from Linux 6.6, user.*):
 * who may read the staged file stays exactly who may read the original. What the RAM disk
 * cannot hold refuses the stage, naming the attribute. Called after chown/chmod (a chmod would
 * rewrite an ACL's mask). */
static int copy_xattrs(uint64_t id, int src, int dst, const char *path)
{
	static char names[XATTR_LIST_MAX], val[XATTR_SIZE_MAX];
	ssize_t n = flistxattr(src, names, sizeof names);
	if (n < 0) {
		if (errno == ENOTSUP)
			return 0; /* the source's filesystem has none */
		reply_err(id, "IO", NULL, "cannot list the extended attributes of %s: %s; nothing was staged", path, strerror(errno));
		return -1;
	}
	for (char *k = names; k < names + n; k += strlen(k) + 1) {
		ssize_t v = fgetxattr(src, k, val, sizeof val);
		if (v < 0 || fsetxattr(dst, k, val, (size_t)v, 0) < 0) {
			reply_err(id, "UNSUPPORTED", NULL, "%s carries %s (%s) that the RAM disk cannot hold (%s); staging it would change who may read it, so nothing was staged",
				  path, xattr_kind(k), k, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Files the caller neither owns nor may write: staging would freeze them for their owner
 * (no rename, EBUSY; no write, EROFS). Only the admin helper stages them. */
static int refuse_foreign(uint64_t id, int ofd, const struct stat *st, const char *path)
{
	if (cfg.allow_foreign || caller_may_write(ofd, st))
		return 0;
	struct passwd *pw = getpwuid(st->st_uid);
	char owner[64], extra[160];
	snprintf(owner, sizeof owner, "%s", pw ? pw->pw_name : "?");
	endpwent();
	snprintf(extra, sizeof extra, "foreign=1 owner=%s owner-uid=%u", enc(owner), (unsigned)st->st_uid);
	reply_err(id, "PERMISSION", extra,
		  "%s belongs to %s (uid %u) and user %u may not write it: staging would freeze it for its owner (no rename or write while staged). "
		  "Staging another user's file asks for an administrator's password each time (hearth-helper-admin)",
		  path, owner, (unsigned)st->st_uid, (unsigned)caller_uid);
	return -1;
}

/* The next sequence number: above every record that lives, so none is ever reused while its
 * record exists. Refuses when MAX_STAGES are staged already. */
static int next_seq(uint64_t id, unsigned *seq)
{
	int n;
	unsigned *seqs = rec_list(&n);
	int ok = n >= 0 && n < MAX_STAGES && (n == 0 || seqs[n - 1] < UINT_MAX);
	if (ok)
		*seq = n ? seqs[n - 1] + 1 : 1;
	free(seqs);
	if (n < 0)
		reply_err(id, "INTERNAL", NULL, "cannot read the journal %s: %s", cfg.journal, strerror(errno));
	else if (!ok)
		reply_err(id, "TOO_LARGE", NULL, "%d files are staged, the most the helper keeps at once (%d); unstage some first", n, MAX_STAGES);
	return ok ? 0 : -1;
}

/* Binds the copy over the original inode (the O_PATH fd): read-only, nosuid, nodev, and noexec
 * exactly when the original's own mount is. */
static int bind_copy(int ramfd, const char *name, int ofd, uint64_t *mnt)
{
	struct statvfs sv;
	int noexec = fstatvfs(ofd, &sv) == 0 && (sv.f_flag & ST_NOEXEC);
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (noexec ? MOUNT_ATTR_NOEXEC : 0),
		.attr_clr = noexec ? 0 : MOUNT_ATTR_NOEXEC,
	};
	int tree = (int)syscall(SYS_open_tree, ramfd, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0 || syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0 ||
	    syscall(SYS_move_mount, tree, "", ofd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		int e = errno;
		if (tree >= 0)
			close(tree);
		return e;
	}
	struct statx sx;
	*mnt = statx(tree, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 ? sx.stx_mnt_id : 0;
	close(tree);
	return 0;
}

void verb_stage(const struct hp_request *r)
{
	const char *path = hp_str(r, "path");
	uint64_t reserve = hp_num(r, "reserve", DEFAULT_RESERVE_BYTES);
	struct stat st, again;
	int src = -1, dst = -1, ramfd = -1, locked = 0;
	char *map = MAP_FAILED, what[HP_MAX_PATH + 16];
	struct rec rec = { 0 };
	uint64_t size = 0;
	int ofd = open_path_as_caller(r->id, path, &st);
	if (ofd < 0)
		return;
	if (check_stageable(r->id, ofd, &st, path) < 0)
		goto out;
	dev_t ram_dev;
	if (ram_mounted(&ram_dev) == 1 && st.st_dev == ram_dev) {
		reply_ok(r->id, "already=1 bytes=%llu", (unsigned long long)st.st_size);
		goto out;
	}
	if ((src = reopen_for_read_as_caller(r->id, ofd, path)) < 0)
		goto out;
	size = (uint64_t)st.st_size;
	if (check_model_file(r->id, src, size, path) < 0 || refuse_foreign(r->id, ofd, &st, path) < 0)
		goto out;
	uint64_t need = (size + HUGE_BYTES - 1) / HUGE_BYTES * HUGE_BYTES;
	snprintf(what, sizeof what, "staging %s", path);
	if (ram_budget_check(r->id, what, need, reserve) < 0)
		goto out;
	if (journal_lock(r->id, LOCK_WAIT_MS) < 0) {
		reply_lock_busy(r->id);
		goto out;
	}
	locked = 1;
	if (next_seq(r->id, &rec.seq) < 0) {
		rec.seq = 0;
		goto out;
	}
	if (ram_grow(r->id, need) < 0) {
		rec.seq = 0;
		goto out;
	}
	rec.uid = caller_uid;
	rec.mntns = cfg.mntns;
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
	ramfd = open(cfg.ram, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	dst = ramfd < 0 ? -1 : openat(ramfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (dst < 0 || ftruncate(dst, (off_t)size) < 0 ||
	    (map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dst, 0)) == MAP_FAILED) {
		reply_err(r->id, "INTERNAL", NULL, "cannot create the copy in %s: %s", cfg.ram, strerror(errno));
		goto out;
	}
	if (copy_verify(r, src, dst, map, size, path) < 0)
		goto out;
	/* What gets mounted is checked too: the copy's own bytes are a model file. */
	if (check_model_file(r->id, dst, size, path) < 0)
		goto out;
	/* The copy looks like the original to every reader: owner, mode, ACLs, labels, times. */
	if (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 0777) < 0) {
		reply_err(r->id, "INTERNAL", NULL, "cannot set the copy's owner and mode: %s", strerror(errno));
		goto out;
	}
	if (copy_xattrs(r->id, src, dst, path) < 0)
		goto out;
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	futimens(dst, times);
	if (fstat(dst, &again) < 0 || fstat(src, &st) < 0 || st.st_mtim.tv_sec != times[1].tv_sec ||
	    st.st_mtim.tv_nsec != times[1].tv_nsec) {
		reply_err(r->id, "IO", NULL, "%s was modified while it was copied; the stage was rolled back", path);
		goto out;
	}
	rec.copy_dev = again.st_dev;
	rec.copy_ino = again.st_ino;
	snprintf(rec.state, sizeof rec.state, "verified");
	rec_write(&rec);

	int e = bind_copy(ramfd, name, ofd, &rec.mnt);
	if (e == ENOENT) {
		/* The name was replaced or removed while the copy was made: the inode opened is no
		 * longer there to bind over. */
		reply_err(r->id, "NOT_FOUND", NULL, "%s was renamed or removed while it was copied; the stage was rolled back", path);
		goto out;
	}
	if (e) {
		reply_err(r->id, e == ENOSYS ? "UNSUPPORTED" : "IO", NULL, "cannot bind the copy over %s: %s; the stage was rolled back",
			  path, strerror(e));
		goto out;
	}
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
		journal_unlock();
	}
	if (ramfd >= 0)
		close(ramfd);
	if (dst >= 0)
		close(dst);
	if (src >= 0)
		close(src);
	close(ofd);
}

/* Why one stage could not be undone (for unstage's reply, or off's item line). */
struct undo_result {
	const char *code;
	char msg[HP_MAX_PATH + 600];
	char holders[2048];
	int nholders;
};

/* Undoes one stage through mfd (an O_PATH fd on its verified bind; -1 when it is not mounted):
 * refuses when a process holds the copy unless lazy (scan 0: the caller knows none does). 0
 * when undone. */
static int unstage_one(struct rec *rc, int mfd, int lazy, int scan, struct undo_result *u)
{
	u->code = NULL;
	u->holders[0] = 0;
	u->nholders = scan ? find_holders((dev_t)rc->copy_dev, (ino_t)rc->copy_ino, u->holders, sizeof u->holders) : 0;
	int nh = u->nholders;
	if (nh && !lazy) {
		u->code = "BUSY";
		snprintf(u->msg, sizeof u->msg, "%s is in use by %d process%s (%s); stop them, or unstage lazily (--lazy): the RAM then stays in use until they exit",
			 rc->path, nh, nh == 1 ? "" : "es", u->holders);
		return -1;
	}
	snprintf(rc->state, sizeof rc->state, "unstaging");
	rec_write(rc);
	int e = mfd >= 0 ? detach_fd(mfd) : 0;
	if (e) {
		snprintf(rc->state, sizeof rc->state, "mounted");
		rec_write(rc);
		u->code = "IO";
		snprintf(u->msg, sizeof u->msg, "cannot unmount the copy over %s: %s", rc->path, strerror(e));
		return -1;
	}
	remove_copy(rc->seq);
	rec_remove(rc->seq);
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
	if (journal_lock(r->id, LOCK_WAIT_MS) < 0) {
		reply_lock_busy(r->id);
		close(ofd);
		return;
	}
	int n, found = 0;
	unsigned *seqs = rec_list(&n);
	for (int i = 0; i < n && !found; i++) {
		struct rec rc;
		struct undo_result u;
		if (rec_read(seqs[i], &rc) < 0 || !caller_owns(rc.uid) || !rec_here(&rc) || rc.mnt != sx.stx_mnt_id || rc.copy_ino != st.st_ino ||
		    rc.copy_dev != st.st_dev)
			continue;
		found = 1;
		/* The caller's own path, verified against the journal's mount id, is what gets
		 * detached: it works even where mountinfo shows a path too long to open again. */
		if (unstage_one(&rc, ofd, lazy, 1, &u) == 0)
			reply_ok(r->id, "bytes=%llu lazy=%d holders=%d", (unsigned long long)rc.bytes, u.nholders ? 1 : 0, u.nholders);
		else {
			char extra[2100];
			snprintf(extra, sizeof extra, "holders=%s", u.holders);
			reply_err(r->id, u.code, u.nholders ? extra : NULL, "%s", u.msg);
		}
		if (!u.code && u.nholders)
			reply_line(r->id, "item", "lazy path=%s holders=%s", enc(rc.path), u.holders);
	}
	free(seqs);
	if (found)
		stage_cleanup_base();
	journal_unlock();
	close(ofd);
	if (!found)
		reply_err(r->id, "NOT_FOUND", NULL, "%s is not staged%s", path, caller_uid ? " by this user" : "");
}

int stage_off(uint64_t id)
{
	if (journal_lock(id, LOCK_WAIT_MS) < 0) {
		reply_lock_busy(id);
		return -1;
	}
	reconcile_locked();
	int n, failed = 0;
	unsigned *seqs = rec_list(&n);
	struct mounts *mounts = mounts_read();
	dev_t ram_dev;
	char none[8];
	/* One /proc scan for the whole tmpfs: per-stage scans only when something holds a copy. */
	int scan = !mounts || !mounts_ram(mounts, &ram_dev) || find_holders(ram_dev, 0, none, sizeof none) > 0;
	for (int i = 0; i < n; i++) {
		struct rec rc;
		struct bind b;
		struct undo_result u;
		if (rec_read(seqs[i], &rc) < 0 || !caller_owns(rc.uid) || !rec_here(&rc))
			continue;
		int bound = mounts ? mounts_find(mounts, &rc, &b) : -1;
		int mfd = bound == 1 ? open_mount(&b, rc.mnt ? rc.mnt : b.mnt) : -1;
		if (bound < 0 || (bound == 1 && mfd < 0)) {
			failed++;
			reply_line(id, "item", "failed path=%s msg=%s", enc(rc.path),
				   enc(bound < 0 ? "cannot read /proc/self/mountinfo" : strerror(-mfd)));
			continue;
		}
		/* Off always detaches (lazily where held) and names who still holds the RAM. */
		if (unstage_one(&rc, mfd, 1, scan, &u) == 0) {
			reply_line(id, "item", "unstaged path=%s bytes=%llu", enc(rc.path), (unsigned long long)rc.bytes);
			if (u.nholders)
				reply_line(id, "item", "lazy path=%s holders=%s", enc(rc.path), u.holders);
		} else {
			failed++;
			reply_line(id, "item", "failed path=%s msg=%s", enc(rc.path), enc(u.msg));
		}
		if (mfd >= 0)
			close(mfd);
	}
	free(seqs);
	mounts_free(mounts);
	stage_cleanup_base();
	journal_unlock();
	return failed;
}

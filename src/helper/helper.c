/* hearth-helper: the one privileged process of Hearth. Started once per app session with a fixed
 * argv (pkexec /usr/libexec/hearth/hearth-helper, or directly by root), it speaks the line
 * protocol of protocol.h on stdin/stdout and exits when stdin closes or its parent dies.
 * What it may do, for model files (model.c) only: bind-mount tmpfs copies of files the caller
 * may read and write or owns (stage.c), lock files in RAM within what MemAvailable allows
 * (budget.c), read whole-file residency of readable files at a modest rate; and change two
 * inotify sysctls within bounds (sysctl.c).
 * Built as hearth-helper-admin (HEARTH_ADMIN) it does exactly one request given in argv and
 * exits: staging a file of another user, under its own polkit action that asks every time. */
#define _GNU_SOURCE
#include "helper.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct helper_config cfg;
uid_t caller_uid;
gid_t caller_gid;
static gid_t caller_groups[64];
static int caller_ngroups;
static volatile sig_atomic_t got_term;

/* ---------- replies ---------- */

/* How long a reply may wait for the client to read. A stage holds the journal lock that every
 * helper on this machine shares, so a client that stops reading (hung, stopped, or flooding us
 * with requests it never reads the answers to) must not hold it for ever: it counts as gone. */
#define STALLED_CLIENT_MS 30000 /* cfg.stalled_client_ms; test builds may shorten it */

/* Time this request has spent waiting for the client to read: the limit is one budget for the
 * whole request, not one per line (a client reading a line every 29 s would hold it for ever). */
static long long waited_ms;
static uint64_t cur_id; /* the request being answered (below); 0 between requests */

static long long now_mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void write_all(const char *buf, size_t len)
{
	if (!cur_id)
		waited_ms = 0; /* between requests no lock is held: each line has the whole limit */
	while (len > 0) {
		/* Wait for room first, then write no more than PIPE_BUF: on a pipe that write cannot
		 * block once poll said there is room. */
		struct pollfd p = { .fd = 1, .events = POLLOUT };
		long long left = cfg.stalled_client_ms - waited_ms, t0 = now_mono_ms();
		int ready = left > 0 ? poll(&p, 1, (int)left) : 0;
		waited_ms += now_mono_ms() - t0;
		if (ready < 0 && errno == EINTR && !got_term)
			continue;
		if (ready == 0)
			fprintf(stderr, "hearth-helper: the client read too slowly (%d s of waiting for one request); exiting as if it had gone\n",
				cfg.stalled_client_ms / 1000);
		if (ready <= 0 || (p.revents & (POLLERR | POLLNVAL)))
			_exit(0); /* the client is gone: nothing left to answer (the journal recovers) */
		ssize_t n = write(1, buf, len < PIPE_BUF ? len : PIPE_BUF);
		if (n < 0 && errno == EINTR && !got_term)
			continue;
		if (n <= 0)
			_exit(0);
		buf += n;
		len -= (size_t)n;
	}
}

/* A request gets exactly one final line (ok or err), held back until its verb has returned and
 * cleaned up, so that a client which sees the reply also sees its effects (or their absence).
 * A second final line for the same request is a bug in a verb: it is dropped, not sent. */
static int cur_final;    /* its final line is held in `deferred` */
static int cur_ok;       /* and that line is ok */
static char deferred[HP_MAX_LINE * 2];
static size_t deferred_len;

static void flush_deferred(void)
{
	if (deferred_len)
		write_all(deferred, deferred_len);
	deferred_len = 0;
}

static void vreply(uint64_t id, const char *head, const char *fmt, va_list ap)
{
	char line[HP_MAX_LINE * 2];
	int n = snprintf(line, sizeof line, "%llu %s", (unsigned long long)id, head);
	if (fmt && *fmt) {
		line[n++] = ' ';
		int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
		n += m < 0 ? 0 : m;
		if ((size_t)n > sizeof line - 2)
			n = (int)sizeof line - 2;
	}
	line[n++] = '\n';
	if (!strcmp(head, "progress")) {
		/* Progress is news, not an answer: dropped when the client has no room for it, so a
		 * slow reader never paces the work (and the lock it may hold). */
		struct pollfd p = { .fd = 1, .events = POLLOUT };
		if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
			return;
	}
	int final = !strcmp(head, "ok") || !strcmp(head, "err");
	if (final && cur_id && id == cur_id) {
		if (cur_final) {
			fprintf(stderr, "hearth-helper: dropped a second final line for request %llu\n", (unsigned long long)id);
			return;
		}
		cur_final = 1;
		cur_ok = head[0] == 'o';
		memcpy(deferred, line, (size_t)n);
		deferred_len = (size_t)n;
		return;
	}
	write_all(line, (size_t)n);
}

void reply_ok(uint64_t id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(id, "ok", fmt, ap);
	va_end(ap);
}

void reply_line(uint64_t id, const char *kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(id, kind, fmt, ap);
	va_end(ap);
}

void reply_err(uint64_t id, const char *code, const char *extra, const char *fmt, ...)
{
	char msg[6000], emsg[3 * 6000 + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	hp_encode(msg, strlen(msg), emsg, sizeof emsg);
	reply_line(id, "err", "%s msg=%s%s%s", code, emsg, extra ? " " : "", extra ? extra : "");
}

const char *enc(const char *s)
{
	static char ring[4][3 * HP_MAX_PATH + 16];
	static int slot;
	char *out = ring[slot++ & 3];
	hp_encode(s, strlen(s), out, sizeof ring[0]);
	return out;
}

void fmt_gib(char *out, size_t n, uint64_t bytes)
{
	snprintf(out, n, "%.1f GiB", (double)bytes / (1024.0 * 1024 * 1024));
}

/* ---------- input ---------- */

static char inbuf[2 * HP_MAX_LINE];
static size_t inlen;
static int in_eof, discarding;
static uint64_t busy_id;
static int busy_cancelled;

static void handle_line(const char *line, size_t len);

static int read_more(void)
{
	if (inlen == sizeof inbuf)
		return 0;
	ssize_t n = read(0, inbuf + inlen, sizeof inbuf - inlen);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : (in_eof = 1, 0);
	if (n == 0)
		in_eof = 1;
	inlen += (size_t)n;
	return (int)n;
}

/* A line that will not be parsed (too long) is still answered under the id it starts with, so
 * the request it was fails instead of hanging; the id of the request in flight is never reused
 * for that (its one final line is its verb's), so such a line is answered with id 0. */
static void refuse_long_line(const char *start, size_t len)
{
	uint64_t id = hp_leading_id(start, len);
	if (id && id == cur_id)
		id = 0;
	reply_err(id, "BAD_INPUT", NULL, "request line is longer than %d bytes; it was ignored", HP_MAX_LINE);
}

/* Hands each complete line to handle_line; an overlong line is answered once and skipped. The
 * line is copied out first because handle_line may read more input (cancel_requested). */
static void drain_lines(void)
{
	for (;;) {
		char *nl = memchr(inbuf, '\n', inlen);
		int tail_of_long_line = discarding;
		if (discarding) {
			if (!nl) {
				inlen = 0;
				return;
			}
			discarding = 0;
		} else if (!nl) {
			if (inlen >= HP_MAX_LINE) {
				refuse_long_line(inbuf, inlen);
				discarding = 1;
				inlen = 0;
			}
			return;
		}
		size_t used = (size_t)(nl - inbuf) + 1;
		char line[HP_MAX_LINE];
		int whole = !tail_of_long_line && used <= HP_MAX_LINE;
		if (whole)
			memcpy(line, inbuf, used);
		else if (!tail_of_long_line)
			refuse_long_line(inbuf, used);
		memmove(inbuf, nl + 1, inlen - used);
		inlen -= used;
		if (whole)
			handle_line(line, used);
	}
}

int cancel_requested(uint64_t id)
{
	busy_id = id;
	struct pollfd p = { .fd = 0, .events = POLLIN };
	while (!in_eof && poll(&p, 1, 0) > 0) {
		if (read_more() <= 0)
			break;
		drain_lines();
	}
	busy_id = 0;
	return busy_cancelled || in_eof || got_term;
}

/* ---------- identity and opening paths ---------- */

static void as_caller(void)
{
	if (setgroups((size_t)caller_ngroups, caller_groups) < 0)
		_exit(70); /* never carry on with root's groups while claiming to be the caller */
	setfsgid(caller_gid);
	setfsuid(caller_uid);
}

static void as_root(void)
{
	setfsuid(0);
	setfsgid(0);
	setgroups(0, NULL);
}

static void set_caller(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);
	caller_uid = uid;
	caller_gid = pw ? pw->pw_gid : 65534;
	caller_ngroups = 0;
	if (pw) {
		int n = 64;
		if (getgrouplist(pw->pw_name, pw->pw_gid, caller_groups, &n) >= 0)
			caller_ngroups = n;
	}
	if (caller_ngroups == 0) {
		caller_groups[0] = caller_gid;
		caller_ngroups = 1;
	}
	endpwent();
}

int open_path_as_caller(uint64_t id, const char *path, struct stat *st)
{
	/* No O_NOFOLLOW: with RESOLVE_NO_SYMLINKS a trailing symlink then fails with ELOOP instead
	 * of yielding an fd for the link itself. */
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	as_caller();
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
	int e = errno;
	as_root();
	if (fd < 0) {
		if (e == ELOOP || e == EXDEV)
			reply_err(id, "BAD_INPUT", NULL, "%s goes through a symbolic link; give the resolved path (realpath)", path);
		else if (e == ENOENT || e == ENOTDIR)
			reply_err(id, "NOT_FOUND", NULL, "%s does not exist", path);
		else if (e == EACCES || e == EPERM)
			reply_err(id, "PERMISSION", NULL, "user %u may not reach %s", (unsigned)caller_uid, path);
		else if (e == ENOSYS)
			reply_err(id, "UNSUPPORTED", NULL, "this kernel lacks openat2 (Linux 5.6+)");
		else
			reply_err(id, "IO", NULL, "cannot open %s: %s", path, strerror(e));
		return -1;
	}
	if (fstat(fd, st) < 0) {
		reply_err(id, "IO", NULL, "cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int reopen_for_read_as_caller(uint64_t id, int opath_fd, const char *path)
{
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", opath_fd);
	as_caller();
	int fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int e = errno;
	as_root();
	if (fd < 0) {
		if (e == EACCES || e == EPERM)
			reply_err(id, "PERMISSION", NULL, "user %u may not read %s", (unsigned)caller_uid, path);
		else
			reply_err(id, "IO", NULL, "cannot open %s for reading: %s", path, strerror(e));
		return -1;
	}
	fcntl(fd, F_SETFL, 0);
	return fd;
}

int caller_may_write(int opath_fd, const struct stat *st)
{
	if (st->st_uid == caller_uid)
		return 1;
	/* faccessat2 with AT_EACCESS checks the fs ids set here (a non-root fsuid also drops root's
	 * file capabilities), on the very inode opened; no open for writing, ever. */
	as_caller();
	int r = (int)syscall(SYS_faccessat2, opath_fd, "", W_OK, AT_EMPTY_PATH | AT_EACCESS);
	as_root();
	return r == 0;
}

int caller_owns(uid_t uid)
{
	return caller_uid == 0 || uid == caller_uid;
}

int check_stageable(uint64_t id, int fd, const struct stat *st, const char *path)
{
	if (!S_ISREG(st->st_mode)) {
		const char *what = S_ISDIR(st->st_mode) ? "a directory" : S_ISFIFO(st->st_mode) ? "a FIFO"
				 : S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ? "a device" : S_ISSOCK(st->st_mode) ? "a socket" : "not a regular file";
		reply_err(id, "BAD_INPUT", NULL, "%s is %s; only regular files can be used", path, what);
		return -1;
	}
	struct statfs sf;
	if (fstatfs(fd, &sf) == 0) {
		static const long pseudo[] = { PROC_SUPER_MAGIC, SYSFS_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC,
					       SECURITYFS_MAGIC, CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC,
					       BPF_FS_MAGIC, EFIVARFS_MAGIC, PSTOREFS_MAGIC, DEVPTS_SUPER_MAGIC,
					       0x62656570 /* configfs */, 0 };
		for (int i = 0; pseudo[i]; i++)
			if ((long)sf.f_type == pseudo[i]) {
				reply_err(id, "BAD_INPUT", NULL, "%s is on a kernel pseudo filesystem; only model files can be used", path);
				return -1;
			}
	}
	if (st->st_mode & (S_ISUID | S_ISGID)) {
		reply_err(id, "BAD_INPUT", NULL, "%s is setuid or setgid; the helper leaves such files alone", path);
		return -1;
	}
	if (st->st_size <= 0) {
		reply_err(id, "BAD_INPUT", NULL, "%s is empty; nothing to do", path);
		return -1;
	}
	return 0;
}

/* ---------- locks: mlock'd read-only mappings that die with this process ---------- */

struct lock {
	dev_t dev;
	ino_t ino;
	void *addr;
	size_t len;
	char path[HP_MAX_PATH + 1];
};
#define MAX_LOCKS 64
static struct lock locks[MAX_LOCKS];
static int nlocks;
static uint64_t locked_bytes;

uint64_t locks_ram_bytes(void)
{
	return locked_bytes;
}

static void verb_lock(const struct hp_request *r)
{
	const char *path = hp_str(r, "path");
	uint64_t permille = hp_num(r, "limit-permille", 500);
	uint64_t reserve = hp_num(r, "reserve", DEFAULT_RESERVE_BYTES);
	struct stat st;
	int fd = -1, ofd = open_path_as_caller(r->id, path, &st);
	char what[HP_MAX_PATH + 16];
	if (ofd < 0)
		return;
	if (check_stageable(r->id, ofd, &st, path) < 0)
		goto out;
	for (int i = 0; i < nlocks; i++)
		if (locks[i].dev == st.st_dev && locks[i].ino == st.st_ino) {
			reply_ok(r->id, "bytes=%llu already=1", (unsigned long long)locks[i].len);
			goto out;
		}
	if ((fd = reopen_for_read_as_caller(r->id, ofd, path)) < 0 || check_model_file(r->id, fd, (uint64_t)st.st_size, path) < 0)
		goto out;
	/* The client's own cap (a share of RAM) first, then what RAM can really spare. */
	uint64_t limit = mem_total_bytes() / 1000 * permille;
	if (nlocks == MAX_LOCKS || locked_bytes + (uint64_t)st.st_size > limit) {
		char need[32], have[32];
		fmt_gib(need, sizeof need, (uint64_t)st.st_size);
		fmt_gib(have, sizeof have, limit > locked_bytes ? limit - locked_bytes : 0);
		if (nlocks == MAX_LOCKS)
			reply_err(r->id, "TOO_LARGE", NULL, "the helper holds %d locks already, the most it keeps; unlock some first", MAX_LOCKS);
		else
			reply_err(r->id, "TOO_LARGE", NULL, "locking %s needs %s, %s left under the lock limit (%llu%% of RAM)",
				  path, need, have, (unsigned long long)(permille / 10));
		goto out;
	}
	snprintf(what, sizeof what, "locking %s", path);
	if (ram_budget_check(r->id, what, (uint64_t)st.st_size, reserve) < 0)
		goto out;
	void *addr = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED) {
		reply_err(r->id, "IO", NULL, "cannot map %s: %s", path, strerror(errno));
		goto out;
	}
	if (mlock(addr, (size_t)st.st_size) < 0) {
		int e = errno;
		munmap(addr, (size_t)st.st_size);
		reply_err(r->id, e == ENOMEM || e == EAGAIN ? "TOO_LARGE" : "IO", NULL, "cannot lock %s: %s", path, strerror(e));
		goto out;
	}
	struct lock *l = &locks[nlocks++];
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->addr = addr;
	l->len = (size_t)st.st_size;
	snprintf(l->path, sizeof l->path, "%s", path);
	locked_bytes += l->len;
	reply_ok(r->id, "bytes=%llu locked-bytes=%llu", (unsigned long long)l->len, (unsigned long long)locked_bytes);
out:
	if (fd >= 0)
		close(fd);
	close(ofd);
}

static void unlock_at(int i)
{
	munlock(locks[i].addr, locks[i].len);
	munmap(locks[i].addr, locks[i].len);
	locked_bytes -= locks[i].len;
	locks[i] = locks[--nlocks];
}

static void verb_unlock(const struct hp_request *r)
{
	const char *path = hp_str(r, "path");
	struct stat st;
	int ofd = open_path_as_caller(r->id, path, &st);
	if (ofd < 0)
		return;
	close(ofd);
	for (int i = 0; i < nlocks; i++)
		if (locks[i].dev == st.st_dev && locks[i].ino == st.st_ino) {
			unlock_at(i);
			reply_ok(r->id, "locked-bytes=%llu", (unsigned long long)locked_bytes);
			return;
		}
	reply_err(r->id, "NOT_FOUND", NULL, "%s is not locked by the helper", path);
}

int locks_release_all(void)
{
	int n = nlocks;
	while (nlocks > 0)
		unlock_at(nlocks - 1);
	return n;
}

void locks_status(uint64_t id)
{
	for (int i = 0; i < nlocks; i++)
		reply_line(id, "item", "lock path=%s bytes=%llu", enc(locks[i].path), (unsigned long long)locks[i].len);
}

/* ---------- residency of files the caller can read but cachestat refuses to it ---------- */

struct cachestat_range { uint64_t off, len; };
struct cachestat { uint64_t cache, dirty, writeback, evicted, recently_evicted; };

int cached_pages(int fd, uint64_t off, uint64_t len, uint64_t *pages)
{
	struct cachestat_range range = { off, len };
	struct cachestat cs;
	if (syscall(451, fd, &range, &cs, 0) < 0)
		return -1;
	*pages = cs.cache;
	return 0;
}

static void verb_residency(const struct hp_request *r)
{
	/* A token bucket (10/s, burst 20): enough for a UI poll of a model list, too slow to serve
	 * as a general page-cache side channel; whole files only, and only readable ones. */
	static double tokens = 20;
	static struct timespec last;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (last.tv_sec)
		tokens += ((double)(now.tv_sec - last.tv_sec) + (double)(now.tv_nsec - last.tv_nsec) / 1e9) * 10;
	if (tokens > 20)
		tokens = 20;
	last = now;
	if (tokens < 1) {
		reply_err(r->id, "BUSY", NULL, "residency asked too often (at most 10 files a second); retry shortly");
		return;
	}
	tokens -= 1;
	const char *path = hp_str(r, "path");
	struct stat st;
	int ofd = open_path_as_caller(r->id, path, &st);
	if (ofd < 0)
		return;
	if (check_stageable(r->id, ofd, &st, path) == 0) {
		int fd = reopen_for_read_as_caller(r->id, ofd, path);
		if (fd >= 0 && check_model_file(r->id, fd, (uint64_t)st.st_size, path) < 0) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0) {
			struct cachestat_range range = { 0, 0 };
			struct cachestat cs;
			if (syscall(451, fd, &range, &cs, 0) < 0)
				reply_err(r->id, errno == ENOSYS ? "UNSUPPORTED" : "IO", NULL, "cachestat on %s: %s", path, strerror(errno));
			else
				reply_ok(r->id, "bytes=%llu resident-bytes=%llu dirty-bytes=%llu",
					 (unsigned long long)st.st_size,
					 (unsigned long long)(cs.cache * (uint64_t)sysconf(_SC_PAGESIZE)),
					 (unsigned long long)(cs.dirty * (uint64_t)sysconf(_SC_PAGESIZE)));
		}
		if (fd >= 0)
			close(fd);
	}
	close(ofd);
}

/* ---------- dispatch ---------- */

static void verb_hello(const struct hp_request *r)
{
	const struct hp_field *uid = hp_find(r, "uid");
	if (uid && uid->num != caller_uid) {
		/* Lowering is always safe; anything else would let a user act as another. */
		if (caller_uid != 0) {
			reply_err(r->id, "PERMISSION", NULL, "this helper acts for uid %u and cannot switch to %llu",
				  (unsigned)caller_uid, (unsigned long long)uid->num);
			return;
		}
		set_caller((uid_t)uid->num);
	}
	reply_ok(r->id, "version=%d uid=%u pid=%d base=%s", HELPER_PROTOCOL_VERSION, (unsigned)caller_uid,
		 (int)getpid(), enc(cfg.base));
}

static void verb_off(const struct hp_request *r)
{
	int failed = stage_off(r->id);
	if (failed < 0)
		return; /* another helper holds the journal: answered BUSY, nothing was undone */
	int unlocked = locks_release_all();
	int sysctl_failed = sysctl_revert_all(r->id);
	uint64_t released = pressure_release_all();
	int cgroups = 0;
	failed += cgroup_remove_all(&cgroups);
	stage_cleanup_base();
	reply_ok(r->id, "failed=%d unlocked=%d sysctl-failed=%d pressure-released-bytes=%llu cgroups-removed=%d", failed, unlocked,
		 sysctl_failed, (unsigned long long)released, cgroups);
}

static void verb_cancel(const struct hp_request *r)
{
	reply_err(r->id, "NOT_FOUND", NULL, "no request %llu is running", (unsigned long long)hp_num(r, "target", 0));
}

/* One handler per verb of protocol.h; a new verb adds its line here. */
static void (*const handlers[V_COUNT])(const struct hp_request *) = {
	[V_HELLO] = verb_hello,
	[V_STATUS] = verb_status,
	[V_STAGE] = verb_stage,
	[V_UNSTAGE] = verb_unstage,
	[V_OFF] = verb_off,
	[V_LOCK] = verb_lock,
	[V_UNLOCK] = verb_unlock,
	[V_SYSCTL_GET] = verb_sysctl_get,
	[V_SYSCTL_SET] = verb_sysctl_set,
	[V_SYSCTL_PERSIST] = verb_sysctl_persist,
	[V_RESIDENCY] = verb_residency,
	[V_CANCEL] = verb_cancel,
	[V_PRESSURE] = verb_pressure,
	[V_PRESSURE_RELEASE] = verb_pressure_release,
	[V_PRESSURE_STATUS] = verb_pressure_status,
	[V_CGROUP_CREATE] = verb_cgroup_create,
	[V_CGROUP_REMOVE] = verb_cgroup_remove,
	[V_CGROUP_JOIN] = verb_cgroup_join,
};

/* Runs one parsed request; its one final line goes out after the verb returned (and is made up
 * if a verb forgot it). Returns 1 when the answer was ok. */
static int run_request(const struct hp_request *req)
{
	cur_id = req->id;
	cur_final = cur_ok = 0;
	busy_cancelled = 0;
	waited_ms = 0;
	if (handlers[req->verb])
		handlers[req->verb](req);
	if (!cur_final)
		reply_err(req->id, "INTERNAL", NULL, "the helper gave no answer to %s", hp_verb_name(req->verb));
	flush_deferred();
	cur_id = 0;
	waited_ms = 0;
	return cur_ok;
}

static void handle_line(const char *line, size_t len)
{
	struct hp_request req;
	char err[512];
	int parsed = hp_parse(line, len, &req, err, sizeof err) == 0;
	if (busy_id) {
		/* A line read while a verb runs. Its answer is written at once; one that reuses the
		 * running request's id is answered with id 0, never with a second final line. */
		uint64_t id = req.id == busy_id ? 0 : req.id;
		if (!parsed)
			reply_err(id, "BAD_INPUT", NULL, "%s", err);
		else if (req.verb == V_CANCEL && hp_num(&req, "target", 0) == busy_id) {
			busy_cancelled = 1;
			reply_ok(id, "cancelled=%llu", (unsigned long long)busy_id);
		} else
			reply_err(id, "BUSY", NULL, "the helper is busy with request %llu; wait or cancel it", (unsigned long long)busy_id);
		return;
	}
	if (!parsed) {
		reply_err(req.id, "BAD_INPUT", NULL, "%s", err);
		return;
	}
	run_request(&req);
}

/* The admin helper's one request (argv, so that no other process can change it once pkexec has
 * asked for the password): a stage that may freeze another user's file. Exit 0 when staged. */
static int run_once(const char *line)
{
	struct hp_request req;
	char err[512];
	cfg.allow_foreign = 1;
	if (hp_parse(line, strlen(line), &req, err, sizeof err) < 0) {
		reply_err(req.id, "BAD_INPUT", NULL, "%s", err);
		return 1;
	}
	if (req.verb != V_STAGE) {
		reply_err(req.id, "BAD_INPUT", NULL, "the admin helper only stages files of other users; %s goes to the session helper",
			  hp_verb_name(req.verb));
		return 1;
	}
	stage_reconcile();
	return run_request(&req) ? 0 : 1;
}

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static int parse_uid_env(const char *v, uid_t *out)
{
	char *end;
	if (!v || !*v || strlen(v) > 10)
		return -1;
	unsigned long long n = strtoull(v, &end, 10);
	if (*end || n >= 4294967295ULL)
		return -1;
	*out = (uid_t)n;
	return 0;
}

static void set_paths(const char *base)
{
	snprintf(cfg.base, sizeof cfg.base, "%s", base);
	snprintf(cfg.ram, sizeof cfg.ram, "%s/ram", base);
	snprintf(cfg.journal, sizeof cfg.journal, "%s/journal", base);
	snprintf(cfg.sysctl_saved, sizeof cfg.sysctl_saved, "%s/sysctl", base);
	snprintf(cfg.lock_dir, sizeof cfg.lock_dir, "%s-lock", base);
}

int main(int argc, char **argv)
{
	set_paths("/run/hearth");
	snprintf(cfg.proc_sys, sizeof cfg.proc_sys, "/proc/sys");
	snprintf(cfg.sysctl_d, sizeof cfg.sysctl_d, "/etc/sysctl.d");
	cfg.stalled_client_ms = STALLED_CLIENT_MS;

	/* Who we act for: pkexec and sudo set these themselves and a user cannot forge them
	 * through either; anything else that starts us is root already. */
	uid_t uid = 0;
	const char *once = NULL;
	const char *pk = getenv("PKEXEC_UID"), *su = getenv("SUDO_UID");
	if (pk ? parse_uid_env(pk, &uid) < 0 : su ? parse_uid_env(su, &uid) < 0 : 0) {
		fprintf(stderr, "hearth-helper: PKEXEC_UID/SUDO_UID is not a uid\n");
		return 2;
	}
#ifdef HEARTH_TESTING
	/* Test builds take overrides for their paths; they refuse pkexec and sudo so that a test
	 * binary copied somewhere by mistake still grants nothing a root shell does not have. */
	if (pk || su || geteuid() != 0) {
		fprintf(stderr, "hearth-helper (test build): run only directly as root\n");
		return 2;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--test-base") == 0 && argv[i + 1][0] == '/') set_paths(argv[i + 1]);
		else if (strcmp(argv[i], "--test-proc-sys") == 0) snprintf(cfg.proc_sys, sizeof cfg.proc_sys, "%s", argv[i + 1]);
		else if (strcmp(argv[i], "--test-sysctl-d") == 0) snprintf(cfg.sysctl_d, sizeof cfg.sysctl_d, "%s", argv[i + 1]);
		else if (strcmp(argv[i], "--test-tmpfs-short") == 0) cfg.test_tmpfs_short_bytes = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--test-stall-ms") == 0) cfg.stalled_client_ms = atoi(argv[i + 1]) > 0 ? atoi(argv[i + 1]) : STALLED_CLIENT_MS;
		else if (strcmp(argv[i], "--test-uid") == 0) uid = (uid_t)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--test-once") == 0) once = argv[i + 1]; /* as hearth-helper-admin */
		else {
			fprintf(stderr, "hearth-helper: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (argc % 2 == 0) {
		fprintf(stderr, "hearth-helper: options come in pairs\n");
		return 2;
	}
#elif defined(HEARTH_ADMIN)
	if (argc != 2) {
		fprintf(stderr, "hearth-helper-admin: takes one request: ID stage path=PATH\n");
		return 2;
	}
	once = argv[1];
#else
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "hearth-helper: takes no arguments\n");
		return 2;
	}
#endif
	if (clearenv() != 0)
		return 2;
	if (geteuid() != 0) {
		fprintf(stderr, "hearth-helper: must run as root (through pkexec)\n");
		return 2;
	}
	pid_t parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		return 0;
	prctl(PR_SET_DUMPABLE, 0);
	syscall(SYS_close_range, 3, ~0U, 0);
	umask(022);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	if (chdir("/") != 0)
		return 2;
	set_caller(uid);
	as_root();
	struct stat ns;
	cfg.mntns = stat("/proc/self/ns/mnt", &ns) == 0 ? (uint64_t)ns.st_ino : 0;
	if (once)
		return run_once(once);

	/* A previous helper may have died mid-stage: roll half-made stages back, keep finished ones. */
	stage_reconcile();

	while (!got_term) {
		drain_lines();
		if (in_eof)
			break;
		struct pollfd p = { .fd = 0, .events = POLLIN };
		if (poll(&p, 1, -1) > 0)
			read_more();
	}
	return 0;
}

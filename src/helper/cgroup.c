/* Memory-limited cgroups for the load lab, on cgroup v1 (where only root may make them).
 *
 * Any process of the caller's user can write to the helper's pipes, so nothing here may let a
 * process out from under a memory limit it lives under. The lab's cgroups are therefore made
 * *inside the helper's own memory cgroup* (the one the app that started it runs in), at
 * <own>/hearth/h<pid>-<seq>: a cgroup's usage counts against every ancestor's limit (v1 memory is
 * always hierarchical since Linux 5.11), so whatever the lab's limit says, the app's own limits
 * still hold. Processes go in only through `cgroup-join`, which the helper does itself after
 * checking that the process is the caller's and lives in that very cgroup; cgroup.procs and
 * tasks stay root's, so the caller cannot move anything else in (on v1 the kernel would let a
 * user move any of its processes, from any cgroup, into one whose cgroup.procs it may write).
 * The caller gets memory.limit_in_bytes, to follow the loader's own memory during a run.
 * At most 8 per helper; removed on `cgroup-remove`, on `off`, at exit, and, when a killed
 * helper left some, by the next helper that makes one (empty ones only: the kernel refuses to
 * remove a cgroup that still has processes).
 *
 * On cgroup v2 the desktop's user manager does this job (systemd-run --user --scope -p
 * MemoryMax=…), so the helper answers UNSUPPORTED there. */
#define _GNU_SOURCE
#include "helper.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MEMORY_ROOT "/sys/fs/cgroup/memory"
#define MAX_CGROUPS 8

/* <own memory cgroup>/hearth, found at the first cgroup-create */
static char parent_path[PATH_MAX];

static unsigned live[MAX_CGROUPS]; /* sequence numbers of this helper's cgroups, 0 = free slot */
static unsigned next_seq;
static int exit_hook;

static void name_of(unsigned seq, char *out, size_t n)
{
	snprintf(out, n, "h%d-%u", (int)getpid(), seq);
}

/* Removes cgroups that helpers which no longer run left behind (empty ones only). */
static void sweep_stale(int parent_fd)
{
	DIR *d = fdopendir(dup(parent_fd));
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		int pid;
		unsigned seq;
		char tail;
		if (sscanf(e->d_name, "h%d-%u%c", &pid, &seq, &tail) != 2 || pid <= 0)
			continue;
		if (pid == (int)getpid() || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		unlinkat(parent_fd, e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static int remove_seq(unsigned seq)
{
	char name[64], path[PATH_MAX + 80];
	name_of(seq, name, sizeof name);
	snprintf(path, sizeof path, "%s/%s", parent_path, name);
	if (rmdir(path) < 0 && errno != ENOENT)
		return -1;
	for (int i = 0; i < MAX_CGROUPS; i++)
		if (live[i] == seq)
			live[i] = 0;
	return 0;
}

int cgroup_remove_all(int *removed)
{
	int failed = 0, done = 0;
	for (int i = 0; i < MAX_CGROUPS; i++) {
		if (!live[i])
			continue;
		if (remove_seq(live[i]) < 0)
			failed++;
		else
			done++;
	}
	if (removed)
		*removed = done;
	if (parent_path[0])
		rmdir(parent_path); /* the hearth/ folder too, once no helper has a cgroup in it */
	return failed;
}

static void remove_at_exit(void)
{
	cgroup_remove_all(NULL);
}

/* The memory cgroup (v1) a process is in, as a path under MEMORY_ROOT ("" for the root). */
static int memory_cgroup_of(pid_t pid, char *out, size_t n)
{
	char p[64], line[PATH_MAX + 64];
	snprintf(p, sizeof p, "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(p, "re");
	int found = 0;
	while (f && !found && fgets(line, sizeof line, f)) {
		char *ctl = strchr(line, ':'), *path = ctl ? strchr(ctl + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = 0;
		path[strcspn(path, "\n")] = 0;
		for (char *c = strtok(ctl + 1, ","); c && !found; c = strtok(NULL, ","))
			found = !strcmp(c, "memory");
		if (found)
			snprintf(out, n, "%s", strcmp(path, "/") ? path : "");
	}
	if (f)
		fclose(f);
	return found ? 0 : -1;
}

static int write_at(int dirfd, const char *file, const char *text)
{
	int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* cgroup-create limit=BYTES: a v1 memory cgroup the caller may move its own processes into. */
void verb_cgroup_create(const struct hp_request *r)
{
	struct statfs sf;
	if (statfs(MEMORY_ROOT, &sf) < 0 || (long)sf.f_type != CGROUP_SUPER_MAGIC) {
		reply_err(r->id, "UNSUPPORTED", NULL,
			  "this system has no cgroup v1 memory hierarchy (it runs cgroup v2): limit a loader with `systemd-run --user --scope -p MemoryMax=…` instead");
		return;
	}
	int slot = -1;
	for (int i = 0; i < MAX_CGROUPS && slot < 0; i++)
		if (!live[i])
			slot = i;
	if (slot < 0) {
		reply_err(r->id, "TOO_LARGE", NULL, "this helper already holds %d memory cgroups; remove one first", MAX_CGROUPS);
		return;
	}
	if (!parent_path[0]) {
		char own[PATH_MAX];
		if (memory_cgroup_of(getpid(), own, sizeof own) < 0) {
			reply_err(r->id, "UNSUPPORTED", NULL, "this helper's memory cgroup is not in /proc/self/cgroup");
			return;
		}
		/* Before Linux 5.11 a v1 hierarchy could be flat (use_hierarchy=0): a child's usage would
		 * then not count against the app's cgroup, and the lab's limit could exceed it. */
		char flag[PATH_MAX + 64], v = '1';
		snprintf(flag, sizeof flag, "%s%s/memory.use_hierarchy", MEMORY_ROOT, own);
		FILE *f = fopen(flag, "re");
		if (f) {
			if (fread(&v, 1, 1, f) != 1)
				v = '0';
			fclose(f);
		}
		if (v != '1') {
			reply_err(r->id, "UNSUPPORTED", NULL,
				  "%s is not 1: a lab cgroup there would not count against this session's limits; use --limit-by pressure", flag);
			return;
		}
		snprintf(parent_path, sizeof parent_path, "%s%s/hearth", MEMORY_ROOT, own);
	}
	if (mkdir(parent_path, 0755) < 0 && errno != EEXIST) {
		reply_err(r->id, "IO", NULL, "cannot make %s: %s", parent_path, strerror(errno));
		return;
	}
	int parent = open(parent_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (parent < 0 || fstat(parent, &st) < 0 || st.st_uid != 0) {
		/* Only root can make directories in cgroupfs, but say so rather than trust it. */
		reply_err(r->id, "PERMISSION", NULL, "%s is not root's own directory", parent_path);
		if (parent >= 0)
			close(parent);
		return;
	}
	sweep_stale(parent);
	unsigned seq = ++next_seq;
	char name[64];
	name_of(seq, name, sizeof name);
	if (mkdirat(parent, name, 0755) < 0) {
		reply_err(r->id, "IO", NULL, "cannot make %s/%s: %s", parent_path, name, strerror(errno));
		close(parent);
		return;
	}
	live[slot] = seq;
	if (!exit_hook)
		exit_hook = atexit(remove_at_exit) == 0;
	int cg = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	close(parent);
	char limit[32];
	snprintf(limit, sizeof limit, "%llu", (unsigned long long)hp_num(r, "limit", 0));
	int ok = cg >= 0 && write_at(cg, "memory.limit_in_bytes", limit) == 0 &&
		 fchownat(cg, "memory.limit_in_bytes", caller_uid, caller_gid, AT_SYMLINK_NOFOLLOW) == 0;
	int e = errno;
	if (cg >= 0)
		close(cg);
	if (!ok) {
		remove_seq(seq);
		reply_err(r->id, "IO", NULL, "cannot set up %s/%s: %s", parent_path, name, strerror(e));
		return;
	}
	reply_ok(r->id, "id=%u path=%s/%s limit-bytes=%s", seq, enc(parent_path), enc(name), limit);
}

/* Whether cgroup `seq` is one of this helper's; answers NOT_FOUND when it is not. */
static int made_here(const struct hp_request *r, unsigned seq)
{
	for (int i = 0; i < MAX_CGROUPS; i++)
		if (seq != 0 && live[i] == seq)
			return 1;
	reply_err(r->id, "NOT_FOUND", NULL, "cgroup %u was not made by this helper", seq);
	return 0;
}

/* cgroup-remove id=N: removes one of this helper's cgroups once no process is left in it. */
void verb_cgroup_remove(const struct hp_request *r)
{
	unsigned seq = (unsigned)hp_num(r, "id", 0);
	if (!made_here(r, seq))
		return;
	if (remove_seq(seq) < 0) {
		reply_err(r->id, errno == EBUSY ? "BUSY" : "IO", NULL, "cannot remove cgroup %u: %s", seq,
			  errno == EBUSY ? "processes still run in it" : strerror(errno));
		return;
	}
	reply_ok(r->id, "id=%u", seq);
}

/* Whose a process is: 0 when its real, effective, saved and filesystem uids are all `uid`. */
static int all_uids_are(pid_t pid, uid_t uid)
{
	char p[64], line[256];
	snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
	FILE *f = fopen(p, "re");
	unsigned a, b, c, d;
	int ok = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Uid: %u %u %u %u", &a, &b, &c, &d) == 4) {
			ok = a == uid && b == uid && c == uid && d == uid;
			break;
		}
	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

/* cgroup-join id=N pid=P: moves the caller's process P, which must live in this helper's own
 * memory cgroup, into cgroup N. A pidfd pins P for the checks: if P ended meanwhile (and its
 * number could name another process), nothing is moved. */
void verb_cgroup_join(const struct hp_request *r)
{
	unsigned seq = (unsigned)hp_num(r, "id", 0);
	pid_t pid = (pid_t)hp_num(r, "pid", 0);
	if (!made_here(r, seq))
		return;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		reply_err(r->id, "NOT_FOUND", NULL, "no process %d", (int)pid);
		return;
	}
	char own[PATH_MAX], theirs[PATH_MAX];
	const char *why = NULL;
	if (pid == getpid() || all_uids_are(pid, caller_uid) < 0)
		why = "is not the caller's own process";
	else if (memory_cgroup_of(getpid(), own, sizeof own) < 0 || memory_cgroup_of(pid, theirs, sizeof theirs) < 0)
		why = "has no memory cgroup to compare";
	else if (strcmp(own, theirs))
		why = "lives in another memory cgroup than the app that started the helper (moving it would lift that cgroup's limit)";
	/* still the process we checked? (its number cannot be reused while it lives) */
	if (!why && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		why = "ended";
	if (why) {
		close(pidfd);
		reply_err(r->id, "PERMISSION", NULL, "process %d %s", (int)pid, why);
		return;
	}
	char procs[PATH_MAX + 96], num[24];
	snprintf(procs, sizeof procs, "%s/h%d-%u/cgroup.procs", parent_path, (int)getpid(), seq);
	snprintf(num, sizeof num, "%d", (int)pid);
	int fd = open(procs, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	int ok = fd >= 0 && write(fd, num, strlen(num)) == (ssize_t)strlen(num);
	int e = errno;
	if (fd >= 0)
		close(fd);
	int still = syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
	close(pidfd);
	if (!ok) {
		reply_err(r->id, "IO", NULL, "cannot move process %d into cgroup %u: %s", (int)pid, seq, strerror(e));
		return;
	}
	if (!still) {
		reply_err(r->id, "NOT_FOUND", NULL, "process %d ended while it was moved", (int)pid);
		return;
	}
	reply_ok(r->id, "id=%u pid=%d", seq, (int)pid);
}

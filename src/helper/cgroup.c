/* Memory-limited cgroups for the load lab, on cgroup v1 (where only root may make them).
 *
 * Any process of the caller's user can write to the helper's pipes, so the helper never decides
 * which process goes where: it makes a cgroup under its own root-owned parent
 * (/sys/fs/cgroup/memory/hearth), sets its limit, and hands exactly cgroup.procs, tasks and
 * memory.limit_in_bytes to the caller by chown. Moving a process in is then the caller's own
 * write, checked by the kernel: on v1 a user may move only processes whose real or saved uid is
 * its own (the same ones it may already signal), so a hostile caller can squeeze nothing but its
 * own processes. At most 8 per helper; removed on `cgroup-remove`, on `off`, at exit, and, when a
 * killed helper left some, by the next helper that makes one (empty ones only: the kernel
 * refuses to remove a cgroup that still has processes).
 *
 * On cgroup v2 the desktop's user manager does this job (systemd-run --user --scope -p
 * MemoryMax=…), so the helper answers UNSUPPORTED there. */
#define _GNU_SOURCE
#include "helper.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define MEMORY_ROOT "/sys/fs/cgroup/memory"
#define PARENT MEMORY_ROOT "/hearth"
#define MAX_CGROUPS 8

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
	char name[64], path[160];
	name_of(seq, name, sizeof name);
	snprintf(path, sizeof path, "%s/%s", PARENT, name);
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
	return failed;
}

static void remove_at_exit(void)
{
	cgroup_remove_all(NULL);
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
	if (mkdir(PARENT, 0755) < 0 && errno != EEXIST) {
		reply_err(r->id, "IO", NULL, "cannot make %s: %s", PARENT, strerror(errno));
		return;
	}
	int parent = open(PARENT, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (parent < 0 || fstat(parent, &st) < 0 || st.st_uid != 0) {
		/* Only root can make directories in cgroupfs, but say so rather than trust it. */
		reply_err(r->id, "PERMISSION", NULL, "%s is not root's own directory", PARENT);
		if (parent >= 0)
			close(parent);
		return;
	}
	sweep_stale(parent);
	unsigned seq = ++next_seq;
	char name[64];
	name_of(seq, name, sizeof name);
	if (mkdirat(parent, name, 0755) < 0) {
		reply_err(r->id, "IO", NULL, "cannot make %s/%s: %s", PARENT, name, strerror(errno));
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
	static const char *const handed[] = { "cgroup.procs", "tasks", "memory.limit_in_bytes", NULL };
	int ok = cg >= 0 && write_at(cg, "memory.limit_in_bytes", limit) == 0;
	for (int i = 0; ok && handed[i]; i++)
		ok = fchownat(cg, handed[i], caller_uid, caller_gid, AT_SYMLINK_NOFOLLOW) == 0;
	int e = errno;
	if (cg >= 0)
		close(cg);
	if (!ok) {
		remove_seq(seq);
		reply_err(r->id, "IO", NULL, "cannot set up %s/%s: %s", PARENT, name, strerror(e));
		return;
	}
	reply_ok(r->id, "id=%u path=%s/%s limit-bytes=%s", seq, PARENT, enc(name), limit);
}

/* cgroup-remove id=N: removes one of this helper's cgroups once no process is left in it. */
void verb_cgroup_remove(const struct hp_request *r)
{
	unsigned seq = (unsigned)hp_num(r, "id", 0);
	int mine = 0;
	for (int i = 0; i < MAX_CGROUPS; i++)
		mine |= live[i] == seq && seq != 0;
	if (!mine) {
		reply_err(r->id, "NOT_FOUND", NULL, "cgroup %u was not made by this helper", seq);
		return;
	}
	if (remove_seq(seq) < 0) {
		reply_err(r->id, errno == EBUSY ? "BUSY" : "IO", NULL, "cannot remove cgroup %u: %s", seq,
			  errno == EBUSY ? "processes still run in it" : strerror(errno));
		return;
	}
	reply_ok(r->id, "id=%u", seq);
}

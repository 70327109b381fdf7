/* The stage journal, the helpers' lock and what /proc/self/mountinfo says about stages
 * (journal.c), shared by the staging verbs (stage.c). */
#ifndef HEARTH_JOURNAL_H
#define HEARTH_JOURNAL_H
#include "helper.h"
#include <limits.h>

/* One stage. States: copying → verified → mounted (→ unstaging). */
struct rec {
	unsigned seq;
	uid_t uid; /* the caller it was made for: only they (and root) see and undo it */
	uint64_t mntns; /* the mount namespace its bind lives in (0: recorded before this was kept) */
	char state[16];
	char path[HP_MAX_PATH + 1];
	uint64_t dev, ino, bytes, copy_dev, copy_ino, mnt;
};

/* A bind of one copy, as mountinfo shows it now. */
struct bind {
	uint64_t mnt;
	int long_mountpoint; /* longer than PATH_MAX: it cannot be opened by path */
	char mountpoint[PATH_MAX];
};

/* Serialises every helper that shares this base (the app's and a `sudo hearth` CLI's), on a
 * file in a directory only root can enter. Waits up to wait_ms (answering other requests BUSY);
 * 0 when held, -1 when another helper holds it or it cannot be made. */
int journal_lock(uint64_t id, int wait_ms);
void journal_unlock(void);

int rec_write(const struct rec *r);
/* Whether a record's bind lives in this helper's mount namespace (only there can it be seen,
 * kept or undone; a helper in another namespace never rolls it back). */
int rec_here(const struct rec *r);
int rec_read(unsigned seq, struct rec *r);
void rec_remove(unsigned seq);
/* Every record's sequence number, ascending, in a malloc'd array (free it); *n = -1 when the
 * journal cannot be read (then nothing may be concluded), else how many. */
unsigned *rec_list(int *n);

void copy_name(unsigned seq, char *out, size_t n, int with_slash);
/* Makes (or accepts) a root-owned directory none of whose `forbidden` mode bits are set. */
int mkdir_private(const char *p, mode_t forbidden);

/* Answers from /proc/self/mountinfo, read line by line at any length: 1 yes, 0 no, -1 when it
 * could not be read or parsed (callers then keep what they have: a stage is never forgotten
 * because its mount could not be seen). */
int ram_mounted(dev_t *dev);

/* Binds of copies, from one reading of mountinfo (NULL when it could not be read). */
struct mounts;
struct mounts *mounts_read(void);
void mounts_free(struct mounts *s);
int mounts_ram(const struct mounts *s, dev_t *dev);            /* the ram tmpfs: 1 or 0 */
int mounts_find(const struct mounts *s, const struct rec *r, struct bind *b); /* 1 or 0 */
int mounts_copy_bound(const struct mounts *s, unsigned seq, dev_t ram_dev);
#endif

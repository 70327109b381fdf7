/* State and services shared by the helper's verbs. */
#ifndef HEARTH_HELPER_H
#define HEARTH_HELPER_H
#include "protocol.h"
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>

#define HELPER_PROTOCOL_VERSION 1
#define DEFAULT_RESERVE_BYTES (2ULL * 1024 * 1024 * 1024)
/* At most this many files staged at once (all users together): each is a bind mount. */
#define MAX_STAGES 1024

/* Paths are fixed at compile time. Only a HEARTH_TESTING build (never installed, refuses to
 * run under pkexec or sudo) lets its argv point them somewhere else. */
struct helper_config {
	char base[256];       /* /run/hearth: journal, sysctl records, the tmpfs mount point */
	char lock_dir[300];   /* base-lock: root-only directory holding the helpers' lock file; kept */
	char ram[300];        /* base/ram: the tmpfs holding the copies */
	char journal[300];    /* base/journal: one record per stage */
	char sysctl_saved[300]; /* base/sysctl: original values of runtime sysctl changes */
	char proc_sys[256];   /* /proc/sys */
	char sysctl_d[256];   /* /etc/sysctl.d */
	uint64_t test_tmpfs_short_bytes; /* test builds: size the tmpfs this much too small */
	int stalled_client_ms;           /* a reply waits this long for the client to read */
	/* Files the caller neither owns nor may write: staging freezes them for their owner, so only
	 * the one-shot admin helper (its own polkit action, a password every time) may stage them. */
	int allow_foreign;
	/* This helper's mount namespace (the inode of /proc/self/ns/mnt): the base under /run is
	 * shared by every namespace, its mounts are not, so each helper looks after its own. */
	uint64_t mntns;
};
extern struct helper_config cfg;

/* The user on whose behalf paths are opened (PKEXEC_UID, SUDO_UID, or root lowered by hello). */
extern uid_t caller_uid;
extern gid_t caller_gid;

/* Replies. Each writes one whole line with a single write(2). */
void reply_ok(uint64_t id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_err(uint64_t id, const char *code, const char *extra, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void reply_line(uint64_t id, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Percent-encodes s into a static ring buffer slot, for use inside reply formats. */
const char *enc(const char *s);

/* Reads stdin without blocking while long work runs: answers other requests BUSY and returns 1
 * when `cancel target=ID` (or end of input, or SIGTERM) asked to stop request ID. */
int cancel_requested(uint64_t id);

/* Opens path as the caller (fsuid/fsgid/groups), refusing any symlink or magic link on the way.
 * Returns an O_PATH fd and fills st; on failure returns -1 and has replied with an error. */
int open_path_as_caller(uint64_t id, const char *path, struct stat *st);
/* Reopens an O_PATH fd for reading, still as the caller (permission checked again). */
int reopen_for_read_as_caller(uint64_t id, int opath_fd, const char *path);
/* Refuses what is not a regular file on a real filesystem; replies and returns -1. */
int check_stageable(uint64_t id, int fd, const struct stat *st, const char *path);
/* 1 when the caller owns the file or may write it (checked as the caller on the O_PATH fd). */
int caller_may_write(int opath_fd, const struct stat *st);
/* Whether the caller may see and undo a journal entry made for uid (its own; root: all). */
int caller_owns(uid_t uid);

/* Pages of fd's [off, off+len) in the page cache (len 0: to the end); -1 without cachestat. */
int cached_pages(int fd, uint64_t off, uint64_t len, uint64_t *pages);

/* model.c: GGUF or safetensors by content, read from fd; "gguf"/"safetensors", or NULL and why. */
const char *model_kind(int fd, uint64_t size, const char **why);
/* Refuses what model_kind does not accept; replies and returns -1. */
int check_model_file(uint64_t id, int fd, uint64_t size, const char *path);

/* budget.c: the RAM the helper may still pin (see there for the rule). */
struct ram_budget {
	uint64_t mem_total, mem_available;
	uint64_t floor;   /* the least reserve the helper keeps, whatever the client asks */
	uint64_t reserve; /* max(requested, floor) */
	uint64_t staged, locked; /* pinned already by this base's copies and this helper's locks */
	uint64_t room;    /* what one more request may take */
};
uint64_t mem_available_bytes(void);
uint64_t mem_total_bytes(void);
uint64_t reserve_floor_bytes(uint64_t mem_total);
void ram_budget(uint64_t requested_reserve, struct ram_budget *b);
/* 0 when need fits; else replies TOO_LARGE ("WHAT needs …" with the numbers) and returns -1. */
int ram_budget_check(uint64_t id, const char *what, uint64_t need, uint64_t requested_reserve);
void fmt_gib(char *out, size_t n, uint64_t bytes);

/* stage.c */
void stage_reconcile(void);
void verb_status(const struct hp_request *r);
void verb_stage(const struct hp_request *r);
void verb_unstage(const struct hp_request *r);
/* Undoes the caller's stages; returns how many it could not undo, or -1 after replying BUSY. */
int stage_off(uint64_t id);
void stage_cleanup_base(void);
uint64_t stage_ram_bytes(void); /* bytes the RAM disk holds */

/* sysctl.c */
void verb_sysctl_get(const struct hp_request *r);
void verb_sysctl_set(const struct hp_request *r);
void verb_sysctl_persist(const struct hp_request *r);
int sysctl_revert_all(uint64_t id); /* the caller's changes; returns how many failed */
void sysctl_status(uint64_t id);
int sysctl_has_saved(void);

/* pressure.c, cgroup.c (load lab) */
void verb_pressure(const struct hp_request *r);
void verb_pressure_release(const struct hp_request *r);
void verb_pressure_status(const struct hp_request *r);
uint64_t pressure_release_all(void);
void verb_cgroup_create(const struct hp_request *r);
void verb_cgroup_remove(const struct hp_request *r);
void verb_cgroup_join(const struct hp_request *r);
int cgroup_remove_all(int *removed);

/* locks (helper.c) */
int locks_release_all(void);
void locks_status(uint64_t id);
uint64_t locks_ram_bytes(void);
#endif

/* State and services shared by the helper's verbs. */
#ifndef HEARTH_HELPER_H
#define HEARTH_HELPER_H
#include "protocol.h"
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>

#define HELPER_PROTOCOL_VERSION 1
#define DEFAULT_RESERVE_BYTES (2ULL * 1024 * 1024 * 1024)

/* Paths are fixed at compile time. Only a HEARTH_TESTING build (never installed, refuses to
 * run under pkexec or sudo) lets its argv point them somewhere else. */
struct helper_config {
	char base[256];       /* /run/hearth: journal, sysctl records, the tmpfs mount point */
	char ram[300];        /* base/ram: the tmpfs holding the copies */
	char journal[300];    /* base/journal: one record per stage */
	char sysctl_saved[300]; /* base/sysctl: original values of runtime sysctl changes */
	char proc_sys[256];   /* /proc/sys */
	char sysctl_d[256];   /* /etc/sysctl.d */
	uint64_t test_tmpfs_short_bytes; /* test builds: size the tmpfs this much too small */
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

uint64_t mem_available_bytes(void);
uint64_t mem_total_bytes(void);
void fmt_gib(char *out, size_t n, uint64_t bytes);

/* stage.c */
void stage_reconcile(void);
void verb_status(const struct hp_request *r);
void verb_stage(const struct hp_request *r);
void verb_unstage(const struct hp_request *r);
int stage_off(uint64_t id); /* returns the number of stages it could not undo */
void stage_cleanup_base(void);

/* sysctl.c */
void verb_sysctl_get(const struct hp_request *r);
void verb_sysctl_set(const struct hp_request *r);
void verb_sysctl_persist(const struct hp_request *r);
int sysctl_revert_all(uint64_t id);
void sysctl_status(uint64_t id);
int sysctl_has_saved(void);

/* locks (helper.c) */
int locks_release_all(void);
void locks_status(uint64_t id);
#endif

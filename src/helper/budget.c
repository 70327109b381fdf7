/* How much RAM the helper may still pin: the one place that decides it, for every verb that
 * makes RAM unreclaimable (stage copies into tmpfs, lock mlocks; later verbs call it too).
 *
 * A request may take `need` bytes when both hold:
 *   need <= MemAvailable - reserve                  (what the kernel could give without OOM)
 *   staged + locked + need <= MemTotal - reserve    (what this helper pins, all together)
 * reserve = max(the client's reserve, the helper's floor): a client can ask for more headroom,
 * never for less. MemAvailable already leaves out tmpfs pages and mlocked pages, so the first
 * bound counts the copies and locks held by every helper and process; the second keeps this
 * helper's own total in check even where MemAvailable overestimates. */
#define _GNU_SOURCE
#include "helper.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024ULL * 1024)

static uint64_t meminfo_kib(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	uint64_t v = 0;
	size_t klen = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return v;
}
uint64_t mem_available_bytes(void) { return meminfo_kib("MemAvailable") * 1024; }
uint64_t mem_total_bytes(void) { return meminfo_kib("MemTotal") * 1024; }

uint64_t reserve_floor_bytes(uint64_t mem_total)
{
	/* 1/32 of RAM, at least 512 MiB: room for the desktop, the loader and the kernel's own
	 * watermarks when everything else is pinned. */
	uint64_t f = mem_total / 32;
	return f > 512 * MiB ? f : 512 * MiB;
}

void ram_budget(uint64_t requested_reserve, struct ram_budget *b)
{
	memset(b, 0, sizeof *b);
	b->mem_total = mem_total_bytes();
	b->mem_available = mem_available_bytes();
	b->floor = reserve_floor_bytes(b->mem_total);
	b->reserve = requested_reserve > b->floor ? requested_reserve : b->floor;
	b->staged = stage_ram_bytes();
	b->locked = locks_ram_bytes();
	uint64_t by_avail = b->mem_available > b->reserve ? b->mem_available - b->reserve : 0;
	uint64_t held = b->staged + b->locked;
	uint64_t by_total = b->mem_total > b->reserve + held ? b->mem_total - b->reserve - held : 0;
	b->room = by_avail < by_total ? by_avail : by_total;
}

int ram_budget_check(uint64_t id, const char *what, uint64_t need, uint64_t requested_reserve)
{
	struct ram_budget b;
	ram_budget(requested_reserve, &b);
	if (need <= b.room)
		return 0;
	char n[32], room[32], res[32], avail[32], held[32], floor[32];
	fmt_gib(n, sizeof n, need);
	fmt_gib(room, sizeof room, b.room);
	fmt_gib(res, sizeof res, b.reserve);
	fmt_gib(avail, sizeof avail, b.mem_available);
	fmt_gib(held, sizeof held, b.staged + b.locked);
	fmt_gib(floor, sizeof floor, b.floor);
	char extra[200];
	snprintf(extra, sizeof extra, "need-bytes=%llu room-bytes=%llu reserve-bytes=%llu mem-available-bytes=%llu",
		 (unsigned long long)need, (unsigned long long)b.room, (unsigned long long)b.reserve,
		 (unsigned long long)b.mem_available);
	reply_err(id, "TOO_LARGE", extra,
		  "%s needs %s, %s available after the %s reserve (MemAvailable %s; staged copies and locks hold %s; "
		  "the helper always keeps at least %s free); free RAM, unstage or unlock something",
		  what, n, room, res, avail, held, floor);
	return -1;
}

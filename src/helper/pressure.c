/* Memory pressure, the way researchers make it by hand: anonymous memory locked in RAM, so that
 * the page cache (a model's mmap'd pages among it) must make do with what is left.
 *
 * Any process of the caller's user can write to the helper's pipes, so this verb is built for a
 * hostile caller: it only ever takes memory down to a reserve that is the helper's own floor
 * (2 GiB, and never below 5% of MemTotal); a request may raise the reserve, never lower it.
 * The memory is held by a forked child: release is one kill(2), and the kernel frees it all when
 * the helper dies for any reason (the child dies with it through PR_SET_PDEATHSIG). While it
 * holds, the child watches MemAvailable and gives chunks back whenever it falls under the reserve
 * (something else needed the memory), so the floor holds even against later demand. */
#define _GNU_SOURCE
#include "helper.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024ULL * 1024)
#define GiB (1024ULL * MiB)
#define MAX_CHUNKS 4096
#define WATCH_MS 200

static pid_t holder = -1;  /* the child holding the memory, -1 when none */
static int holder_fd = -1; /* its report pipe (read end) */
static uint64_t held_bytes, shed_bytes, leave_bytes, reserve_bytes;

/* The reserve no request can lower: 2 GiB, never below 5% of MemTotal, nor under the floor every
 * verb that pins RAM keeps (budget.c). Dummy memory exists to squeeze, so it keeps more. */
static uint64_t floor_bytes(void)
{
	uint64_t total = mem_total_bytes();
	uint64_t f = total / 20 > 2 * GiB ? total / 20 : 2 * GiB;
	return f > reserve_floor_bytes(total) ? f : reserve_floor_bytes(total);
}

/* ---------- the child ---------- */

static void report(int fd, const char *what, uint64_t bytes)
{
	char line[64];
	int n = snprintf(line, sizeof line, "%s %llu\n", what, (unsigned long long)bytes);
	/* Non-blocking: a parent that stopped reading must never stall the watchdog. */
	if (write(fd, line, (size_t)n) < 0) {
		/* nothing to do: the parent reads the total again on its next line */
	}
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* Locks chunks until MemAvailable would fall under `target`, then watches it and sheds chunks
 * while it stays under `reserve`. Never returns: it is killed to release. */
static void hold(int fd, uint64_t target, uint64_t reserve)
{
	static struct { void *addr; size_t len; } chunks[MAX_CHUNKS];
	int n = 0;
	uint64_t held = 0;
	uint64_t step = mem_total_bytes() / MAX_CHUNKS;
	if (step < 64 * MiB)
		step = 64 * MiB;
	for (;;) {
		uint64_t avail = mem_available_bytes();
		if (avail <= target + 4 * MiB || n == MAX_CHUNKS)
			break;
		uint64_t len = avail - target < step ? avail - target : step;
		len &= ~(4096ULL - 1);
		void *p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		/* mlock faults every page in and keeps it there (the helper's RLIMIT_MEMLOCK is unlimited). */
		if (mlock(p, (size_t)len) < 0) {
			munmap(p, (size_t)len);
			break;
		}
		chunks[n].addr = p;
		chunks[n++].len = (size_t)len;
		held += len;
		report(fd, "held", held);
	}
	report(fd, "done", held);
	for (;;) {
		sleep_ms(WATCH_MS);
		uint64_t shed = 0;
		while (n > 0 && mem_available_bytes() < reserve) {
			n--;
			munmap(chunks[n].addr, chunks[n].len);
			held -= chunks[n].len;
			shed += chunks[n].len;
		}
		if (shed)
			report(fd, "shed", held);
	}
}

/* ---------- the helper's side ---------- */

/* Reads whatever the child reported; returns 1 once it said "done". */
static int drain_reports(void)
{
	char buf[4096];
	int done = 0;
	for (;;) {
		ssize_t r = read(holder_fd, buf, sizeof buf - 1);
		if (r <= 0)
			return done;
		buf[r] = 0;
		for (char *line = buf; line && *line; ) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			unsigned long long v = 0;
			char what[8];
			if (sscanf(line, "%7s %llu", what, &v) == 2) {
				if (!strcmp(what, "shed"))
					shed_bytes += held_bytes > v ? held_bytes - v : 0;
				if (!strcmp(what, "done"))
					done = 1;
				held_bytes = v;
			}
			line = nl ? nl + 1 : NULL;
		}
	}
}

/* Whether the holder still runs (the kernel may have OOM-killed it); reaps it when not. */
static int holder_alive(void)
{
	if (holder < 0)
		return 0;
	if (waitpid(holder, NULL, WNOHANG) == 0)
		return 1;
	close(holder_fd);
	holder = -1;
	holder_fd = -1;
	held_bytes = 0;
	return 0;
}

uint64_t pressure_release_all(void)
{
	if (holder < 0)
		return 0;
	drain_reports();
	uint64_t was = held_bytes;
	kill(holder, SIGKILL);
	while (waitpid(holder, NULL, 0) < 0 && errno == EINTR)
		;
	close(holder_fd);
	holder = -1;
	holder_fd = -1;
	held_bytes = 0;
	return was;
}

static void reply_state(uint64_t id, const char *extra)
{
	reply_ok(id, "held-bytes=%llu leave-bytes=%llu reserve-bytes=%llu floor-bytes=%llu shed-bytes=%llu mem-available-bytes=%llu%s",
		 (unsigned long long)held_bytes, (unsigned long long)leave_bytes, (unsigned long long)reserve_bytes,
		 (unsigned long long)floor_bytes(), (unsigned long long)shed_bytes, (unsigned long long)mem_available_bytes(),
		 extra);
}

/* pressure leave=BYTES [reserve=BYTES]: holds memory until MemAvailable is about `leave`, never
 * under the reserve. A new request replaces the previous hold. */
void verb_pressure(const struct hp_request *r)
{
	uint64_t floor = floor_bytes();
	uint64_t reserve = hp_num(r, "reserve", 0);
	if (reserve < floor)
		reserve = floor;
	uint64_t target = hp_num(r, "leave", 0);
	if (target < reserve)
		target = reserve;
	pressure_release_all();
	shed_bytes = 0;
	leave_bytes = target;
	reserve_bytes = reserve;
	if (mem_available_bytes() <= target + 4 * MiB) {
		char have[32], keep[32];
		fmt_gib(have, sizeof have, mem_available_bytes());
		fmt_gib(keep, sizeof keep, target);
		reply_err(r->id, "TOO_LARGE", NULL, "only %s is available and %s must stay free; nothing to hold", have, keep);
		return;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		reply_err(r->id, "INTERNAL", NULL, "pipe: %s", strerror(errno));
		return;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		reply_err(r->id, "INTERNAL", NULL, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		/* Only the report pipe stays open: the child must not hold the client's pipes. */
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		fcntl(p[1], F_SETFL, O_NONBLOCK);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		hold(p[1], target, reserve);
		_exit(0);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	holder = pid;
	holder_fd = p[0];
	held_bytes = 0;
	uint64_t goal = mem_available_bytes() - target;
	for (;;) {
		struct pollfd pf = { .fd = holder_fd, .events = POLLIN };
		poll(&pf, 1, 100);
		int done = drain_reports();
		if (!holder_alive()) {
			reply_err(r->id, "INTERNAL", NULL, "the process holding the memory ended early (killed by the kernel?)");
			return;
		}
		if (done)
			break;
		reply_line(r->id, "progress", "done=%llu total=%llu", (unsigned long long)held_bytes, (unsigned long long)goal);
		if (cancel_requested(r->id)) {
			pressure_release_all();
			reply_err(r->id, "CANCELLED", NULL, "cancelled; nothing is held");
			return;
		}
	}
	reply_state(r->id, "");
}

void verb_pressure_release(const struct hp_request *r)
{
	uint64_t released = pressure_release_all();
	char extra[48];
	snprintf(extra, sizeof extra, " released-bytes=%llu", (unsigned long long)released);
	reply_state(r->id, extra);
}

void verb_pressure_status(const struct hp_request *r)
{
	if (holder_alive())
		drain_reports();
	reply_state(r->id, "");
}

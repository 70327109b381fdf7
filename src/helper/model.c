/* Model files only: stage, lock and residency accept a regular file whose content is a GGUF or a
 * safetensors file, read from the fd the verb works on (never by path again, so nothing can be
 * swapped in between). The check is on content alone, not on "a model folder the user set":
 * such a list would come from the client, which any process of the user can impersonate, so it
 * could not widen what the helper does safely; content can be checked here, in the helper.
 *
 *   GGUF:        "GGUF", then a uint32 version from 1 to 3 (little- or big-endian files)
 *   safetensors: a uint64 little-endian header length N, 2 <= N <= 100,000,000 (the format's own
 *                limit), 8 + N <= the file's size, and the header is a JSON object: it opens
 *                with '{' and its last byte that is not padding (spaces) is '}'.
 *
 * No shared library, executable, script or text file passes: ELF starts "\x7fELF", a script
 * "#!", and text read as a safetensors length gives a header far past the file's end. */
#define _GNU_SOURCE
#include "helper.h"
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define SAFETENSORS_MAX_HEADER 100000000ULL
#define PAGE 4096ULL

/* Reads without leaving a trace in the page cache: no readahead, and the pages read are dropped
 * again when none of them was cached before (residency must not see the helper's own look). */
static int peek(int fd, void *buf, size_t len, uint64_t off)
{
	uint64_t first = off / PAGE * PAGE, span = (off + len + PAGE - 1) / PAGE * PAGE - first, before = 1;
	int known = cached_pages(fd, first, span, &before) == 0;
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	ssize_t n = pread(fd, buf, len, (off_t)off);
	if (known && before == 0)
		posix_fadvise(fd, (off_t)first, (off_t)span, POSIX_FADV_DONTNEED);
	posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL);
	return n == (ssize_t)len ? 0 : -1;
}

static uint32_t le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint32_t be32(const unsigned char *p) { return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24; }

const char *model_kind(int fd, uint64_t size, const char **why)
{
	unsigned char head[9];
	*why = NULL;
	if (size < sizeof head || peek(fd, head, sizeof head, 0) < 0) {
		*why = "is too short to be a GGUF or safetensors file";
		return NULL;
	}
	if (memcmp(head, "GGUF", 4) == 0) {
		uint32_t le = le32(head + 4), be = be32(head + 4);
		if ((le >= 1 && le <= 3) || (be >= 1 && be <= 3))
			return "gguf";
		*why = "starts like a GGUF file but has no GGUF version from 1 to 3";
		return NULL;
	}
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | head[i];
	if (n < 2 || n > SAFETENSORS_MAX_HEADER || n > size - 8 || head[8] != '{') {
		*why = "is neither a GGUF file (no GGUF magic) nor a safetensors file (no 8-byte header length followed by a JSON object)";
		return NULL;
	}
	/* The header's end: '}' followed only by the spaces the format allows as padding. */
	unsigned char tail[4096];
	for (uint64_t end = 8 + n; end > 9;) {
		size_t take = end - 9 < sizeof tail ? (size_t)(end - 9) : sizeof tail;
		if (peek(fd, tail, take, end - take) < 0)
			break;
		for (size_t i = take; i > 0; i--) {
			if (tail[i - 1] == '}')
				return "safetensors";
			if (tail[i - 1] != ' ')
				goto bad;
		}
		end -= take;
	}
bad:
	*why = "starts like a safetensors file but its header is not a JSON object";
	return NULL;
}

int check_model_file(uint64_t id, int fd, uint64_t size, const char *path)
{
	const char *why;
	if (model_kind(fd, size, &why))
		return 0;
	reply_err(id, "BAD_INPUT", NULL, "%s %s; the helper works on model files only", path, why);
	return -1;
}

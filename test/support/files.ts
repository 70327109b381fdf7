// Real files in known page-cache states for tests, and fincore as the referee.
import { closeSync, fsyncSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FADV, fadvise } from '../../src/main/sys/fadvise'

const MiB = 1 << 20

/**
 * How much of a file the kernel may drop moments after a complete read, with no one asking:
 * this VM does (FACTS.md, "This VM"), and CI saw 2 MiB of a 96 MiB file go right after a warm
 * that read all of it. A file counts as wholly resident when no more than this is missing;
 * anything a reader skipped (a chunk, a range, half the file) is far more.
 */
export const droppedAfterReadSlackBytes = 4 * MiB

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A file of real (random) data, written back (dirty pages cannot be dropped) and evicted from the cache. */
export function makeDataFile(path: string, mib: number): string {
  execFileSync('dd', ['if=/dev/urandom', `of=${path}`, 'bs=1M', `count=${mib}`, 'conv=fsync', 'status=none'])
  evict(path)
  return path
}

/** Writes sizeBytes of non-zero data, flushes it, and leaves none of it cached. */
export function writeColdFile(path: string, sizeBytes: number): void {
  const fd = openSync(path, 'w')
  try {
    const chunk = Buffer.alloc(8 * MiB)
    for (let i = 0; i < chunk.length; i += 8) chunk.writeUInt32LE((i * 2654435761) >>> 0, i)
    for (let off = 0; off < sizeBytes; off += chunk.length) {
      writeSync(fd, chunk, 0, Math.min(chunk.length, sizeBytes - off), off)
    }
    fsyncSync(fd) // dirty pages survive DONTNEED; clean ones do not
  } finally {
    closeSync(fd)
  }
  evict(path)
}

/** Drops this one file's pages from the page cache (never the whole cache). */
export function evict(path: string): void {
  evictRange(path, 0, 0)
}

/** Drops [offBytes, offBytes + lenBytes) of a file from the cache; lenBytes 0 means to the end. */
export function evictRange(path: string, offBytes: number, lenBytes: number): void {
  const fd = openSync(path, 'r')
  try {
    fadvise(fd, offBytes, lenBytes, FADV.DONTNEED)
  } finally {
    closeSync(fd)
  }
}

/** Reads [offBytes, offBytes + lenBytes) so the kernel caches it, and nothing more. */
export function readRange(path: string, offBytes: number, lenBytes: number): void {
  const fd = openSync(path, 'r')
  try {
    // No readahead: its asynchronous tail would still be in flight when we compare, and
    // cachestat counts in-flight pages while mincore (fincore) does not.
    fadvise(fd, 0, 0, FADV.RANDOM)
    const buf = Buffer.allocUnsafe(Math.min(lenBytes, 4 * MiB))
    for (let off = offBytes; off < offBytes + lenBytes; off += buf.length) {
      readSync(fd, buf, 0, Math.min(buf.length, offBytes + lenBytes - off), off)
    }
  } finally {
    closeSync(fd)
  }
}

/** util-linux fincore's resident bytes (whole pages). */
export function fincoreBytes(path: string): number {
  const out = execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' })
  return Number(out.trim())
}

/**
 * vmtouch over part of a file (`-p START-END`, END exclusive): the pages that range spans and how
 * many are resident, as the peer tool counts them. fincore has no range option; vmtouch does.
 */
export function vmtouchRange(path: string, start: number, end: number): { pages: number; residentPages: number } {
  const out = execFileSync('vmtouch', ['-p', `${start}-${end}`, path], { encoding: 'utf8' })
  const m = /Resident Pages:\s+(\d+)\/(\d+)/.exec(out)
  if (!m) throw new Error(`vmtouch printed no "Resident Pages" line for ${path}:\n${out}`)
  return { residentPages: Number(m[1]), pages: Number(m[2]) }
}

/**
 * Runs `prepare` (reads that set the scene), then `measure` between two fincore readings, again
 * until both readings agree (up to 5 times): reads still in flight (which cachestat counts and
 * mincore does not) or other processes evicting pages would otherwise make a fair comparison fail.
 */
export async function besideFincore<T>(
  path: string,
  measure: () => T | Promise<T>,
  prepare: () => void = () => {},
): Promise<{ ours: T; fincore: number }> {
  for (let attempt = 1; ; attempt++) {
    prepare()
    const before = fincoreBytes(path)
    const ours = await measure()
    const after = fincoreBytes(path)
    if (before === after || attempt === 5) return { ours, fincore: after }
  }
}

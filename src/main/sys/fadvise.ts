// posix_fadvise(2): hints to the page cache about a file range. posix_fadvise returns the error
// number itself (it does not set errno).
import { libc, errnoName } from './libc'

export const FADV = {
  NORMAL: 0,
  RANDOM: 1,
  SEQUENTIAL: 2,
  WILLNEED: 3,
  DONTNEED: 4,
  NOREUSE: 5,
} as const
export type Fadvice = (typeof FADV)[keyof typeof FADV]

let fn: ((fd: number, offset: number, len: number, advice: number) => number) | null = null

/** Advice for [offsetBytes, offsetBytes+lenBytes) of fd; lenBytes 0 means to the end of the file. Throws on failure. */
export function fadvise(fd: number, offsetBytes: number, lenBytes: number, advice: Fadvice): void {
  if (!fn) fn = libc().func('int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)')
  const rc = fn(fd, offsetBytes, lenBytes, advice)
  if (rc !== 0) throw Object.assign(new Error(`posix_fadvise: ${errnoName(rc)}`), { errno: rc, code: errnoName(rc) })
}

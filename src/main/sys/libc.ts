// The one place that loads libc through koffi. Bindings for individual syscalls live beside this
// file (cachestat.ts, mincore.ts, fadvise.ts …) and import `libc` from here.
import koffi from 'koffi'
import type { LibraryHandle } from 'koffi'

export { koffi }

let loaded: LibraryHandle | null = null

/** libc, loaded once on first use (so code that never calls into it pays nothing). */
export function libc(): LibraryHandle {
  if (!loaded) loaded = koffi.load('libc.so.6')
  return loaded
}

/** errno of the last failed call on this thread (koffi saves it right after each call). */
export function errno(): number {
  return koffi.errno()
}

/** Common errno values (x86_64 and aarch64 agree on these). */
export const E = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EINVAL: 22,
  ENOSPC: 28,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
} as const

const errnoNames = new Map<number, string>(Object.entries(E).map(([k, v]) => [v, k]))
export function errnoName(n: number): string {
  return errnoNames.get(n) ?? `errno ${n}`
}

// mmap/munmap, mlock/munlock and madvise(MADV_POPULATE_READ) on read-only shared file mappings.
// Addresses travel as plain numbers (user-space addresses fit in 47 bits), so no native pointer
// objects or external buffers are created (Electron forbids those). Long calls have async forms
// that run on koffi's worker threads, so a 1 GiB mlock never blocks the event loop.
import { libc, errno, errnoName, E } from './libc'

const PROT_READ = 1
const MAP_SHARED = 1
export const MADV_POPULATE_READ = 22
export const MADV_DONTNEED = 4
export const MLOCK_ONFAULT = 1

type Fn = ((...args: number[]) => number) & { async: (...args: unknown[]) => void }
let fns: { mmap: Fn; munmap: Fn; mlock: Fn; munlock: Fn; madvise: Fn; } | null = null
function f() {
  if (!fns) {
    const l = libc()
    fns = {
      mmap: l.func('intptr_t mmap(intptr_t addr, size_t len, int prot, int flags, int fd, int64_t off)') as Fn,
      munmap: l.func('int munmap(intptr_t addr, size_t len)') as Fn,
      mlock: l.func('int mlock(intptr_t addr, size_t len)') as Fn,
      munlock: l.func('int munlock(intptr_t addr, size_t len)') as Fn,
      madvise: l.func('int madvise(intptr_t addr, size_t len, int advice)') as Fn,
    }
  }
  return fns
}

export class SysError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call}: ${errnoName(errno)}`)
  }
  get code(): string {
    return errnoName(this.errno)
  }
}

/** Maps [0, lenBytes) of fd read-only and shared; returns the address. */
export function mmapRead(fd: number, lenBytes: number): number {
  const addr = f().mmap(0, lenBytes, PROT_READ, MAP_SHARED, fd, 0)
  if (addr === -1) throw new SysError('mmap', errno())
  return addr
}

export function munmap(addr: number, lenBytes: number): void {
  if (f().munmap(addr, lenBytes) !== 0) throw new SysError('munmap', errno())
}

export function munlock(addr: number, lenBytes: number): void {
  if (f().munlock(addr, lenBytes) !== 0) throw new SysError('munlock', errno())
}

/**
 * Runs a long call on a worker thread. errno cannot be read back from that thread, so a failure
 * is reported by the fallback errno guess given by the caller.
 */
function callAsync(fn: Fn, name: string, args: number[], failErrno: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, rc: number) => {
      if (err) reject(err)
      else if (rc !== 0) reject(new SysError(name, failErrno))
      else resolve()
    })
  })
}

/** mlock a range on a worker thread (it faults every page in, reading from disk when cold). ENOMEM: over RLIMIT_MEMLOCK or out of RAM. */
export function mlockAsync(addr: number, lenBytes: number): Promise<void> {
  return callAsync(f().mlock, 'mlock', [addr, lenBytes], E.ENOMEM)
}

/** madvise(MADV_POPULATE_READ) on a worker thread: faults the range in through readahead without copying it anywhere. EFAULT/EIO: the file shrank or the disk failed. */
export function populateReadAsync(addr: number, lenBytes: number): Promise<void> {
  return callAsync(f().madvise, 'madvise(MADV_POPULATE_READ)', [addr, lenBytes, MADV_POPULATE_READ], E.EFAULT)
}

// cachestat(2) (Linux 6.5+): how many pages of a file range sit in the page cache, in one
// syscall that costs microseconds where a mincore walk costs ~100 ms per 6 GiB.
import { E, errno, errnoName, libc } from './libc'

/** The syscall's number per Node `process.arch`; null where Hearth has not checked the table. */
export function cachestatSyscallNumber(arch: string = process.arch): number | null {
  // x86_64's syscall_64.tbl and the asm-generic table (used by arm64) both say 451.
  if (arch === 'x64' || arch === 'arm64') return 451
  return null
}

/** Page counts for the range asked about (struct cachestat). */
export interface CachestatPages {
  cachePages: number
  dirtyPages: number
  writebackPages: number
  evictedPages: number
  recentlyEvictedPages: number
}

export type CachestatFailure =
  /** The caller neither owns nor may write the file: the kernel hides its residency */
  | 'permission'
  /** No cachestat here (kernel < 6.5 or an unknown arch): use mincore */
  | 'unsupported'
  | 'error'

export class CachestatError extends Error {
  constructor(
    readonly failure: CachestatFailure,
    readonly errno: number,
    message: string,
  ) {
    super(message)
    this.name = 'CachestatError'
  }
}

type SyscallFn = (nr: number, fd: number, range: BigUint64Array, out: BigUint64Array, flags: number) => number
let syscallFn: SyscallFn | null = null

function bind(): SyscallFn {
  if (!syscallFn) {
    // A fixed prototype instead of koffi's variadic form: integer arguments travel in the same
    // registers either way on x86_64 and arm64 Linux, and koffi then skips per-call type parsing.
    // The buffers are JS-owned typed arrays (Electron forbids external buffers).
    syscallFn = libc().func(
      'long syscall(long nr, int fd, void *range, _Inout_ void *cstat, unsigned int flags)',
    ) as SyscallFn
  }
  return syscallFn
}

// Reused across calls: the syscall is synchronous, so one set is enough for the whole process.
const rangeWords = new BigUint64Array(2)
const statWords = new BigUint64Array(5)

/**
 * Pages of [offBytes, offBytes + lenBytes) in the page cache; lenBytes 0 means "to the end of the
 * file". fd may be read-only. Throws CachestatError ('permission' for EPERM, 'unsupported' for
 * ENOSYS or an unchecked arch).
 */
export function cachestat(fd: number, offBytes = 0, lenBytes = 0): CachestatPages {
  const nr = cachestatSyscallNumber()
  if (nr === null) {
    throw new CachestatError('unsupported', E.ENOSYS, `cachestat: no syscall number known for ${process.arch}`)
  }
  rangeWords[0] = BigInt(offBytes)
  rangeWords[1] = BigInt(lenBytes)
  const rc = bind()(nr, fd, rangeWords, statWords, 0)
  if (rc !== 0) {
    const n = errno()
    const failure: CachestatFailure = n === E.EPERM ? 'permission' : n === E.ENOSYS ? 'unsupported' : 'error'
    throw new CachestatError(failure, n, `cachestat(fd ${fd}) failed: ${errnoName(n)}`)
  }
  return {
    cachePages: Number(statWords[0]),
    dirtyPages: Number(statWords[1]),
    writebackPages: Number(statWords[2]),
    evictedPages: Number(statWords[3]),
    recentlyEvictedPages: Number(statWords[4]),
  }
}

let pageBytes = 0
/** The kernel's page size (sysconf(_SC_PAGESIZE)); 4096 on x86_64, 4/16/64 KiB on arm64. */
export function pageSizeBytes(): number {
  if (!pageBytes) {
    const sysconf = libc().func('long sysconf(int name)') as (name: number) => number
    const SC_PAGESIZE = 30 // same value on x86_64 and arm64 glibc
    pageBytes = sysconf(SC_PAGESIZE)
  }
  return pageBytes
}

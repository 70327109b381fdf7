// Residency of one file, by cachestat where the kernel has it, else by a mincore walk. Files are
// opened read-only (Hearth never writes a model file) and closed before returning.
import { closeSync, constants as fsConstants, fstatSync, open as openCallback } from 'node:fs'
import { promisify } from 'node:util'
import type { FileResidency, HeatStrip } from '../../../shared/api'
import { HearthError } from '../../../shared/errors'
import { cachestat, CachestatError, pageSizeBytes } from '../../sys/cachestat'
import { hiddenResidencyReason, mincoreHiddenReason, mincoreWalk } from '../../sys/mincore'

export type ResidencyProbe = 'cachestat' | 'mincore'

export const goneReason = 'file is gone'

/** cachestat if this kernel and arch answer it, else mincore. */
export async function detectProbe(): Promise<ResidencyProbe> {
  const fd = await openQuietly(process.execPath)
  try {
    cachestat(fd, 0, 4096)
    return 'cachestat'
  } catch (err) {
    if (err instanceof CachestatError && err.failure === 'unsupported') return 'mincore'
    return 'cachestat' // EPERM or the like: the syscall exists
  } finally {
    closeSync(fd)
  }
}

// A plain fd (not a FileHandle), so everything after the open can be synchronous.
const openFd = promisify(openCallback)

/** Opens read-only; the caller closes the fd. */
export async function openQuietly(path: string): Promise<number> {
  // O_NOATIME keeps a 1 Hz poll from dirtying inodes; only the owner (or root) may ask for it.
  try {
    return await openFd(path, fsConstants.O_RDONLY | fsConstants.O_NOATIME)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err
    return await openFd(path, fsConstants.O_RDONLY)
  }
}

export function unknownFromOpenError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'ENOTDIR') return goneReason
  if (code === 'EACCES' || code === 'EPERM') return 'you may not read this file (permission denied)'
  return `cannot open it: ${(err as Error).message}`
}

function residentOf(pages: number, sizeBytes: number): number {
  // Counted in whole pages like fincore, but never more than the file (its last page is partial).
  return Math.min(pages * pageSizeBytes(), sizeBytes)
}

/** Residency of one path; a file that cannot be measured gets residentBytes null and the reason. */
export async function fileResidency(path: string, probe: ResidencyProbe): Promise<FileResidency> {
  let fd: number
  try {
    // Only the open goes through the thread pool: it is the step that can hang on a dead share.
    // Once it answered, fstat, cachestat and close on the fd are microseconds, and doing them
    // synchronously makes a 100-file poll four times cheaper than three async hops per file.
    fd = await openQuietly(path)
  } catch (err) {
    return { path, bytes: 0, residentBytes: null, unknownReason: unknownFromOpenError(err), method: probe }
  }
  try {
    return measureFd(fd, path, probe)
  } finally {
    closeSync(fd)
  }
}

function measureFd(fd: number, path: string, probe: ResidencyProbe): FileResidency {
  const bytes = fstatSync(fd).size
  if (probe === 'cachestat') {
    try {
      const { cachePages } = cachestat(fd)
      return { path, bytes, residentBytes: residentOf(cachePages, bytes), method: probe }
    } catch (err) {
      if (err instanceof CachestatError && err.failure === 'permission') {
        return { path, bytes, residentBytes: null, unknownReason: hiddenResidencyReason, method: probe }
      }
      throw err
    }
  }
  const hidden = mincoreHiddenReason(path)
  if (hidden) return { path, bytes, residentBytes: null, unknownReason: hidden, method: probe }
  let pages = 0
  mincoreWalk(fd, bytes, (vec) => {
    for (let i = 0; i < vec.length; i++) pages += vec[i] & 1
  })
  return { path, bytes, residentBytes: residentOf(pages, bytes), method: probe }
}

/** Page range [first, end) of bucket i of n over a file of totalPages pages (never empty). */
function bucketPages(i: number, n: number, totalPages: number): [number, number] {
  const first = Math.min(Math.floor((i * totalPages) / n), totalPages - 1)
  const end = Math.max(first + 1, Math.floor(((i + 1) * totalPages) / n))
  return [first, Math.min(end, totalPages)]
}

/** The file's residency in `buckets` equal slices, each the fraction (0..1) of its pages cached. */
export async function heatStrip(path: string, buckets: number, probe: ResidencyProbe): Promise<HeatStrip> {
  if (!Number.isInteger(buckets) || buckets < 1) {
    throw new HearthError('BAD_INPUT', `buckets must be a whole number ≥ 1 (got ${buckets})`)
  }
  let fd: number
  try {
    fd = await openQuietly(path)
  } catch (err) {
    const reason = unknownFromOpenError(err)
    throw new HearthError(reason === goneReason ? 'NOT_FOUND' : 'PERMISSION', `${path}: ${reason}`)
  }
  try {
    const bytes = fstatSync(fd).size
    const page = pageSizeBytes()
    const totalPages = Math.ceil(bytes / page)
    const fractions = new Array<number>(buckets).fill(0)
    if (totalPages === 0) return { path, bytes, residentBytes: 0, buckets: fractions }
    const denied = () =>
      new HearthError('PERMISSION', `${path}: ${hiddenResidencyReason}`, { path, reason: hiddenResidencyReason })
    if (probe === 'cachestat') {
      try {
        const whole = cachestat(fd).cachePages
        for (let i = 0; i < buckets; i++) {
          const [first, end] = bucketPages(i, buckets, totalPages)
          fractions[i] = cachestat(fd, first * page, (end - first) * page).cachePages / (end - first)
        }
        return { path, bytes, residentBytes: residentOf(whole, bytes), buckets: fractions }
      } catch (err) {
        if (err instanceof CachestatError && err.failure === 'permission') throw denied()
        throw err
      }
    }
    if (mincoreHiddenReason(path)) throw denied()
    // Streams the vector into per-page-range counts, so a 100 GiB file never needs a 25 MB vector.
    // With fewer pages than buckets, buckets share pages: count per page, then spread.
    const slots = Math.min(buckets, totalPages)
    const counts = new Array<number>(slots).fill(0)
    const slotOfPage = (p: number) => Math.floor(((p + 1) * slots - 1) / totalPages)
    let whole = 0
    mincoreWalk(fd, bytes, (vec, firstPage) => {
      for (let i = 0; i < vec.length; i++) {
        if (vec[i] & 1) {
          whole++
          counts[slotOfPage(firstPage + i)]++
        }
      }
    })
    for (let i = 0; i < buckets; i++) {
      const [first, end] = bucketPages(i, buckets, totalPages)
      fractions[i] = slots === buckets ? counts[i] / (end - first) : counts[first]
    }
    return { path, bytes, residentBytes: residentOf(whole, bytes), buckets: fractions }
  } finally {
    closeSync(fd)
  }
}

// Residency of one file, by cachestat where the kernel has it, else by a mincore walk. Files are
// opened read-only (Hearth never writes a model file) and closed before returning.
import { constants as fsConstants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import type { FileResidency, HeatStrip } from '../../../shared/api'
import { HearthError } from '../../../shared/errors'
import { cachestat, CachestatError, pageSizeBytes } from '../../sys/cachestat'
import { hiddenResidencyReason, mincoreHiddenReason, mincoreWalk } from '../../sys/mincore'

export type ResidencyProbe = 'cachestat' | 'mincore'

export const goneReason = 'file is gone'

/** cachestat if this kernel and arch answer it, else mincore. */
export async function detectProbe(): Promise<ResidencyProbe> {
  let fh: FileHandle | null = null
  try {
    fh = await open(process.execPath, 'r')
    cachestat(fh.fd, 0, 4096)
    return 'cachestat'
  } catch (err) {
    if (err instanceof CachestatError && err.failure === 'unsupported') return 'mincore'
    return 'cachestat' // EPERM or the like: the syscall exists
  } finally {
    await fh?.close()
  }
}

async function openQuietly(path: string): Promise<FileHandle> {
  // O_NOATIME keeps a 1 Hz poll from dirtying inodes; only the owner (or root) may ask for it.
  try {
    return await open(path, fsConstants.O_RDONLY | fsConstants.O_NOATIME)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err
    return await open(path, fsConstants.O_RDONLY)
  }
}

function unknownFromOpenError(err: unknown): string {
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
  let fh: FileHandle
  try {
    fh = await openQuietly(path)
  } catch (err) {
    return { path, bytes: 0, residentBytes: null, unknownReason: unknownFromOpenError(err), method: probe }
  }
  try {
    const st = await fh.stat()
    const bytes = st.size
    if (probe === 'cachestat') {
      try {
        const { cachePages } = cachestat(fh.fd)
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
    mincoreWalk(fh.fd, bytes, (vec) => {
      for (let i = 0; i < vec.length; i++) pages += vec[i] & 1
    })
    return { path, bytes, residentBytes: residentOf(pages, bytes), method: probe }
  } finally {
    await fh.close()
  }
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
  let fh: FileHandle
  try {
    fh = await openQuietly(path)
  } catch (err) {
    const reason = unknownFromOpenError(err)
    throw new HearthError(reason === goneReason ? 'NOT_FOUND' : 'PERMISSION', `${path}: ${reason}`)
  }
  try {
    const bytes = (await fh.stat()).size
    const page = pageSizeBytes()
    const totalPages = Math.ceil(bytes / page)
    const fractions = new Array<number>(buckets).fill(0)
    if (totalPages === 0) return { path, bytes, residentBytes: 0, buckets: fractions }
    const denied = () =>
      new HearthError('PERMISSION', `${path}: ${hiddenResidencyReason}`, { path, reason: hiddenResidencyReason })
    if (probe === 'cachestat') {
      try {
        const whole = cachestat(fh.fd).cachePages
        for (let i = 0; i < buckets; i++) {
          const [first, end] = bucketPages(i, buckets, totalPages)
          fractions[i] = cachestat(fh.fd, first * page, (end - first) * page).cachePages / (end - first)
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
    mincoreWalk(fh.fd, bytes, (vec, firstPage) => {
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
    await fh.close()
  }
}

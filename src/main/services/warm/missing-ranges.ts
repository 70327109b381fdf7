// The parts of a file that are not in the page cache, from cachestat range queries: one query per
// 64 MiB slice, and 1 MiB queries only inside slices that are partly resident. A 100 GB file
// costs ~1600 syscalls (a few ms); reading only these ranges makes a half-resident warm take
// about half the time.
import { cachestat, CachestatError } from '../../sys/cachestat'

export interface ByteRange {
  offsetBytes: number
  lengthBytes: number
}

const coarseBytes = 64 << 20
const fineBytes = 1 << 20
const pageBytes = 4096

export interface MissingRanges {
  ranges: ByteRange[]
  missingBytes: number
  /** false when the kernel would not say (EPERM: not owner): then the whole file is "missing" */
  known: boolean
  unknownReason?: string
}

export function missingRanges(fd: number, sizeBytes: number): MissingRanges {
  const ranges: ByteRange[] = []
  const push = (offsetBytes: number, lengthBytes: number) => {
    const last = ranges[ranges.length - 1]
    if (last && last.offsetBytes + last.lengthBytes === offsetBytes) last.lengthBytes += lengthBytes
    else ranges.push({ offsetBytes, lengthBytes })
  }
  const residentPages = (off: number, len: number) => cachestat(fd, off, len).cachePages
  try {
    for (let off = 0; off < sizeBytes; off += coarseBytes) {
      const len = Math.min(coarseBytes, sizeBytes - off)
      const pages = residentPages(off, len)
      if (pages * pageBytes >= len) continue
      if (pages === 0) {
        push(off, len)
        continue
      }
      for (let o = off; o < off + len; o += fineBytes) {
        const l = Math.min(fineBytes, off + len - o)
        if (residentPages(o, l) * pageBytes < l) push(o, l)
      }
    }
  } catch (err) {
    if (!(err instanceof CachestatError)) throw err
    return {
      ranges: sizeBytes > 0 ? [{ offsetBytes: 0, lengthBytes: sizeBytes }] : [],
      missingBytes: sizeBytes,
      known: false,
      unknownReason: err.message,
    }
  }
  return { ranges, missingBytes: ranges.reduce((s, r) => s + r.lengthBytes, 0), known: true }
}

/** Resident bytes of the whole file (null when the kernel will not say) */
export function residentBytesOf(fd: number, sizeBytes: number): number | null {
  try {
    return Math.min(sizeBytes, cachestat(fd, 0, 0).cachePages * pageBytes)
  } catch (err) {
    if (err instanceof CachestatError) return null
    throw err
  }
}

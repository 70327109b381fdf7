// Residency of every tensor of a layout, by cachestat over each tensor's byte range (three calls:
// the partly covered first and last pages, and the pages between, so bytes are exact), or from one
// mincore walk per file on kernels without cachestat.
import { closeSync } from 'node:fs'
import type { TensorMap, TensorMapFile } from '../../../shared/contract/tensors'
import { openQuietly, unknownFromOpenError, type ResidencyProbe } from '../pagecache/file-residency'
import { cachestat, CachestatError, pageSizeBytes } from '../../sys/cachestat'
import { hiddenResidencyReason, mincoreHiddenReason, mincoreWalk } from '../../sys/mincore'
import type { TensorLayout } from './layout'
import { PageBits } from '../../../shared/tensors/page-bits'

/** Resident pages among [first, first + n) of one file. */
type PageCounter = (first: number, n: number) => number

/** Resident bytes of [start, start + len): partial first and last pages count only their overlap. */
export function residentBytesOfRange(count: PageCounter, pageBytes: number, start: number, len: number): number {
  if (len <= 0) return 0
  const firstPage = Math.floor(start / pageBytes)
  const lastPage = Math.floor((start + len - 1) / pageBytes)
  if (firstPage === lastPage) return count(firstPage, 1) ? len : 0
  const head = count(firstPage, 1) ? (firstPage + 1) * pageBytes - start : 0
  const tail = count(lastPage, 1) ? start + len - lastPage * pageBytes : 0
  const middle = lastPage - firstPage - 1 > 0 ? count(firstPage + 1, lastPage - firstPage - 1) * pageBytes : 0
  return head + middle + tail
}

/** Fraction of the pages [start, start + len) spans that are resident. */
function residentFraction(count: PageCounter, pageBytes: number, start: number, len: number): number {
  const firstPage = Math.floor(start / pageBytes)
  const n = Math.floor((start + len - 1) / pageBytes) - firstPage + 1
  return n > 0 ? count(firstPage, n) / n : 0
}

/** A counter for one open file, or the reason its residency cannot be known. */
function counterFor(fd: number, path: string, bytes: number, probe: ResidencyProbe): { count: PageCounter; residentBytes: number } | { unknown: string } {
  const page = pageSizeBytes()
  if (probe === 'cachestat') {
    try {
      const whole = cachestat(fd).cachePages
      return { count: (first, n) => cachestat(fd, first * page, n * page).cachePages, residentBytes: Math.min(whole * page, bytes) }
    } catch (err) {
      if (err instanceof CachestatError && err.failure === 'permission') return { unknown: hiddenResidencyReason }
      throw err
    }
  }
  const hidden = mincoreHiddenReason(path)
  if (hidden) return { unknown: hidden }
  const bits = new PageBits(Math.ceil(bytes / page))
  let resident = 0
  mincoreWalk(fd, bytes, (vec, firstPage) => {
    for (let i = 0; i < vec.length; i++) {
      if (vec[i] & 1) {
        bits.set(firstPage + i, true)
        resident++
      }
    }
  })
  return { count: (first, n) => bits.count(first, n), residentBytes: Math.min(resident * page, bytes) }
}

/** The tensor map of a layout now. */
export async function measureTensorMap(
  layout: TensorLayout,
  probe: ResidencyProbe,
  opts: { name: string; modelId?: string; experts?: boolean },
): Promise<TensorMap> {
  const t0 = performance.now()
  const page = pageSizeBytes()
  const residentBytes = new Array<number | null>(layout.tensors.length).fill(null)
  const expertResident: Record<number, number[]> = {}
  const fds = await Promise.all(layout.files.map((f) => openQuietly(f.path).catch((err: unknown) => unknownFromOpenError(err))))
  let files: TensorMapFile[]
  try {
    files = layout.files.map((f, fi) => {
      const fd = fds[fi]
      if (typeof fd === 'string') return { ...f, residentBytes: null, unknownReason: fd }
      const c = counterFor(fd, f.path, f.bytes, probe)
      if ('unknown' in c) return { ...f, residentBytes: null, unknownReason: c.unknown }
      layout.tensors.forEach((t, i) => {
        if (t.file !== fi) return
        residentBytes[i] = residentBytesOfRange(c.count, page, t.offset, t.bytes)
        if (opts.experts && t.experts) {
          // Tensors with nothing resident skip the per-expert calls: their experts are all 0.
          const slice = t.bytes / t.experts
          expertResident[i] = Array.from({ length: t.experts }, (_, e) =>
            residentBytes[i] === 0 ? 0 : residentFraction(c.count, page, t.offset + Math.floor(e * slice), Math.floor((e + 1) * slice) - Math.floor(e * slice)),
          )
        }
      })
      return { ...f, residentBytes: c.residentBytes }
    })
  } finally {
    for (const fd of fds) if (typeof fd === 'number') closeSync(fd)
  }
  const map: TensorMap = {
    name: opts.name,
    files,
    tensors: layout.tensors,
    residentBytes,
    blockCount: layout.blockCount,
    pageBytes: page,
    atMs: Date.now(),
    measureMs: 0,
  }
  if (opts.modelId) map.modelId = opts.modelId
  if (layout.expertCount) map.expertCount = layout.expertCount
  if (opts.experts && Object.keys(expertResident).length > 0) map.expertResident = expertResident
  map.measureMs = performance.now() - t0
  return map
}

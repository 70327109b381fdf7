// Replays a recording: the residency of every tensor, expert slice and heat-strip bucket after
// any sample. Runs are exact deltas (a page is added only when it was absent), so state moves
// forward by adding overlaps; moving back replays from the start (thousands of runs: cheap).
import type { PageRun, Recording } from '../contract/tensors'
import { forEachOverlap, tensorIndex } from './analysis'

export class Replay {
  /** Resident bytes per tensor (header.tensors order) */
  readonly tensorResident: Float64Array
  /** Per stacked expert tensor: resident bytes per expert slice */
  readonly expertResident = new Map<number, Float64Array>()
  /** Per file: resident pages per bucket of `buckets` equal slices */
  readonly fileBuckets: Float64Array[]
  /** Per file: pages in each bucket (the last may be short) */
  readonly bucketPages: number[]
  /** The sample whose state is shown; -1 = the initial state */
  position = -1
  residentPages = 0

  private readonly order: number[]

  constructor(
    readonly rec: Recording,
    readonly buckets = 256,
  ) {
    const { tensors, files, pageBytes } = rec.header
    this.order = tensorIndex(tensors)
    this.tensorResident = new Float64Array(tensors.length)
    tensors.forEach((t, i) => t.experts && this.expertResident.set(i, new Float64Array(t.experts)))
    this.bucketPages = files.map((f) => Math.max(1, Math.ceil(Math.ceil(f.bytes / pageBytes) / buckets)))
    this.fileBuckets = files.map(() => new Float64Array(buckets))
    this.reset()
  }

  private reset(): void {
    this.tensorResident.fill(0)
    for (const a of this.expertResident.values()) a.fill(0)
    for (const b of this.fileBuckets) b.fill(0)
    this.residentPages = 0
    this.position = -1
    this.apply(this.rec.initial.resident, 1)
  }

  private apply(runs: PageRun[], sign: 1 | -1): void {
    const { tensors, pageBytes } = this.rec.header
    for (const [f, first, n] of runs) {
      this.residentPages += sign * n
      const per = this.bucketPages[f]
      const b = this.fileBuckets[f]
      for (let p = first; p < first + n; ) {
        const bucket = Math.min(this.buckets - 1, Math.floor(p / per))
        const upto = Math.min(first + n, (bucket + 1) * per)
        b[bucket] += sign * (upto - p)
        p = upto
      }
      const start = first * pageBytes
      const end = (first + n) * pageBytes
      forEachOverlap(tensors, this.order, f, start, end, (t, bytes) => {
        this.tensorResident[t] += sign * bytes
        const slices = this.expertResident.get(t)
        if (!slices) return
        const ti = tensors[t]
        const slice = ti.bytes / slices.length
        const lo = Math.max(start, ti.offset) - ti.offset
        const hi = Math.min(end, ti.offset + ti.bytes) - ti.offset
        for (let e = Math.floor(lo / slice); e < slices.length && e * slice < hi; e++) {
          slices[e] += sign * (Math.min(hi, (e + 1) * slice) - Math.max(lo, e * slice))
        }
      })
    }
  }

  /** State after sample k (-1: before the first sample). */
  seek(k: number): void {
    const target = Math.max(-1, Math.min(this.rec.samples.length - 1, Math.floor(k)))
    if (target < this.position) this.reset()
    for (let i = this.position + 1; i <= target; i++) {
      const s = this.rec.samples[i]
      this.apply(s.removed, -1)
      this.apply(s.added, 1)
    }
    this.position = target
  }

  /** Fractions (0..1) per expert slice, for the grid. */
  expertFractions(t: number): number[] | undefined {
    const slices = this.expertResident.get(t)
    if (!slices) return undefined
    const slice = this.rec.header.tensors[t].bytes / slices.length
    return Array.from(slices, (v) => (slice > 0 ? Math.min(1, v / slice) : 0))
  }

  /** Heat strip of file f: fraction resident per bucket. */
  strip(f: number): number[] {
    const pages = Math.ceil(this.rec.header.files[f].bytes / this.rec.header.pageBytes)
    const per = this.bucketPages[f]
    return Array.from(this.fileBuckets[f], (v, i) => {
      const size = Math.max(0, Math.min(per, pages - i * per))
      return size > 0 ? v / size : 0
    })
  }
}

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
  /**
   * Per file: resident pages per bucket. A file has min(buckets, pages) buckets and bucket i of
   * n holds pages [⌊i·P/n⌋, ⌊(i+1)·P/n⌋), so the strip spans the whole file at any size.
   */
  readonly fileBuckets: Float64Array[]
  /** Per file: its pages */
  readonly filePages: number[]
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
    this.filePages = files.map((f) => Math.ceil(f.bytes / pageBytes))
    this.fileBuckets = this.filePages.map((pages) => new Float64Array(Math.max(1, Math.min(buckets, pages))))
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
      this.addToBuckets(f, first, first + n, sign)
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

  /** Counts pages [first, end) of file f into its buckets (pages past the end go to the last). */
  private addToBuckets(f: number, first: number, end: number, sign: 1 | -1): void {
    const b = this.fileBuckets[f]
    const pages = Math.max(1, this.filePages[f])
    const n = b.length
    for (let p = first; p < end; ) {
      const bucket = Math.min(n - 1, Math.floor(((p + 1) * n - 1) / pages))
      const upto = bucket === n - 1 ? end : Math.min(end, Math.floor(((bucket + 1) * pages) / n))
      b[bucket] += sign * (upto - p)
      p = upto
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

  /** Heat strip of file f: fraction resident per bucket, min(buckets, pages) of them in file order. */
  strip(f: number): number[] {
    const pages = this.filePages[f]
    const b = this.fileBuckets[f]
    const n = b.length
    return Array.from(b, (v, i) => {
      const size = Math.floor(((i + 1) * pages) / n) - Math.floor((i * pages) / n)
      return size > 0 ? Math.min(1, v / size) : 0
    })
  }
}

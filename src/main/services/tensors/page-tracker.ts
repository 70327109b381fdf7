// Which pages of one file became resident (or left) since the last look, cheaply enough to ask
// ten times a second of a 10 GB file.
//
// cachestat(2) over a few hundred coarse ranges answers "did anything change here?" in
// microseconds each. Only a range whose count differs from what we last saw is refined: halves are
// asked again, a half the kernel says is wholly resident (or wholly absent) is settled without
// looking at single pages, and only partly resident pieces of at most leafPages go to mincore(2)
// for the exact page list. A front-to-back load thus costs a few dozen cachestat calls per tick,
// and random reads a small mincore per touched leaf.
//
// cachestat counts pages whose read is still in flight; mincore does not. A leaf mincore'd in the
// middle of a read therefore keeps differing from cachestat, and is looked at again next tick until
// both agree. On kernels without cachestat, every tick is a mincore walk of the whole file.
import type { PageRun } from '../../../shared/contract/tensors'
import { cachestat } from '../../sys/cachestat'
import { mincoreWalk } from '../../sys/mincore'
import { PageBits } from '../../../shared/tensors/page-bits'

export interface PageDelta {
  added: PageRun[]
  removed: PageRun[]
}

/** Appends page p to the runs, extending the last run when contiguous. */
function push(runs: PageRun[], file: number, p: number): void {
  const last = runs[runs.length - 1]
  if (last && last[0] === file && last[1] + last[2] === p) last[2]++
  else runs.push([file, p, 1])
}

export interface PageTrackerOptions {
  fd: number
  /** Index of this file in the recording (PageRun's first field) */
  file: number
  bytes: number
  pageBytes: number
  /** Pages per coarse range asked with cachestat every tick */
  rangePages: number
  /** Largest piece handed to mincore (a multiple of 32) */
  leafPages?: number
  /** No cachestat on this kernel: compare whole-file mincore walks */
  mincoreOnly?: boolean
}

export class PageTracker {
  readonly pages: number
  readonly bits: PageBits
  residentPages = 0
  private readonly rangeCount: Int32Array
  private readonly rangeEvicted: Float64Array
  private readonly leafPages: number
  private out: PageDelta = { added: [], removed: [] }

  constructor(private readonly o: PageTrackerOptions) {
    this.pages = Math.ceil(o.bytes / o.pageBytes)
    this.bits = new PageBits(this.pages)
    const ranges = Math.ceil(this.pages / o.rangePages)
    this.rangeCount = new Int32Array(ranges)
    // -1: never asked, so the first scan looks at every range whatever the counts
    this.rangeEvicted = new Float64Array(ranges).fill(-1)
    this.leafPages = o.leafPages ?? 512
  }

  /** Compares with the kernel and appends what changed (ascending page order) to delta. */
  scan(delta: PageDelta): void {
    this.out = delta
    const { rangePages } = this.o
    if (this.o.mincoreOnly) {
      this.mincoreDiff(0, this.pages)
      return
    }
    for (let r = 0; r < this.rangeCount.length; r++) {
      const first = r * rangePages
      const n = Math.min(rangePages, this.pages - first)
      const cs = this.kernel(first, n)
      if (cs.cachePages !== this.rangeCount[r]) this.reconcile(first, n, cs.cachePages)
      // Same count but other evictions: pages left and others came in the same tick.
      else if (this.rangeEvicted[r] >= 0 && cs.evictedPages !== this.rangeEvicted[r]) this.mincoreDiff(first, n)
      this.rangeEvicted[r] = cs.evictedPages
    }
  }

  private kernel(first: number, n: number) {
    const page = this.o.pageBytes
    return cachestat(this.o.fd, first * page, Math.min(n * page, this.o.bytes - first * page))
  }

  private reconcile(first: number, n: number, cached: number): void {
    if (cached >= n) return this.setAll(first, n, true)
    if (cached === 0) return this.setAll(first, n, false)
    if (n <= this.leafPages) return this.mincoreDiff(first, n)
    const half = Math.ceil(n / 2 / 32) * 32
    for (const [f, m] of [
      [first, half],
      [first + half, n - half],
    ]) {
      if (m <= 0) continue
      const c = this.kernel(f, m).cachePages
      if (c !== this.bits.count(f, m)) this.reconcile(f, m, c)
    }
  }

  private flip(p: number, on: boolean): void {
    this.bits.set(p, on)
    const d = on ? 1 : -1
    this.residentPages += d
    this.rangeCount[Math.floor(p / this.o.rangePages)] += d
    push(on ? this.out.added : this.out.removed, this.o.file, p)
  }

  private setAll(first: number, n: number, on: boolean): void {
    const end = first + n
    for (let p = first; p < end; ) {
      // Whole words already in the wanted state are skipped 32 pages at a time.
      if ((p & 31) === 0 && p + 32 <= end && this.bits.wordIs(p, on)) {
        p += 32
        continue
      }
      if (this.bits.get(p) !== on) this.flip(p, on)
      p++
    }
  }

  private mincoreDiff(first: number, n: number): void {
    const page = this.o.pageBytes
    const endBytes = Math.min(this.o.bytes, (first + n) * page)
    mincoreWalk(
      this.o.fd,
      endBytes,
      (vec, firstPage) => {
        for (let i = 0; i < vec.length; i++) {
          const on = (vec[i] & 1) === 1
          if (this.bits.get(firstPage + i) !== on) this.flip(firstPage + i, on)
        }
      },
      undefined,
      first * page,
    )
  }
}

/**
 * Coarse range size for a model: about `budget` cachestat calls per tick over all its files
 * (3 µs each here: 256 calls ≈ 0.8 ms, under 1% of a core at 10 Hz), never below 8 MiB.
 */
export function coarseRangePages(totalBytes: number, pageBytes: number, budget = 256): number {
  const minPages = Math.max(32, Math.floor((8 << 20) / pageBytes))
  const pages = Math.ceil(Math.ceil(totalBytes / Math.max(1, budget)) / pageBytes)
  return Math.max(minPages, Math.ceil(pages / 32) * 32)
}

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
// cachestat walks the page-cache entries of its range, so its cost grows with what is cached there
// (about 17 ns per entry here; 2 GiB cached in small folios is ~9 ms a scan). A scan therefore
// asks ranges within a budget of entries, in this order: those that changed when last asked (a
// load in progress), then cheap ones (few entries: a load moving into cold pages shows at once),
// then partly resident ones, then wholly resident ones (they can only lose pages), each the
// longest unasked first; `coverage` says how much of the file where pages can still arrive a scan
// asked. Where the budget does not reach every range, a change there shows up when its turn
// comes: late, never lost.
//
// cachestat counts pages whose read is still in flight; mincore does not. A leaf mincore'd in the
// middle of a read therefore keeps differing from cachestat, and is looked at again next tick until
// both agree. On kernels without cachestat, every tick is a mincore walk of the whole file.
import type { PageRun } from '../../../shared/contract/tensors'
import { cachestat } from '../../sys/cachestat'
import { mincoreWalk } from '../../sys/mincore'
import { PageBits } from '../../../shared/tensors/page-bits'

/** A range with at most this many cached or evicted entries counts as cheap to ask (~35 µs). */
const cheapEntries = 2048
/** What one call costs besides its walk (koffi and the syscall, ~3 µs), in entries. */
const callEntries = 200

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

/** Sorts runs[from…] by file and first page and merges touching ones (ranges go by priority). */
function normalize(runs: PageRun[], from: number): void {
  if (runs.length - from < 2) return
  const mine = runs.splice(from).sort((a, b) => a[0] - b[0] || a[1] - b[1])
  for (const r of mine) {
    const last = runs.length > from ? runs[runs.length - 1] : undefined
    if (last && last[0] === r[0] && last[1] + last[2] === r[1]) last[2] += r[2]
    else runs.push(r)
  }
}

export interface PageTrackerOptions {
  fd: number
  /** Index of this file in the recording (PageRun's first field) */
  file: number
  bytes: number
  pageBytes: number
  /** Pages per coarse range asked with cachestat every tick */
  rangePages: number
  /** Largest piece handed to mincore (a multiple of 32; 256 KiB by default: halving by cachestat down
   * to there is cheaper than mapping a larger piece, and a 1 MiB block is settled by halves) */
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
  /** cachePages + evictedPages at the range's last check: what asking it again will walk */
  private readonly rangeEntries: Float64Array
  /** Scan numbers at which each range last changed, and was last asked */
  private readonly lastChange: Float64Array
  private readonly lastAsked: Float64Array
  private readonly leafPages: number
  private out: PageDelta = { added: [], removed: [] }
  private scans = 0

  constructor(private readonly o: PageTrackerOptions) {
    this.pages = Math.ceil(o.bytes / o.pageBytes)
    this.bits = new PageBits(this.pages)
    const ranges = Math.ceil(this.pages / o.rangePages)
    this.rangeCount = new Int32Array(ranges)
    // -1: never asked, so the first scan looks at every range whatever the counts
    this.rangeEvicted = new Float64Array(ranges).fill(-1)
    this.rangeEntries = new Float64Array(ranges)
    this.lastChange = new Float64Array(ranges).fill(-Infinity)
    this.lastAsked = new Float64Array(ranges).fill(-1)
    this.leafPages = o.leafPages ?? 64
  }

  /**
   * Compares with the kernel and appends what changed to delta (this file's runs sorted and
   * merged); returns the coverage: the share of the pages not yet wholly resident (where pages can
   * arrive) whose range was asked. `budgetEntries` caps the
   * page-cache entries the scan may walk, refinements included (Infinity: ask every range, as the
   * first and the last scan do); at least one range is asked.
   */
  scan(delta: PageDelta, budgetEntries = Infinity): number {
    this.out = delta
    this.scans++
    const addedFrom = delta.added.length
    const removedFrom = delta.removed.length
    if (this.o.mincoreOnly) {
      this.mincoreDiff(0, this.pages)
      return 1
    }
    const { rangePages } = this.o
    // Coverage counts the ranges where pages can still arrive (not wholly resident before the scan).
    let open = 0
    for (let r = 0; r < this.rangeCount.length; r++) if (this.rangeCount[r] < this.rangePagesOf(r)) open += this.rangePagesOf(r)
    let spent = 0
    let asked = 0
    let askedOpen = 0
    for (const r of this.priority(budgetEntries === Infinity)) {
      if (asked > 0 && spent >= budgetEntries) break
      const first = r * rangePages
      const n = this.rangePagesOf(r)
      asked++
      if (this.rangeCount[r] < n) askedOpen += n
      this.walked = 0
      const cs = this.kernel(first, n)
      const changed = cs.cachePages !== this.rangeCount[r] || (this.rangeEvicted[r] >= 0 && cs.evictedPages !== this.rangeEvicted[r])
      if (cs.cachePages !== this.rangeCount[r]) this.reconcile(first, n, cs.cachePages)
      // Same count but other evictions: pages left and others came in the same tick.
      else if (changed) this.mincoreDiff(first, n)
      if (changed) this.lastChange[r] = this.scans
      this.lastAsked[r] = this.scans
      this.rangeEvicted[r] = cs.evictedPages
      this.rangeEntries[r] = cs.cachePages + cs.evictedPages
      spent += this.walked
    }
    normalize(delta.added, addedFrom)
    normalize(delta.removed, removedFrom)
    return open === 0 ? 1 : askedOpen / open
  }

  /**
   * Ranges in the order a budgeted scan asks them: those that changed when last asked (a load in
   * progress), cheap ones (few entries: a load moving into cold pages shows at once), partly
   * resident ones, then wholly resident ones (they can only lose pages); within each, the one
   * asked longest ago first, so every range gets its turn.
   */
  private priority(all: boolean): number[] {
    const ranges = Array.from({ length: this.rangeCount.length }, (_, r) => r)
    if (all) return ranges
    const classOf = (r: number) =>
      this.lastChange[r] === this.lastAsked[r] ? 0 : this.rangeCount[r] >= this.rangePagesOf(r) ? 3 : this.rangeEntries[r] <= cheapEntries ? 1 : 2
    return ranges.sort((a, b) => classOf(a) - classOf(b) || this.lastAsked[a] - this.lastAsked[b] || a - b)
  }

  private rangePagesOf(r: number): number {
    return Math.min(this.o.rangePages, this.pages - r * this.o.rangePages)
  }

  /** Entries the calls for the current range walked (cachestat's cached + evicted, mincore's pages) */
  private walked = 0

  private kernel(first: number, n: number) {
    const page = this.o.pageBytes
    const cs = cachestat(this.o.fd, first * page, Math.min(n * page, this.o.bytes - first * page))
    this.walked += cs.cachePages + cs.evictedPages + callEntries
    return cs
  }

  private reconcile(first: number, n: number, cached: number): void {
    if (cached >= n) return this.setAll(first, n, true)
    if (cached <= 0) return this.setAll(first, n, false)
    if (n <= this.leafPages) return this.mincoreDiff(first, n)
    // The left half is asked; the right half's count is first taken as the rest of the whole's,
    // and asked for only when that says it changed (counts taken moments apart may disagree, so
    // a derived count never settles pages by itself).
    const half = Math.ceil(n / 2 / 32) * 32
    const left = this.kernel(first, half).cachePages
    if (left !== this.bits.count(first, half)) this.reconcile(first, half, left)
    if (n <= half) return
    const had = this.bits.count(first + half, n - half)
    if (cached - left === had) return
    const right = this.kernel(first + half, n - half).cachePages
    if (right !== had) this.reconcile(first + half, n - half, right)
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
    this.walked += n
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
 * Coarse range size for a model: about `budget` cachestat calls per full scan over all its files,
 * never below 8 MiB, and a power of two pages, so halving lands on the boundaries of the
 * power-of-two blocks readers use (a 1 MiB read settles as "wholly resident" without mincore).
 */
export function coarseRangePages(totalBytes: number, pageBytes: number, budget = 128): number {
  const minPages = Math.max(32, Math.floor((8 << 20) / pageBytes))
  const pages = Math.max(minPages, Math.ceil(Math.ceil(totalBytes / Math.max(1, budget)) / pageBytes))
  return 2 ** Math.ceil(Math.log2(pages))
}

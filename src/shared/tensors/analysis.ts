// What a recording says: how sequential the reads were, which tensors were touched first, and
// the time series people chart. Pure functions over a Recording, shared by the CLI and the UI.
import type { PageRun, Recording, TensorInfo } from '../contract/tensors'
import { PageBits } from './page-bits'

/** The blktrace rule: a read that starts within 128 KiB of where earlier reads ended is sequential. */
export const sequentialGapBytes = 128 * 1024

export interface Sequentiality {
  /**
   * Share (0..1) of the judged bytes that were sequential; null when nothing could be judged.
   *
   * Definition. The recording's added runs (maximal stretches of pages that became resident in one
   * sample) are taken in the order they were seen: samples in time order, and within one sample
   * by file then offset (a sample cannot see the order inside its interval). A run is sequential
   * when some page in the 128 KiB just before its first page (sequentialGapBytes, the gap
   * researchers allow between consecutive requests in blktrace) was added earlier in the
   * recording: the run continues a stream that was being read. The share weighs runs by their
   * bytes. The first run of the recording has nothing before it and is not judged.
   *
   * Comparing with every page added so far, not only with the run just before, keeps a stream
   * intact when a sample catches it mid-read (a piece still in flight shows up one sample late)
   * or when a loader pauses between layers. A reader of random 1 MiB blocks thus scores near 0
   * (the 128 KiB before a random block were rarely read), a front-to-back reader near 1,
   * whatever the block size of either.
   */
  share: number | null
  sequentialBytes: number
  judgedBytes: number
  runs: number
}

export interface OrderedRun {
  /** Index of its sample */
  sample: number
  tMs: number
  run: PageRun
  /** null for the first run (not judged) */
  sequential: boolean | null
}

/** The added runs of a recording in the order defined above, each judged by the 128 KiB rule. */
export function judgedRuns(rec: Pick<Recording, 'samples' | 'header'>): OrderedRun[] {
  const { pageBytes, files } = rec.header
  const gapPages = Math.max(1, Math.floor(sequentialGapBytes / pageBytes))
  const added = files.map((f) => new PageBits(Math.ceil(f.bytes / pageBytes)))
  const out: OrderedRun[] = []
  for (const [si, s] of rec.samples.entries()) {
    const sorted = [...s.added].sort((a, b) => a[0] - b[0] || a[1] - b[1])
    for (const run of sorted) {
      const [f, first, n] = run
      const bits = added[f]
      if (!bits) continue
      const from = Math.max(0, first - gapPages)
      const sequential = out.length === 0 ? null : bits.count(from, first - from) > 0
      out.push({ sample: si, tMs: s.tMs, run, sequential })
      for (let p = first; p < Math.min(first + n, bits.pages); p++) bits.set(p, true)
    }
  }
  return out
}

export function sequentiality(rec: Pick<Recording, 'samples' | 'header'>): Sequentiality {
  const page = rec.header.pageBytes
  const runs = judgedRuns(rec)
  let sequentialBytes = 0
  let judgedBytes = 0
  for (const r of runs) {
    if (r.sequential === null) continue
    judgedBytes += r.run[2] * page
    if (r.sequential) sequentialBytes += r.run[2] * page
  }
  return { share: judgedBytes > 0 ? sequentialBytes / judgedBytes : null, sequentialBytes, judgedBytes, runs: runs.length }
}

/** Tensors by (file, offset) for overlap queries; the indices point into header.tensors. */
export function tensorIndex(tensors: TensorInfo[]): number[] {
  return tensors.map((_, i) => i).sort((a, b) => tensors[a].file - tensors[b].file || tensors[a].offset - tensors[b].offset)
}

/**
 * Calls visit(tensorIndex, overlapBytes) for each tensor the byte range [start, end) of `file`
 * overlaps. `order` comes from tensorIndex(); tensors do not overlap one another.
 */
export function forEachOverlap(
  tensors: TensorInfo[],
  order: number[],
  file: number,
  start: number,
  end: number,
  visit: (tensor: number, bytes: number) => void,
): void {
  // First tensor (in order) whose end is past start.
  let lo = 0
  let hi = order.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    const t = tensors[order[mid]]
    if (t.file < file || (t.file === file && t.offset + t.bytes <= start)) lo = mid + 1
    else hi = mid
  }
  for (let k = lo; k < order.length; k++) {
    const t = tensors[order[k]]
    if (t.file !== file || t.offset >= end) break
    const bytes = Math.min(end, t.offset + t.bytes) - Math.max(start, t.offset)
    if (bytes > 0) visit(order[k], bytes)
  }
}

export interface FirstTouch {
  tensor: number
  /** ms since the start; 0 with atStart for tensors that had resident pages before it began */
  tMs: number
  atStart: boolean
}

/**
 * When each tensor first had a page become resident, earliest first (ties: file order, which is
 * the order a sample cannot break). Tensors never touched are left out.
 */
export function firstTouches(rec: Recording): FirstTouch[] {
  const { tensors, pageBytes } = rec.header
  const order = tensorIndex(tensors)
  const seen = new Map<number, FirstTouch>()
  const touch = (runs: PageRun[], tMs: number, atStart: boolean) => {
    for (const [f, first, n] of runs) {
      forEachOverlap(tensors, order, f, first * pageBytes, (first + n) * pageBytes, (t) => {
        if (!seen.has(t)) seen.set(t, { tensor: t, tMs, atStart })
      })
    }
  }
  touch(rec.initial.resident, 0, true)
  for (const s of rec.samples) touch(s.added, s.tMs, false)
  const rank = new Map(order.map((t, i) => [t, i]))
  return [...seen.values()].sort((a, b) => a.tMs - b.tMs || Number(b.atStart) - Number(a.atStart) || rank.get(a.tensor)! - rank.get(b.tensor)!)
}

/** First touch per layer (the earliest of its tensors); index = layer, null = never touched. */
export function layerFirstTouch(rec: Recording, touches = firstTouches(rec)): (number | null)[] {
  const layers = Math.max(0, ...rec.header.tensors.map((t) => (t.layer ?? -1) + 1))
  const out = new Array<number | null>(layers).fill(null)
  for (const t of touches) {
    const l = rec.header.tensors[t.tensor].layer
    if (l !== null && (out[l] === null || t.tMs < out[l]!)) out[l] = t.tMs
  }
  return out
}

export interface TimelinePoint {
  tMs: number
  /** Bytes that became resident per second over the sample's interval */
  addedBytesPerSec: number
  residentBytes: number
  diskReadBytesPerSec: number | null
  majorFaultsPerSec: number | null
}

/** One point per sample: what the charts draw on one time axis. */
export function timeline(rec: Recording): TimelinePoint[] {
  const page = rec.header.pageBytes
  let prev = 0
  return rec.samples.map((s) => {
    const dt = Math.max(1, s.tMs - prev) / 1000
    prev = s.tMs
    const added = s.added.reduce((a, r) => a + r[2], 0) * page
    return { tMs: s.tMs, addedBytesPerSec: added / dt, residentBytes: s.residentBytes, diskReadBytesPerSec: s.diskReadBytesPerSec, majorFaultsPerSec: s.majorFaultsPerSec }
  })
}

export interface RecordingSummary {
  durationMs: number
  samples: number
  addedBytes: number
  removedBytes: number
  /** Resident at the start and at the end */
  startBytes: number
  endBytes: number
  sequentiality: Sequentiality
  peakDiskReadBytesPerSec: number | null
  /**
   * Recorder CPU time / wall time, when the end line carries it and the recording ran a second
   * or more (shorter, the set-up's own CPU reads as more than a whole core)
   */
  recorderCpuShare: number | null
}

const minCpuShareMs = 1000

export function summarize(rec: Recording): RecordingSummary {
  const page = rec.header.pageBytes
  const pages = (runs: PageRun[]) => runs.reduce((a, r) => a + r[2], 0)
  const durationMs = rec.end?.tMs ?? rec.samples[rec.samples.length - 1]?.tMs ?? 0
  const disk = rec.samples.map((s) => s.diskReadBytesPerSec).filter((v): v is number => v !== null)
  return {
    durationMs,
    samples: rec.samples.length,
    addedBytes: rec.samples.reduce((a, s) => a + pages(s.added), 0) * page,
    removedBytes: rec.samples.reduce((a, s) => a + pages(s.removed), 0) * page,
    startBytes: pages(rec.initial.resident) * page,
    endBytes: rec.samples[rec.samples.length - 1]?.residentBytes ?? pages(rec.initial.resident) * page,
    sequentiality: sequentiality(rec),
    peakDiskReadBytesPerSec: disk.length ? Math.max(...disk) : null,
    recorderCpuShare: rec.end && durationMs >= minCpuShareMs ? rec.end.recorderCpuMs / durationMs : null,
  }
}

/** The last sample at or before tMs (-1: before the first); what a replay shows at that time. */
export function sampleAt(rec: Pick<Recording, 'samples'>, tMs: number): number {
  let lo = 0
  let hi = rec.samples.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (rec.samples[mid].tMs <= tMs) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}

// The load-order recorder: every 1/hz seconds, which pages of a model's files became resident (or
// left the cache), with the disks' read rate and major faults on the same clock. Lines go out as
// they happen (header, initial, samples…, end), so a file written from them survives a crash.
import { closeSync } from 'node:fs'
import type { PageRun, RecordingEnd, RecordingEndReason, RecordingHeader, RecordingLine, RecordingSample } from '../../../shared/contract/tensors'
import { HearthError } from '../../../shared/errors'
import { cachestat, CachestatError, pageSizeBytes } from '../../sys/cachestat'
import { hiddenResidencyReason, mincoreHiddenReason } from '../../sys/mincore'
import { openQuietly, unknownFromOpenError, type ResidencyProbe } from '../pagecache/file-residency'
import { diskReadBytes, disksOf, hasExited, procStat, systemMajorFaults } from './counters'
import type { TensorLayout } from './layout'
import { coarseRangePages, PageTracker, type PageDelta } from './page-tracker'

export interface RecorderOptions {
  layout: TensorLayout
  name: string
  modelId?: string
  hz: number
  /** Ends after this long */
  seconds?: number
  /** Ends when this process exits; its major faults are counted instead of the system's */
  pid?: number
  probe: ResidencyProbe
  onLine(line: RecordingLine): void
  /** Safety stop (a day at 10 Hz by default) */
  maxSamples?: number
}

export interface RecorderProgress {
  elapsedMs: number
  samples: number
  addedBytes: number
  residentBytes: number
  totalBytes: number
}

export interface Recorder {
  readonly header: RecordingHeader
  /** Takes one last sample and ends with reason 'stopped' (no-op once ended) */
  stop(): void
  readonly done: Promise<RecordingEnd>
  progress(): RecorderProgress
}

/** Opens the files and checks the kernel will say what is resident; closes what it opened on failure. */
async function openAll(paths: string[], probe: ResidencyProbe): Promise<number[]> {
  const fds: number[] = []
  try {
    for (const path of paths) {
      const fd = await openQuietly(path).catch((err: unknown) => {
        throw new HearthError('PERMISSION', `${path}: ${unknownFromOpenError(err)}`)
      })
      fds.push(fd)
      if (probe === 'cachestat') {
        try {
          cachestat(fd, 0, 1)
        } catch (err) {
          if (err instanceof CachestatError && err.failure === 'permission') {
            throw new HearthError('PERMISSION', `${path}: ${hiddenResidencyReason}; the recorder cannot see which pages load (record as the file's owner or root)`)
          }
          throw err
        }
      } else if (mincoreHiddenReason(path)) {
        throw new HearthError('PERMISSION', `${path}: ${hiddenResidencyReason}; the recorder cannot see which pages load (record as the file's owner or root)`)
      }
    }
    return fds
  } catch (err) {
    for (const fd of fds) closeSync(fd)
    throw err
  }
}

const entriesPerSecond = 600_000

const cpuMsSince = (c: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c)
  return (d.user + d.system) / 1000
}

export async function startRecorder(o: RecorderOptions): Promise<Recorder> {
  const page = pageSizeBytes()
  const { files } = o.layout
  if (o.pid !== undefined && hasExited(procStat(o.pid))) {
    throw new HearthError('NOT_FOUND', `no running process ${o.pid} (it has exited, or /proc hides it from you); start the recording while it runs`)
  }
  const disks = await disksOf(files.map((f) => f.path))
  const fds = await openAll(
    files.map((f) => f.path),
    o.probe,
  )
  const totalBytes = files.reduce((a, f) => a + f.bytes, 0)
  const rangePages = coarseRangePages(totalBytes, page)
  const trackers = files.map((f, i) => new PageTracker({ fd: fds[i], file: i, bytes: f.bytes, pageBytes: page, rangePages, mincoreOnly: o.probe === 'mincore' }))
  const intervalMs = 1000 / o.hz
  // Page-cache entries cachestat may walk per second (~17 ns each here, more on a busy machine:
  // 1–2% of a core),
  // shared out by file size; see PageTracker.
  const totalPages = trackers.reduce((a, t) => a + t.pages, 0)
  const budgets = trackers.map((t) => (entriesPerSecond * (intervalMs / 1000) * t.pages) / Math.max(1, totalPages))
  const maxSamples = o.maxSamples ?? Math.ceil(86400 * o.hz)
  const faultsOf = () => (o.pid !== undefined ? (procStat(o.pid)?.majflt ?? null) : systemMajorFaults())

  const header: RecordingHeader = {
    type: 'header',
    format: 'hearth-recording',
    version: 1,
    name: o.name,
    files,
    pageBytes: page,
    hz: o.hz,
    method: 'sampled',
    startedAtMs: Date.now(),
    faultsScope: o.pid !== undefined ? 'process' : 'system',
    disks,
    tensors: o.layout.tensors,
  }
  if (o.modelId) header.modelId = o.modelId
  if (o.pid !== undefined) header.pid = o.pid

  let recorderCpuMs = 0
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const initial: PageDelta = { added: [], removed: [] }
  try {
    for (const t of trackers) t.scan(initial)
  } catch (err) {
    for (const fd of fds) closeSync(fd)
    throw err
  }
  let lastT = performance.now()
  let lastDisk = diskReadBytes(disks)
  let lastFaults = faultsOf()
  recorderCpuMs += cpuMsSince(cpu0)
  o.onLine(header)
  o.onLine({ type: 'initial', resident: initial.added })

  let samples = 0
  let addedPages = 0
  let ended = false
  let stopRequested = false
  let timer: NodeJS.Timeout | null = null
  let nextDue = t0 + intervalMs
  const residentBytes = () => trackers.reduce((a, t, i) => a + Math.min(t.residentPages * page, files[i].bytes), 0)
  let finish: (e: RecordingEnd) => void = () => {}
  const done = new Promise<RecordingEnd>((ok) => (finish = ok))

  function end(reason: RecordingEndReason, note?: string): void {
    ended = true
    if (timer) clearTimeout(timer)
    for (const fd of fds) closeSync(fd)
    const line: RecordingEnd = { type: 'end', tMs: Math.round(performance.now() - t0), reason, samples, recorderCpuMs: Math.round(recorderCpuMs * 10) / 10 }
    if (note) line.note = note
    try {
      o.onLine(line)
    } catch (err) {
      // The sink failed (a full disk under --out): the end still resolves, with the reason.
      if (!line.note) line.note = `writing the end line failed: ${(err as Error).message}`
    }
    finish(line)
  }

  function tick(): void {
    timer = null
    if (ended) return
    const cpu = process.cpuUsage()
    let reason: RecordingEndReason | null = null
    try {
      // The process is checked before the scan, so the scan after its exit catches its last pages;
      // the last scan asks every range (see PageTracker.scan).
      const stat = o.pid !== undefined ? procStat(o.pid) : null
      if (stopRequested) reason = 'stopped'
      else if (o.pid !== undefined && hasExited(stat)) reason = 'pid-exited'
      else if (o.seconds !== undefined && performance.now() - t0 >= o.seconds * 1000) reason = 'seconds'
      else if (samples + 1 >= maxSamples) reason = 'limit'
      const delta: PageDelta = { added: [], removed: [] }
      let covered = 0
      for (const [i, t] of trackers.entries()) covered += t.scan(delta, reason !== null ? Infinity : budgets[i]) * t.pages
      const now = performance.now()
      const dt = (now - lastT) / 1000
      const disk = diskReadBytes(disks)
      const faults = o.pid !== undefined ? (stat?.majflt ?? null) : systemMajorFaults()
      const sample: RecordingSample = {
        type: 'sample',
        tMs: Math.round(now - t0),
        added: delta.added,
        removed: delta.removed,
        residentBytes: residentBytes(),
        diskReadBytesPerSec: disk !== null && lastDisk !== null && dt > 0 ? Math.max(0, Math.round((disk - lastDisk) / dt)) : null,
        majorFaultsPerSec: faults !== null && lastFaults !== null && dt > 0 ? Math.max(0, Math.round(((faults - lastFaults) / dt) * 10) / 10) : null,
      }
      const coverage = covered / Math.max(1, totalPages)
      if (coverage < 1) sample.coverage = Math.round(coverage * 1000) / 1000
      lastT = now
      lastDisk = disk
      if (faults !== null) lastFaults = faults
      samples++
      addedPages += runPages(delta.added)
      o.onLine(sample)
    } catch (err) {
      recorderCpuMs += cpuMsSince(cpu)
      return end('error', (err as Error).message)
    }
    const cost = cpuMsSince(cpu)
    recorderCpuMs += cost
    if (reason) return end(reason)
    // A tick that cost a lot of CPU (a mincore-only kernel, a burst of scattered reads) delays the
    // next, so the recorder never takes more than about a fifth of a core (a twentieth on mincore
    // walks). CPU time, not wall time: on a busy machine a tick waits for a core without costing.
    const now = performance.now()
    nextDue = Math.max(nextDue + intervalMs, now + cost * (o.probe === 'mincore' ? 19 : 4))
    if (o.seconds !== undefined) nextDue = Math.min(nextDue, Math.max(now, t0 + o.seconds * 1000))
    timer = setTimeout(tick, Math.max(0, nextDue - now))
  }
  timer = setTimeout(tick, Math.max(0, nextDue - performance.now()))

  return {
    header,
    done,
    stop() {
      if (ended || stopRequested) return
      stopRequested = true
      if (timer) clearTimeout(timer)
      tick()
    },
    progress: () => ({ elapsedMs: performance.now() - t0, samples, addedBytes: addedPages * page, residentBytes: residentBytes(), totalBytes }),
  }
}

function runPages(runs: PageRun[]): number {
  let n = 0
  for (const r of runs) n += r[2]
  return n
}

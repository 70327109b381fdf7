// The load lab's results in the shapes people take away: the `hearth run --json` line, CSV, a
// per-mode summary for the bar chart and table, and the memory presets. Pure: the CLI and the UI
// share it.
import type { LabExperiment, LabMode, LabResultLine, LabRun } from '../contract/lab'

/** The run record without its samples (what JSON export and `--json` carry per run). */
export function runRecord(r: LabRun): Omit<LabRun, 'samples'> {
  const { samples: _samples, ...rest } = r
  return rest
}

/** `{model, loader, runs: [{mode, loadMs, firstTokenMs, tokensPerSec, majorFaults, readBytes, residentBeforeBytes, residentAfterBytes, …}]}` */
export function resultLine(e: LabExperiment): LabResultLine {
  return {
    model: e.model,
    loader: e.loader,
    // The promised keys first, in the promised order; the rest of the record follows.
    runs: e.runs.map((r) => {
      const { mode, loadMs, firstTokenMs, tokensPerSec, majorFaults, readBytes, residentBeforeBytes, residentAfterBytes, ...rest } = runRecord(r)
      return { mode, loadMs, firstTokenMs, tokensPerSec, majorFaults, readBytes, residentBeforeBytes, residentAfterBytes, ...rest }
    }),
  }
}

const csvColumns = [
  'mode', 'repeat', 'status', 'loader', 'loadMs', 'firstTokenMs', 'tokensPerSec', 'tokens', 'majorFaults', 'minorFaults',
  'readBytes', 'residentBeforeBytes', 'residentAfterBytes', 'rssAnonBytes', 'rssFileBytes', 'rssShmemBytes', 'refaults',
  'memoryLimitBytes', 'readFromFsType', 'pid', 'startedAtMs', 'endedAtMs', 'error',
] as const

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return ''
  const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** One row per run, with the model and memory setup repeated so rows stand alone in a spreadsheet. */
export function experimentCsv(e: LabExperiment): string {
  const head = ['model', 'fileBytes', 'memoryMethod', 'leaveBytes', ...csvColumns]
  const rows = e.runs.map((r) => {
    const cells: Record<(typeof csvColumns)[number], unknown> = {
      ...r,
      readFromFsType: r.readFrom?.fsType,
      error: r.error ? `${r.error.code}: ${r.error.message}` : undefined,
    }
    return [e.model, e.bytes, e.memory?.method, e.memory?.leaveBytes, ...csvColumns.map((c) => cells[c])].map(csvCell).join(',')
  })
  return [head.join(','), ...rows].join('\n') + '\n'
}

export interface ModeSummary {
  mode: LabMode
  runs: number
  /** Means over the finished runs; null when none finished */
  loadMs: number | null
  firstTokenMs: number | null
  tokensPerSec: number | null
  readBytes: number | null
  majorFaults: number | null
}

const mean = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x))
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null
}

/** Per mode, in matrix order: means of the finished runs. */
export function summarizeByMode(e: Pick<LabExperiment, 'matrix' | 'runs'>): ModeSummary[] {
  return e.matrix.map((mode) => {
    const done = e.runs.filter((r) => r.mode === mode && r.status === 'done')
    return {
      mode,
      runs: done.length,
      loadMs: mean(done.map((r) => r.loadMs)),
      firstTokenMs: mean(done.map((r) => r.firstTokenMs)),
      tokensPerSec: mean(done.map((r) => r.tokensPerSec)),
      readBytes: mean(done.map((r) => r.readBytes)),
      majorFaults: mean(done.map((r) => r.majorFaults)),
    }
  })
}

export interface MemoryPreset {
  id: 'all-ram' | 'half-disk' | 'all-disk'
  label: string
  /** null: no limit */
  leaveBytes: number | null
}

/**
 * "All in RAM" (no limit), "half on disk" (the model may keep half its bytes) and "all on disk"
 * (none: every page is read again when it is needed). The pressure method cannot go under the
 * helper's floor, so there the leave never drops below it.
 */
export function memoryPresets(modelBytes: number, floorBytes = 0): MemoryPreset[] {
  return [
    { id: 'all-ram', label: 'All in RAM', leaveBytes: null },
    { id: 'half-disk', label: 'Half on disk', leaveBytes: Math.max(floorBytes, Math.round(modelBytes / 2)) },
    { id: 'all-disk', label: 'All on disk', leaveBytes: floorBytes },
  ]
}

/** Reads from a finished run whether the model came from the RAM disk, the page cache or the disk. */
export function whereFrom(r: Pick<LabRun, 'readFrom' | 'readBytes' | 'residentBeforeBytes'>, fileBytes: number): 'ram disk' | 'page cache' | 'disk' | 'unknown' {
  if (r.readFrom?.fsType === 'tmpfs') return 'ram disk'
  if (r.readBytes === null) return 'unknown'
  return r.readBytes > fileBytes * 0.5 ? 'disk' : 'page cache'
}

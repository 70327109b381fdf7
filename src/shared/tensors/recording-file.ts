// A recording as a file: JSON lines (header, initial, samples…, end), checked with zod when read
// back (an imported file is untrusted input), and a CSV export for spreadsheets.
import { z } from 'zod'
import { tensorKinds, type Recording, type RecordingLine } from '../contract/tensors'
import { forEachOverlap, judgedRuns, tensorIndex } from './analysis'

const count = z.number().int().min(0)
const run = z.tuple([count, count, count])
const file = z.object({ path: z.string(), bytes: count, tensorDataOffset: count })
const tensor = z.object({
  name: z.string(),
  layer: count.nullable(),
  kind: z.enum(tensorKinds),
  file: count,
  offset: count,
  bytes: count,
  type: z.string(),
  shape: z.array(count),
  experts: count.optional(),
})

const header = z.object({
  type: z.literal('header'),
  format: z.literal('hearth-recording'),
  version: z.literal(1),
  modelId: z.string().optional(),
  name: z.string(),
  files: z.array(file).min(1),
  pageBytes: z.number().int().min(512),
  hz: z.number().gt(0),
  method: z.enum(['sampled', 'tracepoint']),
  startedAtMs: z.number(),
  pid: z.number().int().optional(),
  faultsScope: z.enum(['process', 'system']),
  disks: z.array(z.string()),
  tensors: z.array(tensor),
})
const initial = z.object({ type: z.literal('initial'), resident: z.array(run) })
const sample = z.object({
  type: z.literal('sample'),
  tMs: z.number().min(0),
  added: z.array(run),
  removed: z.array(run),
  residentBytes: count,
  diskReadBytesPerSec: z.number().nullable(),
  majorFaultsPerSec: z.number().nullable(),
  coverage: z.number().min(0).max(1).optional(),
})
const end = z.object({
  type: z.literal('end'),
  tMs: z.number().min(0),
  reason: z.enum(['seconds', 'pid-exited', 'stopped', 'limit', 'error']),
  note: z.string().optional(),
  samples: count,
  recorderCpuMs: z.number().min(0),
})

export function recordingLine(line: RecordingLine): string {
  return JSON.stringify(line)
}

/** The whole recording as JSON lines (what `hearth record --out` writes, one line at a time). */
export function recordingToJsonl(rec: Recording): string {
  const lines: RecordingLine[] = [rec.header, rec.initial, ...rec.samples, ...(rec.end ? [rec.end] : [])]
  return lines.map(recordingLine).join('\n') + '\n'
}

/**
 * Reads a recording file back. Throws an Error naming the line and what is wrong with it; a file
 * cut short (no end line, a torn last line) still reads, as far as it goes.
 */
export function parseRecording(text: string, what = 'recording'): Recording {
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  if (lines.length === 0) throw new Error(`${what} is empty; pick a file that \`hearth record --out\` or the recorder's export wrote`)
  const parse = (i: number): unknown => {
    try {
      return JSON.parse(lines[i])
    } catch {
      return undefined
    }
  }
  const h = header.safeParse(parse(0))
  if (!h.success) throw new Error(`${what} is not a Hearth recording (line 1: ${h.error.issues[0]?.message ?? 'not JSON'} at ${h.error.issues[0]?.path.join('.') || 'top'}); pick a file that \`hearth record --out\` wrote`)
  const init = initial.safeParse(parse(1))
  if (!init.success) throw new Error(`${what}, line 2: not the initial residency line (${init.error.issues[0]?.message})`)
  const rec: Recording = { header: h.data, initial: init.data, samples: [] }
  const nFiles = h.data.files.length
  for (let i = 2; i < lines.length; i++) {
    const raw = parse(i)
    if (raw === undefined && i === lines.length - 1) break // torn last line: keep what came before
    const type = (raw as { type?: unknown } | undefined)?.type
    const r = type === 'end' ? end.safeParse(raw) : sample.safeParse(raw)
    if (!r.success) throw new Error(`${what}, line ${i + 1}: ${r.error.issues[0]?.message} at ${r.error.issues[0]?.path.join('.') || 'top'}`)
    if (r.data.type === 'end') {
      rec.end = r.data
      break
    }
    for (const [f] of [...r.data.added, ...r.data.removed]) {
      if (f >= nFiles) throw new Error(`${what}, line ${i + 1}: a page run names file ${f}, but the header lists ${nFiles}`)
    }
    rec.samples.push(r.data)
  }
  return rec
}

const csvField = (v: string | number | null) => {
  if (v === null) return ''
  const s = String(v)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/**
 * CSV for spreadsheets: one row per page run that became resident (event "added") or left the
 * cache ("removed"), and one "sample" row per sample carrying the rates, all on one time axis.
 * `first_tensor` names the first tensor the run overlaps; `sequential` is the 128 KiB rule's
 * verdict on an added run (see sequentiality in analysis.ts; empty for the first run).
 */
export function recordingToCsv(rec: Recording): string {
  const { files, tensors, pageBytes } = rec.header
  const order = tensorIndex(tensors)
  const firstTensor = (f: number, first: number, n: number) => {
    let name: string | null = null
    forEachOverlap(tensors, order, f, first * pageBytes, (first + n) * pageBytes, (t) => (name ??= tensors[t].name))
    return name
  }
  const judged = judgedRuns(rec)
  let next = 0
  const rows: (string | number | null)[][] = [
    ['t_ms', 'event', 'file', 'offset_bytes', 'bytes', 'first_tensor', 'sequential', 'resident_bytes', 'disk_read_bytes_per_sec', 'major_faults_per_sec'],
  ]
  for (const [f, first, n] of rec.initial.resident) rows.push([0, 'resident-at-start', files[f].path, first * pageBytes, n * pageBytes, firstTensor(f, first, n), null, null, null, null])
  for (const [si, s] of rec.samples.entries()) {
    rows.push([s.tMs, 'sample', null, null, null, null, null, s.residentBytes, s.diskReadBytesPerSec, s.majorFaultsPerSec])
    // judgedRuns lists each sample's added runs in the same sorted order.
    for (; next < judged.length && judged[next].sample === si; next++) {
      const { run: r, sequential } = judged[next]
      rows.push([s.tMs, 'added', files[r[0]].path, r[1] * pageBytes, r[2] * pageBytes, firstTensor(...r), sequential === null ? null : sequential ? 1 : 0, null, null, null])
    }
    for (const r of s.removed) rows.push([s.tMs, 'removed', files[r[0]].path, r[1] * pageBytes, r[2] * pageBytes, firstTensor(...r), null, null, null, null])
  }
  return rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n'
}

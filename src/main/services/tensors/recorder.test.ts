// The recorder on real files and real readers: the pages it reports are exactly the pages an
// independent mincore (python3 + ctypes) sees; a scripted front-to-back reader scores ≥ 95%
// sequential and a reader of random 1 MiB blocks ≤ 20%; a recording ends when its process exits.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Catalog, PageRun, Recording, RecordingLine } from '../../../shared/api'
import { sequentiality, summarize } from '../../../shared/tensors/analysis'
import { parseRecording, recordingToCsv, recordingToJsonl } from '../../../shared/tensors/recording-file'
import { createHub } from '../../hub'
import { pageSizeBytes } from '../../sys/cachestat'
import { GgmlType, writeGguf } from '../../../../test/helpers/gguf-writer'
import { llamaShape } from '../../../../test/helpers/model-shapes'
import { evict, evictRange, readRange } from '../../../../test/support/files'
import { hasPython, refereeRuns } from '../../../../test/support/mincore-referee'
import { createTensorsService } from './index'
import { coarseRangePages, PageTracker, type PageDelta } from './page-tracker'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..', '..')
const readerScript = join(root, 'test', 'children', 'paced-reader.ts')
const page = pageSizeBytes()
const MiB = 1 << 20
let dir = ''

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-recorder-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A sparse GGUF of about `mib` MiB: a tiny llama plus one large filler tensor. */
async function bigGguf(name: string, mib: number) {
  const spec = llamaShape({ layers: 2, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 1000, fileType: 'Q8_0', name })
  spec.tensors.push({ name: 'filler.weight', shape: [MiB, mib], type: GgmlType.I8 })
  return writeGguf(join(dir, `${name}.gguf`), { ...spec, sparse: true })
}

/** The whole disk under a path by findmnt and lsblk ([] on tmpfs, overlay and the like). */
function diskUnder(path: string): string[] {
  const source = execFileSync('findmnt', ['-no', 'SOURCE', '-T', path], { encoding: 'utf8' }).trim()
  if (!source.startsWith('/dev/')) return []
  const parent = execFileSync('lsblk', ['-no', 'PKNAME', source], { encoding: 'utf8' }).trim().split('\n')[0]
  return [parent || basename(source)]
}

const emptyCatalog: Catalog = { models: [], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }
const service = () =>
  createTensorsService({
    hub: createHub(),
    catalog: { current: () => emptyCatalog, resolve: async (t) => t.map((p) => ({ path: p, bytes: 0 })) },
  })

/** Applies runs to a set of resident pages and returns it as merged runs. */
function applyRuns(state: Set<number>, delta: PageDelta): PageRun[] {
  for (const [, first, n] of delta.removed) for (let p = first; p < first + n; p++) state.delete(p)
  for (const [, first, n] of delta.added) for (let p = first; p < first + n; p++) state.add(p)
  const runs: PageRun[] = []
  for (const p of [...state].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1]
    if (last && last[1] + last[2] === p) last[2]++
    else runs.push([0, p, 1])
  }
  return runs
}

describe.skipIf(!hasPython)('page tracker (skipped without python3, the independent mincore referee)', () => {
  it.each([false, true])('reports exactly the pages that came and went, as mincore sees them (mincore only: %s)', async (mincoreOnly) => {
    const w = await bigGguf(`track-${mincoreOnly}`, 192)
    const fd = openSync(w.path, 'r')
    try {
      const tracker = new PageTracker({ fd, file: 0, bytes: w.bytes, pageBytes: page, rangePages: coarseRangePages(w.bytes, page, 8), mincoreOnly })
      expect(coarseRangePages(w.bytes, page, 8) * page).toBeGreaterThanOrEqual(16 * MiB)
      const state = new Set<number>()
      const scene = [
        () => {
          evict(w.path)
        },
        // A long read across several coarse ranges, a short unaligned one, scattered pages.
        () => {
          readRange(w.path, 10 * MiB, 70 * MiB)
          readRange(w.path, 150 * MiB + 1234, 300_000)
          for (let i = 0; i < 40; i++) readRange(w.path, Math.round((95 + i * 1.37) * MiB), 1)
        },
        // Some of it leaves, some more comes.
        () => {
          evictRange(w.path, 20 * MiB, 5 * MiB)
          evictRange(w.path, 100 * MiB, 16 * MiB)
          readRange(w.path, 180 * MiB, 3 * MiB)
        },
      ]
      for (const [step, act] of scene.entries()) {
        // Compared when the kernel held still between our scan and the referee's walk.
        let got: PageRun[] = []
        let want: PageRun[] = []
        for (let attempt = 0; attempt < 5; attempt++) {
          act()
          const delta: PageDelta = { added: [], removed: [] }
          tracker.scan(delta)
          got = applyRuns(state, delta)
          want = refereeRuns(w.path)
          if (JSON.stringify(got) === JSON.stringify(want)) break
        }
        expect(got, `step ${step}`).toEqual(want)
        expect(tracker.residentPages, `step ${step}`).toBe(want.reduce((a, r) => a + r[2], 0))
      }
      // The scene really moved pages both ways.
      expect(state.size).toBeGreaterThan((60 * MiB) / page)
    } finally {
      closeSync(fd)
      evict(w.path)
    }
  })
})

describe.skipIf(!hasPython)('page tracker under a budget (skipped without python3, the independent mincore referee)', () => {
  it('asks a range or so per scan, reports coverage below 1, and still ends with exactly the pages mincore sees', async () => {
    const w = await bigGguf('budget', 192)
    const fd = openSync(w.path, 'r')
    try {
      evict(w.path)
      const rangePages = coarseRangePages(w.bytes, page, 8)
      const tracker = new PageTracker({ fd, file: 0, bytes: w.bytes, pageBytes: page, rangePages })
      const state = new Set<number>()
      applyRuns(state, (() => {
        const d: PageDelta = { added: [], removed: [] }
        tracker.scan(d)
        return d
      })())
      // Scattered pieces in every range, so every range holds entries and none is cheap.
      for (let mib = 1; mib < 190; mib += 3) readRange(w.path, mib * MiB, 64 * 1024)
      const ranges = Math.ceil(w.bytes / page / rangePages)
      let got: PageRun[] = []
      const coverages: number[] = []
      for (let i = 0; i < ranges * 3; i++) {
        const d: PageDelta = { added: [], removed: [] }
        coverages.push(tracker.scan(d, 1))
        got = applyRuns(state, d)
      }
      expect(Math.max(...coverages)).toBeLessThan(1)
      expect(got).toEqual(refereeRuns(w.path))
    } finally {
      closeSync(fd)
      evict(w.path)
    }
  })
})

interface Reader {
  child: ChildProcess
  go(): void
  exited: Promise<number | null>
}

/** Starts the paced reader and waits until it is ready; go() lets it read. */
async function startReader(args: string[]): Promise<Reader> {
  const child = spawn(process.execPath, ['--import', 'tsx', readerScript, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)))
  await new Promise<void>((ok, fail) => {
    lines.once('line', (l) => (l === 'ready' ? ok() : fail(new Error(`reader said ${l}`))))
    child.once('exit', (code) => fail(new Error(`reader exited ${code} before it was ready`)))
  })
  return { child, go: () => child.stdin!.write('go\n'), exited }
}

/** Records `path` at 10 Hz until the reader's process exits; returns the recording. */
async function recordReader(path: string, readerArgs: string[]): Promise<Recording> {
  const reader = await startReader(readerArgs)
  const lines: RecordingLine[] = []
  const recorder = await service().record({ target: path, hz: 10, pid: reader.child.pid }, (l) => lines.push(l))
  reader.go()
  expect(await reader.exited).toBe(0)
  const end = await recorder.done
  expect(end.reason).toBe('pid-exited')
  return parseRecording(lines.map((l) => JSON.stringify(l)).join('\n'))
}

describe('recorder', () => {
  it('scores a paced front-to-back reader of 1 MiB blocks at least 95% sequential', async () => {
    const w = await bigGguf('seq', 512)
    evict(w.path)
    const filler = w.tensors.find((t) => t.name === 'filler.weight')!
    try {
      // 320 MiB at about 100 MiB/s: some 30 samples.
      const rec = await recordReader(w.path, ['seq', w.path, '320', '10'])
      const s = sequentiality(rec)
      const sum = summarize(rec)
      console.log(`sequential reader: ${(s.share! * 100).toFixed(1)}% sequential over ${s.runs} runs, ${sum.samples} samples, ${(sum.addedBytes / MiB).toFixed(0)} MiB added`)
      expect(sum.samples).toBeGreaterThan(10)
      expect(sum.addedBytes).toBeGreaterThanOrEqual(320 * MiB)
      expect(s.share).toBeGreaterThanOrEqual(0.95)
      // The recording names what was read: the header and the start of the filler tensor.
      expect(rec.header.tensors.some((t) => t.name === 'filler.weight' && t.offset === w.tensorDataOffset + filler.offset)).toBe(true)
      expect(rec.header.faultsScope).toBe('process')
    } finally {
      evict(w.path)
    }
  })

  it('scores a paced reader of random 1 MiB blocks at most 20% sequential', async () => {
    const w = await bigGguf('random', 4096)
    evict(w.path)
    try {
      const rec = await recordReader(w.path, ['random', w.path, '300', '10', '7'])
      const s = sequentiality(rec)
      const sum = summarize(rec)
      console.log(`random reader: ${(s.share! * 100).toFixed(1)}% sequential over ${s.runs} runs, ${sum.samples} samples`)
      expect(sum.samples).toBeGreaterThan(10)
      expect(s.runs).toBeGreaterThanOrEqual(250)
      expect(s.share).toBeLessThanOrEqual(0.2)
    } finally {
      evict(w.path)
    }
  })

  it('ends after the given seconds, keeps counters on one clock, and round-trips through JSON lines and CSV', async () => {
    const w = await bigGguf('seconds', 64)
    evict(w.path)
    readRange(w.path, 0, 4 * MiB)
    const lines: RecordingLine[] = []
    const recorder = await service().record({ target: w.path, hz: 5, seconds: 1.2 }, (l) => lines.push(l))
    setTimeout(() => readRange(w.path, 32 * MiB, 8 * MiB), 400)
    const end = await recorder.done
    expect(end.reason).toBe('seconds')
    expect(end.tMs).toBeGreaterThanOrEqual(1200)
    const rec = parseRecording(lines.map((l) => JSON.stringify(l)).join('\n'))
    expect(rec.header).toMatchObject({ hz: 5, method: 'sampled', faultsScope: 'system' })
    // 5 Hz over 1.2 s: about 6 samples (the machine may be busy: at least 3, at most 7).
    expect(rec.samples.length).toBeGreaterThanOrEqual(3)
    expect(rec.samples.length).toBeLessThanOrEqual(7)
    expect(rec.initial.resident.reduce((a, r) => a + r[2], 0) * page).toBeGreaterThanOrEqual(4 * MiB)
    const added = rec.samples.flatMap((s) => s.added)
    expect(added.reduce((a, r) => a + r[2], 0) * page).toBeGreaterThanOrEqual(8 * MiB)
    expect(added.every(([, first]) => first * page >= 32 * MiB - 128 * 1024)).toBe(true)
    // The disks are the whole disk under the file, as findmnt and lsblk name it; with one, every
    // sample has a read rate.
    expect(rec.header.disks).toEqual(diskUnder(w.path))
    expect(rec.samples.every((s) => (rec.header.disks.length > 0 ? s.diskReadBytesPerSec !== null && s.diskReadBytesPerSec >= 0 : s.diskReadBytesPerSec === null))).toBe(true)
    expect(rec.samples.slice(1).every((s) => s.majorFaultsPerSec !== null)).toBe(true)
    expect(parseRecording(recordingToJsonl(rec))).toEqual(rec)
    const csv = recordingToCsv(rec).trim().split('\n')
    expect(csv[0]).toBe('t_ms,event,file,offset_bytes,bytes,first_tensor,sequential,resident_bytes,disk_read_bytes_per_sec,major_faults_per_sec')
    expect(csv.filter((l) => l.split(',')[1] === 'sample')).toHaveLength(rec.samples.length)
    expect(csv.some((l) => l.includes(',added,') && l.includes('filler.weight'))).toBe(true)
    evict(w.path)
  })

  it('stop() takes a last sample and ends; a pid that is not running is refused', async () => {
    const w = await bigGguf('stop', 16)
    const lines: RecordingLine[] = []
    const recorder = await service().record({ target: w.path, hz: 10 }, (l) => lines.push(l))
    await new Promise((ok) => setTimeout(ok, 250))
    recorder.stop()
    const end = await recorder.done
    expect(end.reason).toBe('stopped')
    expect(lines[lines.length - 1]).toEqual(end)
    expect(end.samples).toBe(lines.filter((l) => l.type === 'sample').length)
    const dead = spawnSync('true').pid!
    await expect(service().record({ target: w.path, pid: dead }, () => {})).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(`no running process ${dead}`) })
  })

  it('reads back a file cut short and refuses one that is not a recording, naming the line', () => {
    expect(() => parseRecording('hello\n', 'x.jsonl')).toThrow(/x\.jsonl is not a Hearth recording \(line 1/)
    const header = { type: 'header', format: 'hearth-recording', version: 1, name: 'm', files: [{ path: '/m', bytes: 8192, tensorDataOffset: 0 }], pageBytes: 4096, hz: 10, method: 'sampled', startedAtMs: 0, faultsScope: 'system', disks: [], tensors: [] }
    const sample = { type: 'sample', tMs: 100, added: [[0, 0, 1]], removed: [], residentBytes: 4096, diskReadBytesPerSec: null, majorFaultsPerSec: 0 }
    const text = [header, { type: 'initial', resident: [] }, sample].map((l) => JSON.stringify(l)).join('\n') + '\n{"type":"sam'
    const rec = parseRecording(text)
    expect(rec.samples).toHaveLength(1)
    expect(rec.end).toBeUndefined()
    const bad = [header, { type: 'initial', resident: [] }, { ...sample, added: [[3, 0, 1]] }].map((l) => JSON.stringify(l)).join('\n')
    expect(() => parseRecording(bad, 'r.jsonl')).toThrow(/r\.jsonl, line 3: a page run names file 3, but the header lists 1/)
  })
})

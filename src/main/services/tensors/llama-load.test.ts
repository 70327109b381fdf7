// A recording of a real llama.cpp load (node-llama-cpp, CPU, mmap, in a child process) of a GGUF
// this test writes: token_embd and the first layers become resident before the last layers.
// The child caps its own reads at 20 MB/s (cgroup v1 blkio, as root) so the ~110 MB load spans
// dozens of the recorder's 100 ms samples; unthrottled, this VM reads it within one sample and
// the order in time could not show.
import { spawn } from 'node:child_process'
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Catalog, Recording, RecordingLine } from '../../../shared/api'
import { firstTouches, layerFirstTouch, summarize } from '../../../shared/tensors/analysis'
import { parseRecording } from '../../../shared/tensors/recording-file'
import { createHub } from '../../hub'
import { writeGguf } from '../../../../test/helpers/gguf-writer'
import { loadableLlamaShape } from '../../../../test/helpers/model-shapes'
import { evict } from '../../../../test/support/files'
import { createTensorsService } from './index'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
const child = join(root, 'test', 'children', 'llama-load-child.ts')
const canThrottle = process.geteuid?.() === 0 && existsSync('/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device')
let dir = ''

beforeAll(() => {
  // Under the repository, not /tmp: a tmpfs /tmp has no disk to throttle or evict from.
  dir = mkdtempSync(join(root, 'tmp-recorder-llama-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const emptyCatalog: Catalog = { models: [], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }

it.skipIf(!canThrottle)(
  'a recorded llama.cpp load reads token_embd and the first layers before the last layers (skipped without root and cgroup v1 blkio to slow the read to 20 MB/s)',
  { timeout: 180_000 },
  async () => {
    const layers = 8
    const path = join(dir, 'tiny-llama-Q8_0.gguf')
    // Real zeros on disk (not a hole), flushed and evicted: the load has to read them.
    const w = await writeGguf(path, loadableLlamaShape({ layers, embd: 1024, ff: 2816, heads: 8, headsKv: 8, fileType: 'Q8_0' }))
    const fd = openSync(path, 'r+')
    fsyncSync(fd)
    closeSync(fd)
    evict(path)

    const proc = spawn(process.execPath, ['--import', 'tsx', child, path, '20000000'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
    const exited = new Promise<number | null>((ok) => proc.once('exit', ok))
    const lines = createInterface({ input: proc.stdout! })
    const said: string[] = []
    lines.on('line', (l) => said.push(l))
    await new Promise<void>((ok, fail) => {
      // The child may say how it throttled its reads ("read throttle: …") before "ready".
      lines.on('line', (l) => (l === 'ready' ? ok() : /^read throttle: /.test(l) ? undefined : fail(new Error(`child said ${l}`))))
      proc.once('exit', (code) => fail(new Error(`child exited ${code} before it was ready`)))
    })
    const recorded: RecordingLine[] = []
    const service = createTensorsService({ hub: createHub(), catalog: { current: () => emptyCatalog, resolve: async (t) => t.map((p) => ({ path: p, bytes: w.bytes })) } })
    const recorder = await service.record({ target: path, hz: 10, pid: proc.pid }, (l) => recorded.push(l))
    proc.stdin!.write('go\n')
    expect(await exited).toBe(0)
    expect(said).toContain('done')
    const end = await recorder.done
    expect(end.reason).toBe('pid-exited')
    const rec: Recording = parseRecording(recorded.map((l) => JSON.stringify(l)).join('\n'))
    evict(path)

    const sum = summarize(rec)
    expect(sum.startBytes).toBe(0)
    // The whole model was read (a decode touches every weight).
    expect(sum.addedBytes).toBeGreaterThanOrEqual(w.bytes - w.tensorDataOffset)
    const touches = firstTouches(rec)
    const at = (name: string) => {
      const i = rec.header.tensors.findIndex((t) => t.name === name)
      const t = touches.find((x) => x.tensor === i)
      if (!t) throw new Error(`${name} was never touched`)
      return t.tMs
    }
    const perLayer = layerFirstTouch(rec, touches)
    console.log(`llama.cpp load: first touch per layer (ms) ${perLayer.join(', ')}; token_embd ${at('token_embd.weight')} ms; ${sum.samples} samples`)
    // token_embd and layer 0 come strictly earlier (another sample) than the last layer …
    expect(at('token_embd.weight')).toBeLessThan(at(`blk.${layers - 1}.attn_q.weight`))
    expect(perLayer[0]!).toBeLessThan(perLayer[layers - 1]!)
    // … the layers come in order …
    for (let l = 1; l < layers; l++) expect(perLayer[l]!, `layer ${l}`).toBeGreaterThanOrEqual(perLayer[l - 1]!)
    // … and over several samples, not all at once.
    expect(new Set(perLayer).size).toBeGreaterThanOrEqual(4)
    expect(rec.header.faultsScope).toBe('process')
  },
)

// The tensor map against what the test writer laid out (offsets it computed itself, not read
// back), and its residency against an independent mincore (python3 + ctypes) and fincore.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Catalog, Model } from '../../../shared/api'
import type { TensorInfo, TensorMap } from '../../../shared/contract/tensors'
import { createHub } from '../../hub'
import { createTensorsService, modelTargetOf } from './index'
import { buildGrid, cellFraction } from '../../../shared/tensors/grid'
import { pageSizeBytes } from '../../sys/cachestat'
import { writeGguf, type WrittenGguf } from '../../../../test/helpers/gguf-writer'
import { llamaShape, qwen3MoeShape } from '../../../../test/helpers/model-shapes'
import { writeSplitGguf } from '../../../../test/helpers/split-gguf'
import { evict, fincoreBytes, readRange, vmtouchRange } from '../../../../test/support/files'
import { hasPython, refereeRanges, type RefereeAnswer } from '../../../../test/support/mincore-referee'
import { tensorLayout } from './layout'
import { measureTensorMap } from './measure'
import { kindOf, layerOf } from '../../../shared/tensors/classify'

const page = pageSizeBytes()
let dir = ''

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-tensors-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const moeSpec = (name: string) =>
  qwen3MoeShape({ name, layers: 4, embd: 512, heads: 8, headsKv: 4, ff: 1024, vocab: 4096, experts: { count: 16, used: 2, ff: 512 }, fileType: 'Q8_0' })

/** The writer's own ranges, file by file: [file index, absolute start, bytes, name]. */
function writerRanges(written: WrittenGguf[]) {
  return written.flatMap((w, file) => w.tensors.map((t) => ({ file, name: t.name, start: w.tensorDataOffset + t.offset, bytes: t.bytes, shape: t.shape })))
}

function expectSameRanges(tensors: TensorInfo[], written: WrittenGguf[]) {
  const want = writerRanges(written)
  expect(tensors.map((t) => [t.file, t.name, t.offset, t.bytes])).toEqual(want.map((w) => [w.file, w.name, w.start, w.bytes]))
}

describe('tensor map byte ranges', () => {
  it('match the writer layout for a dense llama GGUF, with 32- and 64-byte alignment', async () => {
    for (const alignment of [32, 64]) {
      const w = await writeGguf(join(dir, `llama-${alignment}.gguf`), { ...llamaShape({ layers: 3, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 1000, fileType: 'Q4_K_M' }), alignment, sparse: true })
      const layout = await tensorLayout([w.path])
      expect(layout.files).toEqual([{ path: w.path, bytes: w.bytes, tensorDataOffset: w.tensorDataOffset }])
      expectSameRanges(layout.tensors, [w])
      expect(layout.blockCount).toBe(3)
      expect(layout.tensors.find((t) => t.name === 'blk.2.ffn_down.weight')).toMatchObject({ layer: 2, kind: 'ffn' })
      expect(layout.tensors.find((t) => t.name === 'blk.0.attn_norm.weight')).toMatchObject({ layer: 0, kind: 'norm' })
      expect(layout.tensors.find((t) => t.name === 'token_embd.weight')).toMatchObject({ layer: null, kind: 'embeddings' })
      expect(layout.tensors.find((t) => t.name === 'output.weight')).toMatchObject({ layer: null, kind: 'output' })
    }
  })

  it('match the writer layout for a Qwen3-MoE GGUF; each expert is a contiguous slice of its stacked tensor', async () => {
    const w = await writeGguf(join(dir, 'moe.gguf'), { ...moeSpec('moe'), sparse: true })
    const layout = await tensorLayout([w.path])
    expectSameRanges(layout.tensors, [w])
    expect(layout.expertCount).toBe(16)
    const exps = layout.tensors.filter((t) => t.kind === 'experts')
    expect(exps.map((t) => t.name)).toEqual([0, 1, 2, 3].flatMap((l) => ['gate', 'up', 'down'].map((p) => `blk.${l}.ffn_${p}_exps.weight`)))
    for (const t of exps) {
      const spec = w.tensors.find((x) => x.name === t.name)!
      // The writer's shape says [ne0, ne1, n_expert]: expert e's matrix is ne0·ne1 elements.
      expect(t.experts).toBe(spec.shape[2])
      const perExpert = spec.bytes / spec.shape[2]
      expect(Number.isInteger(perExpert)).toBe(true)
    }
    expect(layout.tensors.find((t) => t.name === 'blk.1.ffn_gate_inp.weight')).toMatchObject({ kind: 'router', layer: 1 })
    expect(layout.tensors.find((t) => t.name === 'blk.1.attn_k_norm.weight')).toMatchObject({ kind: 'norm', layer: 1 })
  })

  it('match every shard of a split GGUF, each with its own header and tensor data offset', async () => {
    const shards = await writeSplitGguf(dir, 'split-moe', { ...moeSpec('split moe'), sparse: true }, 3)
    expect(new Set(shards.map((s) => s.tensorDataOffset)).size).toBeGreaterThan(1)
    const layout = await tensorLayout(shards.map((s) => s.path))
    expect(layout.files.map((f) => [f.path, f.tensorDataOffset])).toEqual(shards.map((s) => [s.path, s.tensorDataOffset]))
    expectSameRanges(layout.tensors, shards)
    // The block count comes from the first shard's metadata, which the later shards lack.
    expect(layout.blockCount).toBe(4)
    expect(layout.tensors.filter((t) => t.file === 2).length).toBeGreaterThan(0)
  })

  it('refuses a truncated GGUF and a file that is not GGUF, naming the file', async () => {
    const w = await writeGguf(join(dir, 'cut.gguf'), { ...llamaShape({ layers: 1, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 1000, fileType: 'Q8_0' }), sparse: true })
    execFileSync('truncate', ['-s', String(w.bytes - 4096), w.path])
    await expect(tensorLayout([w.path])).rejects.toThrow(/cut\.gguf is not a readable GGUF file \(tensor output\.weight ends at byte \d+, past the end of the file/)
    execFileSync('sh', ['-c', `echo hello > ${join(dir, 'text.gguf')}`])
    await expect(tensorLayout([join(dir, 'text.gguf')])).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('text.gguf is not a readable GGUF file') })
  })
})

describe('model targets', () => {
  it('maps a catalog model by its weight files, whatever their names (Ollama blobs), leaving projectors out', async () => {
    const blob = join(dir, 'sha256-6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa')
    const w = await writeGguf(blob, { ...llamaShape({ layers: 2, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 1000, fileType: 'Q8_0' }), sparse: true })
    const model: Model = { id: 'ollama:llama-test', name: 'llama-test:latest', source: 'ollama', format: 'gguf', root: dir, bytes: w.bytes, files: [{ path: blob, bytes: w.bytes, role: 'weights' }, { path: join(dir, 'sha256-proj'), bytes: 1, role: 'projector' }] }
    const catalog = {
      current: (): Catalog => ({ models: [model], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }),
      resolve: async () => model.files.map((f) => ({ path: f.path, bytes: f.bytes, modelId: model.id })),
    }
    expect(await modelTargetOf(catalog, 'llama-test')).toEqual({ name: 'llama-test:latest', modelId: 'ollama:llama-test', paths: [blob] })
    const map = await createTensorsService({ hub: createHub(), catalog }).tensorMap('llama-test')
    expect(map).toMatchObject({ name: 'llama-test:latest', modelId: 'ollama:llama-test', blockCount: 2 })
    expect(map.tensors).toHaveLength(w.tensors.length)
    const st = { ...model, format: 'safetensors' as const }
    await expect(modelTargetOf({ ...catalog, current: () => ({ models: [st], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }) }, 'x')).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('is a safetensors model; the tensor map and the recorder read GGUF files'),
    })
  })
})

describe('names', () => {
  it.each([
    ['token_embd.weight', null, 'embeddings'],
    ['output.weight', null, 'output'],
    ['output_norm.weight', null, 'norm'],
    ['blk.7.attn_q.weight', 7, 'attention'],
    ['blk.7.attn_output.weight', 7, 'attention'],
    ['blk.7.attn_q_norm.weight', 7, 'norm'],
    ['blk.12.ffn_gate_inp.weight', 12, 'router'],
    ['blk.12.exp_probs_b.bias', 12, 'router'],
    ['blk.12.ffn_down_exps.weight', 12, 'experts'],
    ['blk.12.ffn_up_shexp.weight', 12, 'ffn'],
    ['blk.3.ffn_up.weight', 3, 'ffn'],
    ['rope_freqs.weight', null, 'other'],
  ])('%s → layer %s, %s', (name, layer, kind) => {
    expect(layerOf(name)).toBe(layer)
    expect(kindOf(name)).toBe(kind)
  })
})


describe.skipIf(!hasPython)('residency per tensor (skipped without python3, the independent mincore referee)', () => {
  it.each(['cachestat', 'mincore'] as const)('by %s equals mincore from python3 over each tensor and each expert slice, vmtouch -p over each tensor, and fincore over the file', async (probe) => {
    const w = await writeGguf(join(dir, `moe-res-${probe}.gguf`), { ...moeSpec('moe res'), sparse: true })
    const layout = await tensorLayout([w.path])
    const byName = (n: string) => layout.tensors.find((t) => t.name === n)!
    const prepare = () => {
      evict(w.path)
      // The embeddings, half of layer 0's experts, and ranges that start and end mid-page.
      const e = byName('token_embd.weight')
      readRange(w.path, e.offset, e.bytes)
      for (const p of ['gate', 'up', 'down']) {
        const t = byName(`blk.0.ffn_${p}_exps.weight`)
        readRange(w.path, t.offset, t.bytes / 2)
      }
      const q = byName('blk.2.attn_q.weight')
      readRange(w.path, q.offset + 1000, q.bytes - 3000)
      const d = byName('blk.3.ffn_down_exps.weight')
      readRange(w.path, d.offset + 5 * (d.bytes / 16) + 123, 2 * (d.bytes / 16))
    }
    const ranges: [number, number][] = layout.tensors.map((t) => [t.offset, t.bytes])
    const slices = layout.tensors.flatMap((t, i) =>
      t.experts ? Array.from({ length: t.experts }, (_, e) => ({ i, e, range: [t.offset + Math.floor((e * t.bytes) / t.experts!), Math.floor(((e + 1) * t.bytes) / t.experts!) - Math.floor((e * t.bytes) / t.experts!)] as [number, number] })) : [],
    )
    // Ours, the referee, ours again: compared only when nothing moved in between (pages still
    // in flight or dropped by the kernel would make a fair comparison fail).
    let ours: TensorMap | undefined
    let ref: RefereeAnswer | undefined
    let peer: { pages: number; residentPages: number }[] = []
    for (let attempt = 0; attempt < 5; attempt++) {
      prepare()
      const before = await measureTensorMap(layout, probe, { name: 'moe', experts: true })
      ref = refereeRanges(w.path, [...ranges, ...slices.map((s) => s.range)])
      // A peer tool over the same ranges too: vmtouch -p counts the pages each tensor spans.
      peer = ranges.map(([offset, bytes]) => vmtouchRange(w.path, offset, offset + bytes))
      const after = await measureTensorMap(layout, probe, { name: 'moe', experts: true })
      ours = after
      if (JSON.stringify(before.residentBytes) === JSON.stringify(after.residentBytes)) break
    }
    expect(ours!.residentBytes).toEqual(ref!.ranges.slice(0, ranges.length).map((r) => r.residentBytes))
    expect(peer).toEqual(ref!.ranges.slice(0, ranges.length).map((r) => ({ pages: r.pages, residentPages: r.residentPages })))
    // Ours in whole pages, as vmtouch counts them: a tensor's partly resident edge page counts whole.
    for (const [i, t] of layout.tensors.entries()) {
      const first = Math.floor(t.offset / page)
      const last = Math.ceil((t.offset + t.bytes) / page)
      if (ours!.residentBytes[i] === 0) expect(peer[i].residentPages, t.name).toBe(0)
      if (ours!.residentBytes[i] === t.bytes) expect(peer[i].residentPages, t.name).toBe(last - first)
    }
    for (const [k, s] of slices.entries()) {
      const r = ref!.ranges[ranges.length + k]
      expect(ours!.expertResident![s.i][s.e], `${layout.tensors[s.i].name} expert ${s.e}`).toBeCloseTo(r.residentPages / r.pages, 12)
    }
    // The scene is what it should be: some of it resident, not all.
    const total = ours!.residentBytes.reduce<number>((a, b) => a + (b ?? 0), 0)
    expect(total).toBeGreaterThan(w.bytes / 10)
    expect(total).toBeLessThan(w.bytes / 2)
    // fincore over the whole file: whole pages, as it counts them.
    expect(Math.ceil(ours!.files[0].residentBytes! / page)).toBe(fincoreBytes(w.path) / page)
    expect(ref!.residentPages * page).toBe(fincoreBytes(w.path))
    // Layer 0's experts are half resident, layer 1's (almost) not at all; per expert, 0–7 in and
    // 8–15 out. "Almost": slices are not page-aligned and the kernel may cache a large folio
    // around a read, so a neighbour can show a page or two.
    const grid = buildGrid(layout.tensors, ours!.residentBytes, ours!.expertResident)
    const ex = grid.kinds.indexOf('experts')
    expect(cellFraction(grid.layers[0][ex])).toBeCloseTo(0.5, 1)
    expect(cellFraction(grid.layers[1][ex])).toBeLessThan(0.01)
    expect(grid.experts![0].slice(0, 8).every((f) => f === 1)).toBe(true)
    expect(Math.max(...grid.experts![0].slice(8))).toBeLessThan(0.05)
    evict(w.path)
  })
})

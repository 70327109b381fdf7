// Several GPUs on GGUF files the test writes itself: llama.cpp's layer split (-ts, split mode
// layer) and whole-card placement. These figures are modelled from the single-GPU measurements
// (no multi-GPU machine was at hand), so the tests hold the mechanism, not measured bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeGguf } from '../helpers/gguf-writer'
import { llamaShape, qwen2Shape } from '../helpers/model-shapes'
import { readGgufHeader } from '../../src/main/services/gguf/read-gguf'
import { cudaTensorBytes, defaultPlanOptions, estimateModel, modelShapeFrom, planModels, planOnGpus, slotDevices, type ModelShape } from '../../src/shared/planner'

const MiB = 2 ** 20
let dir: string
const shapes: Record<string, ModelShape> = {}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-plan-multi-'))
  const specs = {
    'chat-3b': qwen2Shape({ name: 'chat 3B', layers: 36, embd: 2048, heads: 16, headsKv: 2, ff: 11008, vocab: 151936, fileType: 'Q4_K_M', contextLength: 32768 }),
    'code-7b': llamaShape({ name: 'code 7B', layers: 28, embd: 3584, heads: 28, headsKv: 4, ff: 18944, vocab: 152064, fileType: 'Q4_K_M', contextLength: 32768 }),
  }
  for (const [name, spec] of Object.entries(specs)) {
    const w = await writeGguf(join(dir, `${name}.gguf`), { ...spec, sparse: true })
    const h = await readGgufHeader(w.path)
    shapes[name] = modelShapeFrom(w.path, h.metadata, h.tensors, w.bytes)
  }
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const layerBytes = (s: ModelShape, il: number) => s.tensors.filter((t) => t.name.startsWith(`blk.${il}.`)).reduce((a, t) => a + cudaTensorBytes(t.shape, t.type), 0)
const outputBytes = (s: ModelShape) => s.tensors.filter((t) => t.name.startsWith('output')).reduce((a, t) => a + cudaTensorBytes(t.shape, t.type), 0)

describe('layer split across cards (-ts, split mode layer)', () => {
  it('assigns slots by the cumulative ratio as llama.cpp does; the output layer goes to the last card with a share', () => {
    // 28 layers + the output layer = 29 slots; 1,1 puts slots with k/29 < 0.5 (layers 0–14) on card 0.
    const d = slotDevices(28, 29, [1, 1])
    expect(d.slice(0, 15)).toEqual(Array(15).fill(0))
    expect(d.slice(15)).toEqual(Array(14).fill(1))
    expect(slotDevices(28, 29, [3, 1]).filter((x) => x === 0).length).toBe(22) // k/29 < 0.75
    expect(slotDevices(28, 29, [1, 0])).toEqual(Array(29).fill(0)) // a 0 ratio gets nothing
    expect(slotDevices(28, 29, [0, 1])).toEqual(Array(29).fill(1))
    // -ngl 10: layers 0–18 stay on the host; the 10 offloaded slots split 5/5.
    expect(slotDevices(28, 10, [1, 1])).toEqual([...Array(19).fill(-1), ...Array(5).fill(0), ...Array(5).fill(1)])
  })

  it('50/50 puts half the offloaded slots\' weights and KV on each card, the output layer on the last', () => {
    const s = shapes['code-7b']
    const o = { ...defaultPlanOptions, ngl: 999, ctx: 8192 }
    const one = estimateModel(s, o)
    const two = estimateModel(s, { ...o, split: [1, 1] })
    const [g0, g1] = two.vramByGpu
    let w0 = 0
    let w1 = outputBytes(s)
    for (let il = 0; il < 28; il++) {
      if (il < 15) w0 += layerBytes(s, il)
      else w1 += layerBytes(s, il)
    }
    expect(g0.weightsMiB).toBeCloseTo(w0 / MiB, 1)
    expect(g1.weightsMiB).toBeCloseTo(w1 / MiB, 1)
    // 16 MiB of f16 KV per layer at 8192 cells: it follows its layer.
    expect(g0.kvMiB).toBe(15 * 16)
    expect(g1.kvMiB).toBe(13 * 16)
    expect(g0.kvMiB + g1.kvMiB).toBe(one.vram.kvMiB)
    expect(g0.weightsMiB + g1.weightsMiB).toBeCloseTo(one.vram.weightsMiB, 1)
    expect(two.warnings.join()).toMatch(/modelled from single-GPU measurements/)
  })

  it('counts the CUDA context, cuBLAS, kernels and pool once per card used, and a compute buffer on each', () => {
    const s = shapes['code-7b']
    const o = { ...defaultPlanOptions, ngl: 999, ctx: 8192 }
    const one = estimateModel(s, o)
    const two = estimateModel(s, { ...o, split: [1, 1] })
    expect(two.vramByGpu.map((g) => g.overheadMiB)).toEqual([one.vram.overheadMiB, one.vram.overheadMiB])
    expect(two.vram.overheadMiB).toBeCloseTo(2 * one.vram.overheadMiB, 1)
    expect(two.vramByGpu.map((g) => g.computeMiB)).toEqual([one.vram.computeMiB, one.vram.computeMiB])
    // The whole model on card 1 of three: cards 0 and 2 untouched, card 1 exactly the one-card plan.
    const placed = estimateModel(s, { ...o, split: [0, 1, 0] })
    expect(placed.vramByGpu[0].totalMiB).toBe(0)
    expect(placed.vramByGpu[2].totalMiB).toBe(0)
    expect(placed.vramByGpu[1]).toEqual(one.vram)
    expect(placed.vram).toEqual(one.vram)
  })

  it('keeps one-card plans as they were', () => {
    const inputs = [
      { shape: shapes['chat-3b'], ngl: 999, options: { ctx: 4096 } },
      { shape: shapes['code-7b'], ngl: 'max' as const, options: { ctx: 4096 } },
    ]
    const a = planModels(inputs, 6144, '6 GB')
    expect(a.gpus).toEqual([{ index: 0, name: '6 GB', vramTotalMiB: 6144, usedMiB: a.vramUsedMiB, marginMiB: a.marginMiB, fits: a.fits }])
    expect(a.models.map((m) => m.vramByGpu[0])).toEqual(a.models.map((m) => m.vram))
    expect(a.multiGpuNote).toBeUndefined()
    expect(a.exports.commands[0]).toMatch(/^llama-server /)
    expect(a.exports.compose).toContain('count: all')
  })
})

describe('several models on several cards', () => {
  it('places two models on two cards, each card paying only its own model', () => {
    const cards = [{ name: 'card A', vramMiB: 6144 }, { name: 'card B', vramMiB: 6144 }]
    const r = planOnGpus(
      [
        { shape: shapes['chat-3b'], ngl: 999, options: { ctx: 4096, split: [1, 0] } },
        { shape: shapes['code-7b'], ngl: 999, options: { ctx: 4096, split: [0, 1] } },
      ],
      cards,
    )
    const alone = (name: string) => planModels([{ shape: shapes[name], ngl: 999, options: { ctx: 4096 } }], 6144, 'x').models[0].vram.totalMiB
    expect(r.gpus.map((g) => g.usedMiB)).toEqual([alone('chat-3b'), alone('code-7b')])
    expect(r.fits).toBe(true)
    expect(r.gpus.every((g) => g.fits)).toBe(true)
    expect(r.marginMiB).toBe(Math.min(...r.gpus.map((g) => g.marginMiB)))
    expect(r.multiGpuNote).toMatch(/no multi-GPU machine/)
    expect(r.exports.commands[0]).toMatch(/^CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 llama-server /)
    expect(r.exports.commands[1]).toMatch(/^CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1 llama-server /)
    expect(r.exports.commands[1]).not.toContain('-ts')
    expect(r.exports.compose).toContain('device_ids: ["0"]')
    expect(r.exports.compose).toContain('device_ids: ["1"]')
    expect(r.exports.env).toContain('CUDA_VISIBLE_DEVICES=1')
    // Both on card A alone would not fit in 6 GB.
    const crowded = planOnGpus(
      [
        { shape: shapes['chat-3b'], ngl: 999, options: { ctx: 4096, split: [1, 0] } },
        { shape: shapes['code-7b'], ngl: 999, options: { ctx: 4096, split: [1, 0] } },
      ],
      cards,
    )
    expect(crowded.gpus.map((g) => g.fits)).toEqual([false, true])
    expect(crowded.fits).toBe(false)
  })

  it('exports a split as -sm layer -ts over the cards that hold a share', () => {
    const r = planOnGpus([{ shape: shapes['code-7b'], ngl: 999, options: { ctx: 4096, split: [3, 0, 1] } }], [24576, 24576, 24576].map((vramMiB, i) => ({ name: `card ${i}`, vramMiB })))
    expect(r.exports.commands[0]).toMatch(/^CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,2 llama-server .* -sm layer -ts 3,1 /)
    expect(r.exports.compose).toContain('device_ids: ["0", "2"]')
    expect(r.exports.compose).toContain('LLAMA_ARG_TENSOR_SPLIT: "3,1"')
    expect(r.gpus[1].usedMiB).toBe(0)
  })

  it('solves the largest -ngl that fits every card with the split given', () => {
    const s = shapes['code-7b']
    const cards = [{ name: 'small', vramMiB: 2048 }, { name: 'big', vramMiB: 24576 }]
    const r = planOnGpus([{ shape: s, ngl: 'max', options: { ctx: 4096, split: [1, 1] } }], cards)
    const ngl = r.models[0].ngl
    expect(r.fits).toBe(true)
    expect(ngl).toBeGreaterThan(0)
    expect(ngl).toBeLessThan(29) // the big card alone could take it all: the small one binds
    for (const g of r.gpus) expect(g.usedMiB).toBeLessThanOrEqual(g.vramTotalMiB - 256)
    // Every larger -ngl overflows some card.
    for (let more = ngl + 1; more <= 29; more++) {
      const p = estimateModel(s, { ...r.models[0].options, ngl: more })
      expect(p.vramByGpu.some((v, k) => v.totalMiB > cards[k].vramMiB - 256)).toBe(true)
    }
    // Weighting the big card lets more layers on.
    expect(planOnGpus([{ shape: s, ngl: 'max', options: { ctx: 4096, split: [1, 9] } }], cards).models[0].ngl).toBeGreaterThan(ngl)
  })

  it('refuses a split with more ratios than cards, or none above 0', () => {
    const card = [{ name: 'a', vramMiB: 8192 }, { name: 'b', vramMiB: 8192 }]
    expect(() => planOnGpus([{ shape: shapes['code-7b'], ngl: 1, options: { split: [1, 1, 1] } }], card)).toThrow(/3 split ratios .* for 2 GPUs/)
    expect(() => planOnGpus([{ shape: shapes['code-7b'], ngl: 1, options: { split: [0, 0] } }], card)).toThrow(/every split ratio is 0/)
  })
})

// The planner on GGUF files the test writes itself (real shapes, sparse weights).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GgmlType } from '../helpers/gguf-writer'
import { chat3b, code7b, writeShape } from './written-shapes'
import { gemma3Shape, qwen3MoeShape } from '../helpers/model-shapes'
import { defaultPlanOptions, estimateModel, planModels, tensorBytes, type ModelShape } from '../../src/shared/planner'

const MiB = 2 ** 20
let dir: string
const shapes: Record<string, ModelShape> = {}

const load = async (name: string, spec: Parameters<typeof writeShape>[2]) => void (shapes[name] = await writeShape(dir, name, spec))

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-plan-'))
  // Qwen2.5-3B-Instruct and Qwen2.5-Coder-7B shapes at Q4_K_M: the 6 GB laptop case.
  await load('chat-3b', chat3b())
  await load('code-7b', code7b())
  await load('gemma', gemma3Shape({ layers: 34, embd: 2560, heads: 8, headsKv: 4, headDim: 256, ff: 10240, vocab: 262208, fileType: 'Q4_K_M' }))
  await load('moe', qwen3MoeShape({ layers: 48, embd: 2048, heads: 32, headsKv: 4, headDim: 128, ff: 6144, vocab: 151936, fileType: 'Q4_K_M', experts: { count: 128, used: 8, ff: 768 } }))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('weights and -ngl placement', () => {
  it('puts the output layer first, then the last blocks; token_embd stays on the host', () => {
    const s = shapes['code-7b']
    const o = { ...defaultPlanOptions, ctx: 8192 }
    const out = s.tensors.find((t) => t.name === 'output.weight')!
    const embd = s.tensors.find((t) => t.name === 'token_embd.weight')!
    const p1 = estimateModel(s, { ...o, ngl: 1 })
    const norm = tensorBytes([3584], GgmlType.F32)
    expect(p1.vram.weightsMiB).toBeCloseTo((tensorBytes(out.shape, out.type) + norm) / MiB, 1)
    expect(p1.vram.kvMiB).toBe(0)
    const p2 = estimateModel(s, { ...o, ngl: 2 })
    const last = s.tensors.filter((t) => t.name.startsWith('blk.27.')).reduce((a, t) => a + tensorBytes(t.shape, t.type), 0)
    expect((p2.vram.weightsMiB - p1.vram.weightsMiB)).toBeCloseTo((last) / MiB, 1)
    expect(p2.vram.kvMiB).toBe(16) // one layer: 8192 cells × 2 × 512 × 2 bytes
    const all = estimateModel(s, { ...o, ngl: 999 })
    expect(all.host.weightsMiB).toBeCloseTo((tensorBytes(embd.shape, embd.type)) / MiB, 1)
  })

  it('copies the tied token embedding to the GPU as the output layer', () => {
    const s = shapes['chat-3b']
    expect(s.tied).toBe(true)
    const embd = s.tensors.find((t) => t.name === 'token_embd.weight')!
    const p = estimateModel(s, { ...defaultPlanOptions, ngl: 1 })
    expect(p.vram.weightsMiB * MiB).toBeGreaterThanOrEqual(tensorBytes(embd.shape, embd.type))
    expect(p.host.weightsMiB * MiB).toBeGreaterThanOrEqual(tensorBytes(embd.shape, embd.type))
    expect(estimateModel(s, { ...defaultPlanOptions, ngl: 0 }).vram.weightsMiB).toBe(0)
  })

  it('keeps experts on the host with --cpu-moe', () => {
    const s = shapes.moe
    const full = estimateModel(s, { ...defaultPlanOptions, ngl: 999 })
    const cmoe = estimateModel(s, { ...defaultPlanOptions, ngl: 999, cpuMoe: true })
    const experts = s.tensors.filter((t) => t.name.includes('_exps.')).reduce((a, t) => a + tensorBytes(t.shape, t.type), 0)
    expect((full.vram.weightsMiB - cmoe.vram.weightsMiB)).toBeCloseTo((experts) / MiB, 1)
    expect(cmoe.host.weightsMiB).toBeGreaterThan(full.host.weightsMiB)
  })
})

describe('KV cache', () => {
  it('uses exact block sizes and splits -c over slots unless unified', () => {
    const s = shapes['code-7b']
    const kv = (o: Partial<typeof defaultPlanOptions>) => estimateModel(s, { ...defaultPlanOptions, ngl: 999, ctx: 8192, ...o }).vram.kvMiB
    expect(kv({})).toBe(448)
    expect(kv({ cacheTypeK: 'q8_0', cacheTypeV: 'q8_0' })).toBe(238) // 34/32 bytes per element
    expect(kv({ cacheTypeK: 'q4_0', cacheTypeV: 'q4_0' })).toBe(126) // 18/32
    expect(kv({ cacheTypeK: 'q5_1', cacheTypeV: 'q5_1' })).toBe(168) // 24/32
    expect(kv({ ctx: 8000 })).toBe(448) // padded to 256
    expect(kv({ parallel: 4 })).toBe(448)
    expect(estimateModel(s, { ...defaultPlanOptions, ctx: 8192, parallel: 4 }).ctxPerSlot).toBe(2048)
    expect(estimateModel(s, { ...defaultPlanOptions, ctx: 8192, parallel: 4, kvUnified: true }).ctxPerSlot).toBe(8192)
  })

  it('holds only the window (+ ubatch) in sliding-window layers', () => {
    const s = shapes.gemma
    expect(s.swaLayers.filter((x) => !x).length).toBe(5)
    // 5 global layers × 8192 + 29 local × (1024 + 512), 4096 bytes per cell
    expect(estimateModel(s, { ...defaultPlanOptions, ngl: 999, ctx: 8192 }).vram.kvMiB).toBe(334)
    expect(estimateModel(s, { ...defaultPlanOptions, ngl: 999, ctx: 8192, parallel: 4 }).vram.kvMiB).toBe(856)
  })

  it('warns that a quantised V cache needs flash attention', () => {
    const p = estimateModel(shapes['code-7b'], { ...defaultPlanOptions, cacheTypeV: 'q8_0', flashAttn: false })
    expect(p.warnings.join()).toMatch(/flash attention/)
  })
})

describe('solver', () => {
  it('6 GB: the 3B chat model fully on the GPU and the largest -ngl of the 7B coder that fits', () => {
    const r = planModels(
      [
        { shape: shapes['chat-3b'], ngl: 999, options: { ctx: 4096 } },
        { shape: shapes['code-7b'], ngl: 'max', options: { ctx: 4096 } },
      ],
      6144,
      '6 GB laptop',
    )
    const ngl = r.models[1].ngl
    expect(r.fits).toBe(true)
    expect(ngl).toBeGreaterThan(0)
    expect(ngl).toBeLessThan(29)
    const one = planModels([{ shape: shapes['chat-3b'], ngl: 999, options: { ctx: 4096 } }, { shape: shapes['code-7b'], ngl: ngl + 1, options: { ctx: 4096 } }], 6144, '6 GB laptop')
    expect(one.fits).toBe(false)
    expect(one.suggestions.length).toBeGreaterThan(0)
    expect(r.vramUsedMiB).toBeLessThanOrEqual(6144 - 256)
    expect(r.exports.commands[1]).toContain(`-ngl ${ngl}`)
    expect(r.exports.ollama[1]).toContain(`num_gpu ${ngl}`)
    expect(r.exports.compose).toContain('LLAMA_ARG_N_GPU_LAYERS')
    console.log(`6 GB case: 3B all layers + 7B -ngl ${ngl}/29: ${r.vramUsedMiB} MiB of 6144, margin ${r.marginMiB} MiB`)
  })

  it('says plainly when nothing fits and what would help', () => {
    const r = planModels([{ shape: shapes.moe, ngl: 999, options: { ctx: 32768 } }], 8192, '8 GB')
    expect(r.fits).toBe(false)
    expect(r.suggestions.map((s) => s.flags)).toContain('--cpu-moe')
  })
})

describe('exports of a model whose file name is hostile', () => {
  it('compose keeps the name a name: no injected keys, the binds exactly the folders', async () => {
    const { parse } = await import('yaml')
    const path = '/models/dl/evil"\n    privileged: true\n    pid: host\n    labels:\n#.gguf'
    const dirPath = '/models/a:/a:ro", "/:/host"] #'
    const r = planModels(
      [
        { shape: { ...shapes['chat-3b'], path }, ngl: 999, options: { ctx: 4096 } },
        { shape: { ...shapes['chat-3b'], path: `${dirPath}/m.gguf` }, ngl: 999, options: { ctx: 4096 } },
      ],
      24576,
      '24 GB',
    )
    const doc = parse(r.exports.compose, { uniqueKeys: true }) as { services: Record<string, Record<string, unknown>> }
    const [a, b] = Object.values(doc.services)
    expect(Object.keys(a).sort()).toEqual(['deploy', 'environment', 'image', 'ports', 'volumes'])
    expect((a.environment as Record<string, string>).LLAMA_ARG_MODEL).toBe(path)
    expect(a.volumes).toEqual([{ type: 'bind', source: path.slice(0, path.lastIndexOf('/')), target: path.slice(0, path.lastIndexOf('/')), read_only: true }])
    expect(b.volumes).toEqual([{ type: 'bind', source: dirPath, target: dirPath, read_only: true }])
    expect(JSON.stringify(doc)).not.toMatch(/"privileged"|"\/:\/host"/)
  })
})

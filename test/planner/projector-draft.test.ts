// Everything a server loads beside its model: a vision projector (--mmproj) and a draft model
// (-md). The draft's buffers are llama.cpp's own for that model (held to the H100 measurements);
// the projector is modelled from the clip graph: the measured data holds no projector run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { linkSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeGguf } from '../helpers/gguf-writer'
import { clipProjectorShape } from '../helpers/model-shapes'
import { readGgufHeader } from '../../src/main/services/gguf/read-gguf'
import { defaultPlanOptions, estimateModel, planModels, projectorShapeFrom, tensorBytes, type ModelShape, type ProjectorShape } from '../../src/shared/planner'
import { plannerApi } from '../../src/main/api/planner'
import type { Context } from '../../src/main/context'
import { measuredRows, restoreShapes } from './h100-fixtures'

const MiB = 2 ** 20
let dir: string
let shapes: Map<string, ModelShape>
let projector: ProjectorShape
let vlm: string
let mmprojPath: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-extras-'))
  shapes = await restoreShapes(dir)
  // A CLIP ViT-L/14-like projector (24 layers, 1024 wide, 224 px → 256 patches) beside a VLM.
  mmprojPath = join(dir, 'vlm', 'mmproj-model-f16.gguf')
  mkdirSync(join(dir, 'vlm'))
  const w = await writeGguf(mmprojPath, { ...clipProjectorShape({ embd: 1024, layers: 24, projectionDim: 3584, name: 'test CLIP projector' }), sparse: true })
  const h = await readGgufHeader(w.path)
  projector = projectorShapeFrom(w.path, h.metadata, h.tensors, w.bytes)
  vlm = join(dir, 'vlm', 'vision-7b.gguf')
  linkSync(shapes.get('qwen2.5-7b-q4km')!.path, vlm)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('draft model (-md, -ngld, -cd)', () => {
  it("has llama.cpp's own weight, KV and compute buffers for its model, and no second CUDA context", () => {
    const main = shapes.get('qwen2.5-7b-q4km')!
    const draft = shapes.get('qwen2.5-3b-q4km')!
    const o = { ...defaultPlanOptions, ngl: 999, ctx: 8192, draft: { ngl: 999, ctx: 0, cacheTypeK: 'f16' as const, cacheTypeV: 'f16' as const } }
    const alone = estimateModel(main, o)
    const withDraft = estimateModel(main, o, undefined, { draft })
    // The measured row of the draft's model at the same settings (every layer, -c 8192, f16, fa on, -ub 512).
    const row = measuredRows().find((r) => r.model === 'qwen2.5-3b-q4km' && r.ngl === '999' && r.ctx === '8192' && r.np === '1' && r.ctk === 'f16' && r.fa === 'on' && r.ub === '512' && r.extra === '')!
    const d = withDraft.draft!
    expect(d.vram.weightsMiB).toBeCloseTo(Number(row.cuda0_model_MiB), 1)
    expect(d.vram.kvMiB).toBeCloseTo(Number(row.cuda0_kv_MiB), 1)
    expect(d.vram.computeMiB).toBeCloseTo(Number(row.cuda0_compute_MiB), 1)
    expect(d.vram.overheadMiB).toBe(0)
    expect(withDraft.vram.totalMiB).toBeCloseTo(alone.vram.totalMiB + Number(row.cuda0_sum_MiB), 0)
    expect(d.ctx).toBe(8192) // -cd 0: the main model's context
  })

  it('-ngld and -cd change only the draft; its KV type follows -ctkd/-ctvd', () => {
    const main = shapes.get('qwen2.5-7b-q4km')!
    const draft = shapes.get('qwen2.5-3b-q4km')!
    const o = { ...defaultPlanOptions, ngl: 999, ctx: 8192 }
    const full = estimateModel(main, { ...o, draft: { ngl: 999, ctx: 4096, cacheTypeK: 'q8_0', cacheTypeV: 'q8_0' } }, undefined, { draft })
    const part = estimateModel(main, { ...o, draft: { ngl: 10, ctx: 4096, cacheTypeK: 'q8_0', cacheTypeV: 'q8_0' } }, undefined, { draft })
    expect(full.draft!.ctx).toBe(4096)
    // 36 layers × 4096 cells × 2 × 256 elements at 34/32 bytes (q8_0)
    expect(full.draft!.vram.kvMiB).toBeCloseTo((36 * 4096 * 2 * 256 * 34) / 32 / MiB, 2)
    expect(part.draft!.vram.weightsMiB).toBeLessThan(full.draft!.vram.weightsMiB)
    expect(part.draft!.host.weightsMiB).toBeGreaterThan(full.draft!.host.weightsMiB)
    expect(part.vram.weightsMiB - part.draft!.vram.weightsMiB).toBeCloseTo(full.vram.weightsMiB - full.draft!.vram.weightsMiB, 2)
  })
})

describe('vision projector (--mmproj)', () => {
  it('reads the projector header: patches of the warm-up image, width, layers', () => {
    expect(projector).toMatchObject({ projectorType: 'mlp', nLayer: 24, nEmbd: 1024, patchSize: 14, imageSize: 224, warmupPatches: 256, nFf: 4096 })
  })

  it('adds every projector weight and the clip graph peak to the process, on its first GPU', () => {
    const shape = shapes.get('qwen2.5-7b-q4km')!
    const o = { ...defaultPlanOptions, ngl: 999, ctx: 8192 }
    const plain = estimateModel(shape, o)
    const p = estimateModel(shape, o, undefined, { projector })
    const weights = projector.tensors.reduce((s, t) => s + tensorBytes(t.shape, t.type), 0)
    expect(p.projector!.weightsMiB).toBeCloseTo(weights / MiB, 2)
    // Peak: the 3×14×14 input per patch, then the FFN of 256 patches: residual, input, up, activation.
    const P = 256
    const compute = 3 * P * 14 * 14 * 4 + P * (2 * 1024 + 2 * 4096) * 4
    expect(p.projector!.computeMiB).toBeCloseTo(compute / MiB, 2)
    expect(p.vram.totalMiB).toBeCloseTo(plain.vram.totalMiB + p.projector!.weightsMiB + p.projector!.computeMiB, 1)
    expect(p.projector!.note).toMatch(/not measured: the H100 measurements .* hold no projector run/)
    // Without flash attention the clip graph holds every head's f32 attention matrix.
    const noFa = estimateModel(shape, { ...o, flashAttn: false }, undefined, { projector })
    expect(noFa.projector!.computeMiB).toBeGreaterThanOrEqual(p.projector!.computeMiB)
    // --no-mmproj-offload: on the host instead.
    const cpu = estimateModel(shape, { ...o, noMmprojOffload: true }, undefined, { projector })
    expect(cpu.vram.totalMiB).toBeCloseTo(plain.vram.totalMiB, 2)
    expect(cpu.host.otherMiB).toBeCloseTo(plain.host.otherMiB + p.projector!.weightsMiB + p.projector!.computeMiB, 1)
  })

  it('is refused, naming the file and the fix, when the file is a language model', async () => {
    const ctx = { gpu: { now: async () => ({ atMs: 0, source: 'none', gpus: [] }) } } as unknown as Context
    const api = plannerApi(ctx, { llama: async () => null })
    await expect(api.plan({ models: [{ target: vlm, mmproj: vlm }], vramMiB: 24576 })).rejects.toThrow(/vision-7b\.gguf: not a vision projector .*pick the mmproj-\*\.gguf file/)
  })

  it("'auto' finds the mmproj file beside the model", async () => {
    const ctx = { gpu: { now: async () => ({ atMs: 0, source: 'none', gpus: [] }) } } as unknown as Context
    const api = plannerApi(ctx, { llama: async () => null })
    const r = await api.plan({ models: [{ target: vlm, mmproj: 'auto', ngl: 999 }], vramMiB: 24576 })
    expect(r.models[0].projector?.path).toBe(mmprojPath)
    await expect(api.plan({ models: [{ target: shapes.get('llama-tiny')!.path, mmproj: 'auto' }], vramMiB: 24576 })).rejects.toThrow(/no mmproj\*\.gguf beside it .*--mmproj FILE/)
  })
})

describe('exports with a projector and a draft', () => {
  it('llama-server flags, compose and env carry both; Ollama gets the projector and a note for the draft', () => {
    const r = planModels(
      [{ shape: shapes.get('qwen2.5-7b-q4km')!, ngl: 999, options: { ctx: 8192, draft: { ngl: 999, ctx: 0, cacheTypeK: 'f16', cacheTypeV: 'f16' } }, projector, draft: shapes.get('qwen2.5-3b-q4km')! }],
      81559,
      'NVIDIA H100 80GB HBM3',
    )
    const cmd = r.exports.commands[0]
    expect(cmd).toContain(`--mmproj ${projector.path}`)
    expect(cmd).toContain(`-md ${shapes.get('qwen2.5-3b-q4km')!.path} -ngld 37`)
    expect(cmd).not.toContain('-cd ') // the draft shares -c
    expect(r.exports.env).toContain(`LLAMA_ARG_MMPROJ=${projector.path}`)
    expect(r.exports.env).toContain('LLAMA_ARG_N_GPU_LAYERS_DRAFT=37')
    expect(r.exports.compose).toContain(`LLAMA_ARG_SPEC_DRAFT_MODEL: "${shapes.get('qwen2.5-3b-q4km')!.path}"`)
    expect(r.exports.ollama[0]).toMatch(new RegExp(`FROM ${shapes.get('qwen2.5-7b-q4km')!.path}\\nFROM ${projector.path}\\n# no draft model: Ollama does not do speculative decoding`))
  })
})

// Decode speed from memory bandwidth and the context / KV-type trade-off, on written GGUFs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { qwen3MoeShape } from '../helpers/model-shapes'
import { chat3b, code7b, writeShape } from './written-shapes'
import { defaultPlanOptions, estimateModel, planModels, readProfile, speedAt, tensorBytes, type ModelShape } from '../../src/shared/planner'

let dir: string
const shapes: Record<string, ModelShape> = {}
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-speed-'))
  const load = async (name: string, spec: Parameters<typeof writeShape>[2]) => void (shapes[name] = await writeShape(dir, name, spec))
  await load('code-7b', code7b())
  await load('chat-3b', chat3b())
  await load('moe', qwen3MoeShape({ layers: 48, embd: 2048, heads: 32, headsKv: 4, headDim: 128, ff: 6144, vocab: 151936, fileType: 'Q4_K_M', experts: { count: 128, used: 8, ff: 768 } }))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const bw = { gpuGBps: [192], hostGBps: 40, hostMeasured: true }

describe('decode tokens/s from memory bandwidth', () => {
  it('reads every weight but the embedding lookup once, plus the KV cache at half the context', () => {
    const s = shapes['code-7b']
    const o = { ...defaultPlanOptions, ctx: 4096 }
    const weights = s.tensors.filter((t) => t.name !== 'token_embd.weight').reduce((a, t) => a + tensorBytes(t.shape, t.type), 0)
    const kv = 28 * 2048 * (2 * 4 * 128 * 2) // 28 layers × 2048 cells × (K + V of 4 heads × 128, f16)
    const all = speedAt(s, readProfile(s, o), 29, undefined, bw)
    expect(all.gpuBytesPerToken[0]).toBe(weights + kv)
    expect(all.hostBytesPerToken).toBe(0)
    expect(all.exactTokensPerSec).toBeCloseTo(192e9 / (weights + kv), 6)
    expect(all.formula).toMatch(/^1 \/ \([\d.]+ GB ÷ 192 GB\/s \(GPU\)\) = [\d.]+ tok\/s$/)
    const none = speedAt(s, readProfile(s, o), 0, undefined, bw)
    expect(none.hostBytesPerToken).toBe(weights + kv)
    expect(none.exactTokensPerSec).toBeCloseTo(40e9 / (weights + kv), 6)
    // Every layer moved to the GPU makes it faster: the solver's "more layers" is "faster".
    const t = Array.from({ length: 30 }, (_, n) => speedAt(s, readProfile(s, o), n, undefined, bw).exactTokensPerSec)
    for (let n = 1; n < t.length; n++) expect(t[n]).toBeGreaterThan(t[n - 1])
  })

  it('a mixture of experts reads only the experts a token is routed to', () => {
    const s = shapes.moe
    const o = { ...defaultPlanOptions, ctx: 4096 }
    const experts = s.tensors.filter((t) => t.name.includes('_exps.')).reduce((a, t) => a + tensorBytes(t.shape, t.type), 0)
    const dense = s.tensors.filter((t) => !t.name.includes('_exps.') && t.name !== 'token_embd.weight').reduce((a, t) => a + tensorBytes(t.shape, t.type), 0)
    const kv = 48 * 2048 * (2 * 4 * 128 * 2)
    const p = speedAt(s, readProfile(s, o), 999, undefined, bw)
    expect(p.gpuBytesPerToken[0]).toBe(Math.round(dense + (experts * 8) / 128 + kv))
    const cmoe = speedAt(s, readProfile(s, { ...o, cpuMoe: true }), 999, undefined, bw)
    expect(cmoe.hostBytesPerToken).toBe(Math.round((experts * 8) / 128))
  })

  it('says what it assumed: an unmeasured host and an unknown card', () => {
    const r = planModels([{ shape: shapes['code-7b'], ngl: 10, options: { ctx: 4096 } }], 6144, 'Some card')
    expect(r.hostBandwidth).toEqual({ gbps: 40, measured: false })
    expect(r.models[0].speed!.assumptions.join(' ')).toMatch(/GPU bandwidth unknown: assumed 300 GB\/s.*host bandwidth not measured yet: assumed 40 GB\/s/)
    const m = planModels([{ shape: shapes['code-7b'], ngl: 10, options: { ctx: 4096 } }], 6144, 'NVIDIA RTX 4050 Laptop (6 GB)', 256, { hostGBps: 51.2 })
    expect(m.hostBandwidth).toEqual({ gbps: 51.2, measured: true })
    expect(m.models[0].speed!.assumptions).toEqual([])
    expect(m.models[0].speed!.formula).toMatch(/÷ 192 GB\/s \(GPU\) \+ [\d.]+ GB ÷ 51\.2 GB\/s \(host\)/)
  })
})

describe('context and KV cache type trade-off', () => {
  it('for each KV type and slot count: the largest context that fits beside the other model, and not one step more', () => {
    const r = planModels(
      [
        { shape: shapes['chat-3b'], ngl: 999, options: { ctx: 4096 } },
        { shape: shapes['code-7b'], ngl: 14, options: { ctx: 4096 } },
      ],
      6144,
      'NVIDIA RTX 4050 Laptop (6 GB)',
    )
    const code = r.models[1]
    const room = 6144 - 256 - r.models[0].vram.totalMiB
    const opts = code.contextOptions!
    expect(opts.map((c) => `${c.cacheType}×${c.parallel}`)).toEqual(['f16×1', 'f16×2', 'f16×4', 'q8_0×1', 'q8_0×2', 'q8_0×4', 'q4_0×1', 'q4_0×2', 'q4_0×4'])
    for (const c of opts) {
      const o = { ...code.options, cacheTypeK: c.cacheType, cacheTypeV: c.cacheType, flashAttn: true, parallel: c.parallel, promptTokens: undefined }
      expect(c.maxCtx).toBe(c.maxCtxPerSlot * c.parallel)
      if (c.maxCtx > 0) expect(estimateModel(shapes['code-7b'], { ...o, ctx: c.maxCtx }).vram.totalMiB).toBeLessThanOrEqual(room)
      if (c.maxCtxPerSlot < 32768) expect(estimateModel(shapes['code-7b'], { ...o, ctx: (c.maxCtxPerSlot + 256) * c.parallel }).vram.totalMiB).toBeGreaterThan(room)
    }
    const at = (t: string) => opts.find((c) => c.cacheType === t && c.parallel === 1)!
    // KV per 1024 tokens: 28 layers × 1024 × 2 × 512 elements: f16 2 bytes, q8_0 34/32, q4_0 18/32.
    expect(at('f16').kvMiBPer1k).toBe(56)
    expect(at('q8_0').kvMiBPer1k).toBe(29.75)
    expect(at('q4_0').kvMiBPer1k).toBe(15.75)
    expect(at('q4_0').maxCtx).toBeGreaterThan(at('q8_0').maxCtx)
    expect(at('q8_0').maxCtx).toBeGreaterThan(at('f16').maxCtx)
    expect(at('q8_0').needsFlashAttn).toBe(true)
    console.log(`context on 6 GB beside the 3B: ${opts.map((c) => `${c.cacheType}×${c.parallel} ${c.maxCtx}`).join(', ')}`)
  })
})

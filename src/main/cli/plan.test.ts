import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeGguf } from '../../../test/helpers/gguf-writer'
import { llamaShape, qwen2Shape } from '../../../test/helpers/model-shapes'
import { parsePlanArgs, planCommand, planJson } from './plan'
import { plannerApi } from '../api/planner'
import type { Context } from '../context'
import type { CliIo } from './command'

let dir: string
let chat: string
let code: string
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-cli-plan-'))
  chat = (await writeGguf(join(dir, 'chat-3b.gguf'), { ...qwen2Shape({ layers: 36, embd: 2048, heads: 16, headsKv: 2, ff: 11008, vocab: 151936, fileType: 'Q4_K_M' }), sparse: true })).path
  code = (await writeGguf(join(dir, 'code-7b.gguf'), { ...llamaShape({ layers: 28, embd: 3584, heads: 28, headsKv: 4, ff: 18944, vocab: 152064, fileType: 'Q4_K_M' }), sparse: true })).path
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('hearth plan arguments', () => {
  it('gives each model the flags that follow it', () => {
    const a = parsePlanArgs(['a.gguf', '--ctx', '4096', '-ngl', '99', 'b.gguf', '--ngl', 'max', '-ctk', 'q8_0', '--flash-attn=on', '--vram-mib', '6144', '--json'])
    expect(a.models).toEqual([{ target: 'a.gguf', ctx: 4096, ngl: 99 }, { target: 'b.gguf', ngl: 'max', cacheTypeK: 'q8_0', flashAttn: true }])
    expect(a).toMatchObject({ vramMiB: 6144, json: true })
  })
  it('names the bad flag and the fix', () => {
    expect(() => parsePlanArgs(['a.gguf', '--ctx', 'lots'])).toThrow(/--ctx needs a whole number.*"lots"/)
    expect(() => parsePlanArgs(['a.gguf', '--cache-type-k', 'q3'])).toThrow(/--cache-type-k takes one of f32, f16.*q8_0/)
    expect(() => parsePlanArgs(['a.gguf', '--flash-attn', 'auto'])).toThrow(/--flash-attn takes on or off/)
    expect(() => parsePlanArgs(['--ctx', '4096', 'a.gguf'])).toThrow(/must follow the model/)
    expect(() => parsePlanArgs(['a.gguf', '--gpu', 'x'])).toThrow(/unknown flag --gpu/)
    expect(() => parsePlanArgs(['--json'])).toThrow(/at least one GGUF/)
  })
})

describe('hearth plan on written GGUFs', () => {
  it('prints exactly the --json shape, with the largest -ngl of the 7B that fits 6 GB', async () => {
    const ctx = { gpu: { now: async () => ({ atMs: 0, source: 'none', gpus: [], noGpuReason: 'No GPU found: test' }) } } as unknown as Context
    const api = plannerApi(ctx)
    const out: string[] = []
    const io = { out: (t: string) => out.push(t), backend: async () => api } as unknown as CliIo
    const code0 = await planCommand.run([chat, '--ctx', '4096', code, '--ctx', '4096', '--ngl', 'max', '--vram-mib', '6144', '--json'], io)
    const j = JSON.parse(out[0])
    expect(code0).toBe(0)
    expect(Object.keys(j)).toEqual(['models', 'vramTotalMiB', 'fits', 'marginMiB'])
    expect(Object.keys(j.models[0])).toEqual(['path', 'ngl', 'vram', 'host'])
    expect(Object.keys(j.models[0].vram)).toEqual(['weightsMiB', 'kvMiB', 'computeMiB', 'overheadMiB', 'totalMiB'])
    expect(Object.keys(j.models[0].host)).toEqual(['weightsMiB', 'kvMiB', 'otherMiB', 'totalMiB'])
    expect(j.models[0].ngl).toBe(37)
    expect(j.models[1].ngl).toBeGreaterThan(0)
    expect(j.models[1].ngl).toBeLessThan(29)
    expect(j).toMatchObject({ vramTotalMiB: 6144, fits: true })
    // Without --vram-mib on a machine with no GPU: a plain answer naming the fix.
    await expect(api.plan({ models: [{ target: chat }] })).rejects.toThrow(/No GPU found.*--vram-mib/)
    expect(planJson(await api.plan({ models: [{ target: chat, ngl: 999 }], vramMiB: 1000 })).fits).toBe(false)
  })
})

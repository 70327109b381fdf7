import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeGguf } from '../../../test/helpers/gguf-writer'
import { llamaShape, qwen2Shape } from '../../../test/helpers/model-shapes'
import { parsePlanArgs, planCommand, planJson } from './plan'
import { plannerApi } from '../api/planner'
import type { Context } from '../context'
import type { CliIo } from './command'
import { createGpuService, plannerStillWorks } from '../services/gpu'
import { readNvidiaSmi } from '../services/gpu/nvidia-smi'
import { createHub } from '../hub'

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
  it('takes several cards, a device or a tensor split per model, and names the bad one', () => {
    const a = parsePlanArgs(['a.gguf', '--device', '1', 'b.gguf', '-ts', '3,1', 'c.gguf', '--device=CUDA0', '--vram-mib', '24576, 12288'])
    expect(a.gpusMiB).toEqual([24576, 12288])
    expect(a.vramMiB).toBeUndefined()
    expect(a.models).toEqual([{ target: 'a.gguf', device: 1 }, { target: 'b.gguf', tensorSplit: [3, 1] }, { target: 'c.gguf', device: 0 }])
    expect(() => parsePlanArgs(['a.gguf', '--tensor-split', '1,x'])).toThrow(/--tensor-split takes ratios ≥ 0.*"1,x".*--tensor-split 1,1/)
    expect(() => parsePlanArgs(['a.gguf', '--tensor-split', '0,0'])).toThrow(/--tensor-split takes ratios.*at least one above 0/)
    expect(() => parsePlanArgs(['a.gguf', '--device', 'gpu1'])).toThrow(/--device takes a card index.*"gpu1"/)
    expect(() => parsePlanArgs(['a.gguf', '--device', '2', '--vram-mib', '8192,8192'])).toThrow(/--device 2 is out of range: --vram-mib lists 2 cards \(0–1\)/)
    expect(() => parsePlanArgs(['a.gguf', '-ts', '1,1,1', '--vram-mib', '8192,8192'])).toThrow(/--tensor-split 1,1,1 has 3 ratios for 2 cards/)
    expect(() => parsePlanArgs(['a.gguf', '--device', '1', '-ts', '1,1'])).toThrow(/--device or --tensor-split, not both/)
    expect(() => parsePlanArgs(['a.gguf', '--vram-mib', '8192,lots'])).toThrow(/--vram-mib needs a whole number.*"lots"/)
  })
})

describe('hearth plan on written GGUFs', () => {
  it('prints exactly the --json shape, with the largest -ngl of the 7B that fits 6 GB', async () => {
    const ctx = { gpu: { now: async () => ({ atMs: 0, source: 'none', gpus: [], noGpuReason: 'No GPU found: test' }) } } as unknown as Context
    const api = plannerApi(ctx, { llama: async () => null })
    const out: string[] = []
    const io = { out: (t: string) => out.push(t), backend: async () => api } as unknown as CliIo
    // priority: the chat model listed first keeps every layer, the 7B gets what is left.
    const code0 = await planCommand.run([chat, '--ctx', '4096', code, '--ctx', '4096', '--ngl', 'max', '--vram-mib', '6144', '--objective', 'priority', '--json'], io)
    const j = JSON.parse(out[0])
    expect(code0).toBe(0)
    expect(Object.keys(j)).toEqual(['models', 'vramTotalMiB', 'fits', 'marginMiB', 'objective', 'alternatives'])
    expect(Object.keys(j.models[0])).toEqual(['path', 'ngl', 'vram', 'host', 'layers', 'estTokensPerSec'])
    expect(j.objective).toBe('priority')
    expect(j.models.map((m: { layers: number }) => m.layers)).toEqual([37, 29])
    expect(j.models[0].estTokensPerSec).toBeGreaterThan(j.models[1].estTokensPerSec)
    expect(j.alternatives.length).toBeGreaterThanOrEqual(2)
    for (const a of j.alternatives) {
      expect(Object.keys(a)).toEqual(['models', 'vramTotalMiB', 'fits', 'marginMiB', 'why'])
      expect(Object.keys(a.models[0])).toEqual(['path', 'ngl', 'vram', 'host', 'layers', 'estTokensPerSec'])
      expect(a.why).toMatch(/Ranked #\d under priority/)
    }
    expect(Object.keys(j.models[0].vram)).toEqual(['weightsMiB', 'kvMiB', 'computeMiB', 'overheadMiB', 'totalMiB'])
    expect(Object.keys(j.models[0].host)).toEqual(['weightsMiB', 'kvMiB', 'otherMiB', 'totalMiB'])
    expect(j.models[0].ngl).toBe(37)
    expect(j.models[1].ngl).toBeGreaterThan(0)
    expect(j.models[1].ngl).toBeLessThan(29)
    expect(j).toMatchObject({ vramTotalMiB: 6144, fits: true })
    // Without --vram-mib on a machine with no GPU: a plain answer naming the fix.
    await expect(api.plan({ models: [{ target: chat }] })).rejects.toThrow(/No GPU found.*--vram-mib/)
    // said once, in words a CLI user can act on (no API field names, no "preset" the CLI lacks)
    const seen = { gpu: { now: async () => ({ atMs: 0, source: 'none', gpus: [], noGpuReason: `No GPU found: nvidia-smi not found.${plannerStillWorks}` }) } } as unknown as Context
    const noGpu = await plannerApi(seen, { llama: async () => null }).plan({ models: [{ target: chat }] }).catch((e: Error) => e)
    expect((noGpu as Error).message).toBe("No GPU found: nvidia-smi not found. To plan for a card anyway, give its VRAM: `hearth plan … --vram-mib N`, or pick a card in the app's Planner.")
    // A file that is no model is the error to show first, whatever the cards: else the user adds
    // --vram-mib only to learn the model was wrong.
    const notModel = join(dir, 'notes.txt')
    writeFileSync(notModel, 'not a model\n')
    await expect(api.plan({ models: [{ target: notModel }] })).rejects.toThrow(`${notModel} is not a readable GGUF file`)
    await expect(api.plan({ models: [{ target: chat, draft: { target: notModel } }] })).rejects.toThrow(`${notModel} is not a readable GGUF file`)
    expect(planJson(await api.plan({ models: [{ target: chat, ngl: 999 }], vramMiB: 1000 })).fits).toBe(false)
    // A device beyond the cards planned: the API names the flag and the fix too.
    await expect(api.plan({ models: [{ target: chat, device: 1 }], vramMiB: 6144 })).rejects.toThrow(/device 1 \(--device\) is out of range: the plan has 1 GPU \(0–0\)/)
  })

  it('adds gpus and vramByGpu to --json for several cards, and says the figures are modelled', async () => {
    const ctx = { gpu: { now: async () => ({ atMs: 0, source: 'none', gpus: [] }) } } as unknown as Context
    const out: string[] = []
    const io = { out: (t: string) => out.push(t), backend: async () => plannerApi(ctx, { llama: async () => null }) } as unknown as CliIo
    const rc = await planCommand.run([chat, '--device', '0', code, '--tensor-split', '1,1', '--ngl', 'max', '--vram-mib', '6144,6144', '--json'], io)
    const j = JSON.parse(out[0])
    expect(rc).toBe(0)
    expect(Object.keys(j)).toEqual(['models', 'vramTotalMiB', 'fits', 'marginMiB', 'gpus', 'note', 'objective', 'alternatives'])
    expect(Object.keys(j.models[0])).toEqual(['path', 'ngl', 'vram', 'host', 'vramByGpu', 'layers', 'estTokensPerSec'])
    expect(j.gpus.map((g: { index: number; name: string }) => [g.index, g.name])).toEqual([[0, '6144 MiB card'], [1, '6144 MiB card']])
    expect(Object.keys(j.gpus[0])).toEqual(['index', 'name', 'vramTotalMiB', 'usedMiB', 'marginMiB', 'fits'])
    expect(j.vramTotalMiB).toBe(12288)
    expect(j.models[0].vramByGpu[1].totalMiB).toBe(0)
    expect(j.models[1].vramByGpu[0].weightsMiB).toBeGreaterThan(0)
    expect(j.models[1].vramByGpu[1].weightsMiB).toBeGreaterThan(0)
    expect(j.gpus[0].usedMiB).toBeCloseTo(j.models[0].vramByGpu[0].totalMiB + j.models[1].vramByGpu[0].totalMiB, 1)
    expect(j.note).toMatch(/no multi-GPU machine was available to measure/)
    await planCommand.run([chat, '--device', '1', '--vram-mib', '6144,6144'], io)
    expect(out[1]).toMatch(/GPU 1 FITS/)
    expect(out[1]).toMatch(/note: Multi-GPU figures are modelled/)
    expect(out[1]).toContain('CUDA_VISIBLE_DEVICES=1 llama-server')
  })
})

describe('hearth plan on the GPUs it finds (issue 8 item 16)', () => {
  afterEach(() => delete process.env.HEARTH_TEST_SMI)

  it('with several detected GPUs and no list, plans on every card, each by its free memory and bandwidth', async () => {
    // nvidia-smi as a stub printing two cards (test/fixtures/nvidia-smi/two-cards): the real
    // telemetry reads it.
    process.env.HEARTH_TEST_SMI = 'two-cards'
    const stub = join(__dirname, '../../../test/fixtures/nvidia-smi/stub/nvidia-smi')
    const gpu = createGpuService({ hub: createHub(), sources: { nvml: () => null, nvidiaSmi: () => readNvidiaSmi(stub), drm: async () => [] } })
    const api = plannerApi({ gpu } as unknown as Context, { llama: async () => null })
    const r = await api.plan({ models: [{ target: chat, ctx: 4096 }, { target: code, ctx: 4096, device: 1 }] })
    expect(r.gpus.map((g) => [g.name, g.vramTotalMiB])).toEqual([
      ['NVIDIA GeForce RTX 4060 Ti (free now)', 14537],
      ['NVIDIA GeForce RTX 3060 (free now)', 12009],
    ])
    // The 7B placed on the second card lands there; the first card holds only the 3B.
    expect(r.models[1].vramByGpu[1].totalMiB).toBeGreaterThan(0)
    expect(r.models[1].vramByGpu[0].totalMiB).toBe(0)
    expect(r.models[0].speed!.gpuGBps[0]).toBe(288)
    expect(r.models[1].speed!.gpuGBps[1]).toBe(360)
  })
})

describe('plan names', () => {
  it('names a catalog model (or a file the catalog holds) as the catalog does, so two quants of one model differ', async () => {
    // Two quants of one model share the GGUF's general.name; the catalog tells them apart.
    const q4 = (await writeGguf(join(dir, 'twin-Q4_K_M.gguf'), { ...qwen2Shape({ layers: 4, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 1000, fileType: 'Q4_K_M', name: 'Twin' }), sparse: true })).path
    const q8 = (await writeGguf(join(dir, 'twin-Q8_0.gguf'), { ...qwen2Shape({ layers: 4, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 1000, fileType: 'Q8_0', name: 'Twin' }), sparse: true })).path
    const models = [
      { id: 'lm:twin-q4', name: 'twin Q4_K_M', files: [{ path: q4 }] },
      { id: 'lm:twin-q8', name: 'twin:q8_0', files: [{ path: q8 }] },
    ]
    const catalog = {
      current: () => ({ models }),
      resolve: async (targets: string[]) =>
        targets.flatMap((t) => models.filter((m) => m.id === t).map((m) => ({ path: m.files[0].path, bytes: 0, modelId: m.id }))),
    }
    const ctx = { catalog, gpu: { now: async () => ({ atMs: 0, source: 'none', gpus: [] }) } } as unknown as Context
    const api = plannerApi(ctx, { llama: async () => null })
    const byId = await api.plan({ models: [{ target: 'lm:twin-q4' }, { target: 'lm:twin-q8' }], vramMiB: 6144 })
    expect(byId.models.map((m) => m.name)).toEqual(['twin Q4_K_M', 'twin:q8_0'])
    expect(byId.alternatives.flatMap((a) => a.models.map((m) => m.name))).not.toContain('Twin')
    // By path: the catalog's name for a file it holds; the GGUF's own name for one it does not.
    expect((await api.plan({ models: [{ target: q8 }, { target: chat }], vramMiB: 6144 })).models.map((m) => m.name)).toEqual(['twin:q8_0', 'qwen2 test model'])
  })
})

import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { HearthError, type HearthApi } from '../../shared/api'
import { gpuPresets, modelShapeFrom, planOnGpus, type ModelShape, type PlanGpu, type PlanModelInput } from '../../shared/planner'
import { defaultMarginMiB } from '../../shared/planner/solve'
import type { z } from 'zod'
import type { planGpuInput } from '../../shared/contract/planner'
import type { Context } from '../context'
import { readGgufHeader } from '../services/gguf/read-gguf'

type PlannerApi = Pick<HearthApi, 'gpus' | 'gpuHistory' | 'gpuPresets' | 'plan'>

/** A model id, name fragment or path → the GGUF's shape (header only). */
export async function shapeOf(ctx: Pick<Context, 'catalog'> | null, target: string): Promise<ModelShape> {
  let path: string | undefined
  const asPath = resolve(target)
  const st = await stat(asPath).catch(() => null)
  if (st?.isFile()) path = asPath
  else if (ctx) {
    const files = await ctx.catalog.resolve([target])
    path = files.find((f) => f.path.toLowerCase().endsWith('.gguf') && !/mmproj/i.test(f.path))?.path ?? files[0]?.path
  }
  if (!path) throw new HearthError('NOT_FOUND', `${target}: no such file or model; give a GGUF path or a model from \`hearth models\``)
  let header
  try {
    header = await readGgufHeader(path)
  } catch (err) {
    throw new HearthError('BAD_INPUT', `${path} is not a readable GGUF file (${(err as Error).message}); the planner needs a GGUF model`)
  }
  try {
    return modelShapeFrom(path, header.metadata, header.tensors, (await stat(path)).size)
  } catch (err) {
    throw new HearthError('BAD_INPUT', (err as Error).message)
  }
}

type PlanRequest = Parameters<HearthApi['plan']>[0]

/** A detected GPU id or a preset name → the card to plan against (free now for a detected one). */
async function cardOf(ctx: Context, spec: z.infer<typeof planGpuInput>): Promise<PlanGpu> {
  if (typeof spec !== 'string') return { name: spec.name, vramMiB: spec.freeMiB ?? spec.totalMiB }
  const preset = gpuPresets.find((p) => p.name === spec)
  if (preset) return { name: preset.name, vramMiB: preset.vramMiB }
  const g = (await ctx.gpu.now()).gpus.find((d) => d.id === spec)
  if (!g) throw new HearthError('NOT_FOUND', `gpu ${spec}: not a detected GPU id nor a preset; see gpuPresets or pass vramMiB`)
  const bytes = g.freeBytes ?? g.totalBytes
  if (!bytes) throw new HearthError('UNAVAILABLE', `${g.name} does not report its memory; pass vramMiB`)
  return { name: `${g.name} (free now)`, vramMiB: Math.floor(bytes / 2 ** 20) }
}

/** The cards of a request: the list, else one card from vramMiB / gpu / the detected GPU. */
async function gpusOf(ctx: Context, input: PlanRequest): Promise<PlanGpu[]> {
  if (input.gpus) return Promise.all(input.gpus.map((g) => cardOf(ctx, g)))
  if (input.vramMiB) return [{ name: `${input.vramMiB} MiB card`, vramMiB: input.vramMiB }]
  if (input.gpu) return [await cardOf(ctx, input.gpu)]
  const s = await ctx.gpu.now()
  const g = s.gpus.find((d) => d.freeBytes ?? d.totalBytes)
  if (!g) throw new HearthError('UNAVAILABLE', `${s.noGpuReason ?? 'No GPU found.'} Give the card's VRAM (vramMiB / --vram-mib) or pick a preset.`)
  return [{ name: `${g.name} (free now)`, vramMiB: Math.floor((g.freeBytes ?? g.totalBytes ?? 0) / 2 ** 20) }]
}

export function plannerApi(ctx: Context): PlannerApi {
  return {
    gpus: () => ctx.gpu.now(),
    gpuHistory: async (input) => ctx.gpu.history(input?.sinceMs),
    gpuPresets: async () => gpuPresets,
    async plan(input) {
      const gpus = await gpusOf(ctx, input)
      const inputs: PlanModelInput[] = []
      for (const m of input.models) {
        const { target, ngl, device, tensorSplit, ...options } = m
        const shape = await shapeOf(ctx, target)
        if (device !== undefined && device >= gpus.length)
          throw new HearthError('BAD_INPUT', `${shape.name}: device ${device} (--device) is out of range: the plan has ${gpus.length} GPU${gpus.length > 1 ? 's' : ''} (0–${gpus.length - 1}); pick one of those or list more cards (--vram-mib A,B)`)
        const split = device !== undefined ? gpus.map((_, i) => (i === device ? 1 : 0)) : tensorSplit
        inputs.push({ shape, ngl: ngl ?? 'max', options: split ? { ...options, split } : options })
      }
      return planOnGpus(inputs, gpus, input.marginMiB ?? defaultMarginMiB)
    },
  }
}

import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { HearthError, type HearthApi } from '../../shared/api'
import { gpuPresets, modelShapeFrom, planModels, type ModelShape, type PlanModelInput } from '../../shared/planner'
import { defaultMarginMiB } from '../../shared/planner/solve'
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

export function plannerApi(ctx: Context): PlannerApi {
  return {
    gpus: () => ctx.gpu.now(),
    gpuHistory: async (input) => ctx.gpu.history(input?.sinceMs),
    gpuPresets: async () => gpuPresets,
    async plan(input) {
      const inputs: PlanModelInput[] = []
      for (const m of input.models) {
        const { target, ngl, ...options } = m
        inputs.push({ shape: await shapeOf(ctx, target), ngl: ngl ?? 'max', options })
      }
      let vramMiB = input.vramMiB
      let gpuName = vramMiB ? `${vramMiB} MiB card` : ''
      if (!vramMiB && input.gpu) {
        const preset = gpuPresets.find((p) => p.name === input.gpu)
        if (preset) [vramMiB, gpuName] = [preset.vramMiB, preset.name]
        else {
          const g = (await ctx.gpu.now()).gpus.find((d) => d.id === input.gpu)
          if (!g) throw new HearthError('NOT_FOUND', `gpu ${input.gpu}: not a detected GPU id nor a preset; see gpuPresets or pass vramMiB`)
          const bytes = g.freeBytes ?? g.totalBytes
          if (!bytes) throw new HearthError('UNAVAILABLE', `${g.name} does not report its memory; pass vramMiB`)
          ;[vramMiB, gpuName] = [Math.floor(bytes / 2 ** 20), `${g.name} (free now)`]
        }
      }
      if (!vramMiB) {
        const s = await ctx.gpu.now()
        const g = s.gpus.find((d) => d.freeBytes ?? d.totalBytes)
        if (!g) throw new HearthError('UNAVAILABLE', `${s.noGpuReason ?? 'No GPU found.'} Give the card's VRAM (vramMiB / --vram-mib) or pick a preset.`)
        ;[vramMiB, gpuName] = [Math.floor((g.freeBytes ?? g.totalBytes ?? 0) / 2 ** 20), `${g.name} (free now)`]
      }
      return planModels(inputs, vramMiB, gpuName, input.marginMiB ?? defaultMarginMiB)
    },
  }
}

import { readdir, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { HearthError, type HearthApi, type Model } from '../../shared/api'
import {
  bandwidthOfCard,
  defaultMarginMiB,
  gpuPresets,
  modelShapeFrom,
  planOnGpus,
  projectorShapeFrom,
  type LlamaCapabilities,
  type ModelShape,
  type PlanGpu,
  type PlanModelInput,
  type ProjectorShape,
} from '../../shared/planner'
import type { z } from 'zod'
import type { planGpuInput, planModelInput } from '../../shared/contract/planner'
import type { Context } from '../context'
import { readGgufHeader } from '../services/gguf/read-gguf'
import { plannerStillWorks } from '../services/gpu'
import { checkAll, checkProcess, deviationFor, withChecks, type PlanCheckDeps } from '../services/gpu/plan-check'
import { measureHostBandwidth } from '../services/planner/host-bandwidth'
import { llamaCapabilities } from '../services/planner/llama-server'

type PlannerApi = Pick<HearthApi, 'gpus' | 'gpuHistory' | 'gpuPresets' | 'plan' | 'planChecks' | 'planCheck' | 'hostBandwidth' | 'measureHostBandwidth'>

/** What tests replace: the /proc root of the plan checks, the llama-server probe, the bandwidth run. */
export interface PlannerDeps {
  procRoot?: string
  llama?: () => Promise<LlamaCapabilities | null>
  measure?: typeof measureHostBandwidth
}

/**
 * A model id, name fragment or path → the GGUF's shape (header only), named as the catalog names
 * the model when it holds it (the name the user picked: two quants of one model share the GGUF's
 * general.name), else by the GGUF's own name.
 */
export async function shapeOf(ctx: Pick<Context, 'catalog'> | null, target: string): Promise<ModelShape> {
  let path: string | undefined
  let modelId: string | undefined
  const asPath = resolve(target)
  const st = await stat(asPath).catch(() => null)
  if (st?.isFile()) path = asPath
  else if (ctx) {
    const files = await ctx.catalog.resolve([target])
    const file = files.find((f) => f.path.toLowerCase().endsWith('.gguf') && !/mmproj/i.test(f.path)) ?? files[0]
    path = file?.path
    modelId = file?.modelId
  }
  if (!path) throw new HearthError('NOT_FOUND', `${target}: no such file or model; give a GGUF path or a model from \`hearth models\``)
  const shape = await ggufShapeAt(path)
  const catalogName = ctx?.catalog ? catalogNameOf(ctx.catalog.current().models, path, modelId) : undefined
  return catalogName ? { ...shape, name: catalogName } : shape
}

/** The catalog's name of the model with this id, or of the one holding this file. */
function catalogNameOf(models: Model[], path: string, modelId: string | undefined): string | undefined {
  return (modelId ? models.find((m) => m.id === modelId) : models.find((m) => m.files.some((f) => f.path === path)))?.name
}

/** The shape of the GGUF at path, cached by path, size and mtime. */
async function ggufShapeAt(path: string): Promise<ModelShape> {
  const st2 = await stat(path)
  const key = `${path}:${st2.size}:${st2.mtimeMs}`
  const hit = shapes.get(key)
  if (hit) return hit
  let header
  try {
    header = await readGgufHeader(path)
  } catch (err) {
    throw new HearthError('BAD_INPUT', `${path} is not a readable GGUF file (${(err as Error).message}); the planner needs a GGUF model`)
  }
  let shape: ModelShape
  try {
    shape = modelShapeFrom(path, header.metadata, header.tensors, st2.size)
  } catch (err) {
    throw new HearthError('BAD_INPUT', (err as Error).message)
  }
  // Plans are redone on every change in the UI and checks every few seconds: headers are read once.
  if (shapes.size >= 32) shapes.delete(shapes.keys().next().value!)
  shapes.set(key, shape)
  return shape
}

const shapes = new Map<string, ModelShape>()

/** A projector GGUF → its shape; names the file and the fix when it is not one. */
async function projectorAt(path: string): Promise<ProjectorShape> {
  let header
  try {
    header = await readGgufHeader(path)
  } catch (err) {
    throw new HearthError('BAD_INPUT', `${path} is not a readable GGUF file (${(err as Error).message}); --mmproj needs the mmproj-*.gguf file of the model`)
  }
  try {
    return projectorShapeFrom(path, header.metadata, header.tensors, (await stat(path)).size)
  } catch (err) {
    throw new HearthError('BAD_INPUT', (err as Error).message)
  }
}

/**
 * 'auto': the projector the catalog pairs with the model, else an mmproj*.gguf beside the model
 * file. A path: that file.
 */
async function projectorOf(ctx: Pick<Context, 'catalog'> | null, target: string, spec: string, modelPath: string): Promise<ProjectorShape> {
  if (spec !== 'auto') return projectorAt(resolve(spec))
  const fromCatalog = ctx?.catalog ? (await ctx.catalog.resolve([target]).catch(() => [])).find((f) => /mmproj/i.test(f.path) && f.path.toLowerCase().endsWith('.gguf')) : undefined
  if (fromCatalog) return projectorAt(fromCatalog.path)
  const dir = dirname(modelPath)
  const beside = (await readdir(dir).catch(() => [] as string[])).filter((f) => /mmproj/i.test(f) && /\.gguf$/i.test(f)).sort()
  if (!beside.length) throw new HearthError('NOT_FOUND', `${modelPath}: no mmproj*.gguf beside it and none paired in the catalog; give the projector's path (--mmproj FILE)`)
  return projectorAt(join(dir, beside[0]))
}

type PlanRequest = Parameters<HearthApi['plan']>[0]
type ModelRequest = z.infer<typeof planModelInput>

/** A detected GPU id or a preset name → the card to plan against (free now for a detected one). */
async function cardOf(ctx: Context, spec: z.infer<typeof planGpuInput>): Promise<PlanGpu> {
  if (typeof spec !== 'string') return { name: spec.name, vramMiB: spec.freeMiB ?? spec.totalMiB }
  const preset = gpuPresets.find((p) => p.name === spec)
  if (preset) return { name: preset.name, vramMiB: preset.vramMiB, bandwidthGBps: preset.bandwidthGBps }
  const g = (await ctx.gpu.now()).gpus.find((d) => d.id === spec)
  if (!g) throw new HearthError('NOT_FOUND', `gpu ${spec}: not a detected GPU id nor a preset; see gpuPresets or pass vramMiB`)
  const bytes = g.freeBytes ?? g.totalBytes
  if (!bytes) throw new HearthError('UNAVAILABLE', `${g.name} does not report its memory; pass vramMiB`)
  return detected(g.name, bytes)
}

const detected = (name: string, bytes: number): PlanGpu => ({ name: `${name} (free now)`, vramMiB: Math.floor(bytes / 2 ** 20), bandwidthGBps: bandwidthOfCard(name) })

/** The cards of a request: the list, else one card from vramMiB / gpu / the detected GPU. */
async function gpusOf(ctx: Context, input: PlanRequest): Promise<PlanGpu[]> {
  if (input.gpus) return Promise.all(input.gpus.map((g) => cardOf(ctx, g)))
  if (input.vramMiB) return [{ name: `${input.vramMiB} MiB card`, vramMiB: input.vramMiB }]
  if (input.gpu) return [await cardOf(ctx, input.gpu)]
  // Every detected card that reports its memory, in telemetry's order (nvidia-smi's, as CUDA
  // numbers them with CUDA_DEVICE_ORDER=PCI_BUS_ID).
  const s = await ctx.gpu.now()
  const cards = s.gpus.filter((d) => d.freeBytes ?? d.totalBytes)
  if (!cards.length) {
    const why = (s.noGpuReason ?? 'No GPU found.').replace(plannerStillWorks, '')
    throw new HearthError('UNAVAILABLE', `${why} To plan for a card anyway, give its VRAM: \`hearth plan … --vram-mib N\`, or pick a card in the app's Planner.`)
  }
  return cards.map((g) => detected(g.name, (g.freeBytes ?? g.totalBytes)!))
}

/** One model of a request (its shape read already) → the solver's input (projector, draft, placement). */
async function modelInputOf(ctx: Context, m: ModelRequest, shape: ModelShape, gpus: PlanGpu[]): Promise<PlanModelInput> {
  const { target, ngl, device, tensorSplit, mmproj, draft, ...options } = m
  if (device !== undefined && device >= gpus.length)
    throw new HearthError('BAD_INPUT', `${shape.name}: device ${device} (--device) is out of range: the plan has ${gpus.length} GPU${gpus.length > 1 ? 's' : ''} (0–${gpus.length - 1}); pick one of those or list more cards (--vram-mib A,B)`)
  const split = device !== undefined ? gpus.map((_, i) => (i === device ? 1 : 0)) : tensorSplit
  const draftOptions = draft ? { draft: { ngl: draft.ngl ?? 9999, ctx: draft.ctx ?? 0, cacheTypeK: draft.cacheTypeK ?? 'f16', cacheTypeV: draft.cacheTypeV ?? 'f16' } } : {}
  return {
    shape,
    ngl: ngl ?? 'max',
    options: { ...options, ...(split ? { split } : {}), ...draftOptions },
    ...(mmproj ? { projector: await projectorOf(ctx, target, mmproj, shape.path) } : {}),
    ...(draft ? { draft: await shapeOf(ctx, draft.target) } : {}),
  }
}

export function plannerApi(ctx: Context, deps: PlannerDeps = {}): PlannerApi {
  const llama = deps.llama ?? (() => llamaCapabilities())
  const checkDeps: PlanCheckDeps = {
    gpuNow: () => ctx.gpu.now(),
    shapeOf: (p) => shapeOf(null, p),
    projectorOf: (p) => projectorAt(p),
    ...(deps.procRoot ? { procRoot: deps.procRoot } : {}),
  }
  /** Keeps each check's difference in settings, per architecture and card. */
  const record = async <T extends { processKey: string }>(checks: T[]) => {
    const before = ctx.settings.get().planChecks
    const planChecks = withChecks(before, checks as never)
    // The UI checks every few seconds: write the settings file only when a figure changed.
    const same = (a: typeof before, b: typeof before) => JSON.stringify(Object.entries(a ?? {}).map(([k, v]) => [k, v.map((e) => [e.process, e.diffMiB])])) === JSON.stringify(Object.entries(b ?? {}).map(([k, v]) => [k, v.map((e) => [e.process, e.diffMiB])]))
    if (!same(before, planChecks)) await ctx.settings.update({ planChecks })
    return checks.map(({ processKey: _k, ...c }) => c)
  }
  return {
    gpus: () => ctx.gpu.now(),
    gpuHistory: async (input) => ctx.gpu.history(input?.sinceMs),
    gpuPresets: async () => gpuPresets,
    async plan(input) {
      // The models first (drafts too; headers are cached): a wrong model is the error to show,
      // whatever the cards are.
      const modelShapes: ModelShape[] = []
      for (const m of input.models) {
        modelShapes.push(await shapeOf(ctx, m.target))
        if (m.draft) await shapeOf(ctx, m.draft.target)
      }
      const gpus = await gpusOf(ctx, input)
      const inputs: PlanModelInput[] = []
      for (const [i, m] of input.models.entries()) inputs.push(await modelInputOf(ctx, m, modelShapes[i], gpus))
      const caps = await llama().catch(() => null)
      const settings = ctx.settings?.get()
      const r = planOnGpus(inputs, gpus, input.marginMiB ?? defaultMarginMiB, {
        objective: input.objective,
        hostGBps: settings?.hostBandwidth?.gbps,
        ...(caps ? { llama: caps } : {}),
      })
      for (const p of r.models) {
        const d = p.arch ? deviationFor(settings?.planChecks, p.arch, gpus[0]?.name) : undefined
        if (d) p.deviation = d
      }
      return caps ? { ...r, llamaServer: { path: caps.path, version: caps.version } } : r
    },
    async planChecks() {
      return record(await checkAll(checkDeps))
    },
    async planCheck({ pid }) {
      return (await record([await checkProcess(pid, checkDeps)]))[0]
    },
    hostBandwidth: async () => ctx.settings.get().hostBandwidth ?? null,
    async measureHostBandwidth() {
      const hostBandwidth = await (deps.measure ?? measureHostBandwidth)()
      await ctx.settings.update({ hostBandwidth })
      return hostBandwidth
    },
  }
}

// The VRAM/RAM planner and GPU telemetry (issue 5).
import { z } from 'zod'
import { noInput, pathString, query } from './define'
import { kvCacheTypes, type GpuPreset, type PlanResult } from '../planner/types'

export type * from '../planner/types'

/** One process on a GPU, with the model file it has mapped or open when we can tell. */
export interface GpuProcess {
  pid: number
  /** comm or nvidia-smi's process_name */
  name: string
  usedBytes: number | null
  /** The GGUF/safetensors file this process maps or holds open, when one is found */
  modelPath?: string
  modelId?: string
}

export interface GpuDevice {
  /** Stable within a boot: "nvidia:0", "amd:card1", "intel:card0" */
  id: string
  vendor: 'nvidia' | 'amd' | 'intel'
  index: number
  name: string
  totalBytes: number | null
  usedBytes: number | null
  freeBytes: number | null
  /** Percent 0..100, null where the source does not say */
  utilizationPercent: number | null
  processes: GpuProcess[]
}

export interface GpuSample {
  atMs: number
  /** Where the figures came from: 'nvml' | 'nvidia-smi' | 'sysfs' | 'none' */
  source: 'nvml' | 'nvidia-smi' | 'sysfs' | 'none'
  gpus: GpuDevice[]
  /** Set when no GPU was found, in plain words ("No GPU found: …"); not an error. */
  noGpuReason?: string
}

const ngl = z.union([z.number().int().min(0).max(9999), z.literal('max')])

export const planModelInput = z
  .object({
    /** A model id, unique name fragment or a GGUF path */
    target: pathString('model'),
    ctx: z.number().int().min(0).max(16 * 1024 * 1024).optional(),
    ngl: ngl.optional(),
    parallel: z.number().int().min(1).max(256).optional(),
    kvUnified: z.boolean().optional(),
    cacheTypeK: z.enum(kvCacheTypes).optional(),
    cacheTypeV: z.enum(kvCacheTypes).optional(),
    flashAttn: z.boolean().optional(),
    ubatch: z.number().int().min(1).max(65536).optional(),
    cpuMoe: z.boolean().optional(),
    nCpuMoe: z.number().int().min(0).max(9999).optional(),
    noMmap: z.boolean().optional(),
    noKvOffload: z.boolean().optional(),
    cacheRamMiB: z.number().int().min(0).max(1 << 24).optional(),
    /** The whole GPU share on this card (index into `gpus`): CUDA_VISIBLE_DEVICES=N / --device CUDAN */
    device: z.number().int().min(0).max(63).optional(),
    /** -ts ratios, one per card of `gpus` (split mode layer); missing trailing ones are 0 */
    tensorSplit: z.array(z.number().finite().min(0)).min(1).max(64).optional(),
  })
  .strict()
  .refine((m) => m.device === undefined || m.tensorSplit === undefined, { message: 'give a model either device or tensorSplit, not both' })

/** A detected GPU id ("nvidia:0"), a preset card name, or a card of your own. */
export const planGpuInput = z.union([
  z.string().min(1).max(200),
  z
    .object({
      name: z.string().min(1).max(200),
      totalMiB: z.number().int().min(1).max(16 * 1024 * 1024),
      /** When given, the plan fills this rather than the total */
      freeMiB: z.number().int().min(0).max(16 * 1024 * 1024).optional(),
    })
    .strict(),
])

export const planInput = z
  .object({
    models: z.array(planModelInput).min(1, 'plan at least one model').max(16, 'at most 16 models'),
    /** VRAM of the card to plan for; default: the detected GPU's free memory, else its total */
    vramMiB: z.number().int().min(1).max(16 * 1024 * 1024).optional(),
    /** A detected GPU id ("nvidia:0") or a preset card name */
    gpu: z.string().max(200).optional(),
    /** Several cards (or one); overrides vramMiB and gpu. Multi-GPU figures are modelled, not measured. */
    gpus: z.array(planGpuInput).min(1, 'list at least one GPU').max(16, 'at most 16 GPUs').optional(),
    marginMiB: z.number().int().min(0).max(1 << 20).optional(),
  })
  .strict()

export const plannerMethods = {
  gpus: query<GpuSample>()(noInput),
  /** One hour at 1 Hz while anyone listened to 'gpu' */
  gpuHistory: query<GpuSample[]>()(z.object({ sinceMs: z.number().nonnegative().optional() }).strict().optional()),
  gpuPresets: query<GpuPreset[]>()(noInput),
  /** Plans the models together on one card or several; `ngl: 'max'` solves for the largest that fits. */
  plan: query<PlanResult>()(planInput),
}

export interface PlannerTopics {
  gpu: GpuSample
}

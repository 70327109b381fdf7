// The VRAM/RAM planner and GPU telemetry (issue 5).
import { z } from 'zod'
import { command, noInput, pathString, query } from './define'
import { kvCacheTypes, planObjectives, type GpuPreset, type ModelPlan, type PlanResult } from '../planner/types'

export type * from '../planner/types'

/** One process on a GPU, with the model file it has mapped or open when we can tell. */
export interface GpuProcess {
  pid: number
  /** comm or nvidia-smi's process_name */
  name: string
  usedBytes: number | null
  /**
   * GTT: system RAM the GPU maps for this process (AMD and Intel xe, from DRM fdinfo), apart from
   * usedBytes. On an APU (integrated GPU) the model's weights live here, not in VRAM.
   */
  gttBytes?: number
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
  /** AMD: the GTT aperture (system RAM the GPU may map) and how much of it is in use; an APU runs models from it */
  gttTotalBytes?: number
  gttUsedBytes?: number | null
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
    /** A vision projector: a GGUF path, or 'auto' = the mmproj file the catalog pairs with the model (or beside it) */
    mmproj: pathString('mmproj').optional(),
    /** --no-mmproj-offload: the projector on the CPU */
    noMmprojOffload: z.boolean().optional(),
    /** A draft model for speculative decoding (-md) with its own -ngld, -cd, -ctkd, -ctvd */
    draft: z
      .object({
        target: pathString('draft model'),
        ngl: z.number().int().min(0).max(9999).optional(),
        ctx: z.number().int().min(0).max(16 * 1024 * 1024).optional(),
        cacheTypeK: z.enum(kvCacheTypes).optional(),
        cacheTypeV: z.enum(kvCacheTypes).optional(),
      })
      .strict()
      .optional(),
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
    /** How free -ngl values are chosen together: balanced (default), all, priority */
    objective: z.enum(planObjectives).optional(),
  })
  .strict()

/** A running llama-server (or Ollama runner) against the plan of its own command line. */
export interface PlanCheck {
  pid: number
  kind: 'llama-server' | 'ollama-runner' | 'unknown'
  /** /proc/PID/cmdline */
  commandLine: string[]
  modelPath?: string
  arch?: string
  /** The card it runs on, as telemetry names it */
  card?: string
  gpuIndex?: number
  /** The plan of the same configuration on that card */
  plannedMiB: number | null
  /** What the GPU source says the process uses */
  usedMiB: number | null
  /** used − planned */
  diffMiB: number | null
  plan?: ModelPlan
  /** Assumptions and flags not modelled, in plain words */
  notes: string[]
  /** Set when the check could not be made, with the reason */
  error?: string
}

/** The host's memory bandwidth, measured once and kept in settings. */
export interface HostBandwidth {
  gbps: number
  atMs: number
  /** How it was measured, in plain words */
  method: string
}

export const plannerMethods = {
  gpus: query<GpuSample>()(noInput),
  /** One hour at 1 Hz while anyone listened to 'gpu' */
  gpuHistory: query<GpuSample[]>()(z.object({ sinceMs: z.number().nonnegative().optional() }).strict().optional()),
  gpuPresets: query<GpuPreset[]>()(noInput),
  /** Plans the models together on one card or several; `ngl: 'max'` solves for the largest that fits. */
  plan: query<PlanResult>()(planInput),
  /**
   * Every llama-server / Ollama runner on a GPU against the plan of its own command line; records
   * the differences per architecture and card in settings.
   */
  planChecks: command<PlanCheck[]>()(noInput),
  /** One process (hearth plan --check PID); records the difference too. */
  planCheck: command<PlanCheck>()(z.object({ pid: z.number().int().min(1).max(2 ** 31 - 1) }).strict()),
  /** The measured host bandwidth, or null before it was measured */
  hostBandwidth: query<HostBandwidth | null>()(noInput),
  /** Measures the host's memory bandwidth (a few seconds of large copies) and keeps it in settings */
  measureHostBandwidth: command<HostBandwidth>()(noInput),
}

export interface PlannerTopics {
  gpu: GpuSample
}

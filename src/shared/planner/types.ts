// Domain types of the VRAM/RAM planner. Pure data: crosses every transport as JSON.

export const kvCacheTypes = ['f32', 'f16', 'bf16', 'q8_0', 'q5_1', 'q5_0', 'q4_1', 'q4_0', 'iq4_nl'] as const
export type KvCacheType = (typeof kvCacheTypes)[number]

export interface PlannerTensor {
  name: string
  /** ne[0] (row length) first */
  shape: number[]
  /** ggml type number */
  type: number
}

/** What the planner needs to know about one GGUF model (from its header only). */
export interface ModelShape {
  path: string
  name: string
  arch: string
  nLayer: number
  nEmbd: number
  nHead: number
  /** K/V heads per layer (some architectures vary it per layer; 0 = no attention in that layer) */
  nHeadKv: number[]
  headDimK: number
  headDimV: number
  nFf: number
  nVocab: number
  nCtxTrain: number
  /** Sliding-window size; 0 = none */
  nSwa: number
  /** true where a layer attends only to the window */
  swaLayers: boolean[]
  nExpert: number
  nExpertUsed: number
  /** Per-expert FFN width (MoE) */
  nFfExp: number
  /** MLA (DeepSeek-2/3): the compressed latent width; 0 = ordinary attention */
  kvLoraRank: number
  ropeDimMla: number
  /** Recurrent state bytes per layer per slot (Mamba/RWKV); 0 = attention model */
  recurrentStateBytesPerLayer: number
  tied: boolean
  fileBytes: number
  tensors: PlannerTensor[]
}

export interface PlanOptions {
  /** -c: total over slots; 0 = the model's training context */
  ctx: number
  /** -ngl: repeating layers + the output layer (n_layer + 1 = everything) */
  ngl: number
  /** -np */
  parallel: number
  /** -kvu */
  kvUnified: boolean
  cacheTypeK: KvCacheType
  cacheTypeV: KvCacheType
  flashAttn: boolean
  /** -ub */
  ubatch: number
  /** --cpu-moe: every expert tensor stays on the host */
  cpuMoe: boolean
  /** --n-cpu-moe N: the experts of the first N layers stay on the host */
  nCpuMoe: number
  noMmap: boolean
  /** -nkvo: the KV cache stays in host RAM */
  noKvOffload: boolean
  /** -cram: llama-server's prompt cache in host RAM */
  cacheRamMiB: number
  /**
   * Length of the longest request served, tokens; the cuBLAS pool of attention without flash
   * attention grows with it. Default: the whole context of a slot (the worst case).
   */
  promptTokens?: number
  /**
   * Where the GPU share goes, one ratio per GPU of the plan (llama.cpp's -ts, split mode layer).
   * One non-zero entry = the whole share on that card (CUDA_VISIBLE_DEVICES / --device).
   * Absent = the plan's only GPU.
   */
  split?: number[]
}

export interface VramTerms {
  weightsMiB: number
  kvMiB: number
  computeMiB: number
  overheadMiB: number
  totalMiB: number
}

export interface HostTerms {
  /** mmap'd weights (reclaimable page cache) or, with --no-mmap, anonymous memory */
  weightsMiB: number
  kvMiB: number
  /** Output buffer, pinned compute buffers, CPU compute buffer, prompt cache */
  otherMiB: number
  totalMiB: number
}

/** One term as the UI lists it, with the mechanism behind it. */
export interface PlanTerm {
  where: 'gpu' | 'host'
  what: string
  mib: number
  why: string
}

export interface ModelPlan {
  path: string
  name: string
  ngl: number
  /** n_layer + 1: every repeating layer and the output layer */
  nglAll: number
  /** Context actually allocated (after -c 0 → training context, padding to 256) */
  ctx: number
  ctxPerSlot: number
  options: PlanOptions
  /** Sum over every GPU */
  vram: VramTerms
  /** One entry per GPU of the plan (zeros on cards this model does not touch) */
  vramByGpu: VramTerms[]
  host: HostTerms
  terms: PlanTerm[]
  warnings: string[]
}

export interface GpuPreset {
  name: string
  vramMiB: number
}

/** A card to plan against: what the planner may fill (free now for a detected GPU, else total). */
export interface PlanGpu {
  name: string
  vramMiB: number
}

/** One card's outcome: every model's share on it against its capacity. */
export interface GpuPlan {
  index: number
  name: string
  vramTotalMiB: number
  usedMiB: number
  /** vramTotalMiB − usedMiB (negative when it does not fit) */
  marginMiB: number
  fits: boolean
}

export interface PlanSuggestion {
  /** Plain words: "q8_0 KV cache on qwen2.5-7b saves 210 MiB" */
  text: string
  savesMiB: number
  /** The llama-server flags that do it */
  flags: string
}

export interface PlanExports {
  /** One llama-server command line per model */
  commands: string[]
  /** A docker compose file with one llama-server service per model */
  compose: string
  /** KEY=value lines (llama-server reads LLAMA_ARG_* from the environment) */
  env: string
  /** Ollama Modelfile PARAMETER lines per model */
  ollama: string[]
}

export interface PlanResult {
  models: ModelPlan[]
  /** VRAM of the card planned against (several cards: their sum) */
  vramTotalMiB: number
  /** Sum of every model's VRAM */
  vramUsedMiB: number
  /** One card: vramTotalMiB − vramUsedMiB (negative when it does not fit); several: the smallest card's margin */
  marginMiB: number
  /** Headroom asked for on every card: a plan fits when each card's margin ≥ requiredMarginMiB */
  requiredMarginMiB: number
  /** Every card fits */
  fits: boolean
  gpuName: string
  /** Per card, in the order given */
  gpus: GpuPlan[]
  /**
   * Set when the plan spans several cards: those figures are modelled from single-GPU
   * measurements (no multi-GPU machine was at hand to measure), so they carry more uncertainty.
   */
  multiGpuNote?: string
  /** Host RAM the plan needs (page cache for mmap'd weights included) */
  hostTotalMiB: number
  suggestions: PlanSuggestion[]
  exports: PlanExports
}

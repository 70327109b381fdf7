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
  /** --no-mmproj-offload: the vision projector stays on the CPU (only with a projector) */
  noMmprojOffload?: boolean
  /** The draft model's own flags (-ngld, -cd, -ctkd, -ctvd); only with a draft model */
  draft?: DraftOptions
}

export interface DraftOptions {
  /** -ngld */
  ngl: number
  /** -cd: the draft's context; 0 = the main model's (newer llama-server always shares it) */
  ctx: number
  cacheTypeK: KvCacheType
  cacheTypeV: KvCacheType
}

/** How several models share the cards: picked by the user. */
export const planObjectives = ['balanced', 'all', 'priority'] as const
export type PlanObjective = (typeof planObjectives)[number]

/** A vision projector (mmproj GGUF, clip architecture): what its weights and graph need. */
export interface ProjectorShape {
  path: string
  name: string
  /** clip.projector_type ("mlp", "qwen2vl_merger", "gemma3" …) */
  projectorType: string
  nLayer: number
  nEmbd: number
  nHead: number
  nFf: number
  imageSize: number
  patchSize: number
  /** Patches llama.cpp reserves its graph for (the warm-up image) */
  warmupPatches: number
  fileBytes: number
  tensors: PlannerTensor[]
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

/** The projector's share of a server: on the GPU unless --no-mmproj-offload. */
export interface ProjectorPlan {
  path: string
  name: string
  onGpu: boolean
  weightsMiB: number
  computeMiB: number
  /** Patches of the image the compute buffer is sized for */
  patches: number
  /** Not measured: test/fixtures/vram-h100 holds no projector runs */
  note: string
}

/** The draft model's share: its own weights, KV cache and compute buffer, in the same process. */
export interface DraftPlan {
  path: string
  name: string
  ngl: number
  nglAll: number
  ctx: number
  vram: VramTerms
  host: HostTerms
  note: string
}

/** Decode speed from memory bandwidth: every weight read once per token, plus the KV cache. */
export interface SpeedEstimate {
  /** Rounded to 0.1 for people */
  tokensPerSec: number
  /** Unrounded: what the solver compares */
  exactTokensPerSec: number
  /** Bytes read per token from each card's VRAM, in card order */
  gpuBytesPerToken: number[]
  hostBytesPerToken: number
  gpuGBps: number[]
  hostGBps: number
  /** Plain words with the numbers: "1 / (4.1 GB / 192 GB/s + 0.9 GB / 38 GB/s)" */
  formula: string
  /** What was assumed rather than known (host bandwidth not measured, card bandwidth unknown) */
  assumptions: string[]
}

/** The largest context that still fits, for one KV cache type and slot count. */
export interface ContextOption {
  cacheType: KvCacheType
  parallel: number
  /** -c (total over slots); 0 = not even the smallest context fits */
  maxCtx: number
  /** Per slot */
  maxCtxPerSlot: number
  /** KV cache MiB per 1024 tokens of context (every layer, on GPU and host) */
  kvMiBPer1k: number
  /** Quantised V needs flash attention */
  needsFlashAttn: boolean
}

/** What a running server of this architecture used against its plan, on this machine. */
export interface PlanDeviation {
  arch: string
  card: string
  /** Mean of (used − planned) over the checks */
  meanMiB: number
  samples: number
  lastAtMs: number
}

export interface ModelPlan {
  path: string
  name: string
  arch?: string
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
  projector?: ProjectorPlan
  draft?: DraftPlan
  /** Set by the solver (needs the cards' bandwidth) */
  speed?: SpeedEstimate
  /** The KV type / slots / context trade-off at this model's -ngl, the others as planned */
  contextOptions?: ContextOption[]
  /** Past checks of running servers of this architecture on this machine */
  deviation?: PlanDeviation
}

export interface GpuPreset {
  name: string
  vramMiB: number
  /** Memory bandwidth from the card's specification, GB/s */
  bandwidthGBps: number
}

/** A card to plan against: what the planner may fill (free now for a detected GPU, else total). */
export interface PlanGpu {
  name: string
  vramMiB: number
  /** GB/s; unknown = an assumed figure, said so in the speed estimate */
  bandwidthGBps?: number
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
  /** Flags left out or kept with a caveat because of the llama.cpp version, in plain words */
  notes: string[]
  /** A docker compose file with one llama-server service per model */
  compose: string
  /** KEY=value lines (llama-server reads LLAMA_ARG_* from the environment) */
  env: string
  /** Ollama Modelfile PARAMETER lines per model */
  ollama: string[]
}

/** One joint plan the solver considered, ranked under the chosen objective. */
export interface PlanAlternative {
  rank: number
  /** Short name: "balanced", "Qwen 3B whole", "priority" … */
  label: string
  /** Why it ranked where it did, in plain words with the numbers */
  why: string
  models: ModelPlan[]
  vramUsedMiB: number
  marginMiB: number
  fits: boolean
  gpus: GpuPlan[]
  /** The objective's score, compared lexicographically (higher is better) */
  score: number[]
}

export interface PlanResult {
  /** How the free -ngl values were chosen */
  objective: PlanObjective
  /** Why the chosen plan won, in plain words */
  why: string
  /** The next best plans (up to three), each with why it ranked where it did */
  alternatives: PlanAlternative[]
  /** The host bandwidth the speed estimates used, and whether it was measured */
  hostBandwidth: { gbps: number; measured: boolean }
  /** The llama-server the exports were checked against, when Hearth found one */
  llamaServer?: { path: string; version: string }
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

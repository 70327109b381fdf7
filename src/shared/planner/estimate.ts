// llama.cpp's CUDA backend, term by term, for one llama-server process.
// Every figure is derived from the GGUF's tensors and hyper-parameters plus the few constants
// below, which were measured (test/fixtures/vram-h100: overhead-pair.tsv and the after-request
// rows), not fitted per model.
import { cudaTensorBytes, kvTypeNumber, rowBytes, tensorBytes } from './ggml-types'
import { estimateProjector } from './projector'
import type { HostTerms, ModelPlan, ModelShape, PlanOptions, PlanTerm, ProjectorShape, VramTerms } from './types'

const MiB = 1024 * 1024

/** Per-process costs that do not come from the model (MiB, H100, CUDA 13, lazy module loading). */
export const cudaProcess = {
  /** cudaFree(0) in a bare process */
  contextMiB: 518,
  /** cublasCreate: llama.cpp makes one handle per device */
  cublasHandleMiB: 68,
  /** Kernel modules loaded lazily by the first prompt (MMQ, FA, norms, rope …) */
  firstRequestKernelsMiB: 12.5,
  /** MUL_MAT_ID kernels and their id buffers, loaded by the first MoE prompt */
  moeKernelsMiB: 96,
  /** cuBLAS GEMM kernels and workspace, used for KQ and KQV when flash attention is off */
  gemmKernelsMiB: 102,
}

export const defaultPlanOptions: PlanOptions = {
  ctx: 4096,
  ngl: 999,
  parallel: 1,
  kvUnified: false,
  cacheTypeK: 'f16',
  cacheTypeV: 'f16',
  flashAttn: true,
  ubatch: 512,
  cpuMoe: false,
  nCpuMoe: 0,
  noMmap: false,
  noKvOffload: false,
  cacheRamMiB: 0,
}

/** ggml-cuda offloads ops with host weights from this batch size up (op_offload_min_batch_size). */
export const opOffloadMinBatch = 32

const pad = (x: number, to: number) => Math.ceil(x / to) * to

export type Place = { layer: number } | 'input' | 'output'
export function placeOf(name: string): Place {
  const m = /^blk\.(\d+)\./.exec(name)
  if (m) return { layer: Number(m[1]) }
  if (name.startsWith('output.') || name.startsWith('output_norm.')) return 'output'
  return 'input'
}
export const isExpert = (name: string) => /_exps\./.test(name)
const isMatrix = (shape: number[]) => shape.filter((d) => d > 1).length >= 2

/**
 * Where each tensor lives for a given -ngl: the last ngl-1 blocks and the output layer on the GPU
 * (the output layer goes first). The GPU of each slot (0..nLayer-1 the repeating layers, nLayer the output layer) for -ngl and
 * -ts ratios, -1 = host. As llama.cpp's load_tensors (split mode layer) does it: the ratios become
 * cumulative split points in float32, and the k-th offloaded slot goes to the first device whose
 * point lies above k / (slots offloaded). So the output layer lands on the last card with a share,
 * and a card with ratio 0 gets nothing.
 */
export function slotDevices(nLayer: number, ngl: number, split: number[] = [1]): number[] {
  const f = Math.fround
  const points: number[] = []
  let sum = 0
  for (const x of split) points.push((sum = f(sum + f(x))))
  for (let i = 0; i < points.length; i++) points[i] = f(points[i] / sum)
  const iGpuStart = Math.max(nLayer + 1 - ngl, 0)
  const act = Math.min(ngl, nLayer + 1)
  const out: number[] = []
  for (let il = 0; il <= nLayer; il++) {
    if (il < iGpuStart || il - iGpuStart >= act) {
      out.push(-1)
      continue
    }
    const x = f((il - iGpuStart) / act)
    let d = points.findIndex((p) => p > x) // upper_bound
    if (d < 0) d = points.length - 1
    out.push(d)
  }
  return out
}

export type CudaProcessCosts = typeof cudaProcess

interface LayerWeights {
  /** As the CUDA buffer pads them, and as the file holds them */
  gpu: number
  host: number
  gpuExperts: number
  hostExperts: number
  /** The largest matrix (host bytes): what op offload copies in */
  largest: number
  largestExpert: number
}
interface WeightSums {
  layers: LayerWeights[]
  inputHost: number
  outputGpu: number
  outputHost: number
  embdGpu: number
}

/**
 * Bytes per layer, summed once per shape: the solver estimates every -ngl of every model (and the
 * context table many contexts), so the tensor list is walked once, not per estimate.
 */
const sumsOf = new WeakMap<ModelShape, WeightSums>()
function weightSums(shape: ModelShape): WeightSums {
  const hit = sumsOf.get(shape)
  if (hit) return hit
  const layers: LayerWeights[] = Array.from({ length: shape.nLayer }, () => ({ gpu: 0, host: 0, gpuExperts: 0, hostExperts: 0, largest: 0, largestExpert: 0 }))
  const out: WeightSums = { layers, inputHost: 0, outputGpu: 0, outputHost: 0, embdGpu: 0 }
  for (const t of shape.tensors) {
    const p = placeOf(t.name)
    const cuda = cudaTensorBytes(t.shape, t.type)
    const host = tensorBytes(t.shape, t.type)
    if (t.name === 'token_embd.weight') out.embdGpu = cuda
    if (p === 'input') out.inputHost += host
    else if (p === 'output') {
      out.outputGpu += cuda
      out.outputHost += host
    } else {
      const l = layers[p.layer]
      if (!l) continue
      const matrix = isMatrix(t.shape) ? host : 0
      if (isExpert(t.name)) {
        l.gpuExperts += cuda
        l.hostExperts += host
        l.largestExpert = Math.max(l.largestExpert, matrix)
      } else {
        l.gpu += cuda
        l.host += host
        l.largest = Math.max(l.largest, matrix)
      }
    }
  }
  sumsOf.set(shape, out)
  return out
}

/** What else a llama-server process loads beside its model: a vision projector, a draft model. */
export interface ServerExtras {
  projector?: ProjectorShape
  draft?: ModelShape
}

/**
 * One llama-server process: its model, plus a vision projector (--mmproj) and a draft model (-md)
 * when given. Projector and draft share the process's CUDA context, cuBLAS handle and kernels.
 */
export function estimateModel(shape: ModelShape, opts: PlanOptions, proc: CudaProcessCosts = cudaProcess, extras: ServerExtras = {}): ModelPlan {
  const p = estimateOne(shape, opts, proc)
  if (extras.projector) addProjector(p, extras.projector)
  if (extras.draft) addDraft(p, extras.draft, proc)
  return p
}

const r2 = (x: number) => Math.round(x * 100) / 100
const firstCard = (p: ModelPlan) => Math.max(p.options.split?.findIndex((x) => x > 0) ?? 0, 0)

function addVram(t: VramTerms, add: Partial<VramTerms>) {
  for (const k of ['weightsMiB', 'kvMiB', 'computeMiB', 'overheadMiB'] as const) t[k] = r2(t[k] + (add[k] ?? 0))
  t.totalMiB = r2(t.weightsMiB + t.kvMiB + t.computeMiB + t.overheadMiB)
}
function addHost(t: HostTerms, add: Partial<HostTerms>) {
  for (const k of ['weightsMiB', 'kvMiB', 'otherMiB'] as const) t[k] = r2(t[k] + (add[k] ?? 0))
  t.totalMiB = r2(t.weightsMiB + t.kvMiB + t.otherMiB)
}

/** mtmd puts the projector on the process's main GPU (the first it sees) unless told not to. */
function addProjector(p: ModelPlan, shape: ProjectorShape) {
  const onGpu = !p.options.noMmprojOffload
  const pj = estimateProjector(shape, onGpu, p.options.flashAttn)
  p.projector = pj
  const add = { weightsMiB: pj.weightsMiB, computeMiB: pj.computeMiB }
  if (onGpu) {
    addVram(p.vram, add)
    addVram(p.vramByGpu[firstCard(p)], add)
    p.terms.push({ where: 'gpu', what: 'vision projector', mib: pj.weightsMiB + pj.computeMiB, why: `${shape.name}: weights ${pj.weightsMiB} MiB + compute ${pj.computeMiB} MiB for a ${pj.patches}-patch warm-up image (modelled, not measured)` })
  } else {
    addHost(p.host, { otherMiB: pj.weightsMiB + pj.computeMiB })
    p.terms.push({ where: 'host', what: 'vision projector (--no-mmproj-offload)', mib: pj.weightsMiB + pj.computeMiB, why: 'weights read into host memory and the image encoded on the CPU' })
  }
}

/**
 * A draft model is a second llama_model and llama_context in the same process: its own weights
 * (-ngld), KV cache (-cd, -ctkd/-ctvd) and compute buffer, with the main model's slots and ubatch;
 * no second CUDA context or cuBLAS handle.
 */
function addDraft(p: ModelPlan, shape: ModelShape, proc: CudaProcessCosts) {
  const d = p.options.draft ?? { ngl: 999, ctx: 0, cacheTypeK: 'f16' as const, cacheTypeV: 'f16' as const }
  const o = p.options
  const dp = estimateOne(shape, { ...o, ngl: d.ngl, ctx: d.ctx > 0 ? d.ctx : p.ctx, cacheTypeK: d.cacheTypeK, cacheTypeV: d.cacheTypeV, cacheRamMiB: 0, cpuMoe: false, nCpuMoe: 0, draft: undefined }, proc)
  const mainHasCublas = p.terms.some((t) => t.what === 'CUDA context + cuBLAS')
  const draftOverhead = (g: VramTerms) => (mainHasCublas ? 0 : Math.max(0, g.overheadMiB - proc.contextMiB * (g.overheadMiB > 0 ? 1 : 0)))
  const own = (g: VramTerms): VramTerms => {
    const t = { weightsMiB: g.weightsMiB, kvMiB: g.kvMiB, computeMiB: g.computeMiB, overheadMiB: draftOverhead(g), totalMiB: 0 }
    t.totalMiB = r2(t.weightsMiB + t.kvMiB + t.computeMiB + t.overheadMiB)
    return t
  }
  const vram = own(dp.vram)
  addVram(p.vram, vram)
  dp.vramByGpu.forEach((g, i) => p.vramByGpu[i] && addVram(p.vramByGpu[i], own(g)))
  addHost(p.host, dp.host)
  p.draft = {
    path: shape.path,
    name: shape.name,
    ngl: dp.ngl,
    nglAll: dp.nglAll,
    ctx: dp.ctx,
    vram,
    host: dp.host,
    note: 'The draft\'s weights, KV cache and compute buffer follow the same llama.cpp buffers as any model (measured); sharing one process with the main model is modelled: one CUDA context and cuBLAS handle for both.',
  }
  p.terms.push({ where: 'gpu', what: 'draft model', mib: vram.totalMiB, why: `${shape.name} -ngld ${dp.ngl}/${dp.nglAll}, ${dp.ctx} tokens of context: weights ${vram.weightsMiB} + KV ${vram.kvMiB} + compute ${vram.computeMiB} MiB` })
  p.warnings.push(...dp.warnings.map((w) => `draft: ${w}`))
}

function estimateOne(shape: ModelShape, opts: PlanOptions, proc: CudaProcessCosts): ModelPlan {
  const warnings: string[] = []
  const terms: PlanTerm[] = []
  const nglAll = shape.nLayer + 1
  const ngl = Math.max(0, Math.min(opts.ngl, nglAll))
  // Several GPUs are modelled from the single-GPU measurements (no multi-GPU machine was at hand):
  // each card gets the weights and KV of its own layers, a compute buffer of the same size, and its
  // own CUDA context, cuBLAS handle, kernels and pool. Not measured, so less certain.
  const split = opts.split ?? [1]
  const nDev = split.length
  const used = split.map((x) => x > 0)
  const firstUsed = Math.max(used.indexOf(true), 0)
  const nUsed = Math.max(used.filter(Boolean).length, 1)
  const devOf = slotDevices(shape.nLayer, ngl, split)
  const onGpu = (il: number) => devOf[il] >= 0
  const zeros = () => Array.from({ length: nDev }, () => 0)
  const ub = opts.ubatch
  const np = opts.parallel
  const fa = opts.flashAttn

  // ---- weights
  let gpuWeights = 0
  const weightsBy = zeros()
  let hostWeights = 0
  let largestHostMatrix = 0
  const sums = weightSums(shape)
  sums.layers.forEach((l, il) => {
    const expertsOnHost = opts.cpuMoe || il < opts.nCpuMoe
    if (onGpu(il)) {
      const g = l.gpu + (expertsOnHost ? 0 : l.gpuExperts)
      gpuWeights += g
      weightsBy[devOf[il]] += g
      if (expertsOnHost) {
        hostWeights += l.hostExperts
        largestHostMatrix = Math.max(largestHostMatrix, l.largestExpert)
      }
    } else {
      hostWeights += l.host + l.hostExperts
      largestHostMatrix = Math.max(largestHostMatrix, l.largest, l.largestExpert)
    }
  })
  hostWeights += sums.inputHost
  if (ngl >= 1) {
    gpuWeights += sums.outputGpu
    weightsBy[devOf[shape.nLayer]] += sums.outputGpu
  } else hostWeights += sums.outputHost
  if (shape.tied && ngl >= 1 && sums.embdGpu) {
    gpuWeights += sums.embdGpu
    weightsBy[devOf[shape.nLayer]] += sums.embdGpu
    terms.push({ where: 'gpu', what: 'tied output copy', mib: sums.embdGpu / MiB, why: 'no output.weight: the token embedding is copied to the GPU as the output layer, and stays on the host for the input' })
  }

  // ---- KV cache
  let ctx = opts.ctx > 0 ? opts.ctx : shape.nCtxTrain
  ctx = pad(ctx, 256)
  const streams = opts.kvUnified ? 1 : np
  const ctxPerSlot = opts.kvUnified ? ctx : pad(Math.floor(ctx / np), 256)
  const swaCells = Math.min(ctxPerSlot, pad(shape.nSwa * (opts.kvUnified ? np : 1) + ub, 256))
  const tk = kvTypeNumber[opts.cacheTypeK]
  const tv = kvTypeNumber[opts.cacheTypeV]
  if (!fa && tv !== 1 && tv !== 0 && tv !== 30) warnings.push(`a quantised V cache (${opts.cacheTypeV}) needs flash attention: llama.cpp refuses -ctv ${opts.cacheTypeV} with -fa off`)
  let gpuKv = 0
  const kvBy = zeros()
  let hostKv = 0
  let fullCells = 0
  const kvBytesOfLayer = Array.from({ length: shape.nLayer }, () => 0)
  for (let il = 0; il < shape.nLayer; il++) {
    let bytes: number
    if (shape.recurrentStateBytesPerLayer) {
      bytes = shape.recurrentStateBytesPerLayer * np
    } else {
      const hkv = shape.nHeadKv[il] ?? 0
      if (!hkv) continue
      const cells = shape.swaLayers[il] ? swaCells : ctxPerSlot
      if (!shape.swaLayers[il]) fullCells = cells
      // MLA keeps only the compressed latent plus the rope part; V is a view of it.
      const perCell = shape.kvLoraRank
        ? rowBytes(tk, shape.kvLoraRank + shape.ropeDimMla)
        : rowBytes(tk, hkv * shape.headDimK) + rowBytes(tv, hkv * shape.headDimV)
      bytes = cells * streams * perCell
    }
    kvBytesOfLayer[il] = bytes
    if (onGpu(il) && !opts.noKvOffload) {
      gpuKv += bytes
      kvBy[devOf[il]] += bytes
    } else hostKv += bytes
  }
  if (!fullCells) fullCells = shape.nSwa ? swaCells : ctxPerSlot

  // ---- compute buffer (the graph reserved for one ubatch, as ggml-alloc lays it out)
  const qDim = shape.nHead * shape.headDimK
  const moe = shape.nExpert > 0 && shape.nExpertUsed > 0
  const ffWidth = moe ? shape.nExpertUsed * shape.nFfExp : shape.nFf
  // Live at the FFN peak: gate, up and their product; the residual, its norm and the attention
  // output; for MoE also the per-expert down projections before they are summed.
  const ffnFloatsPerToken = 3 * ffWidth + 2 * shape.nEmbd + qDim + (moe ? shape.nExpertUsed * shape.nEmbd : 0)
  const maskBytesPerCell = ub * (fa ? 2 : 4) // f16 for flash attention, f32 otherwise
  const hasSwa = shape.swaLayers.some(Boolean)
  const masks = maskBytesPerCell * (fullCells + (hasSwa && fullCells !== swaCells ? swaCells : 0))
  let compute = ub * 4 * ffnFloatsPerToken + masks
  if (!fa) {
    // Without flash attention KQ is materialised in f32 for every head of the ubatch.
    const kq = fullCells * ub * shape.nHead * 4
    const around = 4.5 * ub * Math.max(shape.nEmbd, qDim) * 4
    compute = Math.max(compute, kq + masks + around)
  }
  // Layers left on the host (-ngl below n_layer + 1) still run on the GPU for a prompt ubatch:
  // ggml-cuda asks to take every op with host weights whose batch is at least 32 tokens
  // (op_offload_min_batch_size, ggml-cuda.cu get_op_batch_size), and ggml-sched then runs the
  // ops between them there too (its "expand gpu" passes). Below 32 they stay on the CPU, and at
  // -ngl 0 the GPU then holds no graph at all. What that costs on the GPU:
  // - the weight of each offloaded op is copied into the compute buffer; ggml-sched starts a new
  //   split at every such op "so the memory of the previously offloaded weights can be reused",
  //   so only the largest copy adds to the peak (the repeating layers' matrices; the token
  //   embedding is a row lookup, never copied; the output layer's batch is the outputs, not 32);
  // - attention of a host layer runs on the GPU over the K and V of that layer, which live in
  //   host memory: both are copied in for it (the whole cache of the layer, as reserved), next to
  //   the query, mask and residual. At long contexts that copy is the peak.
  const opOffload = ub >= opOffloadMinBatch
  const hostLayers = Array.from({ length: shape.nLayer }, (_, il) => !onGpu(il))
  const graphOnGpu = ngl > 0 || opOffload
  if (!graphOnGpu) compute = 0
  const staging = opOffload ? largestHostMatrix : 0
  if (staging) terms.push({ where: 'gpu', what: 'staging of host weights', mib: staging / MiB, why: 'ggml-sched copies each host weight into the GPU compute buffer for batched matrix products (32+ tokens), one split at a time: the largest copy adds to the peak' })
  let hostKvCopy = 0
  if (opOffload && !opts.noKvOffload) hostLayers.forEach((h, il) => h && (hostKvCopy = Math.max(hostKvCopy, kvBytesOfLayer[il])))
  const attnPeak = hostKvCopy ? hostKvCopy + masks + ub * 4 * 4 * Math.max(shape.nEmbd, qDim) : 0
  if (attnPeak > compute + staging) {
    terms.push({ where: 'gpu', what: 'KV copy of a host layer', mib: (attnPeak - compute - staging) / MiB, why: 'attention of a layer left on the host runs on the GPU over its K and V, copied in from host memory: at this context that copy is the compute peak' })
    compute = attnPeak - staging
  }
  // Every card in the split reserves its own graph buffer (each runs whole layers of the same
  // ubatch); the op-offload copies of host weights go to the first card.
  const computeBy = split.map((_, d) => (used[d] || (nDev === 1) ? compute : 0) + (d === firstUsed ? staging : 0))
  compute = compute * nUsed + staging

  // ---- per-process CUDA overhead
  const nKvRequest = pad(Math.min(opts.promptTokens ?? ctxPerSlot, ctxPerSlot), 256)
  const mmqInput = moe ? shape.nExpertUsed * shape.nEmbd : Math.max(shape.nFf, shape.nEmbd, qDim)
  const pool = (ub * mmqInput * 36) / 32 + (fa ? 0 : nKvRequest * shape.nHead * ub)
  const kernels = proc.firstRequestKernelsMiB * MiB + Math.max(moe ? proc.moeKernelsMiB : 0, fa ? 0 : proc.gemmKernelsMiB) * MiB
  // The CUDA context exists as soon as the backend does (every -ngl); the cuBLAS handle, the
  // kernel modules and the pool only once the GPU computes something.
  const overheadPerGpu = proc.contextMiB * MiB + (graphOnGpu ? proc.cublasHandleMiB * MiB + kernels + pool : 0)
  // One context, cuBLAS handle, module set and pool per card the process touches.
  const overhead = overheadPerGpu * nUsed
  const overheadBy = split.map((_, d) => (used[d] || nDev === 1 ? overheadPerGpu : 0))
  terms.push(
    { where: 'gpu', what: graphOnGpu ? 'CUDA context + cuBLAS' : 'CUDA context', mib: (proc.contextMiB + (graphOnGpu ? proc.cublasHandleMiB : 0)) * nUsed, why: nUsed > 1 ? `paid once per GPU the server touches (${nUsed} here) and once per server process` : 'paid once per server process: two servers pay it twice' },
  )
  if (graphOnGpu) terms.push({ where: 'gpu', what: 'kernels and memory pool', mib: ((kernels + pool) * nUsed) / MiB, why: 'modules loaded by the first request; the pool holds quantised activations (and the f16 attention matrix without flash attention)' })
  else terms.push({ where: 'gpu', what: 'no GPU compute', mib: 0, why: `-ngl 0 with a ubatch under ${opOffloadMinBatch} tokens: every op stays on the CPU, so no compute buffer, cuBLAS handle or kernels on the GPU` })
  if (nUsed > 1) warnings.push(`split over ${nUsed} GPUs: modelled from single-GPU measurements (no multi-GPU machine was at hand to measure), so less certain; keep a larger margin`)

  // ---- host
  const hostOutput = shape.nVocab * np * 4
  const pinnedCompute = 2 * ub * shape.nEmbd * 4 + masks
  const anyLayerOnHost = ngl < nglAll
  const cpuCompute = anyLayerOnHost ? ub * 4 * (shape.nEmbd * 3) : 0
  const hostOther = hostOutput + pinnedCompute + cpuCompute + opts.cacheRamMiB * MiB
  if (opts.noMmap) terms.push({ where: 'host', what: 'weights (anonymous, --no-mmap)', mib: hostWeights / MiB, why: 'read into process memory: not reclaimable' })
  else terms.push({ where: 'host', what: 'weights (mmap, page cache)', mib: hostWeights / MiB, why: 'reclaimable page cache: the part of the file that must stay resident' })

  const r = (b: number) => Math.round((b / MiB) * 100) / 100
  const vram: VramTerms = {
    weightsMiB: r(gpuWeights),
    kvMiB: r(gpuKv),
    computeMiB: r(compute),
    overheadMiB: r(overhead),
    totalMiB: r(gpuWeights + gpuKv + compute + overhead),
  }
  const vramByGpu: VramTerms[] = split.map((_, d) => ({
    weightsMiB: r(weightsBy[d]),
    kvMiB: r(kvBy[d]),
    computeMiB: r(computeBy[d]),
    overheadMiB: r(overheadBy[d]),
    totalMiB: r(weightsBy[d] + kvBy[d] + computeBy[d] + overheadBy[d]),
  }))
  const host: HostTerms = {
    weightsMiB: r(hostWeights),
    kvMiB: r(hostKv),
    otherMiB: r(hostOther),
    totalMiB: r(hostWeights + hostKv + hostOther),
  }
  return { path: shape.path, name: shape.name, arch: shape.arch, ngl, nglAll, ctx, ctxPerSlot, options: { ...opts, ngl }, vram, vramByGpu, host, terms, warnings }
}

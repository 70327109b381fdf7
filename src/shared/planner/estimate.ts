// llama.cpp's CUDA backend, term by term, for one llama-server process.
// Every figure is derived from the GGUF's tensors and hyper-parameters plus the few constants
// below, which were measured (test/fixtures/vram-h100: overhead-pair.tsv and the after-request
// rows), not fitted per model.
import { cudaTensorBytes, kvTypeNumber, rowBytes, tensorBytes } from './ggml-types'
import type { HostTerms, ModelPlan, ModelShape, PlanOptions, PlanTerm, VramTerms } from './types'

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

const pad = (x: number, to: number) => Math.ceil(x / to) * to

type Place = { layer: number } | 'input' | 'output'
function placeOf(name: string): Place {
  const m = /^blk\.(\d+)\./.exec(name)
  if (m) return { layer: Number(m[1]) }
  if (name.startsWith('output.') || name.startsWith('output_norm.')) return 'output'
  return 'input'
}
const isExpert = (name: string) => /_exps\./.test(name)
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

export function estimateModel(shape: ModelShape, opts: PlanOptions, proc: CudaProcessCosts = cudaProcess): ModelPlan {
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
  for (const t of shape.tensors) {
    const p = placeOf(t.name)
    let gpu: boolean
    let dev = -1
    if (p === 'input') gpu = false
    else if (p === 'output') {
      gpu = ngl >= 1
      dev = devOf[shape.nLayer]
    } else {
      gpu = onGpu(p.layer) && !(isExpert(t.name) && (opts.cpuMoe || p.layer < opts.nCpuMoe))
      dev = devOf[p.layer]
    }
    if (gpu) {
      gpuWeights += cudaTensorBytes(t.shape, t.type)
      weightsBy[dev] += cudaTensorBytes(t.shape, t.type)
    } else {
      hostWeights += tensorBytes(t.shape, t.type)
      if (typeof p === 'object' && isMatrix(t.shape)) largestHostMatrix = Math.max(largestHostMatrix, tensorBytes(t.shape, t.type))
    }
  }
  const embd = shape.tensors.find((t) => t.name === 'token_embd.weight')
  if (shape.tied && ngl >= 1 && embd) {
    gpuWeights += cudaTensorBytes(embd.shape, embd.type)
    weightsBy[devOf[shape.nLayer]] += cudaTensorBytes(embd.shape, embd.type)
    terms.push({ where: 'gpu', what: 'tied output copy', mib: cudaTensorBytes(embd.shape, embd.type) / MiB, why: 'no output.weight: the token embedding is copied to the GPU as the output layer, and stays on the host for the input' })
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
  // Weights left on the host are copied to the GPU for ubatches of 32+ tokens (op offload): the
  // largest one sits in the compute buffer.
  const staging = ub >= 32 ? largestHostMatrix : 0
  if (staging) terms.push({ where: 'gpu', what: 'staging of host weights', mib: staging / MiB, why: 'ggml-sched copies CPU-resident weights to the GPU for batched matrix products; the largest copy lives in the compute buffer' })
  // Every card in the split reserves its own graph buffer (each runs whole layers of the same
  // ubatch); the op-offload copies of host weights go to the first card.
  const computeBy = split.map((_, d) => (used[d] || (nDev === 1) ? compute : 0) + (d === firstUsed ? staging : 0))
  compute = compute * nUsed + staging

  // ---- per-process CUDA overhead
  const nKvRequest = pad(Math.min(opts.promptTokens ?? ctxPerSlot, ctxPerSlot), 256)
  const mmqInput = moe ? shape.nExpertUsed * shape.nEmbd : Math.max(shape.nFf, shape.nEmbd, qDim)
  const pool = (ub * mmqInput * 36) / 32 + (fa ? 0 : nKvRequest * shape.nHead * ub)
  const kernels = proc.firstRequestKernelsMiB * MiB + Math.max(moe ? proc.moeKernelsMiB : 0, fa ? 0 : proc.gemmKernelsMiB) * MiB
  const overheadPerGpu = (proc.contextMiB + proc.cublasHandleMiB) * MiB + kernels + pool
  // One context, cuBLAS handle, module set and pool per card the process touches.
  const overhead = overheadPerGpu * nUsed
  const overheadBy = split.map((_, d) => (used[d] || nDev === 1 ? overheadPerGpu : 0))
  terms.push(
    { where: 'gpu', what: 'CUDA context + cuBLAS', mib: (proc.contextMiB + proc.cublasHandleMiB) * nUsed, why: nUsed > 1 ? `paid once per GPU the server touches (${nUsed} here) and once per server process` : 'paid once per server process: two servers pay it twice' },
    { where: 'gpu', what: 'kernels and memory pool', mib: ((kernels + pool) * nUsed) / MiB, why: 'modules loaded by the first request; the pool holds quantised activations (and the f16 attention matrix without flash attention)' },
  )
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
  return { path: shape.path, name: shape.name, ngl, nglAll, ctx, ctxPerSlot, options: { ...opts, ngl }, vram, vramByGpu, host, terms, warnings }
}

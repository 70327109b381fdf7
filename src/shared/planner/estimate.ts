// llama.cpp's CUDA backend, term by term, for one llama-server process.
// Every figure is derived from the GGUF's tensors and hyper-parameters plus the few constants
// below, which were measured (../shared/data/vram-h100: overhead-pair.tsv and the after-request
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

/** Where each tensor lives for a given -ngl: the last ngl-1 blocks and the output layer on the GPU. */
export function layerOnGpu(shape: ModelShape, ngl: number): (il: number) => boolean {
  const iGpuStart = Math.max(shape.nLayer + 1 - ngl, 0)
  return (il) => il >= iGpuStart
}

export type CudaProcessCosts = typeof cudaProcess

export function estimateModel(shape: ModelShape, opts: PlanOptions, proc: CudaProcessCosts = cudaProcess): ModelPlan {
  const warnings: string[] = []
  const terms: PlanTerm[] = []
  const nglAll = shape.nLayer + 1
  const ngl = Math.max(0, Math.min(opts.ngl, nglAll))
  const onGpu = layerOnGpu(shape, ngl)
  const ub = opts.ubatch
  const np = opts.parallel
  const fa = opts.flashAttn

  // ---- weights
  let gpuWeights = 0
  let hostWeights = 0
  let largestHostMatrix = 0
  for (const t of shape.tensors) {
    const p = placeOf(t.name)
    let gpu: boolean
    if (p === 'input') gpu = false
    else if (p === 'output') gpu = ngl >= 1
    else gpu = onGpu(p.layer) && !(isExpert(t.name) && (opts.cpuMoe || p.layer < opts.nCpuMoe))
    if (gpu) gpuWeights += cudaTensorBytes(t.shape, t.type)
    else {
      hostWeights += tensorBytes(t.shape, t.type)
      if (typeof p === 'object' && isMatrix(t.shape)) largestHostMatrix = Math.max(largestHostMatrix, tensorBytes(t.shape, t.type))
    }
  }
  const embd = shape.tensors.find((t) => t.name === 'token_embd.weight')
  if (shape.tied && ngl >= 1 && embd) {
    gpuWeights += cudaTensorBytes(embd.shape, embd.type)
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
    if (onGpu(il) && !opts.noKvOffload) gpuKv += bytes
    else hostKv += bytes
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
  compute += staging

  // ---- per-process CUDA overhead
  const nKvRequest = pad(Math.min(opts.promptTokens ?? ctxPerSlot, ctxPerSlot), 256)
  const mmqInput = moe ? shape.nExpertUsed * shape.nEmbd : Math.max(shape.nFf, shape.nEmbd, qDim)
  const pool = (ub * mmqInput * 36) / 32 + (fa ? 0 : nKvRequest * shape.nHead * ub)
  const kernels = proc.firstRequestKernelsMiB * MiB + Math.max(moe ? proc.moeKernelsMiB : 0, fa ? 0 : proc.gemmKernelsMiB) * MiB
  const overhead = (proc.contextMiB + proc.cublasHandleMiB) * MiB + kernels + pool
  terms.push(
    { where: 'gpu', what: 'CUDA context + cuBLAS', mib: proc.contextMiB + proc.cublasHandleMiB, why: 'paid once per server process: two servers pay it twice' },
    { where: 'gpu', what: 'kernels and memory pool', mib: (kernels + pool) / MiB, why: 'modules loaded by the first request; the pool holds quantised activations (and the f16 attention matrix without flash attention)' },
  )

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
  const host: HostTerms = {
    weightsMiB: r(hostWeights),
    kvMiB: r(hostKv),
    otherMiB: r(hostOther),
    totalMiB: r(hostWeights + hostKv + hostOther),
  }
  return { path: shape.path, name: shape.name, ngl, nglAll, ctx, ctxPerSlot, options: { ...opts, ngl }, vram, host, terms, warnings }
}

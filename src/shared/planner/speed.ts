// Decode speed from memory bandwidth. Generating one token reads every weight that takes part
// once (for a mixture of experts, only the experts a token is routed to) and the KV cache written
// so far; on a memory-bound decode the time per token is those bytes over the bandwidth of the
// memory they sit in, summed over the cards and the host (llama.cpp runs the layers one after the
// other). An upper bound: real decodes reach some 60–90% of it.
import { isExpert, placeOf, slotDevices } from './estimate'
import { kvTypeNumber, rowBytes, tensorBytes } from './ggml-types'
import type { ModelShape, PlanOptions, SpeedEstimate } from './types'

const GB = 1e9
const pad = (x: number, to: number) => Math.ceil(x / to) * to

/** Used when the host's bandwidth was never measured: dual-channel DDR5 reaches about this. */
export const assumedHostGBps = 40
/** Used for a card whose bandwidth is not known (a custom card). */
export const assumedGpuGBps = 300

/** Bytes one decoded token reads, per slot (0..nLayer-1 the layers, nLayer the output layer). */
export interface ReadProfile {
  /** Weights per slot that run on the GPU when the slot is offloaded */
  slotWeights: number[]
  /** Expert weights per layer that stay on the host with --cpu-moe / --n-cpu-moe */
  hostExperts: number[]
  /** KV cache bytes read per layer at the average fill of a slot */
  slotKv: number[]
  /** The output layer read on the host at -ngl 0 (a tied model's token embedding) */
  outputOnHost: number
}

/** What decoding one token reads, by where it sits; independent of -ngl. */
export function readProfile(shape: ModelShape, opts: PlanOptions): ReadProfile {
  const slotWeights = Array.from({ length: shape.nLayer + 1 }, () => 0)
  const hostExperts = Array.from({ length: shape.nLayer }, () => 0)
  const routed = shape.nExpert > 0 && shape.nExpertUsed > 0 ? shape.nExpertUsed / shape.nExpert : 1
  for (const t of shape.tensors) {
    const p = placeOf(t.name)
    // The token embedding is looked up a row at a time: one row per token, nothing to count.
    if (p === 'input') continue
    const expert = isExpert(t.name)
    const bytes = tensorBytes(t.shape, t.type) * (expert ? routed : 1)
    if (p === 'output') slotWeights[shape.nLayer] += bytes
    else if (expert && (opts.cpuMoe || p.layer < opts.nCpuMoe)) hostExperts[p.layer] += bytes
    else slotWeights[p.layer] += bytes
  }
  const embd = shape.tensors.find((t) => t.name === 'token_embd.weight')
  // A tied model's logits read the whole token embedding (as the output layer).
  if (shape.tied && embd) slotWeights[shape.nLayer] += tensorBytes(embd.shape, embd.type)
  // The KV cache read per token: a slot half full on average over a conversation that fills it.
  const ctx = pad(opts.ctx > 0 ? opts.ctx : shape.nCtxTrain, 256)
  const perSlot = opts.kvUnified ? ctx : pad(Math.floor(ctx / opts.parallel), 256)
  const tk = kvTypeNumber[opts.cacheTypeK]
  const tv = kvTypeNumber[opts.cacheTypeV]
  const slotKv = Array.from({ length: shape.nLayer }, (_, il) => {
    if (shape.recurrentStateBytesPerLayer) return shape.recurrentStateBytesPerLayer
    const hkv = shape.nHeadKv[il] ?? 0
    if (!hkv) return 0
    const cells = Math.min(perSlot / 2, shape.swaLayers[il] && shape.nSwa ? shape.nSwa : Infinity)
    const perCell = shape.kvLoraRank ? rowBytes(tk, shape.kvLoraRank + shape.ropeDimMla) : rowBytes(tk, hkv * shape.headDimK) + rowBytes(tv, hkv * shape.headDimV)
    return cells * perCell
  })
  return { slotWeights, hostExperts, slotKv, outputOnHost: slotWeights[shape.nLayer] }
}

const gb = (b: number) => (b / GB >= 10 ? (b / GB).toFixed(1) : (b / GB).toFixed(2))

/** Tokens/s at a given -ngl (and -ts), from a read profile and the bandwidths. */
export function speedAt(
  shape: ModelShape,
  profile: ReadProfile,
  ngl: number,
  split: number[] | undefined,
  bw: { gpuGBps: Array<number | undefined>; hostGBps: number; hostMeasured: boolean },
  noKvOffload = false,
): SpeedEstimate {
  const nDev = Math.max(split?.length ?? 1, 1)
  const dev = slotDevices(shape.nLayer, ngl, split ?? [1])
  const gpuBytes = Array.from({ length: nDev }, () => 0)
  let hostBytes = 0
  for (let il = 0; il <= shape.nLayer; il++) {
    const d = dev[il]
    const w = profile.slotWeights[il]
    const kv = il < shape.nLayer ? profile.slotKv[il] : 0
    if (d >= 0) {
      gpuBytes[d] += w
      if (noKvOffload) hostBytes += kv
      else gpuBytes[d] += kv
    } else hostBytes += w + kv
    if (il < shape.nLayer) hostBytes += profile.hostExperts[il]
  }
  const assumptions: string[] = []
  const gpuGBps = gpuBytes.map((_, i) => {
    const known = bw.gpuGBps[i]
    if (known && known > 0) return known
    if (gpuBytes[i] > 0) assumptions.push(`GPU ${nDev > 1 ? `${i} ` : ''}bandwidth unknown: assumed ${assumedGpuGBps} GB/s`)
    return assumedGpuGBps
  })
  if (!bw.hostMeasured && hostBytes > 0) assumptions.push(`host bandwidth not measured yet: assumed ${bw.hostGBps} GB/s`)
  const seconds = gpuBytes.reduce((s, b, i) => s + b / (gpuGBps[i] * GB), 0) + hostBytes / (bw.hostGBps * GB)
  const exact = seconds > 0 ? 1 / seconds : 0
  const tokensPerSec = Math.round(exact * 10) / 10
  const parts = gpuBytes.flatMap((b, i) => (b > 0 ? [`${gb(b)} GB ÷ ${gpuGBps[i]} GB/s${nDev > 1 ? ` (GPU ${i})` : ' (GPU)'}`] : []))
  if (hostBytes > 0) parts.push(`${gb(hostBytes)} GB ÷ ${bw.hostGBps} GB/s (host)`)
  return {
    tokensPerSec,
    exactTokensPerSec: exact,
    gpuBytesPerToken: gpuBytes.map(Math.round),
    hostBytesPerToken: Math.round(hostBytes),
    gpuGBps,
    hostGBps: bw.hostGBps,
    formula: `1 / (${parts.join(' + ')}) = ${tokensPerSec} tok/s`,
    assumptions,
  }
}

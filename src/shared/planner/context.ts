// The context trade-off for one model at its planned -ngl: for each KV cache type and slot count,
// the largest context that still fits in the VRAM left beside the other models, and what the KV
// cache costs per 1024 tokens. A quantised V cache needs flash attention in llama.cpp.
import { cudaProcess, estimateModel, type ServerExtras } from './estimate'
import type { ContextOption, KvCacheType, ModelPlan, ModelShape } from './types'

export const contextKvTypes: KvCacheType[] = ['f16', 'q8_0', 'q4_0']
const step = 256

/**
 * `roomMiB` is what this model may use on each card (capacity − margin − the other models).
 * Contexts are searched per slot in steps of 256 (llama.cpp pads to 256) up to the training context.
 */
export function contextOptions(shape: ModelShape, plan: ModelPlan, extras: ServerExtras, roomMiB: number[]): ContextOption[] {
  const slots = [...new Set([1, 2, 4, plan.options.parallel])].sort((a, b) => a - b)
  const maxSteps = Math.max(1, Math.floor(shape.nCtxTrain / step))
  const out: ContextOption[] = []
  for (const t of contextKvTypes) {
    const quantisedV = t !== 'f16'
    const base = { ...plan.options, cacheTypeK: t, cacheTypeV: t, flashAttn: quantisedV ? true : plan.options.flashAttn, kvUnified: false }
    const at = (perSlot: number, np: number) => estimateModel(shape, { ...base, parallel: np, ctx: perSlot * np, promptTokens: undefined }, cudaProcess, extras)
    const fits = (perSlot: number, np: number) => at(perSlot, np).vramByGpu.every((v, k) => v.totalMiB <= (roomMiB[k] ?? 0))
    const kv = (ctx: number) => {
      const p = at(ctx, 1)
      return p.vram.kvMiB + p.host.kvMiB
    }
    const kvMiBPer1k = Math.round(((kv(8192) - kv(4096)) / 4) * 100) / 100
    for (const np of slots) {
      // Largest k with k·256 tokens per slot that fits (VRAM grows with the context).
      let lo = 0
      let hi = maxSteps
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2)
        if (fits(mid * step, np)) lo = mid
        else hi = mid - 1
      }
      out.push({ cacheType: t, parallel: np, maxCtx: lo * step * np, maxCtxPerSlot: lo * step, kvMiBPer1k, needsFlashAttn: quantisedV })
    }
  }
  return out
}

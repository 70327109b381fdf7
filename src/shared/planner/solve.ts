// Plans several models on one card: the largest -ngl that fits, then suggestions when it does not.
import { defaultPlanOptions, estimateModel } from './estimate'
import { planExports } from './export'
import type { GpuPreset, ModelPlan, ModelShape, PlanOptions, PlanResult, PlanSuggestion } from './types'

export const gpuPresets: GpuPreset[] = [
  { name: 'NVIDIA RTX 4050 Laptop (6 GB)', vramMiB: 6144 },
  { name: 'NVIDIA RTX 3060 (12 GB)', vramMiB: 12288 },
  { name: 'NVIDIA RTX 4060 Ti (16 GB)', vramMiB: 16384 },
  { name: 'NVIDIA RTX 3090 / 4090 (24 GB)', vramMiB: 24576 },
  { name: 'NVIDIA RTX 5090 (32 GB)', vramMiB: 32607 },
  { name: 'NVIDIA A100 40GB', vramMiB: 40960 },
  { name: 'NVIDIA H100 80GB HBM3', vramMiB: 81559 },
  { name: 'AMD RX 7900 XTX (24 GB)', vramMiB: 24560 },
]

export interface PlanModelInput {
  shape: ModelShape
  /** 'max' = solve for the largest that fits */
  ngl: number | 'max'
  options: Partial<Omit<PlanOptions, 'ngl'>>
}

/** Headroom kept free by default: the display, the desktop compositor and driver spikes. */
export const defaultMarginMiB = 256

function sum(plans: ModelPlan[]): number {
  return plans.reduce((s, p) => s + p.vram.totalMiB, 0)
}

/**
 * Models with `ngl: 'max'` are solved in order, each taking the largest -ngl that still fits
 * beside the others (earlier models first: list the one that matters most first).
 */
export function planModels(inputs: PlanModelInput[], vramMiB: number, gpuName: string, marginMiB = defaultMarginMiB): PlanResult {
  const opts = inputs.map((m) => ({ ...defaultPlanOptions, ...m.options, ngl: m.ngl === 'max' ? 0 : m.ngl }))
  const plans = inputs.map((m, i) => estimateModel(m.shape, opts[i]))
  const budget = vramMiB - marginMiB
  inputs.forEach((m, i) => {
    if (m.ngl !== 'max') return
    const fitsWith = (ngl: number) => {
      const p = estimateModel(m.shape, { ...opts[i], ngl })
      return { p, ok: sum(plans.filter((_, j) => j !== i)) + p.vram.totalMiB <= budget }
    }
    // Total VRAM grows with -ngl, so a binary search finds the largest that fits.
    let lo = 0
    let hi = m.shape.nLayer + 1
    if (fitsWith(hi).ok) lo = hi
    else {
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1
        if (fitsWith(mid).ok) lo = mid
        else hi = mid
      }
    }
    opts[i].ngl = lo
    plans[i] = fitsWith(lo).p
  })
  const used = Math.round(sum(plans) * 100) / 100
  const margin = Math.round((vramMiB - used) * 100) / 100
  const fits = margin >= marginMiB
  return {
    models: plans,
    vramTotalMiB: vramMiB,
    vramUsedMiB: used,
    marginMiB: margin,
    requiredMarginMiB: marginMiB,
    fits,
    gpuName,
    hostTotalMiB: Math.round(plans.reduce((s, p) => s + p.host.totalMiB, 0) * 100) / 100,
    suggestions: fits ? [] : suggestions(inputs, plans, margin - marginMiB),
    exports: planExports(plans),
  }
}

/** What would free VRAM, each tried on its own, largest saving first. */
function suggestions(inputs: PlanModelInput[], plans: ModelPlan[], shortMiB: number): PlanSuggestion[] {
  const out: PlanSuggestion[] = []
  plans.forEach((p, i) => {
    const shape = inputs[i].shape
    const o = p.options
    const name = p.name
    const tryOpts = (text: string, flags: string, change: Partial<PlanOptions>) => {
      const q = estimateModel(shape, { ...o, ...change })
      const saves = Math.round(p.vram.totalMiB - q.vram.totalMiB)
      if (saves > 0) out.push({ text: `${text} on ${name} saves ${saves} MiB`, savesMiB: saves, flags })
    }
    if (o.cacheTypeK === 'f16' || o.cacheTypeV === 'f16') tryOpts('q8_0 KV cache', '-fa on -ctk q8_0 -ctv q8_0', { cacheTypeK: 'q8_0', cacheTypeV: 'q8_0', flashAttn: true })
    if (!o.flashAttn) tryOpts('flash attention', '-fa on', { flashAttn: true })
    if (p.ctx > 2048) tryOpts(`half the context (${p.ctx / 2})`, `-c ${p.ctx / 2}`, { ctx: p.ctx / 2 })
    if (o.parallel > 1 && !o.kvUnified) tryOpts(`one slot instead of ${o.parallel}`, '-np 1', { parallel: 1, ctx: p.ctxPerSlot })
    if (shape.nExpert > 0 && !o.cpuMoe) tryOpts('experts in host RAM', '--cpu-moe', { cpuMoe: true })
    if (o.ubatch > 256) tryOpts('a smaller ubatch', '-ub 256', { ubatch: 256 })
    if (p.ngl > 0) {
      // How many layers fewer would close the gap on their own.
      for (let ngl = p.ngl - 1; ngl >= 0; ngl--) {
        const q = estimateModel(shape, { ...o, ngl })
        if (p.vram.totalMiB - q.vram.totalMiB >= -shortMiB || ngl === 0) {
          out.push({ text: `-ngl ${ngl} on ${name} (${p.ngl - ngl} layers to the CPU) saves ${Math.round(p.vram.totalMiB - q.vram.totalMiB)} MiB`, savesMiB: Math.round(p.vram.totalMiB - q.vram.totalMiB), flags: `-ngl ${ngl}` })
          break
        }
      }
    }
  })
  return out.sort((a, b) => b.savesMiB - a.savesMiB)
}

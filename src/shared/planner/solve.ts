// Plans several models on one or several cards: the largest -ngl that fits, then suggestions when
// it does not. Several cards are modelled from the single-GPU measurements (see estimate.ts).
import { HearthError } from '../errors'
import { defaultPlanOptions, estimateModel } from './estimate'
import { planExports } from './export'
import type { GpuPlan, GpuPreset, ModelPlan, ModelShape, PlanGpu, PlanOptions, PlanResult, PlanSuggestion } from './types'

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

export const multiGpuNote =
  'Multi-GPU figures are modelled from the single-GPU measurements (no multi-GPU machine was available to measure), so they carry more uncertainty: keep a larger margin.'

const round2 = (x: number) => Math.round(x * 100) / 100

/** One card: the plan as it always was. */
export function planModels(inputs: PlanModelInput[], vramMiB: number, gpuName: string, marginMiB = defaultMarginMiB): PlanResult {
  return planOnGpus(inputs, [{ name: gpuName, vramMiB }], marginMiB)
}

/**
 * Checks each model's `split` against the cards: as many ratios as cards at most (missing ones
 * are 0, as llama.cpp pads -ts), numbers ≥ 0, at least one above 0.
 */
function checkSplit(m: PlanModelInput, nGpu: number): number[] | undefined {
  const s = m.options.split
  if (!s) return nGpu > 1 ? Array.from({ length: nGpu }, (_, i) => (i === 0 ? 1 : 0)) : undefined
  const who = m.shape.name
  if (s.length > nGpu) throw new HearthError('BAD_INPUT', `${who}: ${s.length} split ratios (--tensor-split / --device) for ${nGpu} GPU${nGpu > 1 ? 's' : ''}; give one ratio per card (indices 0–${nGpu - 1}) or list more cards with --vram-mib A,B`)
  if (s.some((x) => !Number.isFinite(x) || x < 0)) throw new HearthError('BAD_INPUT', `${who}: split ratios must be numbers ≥ 0 (got ${s.join(',')}), e.g. --tensor-split 1,1`)
  if (!s.some((x) => x > 0)) throw new HearthError('BAD_INPUT', `${who}: every split ratio is 0 (got ${s.join(',')}); give at least one card a share, e.g. --tensor-split 1,1`)
  const padded = [...s, ...Array.from({ length: nGpu - s.length }, () => 0)]
  return nGpu === 1 ? undefined : padded
}

/**
 * Models with `ngl: 'max'` are solved in order, each taking the largest -ngl that still fits on
 * every card beside the others (earlier models first: list the one that matters most first).
 */
export function planOnGpus(inputs: PlanModelInput[], gpus: PlanGpu[], marginMiB = defaultMarginMiB): PlanResult {
  if (!gpus.length) throw new HearthError('BAD_INPUT', 'plan against at least one GPU')
  const opts = inputs.map((m) => ({ ...defaultPlanOptions, ...m.options, split: checkSplit(m, gpus.length), ngl: m.ngl === 'max' ? 0 : m.ngl }))
  for (const o of opts) if (!o.split) delete o.split
  const plans = inputs.map((m, i) => estimateModel(m.shape, opts[i]))
  const onGpu = (g: number, ps: ModelPlan[]) => ps.reduce((s, p) => s + p.vramByGpu[g].totalMiB, 0)
  inputs.forEach((m, i) => {
    if (m.ngl !== 'max') return
    const fitsWith = (ngl: number) => {
      const p = estimateModel(m.shape, { ...opts[i], ngl })
      const others = plans.filter((_, j) => j !== i)
      return { p, ok: gpus.every((g, k) => onGpu(k, others) + p.vramByGpu[k].totalMiB <= g.vramMiB - marginMiB) }
    }
    // From the top down: with a split, one more layer can move others between cards, so a card's
    // share need not grow with -ngl and a binary search could miss the largest that fits.
    let ngl = m.shape.nLayer + 1
    let best = fitsWith(ngl)
    while (!best.ok && ngl > 0) best = fitsWith(--ngl)
    opts[i].ngl = ngl
    plans[i] = best.p
  })
  const perGpu: GpuPlan[] = gpus.map((g, k) => {
    const usedMiB = round2(onGpu(k, plans))
    const margin = round2(g.vramMiB - usedMiB)
    return { index: k, name: g.name, vramTotalMiB: g.vramMiB, usedMiB, marginMiB: margin, fits: margin >= marginMiB }
  })
  const used = round2(plans.reduce((s, p) => s + p.vram.totalMiB, 0))
  const total = gpus.reduce((s, g) => s + g.vramMiB, 0)
  // One card: its margin. Several: the tightest card's, the one that decides whether it fits.
  const margin = gpus.length === 1 ? round2(total - used) : Math.min(...perGpu.map((g) => g.marginMiB))
  const fits = perGpu.every((g) => g.fits)
  return {
    models: plans,
    vramTotalMiB: total,
    vramUsedMiB: used,
    marginMiB: margin,
    requiredMarginMiB: marginMiB,
    fits,
    gpuName: gpus.map((g) => g.name).join(' + '),
    gpus: perGpu,
    ...(gpus.length > 1 ? { multiGpuNote } : {}),
    hostTotalMiB: round2(plans.reduce((s, p) => s + p.host.totalMiB, 0)),
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

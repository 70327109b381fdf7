// Plans several models on one or several cards: the -ngl of every free model chosen jointly
// under the user's objective (joint.ts), the best alternatives ranked beside it, then the context
// trade-off, suggestions when nothing fits, and the exports. Several cards are modelled from the
// single-GPU measurements (see estimate.ts).
import { HearthError } from '../errors'
import { contextOptions } from './context'
import { cudaProcess, defaultPlanOptions, estimateModel, type ServerExtras } from './estimate'
import { planExports, type LlamaCapabilities } from './export'
import { bandwidthOfCard, gpuPresets } from './gpu-cards'
import { cardFits, compareScores, objectiveScore, searchJoint, type Choice, type JointModel } from './joint'
import { assumedHostGBps, readProfile, speedAt } from './speed'
import type { GpuPlan, ModelPlan, ModelShape, PlanAlternative, PlanGpu, PlanObjective, PlanOptions, PlanResult, PlanSuggestion, ProjectorShape } from './types'

export { gpuPresets }

export interface PlanModelInput {
  shape: ModelShape
  /** 'max' = the solver chooses, jointly with the other free models */
  ngl: number | 'max'
  options: Partial<Omit<PlanOptions, 'ngl'>>
  /** A vision projector loaded with --mmproj */
  projector?: ProjectorShape
  /** A draft model loaded with -md (its flags in options.draft) */
  draft?: ModelShape
}

/** What the plan needs beyond the models and cards. */
export interface PlanContext {
  /** default balanced */
  objective?: PlanObjective
  /** The host's measured memory bandwidth, GB/s; absent = not measured (an assumed figure, said so) */
  hostGBps?: number
  /** What the user's llama-server accepts, when Hearth found one */
  llama?: LlamaCapabilities
}

/** Headroom kept free by default: the display, the desktop compositor and driver spikes. */
export const defaultMarginMiB = 256

export const multiGpuNote =
  'Multi-GPU figures are modelled from the single-GPU measurements (no multi-GPU machine was available to measure), so they carry more uncertainty: keep a larger margin.'

const round2 = (x: number) => Math.round(x * 100) / 100

/** One card: the plan as it always was. */
export function planModels(inputs: PlanModelInput[], vramMiB: number, gpuName: string, marginMiB = defaultMarginMiB, context: PlanContext = {}): PlanResult {
  return planOnGpus(inputs, [{ name: gpuName, vramMiB }], marginMiB, context)
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

const tps = (x: number) => `${x >= 100 ? Math.round(x) : x.toFixed(1)} tok/s`
const nth = (i: number) => (i === 0 ? 'slowest' : i === 1 ? 'second slowest' : i === 2 ? 'third slowest' : `${i + 1}th slowest`)

/** "chat 3B 37/37 (whole) 45.1 tok/s · code 7B 14/29 23.4 tok/s" */
function summary(picks: Choice[], names: string[]): string {
  return picks.map((c, i) => `${names[i]} ${c.ngl}/${c.nglAll}${c.ngl === c.nglAll ? ' (whole)' : ''} ${tps(c.tps)}`).join(' · ')
}

/** Why the winner won, in the objective's own terms. */
function whyBest(objective: PlanObjective, picks: Choice[], names: string[]): string {
  const slowest = picks.reduce((a, c, i) => (c.tps < picks[a].tps ? i : a), 0)
  const whole = picks.filter((c) => c.ngl === c.nglAll).length
  if (objective === 'all')
    return whole === picks.length ? `every model wholly on the GPU; the slowest, ${names[slowest]}, at ${tps(picks[slowest].tps)}` : `${whole} of ${picks.length} models whole: all of them do not fit together; then the slowest, ${names[slowest]}, as fast as the rest allows (${tps(picks[slowest].tps)})`
  if (objective === 'priority') {
    const f = picks[0]
    return `${names[0]} first: ${f.ngl === f.nglAll ? 'whole' : `${f.ngl}/${f.nglAll} layers, all that fit`}; the others share what is left (slowest ${names[slowest]} at ${tps(picks[slowest].tps)})`
  }
  return `the slowest model, ${names[slowest]}, runs at ${tps(picks[slowest].tps)}: no plan that fits makes it faster`
}

/** Why a runner-up ranked below the winner: the first part of the score where it falls behind. */
function whyBelow(objective: PlanObjective, picks: Choice[], top: Choice[], names: string[]): string {
  const a = objectiveScore(objective, picks)
  const b = objectiveScore(objective, top)
  const i = a.findIndex((x, k) => x !== b[k])
  const n = picks.length
  const speedIndex = (k: number) => {
    const sorted = picks.map((c, j) => [c.tps, j] as const).sort((x, y) => x[0] - y[0])
    const sortedTop = [...top.map((c) => c.tps)].sort((x, y) => x - y)
    const [v, j] = sorted[k]
    return `its ${nth(k)} model, ${names[j]}, runs at ${tps(v)} against ${tps(sortedTop[k])} in #1`
  }
  const rest = (offset: number, count: number) => {
    const k = i - offset
    if (k < count) {
      if (objective === 'priority') {
        const restPicks = picks.slice(1).map((c, j) => [c.tps, j + 1] as const).sort((x, y) => x[0] - y[0])
        const restTop = top.slice(1).map((c) => c.tps).sort((x, y) => x - y)
        const [v, j] = restPicks[k]
        return `among the others, ${names[j]} runs at ${tps(v)} against ${tps(restTop[k])} in #1`
      }
      return speedIndex(k)
    }
    if (k === count) return `fewer layers on the GPU (${picks.reduce((s, c) => s + c.ngl, 0)} against ${top.reduce((s, c) => s + c.ngl, 0)})`
    return `as fast, but uses more VRAM (${Math.round(-a[i])} MiB against ${Math.round(-b[i])})`
  }
  if (i < 0) return 'scores the same as #1'
  if (objective === 'all') return i === 0 ? `${a[0]} of ${n} models whole against ${b[0]} in #1` : rest(1, n)
  if (objective === 'priority') return i === 0 ? `${names[0]} gets ${a[0]} layers against ${b[0]} in #1` : rest(1, n - 1)
  return rest(0, n)
}

/**
 * Plans the models together. Models with `ngl: 'max'` get their -ngl from the joint search under
 * the objective (default balanced); fixed ones are taken as given. The result carries the best
 * alternatives side by side, each with why it ranked where it did.
 */
export function planOnGpus(inputs: PlanModelInput[], gpus: PlanGpu[], marginMiB = defaultMarginMiB, context: PlanContext = {}): PlanResult {
  if (!gpus.length) throw new HearthError('BAD_INPUT', 'plan against at least one GPU')
  const objective = context.objective ?? 'balanced'
  const hostMeasured = context.hostGBps !== undefined && context.hostGBps > 0
  const bw = { gpuGBps: gpus.map((g) => g.bandwidthGBps ?? bandwidthOfCard(g.name)), hostGBps: hostMeasured ? round2(context.hostGBps!) : assumedHostGBps, hostMeasured }
  const opts = inputs.map((m) => ({ ...defaultPlanOptions, ...m.options, split: checkSplit(m, gpus.length), ngl: m.ngl === 'max' ? 0 : m.ngl }))
  for (const o of opts) if (!o.split) delete o.split
  const extras: ServerExtras[] = inputs.map((m) => ({ projector: m.projector, draft: m.draft }))
  const names = inputs.map((m) => m.shape.name)
  const profiles = inputs.map((m, i) => readProfile(m.shape, opts[i]))
  const choiceOf = (i: number, ngl: number): Choice => {
    const shape = inputs[i].shape
    const plan = estimateModel(shape, { ...opts[i], ngl }, cudaProcess, extras[i])
    plan.speed = speedAt(shape, profiles[i], plan.ngl, opts[i].split, bw, opts[i].noKvOffload)
    return { ngl: plan.ngl, nglAll: plan.nglAll, plan, byCard: plan.vramByGpu.map((v) => v.totalMiB), tps: plan.speed.exactTokensPerSec }
  }
  const models: JointModel[] = inputs.map((m, i) => ({
    name: m.shape.name,
    choices: m.ngl === 'max' ? Array.from({ length: m.shape.nLayer + 2 }, (_, k) => choiceOf(i, m.shape.nLayer + 1 - k)) : [choiceOf(i, m.ngl)],
  }))
  const caps = gpus.map((g) => g.vramMiB)
  const search = searchJoint(models, caps, marginMiB, objective)
  const pick = (idx: number[]) => idx.map((k, i) => models[i].choices[k])
  const ranked = search.found
    .map((f) => ({ ...f, choices: pick(f.picks), score: objectiveScore(objective, pick(f.picks)) }))
    .sort((a, b) => -compareScores(a.score, b.score))
  // Nothing fits: every free model at its fewest layers, with suggestions of what would help.
  const chosen = ranked[0]?.choices ?? models.map((m) => m.choices[m.choices.length - 1])
  const outcome = (choices: Choice[]) => {
    const perGpu: GpuPlan[] = gpus.map((g, k) => {
      const usedMiB = round2(choices.reduce((s, c) => s + c.byCard[k], 0))
      const margin = round2(g.vramMiB - usedMiB)
      return { index: k, name: g.name, vramTotalMiB: g.vramMiB, usedMiB, marginMiB: margin, fits: cardFits(g.vramMiB, usedMiB, marginMiB) }
    })
    const used = round2(choices.reduce((s, c) => s + c.plan.vram.totalMiB, 0))
    const total = gpus.reduce((s, g) => s + g.vramMiB, 0)
    // One card: its margin. Several: the tightest card's, the one that decides whether it fits.
    const margin = gpus.length === 1 ? round2(total - used) : Math.min(...perGpu.map((g) => g.marginMiB))
    return { perGpu, used, total, margin, fits: perGpu.every((g) => g.fits) }
  }
  const top = outcome(chosen)
  const plans = chosen.map((c) => ({ ...c.plan }))
  // The context trade-off of each model, the others as planned.
  plans.forEach((p, i) => {
    const room = caps.map((cap, k) => cap - marginMiB - chosen.reduce((s, c, j) => (j === i ? s : s + c.byCard[k]), 0))
    p.contextOptions = contextOptions(inputs[i].shape, p, extras[i], room)
  })
  const alternatives: PlanAlternative[] = ranked.slice(1, 4).map((f, k) => {
    const o = outcome(f.choices)
    return {
      rank: k + 2,
      label: f.labels.join(' · '),
      why: `${summary(f.choices, names)}. Ranked #${k + 2} under ${objective}: ${whyBelow(objective, f.choices, chosen, names)}.`,
      models: f.choices.map((c) => c.plan),
      vramUsedMiB: o.used,
      marginMiB: o.margin,
      fits: o.fits,
      gpus: o.perGpu,
      score: f.score,
    }
  })
  const searched = search.exhaustive ? `searched all ${search.combinations} combinations of -ngl` : `too many combinations to search them all: a greedy ascent chose (more layers one at a time to whichever model gains most)`
  const why = ranked.length
    ? `${summary(chosen, names)}. Best under ${objective}${ranked[0].labels.length > 1 ? ` (also best as ${ranked[0].labels.slice(1).join(', ')})` : ''}: ${whyBest(objective, chosen, names)}; ${searched}.`
    : `Nothing fits: even with the fewest layers on the GPU the models need more than the card${gpus.length > 1 ? 's' : ''} hold beside the ${marginMiB} MiB margin.`
  return {
    objective,
    why,
    alternatives,
    hostBandwidth: { gbps: bw.hostGBps, measured: hostMeasured },
    models: plans,
    vramTotalMiB: top.total,
    vramUsedMiB: top.used,
    marginMiB: top.margin,
    requiredMarginMiB: marginMiB,
    fits: top.fits,
    gpuName: gpus.map((g) => g.name).join(' + '),
    gpus: top.perGpu,
    ...(gpus.length > 1 ? { multiGpuNote } : {}),
    hostTotalMiB: round2(plans.reduce((s, p) => s + p.host.totalMiB, 0)),
    suggestions: top.fits ? [] : suggestions(inputs, plans, top.margin - marginMiB),
    exports: planExports(plans, { llama: context.llama }),
  }
}

/** What would free VRAM, each tried on its own, largest saving first. */
function suggestions(inputs: PlanModelInput[], plans: ModelPlan[], shortMiB: number): PlanSuggestion[] {
  const out: PlanSuggestion[] = []
  plans.forEach((p, i) => {
    const shape = inputs[i].shape
    const o = p.options
    const name = p.name
    const ex = { projector: inputs[i].projector, draft: inputs[i].draft }
    const tryOpts = (text: string, flags: string, change: Partial<PlanOptions>) => {
      const q = estimateModel(shape, { ...o, ...change }, cudaProcess, ex)
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
        const q = estimateModel(shape, { ...o, ngl }, cudaProcess, ex)
        if (p.vram.totalMiB - q.vram.totalMiB >= -shortMiB || ngl === 0) {
          out.push({ text: `-ngl ${ngl} on ${name} (${p.ngl - ngl} layers to the CPU) saves ${Math.round(p.vram.totalMiB - q.vram.totalMiB)} MiB`, savesMiB: Math.round(p.vram.totalMiB - q.vram.totalMiB), flags: `-ngl ${ngl}` })
          break
        }
      }
    }
  })
  return out.sort((a, b) => b.savesMiB - a.savesMiB)
}

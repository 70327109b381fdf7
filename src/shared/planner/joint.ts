// The joint search: every model whose -ngl is free ("max") gets the layers that serve the
// objective the user picked, all models together, instead of greedily in list order (where an 8B
// listed first takes 28/33 layers of a 6 GB card and the 3B behind it gets none).
// - balanced (default): maximise the slowest model's estimated tokens/s, then the next slowest …
// - all: as many models wholly on the GPU as fit (all of them when possible), then balanced
// - priority: the first model keeps as many layers as fit (whole when possible); the rest share
//   what is left, balanced among themselves
// Exhaustive over the free models' -ngl (with pruning by VRAM) up to a bound; beyond it, a greedy
// ascent that says so.
import type { ModelPlan, PlanObjective } from './types'

/** One -ngl of one model, estimated: its VRAM per card and its decode speed. */
export interface Choice {
  ngl: number
  nglAll: number
  plan: ModelPlan
  /** MiB per card */
  byCard: number[]
  /** Unrounded estimated tokens/s */
  tps: number
}

export interface JointModel {
  name: string
  /** Every -ngl this model may take (one entry when the user fixed it), most layers first */
  choices: Choice[]
}

/** Scores are compared element by element; the first difference decides. */
export function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -Infinity) - (b[i] ?? -Infinity)
    if (d !== 0) return d
  }
  return 0
}

const r2 = (x: number) => Math.round(x * 100) / 100
const ascending = (xs: number[]) => [...xs].sort((a, b) => a - b)

/** Does one card hold this much beside the margin (the same rounding as the plan shows)? */
export function cardFits(capMiB: number, usedMiB: number, marginMiB: number): boolean {
  return r2(capMiB - r2(usedMiB)) >= marginMiB
}

/**
 * The score of a joint choice under an objective (higher is better). `order` puts another model
 * first for `priority`. Ties on speed go to more layers on the GPU, then to less VRAM used.
 */
export function objectiveScore(objective: PlanObjective, picks: Choice[], order?: number[]): number[] {
  const layers = picks.reduce((s, c) => s + c.ngl, 0)
  const used = picks.reduce((s, c) => s + c.byCard.reduce((a, b) => a + b, 0), 0)
  const tail = [layers, -r2(used)]
  if (objective === 'all') return [picks.filter((c) => c.ngl === c.nglAll).length, ...ascending(picks.map((c) => c.tps)), ...tail]
  if (objective === 'priority') {
    const o = order ?? picks.map((_, i) => i)
    const [first, ...rest] = o.map((i) => picks[i])
    return [first.ngl, ...ascending(rest.map((c) => c.tps)), ...tail]
  }
  return [...ascending(picks.map((c) => c.tps)), ...tail]
}

/** A candidate the search kept, with the names of the questions it answers best. */
export interface Found {
  picks: number[]
  labels: string[]
}

export interface SearchResult {
  /** Feasible candidates (deduplicated): the best under each objective and per-model variants */
  found: Found[]
  /** false when the space was too large and a greedy ascent chose instead */
  exhaustive: boolean
  combinations: number
}

/** Combinations tried exhaustively before falling back to the greedy ascent. */
export const exhaustiveLimit = 400_000

/**
 * Searches the free models' -ngl jointly. Returns, for the chosen objective, the best feasible
 * joint choice and the best under the other objectives and per-model variants ("X whole",
 * "X first"), so the caller can rank them side by side. Empty `found` = nothing fits.
 */
export function searchJoint(models: JointModel[], capsMiB: number[], marginMiB: number, objective: PlanObjective, limit = exhaustiveLimit): SearchResult {
  const n = models.length
  const nCards = capsMiB.length
  type Slot = { score: number[]; picks: number[] } | null
  const headroom = Math.min(1024, Math.min(...capsMiB) / 8)
  const goals: Array<{ label: string; score: (p: Choice[], sums: number[]) => number[] | null }> = [
    { label: objective, score: (p) => objectiveScore(objective, p) },
    ...(['balanced', 'all', 'priority'] as const).filter((o) => o !== objective).map((o) => ({ label: o, score: (p: Choice[]) => objectiveScore(o, p) })),
  ]
  models.forEach((m, i) => {
    if (m.choices.length < 2) return
    goals.push({ label: `${m.name} whole`, score: (p) => (p[i].ngl === p[i].nglAll ? objectiveScore(objective, p) : null) })
    if (i > 0) goals.push({ label: `${m.name} first`, score: (p) => objectiveScore('priority', p, [i, ...models.map((_, j) => j).filter((j) => j !== i)]) })
  })
  // Room to grow the context or to run something else beside: the best that leaves more free.
  goals.push({ label: `${Math.round(headroom)} MiB more headroom`, score: (p, sums) => (sums.every((s, k) => cardFits(capsMiB[k], s, marginMiB + headroom)) ? objectiveScore(objective, p) : null) })
  const best: Slot[] = goals.map(() => null)
  const consider = (idx: number[], sums: number[]) => {
    const picks = idx.map((k, i) => models[i].choices[k])
    goals.forEach((g, gi) => {
      const s = g.score(picks, sums)
      if (s && (!best[gi] || compareScores(s, best[gi]!.score) > 0)) best[gi] = { score: s, picks: [...idx] }
    })
  }
  // The least VRAM each remaining model can take on each card: a bound for pruning.
  const minRest: number[][] = Array.from({ length: n + 1 }, () => Array.from({ length: nCards }, () => 0))
  for (let i = n - 1; i >= 0; i--)
    for (let k = 0; k < nCards; k++) minRest[i][k] = minRest[i + 1][k] + Math.min(...models[i].choices.map((c) => c.byCard[k]))
  const room = capsMiB.map((c) => c - marginMiB)
  let combinations = 0
  let exhaustive = true
  const idx: number[] = []
  const sums = Array.from({ length: nCards }, () => 0)
  const dfs = (i: number) => {
    if (!exhaustive) return
    if (i === n) {
      if (++combinations > limit) exhaustive = false
      else if (sums.every((s, k) => cardFits(capsMiB[k], s, marginMiB))) consider(idx, sums)
      return
    }
    for (let k = 0; k < models[i].choices.length; k++) {
      const c = models[i].choices[k]
      // Leave a hair of slack to the bound: the exact check at the leaf decides.
      if (c.byCard.some((v, g) => sums[g] + v + minRest[i + 1][g] > room[g] + 0.01)) continue
      c.byCard.forEach((v, g) => (sums[g] += v))
      idx.push(k)
      dfs(i + 1)
      idx.pop()
      c.byCard.forEach((v, g) => (sums[g] -= v))
    }
  }
  dfs(0)
  if (!exhaustive) {
    best.fill(null)
    const g = greedyAscent(models, capsMiB, marginMiB, objective)
    if (g) best[0] = { score: objectiveScore(objective, g.map((k, i) => models[i].choices[k])), picks: g }
  }
  const found: Found[] = []
  best.forEach((b, gi) => {
    if (!b) return
    const same = found.find((f) => f.picks.every((k, i) => k === b.picks[i]))
    if (same) same.labels.push(goals[gi].label)
    else found.push({ picks: b.picks, labels: [goals[gi].label] })
  })
  return { found, exhaustive, combinations: Math.min(combinations, limit) }
}

/** From the fewest layers up, one step at a time to whichever model improves the score most. */
function greedyAscent(models: JointModel[], capsMiB: number[], marginMiB: number, objective: PlanObjective): number[] | null {
  // choices run from most layers to fewest: start at the last (fewest) of each.
  const idx = models.map((m) => m.choices.length - 1)
  const fits = (ix: number[]) => capsMiB.every((cap, k) => cardFits(cap, ix.reduce((s, c, i) => s + models[i].choices[c].byCard[k], 0), marginMiB))
  if (!fits(idx)) return null
  for (;;) {
    let bestStep: number[] | null = null
    let bestScore = objectiveScore(objective, idx.map((k, i) => models[i].choices[k]))
    for (let i = 0; i < models.length; i++) {
      if (idx[i] === 0) continue
      const next = [...idx]
      next[i]--
      if (!fits(next)) continue
      const s = objectiveScore(objective, next.map((k, j) => models[j].choices[k]))
      if (compareScores(s, bestScore) > 0) {
        bestScore = s
        bestStep = next
      }
    }
    if (!bestStep) return idx
    idx.splice(0, idx.length, ...bestStep)
  }
}

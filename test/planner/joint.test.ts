// The joint solver on GGUF files the test writes (real shapes, sparse weights): the chosen plan
// fits with the margin and no feasible plan scores higher under the objective, checked by brute
// force over every -ngl combination (each plan estimated here on its own, not through the solver).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { llamaShape, qwen2Shape } from '../helpers/model-shapes'
import { chat3b, code7b, writeShape } from './written-shapes'
import {
  cardFits,
  compareScores,
  defaultPlanOptions,
  estimateModel,
  objectiveScore,
  planModels,
  readProfile,
  searchJoint,
  speedAt,
  type Choice,
  type ModelShape,
  type PlanModelInput,
  type PlanObjective,
  type PlanResult,
} from '../../src/shared/planner'

let dir: string
const shapes: Record<string, ModelShape> = {}
const load = async (name: string, spec: Parameters<typeof writeShape>[2]) => void (shapes[name] = await writeShape(dir, name, spec))

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-joint-'))
  // Qwen2.5-3B-Instruct, Qwen2.5-Coder-7B and Qwen2.5-1.5B shapes at Q4_K_M; Llama 3.1 8B and 3.2 3B.
  await load('chat-3b', chat3b())
  await load('code-7b', code7b())
  await load('small-1.5b', qwen2Shape({ name: 'small 1.5B', layers: 28, embd: 1536, heads: 12, headsKv: 2, ff: 8960, vocab: 151936, fileType: 'Q4_K_M', contextLength: 32768 }))
  await load('llama-8b', llamaShape({ name: 'Llama 8B', layers: 32, embd: 4096, heads: 32, headsKv: 8, ff: 14336, vocab: 128256, fileType: 'Q4_K_M', contextLength: 131072 }))
  await load('llama-3b', llamaShape({ name: 'Llama 3B', layers: 28, embd: 3072, heads: 24, headsKv: 8, ff: 8192, vocab: 128256, fileType: 'Q4_K_M', contextLength: 131072, tiedEmbeddings: true }))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const hostGBps = 38.5
const bwOf = (gpuGBps: number) => ({ gpuGBps: [gpuGBps], hostGBps, hostMeasured: true })

/** Every -ngl of every model, estimated one by one; then every combination scored. */
function bruteForce(inputs: PlanModelInput[], capMiB: number, marginMiB: number, objective: PlanObjective, gpuGBps: number) {
  const tables: Choice[][] = inputs.map((m) => {
    const opts = { ...defaultPlanOptions, ...m.options }
    return Array.from({ length: m.shape.nLayer + 2 }, (_, ngl) => {
      const plan = estimateModel(m.shape, { ...opts, ngl })
      const tps = speedAt(m.shape, readProfile(m.shape, opts), ngl, undefined, bwOf(gpuGBps)).exactTokensPerSec
      return { ngl, nglAll: m.shape.nLayer + 1, plan, byCard: [plan.vram.totalMiB], tps }
    })
  })
  let best: { score: number[]; ngls: number[] } | null = null
  let feasible = 0
  const idx = tables.map(() => 0)
  for (;;) {
    const picks = idx.map((k, i) => tables[i][k])
    if (cardFits(capMiB, picks.reduce((s, c) => s + c.byCard[0], 0), marginMiB)) {
      feasible++
      const score = objectiveScore(objective, picks)
      if (!best || compareScores(score, best.score) > 0) best = { score, ngls: picks.map((c) => c.ngl) }
    }
    let i = 0
    while (i < idx.length && ++idx[i] === tables[i].length) idx[i++] = 0
    if (i === idx.length) break
  }
  return { best, feasible }
}

const scoreOf = (objective: PlanObjective, r: PlanResult) =>
  objectiveScore(objective, r.models.map((m) => ({ ngl: m.ngl, nglAll: m.nglAll, plan: m, byCard: [m.vram.totalMiB], tps: m.speed!.exactTokensPerSec })))

function expectOptimal(inputs: PlanModelInput[], capMiB: number, card: string, gpuGBps: number, objective: PlanObjective, marginMiB = 256) {
  const r = planModels(inputs, capMiB, card, marginMiB, { objective, hostGBps })
  const bf = bruteForce(inputs, capMiB, marginMiB, objective, gpuGBps)
  expect(bf.best).not.toBeNull()
  // Fits with the margin…
  expect(r.fits).toBe(true)
  expect(r.marginMiB).toBeGreaterThanOrEqual(marginMiB)
  expect(r.vramUsedMiB).toBeLessThanOrEqual(capMiB - marginMiB)
  // …and no feasible plan scores higher (the brute-force best scores the same).
  expect(compareScores(scoreOf(objective, r), bf.best!.score)).toBe(0)
  return { r, bf }
}

const chatAndCode = (): PlanModelInput[] => [
  { shape: shapes['chat-3b'], ngl: 'max', options: { ctx: 4096 } },
  { shape: shapes['code-7b'], ngl: 'max', options: { ctx: 4096 } },
]

describe('joint solver: 3B chat + 7B code on a 6 GB card (brute force over -ngl)', () => {
  const card = 'NVIDIA RTX 4050 Laptop (6 GB)'
  for (const objective of ['balanced', 'all', 'priority'] as const) {
    it(`${objective}: fits with the margin and no feasible plan scores higher`, () => {
      const { r, bf } = expectOptimal(chatAndCode(), 6144, card, 192, objective)
      console.log(`6 GB ${objective}: ${r.models.map((m) => `${m.name} ${m.ngl}/${m.nglAll} ${m.speed!.tokensPerSec} tok/s`).join(', ')}; ${bf.feasible} feasible of ${38 * 30}`)
    })
  }

  it('priority and all keep the 3B chat model whole and give the 7B every layer that still fits', () => {
    for (const objective of ['priority', 'all'] as const) {
      const r = planModels(chatAndCode(), 6144, card, 256, { objective, hostGBps })
      expect(r.models[0].ngl).toBe(37)
      const n = r.models[1].ngl
      expect(n).toBeGreaterThan(0)
      expect(n).toBeLessThan(29)
      const more = planModels([{ ...chatAndCode()[0], ngl: 37 }, { ...chatAndCode()[1], ngl: n + 1 }], 6144, card, 256, { hostGBps })
      expect(more.fits).toBe(false)
    }
  })

  it('balanced makes the slowest model faster than any list-order greedy plan does', () => {
    const balanced = planModels(chatAndCode(), 6144, card, 256, { objective: 'balanced', hostGBps })
    const slowest = (r: PlanResult) => Math.min(...r.models.map((m) => m.speed!.exactTokensPerSec))
    // Greedy in list order, as the planner did before: the first model takes all it can.
    const first = planModels([chatAndCode()[0]], 6144, card, 256, { hostGBps }).models[0].ngl
    const greedy = planModels([{ ...chatAndCode()[0], ngl: first }, chatAndCode()[1]], 6144, card, 256, { hostGBps })
    expect(slowest(balanced)).toBeGreaterThan(slowest(greedy))
  })

  it('ranks two or three alternatives below the chosen plan, each feasible, with why in numbers', () => {
    const r = planModels(chatAndCode(), 6144, card, 256, { objective: 'balanced', hostGBps })
    expect(r.alternatives.length).toBeGreaterThanOrEqual(2)
    expect(r.alternatives.length).toBeLessThanOrEqual(3)
    let prev = scoreOf('balanced', r)
    for (const a of r.alternatives) {
      expect(a.fits).toBe(true)
      expect(a.marginMiB).toBeGreaterThanOrEqual(256)
      expect(compareScores(a.score, prev)).toBeLessThanOrEqual(0)
      prev = a.score
      expect(a.why).toMatch(new RegExp(`Ranked #${a.rank} under balanced: .*(tok/s|layers|MiB)`))
      // Distinct plans, not the winner again.
      expect(a.models.map((m) => m.ngl)).not.toEqual(r.models.map((m) => m.ngl))
    }
    expect(r.why).toMatch(/Best under balanced: the slowest model, .* runs at [\d.]+ tok\/s/)
    expect(r.alternatives.map((a) => a.label).join(' ')).toMatch(/chat 3B whole/)
  })
})

describe('joint solver: three models on an 8 GB card (brute force over -ngl)', () => {
  const three = (): PlanModelInput[] => [
    { shape: shapes['chat-3b'], ngl: 'max', options: { ctx: 4096 } },
    { shape: shapes['code-7b'], ngl: 'max', options: { ctx: 4096 } },
    { shape: shapes['small-1.5b'], ngl: 'max', options: { ctx: 8192 } },
  ]
  for (const objective of ['balanced', 'all', 'priority'] as const) {
    it(`${objective}: fits with the margin and no feasible plan scores higher`, () => {
      const { r, bf } = expectOptimal(three(), 8192, 'NVIDIA GeForce RTX 4060', 272, objective)
      console.log(`8 GB ${objective}: ${r.models.map((m) => `${m.name} ${m.ngl}/${m.nglAll} ${m.speed!.tokensPerSec} tok/s`).join(', ')}; ${bf.feasible} feasible of ${38 * 30 * 30}`)
    })
  }
})

describe('joint solver: the list-order trap', () => {
  it('8B + 3B on 6 GB: list order gave the 8B 29/33 layers and the 3B none; balanced gives both layers', () => {
    const inputs: PlanModelInput[] = [
      { shape: shapes['llama-8b'], ngl: 'max', options: { ctx: 8192 } },
      { shape: shapes['llama-3b'], ngl: 'max', options: { ctx: 8192 } },
    ]
    // What list order gave: the 8B alone takes every layer it can, then nothing is left for the 3B.
    const first = planModels([inputs[0]], 6144, 'NVIDIA RTX 4050 Laptop (6 GB)', 256, { hostGBps }).models[0].ngl
    const greedy = planModels([{ ...inputs[0], ngl: first }, inputs[1]], 6144, 'NVIDIA RTX 4050 Laptop (6 GB)', 256, { hostGBps })
    expect([first, greedy.models[1].ngl]).toEqual([29, 0])
    const r = planModels(inputs, 6144, 'NVIDIA RTX 4050 Laptop (6 GB)', 256, { hostGBps })
    console.log(`8B + 3B on 6 GB, balanced: ${r.why}`)
    expect(r.objective).toBe('balanced')
    expect(r.fits).toBe(true)
    expect(r.models[1].ngl).toBeGreaterThan(0)
    expect(r.models[0].ngl).toBeGreaterThan(0)
    const { bf } = expectOptimal(inputs, 6144, 'NVIDIA RTX 4050 Laptop (6 GB)', 192, 'balanced')
    expect(bf.best!.ngls).toEqual(r.models.map((m) => m.ngl))
  })

  it('beyond the exhaustive bound a greedy ascent still returns a feasible plan, and says so', () => {
    const inputs = chatAndCode()
    const models = inputs.map((m) => ({
      name: m.shape.name,
      choices: Array.from({ length: m.shape.nLayer + 2 }, (_, k) => {
        const ngl = m.shape.nLayer + 1 - k
        const plan = estimateModel(m.shape, { ...defaultPlanOptions, ...m.options, ngl })
        return { ngl, nglAll: m.shape.nLayer + 1, plan, byCard: [plan.vram.totalMiB], tps: speedAt(m.shape, readProfile(m.shape, { ...defaultPlanOptions, ...m.options }), ngl, undefined, bwOf(192)).exactTokensPerSec }
      }),
    }))
    const s = searchJoint(models, [6144], 256, 'balanced', 10)
    expect(s.exhaustive).toBe(false)
    const picks = s.found[0].picks.map((k, i) => models[i].choices[k])
    expect(cardFits(6144, picks.reduce((a, c) => a + c.byCard[0], 0), 256)).toBe(true)
    const exact = searchJoint(models, [6144], 256, 'balanced')
    expect(exact.exhaustive).toBe(true)
    expect(compareScores(objectiveScore('balanced', picks), objectiveScore('balanced', exact.found[0].picks.map((k, i) => models[i].choices[k])))).toBeLessThanOrEqual(0)
  })

  it('says plainly when nothing fits', () => {
    const r = planModels(chatAndCode(), 1024, 'tiny', 256, { hostGBps })
    expect(r.fits).toBe(false)
    expect(r.alternatives).toEqual([])
    expect(r.why).toMatch(/^Nothing fits/)
    expect(r.suggestions.length).toBeGreaterThan(0)
  })
})

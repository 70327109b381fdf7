// The planner's state: the models being planned with their llama-server flags, the cards, the
// objective, and the latest plan from the backend (the math runs there, on the GGUF headers);
// running servers against their plans; the host's measured bandwidth.
import { create } from 'zustand'
import type { GpuSample, HostBandwidth, KvCacheType, PlanCheck, PlanObjective, PlanResult } from '../../../../shared/api'
import { hearth } from '../../hearth'

export interface PlannedModel {
  key: number
  target: string
  ctx: number
  /** 'max' = the solver chooses, jointly with the other free models */
  ngl: number | 'max'
  parallel: number
  kvType: KvCacheType
  flashAttn: boolean
  /** Card index for the whole GPU share, or 'split' to spread layers by `split` (-ts) */
  placement: number | 'split'
  /** -ts ratios, one per card */
  split: number[]
  /** A vision projector: 'auto' (beside the model / paired by the catalog) or a path; '' = none */
  mmproj: string
  mmprojOnCpu: boolean
  /** A draft model (-md); '' = none */
  draft: string
  draftNgl: number
  /** -cd; 0 = the main context */
  draftCtx: number
}

/** A detected GPU id, a preset name, or 'custom' with its own MiB. */
export interface CardChoice {
  kind: 'gpu' | 'preset' | 'custom'
  value: string
  mib?: number
}

interface PlannerStore {
  models: PlannedModel[]
  /** The cards planned against, in CUDA (PCI bus) order */
  cards: CardChoice[]
  /** true once the user picked cards: detected GPUs no longer replace them */
  cardsChosen: boolean
  objective: PlanObjective
  result: PlanResult | null
  error: string | null
  gpu: GpuSample | null
  gpuHistory: GpuSample[]
  checks: PlanCheck[] | null
  checkError: string | null
  hostBandwidth: HostBandwidth | null
  measuring: boolean
  add(target: string): void
  update(key: number, change: Partial<PlannedModel>): void
  remove(key: number): void
  setCard(index: number, card: CardChoice): void
  addCard(card: CardChoice): void
  removeCard(index: number): void
  setObjective(o: PlanObjective): void
  /** Fixes every model's -ngl to the one an alternative gives it */
  useAlternative(rank: number): void
  addGpuSample(s: GpuSample[]): void
  replan(): Promise<void>
  refreshChecks(): Promise<void>
  loadHostBandwidth(): Promise<void>
  measureHostBandwidth(): Promise<void>
}

let nextKey = 1
let seq = 0

export const usePlanner = create<PlannerStore>((set, get) => ({
  models: [],
  cards: [{ kind: 'preset', value: 'NVIDIA RTX 4050 Laptop (6 GB)' }],
  cardsChosen: false,
  objective: 'balanced',
  result: null,
  error: null,
  gpu: null,
  gpuHistory: [],
  checks: null,
  checkError: null,
  hostBandwidth: null,
  measuring: false,
  add(target) {
    set((s) => ({
      models: [...s.models, { key: nextKey++, target, ctx: 4096, ngl: 'max', parallel: 1, kvType: 'f16', flashAttn: true, placement: 0, split: s.cards.map(() => 1), mmproj: '', mmprojOnCpu: false, draft: '', draftNgl: 999, draftCtx: 0 }],
    }))
    void get().replan()
  },
  update(key, change) {
    set((s) => ({ models: s.models.map((m) => (m.key === key ? { ...m, ...change } : m)) }))
    void get().replan()
  },
  remove(key) {
    set((s) => ({ models: s.models.filter((m) => m.key !== key) }))
    void get().replan()
  },
  setCard(index, card) {
    set((s) => ({ cardsChosen: true, cards: s.cards.map((c, i) => (i === index ? card : c)) }))
    void get().replan()
  },
  addCard(card) {
    set((s) => ({ cardsChosen: true, cards: [...s.cards, card], models: s.models.map((m) => ({ ...m, split: [...m.split, 1] })) }))
    void get().replan()
  },
  removeCard(index) {
    // Models on the card removed go back to card 0; later cards shift down by one.
    set((s) => ({
      cardsChosen: true,
      cards: s.cards.filter((_, i) => i !== index),
      models: s.models.map((m) => ({
        ...m,
        placement: m.placement === 'split' ? 'split' : m.placement === index ? 0 : m.placement > index ? m.placement - 1 : m.placement,
        split: m.split.filter((_, i) => i !== index),
      })),
    }))
    void get().replan()
  },
  setObjective(objective) {
    set({ objective })
    void get().replan()
  },
  useAlternative(rank) {
    const alt = get().result?.alternatives.find((a) => a.rank === rank)
    if (!alt) return
    set((s) => ({ models: s.models.map((m, i) => ({ ...m, ngl: alt.models[i]?.ngl ?? m.ngl })) }))
    void get().replan()
  },
  addGpuSample(samples) {
    set((s) => {
      const last = s.gpuHistory[s.gpuHistory.length - 1]?.atMs ?? -Infinity
      const fresh = samples.filter((x) => x.atMs > last)
      const gpuHistory = s.gpuHistory.concat(fresh).slice(-3600)
      const gpu = gpuHistory[gpuHistory.length - 1] ?? s.gpu
      // Until the user picks cards, plan on every GPU this machine has (free memory now).
      const detected = (gpu?.gpus ?? []).filter((g) => g.freeBytes ?? g.totalBytes)
      const adopt = !s.cardsChosen && detected.length > 0 && (s.cards.length !== detected.length || s.cards.some((c, i) => c.kind !== 'gpu' || c.value !== detected[i].id))
      if (!adopt) return { gpuHistory, gpu }
      const cards: CardChoice[] = detected.map((g) => ({ kind: 'gpu', value: g.id }))
      return { gpuHistory, gpu, cards, models: s.models.map((m) => ({ ...m, split: cards.map((_, i) => m.split[i] ?? 1) })) }
    })
    if (!get().cardsChosen && get().cards[0]?.kind === 'gpu' && get().models.length && !get().result) void get().replan()
  },
  async replan() {
    const { models, cards, objective } = get()
    const my = ++seq
    if (!models.length) return set({ result: null, error: null })
    try {
      const result = await hearth().plan({
        objective,
        models: models.map((m) => ({
          target: m.target, ctx: m.ctx, ngl: m.ngl, parallel: m.parallel, cacheTypeK: m.kvType, cacheTypeV: m.kvType, flashAttn: m.flashAttn,
          ...(cards.length < 2 ? {} : m.placement === 'split' ? { tensorSplit: m.split } : { device: Math.min(m.placement, cards.length - 1) }),
          ...(m.mmproj ? { mmproj: m.mmproj, ...(m.mmprojOnCpu ? { noMmprojOffload: true } : {}) } : {}),
          ...(m.draft ? { draft: { target: m.draft, ngl: m.draftNgl, ctx: m.draftCtx } } : {}),
        })),
        gpus: cards.map((c) => (c.kind === 'custom' ? { name: `${c.mib ?? 8192} MiB card`, totalMiB: c.mib ?? 8192 } : c.value)),
      })
      // An older answer arriving late must not overwrite a newer one.
      if (my === seq) set({ result, error: null })
    } catch (err) {
      if (my === seq) set({ error: (err as Error).message, result: null })
    }
  },
  async refreshChecks() {
    try {
      set({ checks: await hearth().planChecks(), checkError: null })
    } catch (err) {
      set({ checkError: (err as Error).message })
    }
  },
  async loadHostBandwidth() {
    set({ hostBandwidth: await hearth().hostBandwidth() })
  },
  async measureHostBandwidth() {
    set({ measuring: true })
    try {
      set({ hostBandwidth: await hearth().measureHostBandwidth() })
      await get().replan()
    } finally {
      set({ measuring: false })
    }
  },
}))

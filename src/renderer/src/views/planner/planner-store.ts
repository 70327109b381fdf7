// The planner's state: the models being planned with their llama-server flags, the cards, and the
// latest plan from the backend (the math runs there, on the GGUF headers).
import { create } from 'zustand'
import type { GpuSample, KvCacheType, PlanResult } from '../../../../shared/api'
import { hearth } from '../../hearth'

export interface PlannedModel {
  key: number
  target: string
  ctx: number
  /** 'max' = the largest that fits */
  ngl: number | 'max'
  parallel: number
  kvType: KvCacheType
  flashAttn: boolean
  /** Card index for the whole GPU share, or 'split' to spread layers by `split` (-ts) */
  placement: number | 'split'
  /** -ts ratios, one per card */
  split: number[]
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
  result: PlanResult | null
  error: string | null
  gpu: GpuSample | null
  gpuHistory: GpuSample[]
  add(target: string): void
  update(key: number, change: Partial<PlannedModel>): void
  remove(key: number): void
  setCard(index: number, card: CardChoice): void
  addCard(card: CardChoice): void
  removeCard(index: number): void
  addGpuSample(s: GpuSample[]): void
  replan(): Promise<void>
}

let nextKey = 1
let seq = 0

export const usePlanner = create<PlannerStore>((set, get) => ({
  models: [],
  cards: [{ kind: 'preset', value: 'NVIDIA RTX 4050 Laptop (6 GB)' }],
  result: null,
  error: null,
  gpu: null,
  gpuHistory: [],
  add(target) {
    set((s) => ({ models: [...s.models, { key: nextKey++, target, ctx: 4096, ngl: 'max', parallel: 1, kvType: 'f16', flashAttn: true, placement: 0, split: s.cards.map(() => 1) }] }))
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
    set((s) => ({ cards: s.cards.map((c, i) => (i === index ? card : c)) }))
    void get().replan()
  },
  addCard(card) {
    set((s) => ({ cards: [...s.cards, card], models: s.models.map((m) => ({ ...m, split: [...m.split, 1] })) }))
    void get().replan()
  },
  removeCard(index) {
    // Models on the card removed go back to card 0; later cards shift down by one.
    set((s) => ({
      cards: s.cards.filter((_, i) => i !== index),
      models: s.models.map((m) => ({
        ...m,
        placement: m.placement === 'split' ? 'split' : m.placement === index ? 0 : m.placement > index ? m.placement - 1 : m.placement,
        split: m.split.filter((_, i) => i !== index),
      })),
    }))
    void get().replan()
  },
  addGpuSample(samples) {
    set((s) => {
      const last = s.gpuHistory[s.gpuHistory.length - 1]?.atMs ?? -Infinity
      const fresh = samples.filter((x) => x.atMs > last)
      const gpuHistory = s.gpuHistory.concat(fresh).slice(-3600)
      return { gpuHistory, gpu: gpuHistory[gpuHistory.length - 1] ?? s.gpu }
    })
  },
  async replan() {
    const { models, cards } = get()
    const my = ++seq
    if (!models.length) return set({ result: null, error: null })
    try {
      const result = await hearth().plan({
        models: models.map((m) => ({
          target: m.target, ctx: m.ctx, ngl: m.ngl, parallel: m.parallel, cacheTypeK: m.kvType, cacheTypeV: m.kvType, flashAttn: m.flashAttn,
          ...(cards.length < 2 ? {} : m.placement === 'split' ? { tensorSplit: m.split } : { device: Math.min(m.placement, cards.length - 1) }),
        })),
        gpus: cards.map((c) => (c.kind === 'custom' ? { name: `${c.mib ?? 8192} MiB card`, totalMiB: c.mib ?? 8192 } : c.value)),
      })
      // An older answer arriving late must not overwrite a newer one.
      if (my === seq) set({ result, error: null })
    } catch (err) {
      if (my === seq) set({ error: (err as Error).message, result: null })
    }
  },
}))

// The planner's state: the models being planned with their llama-server flags, the card, and the
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
}

/** A detected GPU id, a preset name, or 'custom' with its own MiB. */
export interface CardChoice {
  kind: 'gpu' | 'preset' | 'custom'
  value: string
  mib?: number
}

interface PlannerStore {
  models: PlannedModel[]
  card: CardChoice
  result: PlanResult | null
  error: string | null
  gpu: GpuSample | null
  gpuHistory: GpuSample[]
  add(target: string): void
  update(key: number, change: Partial<PlannedModel>): void
  remove(key: number): void
  setCard(card: CardChoice): void
  addGpuSample(s: GpuSample[]): void
  replan(): Promise<void>
}

let nextKey = 1
let seq = 0

export const usePlanner = create<PlannerStore>((set, get) => ({
  models: [],
  card: { kind: 'preset', value: 'NVIDIA RTX 4050 Laptop (6 GB)' },
  result: null,
  error: null,
  gpu: null,
  gpuHistory: [],
  add(target) {
    set((s) => ({ models: [...s.models, { key: nextKey++, target, ctx: 4096, ngl: 'max', parallel: 1, kvType: 'f16', flashAttn: true }] }))
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
  setCard(card) {
    set({ card })
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
    const { models, card } = get()
    const my = ++seq
    if (!models.length) return set({ result: null, error: null })
    try {
      const result = await hearth().plan({
        models: models.map((m) => ({ target: m.target, ctx: m.ctx, ngl: m.ngl, parallel: m.parallel, cacheTypeK: m.kvType, cacheTypeV: m.kvType, flashAttn: m.flashAttn })),
        ...(card.kind === 'custom' ? { vramMiB: card.mib } : { gpu: card.value }),
      })
      // An older answer arriving late must not overwrite a newer one.
      if (my === seq) set({ result, error: null })
    } catch (err) {
      if (my === seq) set({ error: (err as Error).message, result: null })
    }
  },
}))

import { create } from 'zustand'
import type { ModelResidency, ResidencyUpdate } from '../../../shared/api'

interface ResidencyStore {
  /** Replaced entry by entry: a model that did not change keeps its object, so its row stays put. */
  byId: Record<string, ModelResidency>
  updatedAtMs: number
  setAll(models: ModelResidency[]): void
  apply(update: ResidencyUpdate): void
}

export const useResidency = create<ResidencyStore>((set) => ({
  byId: {},
  updatedAtMs: 0,
  setAll: (models) => set({ byId: Object.fromEntries(models.map((m) => [m.modelId, m])), updatedAtMs: Date.now() }),
  apply: (update) =>
    set((s) => {
      if (update.models.length === 0) return s
      const byId = { ...s.byId }
      for (const m of update.models) byId[m.modelId] = m
      return { byId, updatedAtMs: update.atMs }
    }),
}))

export const useModelResidency = (id: string): ModelResidency | undefined => useResidency((s) => s.byId[id])

/** Fraction resident (0..1) over the bytes whose residency is known; null when none is known. */
export function residentFraction(r: ModelResidency | undefined): number | null {
  if (!r) return null
  const known = r.bytes - r.unknownBytes
  if (known <= 0) return null
  return r.residentBytes / known
}

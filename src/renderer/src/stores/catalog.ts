import { create } from 'zustand'
import type { Catalog, Model } from '../../../shared/api'

interface CatalogStore {
  catalog: Catalog | null
  byId: Record<string, Model>
  loadError: string | null
  setCatalog(c: Catalog): void
  setLoadError(message: string): void
}

export const useCatalog = create<CatalogStore>((set) => ({
  catalog: null,
  byId: {},
  loadError: null,
  setCatalog: (catalog) => set({ catalog, byId: Object.fromEntries(catalog.models.map((m) => [m.id, m])), loadError: null }),
  setLoadError: (loadError) => set({ loadError }),
}))

/** One model, by id; rows and the detail select only their own. */
export const useModel = (id: string): Model | undefined => useCatalog((s) => s.byId[id])

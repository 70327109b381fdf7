import { create } from 'zustand'

export type Theme = 'system' | 'light' | 'dark'
export type SortKey = 'name' | 'source' | 'bytes' | 'format' | 'resident' | 'load'

/** Where the window is: "#/" the dashboard, "#/models/ID" a model, "#/<view>" another view. */
export interface Route {
  view: string
  modelId?: string
}

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  if (parts[0] === 'models' && parts[1]) return { view: 'dashboard', modelId: parts[1] }
  return { view: parts[0] ?? 'dashboard' }
}

export function routeHash(r: Route): string {
  if (r.modelId) return `#/models/${encodeURIComponent(r.modelId)}`
  return r.view === 'dashboard' ? '#/' : `#/${r.view}`
}

interface UiStore {
  route: Route
  theme: Theme
  sortKey: SortKey
  sortDesc: boolean
  filter: string
  navigate(r: Route): void
  setTheme(t: Theme): void
  sortBy(k: SortKey): void
  setFilter(f: string): void
}

const themeKey = 'hearth.theme'

export const useUi = create<UiStore>((set, get) => ({
  route: parseHash(window.location.hash),
  theme: (localStorage.getItem(themeKey) as Theme | null) ?? 'system',
  sortKey: 'name',
  sortDesc: false,
  filter: '',
  navigate: (route) => {
    const hash = routeHash(route)
    if (window.location.hash !== hash) window.history.pushState(null, '', hash)
    set({ route })
  },
  setTheme: (theme) => {
    localStorage.setItem(themeKey, theme)
    set({ theme })
  },
  sortBy: (k) => {
    const { sortKey, sortDesc } = get()
    // Sizes and residency read best biggest-first; names alphabetically.
    set(k === sortKey ? { sortDesc: !sortDesc } : { sortKey: k, sortDesc: k === 'bytes' || k === 'resident' || k === 'load' })
  },
  setFilter: (filter) => set({ filter }),
}))

window.addEventListener('popstate', () => useUi.setState({ route: parseHash(window.location.hash) }))
window.addEventListener('hashchange', () => useUi.setState({ route: parseHash(window.location.hash) }))

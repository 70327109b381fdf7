import { useMemo, useRef } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { Model } from '../../../../shared/api'
import { Panel } from '../../components/Card'
import { useCatalog } from '../../stores/catalog'
import { residentFraction, useResidency } from '../../stores/residency'
import { useUi, type SortKey } from '../../stores/ui'
import { ModelRow } from './ModelRow'
import { formatLabel, searchText, sourceLabel } from './describe'
import { ListLayoutContext, useMeasuredLayout, type ListLayout } from './list-layout'
import { useLoadTimeOrder } from '../doctor/LoadTimeCell'

interface Column {
  key: SortKey
  label: string
  align?: 'right'
  /** Column width per layout (Tailwind classes); null hides it there. The name column takes the rest. */
  width: Record<ListLayout, string | null>
}

/** The columns after the name, in order; ModelRow renders its cells in the same order. */
const columns: Column[] = [
  { key: 'source', label: 'Source', width: { wide: 'w-32', narrow: 'w-32' } },
  { key: 'bytes', label: 'Size', align: 'right', width: { wide: 'w-24', narrow: 'w-20' } },
  // narrow: shown under the name instead
  { key: 'format', label: 'Format', width: { wide: 'w-40', narrow: null } },
  // wide: the label under the bar (the row has two lines anyway), so the column is as wide as
  // "99.9% · 1.45 GiB" and the names get the rest; narrow: beside it, a short bar
  { key: 'resident', label: 'In RAM', width: { wide: 'w-36', narrow: 'w-48' } },
  // the Doctor's load-time estimate (views/doctor/LoadTimeCell)
  { key: 'load', label: 'Load', align: 'right', width: { wide: 'w-24', narrow: 'w-20' } },
]

/** The actions column: four buttons when wide (room for Unlock and Unpin), one menu button when narrow. */
const actionsWidth: Record<ListLayout, string> = { wide: 'w-80', narrow: 'w-12' }

const compareBy: Record<Exclude<SortKey, 'resident' | 'load'>, (a: Model, b: Model) => number> = {
  name: (a, b) => a.name.localeCompare(b.name),
  source: (a, b) => sourceLabel[a.source].localeCompare(sourceLabel[b.source]) || a.name.localeCompare(b.name),
  bytes: (a, b) => a.bytes - b.bytes,
  format: (a, b) => formatLabel(a).localeCompare(formatLabel(b)) || a.name.localeCompare(b.name),
}

export function ModelList() {
  const models = useCatalog((s) => s.catalog?.models)
  const { sortKey, sortDesc, filter, sortBy, setFilter } = useUi(
    useShallow((s) => ({ sortKey: s.sortKey, sortDesc: s.sortDesc, filter: s.filter, sortBy: s.sortBy, setFilter: s.setFilter })),
  )

  const filtered = useMemo(() => {
    const words = filter.toLowerCase().split(/\s+/).filter(Boolean)
    const all = models ?? []
    return words.length === 0 ? all : all.filter((m) => words.every((w) => searchText(m).includes(w)))
  }, [models, filter])

  const staticOrder = useMemo(() => {
    if (sortKey === 'resident' || sortKey === 'load') return null
    const sorted = [...filtered].sort(compareBy[sortKey])
    if (sortDesc) sorted.reverse()
    return sorted.map((m) => m.id)
  }, [filtered, sortKey, sortDesc])

  // Sorting by residency is the one order that moves at 1 Hz; useShallow re-renders the table
  // only when the order itself changes, not when a number does.
  const residencyOrder = useResidency(
    useShallow((s) => {
      if (sortKey !== 'resident') return null
      const f = (m: Model) => residentFraction(s.byId[m.id]) ?? -1
      const sorted = [...filtered].sort((a, b) => f(a) - f(b) || a.name.localeCompare(b.name))
      if (sortDesc) sorted.reverse()
      return sorted.map((m) => m.id)
    }),
  )
  const loadOrder = useLoadTimeOrder(filtered, sortKey === 'load', sortDesc)
  const ids = staticOrder ?? residencyOrder ?? loadOrder ?? []
  const listRef = useRef<HTMLDivElement>(null)
  const layout = useMeasuredLayout(listRef)
  const shown = columns.filter((c) => c.width[layout] !== null)

  return (
    <Panel
      title={<span className="pl-4">Models <span className="font-normal text-zinc-500">({filtered.length === (models?.length ?? 0) ? filtered.length : `${filtered.length} of ${models?.length ?? 0}`})</span></span>}
      className="overflow-hidden px-0! pb-0!"
      right={
        <input
          type="search"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          placeholder="Filter by name, source, quant…"
          aria-label="Filter models"
          data-testid="model-filter"
          className="mr-4 w-64 max-w-[45vw] rounded-md border border-zinc-300 bg-transparent px-2.5 py-1 text-sm outline-none focus:border-sky-500 dark:border-zinc-700"
        />
      }
    >
      <div ref={listRef} className="overflow-x-auto">
        <ListLayoutContext.Provider value={layout}>
          <table className="w-full table-fixed text-left" data-testid="model-table" data-layout={layout}>
            <colgroup>
              <col />
              {shown.map((c) => (
                <col key={c.key} className={c.width[layout]!} />
              ))}
              <col className={actionsWidth[layout]} />
            </colgroup>
            <thead className="bg-zinc-50 text-xs tracking-wide text-zinc-500 uppercase dark:bg-zinc-800/60 dark:text-zinc-400">
              <tr>
                {[{ key: 'name' as const, label: 'Model', align: undefined }, ...shown].map((c, i) => (
                  <th key={c.key} className={`py-2 font-medium ${i === 0 ? 'pr-3 pl-4' : 'px-3'} ${c.align === 'right' ? 'text-right' : ''}`} aria-sort={sortKey === c.key ? (sortDesc ? 'descending' : 'ascending') : undefined}>
                    <button type="button" onClick={() => sortBy(c.key)} className="uppercase hover:text-zinc-900 dark:hover:text-zinc-100" data-testid={`sort-${c.key}`}>
                      {c.label}
                      <span className="ml-1 inline-block w-2">{sortKey === c.key ? (sortDesc ? '↓' : '↑') : ''}</span>
                    </button>
                  </th>
                ))}
                <th className="pr-4">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {ids.map((id) => (
                <ModelRow key={id} id={id} />
              ))}
            </tbody>
          </table>
        </ListLayoutContext.Provider>
        {ids.length === 0 && (models?.length ?? 0) > 0 && <div className="px-4 py-6 text-center text-sm text-zinc-500">No model matches “{filter}”.</div>}
      </div>
    </Panel>
  )
}

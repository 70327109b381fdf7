import { useState } from 'react'
import type { CatalogRoot } from '../../../../shared/api'
import { hearth } from '../../hearth'
import { useCatalog } from '../../stores/catalog'
import { sourceLabel } from './describe'

/** Where Hearth looked: every root, whether it exists, why it was looked at, and what it held. */
export function RootList({ roots }: { roots: CatalogRoot[] }) {
  return (
    <ul className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800" data-testid="root-list">
      {roots.map((r) => (
        <li key={`${r.source}:${r.path}`} className="flex items-center gap-3 py-1.5" data-testid="root" data-exists={r.exists}>
          <span className={`w-4 text-center ${r.exists ? 'text-emerald-600' : 'text-zinc-400'}`} aria-label={r.exists ? 'exists' : 'not present'}>
            {r.exists ? '✓' : '–'}
          </span>
          <span className="w-28 shrink-0 text-zinc-600 dark:text-zinc-400">{sourceLabel[r.source]}</span>
          <code className="min-w-0 flex-1 truncate font-mono text-xs" title={r.path}>{r.path}</code>
          <span className="shrink-0 text-xs text-zinc-500">{r.origin}</span>
          <span className="w-24 shrink-0 text-right text-xs text-zinc-500 tabular-nums">
            {r.exists ? `${r.models} model${r.models === 1 ? '' : 's'}` : 'not present'}
          </span>
        </li>
      ))}
    </ul>
  )
}

export function AddFolder() {
  const [path, setPath] = useState('')
  const [busy, setBusy] = useState(false)
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null)
  async function submit(e: React.FormEvent) {
    e.preventDefault()
    if (!path.trim()) return
    setBusy(true)
    setMessage(null)
    try {
      const s = await hearth().addFolder({ path: path.trim() })
      setMessage({ ok: true, text: `Added. Hearth now also looks in ${s.folders.length} folder${s.folders.length === 1 ? '' : 's'} of yours; scanning…` })
      setPath('')
    } catch (err) {
      setMessage({ ok: false, text: err instanceof Error ? err.message : String(err) })
    } finally {
      setBusy(false)
    }
  }
  return (
    <form onSubmit={submit} className="flex flex-col gap-2" data-testid="add-folder">
      <div className="flex gap-2">
        <input
          value={path}
          onChange={(e) => setPath(e.target.value)}
          placeholder="/path/to/your/models"
          aria-label="Folder to add"
          className="min-w-0 flex-1 rounded-md border border-zinc-300 bg-transparent px-2.5 py-1.5 font-mono text-sm outline-none focus:border-sky-500 dark:border-zinc-700"
        />
        <button type="submit" disabled={busy || !path.trim()} className="rounded-md bg-sky-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-700 disabled:opacity-50">
          Add folder
        </button>
      </div>
      {message && <p className={`text-sm ${message.ok ? 'text-emerald-700 dark:text-emerald-400' : 'text-red-600 dark:text-red-400'}`} role="status">{message.text}</p>}
    </form>
  )
}

export function RescanButton() {
  const [busy, setBusy] = useState(false)
  return (
    <button
      type="button"
      disabled={busy}
      onClick={() => {
        setBusy(true)
        hearth().rescan().catch((e) => console.error('rescan:', e)).finally(() => setBusy(false))
      }}
      className="rounded-md border border-zinc-300 px-2.5 py-1 text-xs hover:bg-zinc-100 disabled:opacity-50 dark:border-zinc-700 dark:hover:bg-zinc-800"
    >
      {busy ? 'Scanning…' : 'Rescan'}
    </button>
  )
}

export function SkippedList() {
  const skipped = useCatalog((s) => s.catalog?.skipped ?? [])
  if (skipped.length === 0) return <p className="text-sm text-zinc-500">Nothing was skipped.</p>
  return (
    <ul className="max-h-72 divide-y divide-zinc-100 overflow-auto text-sm dark:divide-zinc-800" data-testid="skipped-list">
      {skipped.map((s, i) => (
        <li key={`${s.path}:${i}`} className="py-1.5">
          <code className="block truncate font-mono text-xs" title={s.path}>{s.path}</code>
          <span className="text-xs text-zinc-500">{s.reason}</span>
        </li>
      ))}
    </ul>
  )
}

/** Below the list: where Hearth looked, what it skipped and why, and a way to add a folder. */
export function SourcesPanel() {
  const catalog = useCatalog((s) => s.catalog)
  if (!catalog) return null
  const present = catalog.roots.filter((r) => r.exists).length
  return (
    <section className="rounded-xl border border-zinc-200 bg-white p-4 text-sm shadow-sm dark:border-zinc-800 dark:bg-zinc-900">
      <div className="flex items-center justify-between">
        <h2 className="text-sm font-semibold text-zinc-700 dark:text-zinc-200">Where Hearth looks</h2>
        <div className="flex items-center gap-3 text-xs text-zinc-500">
          <span>scanned {catalog.roots.length} places ({present} present) in {Math.round(catalog.scanMs)} ms</span>
          <RescanButton />
        </div>
      </div>
      <details className="mt-2">
        <summary className="cursor-pointer text-zinc-600 select-none dark:text-zinc-400">Folders ({catalog.roots.length})</summary>
        <div className="mt-2 space-y-3">
          <RootList roots={catalog.roots} />
          <AddFolder />
        </div>
      </details>
      <details className="mt-2" data-testid="skipped">
        <summary className="cursor-pointer text-zinc-600 select-none dark:text-zinc-400">Skipped ({catalog.skipped.length})</summary>
        <div className="mt-2"><SkippedList /></div>
      </details>
    </section>
  )
}

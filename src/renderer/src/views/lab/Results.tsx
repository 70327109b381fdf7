// An experiment's results: load and first-token times per mode as bars (the number the product
// promises, measured), every run in a table, and CSV / JSON export.
import { memo } from 'react'
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import type { LabExperiment, LabRun } from '../../../../shared/api'
import { formatBytes } from '../../../../shared/format'
import { experimentCsv, summarizeByMode, whereFrom } from '../../../../shared/lab/results'
import { Panel } from '../../components/Card'
import { useTooltipStyle } from '../../components/chart-tooltip'

const ms = (v: number | null) => (v === null ? '—' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`)
const bytes = (v: number | null) => (v === null ? '—' : formatBytes(v))
const statusColor: Record<LabRun['status'], string> = {
  done: 'text-emerald-700 dark:text-emerald-400',
  failed: 'text-red-600',
  skipped: 'text-amber-700 dark:text-amber-400',
  cancelled: 'text-zinc-500',
  pending: 'text-zinc-400',
  preparing: 'text-sky-600',
  running: 'text-sky-600',
}

function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

const fileBase = (e: LabExperiment) => `hearth-lab-${e.model.replace(/[^\w.-]+/g, '_')}-${new Date(e.startedAtMs).toISOString().slice(0, 19).replace(/[:T]/g, '-')}`

/** One bar per mode (means of the finished runs), on its own scale. */
function ModeBars({ data, dataKey, title, color }: { data: { mode: string; load: number | null; first: number | null }[]; dataKey: 'load' | 'first'; title: string; color: string }) {
  const tooltip = useTooltipStyle()
  return (
    <div className="min-w-0">
      <div className="mb-1 text-xs font-medium text-zinc-500">{title}</div>
      <div className="h-44">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data} margin={{ top: 16, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="currentColor" strokeOpacity={0.12} vertical={false} />
            <XAxis dataKey="mode" tick={{ fontSize: 12, fill: 'currentColor' }} stroke="currentColor" strokeOpacity={0.3} />
            <YAxis width={56} tickFormatter={(v: number) => (v >= 1000 ? `${+(v / 1000).toFixed(1)} s` : `${v} ms`)} tick={{ fontSize: 11, fill: 'currentColor' }} stroke="currentColor" strokeOpacity={0.3} />
            <Tooltip {...tooltip} formatter={(v) => [ms(Number(v)), title]} cursor={{ fillOpacity: 0.1 }} />
            <Bar dataKey={dataKey} fill={color} isAnimationActive={false} label={{ position: 'top', fontSize: 11, fill: 'currentColor', formatter: (v: unknown) => ms(Number(v)) }} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </div>
  )
}

function Bars({ e }: { e: LabExperiment }) {
  const data = summarizeByMode(e).filter((s) => s.runs > 0).map((s) => ({ mode: s.mode, load: s.loadMs, first: s.firstTokenMs }))
  if (data.length === 0) return null
  return (
    <div className="grid gap-4 md:grid-cols-2" data-testid="lab-bars">
      <ModeBars data={data} dataKey="load" title={`Model loaded${e.repeat > 1 ? ` (mean of ${e.repeat})` : ''}`} color="#0284c7" />
      <ModeBars data={data} dataKey="first" title={`First token${e.repeat > 1 ? ` (mean of ${e.repeat})` : ''}`} color="#f97316" />
    </div>
  )
}

function RunRow({ r, e, selected, onSelect }: { r: LabRun; e: LabExperiment; selected: boolean; onSelect: () => void }) {
  return (
    <>
      <tr data-testid="lab-run-row" data-status={r.status} data-mode={r.mode} onClick={onSelect}
        className={`cursor-pointer border-t border-zinc-100 dark:border-zinc-800 ${selected ? 'bg-sky-50 dark:bg-sky-950/40' : 'hover:bg-zinc-50 dark:hover:bg-zinc-800/50'}`}>
        <td className="px-2 py-1 font-medium">{r.mode}{e.repeat > 1 ? <span className="text-zinc-400"> #{r.repeat}</span> : null}</td>
        <td className={`px-2 py-1 ${statusColor[r.status]}`}>{r.status}</td>
        <td className="px-2 py-1 text-right tabular-nums" data-testid="lab-load-ms">{ms(r.loadMs)}</td>
        <td className="px-2 py-1 text-right tabular-nums">{ms(r.firstTokenMs)}</td>
        <td className="px-2 py-1 text-right tabular-nums">{r.tokensPerSec === null ? '—' : r.tokensPerSec.toFixed(1)}</td>
        <td className="px-2 py-1 text-right tabular-nums">{bytes(r.readBytes)}</td>
        <td className="px-2 py-1 text-right tabular-nums">{r.majorFaults ?? '—'}</td>
        <td className="px-2 py-1 text-right tabular-nums whitespace-nowrap">{bytes(r.residentBeforeBytes)} → {bytes(r.residentAfterBytes)}</td>
        <td className="hidden px-2 py-1 text-right tabular-nums xl:table-cell">{bytes(r.rssAnonBytes)} / {bytes(r.rssFileBytes)}</td>
        <td className="px-2 py-1 text-zinc-500" title={r.readFrom ? `${r.readFrom.path} (${r.readFrom.fsType})` : undefined}>{r.status === 'done' ? whereFrom(r, e.bytes) : '—'}</td>
      </tr>
      {(r.error || r.note) && (
        <tr className="text-xs">
          <td />
          <td colSpan={9} className="px-2 pb-1.5 text-zinc-500">
            {r.error ? <span className={statusColor[r.status]}>{r.error.message}</span> : r.note}
            {r.output && (
              <details className="mt-1">
                <summary className="cursor-pointer">loader output</summary>
                <pre data-testid="lab-run-output" className="max-h-48 overflow-auto whitespace-pre-wrap rounded bg-zinc-50 p-2 dark:bg-zinc-950">{r.output}</pre>
              </details>
            )}
          </td>
        </tr>
      )}
    </>
  )
}

export const Results = memo(function Results({ e, selectedRun, onSelectRun }: { e: LabExperiment; selectedRun: number | null; onSelectRun: (i: number) => void }) {
  const finished = e.status !== 'running'
  return (
    <Panel
      title={`Results: ${e.model} with ${e.loaderDetail}`}
      right={
        <div className="flex shrink-0 gap-1">
          <button data-testid="lab-export-csv" disabled={!finished} onClick={() => download(`${fileBase(e)}.csv`, experimentCsv(e), 'text/csv')} className="rounded border px-2 py-0.5 text-xs disabled:opacity-40">CSV</button>
          <button data-testid="lab-export-json" disabled={!finished} onClick={() => download(`${fileBase(e)}.json`, JSON.stringify(e, null, 2), 'application/json')} className="rounded border px-2 py-0.5 text-xs disabled:opacity-40">JSON</button>
        </div>
      }
    >
      <p className="mb-2 text-xs text-zinc-500">
        {formatBytes(e.bytes)} · {e.memory ? `the model may keep ${formatBytes(e.memory.leaveBytes)} (${e.memory.how})` : 'no memory limit'} · {e.tokens} tokens per run
        {e.error && <span className="text-red-600"> · {e.error.message}</span>}
      </p>
      <Bars e={e} />
      <div className="mt-3 overflow-x-auto">
        <table className="w-full text-sm" data-testid="lab-results">
          <thead className="text-left text-xs text-zinc-500">
            <tr>
              <th className="px-2 py-1 font-medium">Mode</th>
              <th className="px-2 py-1 font-medium">Status</th>
              <th className="px-2 py-1 text-right font-medium">Loaded</th>
              <th className="px-2 py-1 text-right font-medium">First token</th>
              <th className="px-2 py-1 text-right font-medium">Tok/s</th>
              <th className="px-2 py-1 text-right font-medium">Read</th>
              <th className="px-2 py-1 text-right font-medium">Major faults</th>
              <th className="px-2 py-1 text-right font-medium">In RAM before → after</th>
              <th className="hidden px-2 py-1 text-right font-medium xl:table-cell">RSS anon / file</th>
              <th className="px-2 py-1 font-medium">From</th>
            </tr>
          </thead>
          <tbody>
            {e.runs.map((r) => <RunRow key={r.index} r={r} e={e} selected={selectedRun === r.index} onSelect={() => onSelectRun(r.index)} />)}
          </tbody>
        </table>
      </div>
    </Panel>
  )
})

import { useState } from 'react'
import type { Finding, FindingStatus, Fix } from '../../../../shared/api'
import { formatBytes } from '../../../../shared/format'
import { useCatalog } from '../../stores/catalog'
import { applyFix, useDoctor } from './store'

export const statusStyle: Record<FindingStatus, { label: string; dot: string; chip: string; border: string }> = {
  fail: { label: 'Failing', dot: 'bg-red-600', chip: 'bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-200', border: 'border-l-red-600' },
  warn: { label: 'Warning', dot: 'bg-amber-500', chip: 'bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-200', border: 'border-l-amber-500' },
  info: { label: 'To know', dot: 'bg-sky-500', chip: 'bg-sky-100 text-sky-800 dark:bg-sky-950 dark:text-sky-200', border: 'border-l-sky-500' },
  ok: { label: 'OK', dot: 'bg-emerald-500', chip: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200', border: 'border-l-emerald-500' },
}

/**
 * The card's grey frame on every side but the left, so no theme's grey can paint over the
 * severity stripe (a plain dark:border-* would: it sets all four sides, after border-l-*).
 */
const frame = 'border-y-zinc-200 border-r-zinc-200 dark:border-y-zinc-800 dark:border-r-zinc-800'

function CopyCommand({ command }: { command: string }) {
  const [copied, setCopied] = useState(false)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command)
      setCopied(true)
      setTimeout(() => setCopied(false), 1500)
    } catch {
      /* no clipboard (plain http): the command stays selectable */
    }
  }
  return (
    <div className="flex items-start gap-2">
      <code className="min-w-0 flex-1 rounded bg-zinc-900 px-2 py-1 font-mono text-xs break-all whitespace-pre-wrap text-zinc-100 select-all dark:bg-black" data-testid="fix-command">
        {command}
      </code>
      <button type="button" onClick={() => void copy()} className="shrink-0 rounded border border-zinc-300 px-2 py-0.5 text-xs hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800">
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  )
}

function FixBlock({ findingId, fix }: { findingId: string; fix: Fix }) {
  const [busy, setBusy] = useState(false)
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null)
  const job = useDoctor((s) => s.fixJobs[findingId])
  const run = async () => {
    if (!fix.action) return
    setBusy(true)
    setResult(null)
    try {
      setResult({ ok: true, text: await applyFix(findingId, fix.action) })
    } catch (e) {
      setResult({ ok: false, text: e instanceof Error ? e.message : String(e) })
    } finally {
      setBusy(false)
    }
  }
  const running = job && (job.status === 'queued' || job.status === 'running')
  const frac = job && job.totalBytes > 0 ? Math.min(1, job.doneBytes / job.totalBytes) : 0
  return (
    <div className="space-y-2 rounded-lg bg-zinc-50 p-3 dark:bg-zinc-800/50" data-testid="fix">
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <span className="font-medium">Fix:</span>
        {fix.action ? (
          <button type="button" disabled={busy || running} onClick={() => void run()} data-testid="fix-action" className="rounded-md bg-sky-600 px-3 py-1 text-sm font-medium text-white hover:bg-sky-700 disabled:opacity-60">
            {fix.label}
          </button>
        ) : (
          <span>{fix.label}</span>
        )}
      </div>
      {job && (
        <div className="text-xs text-zinc-600 dark:text-zinc-300" data-testid="fix-job">
          <div className="h-1.5 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-700">
            <div className="h-full origin-left bg-sky-500" style={{ transform: `scaleX(${job.status === 'done' ? 1 : frac})` }} />
          </div>
          <span>
            {job.label}: {job.status}
            {running ? ` · ${formatBytes(job.doneBytes)}${job.bytesPerSec > 0 ? ` at ${formatBytes(job.bytesPerSec)}/s` : ''}` : ''}
            {job.note ? ` · ${job.note}` : ''}
            {job.error ? ` · ${job.error.message}` : ''}
          </span>
        </div>
      )}
      {result && !job && <p className={`text-xs ${result.ok ? 'text-emerald-700 dark:text-emerald-300' : 'text-red-600'}`} role={result.ok ? undefined : 'alert'}>{result.text}</p>}
      {result && !result.ok && job && <p className="text-xs text-red-600" role="alert">{result.text}</p>}
      {fix.command && (
        <div className="space-y-1">
          {fix.action && <p className="text-xs text-zinc-500">Or from a terminal:</p>}
          <CopyCommand command={fix.command} />
        </div>
      )}
      {fix.steps && (
        <ol className="list-decimal space-y-2 pl-5 text-xs" data-testid="fix-steps">
          {fix.steps.map((s, i) => (
            <li key={i} className="space-y-1">
              <span className="text-zinc-600 dark:text-zinc-300">{s.label}</span>
              <CopyCommand command={s.command} />
            </li>
          ))}
        </ol>
      )}
    </div>
  )
}

export function FindingCard({ finding, open = false }: { finding: Finding; open?: boolean }) {
  const st = statusStyle[finding.status]
  const byId = useCatalog((s) => s.byId)
  const names = (finding.modelIds ?? []).slice(0, 3).map((id) => byId[id]?.name ?? id)
  return (
    <details open={open} data-testid="finding" data-status={finding.status} data-id={finding.id} className={`group rounded-lg border border-l-4 ${frame} bg-white dark:bg-zinc-900 ${st.border}`}>
      <summary className="flex cursor-pointer list-none items-start gap-2 px-3 py-2">
        <span className={`mt-1.5 h-2 w-2 shrink-0 rounded-full ${st.dot}`} aria-hidden />
        <span className="min-w-0 flex-1">
          <span className="text-sm font-medium">{finding.title}</span>
          {finding.unknown && <span className="ml-2 rounded bg-zinc-100 px-1.5 text-xs text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300">unknown</span>}
          {names.length > 0 && finding.modelIds!.length <= 3 && <span className="block truncate text-xs text-zinc-500">{names.join(', ')}</span>}
        </span>
        {finding.fix && <span className="shrink-0 rounded bg-sky-50 px-1.5 text-xs text-sky-700 dark:bg-sky-950 dark:text-sky-300">{finding.fix.action ? 'fix available' : 'how to fix'}</span>}
        <span className="shrink-0 text-xs text-zinc-400 transition-transform group-open:rotate-90" aria-hidden>▸</span>
      </summary>
      <div className="space-y-3 border-t border-zinc-100 px-3 py-3 dark:border-zinc-800">
        <table className="w-full table-fixed text-xs" data-testid="evidence">
          <tbody>
            {finding.evidence.map((e, i) => (
              <tr key={i} className="border-b border-zinc-100 last:border-0 align-top dark:border-zinc-800">
                <th className="w-1/3 py-1 pr-2 text-left font-normal text-zinc-500">{e.label}</th>
                <td className="py-1">
                  <span className={e.unknown ? 'text-zinc-500 italic' : 'tabular-nums'}>{e.value}</span>
                  {e.unknown && <span className="block text-zinc-500">{e.unknown}</span>}
                  {e.source && <span className="block truncate font-mono text-[11px] text-zinc-400" title={e.source}>{e.source}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="text-sm text-zinc-700 dark:text-zinc-300">{finding.why}</p>
        {finding.fix && <FixBlock findingId={finding.id} fix={finding.fix} />}
      </div>
    </details>
  )
}

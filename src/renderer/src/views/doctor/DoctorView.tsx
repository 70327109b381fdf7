// The Doctor: why models do not stay hot. Findings grouped by severity, each expandable to its
// evidence and fix (a button where Hearth can apply it), then storage and network-share panels.
import { useEffect } from 'react'
import type { FindingStatus } from '../../../../shared/api'
import { Panel } from '../../components/Card'
import { SharePanel, StoragePanel } from './DoctorPanels'
import { FindingCard, statusStyle } from './FindingCard'
import { runDoctor, startDoctorSync, useDoctor } from './store'

const order: FindingStatus[] = ['fail', 'warn', 'info', 'ok']
const groupTitle: Record<FindingStatus, string> = { fail: 'Failing', warn: 'Warnings', info: 'To know', ok: 'All right' }

function chipText(st: FindingStatus, n: number): string {
  if (st === 'fail') return `${n} failing`
  if (st === 'warn') return `${n} warning${n === 1 ? '' : 's'}`
  if (st === 'info') return `${n} to know`
  return `${n} all right`
}

const timeFormat = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })

/** A report older than this is checked again when the view opens (processes come and go). */
const freshMs = 15_000

export function DoctorView() {
  useEffect(() => {
    startDoctorSync()
    const r = useDoctor.getState().report
    if (!useDoctor.getState().running && (!r || Date.now() - r.atMs > freshMs)) void runDoctor()
  }, [])
  const report = useDoctor((s) => s.report)
  const running = useDoctor((s) => s.running)
  const error = useDoctor((s) => s.error)
  const findings = report?.findings ?? []
  const count = (st: FindingStatus) => findings.filter((f) => f.status === st).length
  return (
    <div className="space-y-4" data-testid="doctor-view">
      <Panel>
        <div className="flex flex-wrap items-center justify-between gap-3">
          <div className="min-w-0">
            <h1 className="text-lg font-semibold">Doctor</h1>
            <p className="text-sm text-zinc-500">Why a model does not stay hot: each check shows its evidence, what it costs and the fix.</p>
          </div>
          <div className="flex flex-wrap items-center gap-2">
            {order.map((st) => (
              <span key={st} className={`rounded-full px-2.5 py-0.5 text-xs font-medium ${statusStyle[st].chip}`} data-testid={`count-${st}`}>
                {chipText(st, count(st))}
              </span>
            ))}
            <button type="button" onClick={() => void runDoctor()} disabled={running} data-testid="doctor-run" className="rounded-md border border-zinc-300 px-3 py-1 text-sm hover:bg-zinc-100 disabled:opacity-60 dark:border-zinc-700 dark:hover:bg-zinc-800">
              {running ? 'Checking…' : 'Check again'}
            </button>
          </div>
        </div>
        {report && <p className="mt-2 text-xs text-zinc-500">Last checked at {timeFormat.format(report.atMs)} in {report.ms} ms.</p>}
        {error && <p className="mt-2 text-sm text-red-600" role="alert">The checks could not run: {error}</p>}
      </Panel>
      {!report && !error && <div className="h-40 animate-pulse rounded-xl bg-zinc-200 dark:bg-zinc-800" />}
      {order.map((st) => {
        const group = findings.filter((f) => f.status === st)
        if (group.length === 0) return null
        return (
          <section key={st} className="space-y-2" data-testid={`group-${st}`}>
            <h2 className="text-sm font-semibold text-zinc-700 dark:text-zinc-200">
              {groupTitle[st]} <span className="font-normal text-zinc-500">({group.length})</span>
            </h2>
            {group.map((f) => (
              <FindingCard key={f.id} finding={f} open={st === 'fail'} />
            ))}
          </section>
        )
      })}
      <div className="grid gap-4 xl:grid-cols-2">
        <StoragePanel />
        <SharePanel />
      </div>
    </div>
  )
}

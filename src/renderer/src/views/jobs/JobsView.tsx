import { useMemo } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { Job, PinInfo } from '../../../../shared/api'
import { formatBytes, formatDuration, formatPercent } from '../../../../shared/format'
import { Panel } from '../../components/Card'
import { useCatalog } from '../../stores/catalog'
import { isActive, kindNoun, useJobs } from '../../stores/jobs'
import { useUi } from '../../stores/ui'
import { kindVerb, pinModel, unlockModel } from './actions'
import { JobBar } from './JobProgress'

const statusStyle: Record<Job['status'], string> = {
  queued: 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300',
  running: 'bg-sky-100 text-sky-800 dark:bg-sky-900/60 dark:text-sky-200',
  done: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/60 dark:text-emerald-200',
  failed: 'bg-red-100 text-red-800 dark:bg-red-900/60 dark:text-red-200',
  cancelled: 'bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400',
}

function StatusChip({ status }: { status: Job['status'] }) {
  return <span className={`rounded px-1.5 py-0.5 text-[11px] font-medium ${statusStyle[status]}`}>{status}</span>
}

function timeOf(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toLocaleTimeString()
}

function JobLabel({ job }: { job: Job }) {
  const navigate = useUi((s) => s.navigate)
  // "Warming X" while it runs; "Warm of X" once it is over.
  const noun = kindNoun[job.kind]
  const text = isActive(job) ? `${kindVerb[job.kind]} ${job.label}` : `${noun[0].toUpperCase()}${noun.slice(1)} of ${job.label}`
  return job.modelId ? (
    <button type="button" onClick={() => navigate({ view: 'dashboard', modelId: job.modelId })} className="truncate text-left font-medium hover:underline" title={job.paths.join('\n')}>
      {text}
    </button>
  ) : (
    <span className="truncate font-medium" title={job.paths.join('\n')}>{text}</span>
  )
}

function RunningJob({ job }: { job: Job }) {
  return (
    <li className="space-y-1 px-4 py-2.5" data-testid="job" data-status={job.status} data-kind={job.kind}>
      <div className="flex items-center gap-2 text-sm">
        <JobLabel job={job} />
        <StatusChip status={job.status} />
        <span className="ml-auto shrink-0 text-xs text-zinc-500 tabular-nums">
          {formatBytes(job.doneBytes)} of {formatBytes(job.totalBytes)}
        </span>
      </div>
      <JobBar job={job} />
    </li>
  )
}

function RecentJob({ job }: { job: Job }) {
  const ms = job.startedAtMs !== null && job.endedAtMs !== null ? job.endedAtMs - job.startedAtMs : null
  return (
    <li className="px-4 py-2" data-testid="job" data-status={job.status} data-kind={job.kind}>
      <div className="flex items-center gap-2 text-sm">
        <JobLabel job={job} />
        <StatusChip status={job.status} />
        <span className="ml-auto shrink-0 text-xs text-zinc-500 tabular-nums">
          {job.status === 'done' ? formatBytes(job.totalBytes) : `${formatBytes(job.doneBytes)} of ${formatBytes(job.totalBytes)}`}
          {ms !== null && ` · ${formatDuration(ms)}`} · {timeOf(job.endedAtMs)}
        </span>
      </div>
      {job.error && job.status === 'cancelled' ? (
        <p className="mt-0.5 text-xs text-zinc-500" data-testid="job-note">{job.error.message}</p>
      ) : job.error ? (
        <p className="mt-0.5 text-xs text-red-700 dark:text-red-300" data-testid="job-error">
          <span className="font-mono">{job.error.code}</span>: {job.error.message}
        </p>
      ) : (
        job.note && <p className="mt-0.5 text-xs text-zinc-500" data-testid="job-note">{job.note}</p>
      )}
    </li>
  )
}

function Empty({ children }: { children: string }) {
  return <p className="px-4 py-3 text-sm text-zinc-500">{children}</p>
}

function LocksAndPins() {
  const { locks, pins } = useJobs(useShallow((s) => ({ locks: s.locks, pins: s.pins })))
  return (
    <div className="grid gap-4 md:grid-cols-2">
      <Panel title={<span className="pl-4">{`Locked in RAM (${locks.length})`}</span>} className="px-0! pb-1!">
        {locks.length === 0 ? (
          <Empty>Nothing is locked. Lock a model to keep memory pressure from evicting it.</Empty>
        ) : (
          <ul className="divide-y divide-zinc-100 dark:divide-zinc-800" data-testid="locks">
            {locks.map((l) => (
              <li key={l.paths.join('\n')} className="flex items-center gap-2 px-4 py-2 text-sm" data-testid="lock" data-pid={l.pid ?? ''}>
                <span className="min-w-0 truncate font-medium" title={l.paths.join('\n')}>{l.label}</span>
                <span
                  className="ml-auto shrink-0 text-xs text-zinc-500 tabular-nums"
                  title={l.pid ? `Held in the memory of ${l.holder === 'helper' ? "Hearth's privileged helper" : 'this Hearth'} (pid ${l.pid}): VmLck in /proc/${l.pid}/status counts it` : undefined}
                >
                  {formatBytes(l.lockedBytes)} since {timeOf(l.sinceMs)}
                  {l.pid ? ` · ${l.holder === 'helper' ? 'helper ' : ''}pid ${l.pid}` : ''}
                </span>
                <button
                  type="button"
                  onClick={() => void unlockModel(l.modelId ?? l.paths[0], l.label)}
                  className="shrink-0 rounded-md border border-zinc-300 px-2 py-0.5 text-xs hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800"
                >
                  Unlock
                </button>
              </li>
            ))}
          </ul>
        )}
      </Panel>
      <Panel title={<span className="pl-4">{`Kept warm (${pins.length})`}</span>} className="px-0! pb-1!">
        {pins.length === 0 ? (
          <Empty>No model is pinned. A pinned model is re-read at low priority when its residency drops.</Empty>
        ) : (
          <ul className="divide-y divide-zinc-100 dark:divide-zinc-800" data-testid="pins">
            {pins.map((p) => (
              <PinRow key={p.modelId} pin={p} />
            ))}
          </ul>
        )}
      </Panel>
    </div>
  )
}

function PinRow({ pin }: { pin: PinInfo }) {
  const name = useModelName(pin.modelId)
  const last = pin.lastRewarmMs !== null ? `re-read ${formatBytes(pin.lastRewarmBytes)} at ${timeOf(pin.lastRewarmMs)} (${pin.rewarms}×)` : 'not re-read yet'
  return (
    <li className="flex items-center gap-2 px-4 py-2 text-sm">
      <span className="truncate font-medium">{name}</span>
      <span className="ml-auto shrink-0 text-xs text-zinc-500 tabular-nums">
        {pin.residentFraction !== null ? `${formatPercent(pin.residentFraction)} resident · ` : ''}
        {last}
      </span>
      <button
        type="button"
        onClick={() => void pinModel(pin.modelId, name, false)}
        className="shrink-0 rounded-md border border-zinc-300 px-2 py-0.5 text-xs hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800"
      >
        Unpin
      </button>
    </li>
  )
}

function useModelName(id: string): string {
  return useCatalog((s) => s.byId[id]?.name ?? id)
}

/** Running jobs first, then what finished (with its note or error), then locks and pins. */
export function JobsView() {
  const byId = useJobs((s) => s.byId)
  const { running, recent } = useMemo(() => {
    const all = Object.values(byId)
    return {
      running: all.filter(isActive).sort((a, b) => (a.status === b.status ? (a.startedAtMs ?? 0) - (b.startedAtMs ?? 0) : a.status === 'running' ? -1 : 1)),
      recent: all.filter((j) => !isActive(j)).sort((a, b) => (b.endedAtMs ?? 0) - (a.endedAtMs ?? 0)),
    }
  }, [byId])
  return (
    <div className="space-y-4" data-testid="jobs-view">
      <Panel title={<span className="pl-4">{`Running (${running.length})`}</span>} className="px-0! pb-1!">
        {running.length === 0 ? (
          <Empty>No job is running. Warm, evict or lock a model from its row.</Empty>
        ) : (
          <ul className="divide-y divide-zinc-100 dark:divide-zinc-800" data-testid="jobs-running">
            {running.map((j) => (
              <RunningJob key={j.id} job={j} />
            ))}
          </ul>
        )}
      </Panel>
      <Panel title={<span className="pl-4">{`Recent (${recent.length})`}</span>} className="px-0! pb-1!">
        {recent.length === 0 ? (
          <Empty>No job has finished yet.</Empty>
        ) : (
          <ul className="max-h-[28rem] divide-y divide-zinc-100 overflow-y-auto dark:divide-zinc-800" data-testid="jobs-recent">
            {recent.map((j) => (
              <RecentJob key={j.id} job={j} />
            ))}
          </ul>
        )}
      </Panel>
      <LocksAndPins />
    </div>
  )
}

import { memo } from 'react'
import type { Job } from '../../../../shared/api'
import { formatBytes, formatDuration, formatPercent, formatRate } from '../../../../shared/format'
import { useActiveJobOf } from '../../stores/jobs'
import { cancelJob, kindVerb } from './actions'
import { Icon } from './icons'

const barColour: Record<Job['status'], string> = {
  queued: 'bg-zinc-400',
  running: 'bg-sky-500 dark:bg-sky-400',
  done: 'bg-emerald-500 dark:bg-emerald-400',
  failed: 'bg-red-500',
  cancelled: 'bg-zinc-400',
}

function fractionOf(job: Job): number {
  if (job.status === 'done') return 1
  return job.totalBytes > 0 ? Math.min(1, job.doneBytes / job.totalBytes) : 0
}

/** "1.2 GiB/s · 3s left", "queued", or "" before the first rate is known. */
export function rateText(job: Job): string {
  if (job.status === 'queued') return 'queued (one job per disk at a time)'
  if (job.status !== 'running') return ''
  const parts: string[] = []
  if (job.bytesPerSec > 0) parts.push(formatRate(job.bytesPerSec))
  if (job.etaMs !== null) parts.push(`${formatDuration(job.etaMs)} left`)
  return parts.join(' · ')
}

/**
 * One job's progress: a thin bar, the share done, rate and ETA, and a cancel ×. `compact` is the
 * variant that sits inside a model's row, under its residency bar.
 */
export const JobBar = memo(function JobBar({ job, compact = false }: { job: Job; compact?: boolean }) {
  const fraction = fractionOf(job)
  const active = job.status === 'queued' || job.status === 'running'
  const rate = rateText(job)
  return (
    <div
      className={`flex items-center gap-2 ${compact ? 'text-[11px]' : 'text-xs'}`}
      data-testid="job-progress"
      data-job-id={job.id}
      data-kind={job.kind}
      data-status={job.status}
      data-fraction={fraction.toFixed(4)}
      data-rate-bytes-per-sec={job.bytesPerSec}
      data-eta-ms={job.etaMs ?? ''}
      title={`${kindVerb[job.kind]} ${job.label}: ${formatBytes(job.doneBytes)} of ${formatBytes(job.totalBytes)}`}
    >
      <div className={`relative flex-1 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800 ${compact ? 'h-1' : 'h-1.5'}`}>
        <div className={`h-full w-full origin-left ${barColour[job.status]}`} style={{ transform: `scaleX(${fraction})` }} />
      </div>
      <span className="shrink-0 text-zinc-600 tabular-nums dark:text-zinc-300">
        {compact && <span className="font-medium">{kindVerb[job.kind]} </span>}
        {formatPercent(fraction)}
        {rate && <span data-testid="job-rate"> · {rate}</span>}
      </span>
      {active && (
        <button
          type="button"
          onClick={() => void cancelJob(job)}
          className="shrink-0 rounded p-0.5 text-zinc-500 hover:bg-zinc-200 hover:text-zinc-900 dark:hover:bg-zinc-700 dark:hover:text-zinc-100"
          title={`Cancel the ${job.kind} of ${job.label}`}
          aria-label={`Cancel ${kindVerb[job.kind].toLowerCase()} ${job.label}`}
          data-testid="job-cancel"
        >
          <Icon name="close" className="h-3 w-3" />
        </button>
      )}
    </div>
  )
})

/** The running job of one model, inside its row; nothing when none runs. */
export function RowJobProgress({ modelId }: { modelId: string }) {
  const job = useActiveJobOf(modelId)
  return job ? <JobBar job={job} compact /> : null
}

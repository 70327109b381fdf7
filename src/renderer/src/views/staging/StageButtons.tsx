import { useEffect, useState } from 'react'
import type { Model } from '../../../../shared/api'
import { formatBytes } from '../../../../shared/format'
import { hearth } from '../../hearth'
import { startStagingSync, useIsStaged, useStaging } from './store'

const active = (s?: string) => s === 'queued' || s === 'running'

/** Stage / Unstage for one model, with the job's progress, and why when privileged actions are off. */
export function StageButtons({ model }: { model: Model }) {
  useEffect(startStagingSync, [])
  const staged = useIsStaged(model.id)
  const job = useStaging((s) => s.jobs[model.id])
  const privilege = useStaging((s) => s.state?.privilege)
  const [error, setError] = useState<string | null>(null)
  const [lazyOffer, setLazyOffer] = useState(false)
  const run = async (what: 'stage' | 'unstage', lazy = false) => {
    setError(null)
    setLazyOffer(false)
    try {
      const j = what === 'stage' ? await hearth().stage({ targets: [model.id] }) : await hearth().unstage({ targets: [model.id], lazy })
      useStaging.getState().job(j)
    } catch (e) {
      setError((e as Error).message)
    }
  }
  useEffect(() => {
    if (job?.status === 'failed') {
      setError(job.error?.message ?? 'failed')
      setLazyOffer(job.kind === 'unstage' && job.error?.code === 'BUSY')
    }
  }, [job?.status, job?.kind, job?.error])
  if (privilege && !privilege.available) {
    return <span className="text-xs text-zinc-500" title={privilege.reason}>RAM disk unavailable: {privilege.reason}</span>
  }
  const busy = active(job?.status)
  return (
    <div className="flex flex-col gap-1 text-xs">
      <div className="flex items-center gap-2">
        {staged ? (
          <button data-testid="unstage" disabled={busy} onClick={() => run('unstage')} className="rounded border px-2 py-1">Unstage</button>
        ) : (
          <button data-testid="stage" disabled={busy} onClick={() => run('stage')} className="rounded border px-2 py-1" title="Copy into a RAM disk mounted over the files, for loaders that use direct I/O">
            Stage in RAM disk
          </button>
        )}
        {busy && job && (
          <span data-testid="stage-progress">
            {job.kind === 'stage' ? 'staging' : 'unstaging'} {formatBytes(job.doneBytes)} / {formatBytes(job.totalBytes)}
            {job.bytesPerSec > 0 ? ` at ${formatBytes(job.bytesPerSec)}/s` : ''}
            {job.etaMs !== null ? `, ${Math.ceil(job.etaMs / 1000)} s left` : ''}
            <button className="ml-2 underline" onClick={() => void hearth().cancelJob({ id: job.id })}>cancel</button>
          </span>
        )}
      </div>
      {error && (
        <div className="text-red-600" role="alert">
          {error}
          {lazyOffer && (
            <button className="ml-2 underline" onClick={() => run('unstage', true)}>
              Unstage lazily (RAM stays in use until those processes exit)
            </button>
          )}
        </div>
      )}
    </div>
  )
}

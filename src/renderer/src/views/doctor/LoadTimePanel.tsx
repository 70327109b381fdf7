// The load-time estimate in a model's detail: cold and now, from which device at what measured
// speed, and the 2-second read test where nothing was measured yet.
import type { Model } from '../../../../shared/api'
import { formatBytes, formatRate, formatSeconds } from '../../../../shared/format'
import { Panel } from '../../components/Card'
import { useLoadEstimate } from './LoadTimeCell'
import { applyFix, useDoctor } from './store'

export function LoadTimePanel({ model }: { model: Model }) {
  const e = useLoadEstimate(model.id)
  const index = useDoctor((s) => s.loadIndex)
  const job = useDoctor((s) => s.fixJobs[`load:${model.id}`])
  const devices = [...new Set((index?.files[model.id] ?? []).map((f) => f.device).filter((d): d is string => d !== null))].map((k) => index!.devices.get(k)).filter((d) => d !== undefined)
  const unmeasured = devices.filter((d) => d.bytesPerSec === null && d.kind !== 'ram')
  const running = job && (job.status === 'queued' || job.status === 'running')
  return (
    <Panel title="Load time">
      <div className="space-y-2 text-sm" data-testid="load-time-panel">
        {!e ? (
          <p className="text-zinc-500">…</p>
        ) : (
          <>
            <p data-testid="load-time-sentence">
              {e.coldSeconds === null ? (
                <span className="text-zinc-500">No read bandwidth measured yet for {unmeasured.map((d) => d.name).join(' + ') || 'its disk'}: a warm of a model there measures it, or the read test below ({formatBytes(e.bytes)} to load).</span>
              ) : (
                <>
                  <span className="font-medium">Cold ≈ {formatSeconds(e.coldSeconds)}</span> from {e.deviceNames.join(' + ')}, <span className="font-medium">now ≈ {formatSeconds(e.nowSeconds)}</span> ({formatBytes(e.toReadBytes)} of {formatBytes(e.bytes)} not in RAM)
                </>
              )}
            </p>
            <ul className="text-xs text-zinc-500">
              {devices.filter((d) => d.bytesPerSec !== null || d.kind === 'ram').map((d) => (
                <li key={d.key}>
                  {d.name}: {d.kind === 'ram' ? 'RAM' : d.bytesPerSec === null ? '' : `${formatRate(d.bytesPerSec)} (median of ${d.samples.length} measurement${d.samples.length === 1 ? '' : 's'}: ${[...new Set(d.samples.map((s) => s.source))].join(', ')})`}
                </li>
              ))}
            </ul>
            {unmeasured.map((d) => (
              <button
                key={d.key}
                type="button"
                disabled={running}
                data-testid="detail-read-test"
                onClick={() => void applyFix(`load:${model.id}`, { kind: 'readTest', device: d.key }).catch(() => undefined)}
                className="rounded border border-zinc-300 px-2 py-1 text-xs hover:bg-zinc-100 disabled:opacity-60 dark:border-zinc-700 dark:hover:bg-zinc-800"
              >
                {running ? `Measuring ${d.name}… ${formatBytes(job.doneBytes)}` : `Measure ${d.name} (2-second read test)`}
              </button>
            ))}
            {job?.status === 'failed' && <p className="text-xs text-red-600" role="alert">{job.error?.message}</p>}
          </>
        )}
      </div>
    </Panel>
  )
}

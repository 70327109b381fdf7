// The Doctor's two standing panels: the storage each model lives on (measured bandwidth, the
// 2-second read test), and network shares (fsc state, cachefilesd, caches, the hit-rate chart).
import { useState } from 'react'
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import type { StorageDevice } from '../../../../shared/api'
import { formatBytes, formatPercent, formatRate } from '../../../../shared/format'
import { Panel } from '../../components/Card'
import { useTooltipStyle } from '../../components/chart-tooltip'
import { applyFix, useDoctor } from './store'

const kindLabel: Record<StorageDevice['kind'], string> = { disk: 'disk', network: 'network share', fuse: 'FUSE', ram: 'RAM', other: 'other' }

function MeasureButton({ device }: { device: StorageDevice }) {
  const job = useDoctor((s) => s.fixJobs[`storage:${device.key}`])
  const [error, setError] = useState<string | null>(null)
  const running = job && (job.status === 'queued' || job.status === 'running')
  return (
    <span className="inline-flex flex-col items-end gap-0.5">
      <button
        type="button"
        disabled={running}
        data-testid="read-test"
        onClick={() => {
          setError(null)
          applyFix(`storage:${device.key}`, { kind: 'readTest', device: device.key }).catch((e) => setError(e instanceof Error ? e.message : String(e)))
        }}
        className="rounded border border-zinc-300 px-2 py-0.5 text-xs hover:bg-zinc-100 disabled:opacity-60 dark:border-zinc-700 dark:hover:bg-zinc-800"
        title="Reads about 2 seconds of a model file on this device with O_DIRECT; never writes"
      >
        {running ? `Measuring… ${formatBytes(job.doneBytes)}` : device.bytesPerSec === null ? 'Measure (2 s read test)' : 'Measure again'}
      </button>
      {job?.status === 'failed' && <span className="text-xs text-red-600">{job.error?.message}</span>}
      {error && <span className="text-xs text-red-600" role="alert">{error}</span>}
    </span>
  )
}

export function StoragePanel() {
  const lt = useDoctor((s) => s.loadTimes)
  const devices = (lt?.devices ?? []).filter((d) => d.kind !== 'ram')
  return (
    <Panel title="Storage and read bandwidth">
      {devices.length === 0 ? (
        <p className="text-sm text-zinc-500">No model file was located on a device yet.</p>
      ) : (
        <ul className="divide-y divide-zinc-100 dark:divide-zinc-800" data-testid="storage-devices">
          {devices.map((d) => {
            const models = lt!.models.filter((m) => m.files.some((f) => f.device === d.key)).length
            return (
              <li key={d.key} className="flex flex-wrap items-center justify-between gap-2 py-2 text-sm" data-testid="storage-device" data-key={d.key}>
                <div className="min-w-0">
                  <div className="font-medium">{d.name}</div>
                  <div className="text-xs text-zinc-500">
                    {kindLabel[d.kind]}
                    {d.kind === 'disk' && d.rotational !== null ? (d.rotational ? ', spinning' : ', SSD') : ''} · {d.fstype} at {d.mountPoint}
                    {d.chain.length > 1 ? ` · ${d.chain.join(' → ')}` : ''} · {models} model{models === 1 ? '' : 's'}
                  </div>
                </div>
                <div className="flex items-center gap-3">
                  <span className="text-sm tabular-nums" data-testid="bandwidth">
                    {d.bytesPerSec === null ? <span className="text-zinc-500 italic">not measured yet</span> : formatRate(d.bytesPerSec)}
                  </span>
                  <MeasureButton device={d} />
                </div>
              </li>
            )
          })}
        </ul>
      )}
    </Panel>
  )
}

const clock = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' })

export function SharePanel() {
  const s = useDoctor((x) => x.shares)
  const tooltip = useTooltipStyle()
  if (!s) return null
  const withModels = s.mounts.filter((m) => m.modelIds.length > 0)
  const data = s.hitRate.filter((h) => h.hitRate !== null).map((h) => ({ atMs: h.atMs, rate: (h.hitRate ?? 0) * 100 }))
  return (
    <Panel title="Network shares and FS-Cache">
      <div className="space-y-3 text-sm" data-testid="share-panel">
        {s.mounts.length === 0 ? (
          <p className="text-zinc-500" data-testid="shares-none">Not used here: no nfs, nfs4, cifs or smb3 mount on this machine.</p>
        ) : (
          <table className="w-full text-left text-sm">
            <thead className="text-xs text-zinc-500 uppercase">
              <tr>
                <th className="py-1 font-medium">Mount</th>
                <th className="py-1 font-medium">Type</th>
                <th className="py-1 font-medium">fsc</th>
                <th className="py-1 text-right font-medium">Models</th>
              </tr>
            </thead>
            <tbody>
              {s.mounts.map((m) => (
                <tr key={m.mountPoint} className="border-t border-zinc-100 dark:border-zinc-800" data-testid="share-mount">
                  <td className="py-1">
                    <div className="font-mono text-xs">{m.mountPoint}</div>
                    <div className="truncate text-xs text-zinc-500">{m.source}</div>
                    {m.directReaders.length > 0 && <div className="text-xs text-amber-700 dark:text-amber-300">O_DIRECT readers bypass FS-Cache: {m.directReaders.map((r) => `${r.command} (${r.pid})`).join(', ')}</div>}
                  </td>
                  <td className="py-1">{m.fstype}</td>
                  <td className="py-1">{m.fsc ? <span className="text-emerald-700 dark:text-emerald-300">on</span> : <span className="text-amber-700 dark:text-amber-300">off</span>}</td>
                  <td className="py-1 text-right tabular-nums">{m.modelIds.length}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <dl className="grid grid-cols-1 gap-x-6 gap-y-1 text-xs sm:grid-cols-3">
          <div>
            <dt className="text-zinc-500">cachefilesd</dt>
            <dd>{s.cachefilesd.installed ? `installed, ${s.cachefilesd.running ? 'running' : 'not running'}` : 'not installed'}</dd>
          </div>
          <div>
            <dt className="text-zinc-500">Bound caches</dt>
            <dd>{s.caches === null ? 'no FS-Cache in this kernel' : s.caches.length ? s.caches.map((c) => `${c.name} (${c.state})`).join(', ') : 'none'}</dd>
          </div>
          <div>
            <dt className="text-zinc-500">Cache directory</dt>
            <dd>{s.conf ? `${s.conf.dir}${s.cacheFreePercent !== null ? `, ${formatPercent(s.cacheFreePercent / 100)} free (culls below ${s.conf.bcull}%)` : ''}` : 'no cachefilesd.conf'}</dd>
          </div>
        </dl>
        <div>
          <div className="mb-1 text-xs text-zinc-500">FS-Cache read hit rate{withModels.length === 0 ? ' (no model lives on a share)' : ''}</div>
          {data.length === 0 ? (
            <p className="text-xs text-zinc-500 italic" data-testid="hit-rate-empty">No reads through FS-Cache sampled yet.</p>
          ) : (
            <div className="h-32" data-testid="hit-rate-chart">
              <ResponsiveContainer width="100%" height="100%">
                <LineChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: -16 }}>
                  <CartesianGrid strokeDasharray="3 3" opacity={0.3} />
                  <XAxis dataKey="atMs" type="number" domain={['dataMin', 'dataMax']} tickFormatter={(v: number) => clock.format(v)} fontSize={11} />
                  <YAxis domain={[0, 100]} unit="%" fontSize={11} />
                  <Tooltip {...tooltip} labelFormatter={(v) => clock.format(Number(v))} formatter={(v) => [`${Number(v).toFixed(0)}%`, 'hit rate']} />
                  <Line type="monotone" dataKey="rate" stroke="#0284c7" dot={false} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </div>
          )}
        </div>
        {s.notes.length > 0 && <ul className="list-disc pl-5 text-xs text-zinc-500">{s.notes.map((n, i) => <li key={i}>{n}</li>)}</ul>}
      </div>
    </Panel>
  )
}

// The researchers' method on its own: dummy memory locked through the helper, for experiments with
// a loader Hearth does not start. It never takes the reserve, and it is released here, on Undo
// everything, and when Hearth exits or dies.
import { useState } from 'react'
import { formatBytes } from '../../../../shared/format'
import { Panel } from '../../components/Card'
import { useLab } from './lab-store'

export function PressurePanel() {
  const memory = useLab((s) => s.state?.memory)
  const hold = useLab((s) => s.hold)
  const release = useLab((s) => s.release)
  const busy = useLab((s) => s.busy)
  const [leave, setLeave] = useState(8)
  if (!memory) return null
  const p = memory.pressure
  return (
    <Panel title="Memory pressure (locked dummy memory)">
      <div className="space-y-2 text-sm" data-testid="lab-pressure">
        <p className="text-xs text-zinc-500">
          {formatBytes(memory.memAvailableBytes)} available of {formatBytes(memory.memTotalBytes)}. Hold locks memory until only the chosen amount stays available, for every program;
          at least {formatBytes(p.floorBytes)} always stays free.
        </p>
        {!p.available && <p className="text-xs text-amber-700 dark:text-amber-400">{p.reason}</p>}
        <div className="flex flex-wrap items-center gap-2">
          <label className="flex items-center gap-1">leave
            <input aria-label="GiB left available" className="w-20 rounded border border-zinc-300 px-2 py-1 dark:border-zinc-700 dark:bg-zinc-800" type="number" min={p.floorBytes / 2 ** 30} step={0.5} value={leave} onChange={(e) => setLeave(Number(e.target.value) || 0)} />GiB
          </label>
          <button disabled={!p.available || busy} onClick={() => void hold(leave)} className="rounded border border-zinc-300 px-3 py-1 disabled:opacity-50 dark:border-zinc-700" data-testid="lab-pressure-hold">Hold</button>
          {p.heldBytes > 0 && <button onClick={() => void release()} className="rounded bg-zinc-900 px-3 py-1 text-white dark:bg-zinc-100 dark:text-zinc-900" data-testid="lab-pressure-release">Release {formatBytes(p.heldBytes)}</button>}
        </div>
        {p.heldBytes > 0 && (
          <p className="text-xs" data-testid="lab-pressure-held">
            Holding {formatBytes(p.heldBytes)}; keeping {formatBytes(p.reserveBytes)} in reserve{p.shedBytes > 0 ? `; gave back ${formatBytes(p.shedBytes)} when something else needed it` : ''}.
          </p>
        )}
      </div>
    </Panel>
  )
}

import { useEffect } from 'react'
import { formatBytes } from '../../../../shared/format'
import { startStagingSync, useStaging } from './store'

/** How much RAM the staged copies take, against what staging may still use (after the reserve). */
export function TmpfsUsageBar() {
  useEffect(startStagingSync, [])
  const s = useStaging((x) => x.state)
  if (!s || !s.known) return null
  const room = Math.max(0, s.memAvailableBytes - s.reserveBytes)
  const total = s.tmpfsUsedBytes + room
  const frac = total > 0 ? s.tmpfsUsedBytes / total : 0
  return (
    <div data-testid="tmpfs-usage" className="space-y-1 text-xs text-zinc-600 dark:text-zinc-300">
      <div className="h-2 w-full overflow-hidden rounded bg-zinc-200 dark:bg-zinc-800">
        <div className="h-full bg-violet-500" style={{ width: `${(frac * 100).toFixed(1)}%` }} />
      </div>
      <div>
        RAM disk {formatBytes(s.tmpfsUsedBytes)} in {s.staged.length} file{s.staged.length === 1 ? '' : 's'}; {formatBytes(room)} more
        can be staged (keeping {formatBytes(s.reserveBytes)} free)
      </div>
    </div>
  )
}

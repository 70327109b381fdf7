import type { MemorySample } from '../../../../shared/api'
import { formatBytes, formatPercent } from '../../../../shared/format'
import { useMemory } from '../../stores/memory'

function Stat({ label, value, sub, accent, testId }: { label: string; value: string; sub?: string; accent: string; testId: string }) {
  return (
    <div data-testid={testId} className="rounded-xl border border-zinc-200 bg-white p-4 shadow-sm dark:border-zinc-800 dark:bg-zinc-900">
      <div className="flex items-center gap-2 text-xs font-medium tracking-wide text-zinc-500 uppercase dark:text-zinc-400">
        <span className={`inline-block size-2 rounded-full ${accent}`} />
        {label}
      </div>
      <div className="mt-1 text-2xl font-semibold tabular-nums">{value}</div>
      {sub && <div className="mt-0.5 truncate text-xs text-zinc-500 dark:text-zinc-400">{sub}</div>}
    </div>
  )
}

/** The file-backed page cache: Cached holds tmpfs (Shmem) too, which is not reclaimable cache. */
export function pageCacheBytes(m: MemorySample): number {
  return Math.max(0, m.cachedBytes + m.buffersBytes - m.shmemBytes)
}

export function MemoryCards() {
  const m = useMemory((s) => s.latest)
  if (!m) {
    return <div className="grid grid-cols-2 gap-3 md:grid-cols-5">{Array.from({ length: 5 }, (_, i) => <div key={i} className="h-24 animate-pulse rounded-xl bg-zinc-200 dark:bg-zinc-800" />)}</div>
  }
  const total = m.memTotalBytes
  return (
    <div className="grid grid-cols-2 gap-3 md:grid-cols-5">
      <Stat testId="card-total" label="Total RAM" accent="bg-zinc-400" value={formatBytes(total)} sub={m.swapTotalBytes > 0 ? `swap ${formatBytes(m.swapTotalBytes - m.swapFreeBytes)} of ${formatBytes(m.swapTotalBytes)} used` : 'no swap'} />
      <Stat testId="card-available" label="Available" accent="bg-emerald-500" value={formatBytes(m.memAvailableBytes)} sub={`${formatPercent(m.memAvailableBytes / total)} of RAM · free ${formatBytes(m.memFreeBytes)}`} />
      <Stat testId="card-cache" label="Page cache" accent="bg-sky-500" value={formatBytes(pageCacheBytes(m))} sub={`active ${formatBytes(m.activeFileBytes)} · inactive ${formatBytes(m.inactiveFileBytes)}`} />
      <Stat testId="card-shmem" label="tmpfs / shmem" accent="bg-amber-500" value={formatBytes(m.shmemBytes)} sub={`dirty ${formatBytes(m.dirtyBytes)}`} />
      <Stat testId="card-locked" label="Locked" accent="bg-rose-500" value={formatBytes(m.mlockedBytes)} sub={`unevictable ${formatBytes(m.unevictableBytes)}`} />
    </div>
  )
}

import { useEffect, useRef } from 'react'
import { formatBytes } from '../../../../shared/format'
import { useJobs } from '../../stores/jobs'
import { startWarm } from './actions'

/**
 * Asks before a warm that would push other warm models out of the page cache: which ones, how
 * much of each is resident, and what the warm must read against what the kernel has available.
 */
export function WarmConfirmDialog() {
  const pending = useJobs((s) => s.pendingWarm)
  const close = () => useJobs.getState().setPendingWarm(null)
  const cancelRef = useRef<HTMLButtonElement>(null)
  useEffect(() => {
    if (!pending) return
    cancelRef.current?.focus()
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') useJobs.getState().setPendingWarm(null)
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [pending])
  if (!pending) return null
  const { plan, targets } = pending
  const label = plan.targets.map((t) => t.label).join(', ')
  return (
    <div className="fixed inset-0 z-40 flex items-center justify-center bg-black/40 p-4" onClick={close}>
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby="warm-confirm-title"
        data-testid="warm-confirm"
        className="w-full max-w-lg rounded-xl border border-zinc-200 bg-white p-5 shadow-xl dark:border-zinc-700 dark:bg-zinc-900"
        onClick={(e) => e.stopPropagation()}
      >
        <h2 id="warm-confirm-title" className="text-base font-semibold">Warming {label} would evict other models</h2>
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-300">
          It must read <b data-testid="warm-confirm-read">{formatBytes(plan.toReadBytes)}</b> of {formatBytes(plan.bytes)}, but only{' '}
          <b data-testid="warm-confirm-available">{formatBytes(plan.memAvailableBytes)}</b> is available ({formatBytes(plan.memFreeBytes)} free of{' '}
          {formatBytes(plan.memTotalBytes)}). Beyond free memory and other cache, the kernel would have to reclaim about{' '}
          <b data-testid="warm-confirm-evict">{formatBytes(plan.evictBytes)}</b>, taking it from these warm models:
        </p>
        <ul className="mt-3 max-h-56 divide-y divide-zinc-100 overflow-y-auto rounded-md border border-zinc-200 text-sm dark:divide-zinc-800 dark:border-zinc-700" data-testid="warm-confirm-victims">
          {plan.wouldEvict.map((v) => (
            <li key={v.modelId} className="flex justify-between gap-3 px-3 py-1.5" data-testid="warm-confirm-victim" data-model-id={v.modelId}>
              <span className="truncate" title={v.name}>{v.name}</span>
              <span className="shrink-0 text-zinc-500 tabular-nums">{formatBytes(v.residentBytes)} resident</span>
            </li>
          ))}
        </ul>
        <div className="mt-5 flex justify-end gap-2">
          <button
            ref={cancelRef}
            type="button"
            onClick={close}
            data-testid="warm-confirm-cancel"
            className="rounded-md border border-zinc-300 px-3 py-1.5 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800"
          >
            Cancel
          </button>
          <button
            type="button"
            onClick={() => {
              close()
              void startWarm(targets, label, true)
            }}
            data-testid="warm-confirm-force"
            className="rounded-md bg-amber-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-amber-700"
          >
            Warm anyway
          </button>
        </div>
      </div>
    </div>
  )
}

import { memo } from 'react'
import type { ModelResidency } from '../../../shared/api'
import { formatBytes, formatPercent } from '../../../shared/format'

/**
 * How much of a model sits in RAM. Unknown bytes (files this user may not probe) are striped and
 * the reason is spelled out, never guessed: mincore would claim 100% for them.
 */
export const ResidencyBar = memo(function ResidencyBar({ residency, compact = false, narrow = false }: { residency: ModelResidency | undefined; compact?: boolean; narrow?: boolean }) {
  // narrow: a list squeezed into a small window keeps the label's room for the bar
  const labelWidth = narrow ? 'w-28' : 'w-36'
  if (!residency) {
    return (
      <div className="flex items-center gap-2" data-testid="residency" data-state="loading">
        <div className="h-2.5 flex-1 rounded-full bg-zinc-200 dark:bg-zinc-800" />
        <span className={`${labelWidth} text-right text-xs text-zinc-400 tabular-nums`}>…</span>
      </div>
    )
  }
  const { bytes, residentBytes, unknownBytes, unknownReason } = residency
  const knownBytes = bytes - unknownBytes
  const allUnknown = knownBytes <= 0 && bytes > 0
  const fraction = knownBytes > 0 ? residentBytes / knownBytes : 0
  const residentShare = bytes > 0 ? residentBytes / bytes : 0
  const unknownShare = bytes > 0 ? unknownBytes / bytes : 0
  const label = allUnknown ? 'unknown' : `${formatPercent(fraction)} · ${formatBytes(residentBytes)}`
  const title = unknownBytes > 0
    ? `${formatBytes(unknownBytes)} unknown: ${unknownReason ?? 'residency cannot be read for these files'}`
    : `${formatBytes(residentBytes)} of ${formatBytes(bytes)} in RAM`
  return (
    // contain:strict (fixed height) keeps a changing label from re-laying out the whole table.
    <div
      className="flex h-5 items-center gap-2 [contain:strict]"
      title={title}
      data-testid="residency"
      data-state={allUnknown ? 'unknown' : unknownBytes > 0 ? 'partly-unknown' : 'known'}
      data-resident-bytes={residentBytes}
    >
      <div className={`relative flex flex-1 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800 ${compact ? 'h-2' : 'h-2.5'}`}>
        {/* scaleX, not width: no layout when it moves. No transition: 200 bars animating at once cost
            the page a compositor layer each, every frame. */}
        <div className="h-full w-full origin-left bg-emerald-500 dark:bg-emerald-400" style={{ transform: `scaleX(${residentShare})` }} />
        {unknownShare > 0 && <div className="bar-unknown absolute inset-y-0 right-0" style={{ width: `${unknownShare * 100}%` }} />}
      </div>
      <span className={`${labelWidth} shrink-0 truncate text-right text-xs tabular-nums ${allUnknown ? 'text-zinc-500 italic' : 'text-zinc-700 dark:text-zinc-300'}`}>
        {label}
      </span>
    </div>
  )
})

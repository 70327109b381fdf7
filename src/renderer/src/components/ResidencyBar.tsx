import { memo } from 'react'
import type { ModelResidency } from '../../../shared/api'
import { formatBytes, formatPercent } from '../../../shared/format'

/**
 * How much of a model sits in RAM. Unknown bytes (files this user may not probe) are striped and
 * the reason is spelled out, never guessed: mincore would claim 100% for them.
 */
export const ResidencyBar = memo(function ResidencyBar({
  residency,
  compact = false,
  narrow = false,
  stacked = false,
}: {
  residency: ModelResidency | undefined
  compact?: boolean
  /** a list squeezed into a small window keeps the label's room for the bar */
  narrow?: boolean
  /** the label under the bar, both as wide as the label: for a table column with no room to spare */
  stacked?: boolean
}) {
  const labelWidth = stacked ? 'w-full' : narrow ? 'w-28' : 'w-36'
  const box = stacked ? 'flex h-9 flex-col justify-center gap-1' : 'flex h-5 items-center gap-2'
  const labelAlign = stacked ? 'text-left' : 'text-right'
  if (!residency) {
    return (
      <div className={`${box} [contain:strict]`} data-testid="residency" data-state="loading">
        <div className={`rounded-full bg-zinc-200 dark:bg-zinc-800 ${stacked ? 'h-2.5 w-full' : 'h-2.5 flex-1'}`} />
        <span className={`${labelWidth} ${labelAlign} text-xs text-zinc-400 tabular-nums`}>…</span>
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
      className={`${box} [contain:strict]`}
      title={title}
      data-testid="residency"
      data-state={allUnknown ? 'unknown' : unknownBytes > 0 ? 'partly-unknown' : 'known'}
      data-resident-bytes={residentBytes}
    >
      <div className={`relative flex overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800 ${stacked ? 'w-full shrink-0' : 'flex-1'} ${compact ? 'h-2' : 'h-2.5'}`}>
        {/* scaleX, not width: no layout when it moves. No transition: 200 bars animating at once cost
            the page a compositor layer each, every frame. */}
        <div className="h-full w-full origin-left bg-emerald-500 dark:bg-emerald-400" style={{ transform: `scaleX(${residentShare})` }} />
        {unknownShare > 0 && <div className="bar-unknown absolute inset-y-0 right-0" style={{ width: `${unknownShare * 100}%` }} />}
      </div>
      <span className={`${labelWidth} ${labelAlign} shrink-0 truncate text-xs tabular-nums ${allUnknown ? 'text-zinc-500 italic' : 'text-zinc-700 dark:text-zinc-300'}`}>
        {label}
      </span>
    </div>
  )
})

// Two recordings side by side on one clock: one slider moves both, so the same second of two
// loads (two disks, two loaders, mmap against direct I/O) can be read across.
import { useMemo, useState } from 'react'
import type { Recording } from '../../../../shared/api'
import { formatBytes, formatPercent } from '../../../../shared/format'
import { layerFirstTouch, sampleAt, summarize, timeline } from '../../../../shared/tensors/analysis'
import { LayerTouchChart, RatesChart } from './charts'
import { ReplayStrip } from './ReplayStrip'
import { SummaryStats, methodNote } from './RecordingReplay'
import { TensorGrid } from './TensorGrid'
import { useReplayFrame } from './use-replay'

const durationOf = (r: Recording) => r.end?.tMs ?? r.samples[r.samples.length - 1]?.tMs ?? 0

/** Seconds until the first sample at which `share` of the bytes that became resident had arrived. */
function timeToShare(rec: Recording, share: number): number | null {
  const total = summarize(rec).addedBytes
  if (total <= 0) return null
  let sum = 0
  for (const s of rec.samples) {
    sum += s.added.reduce((a, r) => a + r[2], 0) * rec.header.pageBytes
    if (sum >= share * total) return s.tMs
  }
  return null
}

function Side({ rec, label, atMs, maxMs }: { rec: Recording; label: string; atMs: number; maxMs: number }) {
  const frame = useReplayFrame(rec, sampleAt(rec, atMs))
  const points = useMemo(() => timeline(rec), [rec])
  const touches = useMemo(() => layerFirstTouch(rec), [rec])
  const t90 = useMemo(() => timeToShare(rec, 0.9), [rec])
  const { files, pageBytes } = rec.header
  return (
    <div className="min-w-0 space-y-3" data-testid="compare-side">
      <div>
        <h3 className="truncate text-sm font-semibold" title={label}>{label}</h3>
        <p className="text-[11px] text-zinc-500">{methodNote(rec)}</p>
      </div>
      <SummaryStats rec={rec} />
      <p className="text-xs text-zinc-600 dark:text-zinc-300 tabular-nums">
        90% of what loaded was in RAM after {t90 === null ? '—' : `${(t90 / 1000).toFixed(1)} s`} · at the slider: {formatBytes(frame.residentBytes)} resident
      </p>
      {files.map((f, i) => (
        <ReplayStrip key={f.path} file={i} fractions={frame.strips[i]} pages={Math.ceil(f.bytes / pageBytes)} added={frame.added} />
      ))}
      <TensorGrid grid={frame.grid} testId="compare-grid" />
      <LayerTouchChart touches={touches} atMs={atMs} maxMs={maxMs} height={150} />
      <RatesChart points={points} atMs={atMs} height={150} />
    </div>
  )
}

export function RecordingCompare({ a, b, labels }: { a: Recording; b: Recording; labels: [string, string] }) {
  const maxMs = Math.max(durationOf(a), durationOf(b))
  const [atMs, setAtMs] = useState(maxMs)
  const sa = useMemo(() => summarize(a), [a])
  const sb = useMemo(() => summarize(b), [b])
  const seq = (s: typeof sa) => (s.sequentiality.share === null ? '—' : formatPercent(s.sequentiality.share))
  return (
    <div className="space-y-3" data-testid="compare">
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <span className="tabular-nums">{(atMs / 1000).toFixed(1)} s</span>
        <input type="range" min={0} max={maxMs} value={atMs} onChange={(e) => setAtMs(Number(e.target.value))} className="min-w-48 flex-1 accent-emerald-600" aria-label="moment of both recordings" data-testid="compare-slider" />
      </div>
      <p className="text-xs text-zinc-600 dark:text-zinc-300" data-testid="compare-headline">
        A: {(sa.durationMs / 1000).toFixed(1)} s, {formatBytes(sa.addedBytes)}, {seq(sa)} sequential · B: {(sb.durationMs / 1000).toFixed(1)} s, {formatBytes(sb.addedBytes)}, {seq(sb)} sequential
      </p>
      <div className="grid gap-6 md:grid-cols-2">
        <Side rec={a} label={`A · ${labels[0]}`} atMs={atMs} maxMs={maxMs} />
        <Side rec={b} label={`B · ${labels[1]}`} atMs={atMs} maxMs={maxMs} />
      </div>
    </div>
  )
}

// Replays one recording: a time slider (and play), the file's heat strip and the tensor grid as
// they were at that moment, the rates on one time axis, the first-touch order and the summary.
import { useEffect, useMemo, useState } from 'react'
import type { Recording } from '../../../../shared/api'
import { formatBytes, formatPercent, formatRate } from '../../../../shared/format'
import { firstTouches, layerFirstTouch, sampleAt, summarize, timeline } from '../../../../shared/tensors/analysis'
import { recordingToCsv, recordingToJsonl } from '../../../../shared/tensors/recording-file'
import { LayerTouchChart, RatesChart } from './charts'
import { download, recordingFileName } from './download'
import { ReplayStrip } from './ReplayStrip'
import { TensorGrid } from './TensorGrid'
import { useReplayFrame } from './use-replay'

const speeds = [1, 2, 5, 10]
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** How the recording saw pages arrive, in a sentence people can act on. */
export function methodNote(rec: Recording): string {
  const h = rec.header
  if (h.method === 'tracepoint') return 'Exact order from the kernel (filemap tracepoint).'
  const partial = rec.samples.filter((s) => s.coverage !== undefined).length
  return (
    `Sampled at ${h.hz} Hz: every ${Math.round(1000 / h.hz)} ms the recorder compares the page cache with the last look, ` +
    `so pages that arrive within one sample are ordered by file offset, not by the exact order the kernel read them.` +
    (partial > 0 ? ` In ${partial} of ${rec.samples.length} samples, parts of the file that were already largely cached were compared in rotation to keep the recorder's CPU low; a page arriving there shows a sample or a few later.` : '')
  )
}

export function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div data-testid={testId}>
      <dt className="text-[11px] text-zinc-500 uppercase">{label}</dt>
      <dd className="text-sm font-semibold tabular-nums">{value}</dd>
    </div>
  )
}

export function SummaryStats({ rec }: { rec: Recording }) {
  const s = useMemo(() => summarize(rec), [rec])
  return (
    <dl className="grid grid-cols-2 gap-x-4 gap-y-2 sm:grid-cols-4">
      <Stat label="Duration" value={secs(s.durationMs)} />
      <Stat label="Became resident" value={formatBytes(s.addedBytes)} />
      <Stat label="Sequential (128 KiB rule)" value={s.sequentiality.share === null ? '—' : formatPercent(s.sequentiality.share)} testId="sequentiality" />
      <Stat label="Peak disk read" value={s.peakDiskReadBytesPerSec === null ? 'n/a' : formatRate(s.peakDiskReadBytesPerSec)} />
      <Stat label="Samples" value={`${s.samples} at ${rec.header.hz} Hz`} />
      <Stat label="Resident at start → end" value={`${formatBytes(s.startBytes)} → ${formatBytes(s.endBytes)}`} />
      <Stat label="Faults counted for" value={rec.header.faultsScope === 'process' ? `pid ${rec.header.pid}` : 'whole system'} />
      <Stat label="Recorder CPU" value={s.recorderCpuShare === null ? '—' : `${formatPercent(s.recorderCpuShare)} of a core`} />
    </dl>
  )
}

export function RecordingReplay({ rec, title }: { rec: Recording; title?: string }) {
  const n = rec.samples.length
  const [position, setPosition] = useState(n - 1)
  const [playing, setPlaying] = useState(false)
  const [speed, setSpeed] = useState(1)
  useEffect(() => setPosition(rec.samples.length - 1), [rec])

  // Playback walks the recording's own clock, sped up, from where the slider is (or the start).
  useEffect(() => {
    if (!playing) return
    const from = position >= n - 1 ? -1 : position
    const t0 = from >= 0 ? rec.samples[from].tMs : 0
    const wall0 = performance.now()
    let raf = 0
    const step = () => {
      const k = sampleAt(rec, t0 + (performance.now() - wall0) * speed)
      setPosition(Math.max(from, k))
      if (k >= n - 1) setPlaying(false)
      else raf = requestAnimationFrame(step)
    }
    setPosition(from)
    raf = requestAnimationFrame(step)
    return () => cancelAnimationFrame(raf)
    // Restarts only when play or speed change; the position moves inside.
  }, [playing, speed, rec])

  const frame = useReplayFrame(rec, position)
  const points = useMemo(() => timeline(rec), [rec])
  const touches = useMemo(() => firstTouches(rec), [rec])
  const layerTouch = useMemo(() => layerFirstTouch(rec, touches), [rec, touches])
  const { tensors, files, pageBytes } = rec.header
  const seekTo = (tMs: number) => {
    setPlaying(false)
    setPosition(sampleAt(rec, tMs))
  }

  return (
    <div className="space-y-4" data-testid="replay" data-position={position} data-samples={n}>
      <div className="flex flex-wrap items-center gap-3">
        {title && <h3 className="text-sm font-semibold">{title}</h3>}
        <button type="button" className="rounded-md bg-zinc-900 px-3 py-1 text-sm text-white dark:bg-zinc-100 dark:text-zinc-900" onClick={() => setPlaying((p) => !p)} data-testid="replay-play">
          {playing ? 'Pause' : 'Play'}
        </button>
        <label className="flex items-center gap-1 text-xs text-zinc-500">
          speed
          <select value={speed} onChange={(e) => setSpeed(Number(e.target.value))} className="rounded border border-zinc-300 bg-transparent px-1 py-0.5 dark:border-zinc-700">
            {speeds.map((s) => (
              <option key={s} value={s}>{s}×</option>
            ))}
          </select>
        </label>
        <span className="text-sm tabular-nums" data-testid="replay-time">
          {secs(frame.tMs)} / {secs(rec.end?.tMs ?? points[points.length - 1]?.tMs ?? 0)} · {formatBytes(frame.residentBytes)} resident
        </span>
        <span className="ml-auto flex gap-2">
          <button type="button" className="text-xs text-sky-700 hover:underline dark:text-sky-400" onClick={() => download(recordingFileName(rec.header.name, rec.header.startedAtMs, 'jsonl'), recordingToJsonl(rec), 'application/x-ndjson')}>
            Save JSON lines
          </button>
          <button type="button" className="text-xs text-sky-700 hover:underline dark:text-sky-400" onClick={() => download(recordingFileName(rec.header.name, rec.header.startedAtMs, 'csv'), recordingToCsv(rec), 'text/csv')} data-testid="export-csv">
            Save CSV
          </button>
        </span>
      </div>
      <input
        type="range"
        min={-1}
        max={n - 1}
        value={position}
        onChange={(e) => {
          setPlaying(false)
          setPosition(Number(e.target.value))
        }}
        className="w-full accent-emerald-600"
        aria-label="moment of the recording"
        data-testid="replay-slider"
      />
      <p className="text-xs text-zinc-500" data-testid="method-note">{methodNote(rec)}</p>
      <div className="space-y-1">
        {files.map((f, i) => (
          <ReplayStrip key={f.path} file={i} fractions={frame.strips[i]} pages={Math.ceil(f.bytes / pageBytes)} added={frame.added} label={files.length > 1 ? f.path : undefined} />
        ))}
        <p className="text-[11px] text-zinc-500">The file left to right; green is in RAM, amber arrived in the sample shown.</p>
      </div>
      <TensorGrid grid={frame.grid} previous={frame.previous} testId="replay-grid" />
      <div className="grid gap-4 lg:grid-cols-2">
        <div className="min-w-0">
          <div className="mb-1 text-xs font-medium text-zinc-600 dark:text-zinc-300">Rates on the recording&apos;s clock (click to jump)</div>
          <RatesChart points={points} atMs={frame.tMs} onSeek={seekTo} />
        </div>
        <div className="min-w-0">
          <div className="mb-1 text-xs font-medium text-zinc-600 dark:text-zinc-300">First touch of each layer</div>
          <LayerTouchChart touches={layerTouch} atMs={frame.tMs} />
        </div>
      </div>
      <div className="grid gap-4 lg:grid-cols-[2fr_3fr]">
        <div className="min-w-0">
          <div className="mb-1 text-xs font-medium text-zinc-600 dark:text-zinc-300">First-touch order of tensors</div>
          <ol className="max-h-56 overflow-auto rounded border border-zinc-200 text-xs dark:border-zinc-800" data-testid="first-touch">
            {touches.map((t, i) => (
              <li key={t.tensor} className={`flex gap-2 px-2 py-0.5 tabular-nums ${t.tMs <= frame.tMs ? '' : 'text-zinc-400 dark:text-zinc-600'}`}>
                <span className="w-8 text-right text-zinc-500">{i + 1}</span>
                <span className="min-w-0 flex-1 truncate font-mono" title={tensors[t.tensor].name}>{tensors[t.tensor].name}</span>
                <span className="w-16 text-right">{t.atStart ? 'at start' : secs(t.tMs)}</span>
              </li>
            ))}
            {touches.length === 0 && <li className="px-2 py-1 text-zinc-500">No tensor was touched.</li>}
          </ol>
        </div>
        <SummaryStats rec={rec} />
      </div>
    </div>
  )
}

// Plain-text output for the CLI: aligned tables and a one-line progress bar for terminals.
import { formatBytes, formatDuration, formatPercent, formatRate, printable } from '../../shared/format'
import type { Job } from '../../shared/api'

export function table(cells: string[][], rightAligned: number[] = []): string {
  if (cells.length === 0) return ''
  const rows = cells.map((r) => r.map(printable))
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => [...(r[c] ?? '')].length)))
  return rows
    .map((r) =>
      r
        .map((cell, c) => {
          const pad = ' '.repeat(Math.max(0, widths[c] - [...cell].length))
          return rightAligned.includes(c) ? pad + cell : c === r.length - 1 ? cell : cell + pad
        })
        .join('  '),
    )
    .join('\n')
}

export function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0))
  const full = Math.round(f * width)
  return '█'.repeat(full) + '░'.repeat(width - full)
}

/** "warm  Qwen2.5-7B  ████░░░░  45% 2.1 GiB/4.4 GiB  1.9 GiB/s  ETA 1s" fitted to the terminal. */
export function progressLine(job: Job, columns: number): string {
  const frac = job.totalBytes > 0 ? job.doneBytes / job.totalBytes : job.status === 'done' ? 1 : 0
  const tail = ` ${formatPercent(frac).padStart(5)} ${formatBytes(job.doneBytes)}/${formatBytes(job.totalBytes)}  ${formatRate(job.bytesPerSec)}  ${job.etaMs === null ? '' : `ETA ${formatDuration(job.etaMs)}`}`
  const head = printable(`${job.kind} ${job.label}`).slice(0, Math.max(10, Math.floor(columns / 3)))
  const width = Math.max(10, Math.min(40, columns - head.length - tail.length - 3))
  return `${head} ${bar(frac, width)}${tail}`
}

import { memo, useMemo, useState } from 'react'
import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import type { MemorySample } from '../../../../shared/api'
import { formatBytes } from '../../../../shared/format'
import { Panel } from '../../components/Card'
import { useMemory } from '../../stores/memory'
import { useTooltipStyle } from '../../components/chart-tooltip'
import { useIsDark } from '../../components/ThemeToggle'

/** Bottom to top: what programs hold, tmpfs, the cache Hearth keeps warm, the rest, free. */
const series = [
  { key: 'anon', label: 'Programs (anon)', color: '#6366f1' },
  { key: 'shmem', label: 'tmpfs / shmem', color: '#f59e0b' },
  { key: 'activeFile', label: 'Page cache (active)', color: '#0284c7' },
  { key: 'inactiveFile', label: 'Page cache (inactive)', color: '#7dd3fc' },
  { key: 'other', label: 'Kernel & other', color: '#a1a1aa', darkColor: '#71717a' },
  { key: 'free', label: 'Free', color: '#e4e4e7', darkColor: '#3f3f46' },
] as const

type Series = (typeof series)[number]
const colorOf = (s: Series, dark: boolean) => (dark && 'darkColor' in s ? s.darkColor : s.color)

type Point = { atMs: number } & Record<(typeof series)[number]['key'], number>

const windows = [
  { label: '5 min', ms: 5 * 60_000 },
  { label: '15 min', ms: 15 * 60_000 },
  { label: '1 h', ms: 60 * 60_000 },
]
/** Enough points to look smooth; more only costs frames. */
const maxPoints = 240

function toPoint(m: MemorySample): Point {
  // AnonPages leaves shmem out, while Active/Inactive(anon) count it: take anon without shmem
  // when it is the larger figure, so tmpfs is not counted twice.
  const anon = Math.max(0, m.anonBytes)
  const known = anon + m.shmemBytes + m.activeFileBytes + m.inactiveFileBytes + m.memFreeBytes
  return {
    atMs: m.atMs,
    anon,
    shmem: m.shmemBytes,
    activeFile: m.activeFileBytes,
    inactiveFile: m.inactiveFileBytes,
    other: Math.max(0, m.memTotalBytes - known),
    free: m.memFreeBytes,
  }
}

/** Round GiB steps for the y axis, four or five of them up to the total. */
function gibTicks(totalBytes: number): number[] {
  const gib = 1024 ** 3
  const steps = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
  const step = (steps.find((s) => (totalBytes / gib) / s <= 5) ?? 2048) * gib
  const ticks: number[] = []
  for (let v = 0; v <= totalBytes; v += step) ticks.push(v)
  return ticks
}

const clockFormat = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
function clock(ms: number): string {
  return clockFormat.format(ms)
}

export const MemoryChart = memo(function MemoryChart() {
  const samples = useMemory((s) => s.samples)
  const tooltip = useTooltipStyle()
  const [windowMs, setWindowMs] = useState(windows[1].ms)
  const data = useMemo(() => {
    const last = samples[samples.length - 1]?.atMs ?? 0
    const inWindow = samples.filter((s) => s.atMs >= last - windowMs)
    // Pick points by wall-clock second, not by index, so the chart does not shimmer as it scrolls.
    const stride = Math.max(1, Math.ceil(inWindow.length / maxPoints))
    const picked = stride === 1 ? inWindow : inWindow.filter((s) => Math.floor(s.atMs / 1000) % stride === 0)
    return picked.map(toPoint)
  }, [samples, windowMs])
  const total = samples[samples.length - 1]?.memTotalBytes ?? 0
  const dark = useIsDark()

  return (
    <Panel
      title="Memory over time"
      className="min-w-0"
      right={
        <div className="flex gap-1" role="group" aria-label="Time window">
          {windows.map((w) => (
            <button
              key={w.ms}
              type="button"
              onClick={() => setWindowMs(w.ms)}
              className={`rounded px-2 py-0.5 text-xs ${w.ms === windowMs ? 'bg-zinc-900 text-white dark:bg-zinc-100 dark:text-zinc-900' : 'text-zinc-500 hover:bg-zinc-100 dark:hover:bg-zinc-800'}`}
            >
              {w.label}
            </button>
          ))}
        </div>
      }
    >
      <div className="h-56" data-testid="memory-chart">
        {data.length < 2 ? (
          <div className="flex h-full items-center justify-center text-sm text-zinc-500">Collecting samples…</div>
        ) : (
          <ResponsiveContainer width="100%" height="100%">
            <AreaChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="currentColor" strokeOpacity={0.12} vertical={false} />
              <XAxis dataKey="atMs" type="number" domain={['dataMin', 'dataMax']} tickFormatter={clock} tick={{ fontSize: 11, fill: 'currentColor' }} stroke="currentColor" strokeOpacity={0.3} minTickGap={48} />
              <YAxis ticks={total ? gibTicks(total) : undefined} tickFormatter={(v: number) => formatBytes(v)} domain={[0, total || 'auto']} tick={{ fontSize: 11, fill: 'currentColor' }} stroke="currentColor" strokeOpacity={0.3} width={72} />
              <Tooltip
                labelFormatter={(v) => clock(Number(v))}
                formatter={(v, name) => [formatBytes(Number(v)), series.find((s) => s.key === name)?.label ?? String(name)]}
                {...tooltip}
              />
              {series.map((s) => (
                <Area key={s.key} dataKey={s.key} stackId="mem" type="monotone" stroke={colorOf(s, dark)} fill={colorOf(s, dark)} fillOpacity={0.75} strokeWidth={1} isAnimationActive={false} dot={false} />
              ))}
            </AreaChart>
          </ResponsiveContainer>
        )}
      </div>
      <ul className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-zinc-600 dark:text-zinc-400">
        {series.map((s) => (
          <li key={s.key} className="flex items-center gap-1.5">
            <svg width="10" height="10" aria-hidden><rect width="10" height="10" rx="2" fill={colorOf(s, dark)} /></svg>
            {s.label}
          </li>
        ))}
      </ul>
    </Panel>
  )
})

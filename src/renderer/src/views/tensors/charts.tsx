// The charts a recording is read by: rates on one time axis, and when each layer was first touched.
import { CartesianGrid, ComposedChart, Line, ReferenceLine, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis, Area } from 'recharts'
import { formatRate } from '../../../../shared/format'
import type { TimelinePoint } from '../../../../shared/tensors/analysis'
import { useIsDark } from '../../components/ThemeToggle'
import { useTooltipStyle } from '../../components/chart-tooltip'

const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
const MiB = 2 ** 20
/** Axis ticks in MiB/s: three significant digits, so 0.25 does not round to "0". */
const mibTick = (v: number) => String(Number(v.toPrecision(3)))
/** The rate axis spans at least 1 MiB/s: with every rate 0 (a warm model) it still has ticks. */
const atLeast = (min: number) => (dataMax: number) => Math.max(min, dataMax)

/** Disk read rate, bytes becoming resident, and major faults per second, on one time axis. */
export function RatesChart({ points, atMs, onSeek, height = 180 }: { points: TimelinePoint[]; atMs?: number; onSeek?: (tMs: number) => void; height?: number }) {
  const dark = useIsDark()
  const tooltip = useTooltipStyle()
  const grid = dark ? '#3f3f46' : '#e4e4e7'
  const axis = dark ? '#a1a1aa' : '#71717a'
  // Rates in MiB/s, so the axis picks round MiB ticks; the tooltip shows them as everywhere else.
  const data = points.map((p) => ({
    t: p.tMs,
    disk: p.diskReadBytesPerSec === null ? undefined : p.diskReadBytesPerSec / MiB,
    added: p.addedBytesPerSec / MiB,
    faults: p.majorFaultsPerSec ?? undefined,
  }))
  return (
    <div data-testid="rates-chart">
      <div style={{ height }}>
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart
            data={data}
            margin={{ top: 6, right: 8, bottom: 0, left: 0 }}
            onClick={(s: { activeLabel?: string | number } | null) => s?.activeLabel !== undefined && onSeek?.(Number(s.activeLabel))}
          >
            <CartesianGrid stroke={grid} strokeDasharray="3 3" />
            <XAxis dataKey="t" type="number" domain={[0, 'dataMax']} tickFormatter={secs} stroke={axis} fontSize={11} />
            <YAxis yAxisId="b" domain={[0, atLeast(1)]} tickFormatter={mibTick} stroke={axis} fontSize={11} width={44} label={{ value: 'MiB/s', angle: -90, position: 'insideLeft', fontSize: 10, fill: axis }} />
            <YAxis yAxisId="f" orientation="right" domain={[0, atLeast(4)]} allowDecimals={false} stroke={axis} fontSize={11} width={44} label={{ value: 'faults/s', angle: 90, position: 'insideRight', fontSize: 10, fill: axis }} />
            <Tooltip
              labelFormatter={(l) => secs(Number(l))}
              formatter={(v, name) => (name === 'major faults/s' ? [Math.round(Number(v)), name] : [formatRate(Number(v) * MiB), name])}
              {...tooltip}
            />
            <Area yAxisId="b" dataKey="disk" name="disk read" stroke="#0284c7" fill="#0284c7" fillOpacity={0.2} isAnimationActive={false} connectNulls />
            <Line yAxisId="b" dataKey="added" name="became resident" stroke="#10b981" dot={false} strokeWidth={1.5} isAnimationActive={false} />
            <Line yAxisId="f" dataKey="faults" name="major faults/s" stroke="#f59e0b" dot={false} strokeWidth={1.5} isAnimationActive={false} connectNulls />
            {atMs !== undefined && <ReferenceLine yAxisId="b" x={atMs} stroke={dark ? '#fafafa' : '#18181b'} strokeDasharray="4 2" />}
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <div className="flex gap-3 text-[11px] text-zinc-500">
        <span><span className="text-sky-600">■</span> disk read</span>
        <span><span className="text-emerald-500">—</span> became resident</span>
        <span><span className="text-amber-500">—</span> major faults/s</span>
      </div>
    </div>
  )
}

/** When each layer was first touched: a diagonal is a layer-by-layer load, a cloud a scattered one. */
export function LayerTouchChart({ touches, atMs, height = 180, maxMs }: { touches: (number | null)[]; atMs?: number; height?: number; maxMs?: number }) {
  const dark = useIsDark()
  const tooltip = useTooltipStyle()
  const grid = dark ? '#3f3f46' : '#e4e4e7'
  const axis = dark ? '#a1a1aa' : '#71717a'
  const data = touches.flatMap((t, layer) => (t === null ? [] : [{ t, layer, seen: atMs === undefined || t <= atMs }]))
  return (
    <div style={{ height }} data-testid="layer-touch-chart" data-points={data.length}>
      <ResponsiveContainer width="100%" height="100%">
        <ScatterChart margin={{ top: 6, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid stroke={grid} strokeDasharray="3 3" />
          <XAxis dataKey="t" type="number" name="first touch" domain={[0, maxMs ?? 'dataMax']} tickFormatter={secs} stroke={axis} fontSize={11} />
          <YAxis dataKey="layer" type="number" name="layer" stroke={axis} fontSize={11} width={44} allowDecimals={false} label={{ value: 'layer', angle: -90, position: 'insideLeft', fontSize: 10, fill: axis }} />
          <Tooltip formatter={(v, name) => (name === 'first touch' ? secs(Number(v)) : v)} {...tooltip} />
          <Scatter data={data.filter((d) => d.seen)} fill="#10b981" isAnimationActive={false} />
          <Scatter data={data.filter((d) => !d.seen)} fill={dark ? '#52525b' : '#d4d4d8'} isAnimationActive={false} />
          {atMs !== undefined && <ReferenceLine x={atMs} stroke={dark ? '#fafafa' : '#18181b'} strokeDasharray="4 2" />}
        </ScatterChart>
      </ResponsiveContainer>
    </div>
  )
}

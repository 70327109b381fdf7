// One run as it happens (or happened): the model's residency against its size, what the loader
// read from disk, and its major page faults, over time since the load started.
import { memo } from 'react'
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import type { LabExperiment, LabRun } from '../../../../shared/api'
import { formatBytes } from '../../../../shared/format'
import { Panel } from '../../components/Card'
import { useTooltipStyle } from '../../components/chart-tooltip'

const MiB = 2 ** 20
const axis = { tick: { fontSize: 11, fill: 'currentColor' }, stroke: 'currentColor', strokeOpacity: 0.3 }
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`

function Chart({ run, title, testId, lines, max, unit }: { run: LabRun; title: string; testId: string; lines: { key: keyof LabRun['samples'][number]; label: string; color: string }[]; max?: number; unit: 'MiB' | 'count' }) {
  const tooltip = useTooltipStyle()
  const data = run.samples.map((s) => ({ t: s.tMs, ...Object.fromEntries(lines.map((l) => [l.key, s[l.key] === null ? null : unit === 'MiB' ? (s[l.key] as number) / MiB : s[l.key]])) }))
  return (
    <div className="min-w-0">
      <div className="mb-1 text-xs font-medium text-zinc-500">{title}</div>
      <div className="h-40" data-testid={testId} data-points={data.length}>
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="currentColor" strokeOpacity={0.12} vertical={false} />
            <XAxis dataKey="t" type="number" domain={[0, 'dataMax']} tickFormatter={seconds} minTickGap={32} {...axis} />
            <YAxis width={48} domain={[0, max ? Math.ceil(max / MiB) : 'auto']} tickFormatter={(v: number) => (unit === 'MiB' ? `${Math.round(v)}M` : String(v))} {...axis} />
            {max && <ReferenceLine y={max / MiB} stroke="#a1a1aa" strokeDasharray="4 4" label={{ value: 'model', fontSize: 10, fill: 'currentColor', position: 'insideTopLeft' }} />}
            <Tooltip labelFormatter={(v) => seconds(Number(v))} formatter={(v, name) => [unit === 'MiB' ? formatBytes(Number(v) * MiB) : String(v), lines.find((l) => l.key === name)?.label ?? String(name)]} {...tooltip} />
            {lines.map((l) => <Line key={l.key} dataKey={l.key} stroke={l.color} dot={false} strokeWidth={2} isAnimationActive={false} connectNulls />)}
          </LineChart>
        </ResponsiveContainer>
      </div>
      <div className="flex gap-3 text-xs text-zinc-500">{lines.map((l) => <span key={l.key} className="flex items-center gap-1"><span className="inline-block h-0.5 w-3" style={{ background: l.color }} />{l.label}</span>)}</div>
    </div>
  )
}

export const RunCharts = memo(function RunCharts({ e, run }: { e: LabExperiment; run: LabRun | undefined }) {
  return (
    <Panel
      title={run ? `Run ${run.index + 1}: ${run.mode}${e.repeat > 1 ? ` #${run.repeat}` : ''} — ${run.status === 'running' ? 'live' : run.status}` : 'Run'}
      right={run?.pid ? <span className="text-xs text-zinc-500" data-testid="lab-run-pid">pid {run.pid}</span> : undefined}
    >
      {!run || run.samples.length === 0 ? (
        <div className="flex h-40 items-center justify-center text-sm text-zinc-500">{run?.status === 'preparing' ? `Setting the model up (${run.mode})…` : 'No samples yet'}</div>
      ) : (
        <div className="grid gap-4 md:grid-cols-3">
          <Chart run={run} title="Model in RAM" testId="lab-chart-residency" unit="MiB" max={e.bytes} lines={[{ key: 'residentBytes', label: 'resident', color: '#0284c7' }]} />
          <Chart run={run} title="Read from disk by the loader" testId="lab-chart-reads" unit="MiB" max={e.bytes} lines={[{ key: 'readBytes', label: 'read', color: '#ea580c' }]} />
          <Chart run={run} title="Major page faults" testId="lab-chart-faults" unit="count" lines={[{ key: 'majorFaults', label: 'major faults', color: '#dc2626' }]} />
        </div>
      )}
    </Panel>
  )
})

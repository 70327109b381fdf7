// The GPUs of this machine: memory over the last hour, the processes on each card with the model
// they hold, and running llama-servers against the plan of their own command line.
import { useEffect } from 'react'
import { Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { DeviceGtt, ProcessGtt } from '../../components/GpuGtt'
import { useTooltipStyle } from '../../components/chart-tooltip'
import { usePlanner } from './planner-store'
import { mib } from './Alternatives'

const shortName = (p: string) => p.split('/').pop() ?? p
const gib = (b: number | null) => (b === null ? '?' : `${(b / 2 ** 30).toFixed(1)} GiB`)

function GpuTelemetry() {
  const gpu = usePlanner((s) => s.gpu)
  const history = usePlanner((s) => s.gpuHistory)
  const tooltip = useTooltipStyle()
  if (!gpu) return <p className="text-sm text-zinc-500">Looking for GPUs…</p>
  if (!gpu.gpus.length) return <p data-testid="no-gpu" className="text-sm text-zinc-500">{gpu.noGpuReason ?? 'No GPU found.'}</p>
  return (
    <div className="space-y-4">
      {gpu.gpus.map((g) => {
        const share = g.totalBytes && g.usedBytes !== null ? g.usedBytes / g.totalBytes : null
        return (
          <div key={g.id} className="text-sm" data-testid="gpu-card">
            <div className="flex items-baseline justify-between gap-2">
              <span className="font-medium" data-testid="gpu-name">{g.name}</span>
              <span className="text-xs text-zinc-500">{g.id} · {gpu.source}</span>
            </div>
            <div className="mt-1 h-2 overflow-hidden rounded bg-zinc-200 dark:bg-zinc-700">
              <div className="h-full bg-sky-500" style={{ width: `${(share ?? 0) * 100}%` }} />
            </div>
            <div className="mt-0.5 text-xs text-zinc-500" data-testid="gpu-memory">
              {gib(g.usedBytes)} of {gib(g.totalBytes)} used{g.utilizationPercent !== null ? ` · ${g.utilizationPercent}% busy` : ''}
              <DeviceGtt gpu={g} />
            </div>
            <div className="h-20">
              <ResponsiveContainer>
                <LineChart margin={{ top: 8, right: 4, bottom: 0, left: 0 }} data={history.map((s) => ({ t: s.atMs, used: (s.gpus.find((x) => x.id === g.id)?.usedBytes ?? 0) / 2 ** 30 }))}>
                  <XAxis dataKey="t" hide />
                  <YAxis width={34} tick={{ fontSize: 10 }} allowDecimals={false} domain={[0, Math.ceil((g.totalBytes ?? 0) / 2 ** 30) || 'auto']} ticks={g.totalBytes ? [0, Math.ceil(g.totalBytes / 2 ** 30)] : undefined} tickFormatter={(v) => `${v}G`} /><Tooltip {...tooltip} formatter={(v) => [`${Number(v).toFixed(2)} GiB`, 'used']} labelFormatter={() => ''} />
                  <Line dataKey="used" dot={false} isAnimationActive={false} stroke="#0ea5e9" />
                </LineChart>
              </ResponsiveContainer>
            </div>
            {g.processes.map((p) => (
              <div key={p.pid} className="text-xs" data-testid="gpu-process">
                {p.name} (pid {p.pid}){p.modelPath ? ` holds ${shortName(p.modelPath)}` : ''}{p.usedBytes !== null ? `: ${gib(p.usedBytes)}` : ''}
                <ProcessGtt bytes={p.gttBytes} />
              </div>
            ))}
          </div>
        )
      })}
    </div>
  )
}

/** Running servers: planned (from their command line) against used, with the difference. */
function PlanChecks() {
  const checks = usePlanner((s) => s.checks)
  const error = usePlanner((s) => s.checkError)
  const refresh = usePlanner((s) => s.refreshChecks)
  const hasGpu = usePlanner((s) => (s.gpu?.gpus.length ?? 0) > 0)
  useEffect(() => {
    if (!hasGpu) return
    void refresh()
    const t = setInterval(() => void refresh(), 10_000)
    return () => clearInterval(t)
  }, [hasGpu, refresh])
  if (!hasGpu) return null
  return (
    <div className="space-y-2 border-t border-zinc-200 pt-3 text-xs dark:border-zinc-700" data-testid="plan-checks">
      <div className="flex items-center justify-between">
        <span className="font-medium text-zinc-700 dark:text-zinc-300">Planned vs measured</span>
        <button className="rounded border px-2" onClick={() => void refresh()}>Check now</button>
      </div>
      {error && <p className="text-red-600 dark:text-red-400">{error}</p>}
      {checks && !checks.length && <p className="text-zinc-500">No llama-server or Ollama runner on a GPU right now.</p>}
      {checks?.map((c) => (
        <div key={c.pid} data-testid="plan-check" className="rounded border border-zinc-200 p-2 dark:border-zinc-700">
          <div className="font-medium">{c.modelPath ? shortName(c.modelPath) : c.commandLine[0]} <span className="font-normal text-zinc-500">pid {c.pid}{c.card ? ` · ${c.card}` : ''}</span></div>
          {c.error ? (
            <div className="text-amber-700 dark:text-amber-400">cannot check: {c.error}</div>
          ) : (
            <div className="tabular-nums">
              planned {mib(c.plannedMiB ?? 0)} · used {c.usedMiB === null ? '?' : mib(c.usedMiB)} ·{' '}
              <span data-testid="plan-check-diff" className={c.diffMiB !== null && Math.abs(c.diffMiB) > 0.03 * (c.plannedMiB ?? 1) ? 'font-semibold text-amber-700 dark:text-amber-400' : 'font-semibold'}>
                {c.diffMiB === null ? 'difference unknown' : `${c.diffMiB >= 0 ? '+' : ''}${Math.round(c.diffMiB)} MiB`}
              </span>
            </div>
          )}
          {c.notes.slice(0, 2).map((n) => <div key={n} className="text-zinc-500">{n}</div>)}
        </div>
      ))}
    </div>
  )
}

export function GpuPanel() {
  return (
    <div className="space-y-3" data-testid="gpu-panel">
      <GpuTelemetry />
      <PlanChecks />
    </div>
  )
}

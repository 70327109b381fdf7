// The load lab: set up a run (model, loader, memory, matrix), watch it live (residency, disk
// reads, faults), read the results (bars, table, export). Earlier experiments stay listed.
import { useEffect, useMemo, useState } from 'react'
import type { LabExperiment } from '../../../../shared/api'
import { Panel } from '../../components/Card'
import { hearth } from '../../hearth'
import { useLab } from './lab-store'
import { PressurePanel } from './PressurePanel'
import { Results } from './Results'
import { RunCharts } from './RunCharts'
import { RunSetup } from './RunSetup'
import { labSections } from './sections'

const clock = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })

function History({ experiments, selectedId }: { experiments: LabExperiment[]; selectedId: string | null }) {
  const select = useLab((s) => s.select)
  if (experiments.length === 0) return null
  return (
    <Panel title="Experiments">
      <ul className="space-y-1 text-sm" data-testid="lab-history">
        {experiments.map((e) => (
          <li key={e.id}>
            <button onClick={() => select(e.id)} data-testid="lab-history-item" data-status={e.status}
              className={`w-full truncate rounded px-2 py-1 text-left ${e.id === selectedId ? 'bg-zinc-100 dark:bg-zinc-800' : 'hover:bg-zinc-50 dark:hover:bg-zinc-800/50'}`}>
              <span className="font-medium">{e.model}</span>
              <span className="text-xs text-zinc-500"> · {clock.format(e.startedAtMs)} · {e.matrix.join('/')}{e.repeat > 1 ? ` ×${e.repeat}` : ''} · {e.status}</span>
            </button>
          </li>
        ))}
      </ul>
    </Panel>
  )
}

export function LabView() {
  const load = useLab((s) => s.load)
  const apply = useLab((s) => s.apply)
  const experiments = useLab((s) => s.experiments)
  const selectedId = useLab((s) => s.selectedId)
  const error = useLab((s) => s.error)
  const [pickedRun, setPickedRun] = useState<number | null>(null)
  useEffect(() => {
    const off = hearth().subscribe('lab', apply)
    void load()
    return off
  }, [load, apply])
  const e = experiments.find((x) => x.id === selectedId) ?? null
  // The run on show: the one the user clicked, else the one running, else the last that ran.
  const run = useMemo(() => {
    if (!e) return null
    return e.runs.find((r) => r.index === pickedRun) ?? e.runs.find((r) => r.status === 'running' || r.status === 'preparing') ?? [...e.runs].reverse().find((r) => r.samples.length > 0) ?? e.runs[0] ?? null
  }, [e, pickedRun])
  useEffect(() => setPickedRun(null), [selectedId])
  return (
    <div className="space-y-4" data-testid="lab">
      <div className="grid gap-4 lg:grid-cols-[minmax(0,1fr)_22rem]">
        <RunSetup />
        <div className="space-y-4">
          <History experiments={experiments} selectedId={selectedId} />
          <PressurePanel />
        </div>
      </div>
      {error && <p role="alert" className="text-sm text-red-600" data-testid="lab-error">{error}</p>}
      {e && <RunCharts e={e} run={run ?? undefined} />}
      {e && <Results e={e} selectedRun={run?.index ?? null} onSelectRun={setPickedRun} />}
      {labSections.map((Section, i) => <Section key={i} experiment={e} run={run} />)}
    </div>
  )
}

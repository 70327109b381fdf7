// Run setup: which model, which loader, what memory the model may keep, the matrix and how often.
// Presets say the experiment in words: all in RAM, half on disk, all on disk.
import type { LabLoaderInfo, LabMode } from '../../../../shared/api'
import { formatBytes } from '../../../../shared/format'
import { memoryPresets } from '../../../../shared/lab/results'
import { labModes } from '../../../../shared/lab/kinds'
import { Panel } from '../../components/Card'
import { useCatalog } from '../../stores/catalog'
import { useLab } from './lab-store'

const modeHelp: Record<LabMode, string> = {
  cold: 'evicted from the page cache first: read from disk',
  warm: 'in the page cache first',
  staged: 'copied into the RAM disk first (needs the privileged helper)',
  locked: 'warm and locked in RAM first',
}
const GiB = 2 ** 30
const input = 'rounded border border-zinc-300 bg-white px-2 py-1 dark:border-zinc-700 dark:bg-zinc-800'

function LoaderSelect({ loaders }: { loaders: LabLoaderInfo[] }) {
  const loader = useLab((s) => s.setup.loader)
  const change = useLab((s) => s.change)
  const chosen = loaders.find((l) => l.kind === loader)
  return (
    <label className="flex flex-col gap-1 text-sm">
      <span className="text-xs font-medium text-zinc-500">Loader</span>
      <select data-testid="lab-loader" className={input} value={loader} onChange={(e) => change({ loader: e.target.value as LabLoaderInfo['kind'] })}>
        {loaders.map((l) => (
          <option key={l.kind} value={l.kind} disabled={!l.available}>
            {l.kind === 'builtin' ? 'Built-in (llama.cpp)' : l.kind === 'llama-cli' ? 'llama.cpp binary' : 'Ollama'}
            {l.available ? '' : ' — not available'}
          </option>
        ))}
      </select>
      <span className="text-xs text-zinc-500" data-testid="lab-loader-detail">{chosen ? (chosen.available ? chosen.detail : chosen.reason) : ''}</span>
    </label>
  )
}

function MemoryLimit({ modelBytes }: { modelBytes: number }) {
  const state = useLab((s) => s.state)
  const setup = useLab((s) => s.setup)
  const change = useLab((s) => s.change)
  if (!state) return null
  const { cgroup, pressure, swap } = state.memory
  const floor = setup.limitBy === 'pressure' ? pressure.floorBytes : 0
  const presets = memoryPresets(modelBytes, floor)
  const methodOk = setup.limitBy === 'cgroup' ? cgroup.available : pressure.available
  return (
    <fieldset className="space-y-2 text-sm" data-testid="lab-memory">
      <legend className="text-xs font-medium text-zinc-500">Memory the model may keep</legend>
      <div className="flex flex-wrap gap-1">
        {presets.map((p) => {
          const on = p.leaveBytes === null ? setup.leaveGib === null : setup.leaveGib !== null && Math.abs(setup.leaveGib * GiB - p.leaveBytes) < GiB / 100
          return (
            <button key={p.id} type="button" data-testid={`lab-preset-${p.id}`} onClick={() => change({ leaveGib: p.leaveBytes === null ? null : Math.round((p.leaveBytes / GiB) * 100) / 100 })}
              className={`rounded px-2 py-1 text-xs ${on ? 'bg-zinc-900 text-white dark:bg-zinc-100 dark:text-zinc-900' : 'border border-zinc-300 dark:border-zinc-700'}`}>
              {p.label}{p.leaveBytes !== null && modelBytes > 0 ? ` (${formatBytes(p.leaveBytes)})` : ''}
            </button>
          )
        })}
      </div>
      <div className="flex flex-wrap items-center gap-2">
        <label className="flex items-center gap-1">leave
          <input aria-label="GiB the model may keep" data-testid="lab-leave" className={`${input} w-24`} type="number" min={0} step={0.25} placeholder="no limit"
            value={setup.leaveGib ?? ''} onChange={(e) => change({ leaveGib: e.target.value === '' ? null : Math.max(0, Number(e.target.value)) })} />GiB
        </label>
        <label className="flex items-center gap-1">by
          <select aria-label="How memory is limited" className={input} value={setup.limitBy} onChange={(e) => change({ limitBy: e.target.value as 'cgroup' | 'pressure' })}>
            <option value="cgroup">a memory cgroup for the loader alone</option>
            <option value="pressure">dummy memory locked system-wide</option>
          </select>
        </label>
      </div>
      <p className={`text-xs ${methodOk ? 'text-zinc-500' : 'text-amber-700 dark:text-amber-400'}`} data-testid="lab-limit-how">
        {setup.limitBy === 'cgroup'
          ? cgroup.available ? `Only the loader is squeezed (${cgroup.how}); its own memory is added on top of what the model keeps.` : cgroup.reason
          : pressure.available ? `Everything on this machine is squeezed; at least ${formatBytes(pressure.floorBytes)} always stays free, and it is released when the run ends, on Undo everything, and if Hearth dies.` : pressure.reason}
      </p>
      <p className="text-xs text-zinc-500" data-testid="lab-swap">{swap.explanation}</p>
    </fieldset>
  )
}

/** Why the run button is off, in words beside it; null when it may run. */
function runBlockedReason(s: { busy: boolean; running: boolean; target: string; modes: number }): string | null {
  if (s.running) return 'A run is in progress: stop it or wait for it to end.'
  if (s.busy) return 'Waiting for the backend to answer…'
  if (!s.target) return 'Pick a model to load first.'
  if (s.modes === 0) return 'Tick at least one mode of the matrix.'
  return null
}

export function RunSetup() {
  const catalog = useCatalog((s) => s.catalog)
  const state = useLab((s) => s.state)
  const setup = useLab((s) => s.setup)
  const change = useLab((s) => s.change)
  const start = useLab((s) => s.start)
  const stop = useLab((s) => s.stop)
  const busy = useLab((s) => s.busy)
  const running = useLab((s) => s.experiments.some((e) => e.status === 'running'))
  const ggufs = (catalog?.models ?? []).filter((m) => m.format === 'gguf')
  const model = ggufs.find((m) => m.id === setup.target)
  const whyNot = runBlockedReason({ busy, running, target: setup.target, modes: setup.matrix.length })
  const toggle = (m: LabMode) => change({ matrix: setup.matrix.includes(m) ? setup.matrix.filter((x) => x !== m) : labModes.filter((x) => x === m || setup.matrix.includes(x)) })
  return (
    <Panel title="Run setup">
      <form className="space-y-4" onSubmit={(e) => { e.preventDefault(); void start() }}>
        <div className="grid gap-3 sm:grid-cols-2">
          <label className="flex flex-col gap-1 text-sm">
            <span className="text-xs font-medium text-zinc-500">Model</span>
            <select data-testid="lab-model" className={input} value={setup.target} onChange={(e) => change({ target: e.target.value })}>
              <option value="">Pick a GGUF model…</option>
              {ggufs.map((m) => <option key={m.id} value={m.id}>{m.name} ({formatBytes(m.bytes)})</option>)}
            </select>
          </label>
          {state && <LoaderSelect loaders={state.loaders} />}
        </div>
        <fieldset className="flex flex-wrap items-center gap-x-4 gap-y-2 text-sm">
          <legend className="mb-1 text-xs font-medium text-zinc-500">Matrix (each mode sets the model up first, then loads it)</legend>
          {labModes.map((m) => (
            <label key={m} className="flex items-center gap-1" title={modeHelp[m]}>
              <input type="checkbox" data-testid={`lab-mode-${m}`} checked={setup.matrix.includes(m)} onChange={() => toggle(m)} />{m}
            </label>
          ))}
          <label className="flex items-center gap-1">repeat
            <input aria-label="Repeat" data-testid="lab-repeat" className={`${input} w-16`} type="number" min={1} max={50} value={setup.repeat} onChange={(e) => change({ repeat: Math.min(50, Math.max(1, Number(e.target.value) || 1)) })} />
          </label>
          <label className="flex items-center gap-1">tokens
            <input aria-label="Tokens generated" className={`${input} w-16`} type="number" min={1} max={1024} value={setup.tokens} onChange={(e) => change({ tokens: Math.min(1024, Math.max(1, Number(e.target.value) || 1)) })} />
          </label>
        </fieldset>
        <MemoryLimit modelBytes={model?.bytes ?? 0} />
        <div className="flex items-center gap-2">
          {/* Disabled: solid greys (not a faded orange) keep the label readable in both themes. */}
          <button type="submit" data-testid="lab-run" disabled={whyNot !== null} aria-describedby={whyNot ? 'lab-run-why' : undefined}
            className="rounded bg-orange-600 px-4 py-1.5 text-sm font-medium text-white enabled:hover:bg-orange-700 disabled:cursor-not-allowed disabled:bg-zinc-200 disabled:text-zinc-600 dark:disabled:bg-zinc-700 dark:disabled:text-zinc-200">
            Run {setup.matrix.length * setup.repeat} load{setup.matrix.length * setup.repeat === 1 ? '' : 's'}
          </button>
          {running && <button type="button" data-testid="lab-stop" onClick={() => void stop()} className="rounded border border-zinc-300 px-3 py-1.5 text-sm dark:border-zinc-700">Stop</button>}
          {whyNot && <span id="lab-run-why" data-testid="lab-run-why" className="text-xs text-zinc-600 dark:text-zinc-400">{whyNot}</span>}
        </div>
      </form>
    </Panel>
  )
}

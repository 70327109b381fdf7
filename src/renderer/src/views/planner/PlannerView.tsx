// The VRAM/RAM planner: models with their llama-server flags, the objective they share the cards
// under, the plans the solver weighed side by side, a stacked bar per GPU against its capacity, a
// RAM bar, the context trade-off, and copyable exports. GPU telemetry and running servers against
// their plans beside it. Several cards are modelled from single-GPU measurements (no multi-GPU
// machine was available to measure); the view says so whenever a plan spans more than one.
import { useEffect, useState } from 'react'
import type { GpuPlan, ModelPlan, PlanResult, GpuPreset } from '../../../../shared/api'
import { kvCacheTypes, type KvCacheType } from '../../../../shared/planner/types'
import { Panel } from '../../components/Card'
import { hearth } from '../../hearth'
import { useCatalog } from '../../stores/catalog'
import { useMemory } from '../../stores/memory'
import { Alternatives, ObjectivePicker, mib } from './Alternatives'
import { ContextTable } from './ContextTable'
import { GpuPanel } from './GpuPanel'
import { DeviationLine, ServerExtras, SpeedLine } from './ModelExtras'
import { usePlanner, type PlannedModel } from './planner-store'

const termColors = { weightsMiB: 'bg-sky-500', kvMiB: 'bg-emerald-500', computeMiB: 'bg-amber-500', overheadMiB: 'bg-zinc-400' } as const
const termLabels = { weightsMiB: 'weights', kvMiB: 'KV cache', computeMiB: 'compute', overheadMiB: 'CUDA context' } as const
const shortName = (p: string) => p.split('/').pop() ?? p

function AddModel() {
  const catalog = useCatalog((s) => s.catalog)
  const add = usePlanner((s) => s.add)
  const [path, setPath] = useState('')
  const ggufs = (catalog?.models ?? []).filter((m) => m.format === 'gguf')
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm">
      <select aria-label="Add a model from the catalog" className="rounded border px-2 py-1 dark:bg-zinc-800" value="" onChange={(e) => e.target.value && add(e.target.value)}>
        <option value="">Add a model from the catalog…</option>
        {ggufs.map((m) => <option key={m.id} value={m.id}>{m.name}{m.gguf ? ` (${m.gguf.fileType})` : ''}</option>)}
      </select>
      <form className="flex gap-1" onSubmit={(e) => { e.preventDefault(); if (path.trim()) { add(path.trim()); setPath('') } }}>
        <input data-testid="planner-path" className="w-72 min-w-0 rounded border px-2 py-1 dark:bg-zinc-800" placeholder="…or a GGUF path" value={path} onChange={(e) => setPath(e.target.value)} />
        <button data-testid="planner-add" className="rounded bg-zinc-800 px-3 py-1 text-white dark:bg-zinc-200 dark:text-zinc-900">Add</button>
      </form>
    </div>
  )
}

/** Several cards: the whole model on one (CUDA_VISIBLE_DEVICES) or its layers split by ratio (-ts). */
function Placement({ m }: { m: PlannedModel }) {
  const update = usePlanner((s) => s.update)
  const cards = usePlanner((s) => s.cards)
  if (cards.length < 2) return null
  return (
    <span className="flex items-center gap-1">
      <label className="flex items-center gap-1">on
        <select aria-label="GPU placement" data-testid="planner-placement" className="rounded border px-1 dark:bg-zinc-800" value={String(m.placement)} onChange={(e) => update(m.key, { placement: e.target.value === 'split' ? 'split' : Number(e.target.value) })}>
          {cards.map((_, i) => <option key={i} value={i}>GPU {i}</option>)}
          <option value="split">split layers (-ts)</option>
        </select>
      </label>
      {m.placement === 'split' && cards.map((_, i) => (
        <label key={i} className="flex items-center gap-0.5 text-xs">GPU {i}
          <input aria-label={`split ratio GPU ${i}`} data-testid="split-ratio" className="w-16 rounded border px-1 dark:bg-zinc-800" type="number" min={0} step={0.5} value={m.split[i] ?? 0}
            onChange={(e) => update(m.key, { split: cards.map((__, j) => (j === i ? Math.max(0, Number(e.target.value) || 0) : (m.split[j] ?? 0))) })} />
        </label>
      ))}
    </span>
  )
}

function ModelRow({ m, plan }: { m: PlannedModel; plan?: ModelPlan }) {
  const update = usePlanner((s) => s.update)
  const remove = usePlanner((s) => s.remove)
  const catalogName = useCatalog((s) => s.byId[m.target]?.name)
  const all = plan?.nglAll ?? 100
  return (
    <div data-testid="planner-model" className="space-y-2 rounded-lg border border-zinc-200 p-3 dark:border-zinc-700">
      <div className="flex items-center justify-between">
        <span className="font-medium" data-testid="planner-model-name">{plan?.name ?? catalogName ?? shortName(m.target)}</span>
        <button className="text-xs text-zinc-500 hover:text-red-600" onClick={() => remove(m.key)}>remove</button>
      </div>
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <label className="flex items-center gap-1">-ngl
          <input aria-label="GPU layers" type="range" min={0} max={all} value={plan?.ngl ?? 0} disabled={m.ngl === 'max'} onChange={(e) => update(m.key, { ngl: Number(e.target.value) })} />
          <span data-testid="ngl-value" className="w-14 tabular-nums">{plan ? `${plan.ngl}/${all}` : '…'}</span>
        </label>
        <label className="flex items-center gap-1" title="the solver chooses, for all models together, under the objective"><input type="checkbox" data-testid="ngl-max" checked={m.ngl === 'max'} onChange={(e) => update(m.key, { ngl: e.target.checked ? 'max' : (plan?.ngl ?? 0) })} />solver picks</label>
        <label className="flex items-center gap-1">-c
          <select className="rounded border px-1 dark:bg-zinc-800" value={m.ctx} onChange={(e) => update(m.key, { ctx: Number(e.target.value) })}>
            {[2048, 4096, 8192, 16384, 32768, 65536, 131072].map((c) => <option key={c} value={c}>{c}</option>)}
          </select>
        </label>
        <label className="flex items-center gap-1">KV
          <select className="rounded border px-1 dark:bg-zinc-800" value={m.kvType} onChange={(e) => update(m.key, { kvType: e.target.value as KvCacheType })}>
            {kvCacheTypes.map((t) => <option key={t}>{t}</option>)}
          </select>
        </label>
        <label className="flex items-center gap-1">slots
          <input className="w-12 rounded border px-1 dark:bg-zinc-800" type="number" min={1} max={64} value={m.parallel} onChange={(e) => update(m.key, { parallel: Math.max(1, Number(e.target.value) || 1) })} />
        </label>
        <label className="flex items-center gap-1"><input type="checkbox" checked={m.flashAttn} onChange={(e) => update(m.key, { flashAttn: e.target.checked })} />flash attention</label>
        <Placement m={m} />
      </div>
      {plan && (
        <div className="space-y-0.5 text-xs text-zinc-600 dark:text-zinc-400">
          <div>VRAM {mib(plan.vram.totalMiB)} = weights {mib(plan.vram.weightsMiB)} + KV {mib(plan.vram.kvMiB)} + compute {mib(plan.vram.computeMiB)} + CUDA {mib(plan.vram.overheadMiB)} · RAM {mib(plan.host.totalMiB)} (weights in page cache {mib(plan.host.weightsMiB)})</div>
          <SpeedLine plan={plan} />
          <DeviationLine plan={plan} />
          {plan.warnings.map((w) => <div key={w} className="text-amber-700 dark:text-amber-400">⚠ {w}</div>)}
        </div>
      )}
      <ServerExtras m={m} plan={plan} />
    </div>
  )
}

/** One card: every model's weights / KV / compute / CUDA overhead on it against its capacity. */
function VramBar({ r, gpu }: { r: PlanResult; gpu: GpuPlan }) {
  const g = gpu.index
  const cap = Math.max(gpu.vramTotalMiB, gpu.usedMiB)
  const keys = Object.keys(termColors) as Array<keyof typeof termColors>
  const multi = r.gpus.length > 1
  return (
    <div className="space-y-1" data-testid="gpu-plan">
      <div className="flex justify-between text-xs text-zinc-500">
        <span className="font-medium text-zinc-700 dark:text-zinc-300">{multi ? `GPU ${g} · ` : ''}{gpu.name}</span>
        <span data-testid="gpu-fits" data-fits={gpu.fits} className={gpu.fits ? '' : 'font-semibold text-red-600 dark:text-red-400'}>{mib(gpu.usedMiB)} of {mib(gpu.vramTotalMiB)} · {gpu.marginMiB >= 0 ? `${mib(gpu.marginMiB)} free` : `${mib(-gpu.marginMiB)} over`}</span>
      </div>
      <div data-testid="vram-bar" className="relative flex h-8 overflow-hidden rounded bg-zinc-100 dark:bg-zinc-800">
        {r.models.map((m, i) => {
          const v = m.vramByGpu[g]
          if (!v || v.totalMiB <= 0) return null
          return (
            <div key={i} className="relative flex border-r-2 border-zinc-900 dark:border-white" style={{ width: `${(v.totalMiB / cap) * 100}%` }} title={`${m.name}: ${mib(v.totalMiB)}`}>
              {keys.map((k) => <div key={k} title={`${m.name}: ${termLabels[k]} ${mib(v[k])}`} className={`${termColors[k]} border-r border-white/60 ${i % 2 ? 'opacity-70' : ''}`} style={{ width: `${(v[k] / v.totalMiB) * 100}%` }} />)}
              {/* Which model a run of segments belongs to, readable without hovering. */}
              <span className="pointer-events-none absolute inset-0 truncate px-1.5 text-[11px] font-medium leading-8 text-white [text-shadow:0_0_3px_rgb(0_0_0/0.8)]">{m.name}</span>
            </div>
          )
        })}
        <div className="absolute inset-y-0 border-l-2 border-red-600" style={{ left: `${(gpu.vramTotalMiB / cap) * 100}%` }} />
      </div>
      {multi && <div className="flex flex-wrap gap-x-3 text-xs text-zinc-600 dark:text-zinc-400">{r.models.map((m, i) => m.vramByGpu[g]?.totalMiB > 0 && <span key={i}>{m.name}: {mib(m.vramByGpu[g].totalMiB)}</span>)}</div>}
    </div>
  )
}

function VramLegend() {
  return <div className="flex gap-3 text-xs">{(Object.keys(termColors) as Array<keyof typeof termColors>).map((k) => <span key={k} className="flex items-center gap-1"><span className={`inline-block h-2 w-3 ${termColors[k]}`} />{termLabels[k]}</span>)}</div>
}

const ramTerms = [
  { key: 'weights', label: "weights (page cache for mmap'd files)", color: 'bg-sky-300' },
  { key: 'kv', label: 'KV cache on the host', color: 'bg-emerald-400' },
  { key: 'other', label: 'buffers and the rest', color: 'bg-violet-400' },
] as const

/** The plan's host RAM by term, against the machine's RAM (the bar's full width). */
function RamBar({ r }: { r: PlanResult }) {
  const machineMiB = (useMemory((s) => s.latest?.memTotalBytes) ?? 0) / 2 ** 20
  const weights = r.models.reduce((s, m) => s + m.host.weightsMiB, 0)
  const kv = r.models.reduce((s, m) => s + m.host.kvMiB, 0)
  const mibOf = { weights, kv, other: Math.max(0, r.hostTotalMiB - weights - kv) }
  // Until the first memory sample (or when the plan needs more than the machine has) the plan fills the bar.
  const scale = Math.max(machineMiB, r.hostTotalMiB) || 1
  const over = machineMiB > 0 && r.hostTotalMiB > machineMiB
  return (
    <div className="space-y-1" data-testid="ram-bar" data-scale-mib={Math.round(scale)}>
      <div className="flex flex-wrap justify-between gap-x-2 text-xs text-zinc-500">
        <span>Host RAM</span>
        <span data-testid="ram-used" className={over ? 'font-semibold text-red-600 dark:text-red-400' : ''}>
          {mib(r.hostTotalMiB)}{machineMiB > 0 ? ` of ${mib(machineMiB)}` : ''} ({mib(weights)} page cache for mmap'd weights)
        </span>
      </div>
      <div className="flex h-3 overflow-hidden rounded bg-zinc-100 dark:bg-zinc-800">
        {ramTerms.map((t) => (
          <div key={t.key} data-testid={`ram-${t.key}`} className={t.color} style={{ width: `${(mibOf[t.key] / scale) * 100}%` }} title={`${t.label}: ${mib(mibOf[t.key])}`} />
        ))}
      </div>
      <div className="flex flex-wrap gap-x-3 text-xs text-zinc-600 dark:text-zinc-400" data-testid="ram-legend">
        {ramTerms.map((t) => <span key={t.key} className="flex items-center gap-1"><span className={`inline-block h-2 w-3 ${t.color}`} />{t.label}</span>)}
        <span className="flex items-center gap-1"><span className="inline-block h-2 w-3 bg-zinc-100 ring-1 ring-zinc-300 dark:bg-zinc-800 dark:ring-zinc-600" />rest of the machine&apos;s RAM</span>
      </div>
    </div>
  )
}

function Exports({ r }: { r: PlanResult }) {
  const [tab, setTab] = useState<'commands' | 'compose' | 'env' | 'ollama'>('commands')
  const text = tab === 'commands' ? r.exports.commands.join('\n\n') : tab === 'ollama' ? r.exports.ollama.map((o, i) => `# ${r.models[i].name}\n${o}`).join('\n\n') : r.exports[tab]
  return (
    <Panel title="Export" right={<button className="rounded border px-2 text-xs" onClick={() => void navigator.clipboard?.writeText(text)}>Copy</button>}>
      <div className="mb-2 flex gap-1 text-xs">{(['commands', 'compose', 'env', 'ollama'] as const).map((t) => <button key={t} onClick={() => setTab(t)} className={`rounded px-2 py-0.5 ${tab === t ? 'bg-zinc-800 text-white dark:bg-zinc-200 dark:text-zinc-900' : 'border'}`}>{t === 'commands' ? 'llama-server' : t}</button>)}</div>
      <pre data-testid="planner-export" className="max-h-56 overflow-auto whitespace-pre-wrap rounded bg-zinc-50 p-2 text-xs dark:bg-zinc-950">{text}</pre>
      <p className="mt-2 text-xs text-zinc-500" data-testid="export-llama">
        {r.llamaServer ? `Checked against ${r.llamaServer.path} (${r.llamaServer.version}).` : 'No llama-server found on PATH: flags that only newer releases accept are kept, with a note.'}
      </p>
      {r.exports.notes.length > 0 && <ul className="list-disc pl-5 text-xs text-amber-700 dark:text-amber-400" data-testid="export-notes">{r.exports.notes.map((n) => <li key={n}>{n}</li>)}</ul>}
    </Panel>
  )
}

function CardPicker({ presets, index }: { presets: GpuPreset[]; index: number }) {
  const card = usePlanner((s) => s.cards[index])
  const setCard = usePlanner((s) => s.setCard)
  const gpu = usePlanner((s) => s.gpu)
  const value = card.kind === 'custom' ? 'custom' : `${card.kind}:${card.value}`
  return (
    <span className="flex items-center gap-2">
      <select aria-label={`GPU ${index}`} data-testid="planner-card" className="rounded border px-2 py-1 dark:bg-zinc-800" value={value} onChange={(e) => {
        const v = e.target.value
        if (v === 'custom') setCard(index, { kind: 'custom', value: 'custom', mib: card.mib ?? 8192 })
        else setCard(index, { kind: v.startsWith('gpu:') ? 'gpu' : 'preset', value: v.slice(v.indexOf(':') + 1) })
      }}>
        {gpu?.gpus.map((g) => <option key={g.id} value={`gpu:${g.id}`}>{g.name} (detected, free now)</option>)}
        {presets.map((p) => <option key={p.name} value={`preset:${p.name}`}>{p.name}</option>)}
        <option value="custom">Other card…</option>
      </select>
      {card.kind === 'custom' && <label className="flex items-center gap-1"><input className="w-24 rounded border px-1 dark:bg-zinc-800" type="number" value={card.mib} onChange={(e) => setCard(index, { ...card, mib: Number(e.target.value) || 1 })} />MiB</label>}
    </span>
  )
}

/** The cards to plan against, in the order CUDA numbers them (PCI bus order, as nvidia-smi). */
function GpuList({ presets }: { presets: GpuPreset[] }) {
  const cards = usePlanner((s) => s.cards)
  const addCard = usePlanner((s) => s.addCard)
  const removeCard = usePlanner((s) => s.removeCard)
  return (
    <div className="flex flex-wrap items-center gap-x-4 gap-y-2 text-sm" data-testid="planner-gpus">
      {cards.map((_, i) => (
        <span key={i} className="flex items-center gap-1">
          {cards.length > 1 && <span className="text-xs text-zinc-500">GPU {i}</span>}
          <CardPicker presets={presets} index={i} />
          {cards.length > 1 && <button aria-label={`remove GPU ${i}`} className="text-xs text-zinc-500 hover:text-red-600" onClick={() => removeCard(i)}>✕</button>}
        </span>
      ))}
      {cards.length < 8 && <button data-testid="planner-add-gpu" className="rounded border px-2 py-0.5 text-xs" onClick={() => addCard(cards[cards.length - 1])}>+ GPU</button>}
    </div>
  )
}

/** The host's memory bandwidth for the speed estimates: measured once, kept in settings. */
function HostBandwidthLine({ r }: { r: PlanResult | null }) {
  const bw = usePlanner((s) => s.hostBandwidth)
  const measuring = usePlanner((s) => s.measuring)
  const measure = usePlanner((s) => s.measureHostBandwidth)
  return (
    <div className="flex flex-wrap items-center gap-2 text-xs text-zinc-500" data-testid="host-bandwidth">
      {bw ? <span>Host memory: {bw.gbps} GB/s, measured {new Date(bw.atMs).toLocaleDateString()} ({bw.method})</span> : <span>Host memory bandwidth not measured yet: speeds assume {r?.hostBandwidth.gbps ?? 40} GB/s</span>}
      <button className="rounded border px-2 py-0.5" disabled={measuring} onClick={() => void measure()}>{measuring ? 'Measuring (a few seconds)…' : bw ? 'Measure again' : 'Measure (a few seconds)'}</button>
    </div>
  )
}

/** No model yet: what to do, and what the planner gives back. */
function PlannerHint() {
  return (
    <div data-testid="planner-empty" className="rounded-lg border border-dashed border-zinc-300 p-3 text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">
      <p className="font-medium text-zinc-800 dark:text-zinc-200">Add a model to plan it: pick one from the catalog above, or paste the path of a GGUF file.</p>
      <p className="mt-1">
        Choose your GPU beside the panel&apos;s title (+ GPU for more cards). For each model you then get the VRAM and RAM it takes at the context, KV type and
        slots you set, how many layers fit on the GPU (-ngl), its estimated tokens per second, whether all the models fit side by side, and the exact
        llama-server command lines to run them.
      </p>
    </div>
  )
}

export function PlannerView() {
  const models = usePlanner((s) => s.models)
  const result = usePlanner((s) => s.result)
  const error = usePlanner((s) => s.error)
  const addGpuSample = usePlanner((s) => s.addGpuSample)
  const loadHostBandwidth = usePlanner((s) => s.loadHostBandwidth)
  const [presets, setPresets] = useState<GpuPreset[]>([])
  useEffect(() => {
    void hearth().gpuPresets().then(setPresets)
    void loadHostBandwidth()
    void hearth().gpuHistory().then(addGpuSample)
    void hearth().gpus().then((s) => addGpuSample([s]))
    return hearth().subscribe('gpu', (s) => addGpuSample([s]))
  }, [addGpuSample, loadHostBandwidth])
  return (
    <div className="grid gap-4 lg:grid-cols-[minmax(0,1fr)_20rem]" data-testid="planner">
      <div className="space-y-4">
        <Panel title="Plan" right={<GpuList presets={presets} />}>
          <div className="space-y-3">
            <AddModel />
            <ObjectivePicker />
            {models.length === 0 && <PlannerHint />}
            {models.map((m, i) => <ModelRow key={m.key} m={m} plan={result?.models[i]} />)}
            {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
            {result && (
              <div className="space-y-3">
                {result.gpus.map((g) => <VramBar key={g.index} r={result} gpu={g} />)}
                <VramLegend />
                {result.multiGpuNote && <p data-testid="multi-gpu-note" className="text-xs text-amber-700 dark:text-amber-400">⚠ {result.multiGpuNote}</p>}
                <RamBar r={result} />
                <p data-testid="plan-fits" data-fits={result.fits} className={`text-sm font-semibold ${result.fits ? 'text-emerald-700 dark:text-emerald-400' : 'text-red-600 dark:text-red-400'}`}>
                  {result.fits ? `Fits${result.gpus.length > 1 ? ' on every card' : ''}: ${mib(result.marginMiB)} to spare${result.gpus.length > 1 ? ' on the tightest' : ''}` : `Does not fit${result.gpus.length > 1 ? ` on GPU ${result.gpus.filter((g) => !g.fits).map((g) => g.index).join(', ')}` : ''}: ${mib(Math.max(0, result.requiredMarginMiB - result.marginMiB))} short`} (keeping {mib(result.requiredMarginMiB)} free{result.gpus.length > 1 ? ' on each' : ''})
                </p>
                {result.suggestions.length > 0 && <ul className="list-disc pl-5 text-sm">{result.suggestions.slice(0, 5).map((s) => <li key={s.text}>{s.text} <code className="text-xs">{s.flags}</code></li>)}</ul>}
              </div>
            )}
            <HostBandwidthLine r={result} />
          </div>
        </Panel>
        {result && result.models.length > 0 && (
          <Panel title="Plans weighed">
            <Alternatives r={result} />
          </Panel>
        )}
        {result && (
          <Panel title="Context and KV cache: the largest context that still fits, per model">
            <ContextTable plans={result.models} />
          </Panel>
        )}
        {result && <Exports r={result} />}
      </div>
      <Panel title="GPUs"><GpuPanel /></Panel>
    </div>
  )
}

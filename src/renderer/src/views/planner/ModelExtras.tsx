// Per model: the decode speed estimate with its formula, what past checks on this machine said,
// and what else the server loads (a vision projector, a draft model) with their share of memory.
import { useState } from 'react'
import type { ModelPlan } from '../../../../shared/api'
import { useCatalog } from '../../stores/catalog'
import { mib, tokS } from './Alternatives'
import { usePlanner, type PlannedModel } from './planner-store'

export function SpeedLine({ plan }: { plan: ModelPlan }) {
  if (!plan.speed) return null
  return (
    <div className="text-xs text-zinc-600 dark:text-zinc-400">
      <span data-testid="tok-s" className="font-semibold text-zinc-800 dark:text-zinc-200">≈ {tokS(plan)}</span> decode, estimated from memory bandwidth:{' '}
      <code data-testid="tok-s-formula" className="text-[11px]">{plan.speed.formula}</code>
      {plan.speed.assumptions.length > 0 && <span className="text-amber-700 dark:text-amber-400"> ({plan.speed.assumptions.join('; ')})</span>}
    </div>
  )
}

export function DeviationLine({ plan }: { plan: ModelPlan }) {
  const d = plan.deviation
  if (!d) return null
  return (
    <div data-testid="plan-deviation" className="text-xs text-zinc-600 dark:text-zinc-400">
      On this machine, plans for {d.arch} were off by <b>{d.meanMiB >= 0 ? '+' : ''}{d.meanMiB} MiB</b> ({d.samples} running server{d.samples > 1 ? 's' : ''} checked on {d.card})
    </div>
  )
}

/** Projector and draft model: inputs, and their share once planned. */
export function ServerExtras({ m, plan }: { m: PlannedModel; plan?: ModelPlan }) {
  const update = usePlanner((s) => s.update)
  const catalog = useCatalog((s) => s.catalog)
  const [open, setOpen] = useState(Boolean(m.mmproj || m.draft))
  const paired = catalog?.models.find((x) => x.id === m.target || x.files.some((f) => f.path === m.target))?.files.find((f) => f.role === 'projector')
  const [draft, setDraft] = useState(m.draft)
  if (!open)
    return (
      <button data-testid="extras-open" className="text-xs text-sky-700 hover:underline dark:text-sky-400" onClick={() => setOpen(true)}>
        + vision projector / draft model{paired ? ' (a projector is paired with this model)' : ''}
      </button>
    )
  return (
    <div className="space-y-1 rounded border border-dashed border-zinc-300 p-2 text-xs dark:border-zinc-600" data-testid="server-extras">
      <div className="flex flex-wrap items-center gap-2">
        <label className="flex items-center gap-1">
          <input type="checkbox" data-testid="mmproj" checked={Boolean(m.mmproj)} onChange={(e) => update(m.key, { mmproj: e.target.checked ? 'auto' : '' })} />
          vision projector (--mmproj)
        </label>
        {m.mmproj && (
          <>
            <input className="w-72 rounded border px-1 dark:bg-zinc-800" aria-label="projector path" placeholder="auto: beside the model" value={m.mmproj === 'auto' ? '' : m.mmproj} onChange={(e) => update(m.key, { mmproj: e.target.value.trim() || 'auto' })} />
            <label className="flex items-center gap-1"><input type="checkbox" checked={m.mmprojOnCpu} onChange={(e) => update(m.key, { mmprojOnCpu: e.target.checked })} />on the CPU</label>
          </>
        )}
      </div>
      {plan?.projector && (
        <div data-testid="projector-plan">
          {plan.projector.name}: {mib(plan.projector.weightsMiB)} weights + {mib(plan.projector.computeMiB)} compute ({plan.projector.patches}-patch image) on the {plan.projector.onGpu ? 'GPU' : 'CPU'}.{' '}
          <span className="text-amber-700 dark:text-amber-400">{plan.projector.note}</span>
        </div>
      )}
      <form className="flex flex-wrap items-center gap-2" onSubmit={(e) => { e.preventDefault(); update(m.key, { draft: draft.trim() }) }}>
        <label className="flex items-center gap-1">draft model (-md)
          <input data-testid="draft-path" className="w-72 rounded border px-1 dark:bg-zinc-800" placeholder="a small model of the same family, GGUF path" value={draft} onChange={(e) => setDraft(e.target.value)} onBlur={() => draft.trim() !== m.draft && update(m.key, { draft: draft.trim() })} />
        </label>
        {m.draft && (
          <>
            <label className="flex items-center gap-1">-ngld<input aria-label="draft GPU layers" className="w-14 rounded border px-1 dark:bg-zinc-800" type="number" min={0} max={999} value={m.draftNgl} onChange={(e) => update(m.key, { draftNgl: Math.max(0, Number(e.target.value) || 0) })} /></label>
            <label className="flex items-center gap-1" title="0 = the main model's context (newer llama-server always shares it)">-cd<input aria-label="draft context" className="w-20 rounded border px-1 dark:bg-zinc-800" type="number" min={0} step={256} value={m.draftCtx} onChange={(e) => update(m.key, { draftCtx: Math.max(0, Number(e.target.value) || 0) })} /></label>
          </>
        )}
      </form>
      {plan?.draft && (
        <div data-testid="draft-plan">
          {plan.draft.name} -ngld {plan.draft.ngl}/{plan.draft.nglAll}, {plan.draft.ctx} tokens: {mib(plan.draft.vram.totalMiB)} = weights {mib(plan.draft.vram.weightsMiB)} + KV {mib(plan.draft.vram.kvMiB)} + compute {mib(plan.draft.vram.computeMiB)}, no second CUDA context
        </div>
      )}
    </div>
  )
}

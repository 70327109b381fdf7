// The objective picker and the plans the solver weighed, side by side: the chosen one first, then
// the runners-up with why each ranked where it did, each one click away from being used.
import type { ModelPlan, PlanObjective, PlanResult } from '../../../../shared/api'
import { usePlanner } from './planner-store'

const objectives: Array<{ id: PlanObjective; label: string; hint: string }> = [
  { id: 'balanced', label: 'Balanced', hint: 'the slowest model as fast as it can be' },
  { id: 'all', label: 'All on GPU', hint: 'as many models wholly on the GPU as fit' },
  { id: 'priority', label: 'Priority', hint: 'the first model whole, the rest share what is left' },
]

export const mib = (x: number) => (x >= 1024 ? `${(x / 1024).toFixed(2)} GiB` : `${Math.round(x)} MiB`)
export const tokS = (m: ModelPlan) => (m.speed ? `${m.speed.tokensPerSec >= 100 ? Math.round(m.speed.tokensPerSec) : m.speed.tokensPerSec.toFixed(1)} tok/s` : '…')

export function ObjectivePicker() {
  const objective = usePlanner((s) => s.objective)
  const setObjective = usePlanner((s) => s.setObjective)
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm" role="radiogroup" aria-label="Objective">
      <span className="text-xs text-zinc-500">Share the card:</span>
      {objectives.map((o) => (
        <button
          key={o.id}
          role="radio"
          aria-checked={objective === o.id}
          data-testid={`objective-${o.id}`}
          title={o.hint}
          onClick={() => setObjective(o.id)}
          className={`rounded-full border px-3 py-0.5 text-xs ${objective === o.id ? 'border-sky-600 bg-sky-600 text-white' : 'border-zinc-300 hover:border-sky-500 dark:border-zinc-600'}`}
        >
          {o.label}
        </button>
      ))}
      <span className="text-xs text-zinc-500">{objectives.find((o) => o.id === objective)?.hint}</span>
    </div>
  )
}

/** The why without the plan's own summary (the card shows that as a table). */
const reason = (why: string) => {
  const at = why.search(/(Best under|Ranked #|Nothing fits)/)
  return at > 0 ? why.slice(at) : why
}

function PlanCard({ rank, label, models, used, total, margin, fits, why, chosen }: { rank: number; label: string; models: ModelPlan[]; used: number; total: number; margin: number; fits: boolean; why: string; chosen: boolean }) {
  const useAlternative = usePlanner((s) => s.useAlternative)
  const slowest = Math.min(...models.map((m) => m.speed?.tokensPerSec ?? Infinity))
  return (
    <div data-testid={chosen ? 'plan-chosen' : 'plan-alternative'} className={`flex flex-col gap-2 rounded-lg border p-3 text-xs ${chosen ? 'border-sky-500 bg-sky-50/60 dark:bg-sky-950/30' : 'border-zinc-200 dark:border-zinc-700'}`}>
      <div>
        <div className="font-semibold text-zinc-800 dark:text-zinc-100">#{rank}{chosen ? ' · chosen' : ''}</div>
        <div className="text-zinc-500" data-testid="plan-label">{label}</div>
      </div>
      <div className="space-y-1">
        {models.map((m, i) => (
          <div key={i} className="min-w-0" data-testid="plan-model">
            <div className="truncate text-zinc-700 dark:text-zinc-300" title={m.name}>{m.name}</div>
            <div className="flex justify-between gap-2 tabular-nums">
              <span>-ngl {m.ngl}/{m.nglAll}{m.ngl === m.nglAll ? ' ●' : ''}</span>
              <span className={m.speed?.tokensPerSec === slowest ? 'font-semibold' : ''}>{tokS(m)}</span>
            </div>
          </div>
        ))}
      </div>
      <div className="h-1.5 overflow-hidden rounded bg-zinc-200 dark:bg-zinc-700">
        <div className={fits ? 'h-full bg-emerald-500' : 'h-full bg-red-500'} style={{ width: `${Math.min(100, (used / total) * 100)}%` }} />
      </div>
      <div className="text-zinc-500">{mib(used)} of {mib(total)} · {margin >= 0 ? `${mib(margin)} free` : `${mib(-margin)} over`}</div>
      <p className="leading-snug text-zinc-600 dark:text-zinc-400" data-testid="plan-why">{reason(why)}</p>
      {!chosen && (
        <button data-testid="use-alternative" className="mt-auto self-start rounded border border-zinc-300 px-2 py-0.5 hover:border-sky-500 dark:border-zinc-600" onClick={() => useAlternative(rank)}>
          Use this plan
        </button>
      )}
    </div>
  )
}

export function Alternatives({ r }: { r: PlanResult }) {
  return (
    <div className="space-y-2" data-testid="plan-alternatives">
      <div className="flex flex-wrap items-baseline justify-between gap-2 text-xs text-zinc-500">
        <span>Plans weighed together ({r.objective}); ● = every layer on the GPU; speeds are estimates from memory bandwidth</span>
      </div>
      <div className="grid gap-2 [grid-template-columns:repeat(auto-fill,minmax(13rem,1fr))]">
        <PlanCard rank={1} label={r.objective} models={r.models} used={r.vramUsedMiB} total={r.vramTotalMiB} margin={r.marginMiB} fits={r.fits} why={r.why} chosen />
        {r.alternatives.map((a) => (
          <PlanCard key={a.rank} rank={a.rank} label={a.label} models={a.models} used={a.vramUsedMiB} total={r.vramTotalMiB} margin={a.marginMiB} fits={a.fits} why={a.why} chosen={false} />
        ))}
      </div>
    </div>
  )
}

// The context a model can have beside the others: per KV cache type and slot count, the largest
// -c that still fits, and what the KV cache costs per 1024 tokens.
import type { ModelPlan } from '../../../../shared/api'

const k = (n: number) => (n >= 1024 ? `${Math.floor(n / 1024)}k` : String(n))

export function ContextTable({ plans }: { plans: ModelPlan[] }) {
  const withOptions = plans.filter((p) => p.contextOptions?.length)
  if (!withOptions.length) return null
  return (
    <div className="grid gap-3 [grid-template-columns:repeat(auto-fill,minmax(17rem,1fr))]" data-testid="context-tables">
      {withOptions.map((p) => {
        const opts = p.contextOptions!
        const slots = [...new Set(opts.map((o) => o.parallel))]
        const types = [...new Set(opts.map((o) => o.cacheType))]
        return (
          <div key={p.path} className="text-xs" data-testid="context-table">
            <div className="mb-1 font-medium text-zinc-700 dark:text-zinc-300">{p.name} <span className="font-normal text-zinc-500">at -ngl {p.ngl}/{p.nglAll}</span></div>
            <table className="w-full tabular-nums">
              <thead>
                <tr className="text-zinc-500">
                  <th className="text-left font-normal">KV type</th>
                  {slots.map((s) => <th key={s} className="text-right font-normal">{s} slot{s > 1 ? 's' : ''}</th>)}
                  <th className="text-right font-normal">MiB / 1k</th>
                </tr>
              </thead>
              <tbody>
                {types.map((t) => {
                  const row = opts.filter((o) => o.cacheType === t)
                  return (
                    <tr key={t} className={t === p.options.cacheTypeK ? 'font-semibold' : ''}>
                      <td>{t}{row[0].needsFlashAttn ? <span className="text-zinc-400" title="a quantised V cache needs flash attention"> (fa)</span> : null}</td>
                      {slots.map((s) => {
                        const o = row.find((x) => x.parallel === s)!
                        return <td key={s} className={`text-right ${o.maxCtx ? '' : 'text-red-600 dark:text-red-400'}`} title={o.maxCtx ? `-c ${o.maxCtx} (${o.maxCtxPerSlot} per slot)` : 'not even 256 tokens fit'}>{o.maxCtx ? `${k(o.maxCtxPerSlot)}${s > 1 ? ' each' : ''}` : '—'}</td>
                      })}
                      <td className="text-right text-zinc-500">{row[0].kvMiBPer1k}</td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
        )
      })}
    </div>
  )
}

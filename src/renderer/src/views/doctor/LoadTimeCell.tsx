// The load-time column of the models list and its sort order: "≈ 42 s" cold from the model's
// disk at its measured bandwidth, and what is left to read now. Self-contained: the list adds a
// header, a <col> and this cell.
import { useEffect } from 'react'
import { useShallow } from 'zustand/react/shallow'
import type { Model } from '../../../../shared/api'
import { estimateLoad, type LoadEstimate } from '../../../../shared/doctor/load-time'
import { formatSeconds } from '../../../../shared/format'
import { useModelResidency, useResidency } from '../../stores/residency'
import { startDoctorSync, useDoctor, type LoadIndex } from './store'

export function useLoadEstimate(id: string): LoadEstimate | null {
  useEffect(startDoctorSync, [])
  const index = useDoctor((s) => s.loadIndex)
  const residency = useModelResidency(id)
  const files = index?.files[id]
  if (!index || !files) return null
  return estimateLoad(files, residency, index.devices)
}

export function LoadTimeCell({ id }: { id: string }) {
  const e = useLoadEstimate(id)
  if (!e) return <span className="text-xs text-zinc-400" data-testid="load-time">…</span>
  if (e.coldSeconds === null) {
    return (
      <span className="text-xs whitespace-nowrap text-zinc-500 italic" data-testid="load-time" data-state="unmeasured" title={`No read bandwidth measured yet for ${e.deviceNames.join(' + ')}: warm a model there, or run the read test in the Doctor`}>
        unmeasured
      </span>
    )
  }
  return (
    <span
      className="block text-right text-sm whitespace-nowrap tabular-nums"
      data-testid="load-time"
      data-cold-seconds={e.coldSeconds.toFixed(2)}
      data-now-seconds={e.nowSeconds!.toFixed(2)}
      title={`A cold load reads ${e.deviceNames.join(' + ')} for ≈ ${formatSeconds(e.coldSeconds)}; with what is in RAM now, ≈ ${formatSeconds(e.nowSeconds)}`}
    >
      <span className={e.toReadBytes < 0.1 * e.bytes ? 'text-emerald-700 dark:text-emerald-300' : ''}>{formatSeconds(e.nowSeconds)}</span>
      <span className="block text-xs text-zinc-500">cold {formatSeconds(e.coldSeconds)}</span>
    </span>
  )
}

const nowOf = (m: Model, index: LoadIndex | null, byId: ReturnType<typeof useResidency.getState>['byId']) => {
  const files = index?.files[m.id]
  if (!index || !files) return Infinity
  return estimateLoad(files, byId[m.id], index.devices).nowSeconds ?? Infinity
}

/** Model ids by load time now (slowest first when desc); null when the list sorts by something else. */
export function useLoadTimeOrder(models: Model[], active: boolean, desc: boolean): string[] | null {
  const index = useDoctor((s) => (active ? s.loadIndex : null))
  return useResidency(
    useShallow((s) => {
      if (!active) return null
      const sorted = [...models].sort((a, b) => {
        const x = nowOf(a, index, s.byId)
        const y = nowOf(b, index, s.byId)
        return x === y ? a.name.localeCompare(b.name) : x === Infinity ? 1 : y === Infinity ? -1 : x - y
      })
      if (desc) sorted.reverse()
      return sorted.map((m) => m.id)
    }),
  )
}

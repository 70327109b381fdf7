// The tray menu as a pure function of app state (the Electron glue in src/main/electron/tray.ts
// renders it and dispatches the actions): pinned models, then recently warmed ones, then the
// most resident, each with its residency; a click warms one.
import type { Job, Model, ModelResidency } from '../shared/api'

export type TrayAction = { type: 'warm'; modelId: string } | { type: 'evictAll' } | { type: 'open' } | { type: 'quit' }

export type TrayItem =
  | { type: 'separator' }
  | { type: 'header'; label: string }
  | { type: 'item'; label: string; action: TrayAction; enabled: boolean; tooltip?: string }

export interface TrayState {
  models: Pick<Model, 'id' | 'name' | 'bytes'>[]
  residency: Pick<ModelResidency, 'modelId' | 'bytes' | 'residentBytes' | 'unknownBytes'>[]
  pins: string[]
  /** Recent jobs, any order (the runner's list) */
  jobs: Pick<Job, 'kind' | 'modelId' | 'status' | 'doneBytes' | 'totalBytes' | 'startedAtMs'>[]
  lockedModelIds?: string[]
}

export const trayMaxModels = 8

function percent(f: number): string {
  return `${Math.floor(f * 100)}%`
}

export function trayMenu(state: TrayState, maxModels = trayMaxModels): TrayItem[] {
  const byId = new Map(state.models.map((m) => [m.id, m]))
  const res = new Map(state.residency.map((r) => [r.modelId, r]))
  const running = new Map(
    state.jobs.filter((j) => j.modelId && (j.status === 'running' || j.status === 'queued') && (j.kind === 'warm' || j.kind === 'rewarm')).map((j) => [j.modelId!, j]),
  )
  const locked = new Set(state.lockedModelIds ?? [])

  const pinned = state.pins.filter((id) => byId.has(id))
  const recent = [...state.jobs]
    .filter((j) => j.modelId && byId.has(j.modelId) && (j.kind === 'warm' || j.kind === 'rewarm' || j.kind === 'lock'))
    .sort((a, b) => (b.startedAtMs ?? Infinity) - (a.startedAtMs ?? Infinity))
    .map((j) => j.modelId!)
  const resident = [...state.residency].filter((r) => r.residentBytes > 0).sort((a, b) => b.residentBytes - a.residentBytes).map((r) => r.modelId)
  const others: string[] = []
  for (const id of [...recent, ...resident]) if (!pinned.includes(id) && !others.includes(id) && byId.has(id)) others.push(id)

  const item = (id: string, pin: boolean): TrayItem => {
    const m = byId.get(id)!
    const r = res.get(id)
    const job = running.get(id)
    let state: string
    if (job) state = `warming ${percent(job.totalBytes > 0 ? job.doneBytes / job.totalBytes : 0)}`
    else if (!r) state = '…'
    else if (r.unknownBytes >= r.bytes && r.bytes > 0) state = 'residency unknown'
    else state = percent(r.bytes > 0 ? r.residentBytes / r.bytes : 0)
    const marks = `${pin ? '📌 ' : ''}${locked.has(id) ? '🔒 ' : ''}`
    return {
      type: 'item',
      label: `${marks}${m.name} — ${state}`,
      action: { type: 'warm', modelId: id },
      enabled: !job,
      tooltip: job ? 'warming now' : 'click to warm',
    }
  }

  const items: TrayItem[] = []
  const shownPinned = pinned.slice(0, maxModels)
  const shownOthers = others.slice(0, Math.max(0, maxModels - shownPinned.length))
  if (shownPinned.length) items.push({ type: 'header', label: 'Pinned' }, ...shownPinned.map((id) => item(id, true)))
  if (shownOthers.length) items.push({ type: 'header', label: 'Recent' }, ...shownOthers.map((id) => item(id, false)))
  if (!shownPinned.length && !shownOthers.length) items.push({ type: 'header', label: state.models.length ? 'No warm models' : 'No models found' })
  const anyResident = state.residency.some((r) => r.residentBytes > 0 && !locked.has(r.modelId))
  items.push(
    { type: 'separator' },
    { type: 'item', label: 'Evict all', action: { type: 'evictAll' }, enabled: anyResident },
    { type: 'separator' },
    { type: 'item', label: 'Open Hearth', action: { type: 'open' }, enabled: true },
    { type: 'item', label: 'Quit', action: { type: 'quit' }, enabled: true },
  )
  return items
}

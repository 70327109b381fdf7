// The tray menu as a pure function of app state (the Electron glue in src/main/electron/tray.ts
// renders it and dispatches the actions): pinned models, then recently warmed ones, then the
// most resident, each with its residency; a click warms one. createTrayFeed keeps that state
// from the backend's pushes, and trayIconState picks the icon's look.
import type { HearthApi, Job, Model, ModelResidency } from '../shared/api'

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

/** The tray icon's look: a problem beats work in progress beats something staged. */
export type TrayIconState = 'idle' | 'working' | 'staged' | 'problem'

export const trayIconStates: readonly TrayIconState[] = ['idle', 'working', 'staged', 'problem']

/** How long a failed job keeps the icon in its problem look (opening the window clears it). */
export const problemShownMs = 10 * 60_000

export function trayIconState(s: { jobs: Pick<Job, 'status' | 'endedAtMs'>[]; stagedBytes: number; problemSinceMs?: number | null }, nowMs = Date.now()): TrayIconState {
  const failedRecently = s.jobs.some((j) => j.status === 'failed' && j.endedAtMs !== null && nowMs - j.endedAtMs < problemShownMs && j.endedAtMs > (s.problemSinceMs ?? 0))
  if (failedRecently) return 'problem'
  if (s.jobs.some((j) => j.status === 'running' || j.status === 'queued')) return 'working'
  if (s.stagedBytes > 0) return 'staged'
  return 'idle'
}

export interface TrayView {
  state: TrayState
  icon: TrayIconState
  /** A line for the tooltip: what Hearth is doing */
  tooltip: string
}

export interface TrayFeedOptions {
  /** Least time between two renders (pushes arrive at 1 Hz per topic; Electron menus are not free) */
  renderEveryMs?: number
  /** How often the pins and locks lists are asked for (cheap: no file is measured) */
  listsEveryMs?: number
  now?: () => number
}

type FeedApi = Pick<HearthApi, 'catalog' | 'modelResidency' | 'jobs' | 'pins' | 'locks' | 'stagingStatus' | 'subscribe'>

/**
 * The tray's state, kept from what the backend pushes (catalog, residency changes, job updates,
 * staging): residency is asked for once at start, never per push, so a 1 Hz residency push costs
 * a map update and at most one menu build per renderEveryMs, not a measurement of every file.
 */
export function createTrayFeed(api: FeedApi, render: (view: TrayView) => void, opts: TrayFeedOptions = {}) {
  const now = opts.now ?? Date.now
  const renderEveryMs = opts.renderEveryMs ?? 1000
  let models: TrayState['models'] = []
  const residency = new Map<string, TrayState['residency'][number]>()
  const jobs = new Map<string, Job>()
  let pins: string[] = []
  let locked: string[] = []
  let stagedBytes = 0
  let acknowledgedMs: number | null = null
  let timer: NodeJS.Timeout | null = null
  let lastRenderMs = -Infinity
  let stopped = false

  function view(): TrayView {
    const state: TrayState = { models, residency: [...residency.values()], pins, jobs: [...jobs.values()], lockedModelIds: locked }
    const list = [...jobs.values()]
    const icon = trayIconState({ jobs: list, stagedBytes, problemSinceMs: acknowledgedMs }, now())
    const running = list.filter((j) => j.status === 'running' || j.status === 'queued')
    const tooltip =
      icon === 'problem'
        ? `Hearth: ${list.filter((j) => j.status === 'failed').sort((a, b) => (b.endedAtMs ?? 0) - (a.endedAtMs ?? 0))[0]?.error?.message ?? 'a job failed'}`
        : running.length
          ? `Hearth: ${running.map((j) => `${j.kind} ${j.label}`).join(', ')}`
          : stagedBytes > 0
            ? 'Hearth: models staged in a RAM disk'
            : 'Hearth'
    return { state, icon, tooltip }
  }

  /** Renders now, or once the render interval has passed (coalescing bursts of pushes). */
  function schedule(): void {
    if (stopped || timer) return
    const wait = Math.max(0, lastRenderMs + renderEveryMs - now())
    timer = setTimeout(() => {
      timer = null
      if (stopped) return
      lastRenderMs = now()
      render(view())
    }, wait)
  }

  async function refreshLists(): Promise<void> {
    const [p, l] = await Promise.all([api.pins(), api.locks()])
    pins = p.map((x) => x.modelId)
    locked = l.map((x) => x.modelId).filter((id): id is string => Boolean(id))
    schedule()
  }

  const offs = [
    api.subscribe('catalog', (c) => {
      models = c.models
      schedule()
    }),
    api.subscribe('residency', (u) => {
      for (const m of u.models) residency.set(m.modelId, m)
      schedule()
    }),
    api.subscribe('jobs', (j) => {
      const before = jobs.get(j.id)
      jobs.set(j.id, j)
      if (jobs.size > 200) jobs.delete(jobs.keys().next().value!)
      // A lock, or a pin's re-warm, ending changes the lists the menu marks.
      if (before?.status !== j.status && (j.status === 'done' || j.status === 'failed')) void refreshLists().catch(() => {})
      schedule()
    }),
    api.subscribe('staging', (s) => {
      stagedBytes = s.stagedBytes
      schedule()
    }),
  ]
  const lists = setInterval(() => void refreshLists().catch(() => {}), opts.listsEveryMs ?? 30_000)
  lists.unref?.()

  // Once at start: what was there before the first pushes.
  const ready = (async () => {
    const [catalog, res, jobList, staging] = await Promise.all([api.catalog(), api.modelResidency(), api.jobs(), api.stagingStatus()])
    if (!models.length) models = catalog.models
    for (const r of res) if (!residency.has(r.modelId)) residency.set(r.modelId, r)
    for (const j of jobList) if (!jobs.has(j.id)) jobs.set(j.id, j)
    stagedBytes = staging.stagedBytes
    await refreshLists()
  })()

  return {
    ready,
    view,
    /** The user looked (opened the window): past failures stop colouring the icon. */
    acknowledge(): void {
      acknowledgedMs = now()
      schedule()
    },
    /** Pins or locks changed through a command the tray itself ran */
    refresh: () => refreshLists(),
    stop(): void {
      stopped = true
      if (timer) clearTimeout(timer)
      clearInterval(lists)
      for (const off of offs) off()
    },
  }
}

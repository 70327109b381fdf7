// Per-model residency over the last hour, from the residency service's pushes, and how much of
// each model the kernel (or another program) evicted while nothing in Hearth asked for it: drops
// that overlap one of Hearth's own evict or unstage jobs (or an undo of a stage) are Hearth's.

export interface ResidencyPoint {
  atMs: number
  bytes: number
  residentBytes: number
}

export interface HearthEviction {
  modelId: string
  fromMs: number
  /** Open while the job runs */
  toMs: number | null
}

export interface EvictionSummary {
  /** Bytes dropped while nothing in Hearth asked */
  evictedBytes: number
  /** Separate drops counted in evictedBytes */
  drops: number
  /** Bytes dropped by Hearth's own evict/unstage */
  byHearthBytes: number
  /** How far back the history reaches (ms since epoch); null when there is none */
  sinceMs: number | null
}

export interface ResidencyHistoryOptions {
  windowMs?: number
  /** Points kept per model (the oldest go first) */
  maxPointsPerModel?: number
  /** Residency is polled: a drop seen up to this long after a Hearth job ended is still Hearth's */
  slackMs?: number
  now?: () => number
}

export function createResidencyHistory(opts: ResidencyHistoryOptions = {}) {
  const windowMs = opts.windowMs ?? 3_600_000
  const maxPoints = opts.maxPointsPerModel ?? 3600
  const slackMs = opts.slackMs ?? 3000
  const now = opts.now ?? Date.now
  const points = new Map<string, ResidencyPoint[]>()
  const hearth: HearthEviction[] = []
  let startedAtMs: number | null = null

  function trim(list: ResidencyPoint[], t: number): void {
    // Keep one point older than the window: the baseline the first drop inside it is measured from.
    let cut = 0
    while (cut + 1 < list.length && list[cut + 1].atMs < t - windowMs) cut++
    if (cut > 0) list.splice(0, cut)
    if (list.length > maxPoints) list.splice(0, list.length - maxPoints)
  }

  function record(modelId: string, p: ResidencyPoint): void {
    startedAtMs ??= p.atMs
    let list = points.get(modelId)
    if (!list) points.set(modelId, (list = []))
    const last = list[list.length - 1]
    if (last && last.residentBytes === p.residentBytes && last.bytes === p.bytes) return
    list.push(p)
    trim(list, p.atMs)
  }

  /** Marks [fromMs, toMs] as a time Hearth itself dropped this model's pages. */
  function noteHearthEviction(modelId: string, fromMs: number, toMs: number | null): void {
    const open = hearth.find((h) => h.modelId === modelId && h.fromMs === fromMs)
    if (open) open.toMs = toMs
    else {
      hearth.push({ modelId, fromMs, toMs })
      while (hearth.length > 1000) hearth.shift()
    }
  }

  function byHearth(modelId: string, fromMs: number, toMs: number): boolean {
    return hearth.some((h) => h.modelId === modelId && h.fromMs - slackMs <= toMs && (h.toMs === null || h.toMs + slackMs >= fromMs))
  }

  function evictedSince(modelId: string, sinceMs = now() - windowMs): EvictionSummary {
    const list = points.get(modelId) ?? []
    const out: EvictionSummary = { evictedBytes: 0, drops: 0, byHearthBytes: 0, sinceMs: startedAtMs === null ? null : Math.max(startedAtMs, sinceMs) }
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]
      const b = list[i]
      if (b.atMs <= sinceMs || b.residentBytes >= a.residentBytes || a.bytes !== b.bytes) continue
      const dropped = a.residentBytes - b.residentBytes
      if (byHearth(modelId, a.atMs, b.atMs)) out.byHearthBytes += dropped
      else {
        out.evictedBytes += dropped
        out.drops++
      }
    }
    return out
  }

  return {
    record,
    noteHearthEviction,
    evictedSince,
    /** When recording began (null: never) */
    startedAtMs: () => startedAtMs,
    points: (modelId: string): ResidencyPoint[] => [...(points.get(modelId) ?? [])],
  }
}

export type ResidencyHistory = ReturnType<typeof createResidencyHistory>

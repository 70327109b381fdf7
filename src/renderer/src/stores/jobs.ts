// Jobs (warm, evict, lock, stage …) as the 'jobs' topic pushes them, plus the locks and pins that
// outlive a job, and the two things the jobs UI shows over every view: toasts and the
// "this warm would evict" confirmation.
import { create } from 'zustand'
import type { Job, JobKind, LockInfo, PinInfo, WarmPlan } from '../../../shared/api'
import { hearth } from '../hearth'

export const kindNoun: Record<JobKind, string> = {
  warm: 'warm',
  rewarm: 'keep-warm re-read',
  evict: 'evict',
  lock: 'lock',
  stage: 'stage',
  unstage: 'unstage',
  readtest: 'read test',
  lab: 'load-lab run',
}

export const isActive = (j: Job): boolean => j.status === 'queued' || j.status === 'running'

export interface Toast {
  id: number
  kind: 'error' | 'info'
  title: string
  message: string
  /** One button that fixes what the toast reports (e.g. "Unlock and evict"); it dismisses the toast */
  action?: { label: string; run: () => void }
}

/** A warm waiting for the user's word: the plan says it would push other warm models out. */
export interface PendingWarm {
  targets: string[]
  plan: WarmPlan
}

interface JobsStore {
  /** Replaced job by job: a job that did not change keeps its object, so its row stays put. */
  byId: Record<string, Job>
  locks: LockInfo[]
  pins: PinInfo[]
  toasts: Toast[]
  pendingWarm: PendingWarm | null
  /** Model ids with a command in flight (between the click and the backend's answer) */
  busy: Record<string, true>
  setAll(jobs: Job[]): void
  apply(job: Job): void
  setLocks(locks: LockInfo[]): void
  setPins(pins: PinInfo[]): void
  toast(t: Omit<Toast, 'id'>): void
  dismiss(id: number): void
  setPendingWarm(p: PendingWarm | null): void
  setBusy(modelId: string, busy: boolean): void
}

let toastSeq = 0

export const useJobs = create<JobsStore>((set) => ({
  byId: {},
  locks: [],
  pins: [],
  toasts: [],
  pendingWarm: null,
  busy: {},
  setAll: (jobs) => set({ byId: Object.fromEntries(jobs.map((j) => [j.id, j])) }),
  apply: (job) => set((s) => ({ byId: { ...s.byId, [job.id]: job } })),
  setLocks: (locks) => set({ locks }),
  setPins: (pins) => set({ pins }),
  toast: (t) => set((s) => ({ toasts: [...s.toasts.slice(-4), { ...t, id: ++toastSeq }] })),
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
  setPendingWarm: (pendingWarm) => set({ pendingWarm }),
  setBusy: (modelId, busy) =>
    set((s) => {
      const next = { ...s.busy }
      if (busy) next[modelId] = true
      else delete next[modelId]
      return { busy: next }
    }),
}))

/** The job a model's row shows: its running job, else its queued one; undefined when none. */
export function useActiveJobOf(modelId: string): Job | undefined {
  return useJobs((s) => {
    let found: Job | undefined
    for (const j of Object.values(s.byId)) {
      if (j.modelId !== modelId || !isActive(j)) continue
      if (!found || (j.status === 'running' && found.status !== 'running')) found = j
    }
    return found
  })
}

export const useIsLocked = (modelId: string): boolean => useJobs((s) => s.locks.some((l) => l.modelId === modelId))
export const useIsPinned = (modelId: string): boolean => useJobs((s) => s.pins.some((p) => p.modelId === modelId))
export const useIsBusy = (modelId: string): boolean => useJobs((s) => s.busy[modelId] === true)

export async function refreshLocksAndPins(): Promise<void> {
  const api = hearth()
  await Promise.all([
    api.locks().then(useJobs.getState().setLocks, (e) => console.error('locks:', e)),
    api.pins().then(useJobs.getState().setPins, (e) => console.error('pins:', e)),
  ])
}

/** Fetches the picture and follows the 'jobs' topic; call once the transport runs. */
export function startJobsSync(): void {
  const api = hearth()
  api.subscribe('jobs', (job) => {
    const before = useJobs.getState().byId[job.id]
    useJobs.getState().apply(job)
    // A job that fails on its own (an I/O error mid-warm, mlock refused …) says why, once.
    if (job.status === 'failed' && before?.status !== 'failed') {
      useJobs.getState().toast({ kind: 'error', title: `The ${kindNoun[job.kind]} of ${job.label} failed`, message: job.error?.message ?? 'no reason given' })
    }
    // Locks appear when a lock job ends; a keep-warm re-warm changes a pin's figures.
    if (!isActive(job) && (!before || isActive(before)) && (job.kind === 'lock' || job.kind === 'rewarm')) void refreshLocksAndPins()
  })
  void fetchJobs()
}

export async function fetchJobs(): Promise<void> {
  await Promise.all([
    hearth()
      .jobs()
      .then(useJobs.getState().setAll, (e) => console.error('jobs:', e)),
    refreshLocksAndPins(),
  ])
}

// The staging picture (what sits in the RAM disk, its usage, whether privileged actions work)
// and the stage/unstage jobs in flight, kept in step with the 'staging' and 'jobs' topics.
import { create } from 'zustand'
import type { Job, OffResult, StagingState } from '../../../../shared/api'
import { hearth, onReconnect } from '../../hearth'

interface StagingStore {
  state: StagingState | null
  /** The latest stage/unstage job per model id */
  jobs: Record<string, Job>
  error: string | null
  /**
   * What the last "Undo everything" did. Kept here, not in the component: undoing the last stage
   * moves the RAM-disk panel below the list, which mounts it anew.
   */
  offResult: OffResult | null
  set(state: StagingState): void
  job(job: Job): void
  setError(e: string | null): void
  setOffResult(r: OffResult | null): void
}

export const useStaging = create<StagingStore>((set) => ({
  state: null,
  jobs: {},
  error: null,
  offResult: null,
  set: (state) => set({ state }),
  job: (job) => set((s) => (job.modelId ? { jobs: { ...s.jobs, [job.modelId]: job } } : s)),
  setError: (error) => set({ error }),
  setOffResult: (offResult) => set({ offResult }),
}))

let started = false
/** Subscribes once; safe to call from every component that shows staging. */
export function startStagingSync(): void {
  if (started) return
  started = true
  const api = hearth()
  api.subscribe('staging', (s) => useStaging.getState().set(s))
  api.subscribe('jobs', (j) => (j.kind === 'stage' || j.kind === 'unstage') && useStaging.getState().job(j))
  const fetch = () => api.stagingStatus().then(useStaging.getState().set, (e) => useStaging.getState().setError(String(e?.message ?? e)))
  void fetch()
  onReconnect(() => void fetch())
}

export function useIsStaged(modelId: string): boolean {
  return useStaging((s) => Boolean(s.state?.staged.some((f) => f.modelId === modelId)))
}

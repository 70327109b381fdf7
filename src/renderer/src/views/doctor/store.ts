// The Doctor's picture in the window: the last report (pushed on the 'doctor' topic after every
// run), the devices and their measured bandwidth (for the load-time column), the share status.
// Started by the nav badge, so the badge is right before the Doctor view was ever opened.
import { create } from 'zustand'
import type { DoctorAction, DoctorReport, Job, LoadTimes, ModelFileDevice, ShareStatus, StorageDevice } from '../../../../shared/api'
import { hearth, onReconnect } from '../../hearth'

interface DoctorStore {
  report: DoctorReport | null
  running: boolean
  error: string | null
  loadTimes: LoadTimes | null
  /** loadTimes indexed for the list: a row looks up its own files and their devices */
  loadIndex: LoadIndex | null
  shares: ShareStatus | null
  /** Jobs started from a finding's fix, by finding id */
  fixJobs: Record<string, Job>
  set(p: Partial<DoctorStore>): void
}

export interface LoadIndex {
  files: Record<string, ModelFileDevice[]>
  devices: Map<string, StorageDevice>
}

export const useDoctor = create<DoctorStore>((set) => ({
  report: null,
  running: false,
  error: null,
  loadTimes: null,
  loadIndex: null,
  shares: null,
  fixJobs: {},
  set: (p) => set(p),
}))

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

export async function runDoctor(): Promise<void> {
  useDoctor.getState().set({ running: true, error: null })
  try {
    const report = await hearth().doctor()
    useDoctor.getState().set({ report })
    void refreshLoadTimes()
    void refreshShares()
  } catch (e) {
    useDoctor.getState().set({ error: message(e) })
  } finally {
    useDoctor.getState().set({ running: false })
  }
}

export async function refreshLoadTimes(): Promise<void> {
  try {
    const loadTimes = await hearth().loadTimes()
    const loadIndex: LoadIndex = { files: Object.fromEntries(loadTimes.models.map((m) => [m.modelId, m.files])), devices: new Map(loadTimes.devices.map((d) => [d.key, d])) }
    useDoctor.getState().set({ loadTimes, loadIndex })
  } catch (e) {
    console.error('loadTimes:', e)
  }
}

export async function refreshShares(): Promise<void> {
  try {
    useDoctor.getState().set({ shares: await hearth().shareStatus() })
  } catch (e) {
    console.error('shareStatus:', e)
  }
}

let started = false
/** Subscribes once; safe to call from every component that shows the Doctor's data. */
export function startDoctorSync(): void {
  if (started) return
  started = true
  const api = hearth()
  api.subscribe('doctor', (report) => useDoctor.getState().set({ report }))
  // A finished warm or read test measured a device: the load times change.
  api.subscribe('jobs', (j) => {
    if (j.status !== 'done' && j.status !== 'failed') return
    if (j.kind === 'readtest' || j.kind === 'warm' || j.kind === 'rewarm') void refreshLoadTimes()
    const fixes = useDoctor.getState().fixJobs
    const entry = Object.entries(fixes).find(([, fj]) => fj.id === j.id)
    if (entry) useDoctor.getState().set({ fixJobs: { ...fixes, [entry[0]]: j } })
  })
  api.subscribe('catalog', () => void refreshLoadTimes())
  const fetchAll = async () => {
    const last = await api.doctorLast().catch(() => null)
    // A run the view started meanwhile is newer than the backend's last periodic one.
    if (last && (useDoctor.getState().report?.atMs ?? 0) < last.atMs) useDoctor.getState().set({ report: last })
    else if (!last && !useDoctor.getState().running) await runDoctor()
    await Promise.all([refreshLoadTimes(), refreshShares()])
  }
  void fetchAll()
  onReconnect(() => void fetchAll())
}

/** Applies a fix Hearth can do itself, through the same contract calls as everywhere else. */
export async function applyFix(findingId: string, action: DoctorAction): Promise<string> {
  const api = hearth()
  const track = (j: Job) => useDoctor.getState().set({ fixJobs: { ...useDoctor.getState().fixJobs, [findingId]: j } })
  switch (action.kind) {
    case 'stage': {
      const job = await api.stage({ targets: action.targets })
      track(job)
      return `staging ${job.label}`
    }
    case 'warm': {
      const jobs = await api.warm({ targets: action.targets })
      if (jobs[0]) track(jobs[0])
      return `warming ${jobs.map((j) => j.label).join(', ')}`
    }
    case 'readTest': {
      const job = await api.readTest({ device: action.device })
      track(job)
      return job.label
    }
    case 'inotify': {
      const s = await api.inotifyFix({ persist: action.persist })
      void runDoctor()
      return `inotify limits now ${s.instances.value} instances, ${s.watches.value} watches`
    }
  }
}

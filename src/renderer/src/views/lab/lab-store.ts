// The lab's state in the window: what can run here (loaders, memory control, swap), the
// experiments (live from the 'lab' topic), the one being looked at, and the run setup.
import { create } from 'zustand'
import type { LabExperiment, LabLimitMethod, LabLoaderKind, LabMode, LabState } from '../../../../shared/api'
import { hearth } from '../../hearth'

export interface LabSetup {
  target: string
  loader: LabLoaderKind
  matrix: LabMode[]
  repeat: number
  tokens: number
  /** null: no limit */
  leaveGib: number | null
  limitBy: LabLimitMethod
}

interface LabStore {
  state: LabState | null
  experiments: LabExperiment[]
  selectedId: string | null
  setup: LabSetup
  error: string | null
  busy: boolean
  load(): Promise<void>
  /** Merges a live event: finished runs arrive once with their samples, then without */
  apply(e: LabExperiment): void
  select(id: string): void
  change(patch: Partial<LabSetup>): void
  start(): Promise<void>
  stop(): Promise<void>
  hold(leaveGib: number): Promise<void>
  release(): Promise<void>
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))

function merge(old: LabExperiment | undefined, next: LabExperiment): LabExperiment {
  if (!old) return next
  return { ...next, runs: next.runs.map((r, i) => (r.samples.length === 0 && old.runs[i]?.samples.length ? { ...r, samples: old.runs[i].samples } : r)) }
}

export const useLab = create<LabStore>((set, get) => ({
  state: null,
  experiments: [],
  selectedId: null,
  setup: { target: '', loader: 'builtin', matrix: ['cold', 'warm', 'staged'], repeat: 1, tokens: 16, leaveGib: null, limitBy: 'cgroup' },
  error: null,
  busy: false,
  async load() {
    try {
      const state = await hearth().labStatus()
      set((s) => ({
        state,
        experiments: state.experiments.map((e) => merge(s.experiments.find((x) => x.id === e.id), e)),
        selectedId: s.selectedId ?? state.experiments[0]?.id ?? null,
        setup: s.setup.target ? s.setup : { ...s.setup, tokens: state.settings.tokens },
      }))
    } catch (err) {
      set({ error: message(err) })
    }
  },
  apply(e) {
    set((s) => {
      const i = s.experiments.findIndex((x) => x.id === e.id)
      const experiments = i < 0 ? [e, ...s.experiments] : s.experiments.map((x, j) => (j === i ? merge(x, e) : x))
      return { experiments, selectedId: i < 0 ? e.id : s.selectedId }
    })
    if (e.status !== 'running') void get().load() // pressure, residency of the memory picture
  },
  select: (id) => set({ selectedId: id }),
  change: (patch) => set((s) => ({ setup: { ...s.setup, ...patch } })),
  async start() {
    const { setup } = get()
    set({ busy: true, error: null })
    try {
      const e = await hearth().labRun({
        target: setup.target,
        loader: setup.loader,
        matrix: setup.matrix,
        repeat: setup.repeat,
        tokens: setup.tokens,
        ...(setup.leaveGib !== null ? { leaveBytes: Math.round(setup.leaveGib * 2 ** 30), limitBy: setup.limitBy } : {}),
      })
      get().apply(e)
      set({ selectedId: e.id })
    } catch (err) {
      set({ error: message(err) })
    } finally {
      set({ busy: false })
    }
  },
  async stop() {
    const id = get().experiments.find((e) => e.status === 'running')?.id
    if (id) await hearth().labCancel({ id }).catch((err: unknown) => set({ error: message(err) }))
  },
  async hold(leaveGib) {
    set({ busy: true, error: null })
    try {
      const memory = await hearth().labPressure({ leaveBytes: Math.round(leaveGib * 2 ** 30) })
      set((s) => ({ state: s.state && { ...s.state, memory } }))
    } catch (err) {
      set({ error: message(err) })
    } finally {
      set({ busy: false })
    }
  },
  async release() {
    try {
      const memory = await hearth().labPressureRelease()
      set((s) => ({ state: s.state && { ...s.state, memory } }))
    } catch (err) {
      set({ error: message(err) })
    }
  },
}))

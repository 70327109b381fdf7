// Recordings the UI knows: this session's (from the backend, with live status through the
// 'recordings' topic) and files the user imported. Replays and comparisons pick from here.
import { create } from 'zustand'
import type { Recording, RecordingStatus } from '../../../../shared/api'
import { parseRecording } from '../../../../shared/tensors/recording-file'
import { hearth, onReconnect } from '../../hearth'

export interface RecordingEntry {
  /** The backend's id, or "file:NAME#n" for an imported file */
  key: string
  label: string
  status?: RecordingStatus
  /** Loaded data (imported files have it from the start) */
  data?: Recording
  imported?: boolean
}

interface RecordingsStore {
  byKey: Record<string, RecordingEntry>
  /** Newest first */
  order: string[]
  error: string | null
  apply(s: RecordingStatus): void
  setAll(list: RecordingStatus[]): void
  importText(name: string, text: string): string
  setData(key: string, data: Recording): void
  setError(e: string | null): void
}

const labelOf = (s: RecordingStatus) => `${s.name} · ${new Date(s.startedAtMs).toLocaleTimeString()}${s.pid ? ` · pid ${s.pid}` : ''}`
let imports = 0

export const useRecordings = create<RecordingsStore>((set, get) => ({
  byKey: {},
  order: [],
  error: null,
  apply: (s) =>
    set((st) => {
      const prev = st.byKey[s.id]
      // A recording that just ended has data the loaded copy lacks: drop it so it is fetched again.
      const data = prev?.data && prev.status?.state === 'recording' && s.state !== 'recording' ? undefined : prev?.data
      const entry: RecordingEntry = { key: s.id, label: labelOf(s), status: s, ...(data ? { data } : {}) }
      return { byKey: { ...st.byKey, [s.id]: entry }, order: st.order.includes(s.id) ? st.order : [s.id, ...st.order] }
    }),
  setAll: (list) => {
    for (const s of [...list].reverse()) get().apply(s)
  },
  importText: (name, text) => {
    const data = parseRecording(text, name)
    const key = `file:${name}#${++imports}`
    const label = `${name} (file) · ${data.header.name}`
    set((st) => ({ byKey: { ...st.byKey, [key]: { key, label, data, imported: true } }, order: [key, ...st.order] }))
    return key
  },
  setData: (key, data) => set((st) => (st.byKey[key] ? { byKey: { ...st.byKey, [key]: { ...st.byKey[key], data } } } : st)),
  setError: (error) => set({ error }),
}))

let started = false
/** Subscribes once to the backend's recordings (idempotent; views call it on mount). */
export function startRecordingsSync(): void {
  if (started) return
  started = true
  const api = hearth()
  api.subscribe('recordings', (s) => useRecordings.getState().apply(s))
  const fetchAll = () =>
    api.recordings().then(
      (l) => useRecordings.getState().setAll(l),
      (e: unknown) => useRecordings.getState().setError(e instanceof Error ? e.message : String(e)),
    )
  void fetchAll()
  onReconnect(() => void fetchAll())
}

/** The recording's data, fetched from the backend when not loaded yet (or still growing). */
export async function loadRecording(key: string): Promise<Recording> {
  const e = useRecordings.getState().byKey[key]
  if (!e) throw new Error(`no recording ${key}`)
  if (e.data && e.status?.state !== 'recording') return e.data
  if (e.imported && e.data) return e.data
  const data = await hearth().recording({ id: key })
  useRecordings.getState().setData(key, data)
  return data
}

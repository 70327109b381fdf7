import { create } from 'zustand'

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'no-token'

interface ConnectionStore {
  state: ConnectionState
  transport: 'ipc' | 'websocket' | null
  /** When the next reconnect attempt starts */
  retryAtMs: number | null
  set(p: Partial<Omit<ConnectionStore, 'set'>>): void
}

export const useConnection = create<ConnectionStore>((set) => ({
  state: 'connecting',
  transport: null,
  retryAtMs: null,
  set: (p) => set(p),
}))

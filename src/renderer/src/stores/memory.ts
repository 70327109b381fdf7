import { create } from 'zustand'
import type { MemorySample } from '../../../shared/api'

/** One hour at 1 Hz, as the backend keeps. */
const maxSamples = 3600

interface MemoryStore {
  samples: MemorySample[]
  latest: MemorySample | null
  /** Merges history and live samples by time, so a refetch after a reconnect does not duplicate. */
  add(samples: MemorySample[]): void
}

export const useMemory = create<MemoryStore>((set) => ({
  samples: [],
  latest: null,
  add: (incoming) =>
    set((s) => {
      const lastAt = s.latest?.atMs ?? -Infinity
      const fresh = incoming.filter((x) => x.atMs > lastAt)
      if (fresh.length === 0) {
        // History fetched after live samples arrived: put older ones in front.
        const firstAt = s.samples[0]?.atMs ?? Infinity
        const older = incoming.filter((x) => x.atMs < firstAt)
        if (older.length === 0) return s
        return { samples: [...older, ...s.samples].slice(-maxSamples) }
      }
      const samples = s.samples.concat(fresh).slice(-maxSamples)
      return { samples, latest: samples[samples.length - 1] }
    }),
}))

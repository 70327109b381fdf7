// Read bandwidth per storage device, as Hearth measured it: finished warm jobs (their bytes over
// their time, cross-checked against the disk's own /proc/diskstats counters) and the 2-second read
// test. Kept in settings (deviceBandwidth), a few recent samples per device; the estimate is their
// median, so one disturbed measurement does not swing every load-time estimate.
import type { BandwidthSample } from '../../../shared/api'
import type { SettingsStore } from '../../settings'

export const samplesKept = 5
/** Warms shorter than this say more about latency than bandwidth */
export const minSampleBytes = 32 << 20

export function median(values: number[]): number | null {
  if (values.length === 0) return null
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export function createBandwidthStore(settings: SettingsStore) {
  const all = (): Record<string, BandwidthSample[]> => settings.get().deviceBandwidth ?? {}
  return {
    samples: (key: string): BandwidthSample[] => [...(all()[key] ?? [])],
    /** Median of the recent samples (null before any) */
    estimate: (key: string): number | null => median((all()[key] ?? []).map((s) => s.bytesPerSec)),
    async record(key: string, sample: BandwidthSample): Promise<void> {
      if (!(sample.bytesPerSec > 0) || !Number.isFinite(sample.bytesPerSec)) return
      const list = [...(all()[key] ?? []), sample].slice(-samplesKept)
      await settings.update({ deviceBandwidth: { ...all(), [key]: list } })
    },
  }
}

export type BandwidthStore = ReturnType<typeof createBandwidthStore>

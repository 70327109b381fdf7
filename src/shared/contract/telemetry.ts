import { z } from 'zod'
import { query } from './define'

export interface DiskRate {
  /** Block device name as in /proc/diskstats (sda, nvme0n1 …) */
  name: string
  readBytesPerSec: number
  writeBytesPerSec: number
}

/** One 1 Hz reading of /proc/meminfo, /proc/vmstat, /proc/pressure/memory and /proc/diskstats. */
export interface MemorySample {
  atMs: number
  memTotalBytes: number
  memAvailableBytes: number
  memFreeBytes: number
  cachedBytes: number
  buffersBytes: number
  /** tmpfs and shared memory */
  shmemBytes: number
  mlockedBytes: number
  unevictableBytes: number
  dirtyBytes: number
  activeFileBytes: number
  inactiveFileBytes: number
  anonBytes: number
  swapTotalBytes: number
  swapFreeBytes: number
  /** Rates over the last interval; 0 on the first sample */
  majorFaultsPerSec: number
  pageInBytesPerSec: number
  refaultsPerSec: number
  /** /proc/pressure/memory avg10, percent; null where PSI is off */
  psiSomeAvg10: number | null
  psiFullAvg10: number | null
  disks: DiskRate[]
}

export const telemetryMethods = {
  memoryNow: query<MemorySample>()(z.object({}).strict().optional()),
  /** The backend keeps one hour at 1 Hz, so a window opened later shows the past. */
  memoryHistory: query<MemorySample[]>()(
    z.object({ sinceMs: z.number().nonnegative().optional() }).strict().optional(),
  ),
}

export interface TelemetryTopics {
  memory: MemorySample
}

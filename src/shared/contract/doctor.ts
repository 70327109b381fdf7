// The Doctor: evidence-backed checks of why a model does not stay hot, load-time estimates per
// model, and the network-share (FS-Cache) picture.
import { z } from 'zod'
import { command, noInput, query } from './define'
import type { Job } from './jobs'

/** ok: nothing to do; info: worth knowing; warn: costs load time; fail: keeps a model from staying hot. */
export type FindingStatus = 'ok' | 'warn' | 'fail' | 'info'

/** One fact behind a finding, with the number it rests on and where it was read. */
export interface Evidence {
  label: string
  /** As people read it ("7.1 GiB", "02140000 (O_DIRECT)", "unknown") */
  value: string
  /** The number behind the value, in `unit` */
  amount?: number
  unit?: 'bytes' | 'bytes/s' | 'seconds' | 'percent' | 'count'
  /** The file or command it came from (/proc/1234/fdinfo/5, systemctl show …) */
  source?: string
  /** Set when the value could not be read, with the reason */
  unknown?: string
}

/** What Hearth itself can do about a finding (the renderer maps each to a contract call). */
export type DoctorAction =
  | { kind: 'stage'; targets: string[] }
  | { kind: 'warm'; targets: string[] }
  | { kind: 'inotify'; persist: boolean }
  | { kind: 'readTest'; device: string }

export interface FixStep {
  label: string
  /** A shell command to copy; run as shown */
  command: string
}

export interface Fix {
  /** What the fix does, for people ("Stage in the RAM disk") */
  label: string
  /** Present when Hearth can apply it (a button in the app) */
  action?: DoctorAction
  /** The same fix as a command (for actions: the `hearth` command that does it) */
  command?: string
  /** Several commands in order (a guide), each copyable */
  steps?: FixStep[]
}

export interface Finding {
  /** Stable across runs for the same subject (check:subject), so "new since last run" means something */
  id: string
  /** The check that produced it (processes, cgroups, pressure, inotify, limits, storage, shares, …) */
  check: string
  status: FindingStatus
  title: string
  evidence: Evidence[]
  /** Why it matters, in seconds of load time where that can be said */
  why: string
  fix?: Fix
  /** The models it is about; absent for machine-wide findings */
  modelIds?: string[]
  /** Set when the check could not read what it needs: the reason (never a crash) */
  unknown?: string
}

export interface DoctorReport {
  atMs: number
  /** How long the run took */
  ms: number
  /** Set when the run was narrowed to one model */
  modelId?: string
  findings: Finding[]
  /** warn/fail findings absent (or better) in the previous run: what a notification should say */
  newSinceLastRun: Finding[]
}

export type StorageKind = 'disk' | 'network' | 'fuse' | 'ram' | 'other'

export interface BandwidthSample {
  bytesPerSec: number
  bytes: number
  atMs: number
  /** warm: a finished warm job; read-test: the 2-second test; diskstats: the disk's counters during a warm */
  source: 'warm' | 'read-test' | 'diskstats'
}

/** Where model files live, and how fast that place was measured to read. */
export interface StorageDevice {
  /** "disk:sda", "mount:nfs4:nas:/export", "ram:tmpfs" … (stable across remounts) */
  key: string
  /** For people: "sda (Samsung SSD 870)", "nas:/export (nfs4)" */
  name: string
  kind: StorageKind
  fstype: string
  mountPoint: string
  /** true for spinning disks; null when not a block device or unknown */
  rotational: boolean | null
  /** dm/md/partition chain down to the disk(s): ["dm-0", "md0", "sda", "sdb"] */
  chain: string[]
  /** Median of the recent samples; null before any measurement */
  bytesPerSec: number | null
  samples: BandwidthSample[]
}

export interface ModelFileDevice {
  path: string
  bytes: number
  /** StorageDevice.key; null when the file could not be looked at */
  device: string | null
}

export interface LoadTimes {
  devices: StorageDevice[]
  models: { modelId: string; files: ModelFileDevice[] }[]
}

export interface HitRateSample {
  atMs: number
  /** Reads served from the local cache in the interval */
  hits: number
  /** Reads that went to the server */
  misses: number
  /** hits / (hits + misses); null when there were no reads */
  hitRate: number | null
}

export interface ShareMount {
  mountPoint: string
  source: string
  fstype: string
  /** `fsc` is in the mount options */
  fsc: boolean
  options: string
  modelIds: string[]
  /** Readers of this share's models that use O_DIRECT (they bypass FS-Cache) */
  directReaders: { pid: number; command: string }[]
}

export interface ShareStatus {
  mounts: ShareMount[]
  cachefilesd: { installed: boolean; running: boolean; path: string | null }
  /** From /proc/fs/fscache/caches; null when the kernel has no FS-Cache */
  caches: { name: string; state: string; active: boolean }[] | null
  conf: { dir: string; brun: number; bcull: number; bstop: number; file: string } | null
  /** Free space of the cache directory, percent; null when unknown */
  cacheFreePercent: number | null
  hitRate: HitRateSample[]
  /** Why parts are unknown */
  notes: string[]
}

const modelArg = z.string().min(1, 'model must not be empty').max(512, 'model is longer than 512 characters')

export const doctorMethods = {
  /** Runs every check (narrowed to one model's findings plus the machine-wide ones when model is given). */
  doctor: query<DoctorReport>()(z.object({ model: modelArg.optional() }).strict().optional()),
  /** The last report without running the checks again (null before the first run). */
  doctorLast: query<DoctorReport | null>()(noInput),
  /** Devices, their measured bandwidth, and where each model's files live. */
  loadTimes: query<LoadTimes>()(noInput),
  /** A short (about 2 s) read of an uncached range of a model file on the device; never writes (a job). */
  readTest: command<Job>()(z.object({ device: z.string().min(1).max(1024) }).strict()),
  shareStatus: query<ShareStatus>()(noInput),
}

export interface DoctorTopics {
  /** After every run (periodic while the app or `hearth serve` runs, and on demand) */
  doctor: DoctorReport
}

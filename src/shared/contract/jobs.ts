import { z } from 'zod'
import { command, query, targetList } from './define'

export type JobKind = 'warm' | 'evict' | 'lock' | 'stage' | 'unstage' | 'rewarm' | 'readtest' | 'lab'
export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled'

/** A long operation: cancellable, with done/total bytes and a rate. */
export interface Job {
  id: string
  kind: JobKind
  /** What it works on, as shown to people ("Qwen2.5-7B-Instruct Q4_K_M") */
  label: string
  modelId?: string
  paths: string[]
  status: JobStatus
  doneBytes: number
  totalBytes: number
  bytesPerSec: number
  /** null until a rate is known */
  etaMs: number | null
  startedAtMs: number | null
  endedAtMs: number | null
  error?: { code: string; message: string }
  /** A line for people: what happened ("read 3.1 GiB, 2 files already resident") */
  note?: string
}

/** What a warm would do, before it does it. */
export interface WarmPlanFile {
  path: string
  modelId?: string
  bytes: number
  /** null when the kernel will not say (not the owner): then all of it counts as to read */
  residentBytes: number | null
  toReadBytes: number
}
export interface WarmPlanTarget {
  label: string
  modelId?: string
  bytes: number
  toReadBytes: number
  files: WarmPlanFile[]
}
export interface WarmPlanVictim {
  modelId: string
  name: string
  residentBytes: number
}
export interface WarmPlan {
  targets: WarmPlanTarget[]
  bytes: number
  toReadBytes: number
  memTotalBytes: number
  memFreeBytes: number
  memAvailableBytes: number
  /** false when the targets alone are larger than RAM: a warm refuses */
  fitsInRam: boolean
  /** Bytes that must come out of other models' cached pages */
  evictBytes: number
  /** Warm models whose pages the warm would push out, most resident first */
  wouldEvict: WarmPlanVictim[]
  /** One line for people */
  summary: string
}

/** A process whose mapping keeps a file's pages resident through an evict. */
export interface EvictHolder {
  pid: number
  command: string
  /**
   * Set when the holder is a Hearth lock: 'this' — this Hearth holds it locked in its own memory,
   * 'helper' — this Hearth's privileged helper holds it locked (both undone by unlock), 'other' —
   * another Hearth process (a `hearth lock` in a terminal, another window).
   */
  hearthLock?: 'this' | 'helper' | 'other'
}
export interface EvictFileReport {
  path: string
  bytes: number
  /** Still resident after DONTNEED (mapped or locked pages stay); null when unknown */
  residentBytes: number | null
  holders: EvictHolder[]
}
export interface EvictReport {
  job: Job
  files: EvictFileReport[]
  /** Pages stayed because this Hearth holds the model locked: unlock it, then evict again */
  lockedByThisHearth?: boolean
}

export interface LockInfo {
  label: string
  modelId?: string
  paths: string[]
  lockedBytes: number
  /** Each locked file (the same as paths) with the bytes locked of it; they add up to lockedBytes */
  files: { path: string; bytes: number }[]
  sinceMs: number
  /** Who holds the lock: this Hearth process (within RLIMIT_MEMLOCK), or the privileged helper (beyond it) */
  holder: 'hearth' | 'helper'
  /** The process whose memory holds the locked pages (its VmLck in /proc/PID/status), when known */
  pid?: number
}

export interface PinInfo {
  modelId: string
  /** Residency at the last check, 0..1; null before the first check or when unknown */
  residentFraction: number | null
  lastCheckMs: number | null
  lastRewarmMs: number | null
  lastRewarmBytes: number
  rewarms: number
}

const warmOptions = {
  /** Warm even when other warm models would be pushed out */
  force: z.boolean().optional(),
  /** Idle I/O priority (background) */
  idle: z.boolean().optional(),
  /** MADV_POPULATE_READ: least CPU, for warming beside a running inference */
  lowCpu: z.boolean().optional(),
}
const targets = z.object({ targets: targetList.min(1, 'name at least one model or file') }).strict()
const modelArg = z.object({ model: z.string().min(1).max(512) }).strict()

export const jobsMethods = {
  jobs: query<Job[]>()(z.object({}).strict().optional()),
  cancelJob: command<Job>()(z.object({ id: z.string().min(1).max(64) }).strict()),
  warmPlan: query<WarmPlan>()(targets),
  /** Starts one warm job per model (or per file not in the catalog); WOULD_EVICT / TOO_LARGE before starting */
  warm: command<Job[]>()(z.object({ targets: targets.shape.targets, ...warmOptions }).strict()),
  evict: command<EvictReport[]>()(targets),
  /** Locks in the backend process; the jobs end when locked, the locks stay until unlock */
  lock: command<Job[]>()(targets),
  unlock: command<LockInfo[]>()(targets),
  locks: query<LockInfo[]>()(z.object({}).strict().optional()),
  pin: command<PinInfo[]>()(modelArg),
  unpin: command<PinInfo[]>()(modelArg),
  pins: query<PinInfo[]>()(z.object({}).strict().optional()),
}

export interface JobsTopics {
  /** Every state change and progress tick of a job (at most a few per second per job) */
  jobs: Job
}

export { targetList }

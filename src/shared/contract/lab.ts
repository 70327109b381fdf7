// The load lab: real model loads (cold, warm, staged, locked) by a real loader in a child process,
// measured end to end, optionally under controlled memory (a memory-limited cgroup of the loader's
// own, or dummy memory locked system-wide through the helper).
import { z } from 'zod'
import { command, noInput, pathString, query } from './define'

import { labLimitMethods, labLoaderKinds, labModes, type LabLimitMethod, type LabLoaderKind, type LabMode } from '../lab/kinds'

export { labLimitMethods, labLoaderKinds, labModes, type LabLimitMethod, type LabLoaderKind, type LabMode }

export interface LabLoaderInfo {
  kind: LabLoaderKind
  available: boolean
  /** What runs: "node-llama-cpp 3.21.1 (llama.cpp b6000, CPU)", "/usr/bin/llama-server", "Ollama 0.6.2 at http://127.0.0.1:11434" */
  detail: string
  /** Why it cannot run here, and the fix */
  reason?: string
}

/** One reading during a run; counters are the loader process's own since it started loading. */
export interface LabSample {
  /** ms since the load started */
  tMs: number
  /** Resident bytes of the model's files (page cache or RAM disk) */
  residentBytes: number | null
  /** Bytes the loader made the kernel fetch from storage (/proc/PID/io read_bytes) */
  readBytes: number | null
  /** /proc/PID/stat majflt */
  majorFaults: number | null
  rssAnonBytes: number | null
  rssFileBytes: number | null
}

export type LabRunStatus = 'pending' | 'preparing' | 'running' | 'done' | 'failed' | 'cancelled' | 'skipped'

export interface LabRun {
  /** 0-based position in the experiment */
  index: number
  mode: LabMode
  /** 1..repeat */
  repeat: number
  status: LabRunStatus
  loader: LabLoaderKind
  /** The loader's process (what a recorder follows); null before it starts or for Ollama's runner when not found */
  pid: number | null
  /** Wall clock (epoch ms) when the loader process started and ended */
  startedAtMs: number | null
  endedAtMs: number | null
  /** Wall clock (epoch ms) when the load itself started (the built-in loader imports its runtime first) */
  loadStartedAtMs: number | null
  /** Load start → model loaded */
  loadMs: number | null
  /** Load start → first generated token */
  firstTokenMs: number | null
  /** Over the short generation, first token excluded */
  tokensPerSec: number | null
  tokens: number
  majorFaults: number | null
  minorFaults: number | null
  /** Bytes the loader itself made the kernel read from storage (page-cache misses it caused) */
  readBytes: number | null
  residentBeforeBytes: number | null
  residentAfterBytes: number | null
  /** Peaks over the run */
  rssAnonBytes: number | null
  rssFileBytes: number | null
  rssShmemBytes: number | null
  /** Pages of file read back after being evicted, in the loader's memory cgroup (workingset_refault_file) */
  refaults: number | null
  /** The cgroup's memory limit at the end of the run, when limited that way */
  memoryLimitBytes: number | null
  /** Where the loader's mapping of the model lives ("tmpfs" when staged, else the disk's filesystem) */
  readFrom: { path: string; fsType: string } | null
  /** Why a value is null where one would be expected (e.g. another user's process) */
  unknownReason?: string
  samples: LabSample[]
  error?: { code: string; message: string }
  /** The tail of the loader's stdout and stderr (always kept for a failed run) */
  output?: string
  /** A line for people: what the preparation did ("evicted 1.2 GiB", "12 MiB stayed resident: mapped by …") */
  note?: string
}

export interface LabSwapState {
  totalBytes: number
  freeBytes: number
  /** /proc/sys/vm/swappiness; null when unreadable */
  swappiness: number | null
  /** zswap enabled; null when unknown */
  zswap: boolean | null
  /** What it means for the experiment, for people */
  explanation: string
}

export interface LabMemorySetup {
  method: LabLimitMethod
  /** What the model may keep in RAM: the cgroup limit over the loader's own anonymous memory, or MemAvailable left by the pressure */
  leaveBytes: number
  /** How: "cgroup v1 through the helper", "systemd-run --user scope (cgroup v2)", "dummy memory locked by the helper" */
  how: string
}

export type LabExperimentStatus = 'running' | 'done' | 'failed' | 'cancelled'

export interface LabExperiment {
  id: string
  /** The job that runs it (progress and cancel like every long operation) */
  jobId: string
  /** As asked (model id, name fragment or path) */
  target: string
  /** The model's name, as `hearth models` shows it */
  model: string
  modelId?: string
  files: { path: string; bytes: number }[]
  bytes: number
  loader: LabLoaderKind
  loaderDetail: string
  matrix: LabMode[]
  repeat: number
  tokens: number
  memory: LabMemorySetup | null
  status: LabExperimentStatus
  runs: LabRun[]
  startedAtMs: number
  endedAtMs: number | null
  swap: LabSwapState
  error?: { code: string; message: string }
}

export interface LabCgroupSupport {
  available: boolean
  /** "cgroup v1 through the helper", "cgroup v2 through systemd-run --user", "cgroup v2 (root)" */
  how: string
  reason?: string
}

export interface LabPressureState {
  available: boolean
  reason?: string
  heldBytes: number
  /** MemAvailable the hold aims to leave */
  leaveBytes: number
  /** Never taken: the helper's floor (2 GiB, at least 5% of RAM) or more */
  reserveBytes: number
  floorBytes: number
  /** Given back since the hold began because something else needed the memory */
  shedBytes: number
}

export interface LabMemoryState {
  memTotalBytes: number
  memAvailableBytes: number
  swap: LabSwapState
  cgroup: LabCgroupSupport
  pressure: LabPressureState
}

export interface LabSettings {
  /** llama-server or llama-cli to run; null: the first found on PATH */
  llamaBinary: string | null
  /** The command line with {bin} {model} {port} {prompt} {tokens} {ctx}; null: the default for the binary */
  llamaTemplate: string | null
  /** null: $OLLAMA_HOST or http://127.0.0.1:11434 */
  ollamaUrl: string | null
  /** A run that takes longer is killed and reported with its output */
  timeoutMs: number
  /** Tokens generated per run */
  tokens: number
  contextSize: number
}

export interface LabState {
  loaders: LabLoaderInfo[]
  memory: LabMemoryState
  settings: LabSettings
  /** The default command line of each llama.cpp binary, with its placeholders */
  llamaTemplates: { server: string; cli: string }
  /** Most recent first */
  experiments: LabExperiment[]
}

/** The one line `hearth run --json` ends with. */
export interface LabResultLine {
  model: string
  loader: LabLoaderKind
  runs: Array<
    Pick<LabRun, 'mode' | 'loadMs' | 'firstTokenMs' | 'tokensPerSec' | 'majorFaults' | 'readBytes' | 'residentBeforeBytes' | 'residentAfterBytes'> &
      Partial<Omit<LabRun, 'samples'>>
  >
}

const gib = 2 ** 30
export const labRunInput = z
  .object({
    target: pathString('model'),
    loader: z.enum(labLoaderKinds, { error: `loader must be one of ${labLoaderKinds.join(', ')}` }).optional(),
    matrix: z
      .array(z.enum(labModes, { error: `each mode must be one of ${labModes.join(', ')}` }))
      .min(1, 'name at least one mode (cold, warm, staged, locked)')
      .max(labModes.length)
      .refine((m) => new Set(m).size === m.length, 'a mode is named twice in the matrix')
      .optional(),
    repeat: z.number().int().min(1, 'repeat at least once').max(50, 'repeat at most 50 times').optional(),
    tokens: z.number().int().min(1).max(1024).optional(),
    /** Bytes the model may keep in RAM; absent: no limit */
    leaveBytes: z.number().int().min(0).max(1024 * 1024 * gib).optional(),
    limitBy: z.enum(labLimitMethods).optional(),
    timeoutMs: z.number().int().min(1000).max(6 * 3600_000).optional(),
  })
  .strict()

export const labSettingsInput = z
  .object({
    llamaBinary: pathString('llama.cpp binary').nullable().optional(),
    llamaTemplate: z.string().min(1).max(4096).nullable().optional(),
    ollamaUrl: z.url({ error: 'ollamaUrl must be a URL such as http://127.0.0.1:11434' }).max(512).nullable().optional(),
    timeoutMs: z.number().int().min(1000).max(6 * 3600_000).optional(),
    tokens: z.number().int().min(1).max(1024).optional(),
    contextSize: z.number().int().min(64).max(1 << 20).optional(),
  })
  .strict()

export const labMethods = {
  labStatus: query<LabState>()(noInput),
  /** Starts an experiment (a job): the matrix × repeat runs, one after another */
  labRun: command<LabExperiment>()(labRunInput),
  labCancel: command<LabExperiment>()(z.object({ id: z.string().min(1).max(64) }).strict()),
  /** Locks dummy memory through the helper until MemAvailable is about leaveBytes (never under the reserve) */
  labPressure: command<LabMemoryState>()(z.object({ leaveBytes: z.number().int().min(0).max(1024 * 1024 * gib) }).strict()),
  labPressureRelease: command<LabMemoryState>()(noInput),
  labSettings: command<LabSettings>()(labSettingsInput),
}

export interface LabTopics {
  /** Every change of an experiment, live samples included (a few per second) */
  lab: LabExperiment
}

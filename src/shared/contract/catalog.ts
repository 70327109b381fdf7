import { z } from 'zod'
import type { LabSettings } from './lab'
import { command, pathString, query, noInput } from './define'
import type { BandwidthSample } from './doctor'
import type { DesktopSettings } from './daemon'

export const modelSources = [
  'lmstudio',
  'ollama',
  'huggingface',
  'llamacpp',
  'gpt4all',
  'jan',
  'textgen',
  'folder',
] as const
export type ModelSource = (typeof modelSources)[number]
export type ModelFormat = 'gguf' | 'safetensors' | 'other'
export type FileRole = 'weights' | 'projector' | 'adapter' | 'other'

export interface ModelFile {
  path: string
  bytes: number
  role: FileRole
}

/** Facts from a GGUF header (the header only; the weights are never read to get them). */
export interface GgufFacts {
  architecture: string
  parameters: number
  /** Quantisation as people name it: "Q4_K_M", "F16" … */
  fileType: string
  blockCount: number
  contextLength: number
  embeddingLength: number
  headCount: number
  headCountKv: number
  /** general.name, when present */
  name?: string
  /** n_vocab, from the tokenizer or the token embedding's shape */
  vocabSize?: number
  expertCount?: number
  expertUsedCount?: number
  slidingWindow?: number
}

export interface SafetensorsFacts {
  /** The dtype holding most parameters ("BF16", "F16", "F8_E4M3" …) */
  dtype: string
  parameters: number
}

export interface Model {
  /** Stable across scans and restarts: derived from source and the model's own location. */
  id: string
  name: string
  source: ModelSource
  format: ModelFormat
  /** The folder (root) it was found under */
  root: string
  bytes: number
  files: ModelFile[]
  gguf?: GgufFacts
  safetensors?: SafetensorsFacts
  /** Ollama tags (name:tag) that resolve to these same files */
  tags?: string[]
}

export interface SkippedEntry {
  path: string
  reason: string
}

export interface CatalogRoot {
  source: ModelSource
  path: string
  exists: boolean
  /** Why it was looked at: "default", "$OLLAMA_MODELS", "added by you" … */
  origin: string
  models: number
}

export interface Catalog {
  models: Model[]
  skipped: SkippedEntry[]
  roots: CatalogRoot[]
  scannedAtMs: number
  scanMs: number
}

export interface Settings {
  /** Folders the user added */
  folders: string[]
  /** Model ids pinned to stay warm */
  pins: string[]
  /** Keep-warm threshold, fraction 0..1 */
  keepWarmThreshold: number
  /** Most RAM that may be locked, fraction of MemTotal */
  lockMaxFraction: number
  /** RAM kept free when staging, bytes */
  stagingReserveBytes: number
  /** The planner's host memory bandwidth, measured once (GB/s) */
  hostBandwidth?: { gbps: number; atMs: number; method: string }
  /** Running servers checked against their plans, per "architecture|card": the last checks (used − planned) */
  planChecks?: Record<string, Array<{ atMs: number; diffMiB: number; process: string }>>
  /** Measured read bandwidth per storage device (StorageDevice.key), newest last (the Doctor keeps it) */
  deviceBandwidth?: Record<string, BandwidthSample[]>
  /** Tray, autostart and notifications (contract/daemon.ts); absent means the defaults */
  desktop?: DesktopSettings
  /** The load lab's loader settings (absent: defaults) */
  lab?: Partial<LabSettings>
}

export const catalogMethods = {
  catalog: query<Catalog>()(noInput),
  rescan: command<Catalog>()(noInput),
  settings: query<Settings>()(noInput),
  addFolder: command<Settings>()(z.object({ path: pathString('folder') }).strict()),
  removeFolder: command<Settings>()(z.object({ path: pathString('folder') }).strict()),
}

export interface CatalogTopics {
  /** The whole catalog, after every scan */
  catalog: Catalog
}

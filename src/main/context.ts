// The seams between the services and the backend. Each service folder implements one of these;
// src/main/api/*.ts turn them into the contract's methods.
import type {
  Catalog,
  FileResidency,
  HeatStrip,
  MemorySample,
  ModelResidency,
} from '../shared/api'
import type { Hub } from './hub'
import type { GpuService } from './services/gpu'
import type { SettingsStore } from './settings'
import type { Env } from './paths'
import type { JobRunner } from './services/jobs'
import type { WarmService } from './services/warm'
import type { StagingService } from './services/staging'
import type { TensorsService } from './services/tensors'
import type { DoctorService } from './services/doctor'
import type { NotifyService } from './services/notify'
import type { HostState } from './daemon/host-state'
import type { LabService } from './services/lab'

/** A MODEL|PATH argument resolved to files. */
export interface ResolvedFile {
  path: string
  bytes: number
  modelId?: string
}

export interface CatalogService {
  /** The last finished scan (scans at start; empty until then) */
  current(): Catalog
  /** Scans every root again; concurrent calls share one scan. Publishes 'catalog'. */
  scan(): Promise<Catalog>
  /**
   * Model ids, unique name fragments (case-insensitive) or file paths → files.
   * Throws HearthError NOT_FOUND / AMBIGUOUS naming the target and the fix.
   */
  resolve(targets: string[]): Promise<ResolvedFile[]>
  /** Starts watching roots for changes (bounded number of inotify watches). */
  start(): Promise<void>
  stop(): void
}

export interface ResidencyService {
  ofFile(path: string): Promise<FileResidency>
  ofFiles(files: ResolvedFile[]): Promise<FileResidency[]>
  heatStrip(path: string, buckets: number): Promise<HeatStrip>
  /** Residency of every model of the current catalog */
  ofModels(): Promise<ModelResidency[]>
  /** Starts the 1 Hz poll that publishes 'residency' (only what changed) while anyone listens. */
  start(): void
  stop(): void
}

export interface TelemetryService {
  now(): Promise<MemorySample>
  history(sinceMs?: number): MemorySample[]
  /** Starts the 1 Hz sampler that publishes 'memory' and fills the one-hour ring. */
  start(): void
  stop(): void
}

export interface Context {
  env: Env
  hub: Hub
  settings: SettingsStore
  catalog: CatalogService
  residency: ResidencyService
  telemetry: TelemetryService
  /** Every long action runs through this (warm, evict, lock, stage, unstage) */
  jobs: JobRunner
  warm: WarmService
  /** GPU memory per card and process (NVML, nvidia-smi, DRM); publishes 'gpu' while listened to */
  gpu: GpuService
  /** RAM-disk staging, off and inotify through the privileged helper */
  staging: StagingService
  /** Tensor maps of GGUF models and the load-order recorder */
  tensors: TensorsService
  /** Checks of why models do not stay hot, load-time estimates, FS-Cache; publishes 'doctor' */
  doctor: DoctorService
  /** Desktop notifications: notify(kind, title, body), per-kind settings, rate-limited */
  notify: NotifyService
  /** The process holding this backend (desktop app, daemon, serve, lone CLI) */
  host: HostState
  /** The load lab: real loads measured cold, warm, staged, locked, under controlled memory */
  lab: LabService
}

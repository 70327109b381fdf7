// What the warm service's verbs (warm, evict, lock, keep-warm) share: their dependencies and the
// one way to turn targets into per-model groups.
import type { ModelResidency } from '../../../shared/api'
import type { ResolvedFile } from '../../context'
import type { SettingsStore } from '../../settings'
import type { JobRunner } from '../jobs'
import type { LockHelper } from './lock-helper'
import { groupTargets, type TargetGroup } from './plan'
import type { WarmEngine } from './warm-file'

export interface WarmServiceDeps {
  jobs: JobRunner
  settings: SettingsStore
  resolve(targets: string[]): Promise<ResolvedFile[]>
  /** Residency of every catalog model (to say which warm models a warm would evict) */
  modelResidency(): Promise<ModelResidency[]>
  modelName(id: string): string | undefined
  engine?: WarmEngine
  /** Locks beyond RLIMIT_MEMLOCK when available (the session's one helper client) */
  helper?: LockHelper
  readers?: number
  stallMs?: number
  /** How often pins are checked */
  keepWarmCheckMs?: number
  /** Least time between two re-warms of one pin */
  keepWarmMinIntervalMs?: number
}

export interface WarmOptions {
  force?: boolean
  idle?: boolean
  lowCpu?: boolean
}

/** Targets (model ids, names, paths) → one group per model, or per file outside the catalog. */
export async function groupsOf(deps: WarmServiceDeps, targets: string[]): Promise<TargetGroup[]> {
  return groupTargets(await deps.resolve(targets), deps.modelName)
}


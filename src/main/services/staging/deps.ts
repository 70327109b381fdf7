// What the staging service is built from (shared by its parts: state, stage verbs, off).
import type { LockInfo } from '../../../shared/api'
import type { CatalogService } from '../../context'
import type { HelperClient } from '../../helper-client'
import type { Hub } from '../../hub'
import type { SettingsStore } from '../../settings'
import type { JobRunner } from '../jobs'

/** The warm service's public lock API: off releases the locks held in this process. */
export interface InProcessLocks {
  locks(): LockInfo[]
  unlock(targets: string[]): Promise<LockInfo[]>
}

export interface StagingDeps {
  hub: Hub
  settings: SettingsStore
  catalog: CatalogService
  jobs: JobRunner
  helper: HelperClient
  /** Locks in this process (the warm service); off and its preview include them */
  locks?: InProcessLocks
}

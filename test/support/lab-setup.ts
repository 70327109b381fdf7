// The load lab over real services (jobs, residency, warm, staging) on plain files, for tests and
// the bench: a catalog that knows only paths, settings in a scratch config dir, and the given
// helper client (a test build in a private mount namespace) or none.
import { closeSync, fsyncSync, openSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Catalog } from '../../src/shared/api'
import type { CatalogService } from '../../src/main/context'
import type { HelperClient } from '../../src/main/helper-client'
import { createHub } from '../../src/main/hub'
import { openSettings } from '../../src/main/settings'
import { createJobRunner } from '../../src/main/services/jobs'
import { createLabService, type LabDeps } from '../../src/main/services/lab'
import { createResidencyService } from '../../src/main/services/pagecache'
import { createStagingService } from '../../src/main/services/staging'
import { createWarmService } from '../../src/main/services/warm'
import { writeGguf } from '../helpers/gguf-writer'
import { loadableLlamaShape } from '../helpers/model-shapes'

export function pathCatalog(): CatalogService {
  const empty: Catalog = { models: [], skipped: [], roots: [], scannedAtMs: 1, scanMs: 0 }
  return {
    current: () => empty,
    scan: async () => empty,
    resolve: async (targets) => targets.map((path) => ({ path, bytes: statSync(path).size })),
    start: async () => {},
    stop: () => {},
  }
}

/** A helper client that is never available (runs without privilege). */
export const noHelper = {
  status: () => ({ available: false, mode: 'none' as const, helperPath: null, reason: 'no helper in this test' }),
  request: async () => {
    throw new Error('no helper in this test')
  },
  running: false,
  onReset: () => () => {},
} as unknown as HelperClient

export async function labServices(dir: string, helper: HelperClient = noHelper, extra: Partial<LabDeps> = {}) {
  const hub = createHub()
  const jobs = createJobRunner({ hub, publishIntervalMs: 50 })
  const settings = await openSettings({ XDG_CONFIG_HOME: join(dir, `cfg-${Math.random().toString(36).slice(2)}`) })
  const catalog = pathCatalog()
  const residency = createResidencyService({ hub, catalog })
  const warm = createWarmService({
    jobs,
    settings,
    helper,
    resolve: (t) => catalog.resolve(t),
    modelResidency: async () => [],
    modelName: () => undefined,
  })
  const staging = createStagingService({ hub, settings, catalog, jobs, helper, locks: warm })
  const lab = createLabService({ hub, env: process.env, settings, catalog, residency, jobs, warm, staging, helper, sampleMs: 50, ...extra })
  return { hub, jobs, settings, residency, warm, staging, lab }
}

/**
 * A model llama.cpp really loads, written with real zero bytes (a hole would never be read from
 * disk), flushed so that it can be evicted. Q8_0 on 8 layers of 1024: about 137 MiB.
 */
export async function writeLoadableModel(path: string, size: 'small' | 'medium' = 'medium') {
  const shape = size === 'small' ? { layers: 2, embd: 256, ff: 512 } : { layers: 8, embd: 1024, ff: 4096 }
  const w = await writeGguf(path, loadableLlamaShape({ ...shape, heads: 8, headsKv: 8, fileType: 'Q8_0', name: `lab test ${size}` }))
  const fd = openSync(path, 'r')
  fsyncSync(fd) // dirty pages survive an evict
  closeSync(fd)
  return w
}

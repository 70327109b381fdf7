// The model catalog: finds every model in the places apps keep them (no configuration), reads
// their headers' facts, and rescans when a root changes.
import { join } from 'node:path'
import type { Catalog } from '../../../shared/api'
import type { CatalogService, ResolvedFile } from '../../context'
import type { Hub } from '../../hub'
import { homeDir, type Env } from '../../paths'
import type { SettingsStore } from '../../settings'
import { HeaderCache } from './facts'
import { resolveTargets } from './resolve'
import { findRoots } from './roots'
import { scanRoots } from './scan'
import type { WalkHooks } from './walk'
import { RootWatcher } from './watch'

export interface CatalogOptions {
  /** Folders deeper than this below a root are not searched (default 12) */
  maxDepth?: number
  /** Entries looked at per root before its walk stops (default 200 000) */
  maxEntries?: number
  /** inotify watches at most (default 64); the rest is polled */
  maxWatches?: number
  /** Quiet time after a change before rescanning (default 1000 ms) */
  debounceMs?: number
  /** Poll interval for roots that are not watched (default 30 000 ms) */
  pollMs?: number
  hooks?: WalkHooks
}

export interface CatalogDeps {
  env: Env
  hub: Hub
  settings: Pick<SettingsStore, 'get'>
}

export type CatalogServiceWithStats = CatalogService & {
  /** Header parses done so far (a rescan of an unchanged tree adds none) */
  readonly headerParses: number
  readonly watchCount: number
}

const empty = (): Catalog => ({ models: [], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 })

export function createCatalogService(deps: CatalogDeps, options: CatalogOptions = {}): CatalogServiceWithStats {
  const cache = new HeaderCache()
  const cacheFile = join(deps.env.XDG_CACHE_HOME || join(homeDir(deps.env), '.cache'), 'hearth', 'headers.json')
  let loaded: Promise<void> | undefined
  let catalog = empty()
  let running: Promise<Catalog> | undefined
  let again = false
  let watcher: RootWatcher | undefined
  let lastWatchDirs: string[] = []
  let lastRootPaths: string[] = []

  async function scanOnce(): Promise<Catalog> {
    await (loaded ??= cache.load(cacheFile))
    const roots = await findRoots(deps.env, deps.settings.get().folders)
    const result = await scanRoots(roots, {
      cache,
      hooks: options.hooks,
      maxDepth: options.maxDepth ?? 12,
      maxEntries: options.maxEntries ?? 200_000,
      parseConcurrency: 4,
    })
    catalog = result.catalog
    // for the next process: a cache that cannot be written only costs speed
    await cache.save(cacheFile).catch(() => undefined)
    lastWatchDirs = result.watchDirs
    lastRootPaths = roots.map((r) => r.path)
    deps.hub.publish('catalog', catalog)
    await watcher?.update(lastWatchDirs, lastRootPaths)
    return catalog
  }

  function scan(): Promise<Catalog> {
    if (running) return running
    running = (async () => {
      try {
        let c = await scanOnce()
        while (again) {
          again = false
          c = await scanOnce()
        }
        return c
      } finally {
        running = undefined
      }
    })()
    return running
  }

  return {
    current: () => catalog,
    scan,
    async resolve(targets: string[]): Promise<ResolvedFile[]> {
      if (catalog.scannedAtMs === 0) await scan()
      return resolveTargets(targets, catalog, homeDir(deps.env))
    },
    async start() {
      if (watcher) return
      watcher = new RootWatcher({
        maxWatches: options.maxWatches ?? 64,
        debounceMs: options.debounceMs ?? 1000,
        pollMs: options.pollMs ?? 30_000,
        onChange: () => {
          // A change noticed mid-scan may have been missed by it: run once more afterwards.
          if (running) again = true
          else void scan().catch(() => undefined)
        },
      })
      if (catalog.scannedAtMs === 0) await scan()
      else await watcher.update(lastWatchDirs, lastRootPaths)
    },
    stop() {
      watcher?.stop()
      watcher = undefined
    },
    get headerParses() {
      return cache.parses
    },
    get watchCount() {
      return watcher?.watchCount ?? 0
    },
  }
}

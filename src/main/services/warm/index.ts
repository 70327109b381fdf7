// Warm, evict, lock and keep-warm, each run as a job through the job runner. One file per verb:
// warming.ts, evicting.ts, locking.ts, keep-warm.ts; this file puts them together.
import { createEvicting } from './evicting'
import { createKeepWarm } from './keep-warm'
import { createLocking } from './locking'
import { createWarming } from './warming'
import type { WarmServiceDeps } from './deps'

export type { WarmOptions, WarmServiceDeps } from './deps'

export type WarmService = ReturnType<typeof createWarmService>

export function createWarmService(deps: WarmServiceDeps) {
  const warming = createWarming(deps)
  const locking = createLocking(deps)
  const { evict } = createEvicting(deps, locking)
  const keepWarm = createKeepWarm(deps, warming)
  return {
    plan: warming.plan,
    warm: warming.warm,
    evict,
    lock: locking.lock,
    unlock: locking.unlock,
    locks: locking.locks,
    pin: keepWarm.pin,
    unpin: keepWarm.unpin,
    pins: keepWarm.pins,
    checkPins: keepWarm.checkPins,
    /** Starts keep-warm: pins from settings apply from now on */
    start: keepWarm.start,
    /** Stops keep-warm and releases every lock */
    async stop(): Promise<void> {
      await keepWarm.stop()
      await locking.releaseAll()
    },
  }
}

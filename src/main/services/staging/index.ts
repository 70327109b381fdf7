// RAM-disk staging: the service the backend holds. Its parts: state.ts (what is staged, from the
// helper or mountinfo), stage.ts (stage and unstage as jobs), off.ts (undo everything and its
// preview) and the inotify fix here. Publishes 'staging' after every change.
import { createUndoAll } from './off'
import { createStageVerbs } from './stage'
import { createStagingState } from './state'
import type { StagingDeps } from './deps'
import { inotifyKeys, inotifyStatusOf } from './inotify'

export type { InProcessLocks, StagingDeps } from './deps'

export type StagingService = ReturnType<typeof createStagingService>

export function createStagingService(deps: StagingDeps) {
  const { helper } = deps
  const state = createStagingState(deps)
  const { stage, unstage } = createStageVerbs(deps, state)
  const { off, offPreview } = createUndoAll(deps, state)

  /** The values sysctls had before the helper changed them, from the last status. */
  function originals(): Map<string, number> {
    const s = state.last()
    return new Map((s?.known ? s.sysctls : []).map((c) => [c.key, c.original]))
  }

  async function inotifyStatus() {
    return inotifyStatusOf(originals())
  }

  async function inotifyFix(opts: { persist?: boolean; revert?: boolean } = {}) {
    state.requireHelper()
    for (const k of Object.values(inotifyKeys)) {
      const g = await helper.request('sysctl-get', { key: k.key })
      if (opts.revert) {
        if (g.fields.changed === '1') await helper.request('sysctl-set', { key: k.key, value: g.fields.original })
        await helper.request('sysctl-persist', { key: k.key, clear: '1' })
        continue
      }
      if (Number(g.fields.value) < k.recommended) await helper.request('sysctl-set', { key: k.key, value: String(k.recommended) })
      if (opts.persist) await helper.request('sysctl-persist', { key: k.key, value: String(Math.max(k.recommended, Number(g.fields.value))) })
    }
    await state.refresh()
    return inotifyStatus()
  }

  return {
    privilege: () => helper.status(),
    status: state.status,
    stage,
    unstage,
    offPreview,
    off,
    inotifyStatus,
    inotifyFix,
    /** Real paths of staged files, from the last status (for the residency 'staged' flag) */
    stagedPaths: () => new Set((state.last()?.staged ?? []).map((s) => s.path)),
    stop: () => helper.close(),
  }
}

// Off ("Undo everything") and its preview: every stage, lock (in this process and in the helper),
// sysctl change and the lab's dummy memory, helper or not; says what it could not undo.
import { existsSync } from 'node:fs'
import type { OffLock, OffPreview, OffResult } from '../../../shared/api'
import type { StagingDeps } from './deps'
import { holdersOf } from './holders'
import { readStagedMountPoints } from './mounts'
import type { StagingStateStore } from './state'

/** The helper's installed base: it exists exactly while something is staged or a sysctl changed. */
const installedBase = '/run/hearth'

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err))

export function createUndoAll(deps: StagingDeps, state: StagingStateStore) {
  const { helper } = deps

  /** Locks held in this process, one entry per file. */
  function inProcessLocks(): (OffLock & { target: string })[] {
    return (deps.locks?.locks() ?? [])
      .filter((l) => l.holder === 'hearth')
      .flatMap((l) =>
        l.files.map(({ path, bytes }) => ({ path, bytes, holder: 'hearth' as const, modelId: l.modelId, target: l.modelId ?? l.paths[0] })),
      )
  }

  /**
   * Whether the helper may hold anything to undo: it runs (locks, or it made changes), or its base
   * exists (it is removed whenever nothing is staged and no sysctl is changed). Saves a password
   * prompt when there is nothing to ask about.
   */
  function helperMayHoldState(): boolean {
    return helper.running || existsSync(helper.helloFields.base ?? installedBase)
  }

  /** Why staged files that mountinfo shows cannot be undone without the helper, or null. */
  async function unreachableStages(): Promise<string | null> {
    const visible = await readStagedMountPoints()
    if (visible.size === 0) return null
    const reason = helper.status().reason ?? 'the privileged helper is unavailable'
    return `${visible.size} staged file${visible.size === 1 ? '' : 's'} (${[...visible].slice(0, 3).join(', ')}) cannot be unstaged without the privileged helper: ${reason}`
  }

  async function offPreview(): Promise<OffPreview> {
    const problems: string[] = []
    let s = state.emptyState()
    let pressureHeldBytes = 0
    if (!helper.status().available) {
      const why = await unreachableStages()
      if (why) problems.push(why)
    } else if (helperMayHoldState()) {
      try {
        s = await state.status({ start: true })
        // Only a running helper can hold the lab's dummy memory: it dies with its holder.
        if (helper.running) pressureHeldBytes = Number((await helper.request('pressure-status')).fields['held-bytes']) || 0
      } catch (err) {
        problems.push(`could not ask the privileged helper what it holds: ${errorText(err)}`)
      }
    }
    const holders = await holdersOf(state.copies().filter((c) => s.staged.some((f) => f.path === c.path)))
    const locks: OffLock[] = [...inProcessLocks().map(({ target: _t, ...l }) => l), ...s.locks.map((l) => ({ ...l, holder: 'helper' as const }))]
    return {
      staged: s.staged,
      locks,
      sysctls: s.sysctls,
      pressureHeldBytes,
      holders,
      problems,
      nothingToUndo: s.staged.length + locks.length + s.sysctls.length === 0 && pressureHeldBytes === 0,
    }
  }

  /** Releases the locks this process holds: they need no helper and no password. */
  async function unlockOwn(result: OffResult): Promise<void> {
    const own = inProcessLocks()
    for (const target of new Set(own.map((l) => l.target))) {
      try {
        await deps.locks!.unlock([target])
        result.unlocked += own.filter((l) => l.target === target).length
      } catch (err) {
        result.failed++
        result.problems.push(`could not unlock ${target}: ${errorText(err)}`)
      }
    }
  }

  /** The helper's `off`: its stages, locks, sysctl changes, dummy memory and lab cgroups. */
  async function helperOff(result: OffResult): Promise<void> {
    try {
      const r = await helper.request('off')
      result.unstaged = r.items.filter((i) => i.kind === 'unstaged').map((i) => i.fields.path)
      result.lazy = r.items.filter((i) => i.kind === 'lazy').map((i) => ({ path: i.fields.path, holders: i.fields.holders }))
      result.unlocked += Number(r.fields.unlocked)
      const sysctls = r.items.filter((i) => i.kind === 'sysctl')
      result.sysctlsRestored = sysctls.filter((i) => i.fields.restored !== undefined).map((i) => ({ key: i.fields.key, value: Number(i.fields.restored) }))
      // raised again outside Hearth since Hearth changed it: left at that value, and said so
      for (const i of sysctls.filter((x) => x.fields['changed-outside'] === '1'))
        result.problems.push(`${i.fields.key}: left at ${i.fields.left}, as it was changed outside Hearth after Hearth set it`)
      result.pressureReleasedBytes = Number(r.fields['pressure-released-bytes'] ?? 0)
      result.cgroupsRemoved = Number(r.fields['cgroups-removed'] ?? 0)
      result.failed += Number(r.fields.failed) + Number(r.fields['sysctl-failed'])
      for (const i of r.items.filter((x) => x.kind === 'failed')) result.problems.push(`${i.fields.path ?? i.fields.sysctl}: ${i.fields.msg}`)
    } catch (err) {
      result.failed++
      result.problems.push(`the privileged helper did not undo its part: ${errorText(err)}`)
    }
  }

  /** Undoes every stage, lock and sysctl change, with or without a helper; says what it could not. */
  async function off(): Promise<OffResult> {
    const result: OffResult = { unstaged: [], lazy: [], unlocked: 0, sysctlsRestored: [], pressureReleasedBytes: 0, cgroupsRemoved: 0, failed: 0, problems: [] }
    await unlockOwn(result)
    if (!helper.status().available) {
      const why = await unreachableStages()
      if (why) {
        result.failed++
        result.problems.push(why)
      }
    } else if (helperMayHoldState()) {
      await helperOff(result)
    }
    void state.refresh()
    return result
  }

  return { offPreview, off }
}

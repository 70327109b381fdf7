// RAM-disk staging: resolves models to files, checks capacity with numbers, and runs stage and
// unstage as jobs through the helper (files of other users through the admin helper, which asks
// for a password each time); off, its preview, and the inotify fix. Off undoes everything Hearth
// did: stages, locks in this process and in the helper, sysctl changes. Publishes 'staging'
// after every change.
import { existsSync } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import {
  HearthError,
  type Job,
  type LockInfo,
  type OffLock,
  type OffPreview,
  type OffResult,
  type StagedFile,
  type StagingState,
} from '../../../shared/api'
import { formatBytes } from '../../../shared/format'
import type { CatalogService, ResolvedFile } from '../../context'
import type { HelperClient, HelperReply, RequestOptions } from '../../helper-client'
import type { Hub } from '../../hub'
import type { SettingsStore } from '../../settings'
import type { JobRunner } from '../jobs'
import { deviceKeyOf } from '../jobs'
import { holdersOf, type FileId } from './holders'
import { readMemInfo } from '../warm/meminfo'
import { inotifyKeys, inotifyStatusOf } from './inotify'
import { readStagedMountPoints } from './mounts'

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

/** The helper's installed base: it exists exactly while something is staged or a sysctl changed. */
const installedBase = '/run/hearth'

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err))

export type StagingService = ReturnType<typeof createStagingService>

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`

export function createStagingService(deps: StagingDeps) {
  const { hub, settings, catalog, jobs, helper } = deps
  let last: StagingState | null = null
  /** The copies' dev+ino from the last status: holders are matched against these */
  let copies: FileId[] = []
  let reserveFloorBytes = 0

  /** The reserve staging keeps: the setting, never below the helper's own floor. */
  const reserveBytes = () => Math.max(settings.get().stagingReserveBytes, reserveFloorBytes)

  function emptyState(): StagingState {
    return {
      privilege: helper.status(),
      admin: helper.adminStatus(),
      known: false,
      staged: [],
      stagedBytes: 0,
      tmpfsSizeBytes: 0,
      tmpfsUsedBytes: 0,
      memAvailableBytes: 0,
      memTotalBytes: 0,
      reserveBytes: reserveBytes(),
      reserveFloorBytes,
      locks: [],
      sysctls: [],
    }
  }

  /** Catalog files by their real path (Hugging Face snapshots are symlinks to blobs). */
  async function modelOfRealPath(): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    for (const m of catalog.current().models)
      for (const f of m.files) out.set(await realpath(f.path).catch(() => f.path), m.id)
    return out
  }

  function stateFrom(r: HelperReply, models: Map<string, string>): StagingState {
    reserveFloorBytes = Number(r.fields['reserve-floor-bytes'] ?? 0)
    const staged: StagedFile[] = r.items
      .filter((i) => i.kind === 'stage')
      .map((i) => ({ path: i.fields.path, stagedAt: i.fields['staged-at'] || i.fields.path, bytes: Number(i.fields.bytes), modelId: models.get(i.fields.path) }))
    return {
      ...emptyState(),
      known: true,
      staged,
      stagedBytes: Number(r.fields['staged-bytes']),
      tmpfsSizeBytes: Number(r.fields['tmpfs-size-bytes']),
      tmpfsUsedBytes: Number(r.fields['tmpfs-used-bytes']),
      memAvailableBytes: Number(r.fields['mem-available-bytes']),
      memTotalBytes: Number(r.fields['mem-total-bytes']),
      locks: r.items.filter((i) => i.kind === 'lock').map((i) => ({ path: i.fields.path, bytes: Number(i.fields.bytes) })),
      sysctls: r.items
        .filter((i) => i.kind === 'sysctl')
        .map((i) => ({ key: i.fields.key, value: Number(i.fields.value), original: Number(i.fields.original) })),
    }
  }

  /**
   * What is staged: from the helper when it runs (or `start` asks to start it: a password prompt
   * under pkexec), else what /proc/self/mountinfo shows, with no prompt (known stays false).
   */
  async function status(opts: { start?: boolean } = {}): Promise<StagingState> {
    if (!helper.status().available || (!helper.running && !opts.start)) return (last = await passiveState())
    const r = await helper.request('status')
    copies = r.items
      .filter((i) => i.kind === 'stage')
      .map((i) => ({ dev: Number(i.fields['copy-dev']), ino: Number(i.fields['copy-ino']), path: i.fields.path }))
    last = stateFrom(r, await modelOfRealPath())
    return last
  }

  async function passiveState(): Promise<StagingState> {
    const models = await modelOfRealPath()
    const staged: StagedFile[] = []
    for (const path of await readStagedMountPoints()) {
      const bytes = await stat(path).then((st) => st.size, () => 0)
      staged.push({ path, stagedAt: path, bytes, modelId: models.get(path) })
    }
    return { ...emptyState(), staged, stagedBytes: staged.reduce((n, f) => n + f.bytes, 0) }
  }

  async function refresh(): Promise<void> {
    try {
      hub.publish('staging', await status())
    } catch {
      /* the helper went away; the next call reports why */
    }
  }

  function requireHelper(): void {
    const p = helper.status()
    if (!p.available) throw new HearthError('UNAVAILABLE', p.reason ?? 'privileged actions are unavailable')
  }

  async function resolveReal(targets: string[]): Promise<(ResolvedFile & { real: string })[]> {
    const files = await catalog.resolve(targets)
    return Promise.all(files.map(async (f) => ({ ...f, real: await realpath(f.path) })))
  }

  function labelOf(files: ResolvedFile[]): string {
    const ids = [...new Set(files.map((f) => f.modelId).filter(Boolean))] as string[]
    const names = ids.map((id) => catalog.current().models.find((m) => m.id === id)?.name ?? id)
    return names.length > 0 ? names.join(', ') : files.map((f) => f.path).join(', ')
  }

  /**
   * Stages one file: through the session helper, or, for a file of another user that the helper
   * refuses (staging would freeze it for its owner), through the admin helper, which asks for an
   * administrator's password. Returns whether the admin helper did it.
   */
  async function stageFile(path: string, reserve: number, opts: RequestOptions): Promise<boolean> {
    const fields = { path, reserve: String(reserve) }
    try {
      await helper.request('stage', fields, opts)
      return false
    } catch (err) {
      const detail = (err as HearthError).detail as Record<string, unknown> | undefined
      if (!(err instanceof HearthError) || err.code !== 'PERMISSION' || detail?.foreign !== '1') throw err
      const admin = helper.adminStatus()
      if (!admin.available) {
        throw new HearthError(
          'PERMISSION',
          `${err.message}. That is not possible here: ${admin.reason}. Or stage a copy you own (copy the file into your own model folder)`,
          detail,
        )
      }
      await helper.requestAsAdmin('stage', fields, opts)
      return true
    }
  }

  async function stage(targets: string[]): Promise<Job> {
    requireHelper()
    const files = await resolveReal(targets)
    const state = await status({ start: true })
    const already = new Set(state.staged.map((s) => s.path))
    const todo = files.filter((f) => !already.has(f.real))
    const total = todo.reduce((s, f) => s + f.bytes, 0)
    const reserve = reserveBytes()
    const avail = (await readMemInfo()).memAvailableBytes
    // The whole model at once, so a refusal names the model's size rather than one shard's.
    if (total > avail - reserve) {
      throw new HearthError(
        'TOO_LARGE',
        `staging ${labelOf(files)} needs ${gib(total)}, ${gib(Math.max(0, avail - reserve))} available after the ${formatBytes(reserve)} reserve; free RAM, unstage something, or lower the reserve in settings`,
        { needBytes: total, availableBytes: avail, reserveBytes: reserve },
      )
    }
    const handle = jobs.run({
      kind: 'stage',
      label: labelOf(files),
      modelId: files[0]?.modelId,
      paths: files.map((f) => f.path),
      device: await deviceKeyOf(files[0].real),
      totalBytes: total,
      work: async (progress, signal) => {
        let viaAdmin = 0
        for (const f of todo) {
          let seen = 0
          const onProgress = (done: number) => {
            progress.add(done - seen)
            seen = done
          }
          if (await stageFile(f.real, reserve, { signal, onProgress })) viaAdmin++
          progress.add(f.bytes - seen)
        }
        void refresh()
        return (
          `staged ${formatBytes(total)} in ${todo.length} file${todo.length === 1 ? '' : 's'}` +
          (files.length > todo.length ? `, ${files.length - todo.length} already staged` : '') +
          (viaAdmin ? `; ${viaAdmin} file${viaAdmin === 1 ? '' : 's'} of another user, with an administrator's password` : '')
        )
      },
    })
    handle.done.then(() => refresh())
    return handle.job
  }

  async function unstage(targets: string[], lazy = false): Promise<Job> {
    requireHelper()
    const files = await resolveReal(targets)
    const state = await status({ start: true })
    const staged = new Set(state.staged.map((s) => s.path))
    const todo = files.filter((f) => staged.has(f.real))
    if (todo.length === 0) throw new HearthError('NOT_FOUND', `${labelOf(files)} is not staged; see \`hearth status\``)
    const handle = jobs.run({
      kind: 'unstage',
      label: labelOf(files),
      modelId: files[0]?.modelId,
      paths: todo.map((f) => f.path),
      device: `unstage`,
      totalBytes: todo.reduce((s, f) => s + f.bytes, 0),
      work: async (progress) => {
        const held: string[] = []
        for (const f of todo) {
          const r = await helper.request('unstage', { path: f.real, lazy: lazy ? '1' : '0' })
          if (r.fields.lazy === '1') held.push(`${f.path} (held by ${r.items[0]?.fields.holders ?? '?'})`)
          progress.add(f.bytes)
        }
        return held.length > 0
          ? `detached lazily: the RAM stays in use, unseen, until these exit: ${held.join('; ')}`
          : `unstaged ${todo.length} file${todo.length === 1 ? '' : 's'}`
      },
    })
    handle.done.then(() => refresh())
    return handle.job
  }

  /** Locks held in this process, one entry per file. */
  function inProcessLocks(): (OffLock & { target: string })[] {
    return (deps.locks?.locks() ?? [])
      .filter((l) => l.holder === 'hearth')
      .flatMap((l) =>
        l.paths.map((path) => ({ path, bytes: l.lockedBytes / l.paths.length, holder: 'hearth' as const, modelId: l.modelId, target: l.modelId ?? l.paths[0] })),
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
    let s = emptyState()
    let pressureHeldBytes = 0
    if (!helper.status().available) {
      const why = await unreachableStages()
      if (why) problems.push(why)
    } else if (helperMayHoldState()) {
      try {
        s = await status({ start: true })
        // Only a running helper can hold the lab's dummy memory: it dies with its holder.
        if (helper.running) pressureHeldBytes = Number((await helper.request('pressure-status')).fields['held-bytes']) || 0
      } catch (err) {
        problems.push(`could not ask the privileged helper what it holds: ${errorText(err)}`)
      }
    }
    const holders = await holdersOf(copies.filter((c) => s.staged.some((f) => f.path === c.path)))
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

  /** Undoes every stage, lock and sysctl change, with or without a helper; says what it could not. */
  async function off(): Promise<OffResult> {
    const result: OffResult = { unstaged: [], lazy: [], unlocked: 0, sysctlsRestored: [], pressureReleasedBytes: 0, cgroupsRemoved: 0, failed: 0, problems: [] }
    // Locks in this process first: they need no helper and no password.
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
    if (!helper.status().available) {
      const why = await unreachableStages()
      if (why) {
        result.failed++
        result.problems.push(why)
      }
    } else if (helperMayHoldState()) {
      try {
        const r = await helper.request('off')
        result.unstaged = r.items.filter((i) => i.kind === 'unstaged').map((i) => i.fields.path)
        result.lazy = r.items.filter((i) => i.kind === 'lazy').map((i) => ({ path: i.fields.path, holders: i.fields.holders }))
        result.unlocked += Number(r.fields.unlocked)
        result.sysctlsRestored = r.items.filter((i) => i.kind === 'sysctl').map((i) => ({ key: i.fields.key, value: Number(i.fields.restored) }))
        result.pressureReleasedBytes = Number(r.fields['pressure-released-bytes'] ?? 0)
        result.cgroupsRemoved = Number(r.fields['cgroups-removed'] ?? 0)
        result.failed += Number(r.fields.failed) + Number(r.fields['sysctl-failed'])
        for (const i of r.items.filter((x) => x.kind === 'failed')) result.problems.push(`${i.fields.path ?? i.fields.sysctl}: ${i.fields.msg}`)
      } catch (err) {
        result.failed++
        result.problems.push(`the privileged helper did not undo its part: ${errorText(err)}`)
      }
    }
    void refresh()
    return result
  }

  async function originals(): Promise<Map<string, number>> {
    const s = last?.known ? last : null
    return new Map((s?.sysctls ?? []).map((c) => [c.key, c.original]))
  }

  async function inotifyStatus() {
    return inotifyStatusOf(await originals())
  }

  async function inotifyFix(opts: { persist?: boolean; revert?: boolean } = {}) {
    requireHelper()
    for (const k of Object.values(inotifyKeys)) {
      if (opts.revert) {
        const g = await helper.request('sysctl-get', { key: k.key })
        if (g.fields.changed === '1') await helper.request('sysctl-set', { key: k.key, value: g.fields.original })
        await helper.request('sysctl-persist', { key: k.key, clear: '1' })
        continue
      }
      const g = await helper.request('sysctl-get', { key: k.key })
      if (Number(g.fields.value) < k.recommended) await helper.request('sysctl-set', { key: k.key, value: String(k.recommended) })
      if (opts.persist) await helper.request('sysctl-persist', { key: k.key, value: String(Math.max(k.recommended, Number(g.fields.value))) })
    }
    await refresh()
    return inotifyStatus()
  }

  return {
    privilege: () => helper.status(),
    status,
    stage,
    unstage,
    offPreview,
    off,
    inotifyStatus,
    inotifyFix,
    /** Real paths of staged files, from the last status (for the residency 'staged' flag) */
    stagedPaths: () => new Set((last?.staged ?? []).map((s) => s.path)),
    stop: () => helper.close(),
  }
}

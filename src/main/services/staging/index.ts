// RAM-disk staging: resolves models to files, checks capacity with numbers, and runs stage and
// unstage as jobs through the helper; off, its preview, and the inotify fix. Publishes 'staging'
// after every change.
import { realpath } from 'node:fs/promises'
import { HearthError, type Job, type OffPreview, type OffResult, type StagedFile, type StagingState } from '../../../shared/api'
import { formatBytes } from '../../../shared/format'
import type { CatalogService, ResolvedFile } from '../../context'
import type { HelperClient, HelperReply } from '../../helper-client'
import type { Hub } from '../../hub'
import type { SettingsStore } from '../../settings'
import type { JobRunner } from '../jobs'
import { deviceKeyOf } from '../jobs'
import { holdersOf, type FileId } from './holders'
import { readMemInfo } from '../warm/meminfo'
import { inotifyKeys, inotifyStatusOf } from './inotify'

export interface StagingDeps {
  hub: Hub
  settings: SettingsStore
  catalog: CatalogService
  jobs: JobRunner
  helper: HelperClient
}

export type StagingService = ReturnType<typeof createStagingService>

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`

export function createStagingService(deps: StagingDeps) {
  const { hub, settings, catalog, jobs, helper } = deps
  let last: StagingState | null = null
  /** The copies' dev+ino from the last status: holders are matched against these */
  let copies: FileId[] = []

  function emptyState(): StagingState {
    return {
      privilege: helper.status(),
      known: false,
      staged: [],
      stagedBytes: 0,
      tmpfsSizeBytes: 0,
      tmpfsUsedBytes: 0,
      memAvailableBytes: 0,
      memTotalBytes: 0,
      reserveBytes: settings.get().stagingReserveBytes,
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

  async function status(): Promise<StagingState> {
    if (!helper.status().available) return (last = emptyState())
    const r = await helper.request('status')
    copies = r.items
      .filter((i) => i.kind === 'stage')
      .map((i) => ({ dev: Number(i.fields['copy-dev']), ino: Number(i.fields['copy-ino']), path: i.fields.path }))
    last = stateFrom(r, await modelOfRealPath())
    return last
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

  async function stage(targets: string[]): Promise<Job> {
    requireHelper()
    const files = await resolveReal(targets)
    const state = await status()
    const already = new Set(state.staged.map((s) => s.path))
    const todo = files.filter((f) => !already.has(f.real))
    const total = todo.reduce((s, f) => s + f.bytes, 0)
    const reserve = settings.get().stagingReserveBytes
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
        for (const f of todo) {
          let seen = 0
          await helper.request('stage', { path: f.real, reserve: String(reserve) }, {
            signal,
            onProgress: (done) => {
              progress.add(done - seen)
              seen = done
            },
          })
          progress.add(f.bytes - seen)
        }
        void refresh()
        return `staged ${formatBytes(total)} in ${todo.length} file${todo.length === 1 ? '' : 's'}${files.length > todo.length ? `, ${files.length - todo.length} already staged` : ''}`
      },
    })
    handle.done.then(() => refresh())
    return handle.job
  }

  async function unstage(targets: string[], lazy = false): Promise<Job> {
    requireHelper()
    const files = await resolveReal(targets)
    const state = await status()
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

  async function offPreview(): Promise<OffPreview> {
    const s = helper.status().available ? await status() : emptyState()
    const holders = await holdersOf(copies.filter((c) => s.staged.some((f) => f.path === c.path)))
    return {
      staged: s.staged,
      locks: s.locks,
      sysctls: s.sysctls,
      holders,
      nothingToUndo: s.staged.length + s.locks.length + s.sysctls.length === 0,
    }
  }

  async function off(): Promise<OffResult> {
    requireHelper()
    const r = await helper.request('off')
    void refresh()
    return {
      unstaged: r.items.filter((i) => i.kind === 'unstaged').map((i) => i.fields.path),
      lazy: r.items.filter((i) => i.kind === 'lazy').map((i) => ({ path: i.fields.path, holders: i.fields.holders })),
      unlocked: Number(r.fields.unlocked),
      sysctlsRestored: r.items.filter((i) => i.kind === 'sysctl').map((i) => ({ key: i.fields.key, value: Number(i.fields.restored) })),
      failed: Number(r.fields.failed) + Number(r.fields['sysctl-failed']),
    }
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

// What is staged, locked by the helper and changed by sysctl: from the helper's `status` when it
// runs, else from /proc/self/mountinfo with no password prompt. Keeps the last answer (the
// copies' dev+ino for holder checks, the helper's reserve floor) for the verbs and off.
import { realpath, stat } from 'node:fs/promises'
import { HearthError, type StagedFile, type StagingState } from '../../../shared/api'
import type { HelperReply } from '../../helper-client'
import type { FileId } from './holders'
import { readStagedMountPoints } from './mounts'
import type { StagingDeps } from './deps'

export type StagingStateStore = ReturnType<typeof createStagingState>

export function createStagingState(deps: StagingDeps) {
  const { hub, settings, catalog, helper } = deps
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

  /** Publishes 'staging' after a change. */
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

  return {
    status,
    refresh,
    emptyState,
    reserveBytes,
    requireHelper,
    /** The last status, or null before the first */
    last: () => last,
    /** The copies' dev+ino from the last status the helper answered */
    copies: () => copies,
  }
}

// Lock: hold models in RAM with mmap + mlock in this process while RLIMIT_MEMLOCK allows, else
// through the privileged helper; each lock is a job, and stays until unlock (or the process ends).
import { statSync } from 'node:fs'
import { HearthError, type Job, type LockInfo } from '../../../shared/api'
import { deviceKeyOf } from '../jobs'
import { groupsOf, type WarmServiceDeps } from './deps'
import { describeFsError } from './errors'
import { formatBytes } from '../../../shared/format'
import { lockFile, MlockRefusedError, unlockFile, type FileLock } from './lock'
import { lockFilesViaHelper, unlockFilesViaHelper, type HelperFileLock, type LockHelper } from './lock-helper'
import { memlockLimit, readMemInfo } from './meminfo'
import type { TargetGroup } from './plan'

interface HeldLock {
  info: LockInfo
  /** In-process locks (holder 'hearth') */
  files: FileLock[]
  /** Locks the helper holds (holder 'helper') */
  helperFiles: HelperFileLock[]
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size
  } catch (err) {
    throw describeFsError(err, path, 'stat')
  }
}

/** Why locking beyond RLIMIT_MEMLOCK through the helper is not possible here, or null if it is. */
function helperUnavailableReason(helper: LockHelper | undefined): string | null {
  if (!helper) return 'no privileged helper is set up in this process'
  const s = helper.status()
  return s.available ? null : (s.reason ?? 'the privileged helper is unavailable')
}

/** What a lock holds, from the locked files (in-process or the helper's) in the group's order. */
function infoOf(group: TargetGroup, locked: { path: string; lengthBytes: number }[], holder: LockInfo['holder'], pid: number | undefined): LockInfo {
  const files = locked.map((l) => ({ path: l.path, bytes: l.lengthBytes }))
  const lockedBytes = files.reduce((s, f) => s + f.bytes, 0)
  return { label: group.label, ...(group.modelId ? { modelId: group.modelId } : {}), paths: files.map((f) => f.path), lockedBytes, files, sinceMs: Date.now(), holder, ...(pid ? { pid } : {}) }
}

async function release(l: HeldLock, helper: LockHelper | undefined): Promise<void> {
  for (const f of l.files) unlockFile(f)
  if (l.helperFiles.length && helper) await unlockFilesViaHelper(helper, l.helperFiles)
}

export function createLocking(deps: WarmServiceDeps) {
  const { jobs, settings } = deps
  const locks = new Map<string, HeldLock>()
  // The helper exited or `off` ran: whatever it held is unlocked.
  deps.helper?.onReset(() => {
    for (const [key, l] of locks) if (l.info.holder === 'helper') locks.delete(key)
  })

  /** The lock job of one group: in this process, or through the helper beyond the limit. */
  async function lockJob(group: TargetGroup, bytes: number, overLimit: boolean, limitBytes: number | null): Promise<Job> {
    return jobs.run({
      kind: 'lock',
      label: group.label,
      ...(group.modelId ? { modelId: group.modelId } : {}),
      paths: group.files.map((f) => f.path),
      device: await deviceKeyOf(group.files[0].path).catch(() => 'unknown'),
      totalBytes: bytes,
      joinKey: `lock:${group.key}`,
      work: async (progress, signal) => {
        const paths = group.files.map((f) => f.path)
        // Bytes the failed in-process attempt already reported are not counted twice.
        let countedBytes = 0
        const viaHelper = async (why: string) => {
          let credit = countedBytes
          const onBytes = (n: number) => {
            const use = Math.min(credit, n)
            credit -= use
            if (n > use) progress.add(n - use)
          }
          const helperFiles = await lockFilesViaHelper(deps.helper!, paths, settings.get().lockMaxFraction, signal, onBytes)
          const info = infoOf(group, helperFiles, 'helper', deps.helper?.pid)
          locks.set(group.key, { files: [], helperFiles, info })
          return `locked ${formatBytes(info.lockedBytes)} in RAM through the privileged helper (${why})`
        }
        if (overLimit) return viaHelper(`beyond your memory-lock limit of ${formatBytes(limitBytes!)}`)
        const files: FileLock[] = []
        try {
          for (const f of group.files) {
            files.push(await lockFile(f.path, signal, (n) => (progress.add(n), (countedBytes += n))))
          }
          if (signal.aborted) throw new HearthError('CANCELLED', 'cancelled')
        } catch (err) {
          for (const l of files) unlockFile(l)
          if (err instanceof MlockRefusedError) {
            const reason = helperUnavailableReason(deps.helper)
            if (reason === null) return viaHelper(`mlock here failed with ${(err.detail as { errno: string }).errno}`)
            throw new HearthError(err.code, `${err.message}. Locking through the privileged helper is not possible either: ${reason}`, err.detail)
          }
          throw err
        }
        const info = infoOf(group, files, 'hearth', process.pid)
        locks.set(group.key, { files, helperFiles: [], info })
        return `locked ${formatBytes(info.lockedBytes)} in RAM`
      },
    }).job
  }

  async function lock(targets: string[]): Promise<Job[]> {
    const g = await groupsOf(deps, targets)
    const mem = await readMemInfo()
    const limit = await memlockLimit()
    const held = [...locks.values()].reduce((s, l) => s + l.info.lockedBytes, 0)
    const cap = settings.get().lockMaxFraction * mem.memTotalBytes
    const out: Job[] = []
    let adding = 0
    let addingInProcess = 0
    for (const group of g) {
      if (locks.has(group.key)) continue
      const bytes = group.files.reduce((s, f) => s + sizeOf(f.path), 0)
      if (bytes > mem.memTotalBytes) {
        throw new HearthError('TOO_LARGE', `cannot lock ${group.label}: it is ${formatBytes(bytes)} but RAM is ${formatBytes(mem.memTotalBytes)}`)
      }
      if (held + adding + bytes > cap) {
        throw new HearthError(
          'TOO_LARGE',
          `cannot lock ${group.label} (${formatBytes(bytes)}): Hearth may lock at most ${Math.round(settings.get().lockMaxFraction * 100)}% of RAM (${formatBytes(cap)}) and already holds ${formatBytes(held + adding)}; unlock something or raise lockMaxFraction in settings`,
        )
      }
      const helperReason = helperUnavailableReason(deps.helper)
      const overLimit = limit.limitBytes !== null && limit.lockedBytes + addingInProcess + bytes > limit.limitBytes
      if (overLimit && helperReason !== null) {
        throw new HearthError(
          'TOO_LARGE',
          `cannot lock ${group.label} (${formatBytes(bytes)}): your memory-lock limit (RLIMIT_MEMLOCK, \`ulimit -l\`) is ${formatBytes(limit.limitBytes!)} and ${formatBytes(limit.lockedBytes)} is locked already. Raise it with a line "${process.env.USER ?? 'youruser'} - memlock unlimited" in /etc/security/limits.conf (log in again), or LimitMEMLOCK=infinity for a systemd service. Locking through the privileged helper is not possible either: ${helperReason}`,
          { limitBytes: limit.limitBytes, lockedBytes: limit.lockedBytes, neededBytes: bytes, helperReason },
        )
      }
      adding += bytes
      if (!overLimit) addingInProcess += bytes
      out.push(await lockJob(group, bytes, overLimit, limit.limitBytes))
    }
    return out
  }

  async function unlock(targets: string[]): Promise<LockInfo[]> {
    const g = await groupsOf(deps, targets)
    const missing = g.filter((x) => !locks.has(x.key))
    if (missing.length === g.length) {
      throw new HearthError('NOT_FOUND', `${missing.map((m) => m.label).join(', ')} is not locked by this Hearth (\`hearth unlock\` with no model lists what it holds)`)
    }
    for (const x of g) {
      const l = locks.get(x.key)
      if (!l) continue
      locks.delete(x.key)
      await release(l, deps.helper)
    }
    return listLocks()
  }

  function listLocks(): LockInfo[] {
    return [...locks.values()].map((l) => ({ ...l.info, paths: [...l.info.paths], files: l.info.files.map((f) => ({ ...f })) }))
  }

  /** This Hearth's lock covering a path, if any (evict names it instead of "mapped by node"). */
  function lockOf(path: string): LockInfo | undefined {
    for (const l of locks.values()) if (l.info.paths.includes(path)) return l.info
    return undefined
  }

  async function releaseAll(): Promise<void> {
    const held = [...locks.values()]
    locks.clear()
    for (const l of held) await release(l, deps.helper).catch(() => {}) // a helper gone meanwhile released its own
  }

  return { lock, unlock, locks: listLocks, lockOf, releaseAll }
}

export type Locking = ReturnType<typeof createLocking>

// Locks beyond the user's RLIMIT_MEMLOCK through the privileged helper: the helper maps and
// mlocks the file itself (as the calling user's fsuid, so only files the user can read) and
// holds the lock until `unlock`, `off` or its exit. Used only when the in-process lock cannot.
import { realpathSync } from 'node:fs'
import { HearthError } from '../../../shared/api'
import type { HelperClient } from '../../helper-client'
import { describeFsError } from './errors'

export type LockHelper = Pick<HelperClient, 'status' | 'request' | 'running' | 'onReset' | 'pid'>

export interface HelperFileLock {
  /** What Hearth was asked to lock */
  path: string
  /** The symlink-free path the helper opened (it refuses symbolic links) */
  realPath: string
  lengthBytes: number
}

/** The helper's lock limit, as the share of RAM in permille it accepts (10..750). */
export function helperLimitPermille(lockMaxFraction: number): number {
  return Math.min(750, Math.max(10, Math.round(lockMaxFraction * 1000)))
}

export async function lockFilesViaHelper(
  helper: LockHelper,
  paths: string[],
  lockMaxFraction: number,
  signal: AbortSignal,
  onBytes: (n: number) => void,
): Promise<HelperFileLock[]> {
  const done: HelperFileLock[] = []
  try {
    for (const path of paths) {
      if (signal.aborted) throw new HearthError('CANCELLED', 'cancelled')
      let realPath: string
      try {
        realPath = realpathSync(path)
      } catch (err) {
        throw describeFsError(err, path, 'resolve for lock')
      }
      const r = await helper.request('lock', { path: realPath, 'limit-permille': String(helperLimitPermille(lockMaxFraction)) })
      const lengthBytes = Number(r.fields.bytes)
      done.push({ path, realPath, lengthBytes })
      onBytes(lengthBytes)
    }
    if (signal.aborted) throw new HearthError('CANCELLED', 'cancelled')
    return done
  } catch (err) {
    await unlockFilesViaHelper(helper, done)
    throw err
  }
}

/** Releases what the helper holds for these files; a helper that exited holds nothing any more. */
export async function unlockFilesViaHelper(helper: LockHelper, locks: HelperFileLock[]): Promise<void> {
  for (const l of locks) {
    // Never start a helper (a password prompt) only to unlock: a new one holds no locks.
    if (!helper.running) return
    await helper.request('unlock', { path: l.realPath }).catch((err: HearthError) => {
      if (err.code !== 'NOT_FOUND') throw err
    })
  }
}

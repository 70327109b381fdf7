// The privileged helper and RAM-disk staging (issue: stage, unstage, off, inotify).
import { z } from 'zod'
import { command, noInput, query, targetList } from './define'
import type { Job } from './jobs'

export interface PrivilegeInfo {
  available: boolean
  /** root: the backend runs as root; pkexec: one password prompt per session; none: see reason */
  mode: 'root' | 'pkexec' | 'none'
  helperPath: string | null
  /** Why privileged actions are unavailable, and the fix */
  reason?: string
}

export interface StagedFile {
  /** The original file's path, as staged */
  path: string
  /** Where the copy is mounted now (differs only when the file was renamed since) */
  stagedAt: string
  bytes: number
  modelId?: string
}

export interface HeldBy {
  pid: number
  command: string
  path: string
}

export interface SysctlChange {
  key: string
  value: number
  original: number
}

/** A lock as off lists it: held in Hearth's own process ('hearth') or by the helper ('helper'). */
export interface OffLock {
  path: string
  bytes: number
  holder: 'hearth' | 'helper'
  /** The model it belongs to, for in-process locks of a catalog model */
  modelId?: string
}

export interface StagingState {
  privilege: PrivilegeInfo
  /**
   * Staging files of other users (root's, the Ollama service's blobs): they would be frozen for
   * their owner, so hearth-helper-admin stages them, asking for an administrator's password
   * every time. Unavailable: such files are refused, with this reason.
   */
  admin: PrivilegeInfo
  /** false until the helper answered (it is started on first privileged use, not to show this) */
  known: boolean
  staged: StagedFile[]
  stagedBytes: number
  tmpfsSizeBytes: number
  tmpfsUsedBytes: number
  memAvailableBytes: number
  memTotalBytes: number
  /** RAM always left free when staging (settings.stagingReserveBytes, raised to the floor) */
  reserveBytes: number
  /** The least reserve the helper keeps, whatever settings ask (0 until the helper answered) */
  reserveFloorBytes: number
  /** The helper's locks (in-process locks are the warm service's: see offPreview) */
  locks: { path: string; bytes: number }[]
  sysctls: SysctlChange[]
}

/** What `off` will undo, shown before asking. */
export interface OffPreview {
  staged: StagedFile[]
  /** Every lock: Hearth's own process's and the helper's */
  locks: OffLock[]
  sysctls: SysctlChange[]
  /** Dummy memory the load lab holds locked through the helper (0 when none) */
  pressureHeldBytes: number
  /** Processes holding staged copies: off detaches those lazily and their RAM stays in use */
  holders: HeldBy[]
  /** What could not be looked at (no helper, authentication dismissed …), for people */
  problems: string[]
  nothingToUndo: boolean
}

export interface OffResult {
  unstaged: string[]
  /** Detached while still held: RAM stays in use, unseen, until these exit */
  lazy: { path: string; holders: string }[]
  /** Locks released: in Hearth's own process and in the helper */
  unlocked: number
  sysctlsRestored: { key: string; value: number }[]
  /** The load lab's locked dummy memory let go, and its memory cgroups removed */
  pressureReleasedBytes: number
  cgroupsRemoved: number
  failed: number
  /** Why something could not be undone, for people (empty when all went well) */
  problems: string[]
}

export interface InotifyLimit {
  key: string
  value: number
  recommended: number
  /** In /etc/sysctl.d/60-hearth-inotify.conf, null when absent */
  persisted: number | null
  /** The value before Hearth changed it at runtime, null when unchanged */
  original: number | null
  ok: boolean
}

export interface InotifyStatus {
  watches: InotifyLimit
  instances: InotifyLimit
  /** A paragraph for people: what runs out and what it looks like */
  explanation: string
  persistFile: string
}

export const stagingMethods = {
  privilegeStatus: query<PrivilegeInfo>()(noInput),
  stagingStatus: query<StagingState>()(noInput),
  /** Copies the targets' files into the RAM disk and mounts them over the originals (a job). */
  stage: command<Job>()(z.object({ targets: targetList.min(1, 'name at least one model or file to stage') }).strict()),
  /** Refuses while a process holds a copy, naming it; lazy detaches anyway (a job). */
  unstage: command<Job>()(
    z.object({ targets: targetList.min(1, 'name at least one model or file to unstage'), lazy: z.boolean().optional() }).strict(),
  ),
  offPreview: query<OffPreview>()(noInput),
  /** Undoes every stage, lock (in Hearth's process and the helper) and runtime sysctl change. */
  off: command<OffResult>()(noInput),
  inotifyStatus: query<InotifyStatus>()(noInput),
  /** Raises both limits to the recommended values now; persist writes sysctl.d; revert undoes both. */
  inotifyFix: command<InotifyStatus>()(
    z.object({ persist: z.boolean().optional(), revert: z.boolean().optional() }).strict().optional(),
  ),
}

export interface StagingTopics {
  /** After every stage, unstage, off and sysctl change */
  staging: StagingState
}

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

export interface StagingState {
  privilege: PrivilegeInfo
  /** false until the helper answered (it is started on first privileged use, not to show this) */
  known: boolean
  staged: StagedFile[]
  stagedBytes: number
  tmpfsSizeBytes: number
  tmpfsUsedBytes: number
  memAvailableBytes: number
  memTotalBytes: number
  /** RAM always left free when staging (settings.stagingReserveBytes) */
  reserveBytes: number
  locks: { path: string; bytes: number }[]
  sysctls: SysctlChange[]
}

/** What `off` will undo, shown before asking. */
export interface OffPreview {
  staged: StagedFile[]
  locks: { path: string; bytes: number }[]
  sysctls: SysctlChange[]
  /** Processes holding staged copies: off detaches those lazily and their RAM stays in use */
  holders: HeldBy[]
  nothingToUndo: boolean
}

export interface OffResult {
  unstaged: string[]
  /** Detached while still held: RAM stays in use, unseen, until these exit */
  lazy: { path: string; holders: string }[]
  unlocked: number
  sysctlsRestored: { key: string; value: number }[]
  failed: number
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
  /** Undoes every stage, lock and runtime sysctl change. */
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

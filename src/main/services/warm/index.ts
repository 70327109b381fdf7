// Warm, evict, lock and keep-warm, each run as a job through the job runner.
import { closeSync, fstatSync, openSync, statSync } from 'node:fs'
import { HearthError, type EvictFileReport, type EvictReport, type Job, type LockInfo, type ModelResidency, type PinInfo, type WarmPlan } from '../../../shared/api'
import type { ResolvedFile } from '../../context'
import type { SettingsStore } from '../../settings'
import { fadvise, FADV } from '../../sys/fadvise'
import { IOPRIO_CLASS, ioprioValue, restoreIoPriority, setProcessIoPriority } from '../../sys/ioprio'
import { deviceKeyOf, type JobRunner } from '../jobs'
import { describeFsError } from './errors'
import { gib } from './format'
import { processesMapping } from './holders'
import { lockFile, MlockRefusedError, unlockFile, type FileLock } from './lock'
import { lockFilesViaHelper, unlockFilesViaHelper, type HelperFileLock, type LockHelper } from './lock-helper'
import { memlockLimit, readMemInfo } from './meminfo'
import { residentBytesOf } from './missing-ranges'
import { groupTargets, makePlan, type TargetGroup } from './plan'
import { warmFile, type WarmEngine } from './warm-file'

export interface WarmServiceDeps {
  jobs: JobRunner
  settings: SettingsStore
  resolve(targets: string[]): Promise<ResolvedFile[]>
  /** Residency of every catalog model (to say which warm models a warm would evict) */
  modelResidency(): Promise<ModelResidency[]>
  modelName(id: string): string | undefined
  engine?: WarmEngine
  /** Locks beyond RLIMIT_MEMLOCK when available (the session's one helper client) */
  helper?: LockHelper
  readers?: number
  stallMs?: number
  /** How often pins are checked */
  keepWarmCheckMs?: number
  /** Least time between two re-warms of one pin */
  keepWarmMinIntervalMs?: number
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size
  } catch (err) {
    throw describeFsError(err, path, 'stat')
  }
}

export interface WarmOptions {
  force?: boolean
  idle?: boolean
  lowCpu?: boolean
}

export type WarmService = ReturnType<typeof createWarmService>

interface HeldLock {
  info: LockInfo
  /** In-process locks (holder 'hearth') */
  files: FileLock[]
  /** Locks the helper holds (holder 'helper') */
  helperFiles: HelperFileLock[]
}

/** Why locking beyond RLIMIT_MEMLOCK through the helper is not possible here, or null if it is. */
function helperUnavailableReason(helper: LockHelper | undefined): string | null {
  if (!helper) return 'no privileged helper is set up in this process'
  const s = helper.status()
  return s.available ? null : (s.reason ?? 'the privileged helper is unavailable')
}

export function createWarmService(deps: WarmServiceDeps) {
  const { jobs, settings } = deps
  const locks = new Map<string, HeldLock>()
  const pinState = new Map<string, PinInfo>()
  let idleJobs = 0
  let idleRestore: Map<number, number> | null = null
  let keepWarmTimer: NodeJS.Timeout | null = null
  // The helper exited or `off` ran: whatever it held is unlocked.
  deps.helper?.onReset(() => {
    for (const [key, l] of locks) if (l.info.holder === 'helper') locks.delete(key)
  })

  async function groups(targets: string[]): Promise<TargetGroup[]> {
    return groupTargets(await deps.resolve(targets), deps.modelName)
  }

  async function plan(targets: string[]): Promise<WarmPlan> {
    const g = await groups(targets)
    const [mem, models] = await Promise.all([readMemInfo(), deps.modelResidency().catch(() => [])])
    return makePlan(g, mem, models, deps.modelName)
  }

  // I/O priority is per thread and the reads run on shared pool threads, so idle applies to the
  // whole process while any idle job runs.
  function enterIdle(): void {
    if (idleJobs++ === 0) {
      try {
        idleRestore = setProcessIoPriority(ioprioValue(IOPRIO_CLASS.IDLE))
      } catch {
        idleRestore = null
      }
    }
  }
  function leaveIdle(): void {
    if (--idleJobs === 0 && idleRestore) {
      restoreIoPriority(idleRestore)
      idleRestore = null
    }
  }

  async function startWarm(group: TargetGroup, totalBytes: number, opts: WarmOptions, kind: 'warm' | 'rewarm', noteExtra = '') {
    const device = await deviceKeyOf(group.files[0].path).catch(() => 'unknown')
    return jobs.run({
      kind,
      label: group.label,
      ...(group.modelId ? { modelId: group.modelId } : {}),
      paths: group.files.map((f) => f.path),
      device,
      totalBytes,
      joinKey: `warm:${group.key}`,
      work: async (progress, signal) => {
        if (opts.idle) enterIdle()
        const t0 = performance.now()
        let read = 0
        let already = 0
        try {
          for (const f of group.files) {
            if (signal.aborted) break
            const r = await warmFile(f.path, {
              signal,
              engine: opts.lowCpu ? 'populate' : deps.engine,
              readers: deps.readers,
              stallMs: deps.stallMs,
              onBytes: (n) => progress.add(n),
            })
            read += r.readBytes
            already += r.alreadyResidentBytes
          }
        } finally {
          if (opts.idle) leaveIdle()
        }
        const s = (performance.now() - t0) / 1000
        if (read > progress.doneBytes) progress.setTotal(read)
        const rate = s > 0 ? ` in ${s.toFixed(1)} s (${(read / s / 1e9).toFixed(2)} GB/s)` : ''
        return `read ${gib(read)}${rate}; ${gib(already)} was already resident${noteExtra}`
      },
    })
  }

  async function warm(targets: string[], opts: WarmOptions = {}): Promise<Job[]> {
    const g = await groups(targets)
    const [mem, models] = await Promise.all([readMemInfo(), deps.modelResidency().catch(() => [])])
    const p = makePlan(g, mem, models, deps.modelName)
    if (!p.fitsInRam) throw new HearthError('TOO_LARGE', `cannot warm: ${p.summary}`, p)
    if (p.wouldEvict.length > 0 && !opts.force) {
      throw new HearthError('WOULD_EVICT', `${p.summary}; warm anyway with --force (or Warm anyway in the app)`, p)
    }
    const out: Job[] = []
    for (const [i, group] of g.entries()) out.push((await startWarm(group, p.targets[i].toReadBytes, opts, 'warm')).job)
    return out
  }

  async function evict(targets: string[]): Promise<EvictReport[]> {
    const g = await groups(targets)
    return Promise.all(
      g.map(async (group) => {
        // A warm of the same model would undo the evict: stop it first.
        for (const j of jobs.list()) {
          if ((j.status === 'running' || j.status === 'queued') && (j.kind === 'warm' || j.kind === 'rewarm') && group.files.some((f) => j.paths.includes(f.path))) {
            jobs.cancel(j.id)
            await jobs.wait(j.id)
          }
        }
        const files: EvictFileReport[] = []
        const h = jobs.run({
          kind: 'evict',
          label: group.label,
          ...(group.modelId ? { modelId: group.modelId } : {}),
          paths: group.files.map((f) => f.path),
          // evict is instant: never queue it behind a warm on the same disk
          device: `evict:${group.key}`,
          totalBytes: group.files.reduce((s, f) => s + f.bytes, 0),
          work: async (progress) => {
            let kept = 0
            for (const f of group.files) {
              let fd: number
              try {
                fd = openSync(f.path, 'r')
              } catch (err) {
                throw describeFsError(err, f.path, 'open for evict')
              }
              try {
                const st = fstatSync(fd)
                fadvise(fd, 0, 0, FADV.DONTNEED)
                const residentBytes = residentBytesOf(fd, st.size)
                const holders = residentBytes ? await processesMapping(st.dev, st.ino) : []
                kept += residentBytes ?? 0
                files.push({ path: f.path, bytes: st.size, residentBytes, holders })
                progress.add(st.size)
              } finally {
                closeSync(fd)
              }
            }
            const held = files.filter((f) => f.holders.length > 0)
            return kept === 0
              ? 'evicted'
              : `${gib(kept)} stayed resident` +
                  (held.length
                    ? `: mapped by ${[...new Set(held.flatMap((f) => f.holders.map((x) => `${x.command} (pid ${x.pid})`)))].join(', ')}`
                    : ' (dirty or in use)')
          },
        })
        const job = await h.done
        if (job.status === 'failed') throw new HearthError((job.error?.code as 'IO') ?? 'IO', job.error?.message ?? 'evict failed')
        return { job, files }
      }),
    )
  }

  async function lock(targets: string[]): Promise<Job[]> {
    const g = await groups(targets)
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
        throw new HearthError('TOO_LARGE', `cannot lock ${group.label}: it is ${gib(bytes)} but RAM is ${gib(mem.memTotalBytes)}`)
      }
      if (held + adding + bytes > cap) {
        throw new HearthError(
          'TOO_LARGE',
          `cannot lock ${group.label} (${gib(bytes)}): Hearth may lock at most ${Math.round(settings.get().lockMaxFraction * 100)}% of RAM (${gib(cap)}) and already holds ${gib(held + adding)}; unlock something or raise lockMaxFraction in settings`,
        )
      }
      const helperReason = helperUnavailableReason(deps.helper)
      const overLimit = limit.limitBytes !== null && limit.lockedBytes + addingInProcess + bytes > limit.limitBytes
      if (overLimit && helperReason !== null) {
        throw new HearthError(
          'TOO_LARGE',
          `cannot lock ${group.label} (${gib(bytes)}): your memory-lock limit (RLIMIT_MEMLOCK, \`ulimit -l\`) is ${gib(limit.limitBytes!)} and ${gib(limit.lockedBytes)} is locked already. Raise it with a line "${process.env.USER ?? 'youruser'} - memlock unlimited" in /etc/security/limits.conf (log in again), or LimitMEMLOCK=infinity for a systemd service. Locking through the privileged helper is not possible either: ${helperReason}`,
          { limitBytes: limit.limitBytes, lockedBytes: limit.lockedBytes, neededBytes: bytes, helperReason },
        )
      }
      adding += bytes
      if (!overLimit) addingInProcess += bytes
      const h = jobs.run({
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
            const lockedBytes = helperFiles.reduce((s, l) => s + l.lengthBytes, 0)
            locks.set(group.key, { files: [], helperFiles, info: infoOf(group, paths, lockedBytes, 'helper') })
            return `locked ${gib(lockedBytes)} in RAM through the privileged helper (${why})`
          }
          if (overLimit) return viaHelper(`beyond your memory-lock limit of ${gib(limit.limitBytes!)}`)
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
          const lockedBytes = files.reduce((s, l) => s + l.lengthBytes, 0)
          locks.set(group.key, { files, helperFiles: [], info: infoOf(group, paths, lockedBytes, 'hearth') })
          return `locked ${gib(lockedBytes)} in RAM`
        },
      })
      out.push(h.job)
    }
    return out
  }

  function infoOf(group: TargetGroup, paths: string[], lockedBytes: number, holder: LockInfo['holder']): LockInfo {
    return { label: group.label, ...(group.modelId ? { modelId: group.modelId } : {}), paths, lockedBytes, sinceMs: Date.now(), holder }
  }

  async function release(l: HeldLock): Promise<void> {
    for (const f of l.files) unlockFile(f)
    if (l.helperFiles.length && deps.helper) await unlockFilesViaHelper(deps.helper, l.helperFiles)
  }

  async function unlock(targets: string[]): Promise<LockInfo[]> {
    const g = await groups(targets)
    const missing = g.filter((x) => !locks.has(x.key))
    if (missing.length === g.length) {
      throw new HearthError('NOT_FOUND', `${missing.map((m) => m.label).join(', ')} is not locked by this Hearth; see \`hearth locks\``)
    }
    for (const x of g) {
      const l = locks.get(x.key)
      if (!l) continue
      locks.delete(x.key)
      await release(l)
    }
    return listLocks()
  }

  function listLocks(): LockInfo[] {
    return [...locks.values()].map((l) => ({ ...l.info, paths: [...l.info.paths] }))
  }

  function pinInfo(id: string): PinInfo {
    let p = pinState.get(id)
    if (!p) pinState.set(id, (p = { modelId: id, residentFraction: null, lastCheckMs: null, lastRewarmMs: null, lastRewarmBytes: 0, rewarms: 0 }))
    return p
  }
  function listPins(): PinInfo[] {
    return settings.get().pins.map((id) => ({ ...pinInfo(id) }))
  }

  async function pin(model: string): Promise<PinInfo[]> {
    const files = await deps.resolve([model])
    const id = files[0]?.modelId
    if (!id || files.some((f) => f.modelId !== id)) {
      throw new HearthError('BAD_INPUT', `pin needs one model from \`hearth models\` (an id or a unique part of its name), not "${model}"`)
    }
    const pins = settings.get().pins
    if (!pins.includes(id)) await settings.update({ pins: [...pins, id] })
    void checkPins()
    return listPins()
  }

  async function unpin(model: string): Promise<PinInfo[]> {
    const pins = settings.get().pins
    let id = pins.includes(model) ? model : undefined
    if (!id) id = (await deps.resolve([model]).catch(() => []))[0]?.modelId
    if (!id || !pins.includes(id)) throw new HearthError('NOT_FOUND', `"${model}" is not pinned; pinned: ${pins.join(', ') || 'none'}`)
    await settings.update({ pins: pins.filter((p) => p !== id) })
    pinState.delete(id)
    return listPins()
  }

  let checking: Promise<void> | null = null
  /** Re-warms pinned models whose residency fell below the threshold (at idle I/O priority). */
  function checkPins(): Promise<void> {
    checking ??= (async () => {
      const { pins, keepWarmThreshold } = settings.get()
      const minInterval = deps.keepWarmMinIntervalMs ?? 5 * 60_000
      for (const id of pins) {
        const p = pinInfo(id)
        try {
          const files = await deps.resolve([id])
          let bytes = 0
          let resident = 0
          for (const f of files) {
            const fd = openSync(f.path, 'r')
            try {
              const size = fstatSync(fd).size
              bytes += size
              resident += residentBytesOf(fd, size) ?? size
            } finally {
              closeSync(fd)
            }
          }
          p.lastCheckMs = Date.now()
          p.residentFraction = bytes > 0 ? resident / bytes : 1
          if (p.residentFraction >= keepWarmThreshold) continue
          if (p.lastRewarmMs !== null && Date.now() - p.lastRewarmMs < minInterval) continue
          const busy = jobs.list().some((j) => (j.status === 'running' || j.status === 'queued') && j.modelId === id)
          if (busy) continue
          const was = p.residentFraction
          const [group] = groupTargets(files, deps.modelName)
          p.lastRewarmMs = Date.now()
          const h = await startWarm(group, bytes - resident, { idle: true }, 'rewarm', ` (kept warm: residency had dropped to ${Math.round(was * 100)}%)`)
          void h.done.then((j) => {
            p.lastRewarmBytes = j.doneBytes
            p.rewarms++
          })
        } catch {
          p.residentFraction = null // the model went away or is unreadable; the next check tries again
        }
      }
    })().finally(() => (checking = null))
    return checking
  }

  return {
    plan,
    warm,
    evict,
    lock,
    unlock,
    locks: listLocks,
    pin,
    unpin,
    pins: listPins,
    checkPins,
    /** Starts keep-warm: pins from settings apply from now on */
    start(): void {
      if (keepWarmTimer) return
      keepWarmTimer = setInterval(() => void checkPins(), deps.keepWarmCheckMs ?? 15_000)
      keepWarmTimer.unref()
      void checkPins()
    },
    async stop(): Promise<void> {
      if (keepWarmTimer) clearInterval(keepWarmTimer)
      keepWarmTimer = null
      await checking
      const held = [...locks.values()]
      locks.clear()
      for (const l of held) await release(l).catch(() => {}) // a helper gone meanwhile released its own
    },
  }
}

// Warm: plan what a read would cost (and whose pages it would push out), then read only what is
// not resident, one job per model, optionally at idle I/O priority.
import { HearthError, type Job, type WarmPlan } from '../../../shared/api'
import { IOPRIO_CLASS, ioprioValue, restoreIoPriority, setProcessIoPriority } from '../../sys/ioprio'
import { deviceKeyOf } from '../jobs'
import { groupsOf, type WarmOptions, type WarmServiceDeps } from './deps'
import { formatBytes, formatRate, formatSeconds } from '../../../shared/format'
import { readMemInfo } from './meminfo'
import { makePlan, type TargetGroup } from './plan'
import { warmFile } from './warm-file'

export function createWarming(deps: WarmServiceDeps) {
  const { jobs } = deps
  let idleJobs = 0
  let idleRestore: Map<number, number> | null = null

  async function planFor(groups: TargetGroup[]): Promise<WarmPlan> {
    const [mem, models] = await Promise.all([readMemInfo(), deps.modelResidency().catch(() => [])])
    return makePlan(groups, mem, models, deps.modelName)
  }

  async function plan(targets: string[]): Promise<WarmPlan> {
    return planFor(await groupsOf(deps, targets))
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

  /** One warm job for one group; `rewarm` is keep-warm's kind, with `noteExtra` saying why. */
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
        const rate = s > 0 && read > 0 ? ` in ${formatSeconds(s)} (${formatRate(read / s)})` : ''
        return `read ${formatBytes(read)}${rate}; ${formatBytes(already)} was already resident${noteExtra}`
      },
    })
  }

  async function warm(targets: string[], opts: WarmOptions = {}): Promise<Job[]> {
    const g = await groupsOf(deps, targets)
    const p = await planFor(g)
    if (!p.fitsInRam) throw new HearthError('TOO_LARGE', `cannot warm: ${p.summary}`, p)
    if (p.wouldEvict.length > 0 && !opts.force) {
      throw new HearthError('WOULD_EVICT', `${p.summary}; warm anyway with --force (or Warm anyway in the app)`, p)
    }
    const out: Job[] = []
    for (const [i, group] of g.entries()) out.push((await startWarm(group, p.targets[i].toReadBytes, opts, 'warm')).job)
    return out
  }

  return { plan, warm, startWarm }
}

export type Warming = ReturnType<typeof createWarming>

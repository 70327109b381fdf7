// One experiment: the matrix × repeat runs, one after another. Each run puts the model in its
// state (evicted, warm, staged, locked) with the services that already do that, starts the loader
// (in its memory cgroup when limited), samples the loader's /proc counters, the model files'
// residency and the cgroup's figures while it loads and generates, and leaves nothing behind:
// stages and locks it made are undone, the pressure is released, the cgroup removed, the loader
// and its process group killed on a crash, a hang (timeout) or a cancel.
import type { EvictReport, LabExperiment, LabRun, LabSample } from '../../../shared/api'
import { HearthError } from '../../../shared/api'
import { formatBytes } from '../../../shared/format'
import type { ResidencyService } from '../../context'
import type { JobProgress, JobRunner } from '../jobs'
import type { StagingService } from '../staging'
import type { WarmService } from '../warm'
import type { Loader } from './loaders/types'
import { LoaderFailure } from './loader-process'
import { holdPressure, releasePressure, type CgroupLimiter, type CgroupStats, type LabHelper, type LimitedCgroup } from './memory'
import { mappedFrom, readProcCounters, type ProcCounters } from './proc-counters'

export interface ExperimentDeps {
  jobs: JobRunner
  residency: Pick<ResidencyService, 'ofFiles'>
  warm: Pick<WarmService, 'evict' | 'warm' | 'lock' | 'unlock'>
  staging: Pick<StagingService, 'stage' | 'unstage' | 'privilege'>
  helper: LabHelper
  limiter: CgroupLimiter
  sampleMs: number
}

export interface ExperimentPlan {
  exp: LabExperiment
  loader: Loader
  modelPath: string
  ollamaName?: string
  prompt: string
  contextSize: number
  timeoutMs: number
  /** Files already staged before the experiment (left staged afterwards) */
  stagedBefore: boolean
  /** Publishes the experiment; full: with every run's samples (else only the running run's) */
  publish(full: boolean): void
}

const maxSamples = 400

/** Keeps a run's samples bounded: past the cap, every other one goes (the shape stays). */
function pushSample(run: LabRun, s: LabSample): void {
  run.samples.push(s)
  if (run.samples.length > maxSamples) run.samples = run.samples.filter((_, i) => i % 2 === 0 || i === run.samples.length - 1)
}

const minus = (a: number | null, b: number | null | undefined) => (a === null ? null : a - (b ?? 0))
const peak = (a: number | null, b: number | null) => (b === null ? a : a === null ? b : Math.max(a, b))

async function waitJobs(jobs: JobRunner, ids: string[]): Promise<void> {
  for (const id of ids) {
    const j = await jobs.wait(id)
    if (j.status !== 'done') throw new HearthError((j.error?.code as 'IO') ?? 'IO', j.error?.message ?? `${j.kind} ${j.status}`)
  }
}

/** Counters of the loader since the baseline; peaks of its memory; the cgroup's refaults. */
function recordCounters(run: LabRun, c: ProcCounters, base: ProcCounters | null, cg: CgroupStats | null): void {
  run.readBytes = minus(c.readBytes, base?.readBytes)
  run.majorFaults = minus(c.majorFaults, base?.majorFaults)
  run.minorFaults = minus(c.minorFaults, base?.minorFaults)
  run.rssAnonBytes = peak(run.rssAnonBytes, c.rssAnonBytes)
  run.rssFileBytes = peak(run.rssFileBytes, c.rssFileBytes)
  run.rssShmemBytes = peak(run.rssShmemBytes, c.rssShmemBytes)
  if (cg) {
    run.refaults = cg.refaults
    run.memoryLimitBytes = cg.limitBytes
  }
}

/** How a run that threw ended: timed out (killed), stopped, or failed with the loader's reason. */
function runFailure(err: unknown, timedOutAfterMs: number | null, stopped: boolean): Pick<LabRun, 'status' | 'error'> {
  if (timedOutAfterMs !== null) return { status: 'failed', error: { code: 'TIMEOUT', message: `the loader did not finish within ${Math.round(timedOutAfterMs / 1000)} s; it was killed` } }
  if (stopped) return { status: 'cancelled', error: { code: 'CANCELLED', message: 'stopped' } }
  return { status: 'failed', error: { code: (err as HearthError).code ?? 'INTERNAL', message: (err as Error).message } }
}

/** What a cold run's evict left: "evicted", or what stayed resident and which processes map it. */
function evictNote(reports: EvictReport[]): string {
  const kept = reports.flatMap((r) => r.files).reduce((s, f) => s + (f.residentBytes ?? 0), 0)
  const holders = [...new Set(reports.flatMap((r) => r.files.flatMap((f) => f.holders.map((h) => `${h.command} (pid ${h.pid})`))))]
  return kept > 0 ? `${formatBytes(kept)} stayed resident after the evict${holders.length ? `: mapped by ${holders.join(', ')}` : ''}` : 'evicted'
}

export function createExperimentRunner(deps: ExperimentDeps, plan: ExperimentPlan) {
  const { exp } = plan
  const paths = exp.files.map((f) => f.path)
  let stagedByUs = false
  let lockedByUs = false

  async function residentBytes(): Promise<number | null> {
    const r = await deps.residency.ofFiles(exp.files)
    return r.some((f) => f.residentBytes === null) ? null : r.reduce((s, f) => s + (f.residentBytes ?? 0), 0)
  }

  /** Puts the model in the run's state; returns a note for people. */
  async function prepare(run: LabRun): Promise<string | undefined> {
    if (run.mode !== 'staged' && stagedByUs) {
      await waitJobs(deps.jobs, [(await deps.staging.unstage(paths)).id])
      stagedByUs = false
    }
    if (run.mode !== 'locked' && lockedByUs) {
      await deps.warm.unlock(paths)
      lockedByUs = false
    }
    switch (run.mode) {
      case 'cold': {
        if (plan.stagedBefore) throw new HearthError('BUSY', 'the model is staged in the RAM disk (not by this experiment): unstage it for a cold run')
        return evictNote(await deps.warm.evict(paths))
      }
      case 'warm':
        await waitJobs(deps.jobs, (await deps.warm.warm(paths, { force: true })).map((j) => j.id))
        return 'warmed into the page cache'
      case 'staged': {
        const p = deps.staging.privilege()
        if (!p.available) throw new HearthError('UNAVAILABLE', `staging needs the privileged helper: ${p.reason ?? 'unavailable'}`)
        if (!plan.stagedBefore && !stagedByUs) {
          await waitJobs(deps.jobs, [(await deps.staging.stage(paths)).id])
          stagedByUs = true
        }
        return 'staged in the RAM disk'
      }
      case 'locked':
        if (!lockedByUs) {
          await waitJobs(deps.jobs, (await deps.warm.lock(paths)).map((j) => j.id))
          lockedByUs = true
        }
        return 'warm and locked in RAM'
    }
  }

  /** Starts the loader, samples it while it works, fills in the run. */
  async function measure(run: LabRun, signal: AbortSignal, limit: LimitedCgroup | null): Promise<void> {
    let pid: number | null = null
    let base: ProcCounters | null = null
    /** Counters count from the baseline taken right before the load (the built-in loader's own start is not the model's) */
    let baselineTaken = false
    let t0 = 0
    let cg: CgroupStats | null = null
    let sampling: Promise<void> | null = null
    let adoptError: Error | null = null
    const take = async () => {
      if (pid === null) return
      const [c, resident, stats] = await Promise.all([readProcCounters(pid), residentBytes().catch(() => null), limit ? limit.track(pid) : null])
      if (stats) cg = stats
      if (!baselineTaken) return
      if (c.readBytes === null && c.majorFaults === null) {
        if (c.unknownReason && !/ended/.test(c.unknownReason)) run.unknownReason = c.unknownReason
        return // the process is gone: keep the last reading
      }
      recordCounters(run, c, base, cg)
      run.readFrom ??= await mappedFrom(pid, paths)
      if (t0) pushSample(run, { tMs: Math.round(performance.now() - t0), residentBytes: resident, readBytes: run.readBytes, majorFaults: run.majorFaults, rssAnonBytes: c.rssAnonBytes, rssFileBytes: c.rssFileBytes })
    }
    const sample = () => (sampling ??= take().finally(() => (sampling = null)))
    const timer = setInterval(() => {
      void sample()
      plan.publish(false)
    }, deps.sampleMs)
    try {
      const t = await plan.loader.run(
        { modelPath: plan.modelPath, files: paths, ollamaName: plan.ollamaName, prompt: plan.prompt, tokens: exp.tokens, contextSize: plan.contextSize, wrap: limit?.wrap ?? [], signal },
        {
          started: (p) => {
            pid = p
            run.pid = p
            run.startedAtMs = Date.now()
            // The wrapper waits, stopped, to be moved into the cgroup; a refusal ends the run.
            limit?.adopt?.(p).catch((err) => {
              adoptError = err as Error
              try {
                process.kill(-p, 'SIGKILL')
              } catch {
                /* already gone */
              }
            })
          },
          beforeLoad: async () => {
            await sampling
            if (pid !== null) base = await readProcCounters(pid)
            run.residentBeforeBytes = await residentBytes()
            baselineTaken = true
            t0 = performance.now()
            await sample()
          },
          beforeExit: async () => {
            await sampling
            await sample()
          },
        },
      )
      Object.assign(run, { loadStartedAtMs: t.loadStartedAtMs, loadMs: t.loadMs, firstTokenMs: t.firstTokenMs, tokens: t.tokens, tokensPerSec: t.tokensPerSec })
    } catch (err) {
      throw adoptError ?? err // the loader died because it could not be put in its cgroup: say why
    } finally {
      clearInterval(timer)
      await sampling
      run.endedAtMs = Date.now()
    }
  }

  async function oneRun(run: LabRun, jobSignal: AbortSignal): Promise<void> {
    run.status = 'preparing'
    plan.publish(true)
    try {
      run.note = await prepare(run)
    } catch (err) {
      run.status = jobSignal.aborted ? 'cancelled' : 'skipped'
      run.error = { code: (err as HearthError).code ?? 'INTERNAL', message: (err as Error).message }
      return
    }
    const runAbort = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      runAbort.abort()
    }, plan.timeoutMs)
    const onJobAbort = () => runAbort.abort()
    jobSignal.addEventListener('abort', onJobAbort, { once: true })
    let limit: LimitedCgroup | null = null
    try {
      limit = exp.memory?.method === 'cgroup' ? await deps.limiter.create(exp.memory.leaveBytes) : null
      run.status = 'running'
      plan.publish(true)
      await measure(run, runAbort.signal, limit)
      run.status = 'done'
    } catch (err) {
      const output = err instanceof LoaderFailure ? err.output : undefined
      if (output) run.output = output
      Object.assign(run, runFailure(err, timedOut ? plan.timeoutMs : null, jobSignal.aborted))
    } finally {
      clearTimeout(timer)
      jobSignal.removeEventListener('abort', onJobAbort)
      run.residentAfterBytes = await residentBytes().catch(() => null)
      await limit?.dispose().catch(() => {})
    }
  }

  /** The job's work: every run, then the undo of what the experiment set up. */
  async function work(progress: JobProgress, signal: AbortSignal): Promise<string> {
    let pressureHeld = false
    try {
      if (exp.memory?.method === 'pressure') {
        await holdPressure(deps.helper, exp.memory.leaveBytes, signal)
        pressureHeld = true
      }
      for (const run of exp.runs) {
        if (signal.aborted) {
          run.status = 'cancelled'
          continue
        }
        await oneRun(run, signal)
        progress.add(exp.bytes)
        plan.publish(true)
      }
    } finally {
      if (pressureHeld) await releasePressure(deps.helper).catch(() => {})
      if (stagedByUs) await deps.staging.unstage(paths).then((j) => deps.jobs.wait(j.id)).catch(() => {})
      if (lockedByUs) await deps.warm.unlock(paths).catch(() => {})
    }
    const done = exp.runs.filter((r) => r.status === 'done').length
    const failed = exp.runs.filter((r) => r.status === 'failed' || r.status === 'skipped').length
    if (done === 0 && failed > 0) {
      const first = exp.runs.find((r) => r.error)!.error!
      throw new HearthError('IO', `no run finished: ${first.message}`)
    }
    return `${done} of ${exp.runs.length} runs measured${failed ? `, ${failed} failed or skipped` : ''}`
  }

  return { work }
}

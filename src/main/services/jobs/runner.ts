// The generic job runner: every long action (warm, evict, lock, rewarm, stage, unstage) runs here.
// One job per device at a time (a second reader on one HDD halves both); different devices run
// in parallel; a second request with the same key joins the job already queued or running.
// Progress goes out on the hub's 'jobs' topic at most every publishIntervalMs per job.
import { HearthError, type Job, type JobKind } from '../../../shared/api'
import type { Hub } from '../../hub'

export interface JobProgress {
  /** Adds bytes done */
  add(bytes: number): void
  /** Sets the total when it becomes known (or changes: a file shrank) */
  setTotal(bytes: number): void
  readonly doneBytes: number
}

export interface JobSpec {
  kind: JobKind
  label: string
  modelId?: string
  paths: string[]
  /** Jobs with the same device key run one after another; see deviceKeyOf() */
  device: string
  totalBytes: number
  /** Requests with the same key join the queued or running job (default: kind + model or paths) */
  joinKey?: string
  /** Does the work; resolves a line for people (the job's note). Must stop soon after signal aborts. */
  work: (progress: JobProgress, signal: AbortSignal) => Promise<string | void>
}

export interface JobHandle {
  job: Job
  /** Settles when the job ends (resolves the final Job whatever its status) */
  done: Promise<Job>
  /** true when this request joined an existing job */
  joined: boolean
}

interface Entry {
  job: Job
  spec: JobSpec
  key: string
  abort: AbortController
  done: Promise<Job>
  finish: (j: Job) => void
  lastPublishMs: number
  publishTimer: NodeJS.Timeout | null
  rateSamples: { atMs: number; bytes: number }[]
}

export interface JobRunnerOptions {
  hub: Hub
  publishIntervalMs?: number
  /** How many finished jobs to remember */
  historySize?: number
  /** Jobs that may run at once on one device */
  perDevice?: number
  now?: () => number
}

export type JobRunner = ReturnType<typeof createJobRunner>

const active = (s: Job['status']) => s === 'queued' || s === 'running'

export function createJobRunner(opts: JobRunnerOptions) {
  const { hub } = opts
  const publishIntervalMs = opts.publishIntervalMs ?? 250
  const historySize = opts.historySize ?? 100
  const perDevice = opts.perDevice ?? 1
  const now = opts.now ?? Date.now
  const entries = new Map<string, Entry>()
  let seq = 0

  function snapshot(e: Entry): Job {
    return { ...e.job, paths: [...e.job.paths], ...(e.job.error ? { error: { ...e.job.error } } : {}) }
  }

  function publishNow(e: Entry): void {
    if (e.publishTimer) clearTimeout(e.publishTimer)
    e.publishTimer = null
    e.lastPublishMs = now()
    hub.publish('jobs', snapshot(e))
  }

  function publishThrottled(e: Entry): void {
    if (e.publishTimer) return
    const wait = e.lastPublishMs + publishIntervalMs - now()
    if (wait <= 0) publishNow(e)
    else e.publishTimer = setTimeout(() => publishNow(e), wait)
  }

  function updateRate(e: Entry): void {
    // The rate over the last ~3 s: steady enough to read, quick to follow a disk that slows down.
    const t = now()
    e.rateSamples.push({ atMs: t, bytes: e.job.doneBytes })
    while (e.rateSamples.length > 2 && t - e.rateSamples[1].atMs > 3000) e.rateSamples.shift()
    const first = e.rateSamples[0]
    const dt = t - first.atMs
    if (dt >= 200) {
      e.job.bytesPerSec = ((e.job.doneBytes - first.bytes) * 1000) / dt
      const left = Math.max(0, e.job.totalBytes - e.job.doneBytes)
      e.job.etaMs = e.job.bytesPerSec > 0 ? Math.round((left * 1000) / e.job.bytesPerSec) : null
    }
  }

  function trim(): void {
    const ended = [...entries.values()].filter((e) => !active(e.job.status))
    for (const e of ended.slice(0, Math.max(0, ended.length - historySize))) entries.delete(e.job.id)
  }

  function pump(): void {
    const runningPerDevice = new Map<string, number>()
    for (const e of entries.values()) {
      if (e.job.status === 'running') runningPerDevice.set(e.spec.device, (runningPerDevice.get(e.spec.device) ?? 0) + 1)
    }
    for (const e of entries.values()) {
      if (e.job.status !== 'queued') continue
      const n = runningPerDevice.get(e.spec.device) ?? 0
      if (n >= perDevice) continue
      runningPerDevice.set(e.spec.device, n + 1)
      void start(e)
    }
  }

  async function start(e: Entry): Promise<void> {
    e.job.status = 'running'
    e.job.startedAtMs = now()
    e.rateSamples = [{ atMs: e.job.startedAtMs, bytes: e.job.doneBytes }]
    publishNow(e)
    const progress: JobProgress = {
      add(bytes) {
        e.job.doneBytes += bytes
        updateRate(e)
        publishThrottled(e)
      },
      setTotal(bytes) {
        e.job.totalBytes = bytes
        publishThrottled(e)
      },
      get doneBytes() {
        return e.job.doneBytes
      },
    }
    try {
      const note = await e.spec.work(progress, e.abort.signal)
      if (e.abort.signal.aborted) throw new HearthError('CANCELLED', `${e.job.kind} of ${e.job.label} was cancelled`)
      e.job.status = 'done'
      if (note) e.job.note = note
    } catch (err) {
      const cancelled = e.abort.signal.aborted
      e.job.status = cancelled ? 'cancelled' : 'failed'
      const he = err instanceof HearthError ? err : null
      e.job.error = cancelled
        ? { code: 'CANCELLED', message: `${e.job.kind} of ${e.job.label} was cancelled after ${e.job.doneBytes} of ${e.job.totalBytes} bytes` }
        : { code: he?.code ?? 'INTERNAL', message: err instanceof Error ? err.message : String(err) }
    }
    end(e)
  }

  function end(e: Entry): void {
    e.job.endedAtMs = now()
    e.job.etaMs = e.job.status === 'done' ? 0 : null
    if (e.job.startedAtMs !== null && e.job.status === 'done') {
      const ms = Math.max(1, e.job.endedAtMs - e.job.startedAtMs)
      e.job.bytesPerSec = (e.job.doneBytes * 1000) / ms
    }
    publishNow(e)
    e.finish(snapshot(e))
    trim()
    pump()
  }

  function run(spec: JobSpec): JobHandle {
    const key = spec.joinKey ?? `${spec.kind}:${spec.modelId ?? [...spec.paths].sort().join('\0')}`
    for (const e of entries.values()) {
      if (e.key === key && active(e.job.status)) return { job: snapshot(e), done: e.done, joined: true }
    }
    const id = `j${now().toString(36)}-${(++seq).toString(36)}`
    let finish!: (j: Job) => void
    const done = new Promise<Job>((ok) => (finish = ok))
    const e: Entry = {
      job: {
        id,
        kind: spec.kind,
        label: spec.label,
        ...(spec.modelId ? { modelId: spec.modelId } : {}),
        paths: [...spec.paths],
        status: 'queued',
        doneBytes: 0,
        totalBytes: spec.totalBytes,
        bytesPerSec: 0,
        etaMs: null,
        startedAtMs: null,
        endedAtMs: null,
      },
      spec,
      key,
      abort: new AbortController(),
      done,
      finish,
      lastPublishMs: 0,
      publishTimer: null,
      rateSamples: [],
    }
    entries.set(id, e)
    publishNow(e)
    pump()
    return { job: snapshot(e), done, joined: false }
  }

  function cancel(id: string): Job {
    const e = entries.get(id)
    if (!e) throw new HearthError('NOT_FOUND', `no job ${id}; list jobs with \`hearth jobs\``)
    if (e.job.status === 'queued') {
      e.abort.abort()
      e.job.status = 'cancelled'
      e.job.error = { code: 'CANCELLED', message: `${e.job.kind} of ${e.job.label} was cancelled before it started` }
      end(e)
    } else if (e.job.status === 'running') {
      e.abort.abort()
    }
    return snapshot(e)
  }

  return {
    run,
    cancel,
    get(id: string): Job | undefined {
      const e = entries.get(id)
      return e ? snapshot(e) : undefined
    },
    /** Running and queued first, then the most recent ended */
    list(): Job[] {
      const all = [...entries.values()].map(snapshot)
      return [...all.filter((j) => active(j.status)), ...all.filter((j) => !active(j.status)).reverse()]
    },
    wait(id: string): Promise<Job> {
      const e = entries.get(id)
      if (!e) return Promise.reject(new HearthError('NOT_FOUND', `no job ${id}`))
      return e.done
    },
    /** Cancels every job and waits for the running ones to stop */
    async stop(): Promise<void> {
      const running = [...entries.values()].filter((e) => active(e.job.status))
      for (const e of running) cancel(e.job.id)
      await Promise.all(running.map((e) => e.done))
    },
  }
}

// The load lab: experiments (a job each), the loaders that can run here, controlled memory
// (cgroup limits, locked dummy memory) and the lab's settings. Publishes 'lab' for every change
// of an experiment, live samples included.
import { realpath } from 'node:fs/promises'
import {
  HearthError,
  type LabExperiment,
  type LabLoaderKind,
  type LabMemoryState,
  type LabRun,
  type LabSettings,
  type LabState,
} from '../../../shared/api'
import type { labRunInput } from '../../../shared/contract/lab'
import type { z } from 'zod'
import type { CatalogService, ResidencyService } from '../../context'
import type { Hub } from '../../hub'
import type { Env } from '../../paths'
import type { SettingsStore } from '../../settings'
import type { JobRunner } from '../jobs'
import type { StagingService } from '../staging'
import { readStagedMountPoints } from '../staging/mounts'
import type { WarmService } from '../warm'
import { readMemInfo } from '../warm/meminfo'
import { formatBytes } from '../../../shared/format'
import { createExperimentRunner } from './experiment'
import { builtinLoader } from './loaders/builtin'
import { llamaBinaryLoader, llamaTemplates } from './loaders/llama-binary'
import { ollamaLoader } from './loaders/ollama'
import { labPrompt, type Loader } from './loaders/types'
import { resolveLabModel, type LabModel } from './resolve-model'
import { createCgroupLimiter, holdPressure, pressureState, readSwapState, releasePressure, type CgroupLimiter, type LabHelper } from './memory'

export const defaultLabSettings: LabSettings = { llamaBinary: null, llamaTemplate: null, ollamaUrl: null, timeoutMs: 5 * 60_000, tokens: 16, contextSize: 512 }

export interface LabDeps {
  hub: Hub
  env: Env
  settings: SettingsStore
  catalog: Pick<CatalogService, 'resolve' | 'current'>
  residency: Pick<ResidencyService, 'ofFiles'>
  jobs: JobRunner
  warm: Pick<WarmService, 'evict' | 'warm' | 'lock' | 'unlock'>
  staging: Pick<StagingService, 'stage' | 'unstage' | 'privilege'>
  helper: LabHelper
  /** Tests and benches override these */
  loaders?: Loader[]
  limiter?: CgroupLimiter
  sampleMs?: number
  publishMs?: number
}

export type LabService = ReturnType<typeof createLabService>
export type LabRunRequest = z.output<typeof labRunInput>

const keptExperiments = 20

export function createLabService(deps: LabDeps) {
  const settings = (): LabSettings => ({ ...defaultLabSettings, ...deps.settings.get().lab })
  const loaders: Loader[] = deps.loaders ?? [builtinLoader(), llamaBinaryLoader(settings, deps.env), ollamaLoader(settings, deps.env)]
  let limiter: CgroupLimiter | null = deps.limiter ?? null
  const cgroups = () => (limiter ??= createCgroupLimiter(deps.helper, deps.env))
  const experiments: LabExperiment[] = []
  let seq = 0

  function loaderOf(kind: LabLoaderKind): Loader {
    const l = loaders.find((x) => x.kind === kind)
    if (!l) throw new HearthError('UNAVAILABLE', `the ${kind} loader is not part of this Hearth`)
    return l
  }

  /** Strips the finished runs' samples from live ticks (the UI has them from the full publish). */
  function publisher(exp: LabExperiment) {
    let lastTick = 0
    return (full: boolean) => {
      const now = Date.now()
      if (!full && now - lastTick < (deps.publishMs ?? 250)) return
      lastTick = now
      const snapshot: LabExperiment = structuredClone(full ? exp : { ...exp, runs: exp.runs.map((r) => (r.status === 'running' ? r : { ...r, samples: [] })) })
      deps.hub.publish('lab', snapshot)
    }
  }

  async function memoryState(): Promise<LabMemoryState> {
    const [mem, swap] = await Promise.all([readMemInfo(), readSwapState()])
    const c = cgroups()
    return {
      memTotalBytes: mem.memTotalBytes,
      memAvailableBytes: mem.memAvailableBytes,
      swap,
      cgroup: { available: c.available, how: c.how, ...(c.reason ? { reason: c.reason } : {}) },
      pressure: await pressureState(deps.helper, mem.memTotalBytes),
    }
  }

  async function status(): Promise<LabState> {
    return {
      loaders: await Promise.all(loaders.map((l) => l.info())),
      memory: await memoryState(),
      settings: settings(),
      llamaTemplates,
      experiments: structuredClone(experiments),
    }
  }

  /** Requests that cannot run as asked, refused before anything starts. */
  function refuseUnrunnable(input: LabRunRequest, kind: LabLoaderKind, method: string, model: LabModel['model'], name: string): void {
    if (kind === 'ollama' && !model?.tags?.length) throw new HearthError('BAD_INPUT', `${name} is not one of Ollama's models; the Ollama loader runs models by their Ollama name`)
    if (input.leaveBytes === undefined || method !== 'cgroup') return
    if (!cgroups().available) throw new HearthError('UNSUPPORTED', `cannot limit the loader's memory: ${cgroups().reason}; or use --limit-by pressure (locked dummy memory)`)
    if (kind === 'ollama') throw new HearthError('BAD_INPUT', "Ollama starts its runner itself, outside Hearth's cgroup; limit its memory with --limit-by pressure")
  }

  async function run(input: LabRunRequest): Promise<LabExperiment> {
    const s = settings()
    const kind = input.loader ?? 'builtin'
    const loader = loaderOf(kind)
    const info = await loader.info()
    if (!info.available) throw new HearthError('UNAVAILABLE', `the ${kind} loader cannot run here: ${info.reason ?? 'unavailable'}`)
    const { model, weights, name } = await resolveLabModel(deps.catalog, input.target)
    const method = input.limitBy ?? 'cgroup'
    refuseUnrunnable(input, kind, method, model, name)
    const ram = (await readMemInfo()).memTotalBytes
    if (input.leaveBytes !== undefined && ram > 0 && input.leaveBytes >= ram) {
      throw new HearthError(
        'BAD_INPUT',
        `leaving the model ${formatBytes(input.leaveBytes)} is more than this machine's RAM (${formatBytes(ram)}), so nothing would be limited; give --leave in GiB under ${Math.floor(ram / 2 ** 30)}`,
      )
    }
    const matrix = input.matrix ?? (['cold', 'warm', 'staged'] as const).filter((m) => m !== 'staged' || deps.staging.privilege().available)
    const repeat = input.repeat ?? 1
    const tokens = input.tokens ?? s.tokens
    const staged = await readStagedMountPoints()
    const reals = await Promise.all(weights.map((f) => realpath(f.path).catch(() => f.path)))
    const runs: LabRun[] = []
    for (let r = 1; r <= repeat; r++)
      for (const mode of matrix) runs.push(blankRun(runs.length, mode, r, kind, tokens))
    const bytes = weights.reduce((t, f) => t + f.bytes, 0)
    const exp: LabExperiment = {
      id: `lab${Date.now().toString(36)}-${(++seq).toString(36)}`,
      jobId: '',
      target: input.target,
      model: name,
      ...(model ? { modelId: model.id } : {}),
      files: weights,
      bytes,
      loader: kind,
      loaderDetail: info.detail,
      matrix: [...matrix],
      repeat,
      tokens,
      memory:
        input.leaveBytes === undefined
          ? null
          : { method, leaveBytes: input.leaveBytes, how: method === 'cgroup' ? cgroups().how : 'dummy memory locked by the helper (MemAvailable left for everything)' },
      status: 'running',
      runs,
      startedAtMs: Date.now(),
      endedAtMs: null,
      swap: await readSwapState(),
    }
    const publish = publisher(exp)
    const runner = createExperimentRunner(
      { jobs: deps.jobs, residency: deps.residency, warm: deps.warm, staging: deps.staging, helper: deps.helper, limiter: cgroups(), sampleMs: deps.sampleMs ?? 100 },
      {
        exp,
        loader,
        modelPath: weights[0].path,
        ollamaName: model?.tags?.[0],
        prompt: labPrompt,
        contextSize: s.contextSize,
        timeoutMs: input.timeoutMs ?? s.timeoutMs,
        stagedBefore: reals.some((p) => staged.has(p)),
        publish,
      },
    )
    const handle = deps.jobs.run({
      kind: 'lab',
      label: name,
      ...(model ? { modelId: model.id } : {}),
      paths: weights.map((f) => f.path),
      // Its own queue: the warm, evict and stage jobs it starts must not wait behind it.
      device: 'lab',
      totalBytes: bytes * runs.length,
      joinKey: `lab:${exp.id}`,
      work: (progress, signal) => runner.work(progress, signal),
    })
    exp.jobId = handle.job.id
    void handle.done.then((job) => {
      exp.status = job.status === 'done' ? 'done' : job.status === 'cancelled' ? 'cancelled' : 'failed'
      if (job.error && job.status !== 'done') exp.error = job.error
      for (const r of exp.runs) if (r.status === 'pending' || r.status === 'preparing' || r.status === 'running') r.status = 'cancelled'
      exp.endedAtMs = Date.now()
      publish(true)
    })
    experiments.unshift(exp)
    experiments.splice(keptExperiments)
    publish(true)
    return structuredClone(exp)
  }

  function find(id: string): LabExperiment {
    const e = experiments.find((x) => x.id === id)
    if (!e) throw new HearthError('NOT_FOUND', `no experiment ${id}; the lab keeps the last ${keptExperiments}`)
    return e
  }

  return {
    status,
    run,
    get: (id: string) => structuredClone(find(id)),
    /** Resolves when the experiment has ended (whatever its status) */
    async wait(id: string): Promise<LabExperiment> {
      const e = find(id)
      await deps.jobs.wait(e.jobId)
      await new Promise((r) => setImmediate(r)) // the job's done handler sets the final status
      return structuredClone(e)
    },
    cancel(id: string): LabExperiment {
      const e = find(id)
      if (e.status === 'running') deps.jobs.cancel(e.jobId)
      return structuredClone(e)
    },
    async pressure(leaveBytes: number): Promise<LabMemoryState> {
      await holdPressure(deps.helper, leaveBytes)
      return memoryState()
    },
    async releasePressure(): Promise<LabMemoryState> {
      await releasePressure(deps.helper)
      return memoryState()
    },
    async updateSettings(patch: Partial<LabSettings>): Promise<LabSettings> {
      await deps.settings.update({ lab: { ...deps.settings.get().lab, ...patch } })
      return settings()
    },
    memoryState,
    /** Releases held pressure (the jobs runner stops running experiments, killing their loaders) */
    async stop(): Promise<void> {
      await releasePressure(deps.helper).catch(() => {})
    },
  }
}

function blankRun(index: number, mode: LabRun['mode'], repeat: number, loader: LabLoaderKind, tokens: number): LabRun {
  return {
    index,
    mode,
    repeat,
    status: 'pending',
    loader,
    pid: null,
    startedAtMs: null,
    endedAtMs: null,
    loadStartedAtMs: null,
    loadMs: null,
    firstTokenMs: null,
    tokensPerSec: null,
    tokens,
    majorFaults: null,
    minorFaults: null,
    readBytes: null,
    residentBeforeBytes: null,
    residentAfterBytes: null,
    rssAnonBytes: null,
    rssFileBytes: null,
    rssShmemBytes: null,
    refaults: null,
    memoryLimitBytes: null,
    readFrom: null,
    samples: [],
  }
}
